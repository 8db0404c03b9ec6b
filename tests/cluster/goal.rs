//! `spud run --nats URL "GOAL"`: the goal is planned here, by the submitting host's model (a
//! scripted one on 127.0.0.1), and the plan's sub-agents run on the workers, as a plan run's do.

use super::{records, report_of, spud, verify, Env, ACK_WAIT_MS};
use serde_json::{json, Value};
use spud_tests::ScriptedModel;

pub(super) fn a_goal_is_planned_here_and_its_sub_agents_run_on_workers(env: &Env) {
    let url = env.cluster.url();
    let n = 4;
    let steps: Vec<Value> = (0..n)
        .map(|i| {
            json!({"id": format!("g{i}"), "agent": {"goal": format!("echo {i}"),
                "steps": [{"id": "echo", "tool": "hostile.echo", "args": {"s": format!("goal-{i}")}}]}})
        })
        .collect();
    let plan = json!({ "steps": steps });
    let model = ScriptedModel::start(vec![(
        200,
        vec![],
        ScriptedModel::chat_call("plan", &plan, 100, 50),
    )]);
    let before: usize = env.workers.iter().map(|w| records(&w.home).len()).sum();
    let base = model.base_url();
    let out = spud(
        &env.submitter,
        &[
            "run",
            "echo four parts",
            "--model",
            "openai:m",
            "--base-url",
            &base,
            "--loop",
            "plan",
            "--revise",
            "never",
            "--stream",
            "false",
            "--json",
            "-q",
            "--no-memory",
            "--nats",
            &url,
            "--replicas",
            "3",
            "--ack-wait-ms",
            ACK_WAIT_MS,
        ],
    );
    let report = report_of(&out);
    assert_eq!(report["status"], "done", "{report}");
    let run = &report["runs"][0];
    for i in 0..n {
        assert_eq!(
            run["results"][format!("g{i}")]["results"]["echo"],
            format!("goal-{i}"),
            "{run}"
        );
    }
    // Planned here (one model request), run there: each sub-agent's call is in a worker's log.
    assert_eq!(model.requests.lock().unwrap().len(), 1);
    let echoes = env
        .workers
        .iter()
        .flat_map(|w| records(&w.home))
        .filter(|r| {
            r["event"]["kind"] == "call"
                && r["event"]["tool"] == "hostile.echo"
                && r["event"]["principal"]
                    .as_str()
                    .is_some_and(|p| p.starts_with("cli/g"))
        })
        .count();
    assert_eq!(echoes, n, "sub-agent calls recorded on the workers");
    let after: usize = env.workers.iter().map(|w| records(&w.home).len()).sum();
    assert!(after > before);
    assert_eq!(verify(&url), 0);
}
