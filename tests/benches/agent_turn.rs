//! Host overhead per tool-calling turn, beside plan mode's per step: a zero-latency
//! in-process model that calls `hostile.echo` once a turn for 200 turns and then answers
//! (request building, call parsing and resolving, the step executor with its sandbox call,
//! critic, trace and ledger), 7 runs; the same 200 calls as a plan of dependent steps. Then,
//! when `scripts/setup-llm.sh` installed it, the real local model (SmolLM2-135M-Instruct on
//! llama.cpp's server): seconds per turn, and the share of tool calls that were malformed
//! (rejected, or refused by the tool's input schema) and later corrected; and streamed turns
//! without tools: time to the first piece of text beside the whole answer.
//! `cargo bench -p spud-tests --bench agent_turn` after `scripts/build-guests.sh`.

use spud::agent::{run_goal, run_plan, GoalOptions};
use spud::model::{
    ChatMessage, ChatRequest, ChatTurn, ModelError, Provider, QuietWatch, StreamMode, ToolCall,
    TurnWatch, Usage,
};
use spud::plan::{Budget, LoopMode, Plan, ReviseWhen, RunStatus, TraceEvent};
use spud::{Spud, SpudOptions};
use spud_tests::{guest, home, sidecar};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;

/// Calls `hostile.echo` once a turn for `turns` turns, then answers; no latency.
struct Caller {
    turns: usize,
    asked: AtomicUsize,
}

#[async_trait::async_trait]
impl Provider for Caller {
    async fn complete_json(
        &self,
        _: &str,
        _: &str,
        _: &str,
        _: &serde_json::Value,
    ) -> Result<(serde_json::Value, Usage), ModelError> {
        Err(ModelError::Unsupported("plans".into()))
    }

    async fn chat(
        &self,
        request: &ChatRequest,
        _watch: &dyn TurnWatch,
    ) -> Result<ChatTurn, ModelError> {
        let n = self.asked.fetch_add(1, Ordering::SeqCst);
        let usage = Usage {
            input_tokens: request.messages.len() as u64,
            output_tokens: 1,
        };
        let calls = if n < self.turns {
            vec![ToolCall {
                id: format!("c{n}"),
                name: "hostile__echo".into(),
                arguments: r#"{"s": "x"}"#.into(),
            }]
        } else {
            Vec::new()
        };
        Ok(ChatTurn {
            text: if calls.is_empty() {
                "done".into()
            } else {
                String::new()
            },
            calls,
            usage,
        })
    }
}

fn main() {
    let rt = spud_tests::bench_runtime();
    let dir = home();
    let spud = Arc::new(
        Spud::open(SpudOptions {
            home: Some(dir.path().to_path_buf()),
            policy: None,
            principal: Some("bench".into()),
        })
        .expect("open"),
    );
    rt.block_on(spud.add(&guest("hostile"), None, Some(&sidecar("hostile"))))
        .expect("add");
    let n = 200;
    let mut per_turn = Vec::new();
    for round in 0..8 {
        let model = Arc::new(Caller {
            turns: n,
            asked: AtomicUsize::new(0),
        });
        let options = GoalOptions {
            budget: Budget {
                max_steps: 1000,
                ..Budget::default()
            },
            max_tokens: u64::MAX,
            revise: ReviseWhen::Never,
            loop_mode: LoopMode::Tools,
            ..GoalOptions::default()
        };
        let t = Instant::now();
        let report = rt
            .block_on(run_goal(spud.clone(), model, "bench", options, |_| {}))
            .expect("run");
        let elapsed = t.elapsed();
        assert_eq!(report.status, RunStatus::Done);
        assert_eq!(report.runs[0].steps, n as u64);
        if round > 0 {
            per_turn.push(elapsed.as_secs_f64() * 1e6 / n as f64);
        }
    }
    summary(
        "tool calling, zero-latency model, one call a turn",
        n,
        per_turn,
    );

    let mut text = String::from("goal = \"bench\"\n[budget]\nmax_steps = 1000\n");
    for i in 0..n {
        let after = if i == 0 {
            String::new()
        } else {
            format!("after = [\"s{}\"]\n", i - 1)
        };
        text.push_str(&format!(
            "[[steps]]\nid = \"s{i}\"\n{after}tool = \"hostile.echo\"\nargs = {{ s = \"x\" }}\n"
        ));
    }
    let plan = Plan::parse(&text, "bench.toml").expect("plan");
    let mut per_step = Vec::new();
    for round in 0..8 {
        let t = Instant::now();
        let report = rt
            .block_on(run_plan(spud.clone(), plan.clone(), |_| {}))
            .expect("run");
        assert_eq!(report.steps, n as u64);
        if round > 0 {
            per_step.push(t.elapsed().as_secs_f64() * 1e6 / n as f64);
        }
    }
    summary("plan mode, no model, one dependent step each", n, per_step);
    rt.block_on(real_model());
}

