//! The model planner against a scripted Chat Completions server on 127.0.0.1 that records what
//! spud sends: a planned run, retries on 429 with Retry-After, bad keys and unknown models, and
//! re-planning after a failed run.

use serde_json::json;
use spud::agent::{run_goal, GoalOptions, GoalReport, PlannerError};
use spud::model::{ModelConfig, ModelError, OpenAiChat, Provider, StreamMode};
use spud::plan::ReviseWhen;
use spud::plan::RunStatus;
use spud::{Spud, SpudOptions};
use spud_tests::{guest, home, ScriptedModel};
use std::sync::Arc;

async fn spud(h: &tempfile::TempDir) -> Arc<Spud> {
    spud_tests::example_spud(h, &["fs", "json"]).await
}

fn provider(server: &ScriptedModel, key_env: Option<&str>) -> Arc<dyn Provider> {
    Arc::new(chat(server, key_env))
}

fn chat(server: &ScriptedModel, key_env: Option<&str>) -> OpenAiChat {
    OpenAiChat::new(ModelConfig {
        model: "planner-1".into(),
        base_url: server.base_url(),
        api_key_env: key_env.map(str::to_string),
        timeout_ms: 10_000,
        max_attempts: 3,
        stream: StreamMode::Off,
    })
    .unwrap()
}

/// Runs `g` without revisions during runs (each test scripts every model answer).
async fn goal(
    spud: Arc<Spud>,
    p: Arc<dyn Provider>,
    g: &str,
    max_replans: u32,
    max_tokens: u64,
) -> Result<GoalReport, PlannerError> {
    let options = GoalOptions {
        max_replans,
        max_tokens,
        revise: ReviseWhen::Never,
        max_retries: 0,
        ..GoalOptions::default()
    };
    run_goal(spud, p, g, options, |_| {}).await
}

