//! The guards around the tool-calling loop's models, against scripted Chat Completions
//! servers on 127.0.0.1: a judge that answers garbage abstains, a judge's veto whose retry is
//! worse keeps the best attempt, a failover chain continues on its second model after 503s
//! (traced as `model_switched` in tool calling and in plan mode), and a conversation is
//! compacted before it would overflow the model's context.

use serde_json::{json, Value};
use spud::agent::{run_goal, GoalOptions};
use spud::plan::{LoopMode, RunStatus, TraceEvent};
use spud_tests::tool_turns::{tool_results, trace, turn, turn_counted};
use spud_tests::{home, ScriptedModel, ScriptedReply};
use std::sync::Arc;

/// A plan whose one step passes its checks (`russet` is found), with `retries` retries, and a
/// judge on.
fn judged_plan(retries: u32) -> spud::plan::Plan {
    spud::plan::Plan::parse(
        &format!(
            "goal = \"name the potatoes\"\n[critic]\njudge = true\nmax_retries = {retries}\n\
             [[steps]]\nid = \"pick\"\ntool = \"json.query\"\n\
             args = {{ document = {{ items = [{{ n = \"russet\" }}] }}, path = \"$.items[*].n\" }}\n\
             expect = {{ contains = \"russet\" }}\n"
        ),
        "judged.toml",
    )
    .unwrap()
}

