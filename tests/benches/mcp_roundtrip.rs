//! `tools/call` round trips through `spud serve`, driven by the official MCP Python SDK (the
//! real client, `tests/mcp/scenarios.py bench`), over stdio and over Streamable HTTP, with a
//! trivial tool (`hostile.echo`). Sequential p50/p99 latency and calls per second, then calls
//! per second with 4 clients keeping 4 calls in flight each. A last row times plain JSON-RPC
//! POSTs without the SDK, to separate the server's time from the client's.
//! `cargo build --release -p spud && cargo bench -p spud-tests --bench mcp_roundtrip` (after
//! `scripts/setup.sh` and `scripts/build-guests.sh`); uses the release binary when built.

use serde_json::Value;
use spud_tests::{guest, home, sidecar, target_dir, workspace, write_policy};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

const POLICY: &str = r#"
[principals.bench]
token_env = "SPUD_BENCH_TOKEN"
tools = ["hostile.echo"]
max_concurrent = 64
rate_per_minute = 100_000_000
burst = 100_000
"#;
const TOKEN: &str = "bench-token-0000";
const CALLS: &str = "1000";

fn spud_bin() -> PathBuf {
    let release = target_dir().join("release/spud");
    if release.exists() {
        release
    } else {
        target_dir().join("debug/spud")
    }
}

fn scenario(name: &str, args: &[&str]) -> Value {
    let py = target_dir().join("py-mcp/bin/python");
    let out = Command::new(py)
        .arg(workspace().join("tests/mcp/scenarios.py"))
        .arg(name)
        .args(["--calls", CALLS, "--clients", "4"])
        .args(args)
        .output()
        .expect("run the MCP client (scripts/setup.sh installs it)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    serde_json::from_str(text.lines().last().unwrap_or_default()).expect("bench JSON")
}

fn row(transport: &str, r: &Value) {
    let f = |k: &str| r[k].as_f64().unwrap_or(f64::NAN);
    let concurrent = r["concurrent_per_s"]
        .as_f64()
        .map_or("—".to_string(), |v| format!("{v:.0}"));
    println!(
        "{transport:<6} {:>8.3} {:>8.3} {:>10.0} {concurrent:>12}",
        f("p50_ms"),
        f("p99_ms"),
        f("sequential_per_s"),
    );
}

fn main() {
    let dir = home();
    let policy = write_policy(dir.path(), POLICY);
    let bin = spud_bin();
    let h = dir.path().to_str().expect("utf-8 path");
    let p = policy.to_str().expect("utf-8 path");
    let add = Command::new(&bin)
        .args(["--home", h, "--policy", p, "tools", "add"])
        .arg(guest("hostile"))
        .arg("--manifest")
        .arg(sidecar("hostile"))
        .output()
        .expect("spud tools add");
    assert!(
        add.status.success(),
        "{}",
        String::from_utf8_lossy(&add.stderr)
    );
    println!("spud binary: {}", bin.display());
    println!(
        "{} calls sequential after 50 warm-up calls; concurrent: 4 clients x 4 in flight",
        CALLS
    );
    println!(
        "{:<6} {:>8} {:>8} {:>10} {:>12}",
        "", "p50 ms", "p99 ms", "seq/s", "concurrent/s"
    );
    let stdio = scenario(
        "bench",
        &[
            "--mode",
            "legacy",
            "--spud",
            bin.to_str().unwrap_or_default(),
            "--home",
            h,
            "--policy",
            p,
        ],
    );
    row("stdio", &stdio);
    let url = start_http(&bin, dir.path(), &policy);
    let http = scenario(
        "bench",
        &["--mode", "legacy", "--url", &url.0, "--token", TOKEN],
    );
    row("http", &http);
    let raw = scenario("bench_raw", &["--url", &url.0, "--token", TOKEN]);
    row("raw", &raw);
    println!("raw: plain JSON-RPC POSTs over one kept-alive connection, without the SDK (server + HTTP floor)");
    drop(url);
}

/// `spud serve --http 127.0.0.1:0`; the URL, and the server killed when dropped.
fn start_http(bin: &Path, home: &Path, policy: &Path) -> (String, KillOnDrop) {
    let mut child = Command::new(bin)
        .arg("--home")
        .arg(home)
        .arg("--policy")
        .arg(policy)
        .args(["serve", "--http", "127.0.0.1:0"])
        .env("SPUD_BENCH_TOKEN", TOKEN)
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start spud serve");
    let stderr = child.stderr.take().expect("stderr");
    let mut lines = BufReader::new(stderr).lines();
    let url = loop {
        let line = lines
            .next()
            .expect("spud serve printed its address")
            .expect("read");
        if let Some(u) = line.strip_prefix("spud: serving MCP at ") {
            break u.trim().to_string();
        }
    };
    std::thread::spawn(move || for _ in lines {});
    (url, KillOnDrop(child))
}

struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
