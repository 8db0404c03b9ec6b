//! The tool-calling loop (`--loop tools`, and `auto`'s fallback) against a scripted Chat
//! Completions server on 127.0.0.1 that records what spud sends: parallel calls of one turn
//! (proved by a barrier), a model that never stops calling tools (the step budget ends it),
//! the fallback after two invalid plans, short tool names resolved, unknown tools and
//! malformed arguments answered with an error the model can correct.

use serde_json::json;
use spud::agent::{run_goal, GoalOptions, GoalReport};
use spud::plan::{Budget, LoopMode, ReviseWhen, RunStatus, TraceEvent};
use spud::{Spud, SpudOptions};
use spud_tests::tool_turns::{tool_results, trace, turn};
use spud_tests::{guest, home, ScriptedModel};
use std::sync::Arc;

async fn run(
    spud: Arc<Spud>,
    server: &ScriptedModel,
    mode: LoopMode,
    budget: Budget,
) -> GoalReport {
    let options = GoalOptions {
        budget,
        max_replans: 0,
        revise: ReviseWhen::Never,
        max_retries: 0,
        loop_mode: mode,
        ..GoalOptions::default()
    };
    run_goal(spud, server.provider(), "look at the data", options, |_| {})
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_of_one_turn_run_concurrently_and_the_model_answers() {
    let h = home();
    let web = spud_tests::TestServer::start();
    let policy = spud_tests::write_policy(
        h.path(),
        &format!("[tools.http]\nnetwork = [\"{}\"]\n", web.url()),
    );
    let spud = Spud::open(SpudOptions {
        home: Some(h.path().join("spud")),
        policy: Some(policy),
        principal: None,
    })
    .unwrap();
    spud.add(&guest("http"), None, None).await.unwrap();
    // Three fetches of a barrier that opens only when all three wait at once.
    let args = json!({"url": format!("{}/barrier/3", web.url())}).to_string();
    let server = ScriptedModel::start(vec![
        turn(
            &[
                ("http__fetch", &args),
                ("http__fetch", &args),
                ("http__fetch", &args),
            ],
            "",
        ),
        turn(&[], "All three fetched."),
    ]);
    let report = run(Arc::new(spud), &server, LoopMode::Tools, Budget::default()).await;
    let r = &report.runs[0];
    assert_eq!(r.status, RunStatus::Done, "{:?}", r.failed);
    assert_eq!(r.steps, 3);
    assert_eq!(r.results["answer"], "All three fetched.");
    for id in ["t1-1", "t1-2", "t1-3"] {
        assert!(
            r.results[id].to_string().contains("released"),
            "{id}: {}",
            r.results[id]
        );
    }
    assert_eq!(
        (report.usage.input_tokens, report.usage.output_tokens),
        (200, 20)
    );

    let requests = server.requests.lock().unwrap().clone();
    assert_eq!(requests.len(), 2);
    let first = &requests[0].body;
    assert_eq!(first["messages"][0]["role"], "system");
    assert_eq!(first["messages"][1]["content"], "look at the data");
    assert_eq!(first["tool_choice"], "auto");
    let names: Vec<&str> = first["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["function"]["name"].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&"http__fetch") && names.contains(&"spawn_agent"),
        "{names:?}"
    );
    // The tool-call turn goes back with `content: ""`, never null, then one result per call.
    let assistant = &requests[1].body["messages"][2];
    assert_eq!(assistant["role"], "assistant");
    assert_eq!(assistant["content"], json!(""));
    assert_eq!(assistant["tool_calls"].as_array().unwrap().len(), 3);
    let results = tool_results(&requests[1]);
    assert_eq!(results.len(), 3);
    assert_eq!(results[2].0, "call_2");
    assert!(
        results.iter().all(|(_, c)| c.contains("released")),
        "{results:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_model_that_never_stops_calling_tools_is_stopped_by_the_step_budget() {
    let h = home();
    let spud = spud_tests::example_spud(&h, &["fs"]).await;
    let call = turn(&[("fs__list", r#"{"path": "/data"}"#)], "");
    let server = ScriptedModel::start(vec![call; 10]);
    let budget = Budget {
        max_steps: 3,
        ..Budget::default()
    };
    let report = run(spud, &server, LoopMode::Tools, budget).await;
    let r = &report.runs[0];
    assert_eq!(r.status, RunStatus::BudgetExhausted);
    assert_eq!(r.steps, 3, "no call beyond the budget");
    assert_eq!(server.requests.lock().unwrap().len(), 4);
    let last = server.requests.lock().unwrap()[3].clone();
    assert_eq!(tool_results(&last).len(), 3);
    assert!(trace(&report)
        .iter()
        .any(|e| matches!(e, TraceEvent::BudgetExhausted { budget, .. } if budget == "max_steps")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auto_falls_back_to_tool_calling_after_two_invalid_plans() {
    let h = home();
    let spud = spud_tests::example_spud(&h, &["fs"]).await;
    // Plans that name a tool that does not exist, twice; then tool calling with a short name.
    let bad = json!({"steps": [{"id": "a", "tool": "fs.delete", "args": {"path": "/data"}}]});
    let server = ScriptedModel::start(vec![
        (200, vec![], ScriptedModel::chat_call("plan", &bad, 50, 5)),
        (200, vec![], ScriptedModel::chat_call("plan", &bad, 50, 5)),
        turn(&[("list", r#"{"path": "/data"}"#)], ""),
        turn(&[], "There are the sample files."),
    ]);
    let report = run(spud, &server, LoopMode::Auto, Budget::default()).await;
    let r = &report.runs[0];
    assert_eq!(r.status, RunStatus::Done, "{:?}", r.failed);
    assert!(
        r.results["t1-1"].to_string().contains("notes.txt"),
        "{}",
        r.results["t1-1"]
    );
    // The failed planning counts.
    assert_eq!(
        (report.usage.input_tokens, report.usage.output_tokens),
        (300, 30)
    );
    let second_plan = server.requests.lock().unwrap()[1].body["messages"][1]["content"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        second_plan.contains("no tool `fs.delete`") && second_plan.contains("fs.list"),
        "{second_plan}"
    );
    let events = trace(&report);
    assert!(events.iter().any(
        |e| matches!(e, TraceEvent::LoopFallback { reason } if reason.contains("valid plan"))
    ));
    assert!(events.iter().any(|e| matches!(e, TraceEvent::ToolResolved { asked, tool, .. } if asked == "list" && tool == "fs.list")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_names_and_malformed_arguments_go_back_and_the_model_corrects_them() {
    let h = home();
    let spud = spud_tests::example_spud(&h, &["fs", "json"]).await;
    let server = ScriptedModel::start(vec![
        // Unknown, ambiguous-free short name, malformed JSON, and arguments the schema refuses.
        turn(
            &[
                ("fs.delete", r#"{"path": "/data"}"#),
                ("fs__read", r#"{"path": "/data/notes.txt""#),
                ("fs__read", r#"{"path": 7}"#),
            ],
            "",
        ),
        // The correction changes the tool, not only its arguments.
        turn(&[("fs.read", r#"{"path": "/data/notes.txt"}"#)], ""),
        turn(&[], "done"),
    ]);
    let report = run(spud, &server, LoopMode::Tools, Budget::default()).await;
    let r = &report.runs[0];
    assert_eq!(r.status, RunStatus::Done, "{:?}", r.failed);
    // Only the schema-invalid call and the corrected one reached the executor.
    assert_eq!(r.steps, 2);
    assert!(r.results.contains_key("t2-1"));
    let second = server.requests.lock().unwrap()[1].clone();
    let results = tool_results(&second);
    assert!(
        results[0].1.contains("no tool `fs.delete`") && results[0].1.contains("fs.read"),
        "{results:?}"
    );
    assert!(results[1].1.contains("not valid JSON"), "{results:?}");
    assert!(
        results[2].1.contains("invalid input") && results[2].1.contains("expected a string"),
        "{results:?}"
    );
    let rejected = trace(&report)
        .iter()
        .filter(|e| matches!(e, TraceEvent::CallRejected { .. }))
        .count();
    assert_eq!(rejected, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_denied_call_is_an_actionable_tool_error() {
    let h = home();
    let spud = spud_tests::example_spud(&h, &["fs"]).await;
    let server = ScriptedModel::start(vec![
        turn(
            &[("fs__write", r#"{"path": "/data/x.txt", "content": "x"}"#)],
            "",
        ),
        turn(&[], "I may not write there."),
    ]);
    let report = run(spud, &server, LoopMode::Tools, Budget::default()).await;
    let r = &report.runs[0];
    assert_eq!(r.denied, 1);
    let second = server.requests.lock().unwrap()[1].clone();
    let results = tool_results(&second);
    assert!(
        results[0].1.starts_with("error:") && results[0].1.contains("denied"),
        "{results:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_plan_mode_a_short_name_resolves_and_a_correction_may_change_the_tool() {
    use spud::agent::{run_with, Reviser, RunOptions};
    let h = home();
    let spud = spud_tests::example_spud(&h, &["fs"]).await;
    let plan = spud::plan::Plan::parse(
        "goal = \"read the notes\"\n[critic]\nmax_retries = 1\n\
         [[steps]]\nid = \"ls\"\ntool = \"list\"\nargs = { path = \"/data\" }\n\
         [[steps]]\nid = \"read\"\ntool = \"fs.open\"\nargs = { path = \"/data/notes.txt\" }\n",
        "plan.toml",
    )
    .unwrap();
    // The retry of `read` names another tool (by its short name) with its arguments.
    let fix = json!({"tool": "read", "args": {"path": "/data/notes.txt"}});
    let server = ScriptedModel::start(vec![(
        200,
        vec![],
        ScriptedModel::chat_call("corrected_arguments", &fix, 10, 5),
    )]);
    let options = RunOptions {
        reviser: Some(Arc::new(Reviser::new(server.provider(), ReviseWhen::Never))),
        ..RunOptions::default()
    };
    let report = run_with(spud, plan, options, |_| {}).await.unwrap();
    assert_eq!(report.status, RunStatus::Done, "{:?}", report.failed);
    assert!(
        report.results["read"].to_string().contains("TODO"),
        "{}",
        report.results["read"]
    );
    let events: Vec<TraceEvent> = spud::plan::read_trace(&report.dir.join("trace.jsonl"))
        .unwrap()
        .into_iter()
        .map(|l| l.event)
        .collect();
    assert!(events.iter().any(|e| matches!(e, TraceEvent::ToolResolved { step, tool, .. } if step == "ls" && tool == "fs.list")));
    assert!(events.iter().any(|e| matches!(e, TraceEvent::ArgsCorrected { step, tool: Some(t), .. } if step == "read" && t == "fs.read")));
    let asked = server.requests.lock().unwrap()[0].body["messages"][1]["content"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(asked.contains("Tools: fs.read"), "{asked}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spud_run_loop_tools_from_the_command_line() {
    let h = home();
    drop(spud_tests::example_spud(&h, &["fs"]).await);
    let server = ScriptedModel::start(vec![
        turn(&[("list", r#"{"path": "/data"}"#)], ""),
        turn(&[], "listed"),
    ]);
    let base = server.base_url();
    let o = tokio::task::spawn_blocking(move || {
        std::process::Command::new(spud_tests::spud_bin())
            .arg("--home")
            .arg(h.path())
            .env(
                "SPUD_POLICY",
                spud_tests::workspace().join("examples/policy.toml"),
            )
            .args([
                "run",
                "list the data",
                "--model",
                "openai:m",
                "--base-url",
                &base,
            ])
            .args(["--loop", "tools", "--json", "--no-memory"])
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{stderr}");
    let report: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(report["runs"][0]["results"]["answer"], "listed");
    assert!(stderr.contains("`list` resolved to `fs.list`"), "{stderr}");
}

/// `spud run --max-steps` and `--max-wall-ms` hold for a goal: a model that keeps calling
/// tools is stopped after one call, and a streamed answer that takes longer than the wall
/// time is cut; both exit 4 (budget exhausted), naming the budget.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spud_run_budget_flags_hold() {
    let h = home();
    drop(spud_tests::example_spud(&h, &["fs"]).await);
    let call = turn(&[("fs__list", r#"{"path": "/data"}"#)], "");
    let calls = ScriptedModel::start(vec![call; 4]);
    // Forty events five milliseconds apart: longer than the wall time allowed.
    let pieces: Vec<String> = (0..40).map(|i| format!("{i} ")).collect();
    let pieces: Vec<&str> = pieces.iter().map(String::as_str).collect();
    let slow = ScriptedModel::start(vec![spud_tests::sse::openai_stream(&pieces, &[], (5, 5))]);
    let home = h.path().to_path_buf();
    let run = move |base: String, flag: &'static str, value: &'static str| {
        let home = home.clone();
        tokio::task::spawn_blocking(move || {
            std::process::Command::new(spud_tests::spud_bin())
                .arg("--home")
                .arg(&home)
                .env(
                    "SPUD_POLICY",
                    spud_tests::workspace().join("examples/policy.toml"),
                )
                .args(["run", "list the data", "--model", "openai:m"])
                .args(["--base-url", &base, "--loop", "tools", "--no-memory"])
                .args(["--json", flag, value])
                .output()
                .unwrap()
        })
    };
    let o = run(calls.base_url(), "--max-steps", "1").await.unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(4), "{stderr}");
    let report: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(report["runs"][0]["steps"], 1, "{report}");
    assert!(stderr.contains("budget exhausted: max_steps"), "{stderr}");

    let o = run(slow.base_url(), "--max-wall-ms", "50").await.unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(4), "{stderr}");
    assert!(stderr.contains("budget exhausted: max_wall_ms"), "{stderr}");
}
