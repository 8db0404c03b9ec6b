//! Memory of past runs (issue 7): lessons after a backtrack, retrieval by similar goal, the
//! second run doing less work, lessons in the planner's context, redaction of secrets,
//! forget and retention, a corrupt or locked database, and `spud memory` through the binary.

use serde_json::{json, Value};
use spud::agent::{run_goal, GoalOptions};
use spud::agent::{run_with, RunOptions, RunReport};
use spud::memory::{self, LessonKind, MemoryOptions, Store};
use spud::plan::{Plan, ReviseWhen, RunStatus, TraceEvent};
use spud_tests::{example_spud, guest, home, spud_bin, workspace, write_policy, ScriptedModel};
use std::path::Path;
use std::process::{Command, Output};
use std::sync::Arc;

fn demo() -> Plan {
    Plan::load(&workspace().join("examples/demo-plan.toml")).unwrap()
}

async fn run(spud: &Arc<spud::Spud>, plan: Plan, memory: bool) -> RunReport {
    let options = RunOptions {
        memory: memory.then(|| MemoryOptions::for_spud(spud, 90)),
        ..RunOptions::default()
    };
    run_with(spud.clone(), plan, options, |_| {}).await.unwrap()
}

fn trace(r: &RunReport) -> Vec<spud::plan::TraceLine> {
    spud::plan::read_trace(&r.dir.join("trace.jsonl")).unwrap()
}