fn summary(what: &str, n: usize, mut v: Vec<f64>) {
    v.sort_by(|a, b| a.total_cmp(b));
    println!(
        "host overhead per turn/step, {what} ({n}, 7 runs): median {:.0} µs (min {:.0}, max {:.0})",
        v[v.len() / 2],
        v[0],
        v[v.len() - 1]
    );
}

/// Seconds per turn and malformed-and-corrected calls with the real local model, if installed.
async fn real_model() {
    let server = match spud_tests::llm::LocalModel::start(8192) {
        Ok(s) => s,
        Err(why) => return println!("real local model: not measured ({why})"),
    };
    let h = home();
    let spud = spud_tests::example_spud(&h, &["fs"]).await;
    let (mut turns, mut seconds, mut calls, mut malformed, mut corrected) =
        (0u64, 0.0, 0u64, 0u64, 0u64);
    for goal in [
        "List the files in /data.",
        "Read the file /data/notes.txt and tell me the to-dos.",
        "Search /data for the word TODO.",
    ] {
        let options = GoalOptions {
            budget: Budget {
                max_steps: 4,
                ..Budget::default()
            },
            max_tokens: 40_000,
            loop_mode: LoopMode::Tools,
            answer_tokens: Some(96),
            revise: ReviseWhen::Never,
            ..GoalOptions::default()
        };
        let t = Instant::now();
        let Ok(r) = run_goal(
            spud.clone(),
            server.provider(300_000),
            goal,
            options,
            |_| {},
        )
        .await
        else {
            continue;
        };
        seconds += t.elapsed().as_secs_f64();
        let lines = spud::plan::read_trace(&r.runs[0].dir.join("trace.jsonl")).unwrap_or_default();
        let mut bad_before = false;
        for l in lines {
            match l.event {
                TraceEvent::ModelTurn { .. } => turns += 1,
                TraceEvent::CallRejected { .. } => {
                    calls += 1;
                    malformed += 1;
                    bad_before = true;
                }
                TraceEvent::StepFinished { outcome, .. } => {
                    calls += 1;
                    if outcome == "invalid_input" {
                        malformed += 1;
                        bad_before = true;
                    } else if outcome == "ok" && bad_before {
                        corrected += 1;
                        bad_before = false;
                    }
                }
                _ => {}
            }
        }
    }
    println!(
        "real local model (SmolLM2-135M-Instruct, llama.cpp server, 3 goals): {turns} turns, {:.2} s per turn; {calls} tool calls, {malformed} malformed, {corrected} of them corrected later",
        seconds / turns.max(1) as f64
    );
    streamed_turns(&server).await;
}

/// A watch that notes when the first piece of text arrived, and how many came.
struct FirstPiece {
    start: Instant,
    first: std::sync::Mutex<Option<f64>>,
    pieces: AtomicUsize,
    off: QuietWatch,
}

impl TurnWatch for FirstPiece {
    fn text(&self, _piece: &str) {
        self.pieces.fetch_add(1, Ordering::SeqCst);
        let mut first = self.first.lock().unwrap();
        first.get_or_insert(self.start.elapsed().as_secs_f64());
    }
    fn streaming_off(&self, model: &str) -> bool {
        self.off.streaming_off(model)
    }
    fn turn_off(&self, model: &str, reason: &str) {
        self.off.turn_off(model, reason)
    }
}

/// Streamed turns without tools (what live progress shows): time to the first piece of text
/// beside the whole answer, 5 turns of at most 48 tokens.
async fn streamed_turns(server: &spud_tests::llm::LocalModel) {
    let model = server.chat(300_000, StreamMode::On);
    let request = ChatRequest {
        system: "You are a helpful assistant.".into(),
        messages: vec![ChatMessage::User("Count from 1 to 20.".into())],
        tools: Vec::new(),
        max_tokens: Some(48),
    };
    let (mut first, mut whole, mut pieces) = (Vec::new(), Vec::new(), 0);
    for _ in 0..5 {
        let watch = FirstPiece {
            start: Instant::now(),
            first: std::sync::Mutex::new(None),
            pieces: AtomicUsize::new(0),
            off: QuietWatch::default(),
        };
        if model.chat(&request, &watch).await.is_err() {
            continue;
        }
        whole.push(watch.start.elapsed().as_secs_f64());
        if let Some(f) = *watch.first.lock().unwrap() {
            first.push(f);
        }
        pieces += watch.pieces.load(Ordering::SeqCst);
    }
    if first.is_empty() {
        return println!("streamed turns: no text streamed");
    }
    let n = whole.len();
    println!(
        "streamed turns without tools ({n}, at most 48 tokens): first piece after median {:.2} s, whole answer median {:.2} s, {:.1} pieces a turn",
        spud_tests::median(first),
        spud_tests::median(whole),
        pieces as f64 / n as f64
    );
}
