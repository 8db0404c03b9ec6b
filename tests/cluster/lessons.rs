//! Lessons shared across the cluster: a run on one submitting host learns a lesson (a step
//! denied for want of a grant), and a run of the same goal planned on another host connected to
//! the cluster reads it from `spud-lessons` and uses it.

use super::{home_with, spud, Env, ACK_WAIT_MS};
use serde_json::Value;
use spud_tests::guest;
use std::path::Path;

const GOAL: &str = "fetch the status page of the lesson service";

/// `spud run --plan` of `steps` under `GOAL` from `home` on the cluster, memory on.
fn run_with_memory(home: &Path, url: &str, steps: &str) -> (Value, String) {
    run_goal_with_memory(home, url, GOAL, steps, &[])
}

/// `spud run --plan` of `steps` under `goal` from `home` on the cluster, memory on, with
/// `extra` arguments.
fn run_goal_with_memory(
    home: &Path,
    url: &str,
    goal: &str,
    steps: &str,
    extra: &[&str],
) -> (Value, String) {
    let file = home.join("lesson-plan.toml");
    std::fs::write(&file, format!("goal = \"{goal}\"\n{steps}")).unwrap();
    let path = file.to_str().unwrap();
    let mut args = vec!["run", "--plan", path, "--json", "-q", "--nats", url];
    args.extend(["--replicas", "3", "--ack-wait-ms", ACK_WAIT_MS]);
    args.extend(extra);
    let out = spud(home, &args);
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    let report = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("no report ({e}); stderr: {stderr}"));
    (report, stderr)
}

/// The lessons of `home`'s memory.
fn lessons(home: &Path) -> Vec<Value> {
    let out = spud(home, &["memory", "list", "--json"]);
    let listed: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "memory list ({e}): {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    listed.as_array().cloned().unwrap_or_default()
}

pub(super) fn a_lesson_learned_on_one_host_is_used_by_a_run_planned_on_another(env: &Env) {
    let url = env.cluster.url();
    // Host A: the request is denied (no network grant), and the run learns so.
    let denied = "[[steps]]\nid = \"fetch\"\ntool = \"hostile.http-get\"\nargs = { url = \"http://127.0.0.1:9/\" }\n";
    let (first, stderr) = run_with_memory(&env.submitter, &url, denied);
    assert_eq!(first["status"], "failed", "{first}");
    assert!(!stderr.contains("warning"), "{stderr}");
    let learned_on = first["id"].as_str().unwrap_or_default().to_string();
    let is_the_lesson = |l: &Value| {
        l["run"] == learned_on.as_str()
            && l["text"]
                .as_str()
                .is_some_and(|t| t.contains("needs a grant for tool hostile.http-get"))
    };
    assert!(
        lessons(&env.submitter).iter().any(is_the_lesson),
        "{:?}",
        lessons(&env.submitter)
    );
    // Host B has never run anything: the lesson reaches it through the cluster, before it
    // plans, and its run of the same goal uses it.
    let b = home_with(env.dir.path(), "learner", &guest("hostile"));
    assert!(lessons(&b).is_empty());
    let echo = "[[steps]]\nid = \"fetch\"\ntool = \"hostile.echo\"\nargs = { s = \"ok\" }\n";
    let (second, stderr) = run_with_memory(&b, &url, echo);
    assert_eq!(second["status"], "done", "{second}");
    assert!(!stderr.contains("warning"), "{stderr}");
    assert!(
        lessons(&b).iter().any(is_the_lesson),
        "{:?} {stderr}",
        lessons(&b)
    );
    let run = second["id"].as_str().unwrap_or_default();
    let trace = std::fs::read_to_string(b.join("runs").join(run).join("trace.jsonl")).unwrap();
    let used = trace
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|l| l["event"] == "lessons_used")
        .unwrap_or_else(|| panic!("no lessons_used event in {trace}"));
    assert!(
        used["ids"].as_array().is_some_and(|ids| !ids.is_empty()),
        "{used}"
    );
}

/// A whole run on a worker (`--on-worker`, memory on) learns in the worker's memory and shares
/// it: a host that never ran anything gets the lesson through the cluster.
pub(super) fn a_lesson_learned_by_a_whole_run_on_a_worker_reaches_another_host(env: &Env) {
    let url = env.cluster.url();
    let goal = "fetch the status page of the other service";
    let denied = "[[steps]]\nid = \"fetch\"\ntool = \"hostile.http-get\"\nargs = { url = \"http://127.0.0.1:9/\" }\n";
    let (first, _) = run_goal_with_memory(&env.submitter, &url, goal, denied, &["--on-worker"]);
    assert_eq!(first["status"], "failed", "{first}");
    let learned_on = first["id"].as_str().unwrap_or_default().to_string();
    let is_the_lesson = |l: &Value| {
        l["run"] == learned_on.as_str()
            && l["text"]
                .as_str()
                .is_some_and(|t| t.contains("needs a grant for tool hostile.http-get"))
    };
    // Learned where it ran: in a worker's memory, not in the submitting host's.
    let on_workers = env
        .workers
        .iter()
        .filter(|w| lessons(&w.home).iter().any(is_the_lesson))
        .count();
    assert_eq!(on_workers, 1);
    assert!(!lessons(&env.submitter).iter().any(is_the_lesson));
    let c = home_with(env.dir.path(), "learner-c", &guest("hostile"));
    let echo = "[[steps]]\nid = \"fetch\"\ntool = \"hostile.echo\"\nargs = { s = \"ok\" }\n";
    let (second, stderr) = run_goal_with_memory(&c, &url, goal, echo, &[]);
    assert_eq!(second["status"], "done", "{second}");
    assert!(
        lessons(&c).iter().any(is_the_lesson),
        "{:?} {stderr}",
        lessons(&c)
    );
}
