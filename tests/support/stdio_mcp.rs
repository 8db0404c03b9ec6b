//! A minimal MCP client over stdio for tests and benchmarks that measure `spud serve` from
//! outside: newline-delimited JSON-RPC on the child's stdin/stdout, several requests in flight at
//! once, each answer routed to its request by id and timed from the moment it was written.

use serde_json::{json, Value};
use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

type Waiters = Arc<Mutex<HashMap<u64, (Instant, Sender<Answer>)>>>;

/// One JSON-RPC answer and how long it took from the request being written.
#[derive(Debug, Clone)]
pub struct Answer {
    /// The whole response object.
    pub response: Value,
    /// Time from writing the request to reading the answer.
    pub latency: Duration,
}

impl Answer {
    /// The text of the first content block of a `tools/call` result.
    pub fn text(&self) -> &str {
        self.response["result"]["content"][0]["text"]
            .as_str()
            .unwrap_or_default()
    }

    /// Whether the call result is a tool error (`isError`).
    pub fn is_error(&self) -> bool {
        self.response["result"]["isError"] == Value::Bool(true)
            || self.response.get("error").is_some()
    }
}

/// `spud serve` over stdio, initialized, with a reader thread that hands out answers.
pub struct StdioMcp {
    child: Child,
    stdin: Mutex<Option<ChildStdin>>,
    waiters: Waiters,
    next: AtomicU64,
}

impl StdioMcp {
    /// Starts `bin --home home --policy policy serve` and performs the MCP handshake.
    pub fn start(bin: &Path, home: &Path, policy: &Path) -> StdioMcp {
        StdioMcp::start_with(bin, home, policy, &[])
    }

    /// Starts `bin --home home --policy policy serve EXTRA…` and performs the MCP handshake.
    pub fn start_with(bin: &Path, home: &Path, policy: &Path, extra: &[&str]) -> StdioMcp {
        let mut child = Command::new(bin)
            .arg("--home")
            .arg(home)
            .arg("--policy")
            .arg(policy)
            .arg("serve")
            .args(extra)
            .env("RUST_LOG", "warn")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start spud serve");
        let stdin = child.stdin.take().expect("stdin");
        let stdout = child.stdout.take().expect("stdout");
        let waiters: Waiters = Arc::default();
        let w = waiters.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                let Ok(v) = serde_json::from_str::<Value>(&line) else {
                    continue;
                };
                let Some(id) = v["id"].as_u64() else { continue };
                let waiter = w.lock().ok().and_then(|mut m| m.remove(&id));
                if let Some((t, tx)) = waiter {
                    let _ = tx.send(Answer {
                        response: v,
                        latency: t.elapsed(),
                    });
                }
            }
            // The server is gone: every waiter's sender drops, so its receiver sees it.
            if let Ok(mut m) = w.lock() {
                m.clear();
            }
        });
        let mcp = StdioMcp {
            child,
            stdin: Mutex::new(Some(stdin)),
            waiters,
            next: AtomicU64::new(1),
        };
        let init = json!({"protocolVersion": "2025-06-18", "capabilities": {},
                          "clientInfo": {"name": "spud-tests", "version": "1"}});
        mcp.request("initialize", init)
            .recv_timeout(Duration::from_secs(60))
            .expect("initialize answered");
        mcp.write(&json!({"jsonrpc": "2.0", "method": "notifications/initialized"}));
        mcp
    }

    fn write(&self, v: &Value) -> bool {
        let mut line = v.to_string();
        line.push('\n');
        match self.stdin.lock() {
            Ok(mut s) => match s.as_mut() {
                Some(s) => s
                    .write_all(line.as_bytes())
                    .and_then(|()| s.flush())
                    .is_ok(),
                None => false,
            },
            Err(_) => false,
        }
    }

    /// Sends a request; its answer arrives on the receiver (which disconnects if the server
    /// dies first).
    pub fn request(&self, method: &str, params: Value) -> Receiver<Answer> {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = channel();
        if let Ok(mut m) = self.waiters.lock() {
            m.insert(id, (Instant::now(), tx));
        }
        let req = json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params});
        if !self.write(&req) {
            if let Ok(mut m) = self.waiters.lock() {
                m.remove(&id);
            }
        }
        rx
    }

    /// Sends a `tools/call` of `tool` with `arguments`.
    pub fn call(&self, tool: &str, arguments: Value) -> Receiver<Answer> {
        self.request("tools/call", json!({"name": tool, "arguments": arguments}))
    }

    /// Sends a `tools/call` and waits for its answer (at most `limit`).
    pub fn call_wait(&self, tool: &str, arguments: Value, limit: Duration) -> Option<Answer> {
        self.call(tool, arguments).recv_timeout(limit).ok()
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Kills the server with SIGKILL and reaps it.
    pub fn kill(self) {
        drop(self);
    }

    /// Closes stdin (the client is done) and waits for the server to exit.
    pub fn close(mut self) -> std::process::ExitStatus {
        if let Ok(mut s) = self.stdin.lock() {
            s.take();
        }
        self.child.wait().expect("wait for spud serve")
    }
}

impl Drop for StdioMcp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The p-th percentile (0–100) of `v` in ms, nearest rank.
pub fn percentile_ms(v: &[Duration], p: f64) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    let mut ms: Vec<f64> = v.iter().map(|d| d.as_secs_f64() * 1e3).collect();
    ms.sort_by(|a, b| a.total_cmp(b));
    let rank = ((p / 100.0) * ms.len() as f64).ceil() as usize;
    ms[rank.clamp(1, ms.len()) - 1]
}
