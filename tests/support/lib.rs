//! Shared helpers for spud's integration tests: where the built guest components are, a real
//! HTTP server on 127.0.0.1, and a fresh spud home per test.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};

/// The workspace root.
pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}

/// cargo's target directory (`CARGO_TARGET_DIR`, else `<workspace>/target`).
pub fn target_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join("target"));
    if target.is_absolute() {
        target
    } else {
        workspace().join(target)
    }
}

/// Path of a built guest component (`fs`, `http`, `json`, `hostile`, `typed`).
/// Guests are built by `scripts/build-guests.sh` (which `scripts/test.sh` runs first).
pub fn guest(name: &str) -> PathBuf {
    let target = target_dir();
    let p = target.join("guests").join(format!("{name}.wasm"));
    assert!(
        p.exists(),
        "{} is missing: run scripts/build-guests.sh (scripts/test.sh does) first",
        p.display()
    );
    p
}

/// Sidecar manifest of a test component.
pub fn sidecar(name: &str) -> PathBuf {
    workspace()
        .join("tests/components")
        .join(name)
        .join(format!("{name}.spud.toml"))
}

/// A request the test server saw.
#[derive(Debug, Clone)]
pub struct SeenRequest {
    /// Request line, e.g. `GET /x HTTP/1.1`.
    pub line: String,
    /// Host header.
    pub host: String,
    /// Request headers and body, as text.
    pub text: String,
}

/// A tiny HTTP/1.1 server on 127.0.0.1 for tests. `GET /redirect?to=URL` answers 302 to URL;
/// `GET /barrier/N` answers only once N such requests are waiting at the same time (504 after
/// 10 s), which proves calls overlap without measuring time; `POST /echo` answers with the
/// request's body; everything else answers 200 with body `hello from test server`.
pub struct TestServer {
    /// Where it listens.
    pub addr: SocketAddr,
    /// Requests seen so far.
    pub seen: Arc<Mutex<Vec<SeenRequest>>>,
    hits: Arc<AtomicUsize>,
}

impl TestServer {
    /// Starts the server on an ephemeral port.
    pub fn start() -> TestServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
        let addr = listener.local_addr().expect("local addr");
        let seen = Arc::new(Mutex::new(Vec::new()));
        let hits = Arc::new(AtomicUsize::new(0));
        let (s, h) = (seen.clone(), hits.clone());
        let barrier: Arc<(Mutex<usize>, Condvar)> = Arc::default();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (s, h, b) = (s.clone(), h.clone(), barrier.clone());
                std::thread::spawn(move || serve(stream, &s, &h, &b));
            }
        });
        TestServer { addr, seen, hits }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Number of requests answered.
    pub fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }
}

