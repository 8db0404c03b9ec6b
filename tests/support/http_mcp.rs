//! A minimal MCP client over Streamable HTTP for benchmarks that load `spud serve --http` from
//! outside: one session per client, plain JSON-RPC POSTs, answers read from the SSE body.

use serde_json::{json, Value};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// `spud serve --http 127.0.0.1:0` with the tokens in `env`; killed when dropped.
pub struct HttpServer {
    child: Child,
    /// The MCP endpoint.
    pub url: String,
}

impl HttpServer {
    /// Starts the server and waits for the address it prints.
    pub fn start(bin: &Path, home: &Path, policy: &Path, env: &[(&str, &str)]) -> HttpServer {
        let mut child = Command::new(bin)
            .arg("--home")
            .arg(home)
            .arg("--policy")
            .arg(policy)
            .args(["serve", "--http", "127.0.0.1:0"])
            .envs(env.iter().copied())
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start spud serve --http");
        let stderr = child.stderr.take().expect("stderr");
        let mut lines = BufReader::new(stderr).lines();
        let url = loop {
            let line = lines
                .next()
                .expect("spud serve printed its address")
                .expect("read stderr");
            if let Some(u) = line.strip_prefix("spud: serving MCP at ") {
                break u.trim().to_string();
            }
        };
        std::thread::spawn(move || for _ in lines {});
        HttpServer { child, url }
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for HttpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What went wrong with one request.
#[derive(Debug, thiserror::Error)]
pub enum HttpMcpError {
    /// Transport failure or timeout.
    #[error("transport: {0}")]
    Transport(#[from] reqwest::Error),
    /// A status other than 200/202.
    #[error("HTTP {0}")]
    Status(u16),
    /// No JSON-RPC answer in the body.
    #[error("no answer in the body")]
    NoAnswer,
}

/// One MCP session over HTTP.
pub struct HttpMcp {
    http: reqwest::Client,
    url: String,
    token: String,
    session: Option<String>,
    next: u64,
}

impl HttpMcp {
    /// Opens a session at `url` with bearer `token` (each request times out after `timeout`).
    pub async fn connect(
        url: &str,
        token: &str,
        timeout: Duration,
    ) -> Result<HttpMcp, HttpMcpError> {
        let http = reqwest::Client::builder().timeout(timeout).build()?;
        let mut c = HttpMcp {
            http,
            url: url.to_string(),
            token: token.to_string(),
            session: None,
            next: 1,
        };
        let init = json!({"protocolVersion": "2025-06-18", "capabilities": {},
                          "clientInfo": {"name": "spud-bench", "version": "1"}});
        c.request("initialize", init).await?;
        c.post(json!({"jsonrpc": "2.0", "method": "notifications/initialized"}))
            .await?;
        Ok(c)
    }

    async fn post(&mut self, body: Value) -> Result<Option<Value>, HttpMcpError> {
        let mut req = self
            .http
            .post(&self.url)
            .bearer_auth(&self.token)
            .header("accept", "application/json, text/event-stream")
            .header("mcp-protocol-version", "2025-06-18")
            .json(&body);
        if let Some(s) = &self.session {
            req = req.header("mcp-session-id", s);
        }
        let resp = req.send().await?;
        let status = resp.status().as_u16();
        if let Some(s) = resp.headers().get("mcp-session-id") {
            self.session = s.to_str().ok().map(str::to_string);
        }
        if status == 202 {
            return Ok(None);
        }
        if status != 200 {
            return Err(HttpMcpError::Status(status));
        }
        let text = resp.text().await?;
        let id = body.get("id").cloned();
        Ok(answer_in(&text, id.as_ref()))
    }

    /// A request; its JSON-RPC answer.
    pub async fn request(&mut self, method: &str, params: Value) -> Result<Value, HttpMcpError> {
        let id = self.next;
        self.next += 1;
        let body = json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params});
        self.post(body).await?.ok_or(HttpMcpError::NoAnswer)
    }

    /// Ends the session (`DELETE` with its id); the answer's status.
    pub async fn close(self) -> Result<u16, HttpMcpError> {
        let mut req = self
            .http
            .delete(&self.url)
            .bearer_auth(&self.token)
            .header("mcp-protocol-version", "2025-06-18");
        if let Some(s) = &self.session {
            req = req.header("mcp-session-id", s);
        }
        Ok(req.send().await?.status().as_u16())
    }

    /// A `tools/call`; its JSON-RPC answer.
    pub async fn call(&mut self, tool: &str, arguments: Value) -> Result<Value, HttpMcpError> {
        self.request("tools/call", json!({"name": tool, "arguments": arguments}))
            .await
    }
}

/// The JSON-RPC answer with `id` in a JSON or SSE body.
fn answer_in(text: &str, id: Option<&Value>) -> Option<Value> {
    let matches = |v: &Value| id.is_none_or(|id| v.get("id") == Some(id));
    if let Ok(v) = serde_json::from_str::<Value>(text) {
        return matches(&v).then_some(v);
    }
    text.lines()
        .filter_map(|l| l.strip_prefix("data:"))
        .filter_map(|d| serde_json::from_str::<Value>(d.trim()).ok())
        .find(matches)
}

/// Resident set size and its peak of process `pid`, in KiB (`VmRSS`, `VmHWM`; Linux).
pub fn rss_kib(pid: u32) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}