fn good_plan() -> serde_json::Value {
    json!({"steps": [
        {"id": "read", "tool": "fs.read", "args": {"path": "/data/inventory.json"}, "expect": {"contains": "items"}},
        {"id": "notes", "tool": "fs.search", "args": {"path": "/data", "pattern": "TODO"}, "expect": {"path": "$.matches[*]", "min": 1}},
        {"id": "names", "after": ["read"], "tool": "json.query",
         "args": {"document": "${read.content|json}", "path": "$.items[*].name"}, "expect": {"path": "$.matches[*]", "min": 3}}
    ]})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_planned_run_and_what_spud_sends() {
    std::env::set_var("SPUD_TEST_MODEL_KEY", "sk-test-123");
    let h = home();
    let spud = spud(&h).await;
    let server = ScriptedModel::start(vec![
        (
            429,
            vec![("Retry-After", "0")],
            r#"{"error": {"message": "slow down"}}"#.into(),
        ),
        (
            200,
            vec![],
            ScriptedModel::chat_call("plan", &good_plan(), 900, 120),
        ),
    ]);
    let p = provider(&server, Some("SPUD_TEST_MODEL_KEY"));
    let report = goal(spud, p.clone(), "List the items and the to-dos", 1, 100_000)
        .await
        .unwrap();
    assert_eq!(report.status, RunStatus::Done);
    assert_eq!(report.runs.len(), 1);
    assert_eq!(
        report.runs[0].results["names"]["matches"]
            .as_array()
            .unwrap()
            .len(),
        3
    );
    assert_eq!(
        (report.usage.input_tokens, report.usage.output_tokens),
        (900, 120)
    );

    let requests = server.requests.lock().unwrap().clone();
    assert_eq!(requests.len(), 2, "the 429 was retried once");
    let r = &requests[1];
    assert_eq!(r.line, "POST /v1/chat/completions HTTP/1.1");
    assert!(r
        .headers
        .iter()
        .any(|(k, v)| k == "authorization" && v == "Bearer sk-test-123"));
    assert_eq!(r.body["model"], "planner-1");
    assert_eq!(r.body["tool_choice"]["function"]["name"], "plan");
    assert_eq!(r.body["tools"][0]["function"]["name"], "plan");
    assert_eq!(
        r.body["tools"][0]["function"]["parameters"]["required"],
        json!(["steps"])
    );
    let system = r.body["messages"][0]["content"].as_str().unwrap();
    assert!(
        system.contains("fs.read")
            && system.contains("json.query")
            && system.contains("input_schema")
    );
    assert!(r.body["messages"][1]["content"]
        .as_str()
        .unwrap()
        .contains("List the items and the to-dos"));
    // The key never reaches the trace.
    let trace = std::fs::read_to_string(report.runs[0].dir.join("trace.jsonl")).unwrap();
    assert!(!trace.contains("sk-test-123"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_keys_and_unknown_models_are_clear_errors() {
    let h = home();
    let spud = spud(&h).await;
    let server = ScriptedModel::start(vec![
        (
            401,
            vec![],
            r#"{"error": {"message": "invalid api key"}}"#.into(),
        ),
        (
            404,
            vec![],
            r#"{"error": {"message": "model not found"}}"#.into(),
        ),
        (
            400,
            vec![],
            r#"{"error": {"code": "context_length_exceeded"}}"#.into(),
        ),
    ]);
    let p = provider(&server, None);
    let run = |spud: Arc<Spud>| async move { goal(spud, p.clone(), "g", 0, 1000).await };
    let e = run(spud.clone()).await.unwrap_err().to_string();
    assert!(e.contains("refused the key"), "{e}");
    let p = provider(&server, None);
    let e = goal(spud.clone(), p.clone(), "g", 0, 1000)
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains("does not know model `planner-1`"), "{e}");
    let e = goal(spud.clone(), p.clone(), "g", 0, 1000)
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains("context window"), "{e}");
    let missing = OpenAiChat::new(ModelConfig {
        model: "m".into(),
        base_url: server.base_url(),
        api_key_env: Some("SPUD_TEST_NO_SUCH_VAR".into()),
        timeout_ms: 1000,
        max_attempts: 1,
        stream: StreamMode::Off,
    })
    .unwrap();
    let e = goal(spud, Arc::new(missing), "g", 0, 1000)
        .await
        .unwrap_err();
    assert!(
        matches!(
            e,
            spud::agent::PlannerError::Model(ModelError::MissingKey(_))
        ),
        "{e}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_run_is_replanned_with_what_happened() {
    let h = home();
    let spud = spud(&h).await;
    let failing = json!({"steps": [{"id": "read", "tool": "fs.read", "args": {"path": "/data/missing.json"}}]});
    let server = ScriptedModel::start(vec![
        (200, vec![], ScriptedModel::chat_answer(&failing, 100, 10)),
        (
            200,
            vec![],
            ScriptedModel::chat_answer(&good_plan(), 200, 20),
        ),
    ]);
    let p = provider(&server, None);
    let report = goal(spud, p.clone(), "Read the inventory", 2, 100_000)
        .await
        .unwrap();
    assert_eq!(report.status, RunStatus::Done);
    assert_eq!(report.runs.len(), 2);
    assert_eq!(report.runs[0].status, RunStatus::Failed);
    let requests = server.requests.lock().unwrap().clone();
    let second = requests[1].body["messages"][1]["content"].as_str().unwrap();
    assert!(
        second.contains("Failed steps") && second.contains("missing.json"),
        "{second}"
    );
    assert_eq!(report.usage.input_tokens, 300);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_token_budget_stops_replanning() {
    let h = home();
    let spud = spud(&h).await;
    let failing = json!({"steps": [{"id": "read", "tool": "fs.read", "args": {"path": "/data/missing.json"}}]});
    let server = ScriptedModel::start(vec![(
        200,
        vec![],
        ScriptedModel::chat_answer(&failing, 5000, 10),
    )]);
    let p = provider(&server, None);
    let report = goal(spud, p.clone(), "g", 5, 1000).await.unwrap();
    assert_eq!(report.status, RunStatus::BudgetExhausted);
    assert_eq!(report.runs.len(), 1);
    assert_eq!(server.requests.lock().unwrap().len(), 1);
}

fn config(server: &ScriptedModel, key_env: Option<&str>) -> ModelConfig {
    ModelConfig {
        model: String::new(),
        base_url: server.base_url(),
        api_key_env: key_env.map(str::to_string),
        timeout_ms: 10_000,
        max_attempts: 3,
        stream: StreamMode::Off,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn anthropic_messages_wire_format() {
    std::env::set_var("SPUD_TEST_ANTHROPIC_KEY", "ak-test");
    let h = home();
    let spud = spud(&h).await;
    let answer = json!({
        "id": "msg_1", "type": "message", "role": "assistant", "model": "claude-test",
        "content": [{"type": "text", "text": "Here is the plan."}, {"type": "tool_use", "id": "tu_1", "name": "plan", "input": good_plan()}],
        "stop_reason": "tool_use", "usage": {"input_tokens": 700, "output_tokens": 90}
    });
    let server = ScriptedModel::start(vec![
        (
            529,
            vec![],
            r#"{"type": "error", "error": {"type": "overloaded_error"}}"#.into(),
        ),
        (200, vec![], answer.to_string()),
    ]);
    let p = spud::model::provider(
        "anthropic:claude-test",
        config(&server, Some("SPUD_TEST_ANTHROPIC_KEY")),
    )
    .unwrap();
    let report = goal(spud, Arc::from(p), "List the items", 0, 100_000)
        .await
        .unwrap();
    assert_eq!(report.status, RunStatus::Done);
    assert_eq!(
        (report.usage.input_tokens, report.usage.output_tokens),
        (700, 90)
    );
    let requests = server.requests.lock().unwrap().clone();
    assert_eq!(requests.len(), 2, "529 overloaded is retried");
    let r = &requests[1];
    assert_eq!(r.line, "POST /v1/messages HTTP/1.1");
    assert!(r
        .headers
        .iter()
        .any(|(k, v)| k == "x-api-key" && v == "ak-test"));
    assert!(r
        .headers
        .iter()
        .any(|(k, v)| k == "anthropic-version" && v == "2023-06-01"));
    assert_eq!(r.body["model"], "claude-test");
    assert_eq!(
        r.body["tool_choice"],
        json!({"type": "tool", "name": "plan"})
    );
    assert_eq!(
        r.body["tools"][0]["input_schema"]["required"],
        json!(["steps"])
    );
    assert!(r.body["system"].as_str().unwrap().contains("fs.search"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openai_responses_wire_format() {
    let h = home();
    let spud = spud(&h).await;
    let answer = json!({
        "id": "resp_1", "object": "response", "status": "completed",
        "output": [
            {"type": "reasoning", "id": "rs_1", "summary": []},
            {"type": "function_call", "id": "fc_1", "call_id": "call_1", "name": "plan", "arguments": good_plan().to_string()}
        ],
        "usage": {"input_tokens": 640, "output_tokens": 75}
    });
    let server = ScriptedModel::start(vec![(200, vec![], answer.to_string())]);
    let p = spud::model::provider("openai-responses:gpt-test", config(&server, None)).unwrap();
    let report = goal(spud, Arc::from(p), "List the items", 0, 100_000)
        .await
        .unwrap();
    assert_eq!(report.status, RunStatus::Done);
    assert_eq!(report.usage.input_tokens, 640);
    let r = server.requests.lock().unwrap()[0].clone();
    assert_eq!(r.line, "POST /v1/responses HTTP/1.1");
    assert_eq!(r.body["model"], "gpt-test");
    assert_eq!(
        r.body["tool_choice"],
        json!({"type": "function", "name": "plan"})
    );
    assert_eq!(
        r.body["tools"][0]["parameters"]["required"],
        json!(["steps"])
    );
    assert!(r.body["instructions"]
        .as_str()
        .unwrap()
        .contains("json.query"));
    assert_eq!(r.body["input"][0]["role"], "user");
    assert!(spud::model::provider("gemini:x", config(&server, None)).is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_arguments_go_back_and_the_model_corrects() {
    let h = home();
    let spud = spud(&h).await;
    let malformed = json!({"steps": [{"id": "read", "tool": "fs.read", "args": {"path": 42}}]});
    let server = ScriptedModel::start(vec![
        (200, vec![], ScriptedModel::chat_answer(&malformed, 10, 10)),
        (
            200,
            vec![],
            ScriptedModel::chat_answer(&good_plan(), 10, 10),
        ),
    ]);
    let p = provider(&server, None);
    let report = goal(spud, p.clone(), "Read the inventory", 1, 100_000)
        .await
        .unwrap();
    assert_eq!(report.status, RunStatus::Done);
    let second = server.requests.lock().unwrap()[1].body["messages"][1]["content"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        second.contains("invalid input") && second.contains("expected a string"),
        "{second}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invalid_plan_goes_back_once_with_the_reason() {
    let h = home();
    let spud = spud(&h).await;
    let cyclic = json!({"steps": [
        {"id": "a", "after": ["b"], "tool": "fs.list", "args": {"path": "/data"}},
        {"id": "b", "after": ["a"], "tool": "fs.list", "args": {"path": "/data"}}
    ]});
    let server = ScriptedModel::start(vec![
        (200, vec![], ScriptedModel::chat_answer(&cyclic, 10, 10)),
        (
            200,
            vec![],
            ScriptedModel::chat_answer(&good_plan(), 10, 10),
        ),
    ]);
    let p = provider(&server, None);
    let report = goal(spud, p.clone(), "g", 0, 100_000).await.unwrap();
    assert_eq!(report.status, RunStatus::Done);
    let second = server.requests.lock().unwrap()[1].body["messages"][1]["content"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        second.contains("previous plan was invalid") && second.contains("cycle"),
        "{second}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_provider_outage_mid_run_fails_cleanly_and_keeps_the_trace() {
    let h = home();
    let spud = spud(&h).await;
    let failing = json!({"steps": [{"id": "read", "tool": "fs.read", "args": {"path": "/data/missing.json"}}]});
    // One answer, then the server is gone.
    let server = ScriptedModel::start(vec![(
        200,
        vec![],
        ScriptedModel::chat_answer(&failing, 10, 10),
    )]);
    let mut cfg = config(&server, None);
    cfg.max_attempts = 2;
    let p = spud::model::provider("openai:m", cfg).unwrap();
    let report = goal(spud, Arc::from(p), "g", 2, 100_000).await.unwrap();
    assert_eq!(report.status, RunStatus::Failed);
    assert!(
        report
            .error
            .as_deref()
            .unwrap_or("")
            .contains("kept failing"),
        "{:?}",
        report.error
    );
    assert_eq!(report.runs.len(), 1);
    assert!(report.runs[0].dir.join("trace.jsonl").exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_model_judge_can_reject_what_the_checks_accept() {
    use spud::agent::{run_with, RunOptions};
    use spud::plan::{Plan, TraceEvent};
    let h = home();
    let spud = spud(&h).await;
    let server = ScriptedModel::start(vec![
        (
            200,
            vec![],
            ScriptedModel::chat_answer(
                &json!({"score": 0.2, "feedback": "those are not potatoes"}),
                50,
                8,
            ),
        ),
        (
            200,
            vec![],
            ScriptedModel::chat_call("verdict", &json!({"score": 0.9, "feedback": "good"}), 50, 8),
        ),
    ]);
    let judge = provider(&server, None);
    let plan = Plan::parse(
        r#"
goal = "name the potatoes"
[critic]
judge = true
[[steps]]
id = "pick"
tool = "json.query"
args = { document = { items = [{ n = "shallot", k = "onion" }, { n = "russet", k = "potato" }] }, path = "$.items[0].n" }
expect = { path = "$.matches[*]", outcome = "the names of the potatoes" }
[[steps.alternatives]]
args = { document = { items = [{ n = "shallot", k = "onion" }, { n = "russet", k = "potato" }] }, path = "$.items[?@.k == 'potato'].n" }
"#,
        "judge.toml",
    )
    .unwrap();
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let s = seen.clone();
    let options = RunOptions {
        judge: Some(judge),
        ..RunOptions::default()
    };
    let report = run_with(spud, plan, options, move |l| {
        s.lock().unwrap().push(l.clone())
    })
    .await
    .unwrap();
    assert_eq!(report.status, RunStatus::Done);
    assert_eq!(report.backtracks, 1);
    assert_eq!(report.results["pick"]["matches"][0]["value"], "russet");
    let critiques: Vec<(f64, String)> = seen
        .lock()
        .unwrap()
        .iter()
        .filter_map(|l| match &l.event {
            TraceEvent::Critiqued { critique, .. } => {
                Some((critique.score, critique.feedback.clone()))
            }
            _ => None,
        })
        .collect();
    assert_eq!(critiques[0].0, 0.2);
    assert!(critiques[0].1.contains("those are not potatoes"));
    assert_eq!(critiques[1].0, 0.9);
    let requests = server.requests.lock().unwrap().clone();
    assert_eq!(requests.len(), 2);
    assert_eq!(
        requests[0].body["tool_choice"]["function"]["name"],
        "verdict"
    );
    let user = requests[0].body["messages"][1]["content"].as_str().unwrap();
    assert!(
        user.contains("the names of the potatoes") && user.contains("shallot"),
        "{user}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tool_calls_of_one_model_plan_run_concurrently() {
    // The model plans three independent fetches of a barrier that opens only when all three
    // are waiting at once.
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
    let steps: Vec<_> = (0..3)
        .map(|i| json!({"id": format!("f{i}"), "tool": "http.fetch", "args": {"url": format!("{}/barrier/3", web.url())}, "expect": {"contains": "released"}}))
        .collect();
    let server = ScriptedModel::start(vec![(
        200,
        vec![],
        ScriptedModel::chat_answer(&json!({"steps": steps}), 10, 10),
    )]);
    let p = provider(&server, None);
    let report = goal(Arc::new(spud), p, "fetch three things", 0, 100_000)
        .await
        .unwrap();
    assert_eq!(
        report.status,
        RunStatus::Done,
        "{:?}",
        report.runs[0].failed
    );
    assert_eq!(report.runs[0].steps, 3);
}

/// One 429 with `retry_after`, then an answer: how long the provider took, and whether it got
/// the answer.
async fn time_one_retry(retry_after: String) -> std::time::Duration {
    let header: &'static str = Box::leak(retry_after.into_boxed_str());
    let server = ScriptedModel::start(vec![
        (
            429,
            vec![("Retry-After", header)],
            r#"{"error": {"message": "slow down"}}"#.into(),
        ),
        (
            200,
            vec![],
            ScriptedModel::chat_call("answer", &json!({"ok": true}), 1, 1),
        ),
    ]);
    let p = chat(&server, None);
    let started = std::time::Instant::now();
    let (value, _) = p
        .complete_json("system", "user", "answer", &json!({"type": "object"}))
        .await
        .unwrap();
    let took = started.elapsed();
    assert_eq!(value, json!({"ok": true}));
    assert_eq!(server.requests.lock().unwrap().len(), 2, "retried once");
    took
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retry_after_is_waited_for_in_seconds_and_as_an_http_date() {
    // Delta-seconds: at least the second asked for (without it the backoff is 250 ms).
    let took = time_one_retry("1".into()).await;
    assert!(took >= std::time::Duration::from_secs(1), "{took:?}");
    // An HTTP-date 3 s ahead (whole seconds, so at least 2 s away when it is read).
    let at = std::time::SystemTime::now() + std::time::Duration::from_secs(3);
    let took = time_one_retry(httpdate::fmt_http_date(at)).await;
    assert!(took >= std::time::Duration::from_millis(1500), "{took:?}");
    // A date in the past is no wait beyond the request itself.
    let past = std::time::SystemTime::now() - std::time::Duration::from_secs(60);
    time_one_retry(httpdate::fmt_http_date(past)).await;
}