fn serve(
    stream: TcpStream,
    seen: &Mutex<Vec<SeenRequest>>,
    hits: &AtomicUsize,
    barrier: &(Mutex<usize>, Condvar),
) {
    let mut reader = BufReader::new(match stream.try_clone() {
        Ok(s) => s,
        Err(_) => return,
    });
    let mut stream = stream;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let mut host = String::new();
        let mut length = 0usize;
        let mut text = String::new();
        loop {
            let mut h = String::new();
            if reader.read_line(&mut h).unwrap_or(0) == 0 {
                return;
            }
            let h = h.trim_end().to_string();
            if h.is_empty() {
                break;
            }
            text.push_str(&h);
            text.push('\n');
            if let Some((k, v)) = h.split_once(':') {
                match k.to_ascii_lowercase().as_str() {
                    "host" => host = v.trim().to_string(),
                    "content-length" => length = v.trim().parse().unwrap_or(0),
                    _ => {}
                }
            }
        }
        let mut body = vec![0; length];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        let line = line.trim_end().to_string();
        let path = line.split(' ').nth(1).unwrap_or("/").to_string();
        text.push_str(&String::from_utf8_lossy(&body));
        seen.lock()
            .expect("lock")
            .push(SeenRequest { line, host, text });
        hits.fetch_add(1, Ordering::SeqCst);
        if let Some(n) = path
            .strip_prefix("/barrier/")
            .and_then(|n| n.parse::<usize>().ok())
        {
            let (count, cv) = barrier;
            let mut arrived = count.lock().expect("lock");
            *arrived += 1;
            cv.notify_all();
            let (arrived, timeout) = cv
                .wait_timeout_while(arrived, std::time::Duration::from_secs(10), |a| *a < n)
                .expect("lock");
            drop(arrived);
            let (status, body) = if timeout.timed_out() {
                ("504 Gateway Timeout", "barrier timed out")
            } else {
                ("200 OK", "released")
            };
            let response = format!(
                "HTTP/1.1 {status}\r\nContent-Length: {}\r\n\r\n{body}",
                body.len()
            );
            if stream.write_all(response.as_bytes()).is_err() {
                return;
            }
            continue;
        }
        let response = match path.split_once("/redirect?to=") {
            Some((_, to)) => {
                format!("HTTP/1.1 302 Found\r\nLocation: {to}\r\nContent-Length: 0\r\n\r\n")
            }
            None if path == "/echo" => format!(
                "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n\r\n{}",
                body.len(),
                String::from_utf8_lossy(&body)
            ),
            None => {
                let body = "hello from test server";
                format!("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n\r\n{body}", body.len())
            }
        };
        if stream.write_all(response.as_bytes()).is_err() {
            return;
        }
    }
}

/// A fresh home folder for one test.
pub fn home() -> tempfile::TempDir {
    tempfile::tempdir().expect("tempdir")
}

/// Writes `policy` (TOML) into `dir/policy.toml` and returns its path.
pub fn write_policy(dir: &Path, policy: &str) -> PathBuf {
    let p = dir.join("policy.toml");
    std::fs::write(&p, policy).expect("write policy");
    p
}

pub mod code_plugin;
pub mod connectors;
pub mod crash;
pub mod db;
pub mod files;
pub mod fuzz;
pub mod http_mcp;
pub mod imap;
pub mod llm;
pub mod mail;
pub mod nats;
pub mod sse;
pub mod stdio_mcp;
pub mod subagents;
pub mod tool_turns;

/// The `spud` binary of this workspace's debug build (built by `scripts/test.sh`).
pub fn spud_bin() -> PathBuf {
    let bin = target_dir().join("debug/spud");
    assert!(
        bin.exists(),
        "{} is missing: run `cargo test` from the workspace root (scripts/test.sh does), which builds it",
        bin.display()
    );
    bin
}

/// The runtime benchmarks drive spud on: two workers, as on the reference machine.
pub fn bench_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

/// The median of `v` (the upper one of an even count).
pub fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

/// Wall times of `runs` calls of `f`, in ms.
pub fn timed_ms(runs: usize, mut f: impl FnMut()) -> Vec<f64> {
    (0..runs)
        .map(|_| {
            let t = std::time::Instant::now();
            f();
            t.elapsed().as_secs_f64() * 1e3
        })
        .collect()
}

/// Helpers for the benchmarks.
pub mod bench_support {
    use spud::policy::Grant;
    use spud::sandbox::{CallEnv, HostState};
    use std::path::Path;
    use std::time::{Duration, Instant};
    use wasmtime::component::{Component, Val};
    use wasmtime::{Engine, Store};

