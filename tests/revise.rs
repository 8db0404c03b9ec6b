//! Self-correction inside a run, against a scripted model on 127.0.0.1: the plan is revised
//! after a surprising result, and a retry carries arguments the model corrected from the
//! critic's feedback. Every request spud sends is checked too.

use serde_json::json;
use spud::agent::{run_goal, GoalOptions};
use spud::plan::{ReviseWhen, RunStatus, TraceEvent};
use spud_tests::{example_spud, home, ScriptedModel};
use std::sync::{Arc, Mutex};

fn trace_of(dir: &std::path::Path) -> Vec<spud::plan::TraceLine> {
    spud::plan::read_trace(&dir.join("trace.jsonl")).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_surprising_result_revises_the_plan_during_the_run() {
    let h = home();
    let spud = example_spud(&h, &["fs", "json"]).await;
    let plan = json!({"steps": [
        {"id": "read", "goal": "know the stock", "tool": "fs.read", "args": {"path": "/data/inventory.json"}, "expect": {"contains": "items"}},
        {"id": "empty", "goal": "find what to restock", "after": ["read"], "tool": "json.query",
         "args": {"document": "${read.content|json}", "path": "$.items[?@.qty < 1]"}, "expect": {"path": "$.matches[*]", "min": 1}},
        {"id": "names", "goal": "find what to restock", "after": ["empty"], "tool": "json.query",
         "args": {"document": "${empty.matches|json}", "path": "$[*].name"}}
    ]});
    let revision = json!({"revise": true, "reason": "nothing is out of stock; look for low stock instead",
        "steps": [{"id": "low", "goal": "find what to restock", "after": ["read"], "tool": "json.query",
                   "args": {"document": "${read.content|json}", "path": "$.items[?@.qty < 20].name"},
                   "expect": {"contains": "shallot"}}]});
    let server = ScriptedModel::start(vec![
        (
            200,
            vec![],
            ScriptedModel::chat_call("plan", &plan, 100, 50),
        ),
        (
            200,
            vec![],
            ScriptedModel::chat_call("revision", &revision, 300, 60),
        ),
    ]);
    let options = GoalOptions {
        max_replans: 0,
        max_retries: 0,
        revise: ReviseWhen::OnSurprise,
        ..GoalOptions::default()
    };
    let lines = Arc::new(Mutex::new(Vec::new()));
    let seen = lines.clone();
    let report = run_goal(
        spud,
        server.provider(),
        "what needs restocking?",
        options,
        move |l| seen.lock().unwrap().push(l.clone()),
    )
    .await
    .unwrap();

    // The failed step's work was taken over by the revision, so the goal is met in one run.
    assert_eq!(report.status, RunStatus::Done, "{:?}", report.runs);
    assert_eq!(report.runs.len(), 1);
    let run = &report.runs[0];
    assert_eq!(run.revisions, 1);
    assert_eq!(run.results["low"]["matches"][0]["value"], "shallot");
    assert!(run.failed.contains_key("empty") && run.superseded.contains("empty"));
    assert!(
        !run.results.contains_key("names"),
        "the dropped step never ran"
    );
    // Revision tokens count toward the goal's usage: plan 150 + revision 360.
    assert_eq!(report.usage.input_tokens + report.usage.output_tokens, 510);

    let revised: Vec<_> = lines
        .lock()
        .unwrap()
        .iter()
        .filter_map(|l| match &l.event {
            TraceEvent::PlanRevised {
                previous_run: None,
                after_step,
                added,
                removed,
                changed,
                reason,
                ..
            } => Some((
                after_step.clone(),
                added.clone(),
                removed.clone(),
                changed.clone(),
                reason.clone(),
            )),
            _ => None,
        })
        .collect();
    assert_eq!(
        revised,
        [(
            Some("empty".to_string()),
            vec!["low".to_string()],
            vec!["names".to_string()],
            vec![],
            "nothing is out of stock; look for low stock instead".to_string()
        )]
    );
    assert_eq!(trace_of(&run.dir).len(), lines.lock().unwrap().len());

    // What spud told the model: the failure, the accepted result and what is still pending.
    let requests = server.requests.lock().unwrap().clone();
    assert_eq!(requests.len(), 2, "no revision after unsurprising steps");
    let r = &requests[1].body;
    assert_eq!(r["tool_choice"]["function"]["name"], "revision");
    let user = r["messages"][1]["content"].as_str().unwrap();
    assert!(user.contains("Step `empty` just ended: failed"), "{user}");
    assert!(user.contains("matched 0 node(s)"), "{user}");
    assert!(
        user.contains("yukon gold") && user.contains("pending"),
        "{user}"
    );
    assert!(r["messages"][0]["content"]
        .as_str()
        .unwrap()
        .contains("json.query"));

    // The plan tree shows sub-goals, the revision and the step it added.
    let view = spud::plan::view(&trace_of(&run.dir));
    let text = spud::plan::render(&view);
    assert!(text.contains("▸ find what to restock"), "{text}");
    assert!(
        text.contains("- low (after read) [added after empty]"),
        "{text}"
    );
    assert!(
        text.contains("- names (after empty) [dropped by a revision]"),
        "{text}"
    );
    assert!(text.contains("plan revised after empty"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retry_carries_arguments_the_model_corrected() {
    let h = home();
    let spud = example_spud(&h, &["fs", "json"]).await;
    let plan = json!({"steps": [
        {"id": "read", "tool": "fs.read", "args": {"path": "/data/inventry.json"}, "expect": {"contains": "items"}}
    ]});
    let server = ScriptedModel::start(vec![
        (200, vec![], ScriptedModel::chat_call("plan", &plan, 10, 10)),
        (
            200,
            vec![],
            ScriptedModel::chat_call(
                "corrected_arguments",
                &json!({"args": {"path": "/data/inventory.json"}}),
                10,
                10,
            ),
        ),
    ]);
    let options = GoalOptions {
        max_replans: 0,
        max_retries: 1,
        revise: ReviseWhen::Never,
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
    assert_eq!(report.status, RunStatus::Done, "{:?}", report.runs);
    let run = &report.runs[0];
    assert_eq!((run.steps, run.retries, run.backtracks), (2, 1, 0));
    assert!(run.results["read"]["content"]
        .as_str()
        .unwrap()
        .contains("russet"));

    let lines = trace_of(&run.dir);
    let corrected = lines.iter().find_map(|l| match &l.event {
        TraceEvent::ArgsCorrected {
            step,
            attempt,
            args,
            feedback,
            ..
        } => Some((step.clone(), *attempt, args.clone(), feedback.clone())),
        _ => None,
    });
    let (step, attempt, args, feedback) = corrected.expect("an ArgsCorrected event");
    assert_eq!((step.as_str(), attempt), ("read", 1));
    assert_eq!(args, json!({"path": "/data/inventory.json"}));
    assert!(!feedback.is_empty());
    let second_call = lines.iter().find_map(|l| match &l.event {
        TraceEvent::StepStarted {
            attempt: 1, args, ..
        } => Some(args.clone()),
        _ => None,
    });
    assert_eq!(second_call, Some(json!({"path": "/data/inventory.json"})));
    // The correction raised the step's score, and the report says so.
    let view = spud::plan::view(&lines);
    assert_eq!((view.corrections.total, view.corrections.improved), (1, 1));
    assert!(spud::plan::render(&view).contains("corrected arguments"));

    // The model saw the critic's feedback, the failed arguments and the tool's input schema.
    let requests = server.requests.lock().unwrap().clone();
    assert_eq!(requests.len(), 2);
    let r = &requests[1].body;
    assert_eq!(r["tool_choice"]["function"]["name"], "corrected_arguments");
    let user = r["messages"][1]["content"].as_str().unwrap();
    assert!(user.contains(&feedback), "{user}");
    assert!(
        user.contains("inventry.json") && user.contains("Input schema"),
        "{user}"
    );
    assert_eq!(
        r["tools"][0]["function"]["parameters"]["properties"]["args"]["required"],
        json!(["path"])
    );
}
