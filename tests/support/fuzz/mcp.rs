//! The MCP request path: mutated JSON-RPC requests written to the stdin of a real
//! `spud serve`, each followed by a `ping` that must still be answered. A server that stops
//! answering or exits is a violation; a panic it prints is counted as a panic.

use super::mutate;
use super::runner::{Target, Verdict};
use arbitrary::{Result, Unstructured};
use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long a ping may take before the server counts as hung.
const PATIENCE: Duration = Duration::from_secs(30);

fn templates() -> Vec<Value> {
    let call = |name: &str, args: Value| json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": name, "arguments": args}});
    vec![
        json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}}),
        json!({"jsonrpc": "2.0", "id": 1, "method": "ping"}),
        call(
            "json.query",
            json!({"document": {"a": [1, 2, {"b": "c"}]}, "path": "$.a[*]"}),
        ),
        call("json.query", json!({"document": "x", "path": "$..*"})),
        call("json.nope", json!({})),
        call(
            "run_agent",
            json!({"goal": "g", "plan": {"goal": "g", "steps": []}}),
        ),
        json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "f", "version": "0"}}}),
        json!({"jsonrpc": "2.0", "id": 1, "method": "resources/list"}),
        json!({"jsonrpc": "2.0", "id": 1, "method": "prompts/get", "params": {"name": "x"}}),
        json!({"jsonrpc": "2.0", "id": 1, "method": "logging/setLevel", "params": {"level": "debug"}}),
        json!({"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": 1}}),
        json!({"jsonrpc": "2.0", "method": "notifications/progress", "params": {"progressToken": 1, "progress": 0.5}}),
        json!([{"jsonrpc": "2.0", "id": 1, "method": "ping"}]),
    ]
}

fn replace_node(u: &mut Unstructured<'_>, v: &mut Value) -> Result<()> {
    let keys: Vec<String> = v
        .as_object()
        .map(|o| o.keys().cloned().collect())
        .unwrap_or_default();
    if keys.is_empty() || u.ratio(1, 4)? {
        *v = mutate::json(u, 3)?;
        return Ok(());
    }
    let key = u.choose(&keys)?.clone();
    match u.int_in_range(0..=2)? {
        0 => {
            if let Some(o) = v.as_object_mut() {
                o.remove(&key);
            }
            Ok(())
        }
        _ => replace_node(u, &mut v[key]),
    }
}

/// One request line: a template with parts replaced or removed, its bytes mutated, or noise.
fn request(u: &mut Unstructured<'_>, id: u64) -> Result<Vec<u8>> {
    let mut v = u.choose(&templates())?.clone();
    if v.get("id").is_some() {
        v["id"] = json!(format!("fuzz-{id}"));
    }
    for _ in 0..u.int_in_range(0..=3)? {
        replace_node(u, &mut v)?;
    }
    let mut line = v.to_string().into_bytes();
    if u.ratio(1, 4)? {
        mutate::mutate_once(
            u,
            &mut line,
            &["\"", "{", "}", "[", "]", ":", ",", "\\u0000", "1e999"],
        )?;
    }
    line.retain(|b| *b != b'\n');
    line.push(b'\n');
    Ok(line)
}

struct Server {
    child: Child,
    stdin: ChildStdin,
    lines: Receiver<String>,
    stderr: Arc<Mutex<String>>,
}