    /// Median time of `hostile.spin(iterations)` on spud's engine configuration with fuel
    /// metering on and off: (with, without).
    pub fn fuel_ratio(wasm: &Path, iterations: u64, runs: usize) -> (Duration, Duration) {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let measure = |fuel: bool| -> Duration {
            let engine = Engine::new(&spud::runtime::config(fuel)).expect("engine");
            let component = Component::from_file(&engine, wasm).expect("compile");
            let linker = spud::sandbox::linker::build(&engine).expect("linker");
            let pre = linker.instantiate_pre(&component).expect("pre");
            let mut times = Vec::new();
            for _ in 0..runs + 2 {
                let env = CallEnv {
                    plugin: "bench",
                    resolver: spud::sandbox::system_resolver(),
                    guard: Default::default(),
                    credentials: Default::default(),
                    meter: None,
                    browser: None,
                };
                let state = HostState::new(&Grant::none(), &env).expect("state");
                let mut store = Store::new(&engine, state);
                if fuel {
                    store.set_fuel(u64::MAX).expect("fuel");
                }
                store.set_epoch_deadline(u64::MAX);
                let elapsed = rt.block_on(async {
                    let instance = pre
                        .instantiate_async(&mut store)
                        .await
                        .expect("instantiate");
                    let func = instance.get_func(&mut store, "spin").expect("spin export");
                    let mut out = [Val::U64(0)];
                    let t = Instant::now();
                    func.call_async(&mut store, &[Val::U64(iterations)], &mut out)
                        .await
                        .expect("call");
                    t.elapsed()
                });
                times.push(elapsed);
            }
            times.drain(..2);
            times.sort();
            times[times.len() / 2]
        };
        (measure(true), measure(false))
    }
}

/// A request the scripted model server received.
#[derive(Debug, Clone)]
pub struct ModelRequest {
    /// Request line, e.g. `POST /v1/chat/completions HTTP/1.1`.
    pub line: String,
    /// Headers, names lower-cased.
    pub headers: Vec<(String, String)>,
    /// Body as JSON.
    pub body: serde_json::Value,
}

/// A fake model API on 127.0.0.1 that answers each request with the next scripted response
/// (status, extra headers, body) and records every request.
pub struct ScriptedModel {
    /// Where it listens.
    pub addr: SocketAddr,
    /// Requests received.
    pub requests: Arc<Mutex<Vec<ModelRequest>>>,
}

/// One scripted reply: HTTP status, headers, body.
pub type ScriptedReply = (u16, Vec<(&'static str, &'static str)>, String);

impl ScriptedModel {
    /// Starts the server with its script.
    pub fn start(script: Vec<ScriptedReply>) -> ScriptedModel {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
        let addr = listener.local_addr().expect("addr");
        let requests = Arc::new(Mutex::new(Vec::new()));
        let seen = requests.clone();
        std::thread::spawn(move || {
            let mut script = script.into_iter();
            for stream in listener.incoming().flatten() {
                let Some((status, headers, body)) = script.next() else {
                    return;
                };
                let mut reader = BufReader::new(match stream.try_clone() {
                    Ok(s) => s,
                    Err(_) => return,
                });
                let mut line = String::new();
                let _ = reader.read_line(&mut line);
                let mut hs = Vec::new();
                let mut length = 0;
                loop {
                    let mut h = String::new();
                    if reader.read_line(&mut h).unwrap_or(0) == 0 || h.trim().is_empty() {
                        break;
                    }
                    if let Some((k, v)) = h.trim_end().split_once(':') {
                        let k = k.to_ascii_lowercase();
                        if k == "content-length" {
                            length = v.trim().parse().unwrap_or(0);
                        }
                        hs.push((k, v.trim().to_string()));
                    }
                }
                let mut buf = vec![0; length];
                let _ = reader.read_exact(&mut buf);
                seen.lock().expect("lock").push(ModelRequest {
                    line: line.trim_end().to_string(),
                    headers: hs,
                    body: serde_json::from_slice(&buf).unwrap_or(serde_json::Value::Null),
                });
                let extra: String = headers
                    .iter()
                    .map(|(k, v)| format!("{k}: {v}\r\n"))
                    .collect();
                // Server-sent events go out event by event, as a streaming server sends them.
                let events = body.starts_with("data:") || body.starts_with("event:");
                let kind = if events {
                    "text/event-stream"
                } else {
                    "application/json"
                };
                let head = format!(
                    "HTTP/1.1 {status} X\r\nContent-Type: {kind}\r\nContent-Length: {}\r\nConnection: close\r\n{extra}\r\n",
                    body.len()
                );
                let mut stream = stream;
                let _ = stream.write_all(head.as_bytes());
                for part in body.split_inclusive("\n\n") {
                    let _ = stream.write_all(part.as_bytes());
                    let _ = stream.flush();
                    if events {
                        std::thread::sleep(std::time::Duration::from_millis(5));
                    }
                }
            }
        });
        ScriptedModel { addr, requests }
    }

