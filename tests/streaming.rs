//! Streamed model answers (server-sent events) against scripted servers on 127.0.0.1 that send
//! event by event and record what spud asks: a streamed turn — text in pieces, tool calls whose
//! arguments are split across deltas — is the same turn unstreamed on both wire formats, with
//! the usage the stream reports; `auto` asks again without streaming when a server cannot
//! stream with tools, once per run, and sends requests with tools unstreamed to an
//! OpenAI-compatible server; `stream = false` never asks for a stream and `true` reports
//! a server that cannot; and `spud run` shows the text as it arrives without ever showing a
//! registered secret, not even one split across two pieces.

use spud::agent::{run_goal, GoalOptions, GoalReport, Live, LiveText};
use spud::model::{
    Anthropic, ChatMessage, ChatRequest, OpenAiChat, Provider, QuietWatch, StreamMode, ToolSpec,
    TurnWatch, Usage,
};
use spud::plan::{LoopMode, ReviseWhen, RunStatus, TraceEvent};
use spud::Spud;
use spud_tests::sse::{
    anthropic_stream, anthropic_whole, empty_stream, openai_stream, openai_whole, Call,
};
use spud_tests::tool_turns::{trace, turn};
use spud_tests::{home, spud_bin, ScriptedModel};
use std::sync::{Arc, Mutex};

/// A watch that keeps the pieces of text it is shown.
#[derive(Default)]
struct Pieces {
    seen: Mutex<Vec<String>>,
    off: QuietWatch,
}

impl TurnWatch for Pieces {
    fn text(&self, piece: &str) {
        self.seen.lock().unwrap().push(piece.to_string());
    }
    fn streaming_off(&self, model: &str) -> bool {
        self.off.streaming_off(model)
    }
    fn turn_off(&self, model: &str, reason: &str) {
        self.off.turn_off(model, reason)
    }
}

fn provider(kind: &str, server: &ScriptedModel, stream: StreamMode) -> Arc<dyn Provider> {
    let config = server.config(stream);
    match kind {
        "openai" => Arc::new(OpenAiChat::new(config).unwrap()),
        _ => Arc::new(Anthropic::new(config).unwrap()),
    }
}

fn request() -> ChatRequest {
    ChatRequest {
        system: "You call tools.".into(),
        messages: vec![ChatMessage::User("look at the data".into())],
        tools: vec![ToolSpec {
            name: "fs__list".into(),
            description: "List a folder.".into(),
            parameters: serde_json::json!({"type": "object"}),
        }],
        max_tokens: Some(64),
    }
}

fn options(live: Option<LiveText>) -> GoalOptions {
    GoalOptions {
        max_replans: 0,
        revise: ReviseWhen::Never,
        max_retries: 0,
        loop_mode: LoopMode::Tools,
        live,
        ..GoalOptions::default()
    }
}