fn verdict(v: Value) -> ScriptedReply {
    (200, vec![], ScriptedModel::chat_call("verdict", &v, 20, 5))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_judge_that_answers_garbage_abstains_and_the_step_stands() {
    use spud::agent::{run_with, RunOptions};
    let h = home();
    let spud = spud_tests::example_spud(&h, &["json"]).await;
    // Text instead of a verdict, then a verdict that contradicts itself.
    let server = ScriptedModel::start(vec![
        (
            200,
            vec![],
            ScriptedModel::chat_answer(&json!("Your goal was fulfilled"), 20, 5),
        ),
        verdict(json!({"score": 0.0, "pass": true, "feedback": "fulfilled"})),
    ]);
    let options = RunOptions {
        judge: Some(server.provider()),
        ..RunOptions::default()
    };
    let report = run_with(spud.clone(), judged_plan(0), options, |_| {})
        .await
        .unwrap();
    assert_eq!(report.status, RunStatus::Done, "{:?}", report.failed);
    let options = RunOptions {
        judge: Some(server.provider()),
        ..RunOptions::default()
    };
    let second = run_with(spud, judged_plan(0), options, |_| {})
        .await
        .unwrap();
    assert_eq!(second.status, RunStatus::Done, "{:?}", second.failed);
    for r in [&report, &second] {
        let critique = spud::plan::read_trace(&r.dir.join("trace.jsonl"))
            .unwrap()
            .into_iter()
            .find_map(|l| match l.event {
                TraceEvent::Critiqued { critique, .. } => Some(critique),
                _ => None,
            })
            .unwrap();
        assert_eq!(critique.score, 1.0);
        assert!(
            critique
                .checks
                .iter()
                .any(|c| c.what.starts_with("model judge abstained")),
            "{critique:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_judge_veto_whose_retry_is_worse_keeps_the_best_attempt() {
    use spud::agent::{run_with, RunOptions};
    let h = home();
    let spud = spud_tests::example_spud(&h, &["json"]).await;
    // The judge vetoes the first result (0.6 < 0.7), and scores the retry lower still.
    let server = ScriptedModel::start(vec![
        verdict(json!({"score": 0.6, "pass": true, "feedback": "could list more"})),
        verdict(json!({"score": 0.3, "pass": false, "feedback": "worse"})),
    ]);
    let options = RunOptions {
        judge: Some(server.provider()),
        ..RunOptions::default()
    };
    let report = run_with(spud, judged_plan(1), options, |_| {})
        .await
        .unwrap();
    assert_eq!(report.status, RunStatus::Done, "{:?}", report.failed);
    assert_eq!((report.steps, report.retries), (2, 1));
    let events: Vec<TraceEvent> = spud::plan::read_trace(&report.dir.join("trace.jsonl"))
        .unwrap()
        .into_iter()
        .map(|l| l.event)
        .collect();
    assert!(events.iter().any(|e| matches!(e, TraceEvent::BestKept { attempt: 0, score, over_score, .. } if *score == 0.6 && *over_score == 0.3)), "{events:?}");
    // The retry made the step worse: counted among the self-corrections.
    let view = spud::plan::view(&spud::plan::read_trace(&report.dir.join("trace.jsonl")).unwrap());
    assert_eq!((view.corrections.total, view.corrections.worsened), (1, 1));
    assert_eq!(report.corrections.worsened, 1);
    // Across runs: `spud report all`, beside the reference design's share.
    let o = std::process::Command::new(spud_tests::spud_bin())
        .arg("--home")
        .arg(h.path())
        .args(["report", "all", "--json"])
        .env_remove("SPUD_POLICY")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let all: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(all["corrections"]["worsened"], 1);
    assert_eq!(all["corrections"]["worse_share"], 1.0);
    assert_eq!(all["reference_worse_share"], 0.06);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn when_the_first_model_answers_503_the_second_continues_the_run() {
    use spud::model::{Failover, Prices};
    let h = home();
    let spud = spud_tests::example_spud(&h, &["fs"]).await;
    let first = ScriptedModel::start(vec![
        (
            503,
            vec![],
            r#"{"error": {"message": "overloaded"}}"#.into(),
        ),
        (
            503,
            vec![],
            r#"{"error": {"message": "overloaded"}}"#.into(),
        ),
    ]);
    let second = ScriptedModel::start(vec![
        turn(&[("fs__list", r#"{"path": "/data"}"#)], ""),
        turn(&[], "listed"),
    ]);
    let prices = Prices {
        input_per_mtok: 1.0,
        output_per_mtok: 2.0,
    };
    let chain = Failover::new(vec![
        ("openai:big".into(), first.provider(), None),
        ("small".into(), second.provider(), Some(prices)),
    ]);
    let options = GoalOptions {
        loop_mode: LoopMode::Tools,
        ..GoalOptions::default()
    };
    let report = run_goal(spud, Arc::new(chain), "list the data", options, |_| {})
        .await
        .unwrap();
    assert_eq!(
        report.status,
        RunStatus::Done,
        "{:?}",
        report.runs[0].failed
    );
    assert_eq!(
        first.requests.lock().unwrap().len(),
        1,
        "one attempt, then the next model"
    );
    assert_eq!(second.requests.lock().unwrap().len(), 2);
    let models = report.models.clone().expect("a failover log");
    assert_eq!(models.current, "small");
    assert_eq!(models.switches.len(), 1);
    assert!(
        models.switches[0].reason.contains("503"),
        "{:?}",
        models.switches
    );
    assert_eq!(
        (models.models[0].requests, models.models[1].requests),
        (0, 2)
    );
    assert_eq!(models.models[1].usage.input_tokens, 200);
    assert_eq!(models.models[1].price, Some((200.0 + 2.0 * 20.0) / 1e6));
    let events = trace(&report);
    assert!(events.iter().any(|e| matches!(e, TraceEvent::ModelSwitched { from, to, .. } if from == "openai:big" && to == "small")));
    assert!(events
        .iter()
        .any(|e| matches!(e, TraceEvent::ModelTurn { model: Some(m), .. } if m == "small")));
}

/// Plan mode traces a switch as tool calling does: the run whose plan the second model made
/// starts with `model_switched`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_plan_mode_a_switch_is_traced_too() {
    use spud::model::Failover;
    let h = home();
    let spud = spud_tests::example_spud(&h, &["fs"]).await;
    let first = ScriptedModel::start(vec![(
        503,
        vec![],
        r#"{"error": {"message": "overloaded"}}"#.into(),
    )]);
    let plan = json!({"steps": [{"id": "ls", "tool": "fs.list", "args": {"path": "/data"}}]});
    let second = ScriptedModel::start(vec![(
        200,
        vec![],
        ScriptedModel::chat_call("plan", &plan, 50, 5),
    )]);
    let chain = Failover::new(vec![
        ("openai:big".into(), first.provider(), None),
        ("small".into(), second.provider(), None),
    ]);
    let options = GoalOptions {
        loop_mode: LoopMode::Plan,
        max_replans: 0,
        revise: spud::plan::ReviseWhen::Never,
        ..GoalOptions::default()
    };
    let report = run_goal(spud, Arc::new(chain), "list the data", options, |_| {})
        .await
        .unwrap();
    assert_eq!(
        report.status,
        RunStatus::Done,
        "{:?}",
        report.runs[0].failed
    );
    let switched: Vec<TraceEvent> = trace(&report)
        .into_iter()
        .filter(|e| matches!(e, TraceEvent::ModelSwitched { .. }))
        .collect();
    assert_eq!(switched.len(), 1, "{switched:?}");
    assert!(
        matches!(&switched[0], TraceEvent::ModelSwitched { from, to, reason } if from == "openai:big" && to == "small" && reason.contains("503")),
        "{switched:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_conversation_is_compacted_before_it_would_overflow_the_context() {
    let h = home();
    let spud = spud_tests::example_spud(&h, &["fs"]).await;
    let read = r#"{"path": "/data/inventory.json"}"#;
    let server = ScriptedModel::start(vec![
        turn_counted(&[("fs__read", read), ("fs__read", read)], "", 300),
        // The server counts 900 prompt tokens for the second request: the third would overflow
        // a context of 1000 (800 for the prompt).
        turn_counted(&[("fs__list", r#"{"path": "/data"}"#)], "", 900),
        turn_counted(&[], "done", 400),
    ]);
    let options = GoalOptions {
        loop_mode: LoopMode::Tools,
        context_tokens: Some(1000),
        ..GoalOptions::default()
    };
    let report = run_goal(
        spud,
        server.provider(),
        "read the inventory",
        options,
        |_| {},
    )
    .await
    .unwrap();
    assert_eq!(
        report.status,
        RunStatus::Done,
        "{:?}",
        report.runs[0].failed
    );
    let requests = server.requests.lock().unwrap().clone();
    let second = tool_results(&requests[1]);
    assert!(
        second.iter().all(|(_, c)| !c.contains("[cut")),
        "nothing cut yet"
    );
    let third = tool_results(&requests[2]);
    // The older outputs are cut; the goal and the latest result are whole.
    assert!(
        third[0].1.contains("[cut to fit the context") && third[1].1.contains("[cut"),
        "{third:?}"
    );
    assert!(
        third[2].1.contains("notes.txt") && !third[2].1.contains("[cut"),
        "{third:?}"
    );
    assert_eq!(
        requests[2].body["messages"][1]["content"],
        "read the inventory"
    );
    assert!(trace(&report).iter().any(|e| matches!(
        e,
        TraceEvent::Compacted {
            turn: 3,
            outputs_cut: 2,
            limit: 800,
            ..
        }
    )));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_tool_calling_the_judges_feedback_goes_back_to_the_model() {
    let h = home();
    let spud = spud_tests::example_spud(&h, &["fs"]).await;
    let model = ScriptedModel::start(vec![
        turn(&[("fs__list", r#"{"path": "/data"}"#)], ""),
        turn(&[], "listed"),
    ]);
    let judge = ScriptedModel::start(vec![verdict(
        json!({"score": 0.9, "pass": true, "feedback": "say which files are notes"}),
    )]);
    let options = GoalOptions {
        loop_mode: LoopMode::Tools,
        judge: Some(judge.provider()),
        ..GoalOptions::default()
    };
    let report = run_goal(spud, model.provider(), "list the data", options, |_| {})
        .await
        .unwrap();
    assert_eq!(report.status, RunStatus::Done);
    let second = model.requests.lock().unwrap()[1].clone();
    let results = tool_results(&second);
    assert!(
        results[0]
            .1
            .contains("(critic: judge: say which files are notes)"),
        "{results:?}"
    );
}