impl Server {
    fn start(home: &Path) -> std::io::Result<Server> {
        let mut child = Command::new(crate::spud_bin())
            .arg("--home")
            .arg(home)
            .arg("serve")
            .env_remove("SPUD_POLICY")
            .env("RUST_BACKTRACE", "0")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()?;
        let (stdin, stdout, mut err) =
            match (child.stdin.take(), child.stdout.take(), child.stderr.take()) {
                (Some(i), Some(o), Some(e)) => (i, o, e),
                _ => return Err(std::io::Error::other("no pipes to spud serve")),
            };
        let (tx, lines) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout)
                .lines()
                .map_while(std::io::Result::ok)
            {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let stderr = Arc::new(Mutex::new(String::new()));
        let sink = stderr.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n @ 1..) = err.read(&mut buf) {
                if let Ok(mut s) = sink.lock() {
                    s.push_str(&String::from_utf8_lossy(&buf[..n]));
                }
            }
        });
        let mut server = Server {
            child,
            stdin,
            lines,
            stderr,
        };
        let init = templates()[6].clone();
        server.send(format!("{init}\n").as_bytes())?;
        server.answer_to(&json!(1)).map_err(std::io::Error::other)?;
        server.send(b"{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}\n")?;
        Ok(server)
    }

    fn send(&mut self, line: &[u8]) -> std::io::Result<()> {
        self.stdin.write_all(line)?;
        self.stdin.flush()
    }

    /// Reads lines until the response to `id`; returns the other responses seen on the way.
    fn answer_to(&self, id: &Value) -> std::result::Result<Vec<Value>, String> {
        let until = Instant::now() + PATIENCE;
        let mut seen = Vec::new();
        loop {
            let left = until.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    let v: Value = serde_json::from_str(&line).unwrap_or(Value::Null);
                    if &v["id"] == id {
                        return Ok(seen);
                    }
                    seen.push(v);
                }
                Err(RecvTimeoutError::Timeout) => {
                    return Err(format!("no answer to {id} in {PATIENCE:?}"))
                }
                Err(RecvTimeoutError::Disconnected) => {
                    return Err("spud serve closed stdout".into())
                }
            }
        }
    }

    fn panics(&self) -> Option<String> {
        let s = self.stderr.lock().ok()?;
        let at = s.find("panicked")?;
        Some(s[at.saturating_sub(200)..(at + 400).min(s.len())].to_string())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `spud serve` over stdio, with the `json` plugin registered in a fresh home.
pub struct McpTarget {
    home: tempfile::TempDir,
    server: Option<Server>,
    next: u64,
}

impl McpTarget {
    /// A home with `json` registered (the serve process starts on the first case).
    pub fn new() -> std::io::Result<McpTarget> {
        let home = tempfile::tempdir()?;
        let out = Command::new(crate::spud_bin())
            .arg("--home")
            .arg(home.path())
            .args(["tools", "add"])
            .arg(crate::guest("json"))
            .output()?;
        if !out.status.success() {
            return Err(std::io::Error::other(
                String::from_utf8_lossy(&out.stderr).into_owned(),
            ));
        }
        Ok(McpTarget {
            home,
            server: None,
            next: 0,
        })
    }

    /// The home (its audit log records every call made).
    pub fn home(&self) -> &Path {
        self.home.path()
    }
}

impl Target for McpTarget {
    fn name(&self) -> &'static str {
        "mcp"
    }

    fn case(&mut self, u: &mut Unstructured<'_>) -> Result<Verdict> {
        self.next += 1;
        let line = request(u, self.next)?;
        if self.server.is_none() {
            match Server::start(self.home.path()) {
                Ok(s) => self.server = Some(s),
                Err(e) => {
                    return Ok(Verdict::Violation(format!(
                        "spud serve does not start: {e}"
                    )))
                }
            }
        }
        let Some(server) = self.server.as_mut() else {
            return Ok(Verdict::Violation("no server".into()));
        };
        let probe = json!(format!("probe-{}", self.next));
        let sent = server.send(&line).and_then(|()| {
            server.send(
                format!("{{\"jsonrpc\":\"2.0\",\"id\":{probe},\"method\":\"ping\"}}\n").as_bytes(),
            )
        });
        let answered = sent
            .map_err(|e| e.to_string())
            .and_then(|()| server.answer_to(&probe));
        if let Some(p) = server.panics() {
            self.server = None;
            return Ok(Verdict::Panicked(format!(
                "spud serve panicked after {}: {p}",
                String::from_utf8_lossy(&line)
            )));
        }
        match answered {
            Ok(seen) if seen.iter().any(|r| r.get("error").is_some()) => Ok(Verdict::Rejected),
            Ok(_) => Ok(Verdict::Accepted),
            Err(e) => {
                self.server = None;
                Ok(Verdict::Violation(format!(
                    "{e} after {}",
                    String::from_utf8_lossy(&line)
                )))
            }
        }
    }
}