fn streaming_off(report: &GoalReport) -> Vec<(String, String)> {
    trace(report)
        .into_iter()
        .filter_map(|e| match e {
            TraceEvent::StreamingOff { model, reason } => Some((model, reason)),
            _ => None,
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_streamed_turn_is_the_unstreamed_one_on_both_wire_formats() {
    let text = ["Let me ", "look at ", "the data."];
    let calls: [Call; 2] = [
        ("call_a", "fs__list", &["{\"pa", "th\": \"/da", "ta\"}"]),
        (
            "call_b",
            "fs__read",
            &["{\"path\": ", "\"/data/notes.txt\"}"],
        ),
    ];
    for kind in ["openai", "anthropic"] {
        let (streamed, whole) = if kind == "openai" {
            (
                openai_stream(&text, &calls, (40, 9)),
                openai_whole(&text, &calls, (40, 9)),
            )
        } else {
            (
                anthropic_stream(&text, &calls, (40, 9)),
                anthropic_whole(&text, &calls, (40, 9)),
            )
        };
        let server = ScriptedModel::start(vec![streamed, whole]);
        let watch = Pieces::default();
        let a = provider(kind, &server, StreamMode::On)
            .chat(&request(), &watch)
            .await
            .unwrap();
        let b = provider(kind, &server, StreamMode::Off)
            .chat(&request(), &QuietWatch::default())
            .await
            .unwrap();
        assert_eq!(a, b, "{kind}");
        assert_eq!(a.text, "Let me look at the data.");
        assert_eq!(a.calls.len(), 2);
        assert_eq!(
            a.calls[0].arguments.replace(' ', ""),
            "{\"path\":\"/data\"}"
        );
        // Tokens as the stream counted them.
        assert_eq!(
            a.usage,
            Usage {
                input_tokens: 40,
                output_tokens: 9
            }
        );
        // The text was shown piece by piece, as it arrived.
        assert_eq!(*watch.seen.lock().unwrap(), text);
        let requests = server.requests.lock().unwrap().clone();
        assert_eq!(requests[0].body["stream"], true, "{kind}");
        assert!(requests[1].body.get("stream").is_none(), "{kind}");
        if kind == "openai" {
            assert_eq!(requests[0].body["stream_options"]["include_usage"], true);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_loop_runs_a_streamed_tool_call_and_shows_the_text_live() {
    let h = home();
    let spud = spud_tests::example_spud(&h, &["fs"]).await;
    let server = ScriptedModel::start(vec![
        openai_stream(
            &["Listing ", "the folder."],
            &[("c1", "fs__list", &["{\"path\"", ": \"/data\"}"])],
            (70, 12),
        ),
        openai_stream(&["There are ", "notes."], &[], (90, 5)),
    ]);
    let shown = Arc::new(Mutex::new(Vec::new()));
    let into = shown.clone();
    let live = LiveText::new(move |l| {
        into.lock().unwrap().push(match l {
            Live::Text(t) => t.to_string(),
            Live::End => "<end>".into(),
        })
    });
    // `true`: under `auto` a request with tools goes to an OpenAI-compatible server unstreamed.
    let provider = provider("openai", &server, StreamMode::On);
    let report = run_goal(spud, provider, "list the data", options(Some(live)), |_| {})
        .await
        .unwrap();
    let r = &report.runs[0];
    assert_eq!(r.status, RunStatus::Done, "{:?}", r.failed);
    assert!(r.results["t1-1"].to_string().contains("notes.txt"));
    assert_eq!(r.results["answer"], "There are notes.");
    assert_eq!(
        (report.usage.input_tokens, report.usage.output_tokens),
        (160, 17)
    );
    assert!(streaming_off(&report).is_empty());
    let turns: Vec<(u64, u64)> = trace(&report)
        .into_iter()
        .filter_map(|e| match e {
            TraceEvent::ModelTurn {
                input_tokens,
                output_tokens,
                ..
            } => Some((input_tokens, output_tokens)),
            _ => None,
        })
        .collect();
    assert_eq!(turns, vec![(70, 12), (90, 5)]);
    // Each turn's text on the live line, then its end.
    let shown = shown.lock().unwrap().concat();
    assert_eq!(shown, "Listing the folder.<end>There are notes.<end>");
}

/// `auto` against a server that cannot stream with tools — a 500, or an event stream without
/// events — asks the same request again unstreamed, traces `streaming_off` once, and does not
/// stream to that model again in the run.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auto_turns_streaming_off_once_when_the_server_cannot_stream_tool_calls() {
    let refused = (
        500,
        vec![],
        r#"{"error": {"message": "Automatic streaming tool choice is not supported"}}"#.into(),
    );
    for (refusal, why) in [(refused, "500"), (empty_stream(), "first event")] {
        let h = home();
        let spud = spud_tests::example_spud(&h, &["fs"]).await;
        let server = ScriptedModel::start(vec![
            refusal,
            anthropic_whole(
                &[],
                &[("c1", "fs__list", &[r#"{"path": "/data"}"#])],
                (50, 9),
            ),
            anthropic_whole(&["The files are listed."], &[], (60, 5)),
        ]);
        let provider = provider("anthropic", &server, StreamMode::Auto);
        let report = run_goal(spud, provider, "list the data", options(None), |_| {})
            .await
            .unwrap();
        let r = &report.runs[0];
        assert_eq!(r.status, RunStatus::Done, "{why}: {:?}", r.failed);
        assert_eq!(r.steps, 1);
        let off = streaming_off(&report);
        assert_eq!(off.len(), 1, "{off:?}");
        assert_eq!(off[0].0, "planner-1");
        assert!(off[0].1.contains(why), "{off:?}");
        let requests = server.requests.lock().unwrap().clone();
        assert_eq!(requests.len(), 3);
        assert_eq!(requests[0].body["stream"], true);
        // The same request again, unstreamed; and no stream asked for afterwards.
        assert_eq!(requests[0].body["messages"], requests[1].body["messages"]);
        assert!(requests[1..].iter().all(|r| r.body.get("stream").is_none()));
    }
}

/// `auto` sends requests with tools unstreamed to an OpenAI-compatible server (llama.cpp's
/// Python server answers them with an empty stream, and asking twice made a tool-calling run
/// crawl), says so once, and `stream = true` streams them all the same.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auto_sends_tool_requests_unstreamed_to_an_openai_compatible_server() {
    let h = home();
    let spud = spud_tests::example_spud(&h, &["fs"]).await;
    let server = ScriptedModel::start(vec![
        turn(&[("fs__list", r#"{"path": "/data"}"#)], ""),
        turn(&[], "The files are listed."),
    ]);
    let provider = provider("openai", &server, StreamMode::Auto);
    let report = run_goal(spud, provider, "list the data", options(None), |_| {})
        .await
        .unwrap();
    let r = &report.runs[0];
    assert_eq!(r.status, RunStatus::Done, "{:?}", r.failed);
    let off = streaming_off(&report);
    assert_eq!(off.len(), 1, "{off:?}");
    assert!(off[0].1.contains("OpenAI-compatible"), "{off:?}");
    let requests = server.requests.lock().unwrap().clone();
    assert_eq!(requests.len(), 2, "each request asked once");
    assert!(!requests[0].body["tools"].as_array().unwrap().is_empty());
    assert!(requests.iter().all(|r| r.body.get("stream").is_none()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stream_false_never_asks_for_a_stream_and_true_reports_a_refusal() {
    let h = home();
    let spud: Arc<Spud> = spud_tests::example_spud(&h, &["fs"]).await;
    let server = ScriptedModel::start(vec![turn(&[], "done")]);
    let off = provider("openai", &server, StreamMode::Off);
    let report = run_goal(spud.clone(), off, "say done", options(None), |_| {})
        .await
        .unwrap();
    assert_eq!(report.status, RunStatus::Done);
    let body = server.requests.lock().unwrap()[0].body.clone();
    assert!(body.get("stream").is_none() && body.get("stream_options").is_none());
    assert!(!body.to_string().contains("\"stream\""), "{body}");

    let server = ScriptedModel::start(vec![(500, vec![], "no streams here".into())]);
    let on = provider("openai", &server, StreamMode::On);
    let report = run_goal(spud, on, "say done", options(None), |_| {})
        .await
        .unwrap();
    assert_eq!(report.status, RunStatus::Failed);
    let why = &report.runs[0].failed["answer"];
    assert!(why.contains("HTTP 500"), "{why}");
    assert_eq!(server.requests.lock().unwrap().len(), 1, "not asked again");
    assert!(streaming_off(&report).is_empty());
}

/// `spud run` shows the streamed text on stderr as it arrives; a registered secret split
/// across two pieces — a value, and a pattern's match — never shows there, whole or in part.
#[test]
fn spud_run_shows_the_text_live_and_never_a_secret_split_across_pieces() {
    let h = home();
    let policy = spud_tests::write_policy(
        h.path(),
        "[secrets]\nenv = [\"SPUD_TEST_LIVE_SECRET\"]\npatterns = [\"sk-[a-z0-9]{12,}\"]\n",
    );
    let server = ScriptedModel::start(vec![openai_stream(
        &[
            "Hello. The key is hunter2-str",
            "eamed-secret and the token sk-abc",
            "def123456789.\nDone",
            " now.",
        ],
        &[],
        (30, 8),
    )]);
    let o = std::process::Command::new(spud_bin())
        .arg("--home")
        .arg(h.path())
        .arg("--policy")
        .arg(&policy)
        // `true`: the request offers tools (`spawn_agent`), which `auto` sends unstreamed to
        // an OpenAI-compatible server.
        .args(["run", "tell me the key", "--loop", "tools", "--no-memory"])
        .args(["--stream", "true"])
        .args([
            "--model",
            "openai:planner-1",
            "--base-url",
            &server.base_url(),
        ])
        .env("SPUD_TEST_LIVE_SECRET", "hunter2-streamed-secret")
        .env_remove("SPUD_POLICY")
        .env_remove("SPUD_CONFIG")
        .output()
        .expect("run spud");
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(0), "{err}");
    for leaked in ["hunter2", "eamed-secret", "sk-abc", "def123456789"] {
        assert!(!err.contains(leaked), "`{leaked}` shown: {err}");
    }
    assert!(
        err.contains("✎ Hello. The key is [REDACTED] and the token [REDACTED].\n"),
        "{err}"
    );
    assert!(err.contains("Done now."), "{err}");
    assert_eq!(
        server.requests.lock().unwrap()[0].body["stream"],
        true,
        "streamed"
    );
}