fn finished(r: &RunReport) -> bool {
    trace(r)
        .iter()
        .any(|l| matches!(l.event, TraceEvent::Finished { .. }))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lessons_after_a_backtrack_make_the_second_run_cheaper() {
    let h = home();
    let spud = example_spud(&h, &["fs", "json"]).await;
    let first = run(&spud, demo(), true).await;
    assert_eq!(first.status, RunStatus::Done, "{:?}", first.failed);
    assert_eq!((first.steps, first.backtracks), (6, 1));
    assert!(first.memory_warning.is_none(), "{:?}", first.memory_warning);

    // The reflection wrote the lesson of the backtrack.
    let store = Store::open(&h.path().join("memory.db"), 90).unwrap();
    let lessons = store.lessons().unwrap();
    let alt = lessons
        .iter()
        .find(|l| l.kind == LessonKind::Alternative)
        .expect("an alternative lesson");
    assert_eq!(alt.step, "low-stock");
    assert!(
        alt.text
            .contains("alternative 1 (tool json.query) succeeded"),
        "{}",
        alt.text
    );
    assert_eq!(first.lessons.len(), lessons.len());

    // The second run tries what worked first: measurably less work.
    let second = run(&spud, demo(), true).await;
    assert_eq!(second.status, RunStatus::Done, "{:?}", second.failed);
    assert_eq!((second.steps, second.backtracks), (5, 0));
    assert!(second.steps < first.steps && second.backtracks < first.backtracks);
    let used = trace(&second)
        .into_iter()
        .find_map(|l| match l.event {
            TraceEvent::LessonsUsed { ids, reordered, .. } => Some((ids, reordered)),
            _ => None,
        })
        .expect("lessons used are in the trace");
    assert!(used.0.contains(&alt.id));
    assert_eq!(used.1, vec!["low-stock".to_string()]);
    let md = std::fs::read_to_string(second.dir.join("report.md")).unwrap();
    assert!(
        md.contains("memory: alternatives reordered for: low-stock"),
        "{md}"
    );

    // The trend shows it.
    let runs = store.runs(Some(&demo().goal)).unwrap();
    assert_eq!(
        runs.iter()
            .map(|r| (r.steps, r.backtracks))
            .collect::<Vec<_>>(),
        vec![(6, 1), (5, 0)]
    );

    // Without memory the plan runs as written.
    let off = run(&spud, demo(), false).await;
    assert_eq!(off.backtracks, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lessons_are_retrieved_for_a_similar_goal_only() {
    let h = home();
    let spud = example_spud(&h, &["fs", "json"]).await;
    run(&spud, demo(), true).await;
    let store = Store::open(&h.path().join("memory.db"), 90).unwrap();
    let similar = memory::recall(
        &store,
        "Prepare a restocking note for the south store",
        &[],
        8,
    )
    .unwrap();
    assert!(similar.iter().any(|l| l.kind == LessonKind::Alternative));
    let unrelated = memory::recall(&store, "Translate a poem into French", &[], 8).unwrap();
    assert!(unrelated.is_empty(), "{unrelated:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_goal_run_gives_the_planner_the_lessons_of_earlier_runs() {
    let h = home();
    let spud = example_spud(&h, &["fs", "json"]).await;
    let plan = json!({"steps": [
        {"id": "read", "tool": "fs.read", "args": {"path": "/data/stock.json"}, "expect": {"contains": "items"},
         "alternatives": [{"args": {"path": "/data/inventory.json"}}]}
    ]});
    let lessons = json!({"lessons": ["The stock file is /data/inventory.json, read it directly."]});
    let server = ScriptedModel::start(vec![
        (
            200,
            vec![],
            ScriptedModel::chat_call("plan", &plan, 100, 50),
        ),
        (
            200,
            vec![],
            ScriptedModel::chat_call("lessons", &lessons, 30, 10),
        ),
        (
            200,
            vec![],
            ScriptedModel::chat_call("plan", &plan, 100, 50),
        ),
        (
            200,
            vec![],
            ScriptedModel::chat_call("lessons", &json!({"lessons": []}), 30, 10),
        ),
    ]);
    let goal = "read the store's stock";
    let options = || GoalOptions {
        max_replans: 0,
        max_retries: 0,
        revise: ReviseWhen::Never,
        memory: Some(MemoryOptions::for_spud(&spud, 90)),
        ..GoalOptions::default()
    };
    let first = run_goal(spud.clone(), server.provider(), goal, options(), |_| {})
        .await
        .unwrap();
    assert_eq!(first.status, RunStatus::Done);
    assert_eq!(first.runs[0].backtracks, 1);
    // Planning and the model's reflection are both counted.
    assert_eq!(first.usage.input_tokens, 130);
    assert_eq!(
        first.runs[0].lessons.len(),
        2,
        "a rule lesson and the model's"
    );

    let second = run_goal(spud.clone(), server.provider(), goal, options(), |_| {})
        .await
        .unwrap();
    assert_eq!(second.status, RunStatus::Done);
    let requests = server.requests.lock().unwrap().clone();
    assert_eq!(requests.len(), 4);
    let second_plan = requests[2].body.to_string();
    assert!(
        second_plan.contains("read it directly")
            && second_plan.contains("alternative 1 (tool fs.read) succeeded"),
        "{second_plan}"
    );
    assert!(!requests[0]
        .body
        .to_string()
        .contains("Lessons from earlier runs"));
    let used = trace(&second.runs[0])
        .into_iter()
        .find_map(|l| match l.event {
            TraceEvent::LessonsUsed { ids, .. } => Some(ids),
            _ => None,
        })
        .expect("lessons used are in the trace");
    assert_eq!(used.len(), 2);
}

const SECRET_PATTERN_MATCH: &str = "sk-abcdef0123456789";
const SECRET_ENV_VALUE: &str = "tok-very-secret-4242";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registered_secrets_never_reach_the_store() {
    let h = home();
    let sample = workspace().join("examples/sample");
    let policy = write_policy(
        h.path(),
        &format!(
            "[secrets]\npatterns = [\"sk-[a-z0-9]{{16}}\"]\n\n[tools.fs]\nfiles = [{{ host = {:?}, guest = \"/data\", access = \"read-only\" }}]\nenv = [\"API_TOKEN={SECRET_ENV_VALUE}\"]\n[tools.json]\n",
            sample.display().to_string()
        ),
    );
    let spud = spud::Spud::open(spud::SpudOptions {
        home: Some(h.path().to_path_buf()),
        policy: Some(policy),
        principal: None,
    })
    .unwrap();
    for p in ["fs", "json"] {
        spud.add(&guest(p), None, None).await.unwrap();
    }
    let spud = Arc::new(spud);
    let plan: Plan = toml_plan(&format!(
        "goal = \"read stock with key {SECRET_PATTERN_MATCH}\"\n[[steps]]\nid = \"read\"\ntool = \"fs.read\"\nargs = {{ path = \"/data/{SECRET_ENV_VALUE}.json\" }}\nexpect = {{ contains = \"items\" }}\n[[steps.alternatives]]\nargs = {{ path = \"/data/inventory.json\" }}\n"
    ));
    let r = run(&spud, plan, true).await;
    assert_eq!(r.status, RunStatus::Done, "{:?}", r.failed);
    assert!(r.memory_warning.is_none(), "{:?}", r.memory_warning);
    assert!(!r.lessons.is_empty());
    // Neither the trace (redacted as it is written) nor the database has them.
    let trace_text = std::fs::read_to_string(r.dir.join("trace.jsonl")).unwrap();
    assert!(trace_text.contains("[REDACTED]"));
    assert!(!trace_text.contains(SECRET_ENV_VALUE) && !trace_text.contains(SECRET_PATTERN_MATCH));
    let db = std::fs::read(h.path().join("memory.db")).unwrap();
    for secret in [SECRET_PATTERN_MATCH, SECRET_ENV_VALUE] {
        assert!(
            !db.windows(secret.len()).any(|w| w == secret.as_bytes()),
            "{secret} is in memory.db"
        );
    }
    let store = Store::open(&h.path().join("memory.db"), 90).unwrap();
    assert!(store
        .lessons()
        .unwrap()
        .iter()
        .any(|l| l.goal.contains("[REDACTED]")));
}

fn toml_plan(src: &str) -> Plan {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("plan.toml");
    std::fs::write(&p, src).unwrap();
    Plan::load(&p).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forget_and_retention_remove_what_they_should() {
    let h = home();
    let spud = example_spud(&h, &["fs", "json"]).await;
    let a = run(&spud, demo(), true).await;
    let other = toml_plan("goal = \"count the notes\"\n[[steps]]\nid = \"n\"\ntool = \"fs.read\"\nargs = { path = \"/data/none.txt\" }\n[[steps.alternatives]]\nargs = { path = \"/data/notes.txt\" }\n");
    let b = run(&spud, other, true).await;
    let path = h.path().join("memory.db");
    let mut store = Store::open(&path, 90).unwrap();
    let all = store.lessons().unwrap();
    assert!(all.iter().any(|l| l.run == a.id) && all.iter().any(|l| l.run == b.id));

    // One lesson.
    let extra = memory::NewLesson {
        kind: LessonKind::Model,
        step: String::new(),
        tools: String::new(),
        errors: String::new(),
        worked: None,
        call: None,
        text: "count shallots twice".into(),
    };
    let one = store.add_lessons(&a.id, &demo().goal, &[extra]).unwrap()[0];
    assert_eq!(
        memory::recall(&store, "shallots", &[], 8).unwrap()[0].id,
        one
    );
    assert!(store.forget(one).unwrap());
    assert!(store.lesson(one).unwrap().is_none());
    assert!(!store.forget(one).unwrap());
    assert!(memory::recall(&store, "shallots", &[], 8)
        .unwrap()
        .is_empty());

    // Retention: run a is 100 days old; opening with 90 days of retention drops it only.
    store
        .set_created(&a.id, memory::store::now() - 100 * 86_400)
        .unwrap();
    drop(store);
    let mut store = Store::open(&path, 90).unwrap();
    assert!(store.lessons().unwrap().iter().all(|l| l.run != a.id));
    assert!(store.runs(None).unwrap().iter().all(|r| r.id != a.id));
    assert!(store.lessons().unwrap().iter().any(|l| l.run == b.id));
    assert!(memory::recall(&store, &demo().goal, &[], 8)
        .unwrap()
        .is_empty());

    // A goal, then everything.
    assert!(store.forget_goal("count the notes").unwrap() > 0);
    assert!(store.lessons().unwrap().is_empty());
    run(&spud, demo(), true).await;
    let mut store = Store::open(&path, 90).unwrap();
    assert!(store.forget_all().unwrap() > 0);
    assert!(store.lessons().unwrap().is_empty() && store.runs(None).unwrap().is_empty());
}

fn small_plan() -> Plan {
    toml_plan("goal = \"read the inventory\"\n[[steps]]\nid = \"read\"\ntool = \"fs.read\"\nargs = { path = \"/data/inventory.json\" }\nexpect = { contains = \"items\" }\n")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_corrupt_database_warns_and_the_run_keeps_its_trace() {
    let h = home();
    let spud = example_spud(&h, &["fs", "json"]).await;
    let garbage: Vec<u8> = (0..8192u32).map(|i| (i * 7 + 3) as u8).collect();
    std::fs::write(h.path().join("memory.db"), &garbage).unwrap();
    let r = run(&spud, small_plan(), true).await;
    assert_eq!(r.status, RunStatus::Done);
    assert!(finished(&r), "trace.jsonl is intact");
    assert!(r.dir.join("report.md").exists());
    let w = r.memory_warning.expect("a warning");
    assert!(
        w.contains("memory not updated") && w.contains("corrupt"),
        "{w}"
    );
    // The file is left as it was for the operator to inspect.
    assert_eq!(std::fs::read(h.path().join("memory.db")).unwrap(), garbage);
    let e = Store::open(&h.path().join("memory.db"), 90)
        .err()
        .expect("typed error");
    assert!(matches!(e, memory::MemoryError::Corrupt { .. }), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_locked_database_warns_and_the_run_keeps_its_trace() {
    let h = home();
    let spud = example_spud(&h, &["fs", "json"]).await;
    let path = h.path().join("memory.db");
    drop(Store::open(&path, 90).unwrap());
    let holder = rusqlite::Connection::open(&path).unwrap();
    holder.execute_batch("BEGIN EXCLUSIVE").unwrap();
    let r = run(&spud, small_plan(), true).await;
    assert_eq!(r.status, RunStatus::Done);
    assert!(finished(&r), "trace.jsonl is intact");
    let w = r.memory_warning.expect("a warning");
    assert!(
        w.contains("memory not updated") && w.contains("locked"),
        "{w}"
    );
    holder.execute_batch("ROLLBACK").unwrap();
    // Once released, the next run is remembered.
    let r = run(&spud, small_plan(), true).await;
    assert!(r.memory_warning.is_none(), "{:?}", r.memory_warning);
}

fn spud_cli(home: &Path, args: &[&str]) -> Output {
    Command::new(spud_bin())
        .arg("--home")
        .arg(home)
        .args(args)
        .env_remove("SPUD_POLICY")
        .env_remove("SPUD_CONFIG")
        .output()
        .expect("run spud")
}

fn json_of(o: &Output) -> Value {
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    serde_json::from_slice(&o.stdout).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spud_memory_commands() {
    let h = home();
    let spud = example_spud(&h, &["fs", "json"]).await;
    run(&spud, demo(), true).await;
    run(&spud, demo(), true).await;
    let home = h.path();

    let list = json_of(&spud_cli(home, &["memory", "list", "--json"]));
    let lessons = list.as_array().unwrap();
    assert!(!lessons.is_empty());
    let id = lessons[0]["id"].as_i64().unwrap();
    let shown = json_of(&spud_cli(
        home,
        &["memory", "show", &id.to_string(), "--json"],
    ));
    assert_eq!(shown["id"], id);
    let found = json_of(&spud_cli(
        home,
        &["memory", "search", "restocking", "--json"],
    ));
    assert!(!found.as_array().unwrap().is_empty());
    let none = json_of(&spud_cli(home, &["memory", "search", "poem", "--json"]));
    assert!(none.as_array().unwrap().is_empty());
    let trend = json_of(&spud_cli(
        home,
        &["memory", "trend", &demo().goal, "--json"],
    ));
    let backtracks: Vec<i64> = trend
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["backtracks"].as_i64().unwrap())
        .collect();
    assert_eq!(backtracks, vec![1, 0]);
    let text = spud_cli(home, &["memory", "trend", &demo().goal]);
    assert!(String::from_utf8_lossy(&text.stdout).contains("backtracks -1"));
    let export = json_of(&spud_cli(home, &["memory", "export", "--json"]));
    assert_eq!(export["runs"].as_array().unwrap().len(), 2);

    // Bad input: typed error, non-zero exit.
    assert_eq!(
        spud_cli(home, &["memory", "show", "999999"]).status.code(),
        Some(1)
    );
    assert_eq!(
        spud_cli(home, &["memory", "show", "x"]).status.code(),
        Some(2)
    );
    assert_eq!(spud_cli(home, &["memory", "forget"]).status.code(), Some(2));
    assert_eq!(
        spud_cli(home, &["memory", "trend", "no such goal"])
            .status
            .code(),
        Some(1)
    );

    assert!(spud_cli(home, &["memory", "forget", &id.to_string()])
        .status
        .success());
    assert_eq!(
        spud_cli(home, &["memory", "show", &id.to_string()])
            .status
            .code(),
        Some(1)
    );
    assert!(
        spud_cli(home, &["memory", "forget", "--expired", "--days", "1"])
            .status
            .success()
    );
    assert!(spud_cli(home, &["memory", "forget", "--all"])
        .status
        .success());
    let list = json_of(&spud_cli(home, &["memory", "list", "--json"]));
    assert!(list.as_array().unwrap().is_empty());

    // `spud run --no-memory` neither reads nor writes it; a plain run does.
    let plan = workspace().join("examples/demo-plan.toml");
    let policy = workspace().join("examples/policy.toml");
    let p = plan.to_str().unwrap();
    let pol = policy.to_str().unwrap();
    let o = spud_cli(
        home,
        &[
            "--policy",
            pol,
            "run",
            "--plan",
            p,
            "--quiet",
            "--no-memory",
        ],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(json_of(&spud_cli(home, &["memory", "list", "--json"]))
        .as_array()
        .unwrap()
        .is_empty());
    let o = spud_cli(home, &["--policy", pol, "run", "--plan", p, "--quiet"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(!json_of(&spud_cli(home, &["memory", "list", "--json"]))
        .as_array()
        .unwrap()
        .is_empty());
}