    /// `http://127.0.0.1:PORT/v1`.
    pub fn base_url(&self) -> String {
        format!("http://{}/v1", self.addr)
    }

    /// An OpenAI Chat provider (model `planner-1`, one attempt, no key, unstreamed) talking
    /// to this server.
    pub fn provider(&self) -> Arc<dyn spud::model::Provider> {
        Arc::new(
            spud::model::OpenAiChat::new(self.config(spud::model::StreamMode::Off))
                .expect("provider"),
        )
    }

    /// The connection of a provider of this server: model `planner-1`, one attempt, no key,
    /// `stream` as given.
    pub fn config(&self, stream: spud::model::StreamMode) -> spud::model::ModelConfig {
        spud::model::ModelConfig {
            model: "planner-1".into(),
            base_url: self.base_url(),
            api_key_env: None,
            timeout_ms: 10_000,
            max_attempts: 1,
            stream,
        }
    }

    /// A Chat Completions answer that calls the function `name` with `arguments`, as a model
    /// does when it is offered one function and told to call it.
    pub fn chat_call(
        name: &str,
        arguments: &serde_json::Value,
        prompt_tokens: u64,
        completion_tokens: u64,
    ) -> String {
        serde_json::json!({
            "id": "chatcmpl-test",
            "object": "chat.completion",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": null, "tool_calls": [
                {"id": "call_1", "type": "function", "function": {"name": name, "arguments": arguments.to_string()}}
            ]}, "finish_reason": "tool_calls"}],
            "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens}
        })
        .to_string()
    }

    /// A Chat Completions answer whose message content is `content` (serialized as a string), as
    /// sent by servers that ignore `tool_choice` and answer in text.
    pub fn chat_answer(
        content: &serde_json::Value,
        prompt_tokens: u64,
        completion_tokens: u64,
    ) -> String {
        serde_json::json!({
            "id": "chatcmpl-test",
            "object": "chat.completion",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": content.to_string()}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens}
        })
        .to_string()
    }
}

/// spud opened on a test home with the example policy and the first-party `plugins` installed.
pub async fn example_spud(h: &tempfile::TempDir, plugins: &[&str]) -> Arc<spud::Spud> {
    let policy = workspace().join("examples/policy.toml");
    let spud = spud::Spud::open(spud::SpudOptions {
        home: Some(h.path().to_path_buf()),
        policy: Some(policy),
        principal: None,
    })
    .expect("spud opens on a fresh home");
    for p in plugins {
        spud.add(&guest(p), None, None)
            .await
            .expect("first-party plugin installs");
    }
    Arc::new(spud)
}

/// A model with no latency, in process: `plan` when asked for a plan, "keep the plan" when
/// asked to revise (for benchmarks of the host's own overhead).
pub struct ZeroLatency(pub serde_json::Value);

#[async_trait::async_trait]
impl spud::model::Provider for ZeroLatency {
    async fn complete_json(
        &self,
        _system: &str,
        user: &str,
        schema_name: &str,
        _schema: &serde_json::Value,
    ) -> Result<(serde_json::Value, spud::model::Usage), spud::model::ModelError> {
        let usage = spud::model::Usage {
            input_tokens: user.len() as u64 / 4,
            output_tokens: 10,
        };
        match schema_name {
            "plan" => Ok((self.0.clone(), usage)),
            _ => Ok((serde_json::json!({"revise": false}), usage)),
        }
    }
}
