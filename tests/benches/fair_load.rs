//! Fair under load, measured from outside over one stdio connection: the latency of a trivial
//! call (`hostile.echo`) while nothing else runs, and while four CPU-bound calls
//! (`hostile.spin-forever`, stopped by their 3 s deadline) are in flight on the same server.
//! `cargo build --release -p spud && cargo bench -p spud-tests --bench fair_load` (after
//! `scripts/build-guests.sh`); uses the release binary when built. `FAIR_ROUNDS` sets how many
//! rounds of four CPU-bound calls (default 5); `SPUD_BIN` another `spud` binary to measure.

use serde_json::json;
use spud_tests::stdio_mcp::{percentile_ms, StdioMcp};
use spud_tests::{guest, home, sidecar, target_dir, write_policy};
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

const POLICY: &str = r#"
[tools.hostile]
limits = { fuel = 1_000_000_000_000, timeout_ms = 3000, memory_mb = 64 }
"#;

fn spud_bin() -> PathBuf {
    if let Some(bin) = std::env::var_os("SPUD_BIN") {
        return PathBuf::from(bin);
    }
    let release = target_dir().join("release/spud");
    if release.exists() {
        release
    } else {
        target_dir().join("debug/spud")
    }
}

fn summary(label: &str, v: &[Duration]) {
    println!(
        "{label:<34} n={:>5}  p50 {:>8.2} ms  p99 {:>8.2} ms  max {:>8.2} ms",
        v.len(),
        percentile_ms(v, 50.0),
        percentile_ms(v, 99.0),
        percentile_ms(v, 100.0)
    );
}

fn main() {
    let dir = home();
    let policy = write_policy(dir.path(), POLICY);
    let bin = spud_bin();
    let add = Command::new(&bin)
        .arg("--home")
        .arg(dir.path())
        .arg("--policy")
        .arg(&policy)
        .args(["tools", "add"])
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
    let rounds: usize = std::env::var("FAIR_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5);
    println!("spud binary: {}", bin.display());
    let mcp = StdioMcp::start(&bin, dir.path(), &policy);
    let limit = Duration::from_secs(30);
    let echo = |i: usize| {
        let a = mcp
            .call_wait("hostile.echo", json!({"s": i.to_string()}), limit)
            .expect("echo answered");
        assert_eq!(a.text(), i.to_string(), "{:?}", a.response);
        a.latency
    };
    for i in 0..50 {
        echo(i);
    }
    let idle: Vec<Duration> = (0..300).map(echo).collect();
    let mut busy = Vec::new();
    let mut spin_ms = Vec::new();
    for _ in 0..rounds {
        let spinners: Vec<_> = (0..4)
            .map(|_| mcp.call("hostile.spin-forever", json!({})))
            .collect();
        let t = Instant::now();
        std::thread::sleep(Duration::from_millis(100));
        // Trivial calls one after another while the four CPU-bound calls run (until 2.8 s).
        while t.elapsed() < Duration::from_millis(2800) {
            busy.push(echo(busy.len()));
            std::thread::sleep(Duration::from_millis(5));
        }
        for s in spinners {
            let a = s.recv_timeout(limit).expect("spinner answered");
            assert!(
                a.is_error(),
                "a spinner must hit its deadline: {:?}",
                a.response
            );
            spin_ms.push(a.latency);
        }
    }
    println!("one stdio connection; trivial call = hostile.echo; CPU-bound = hostile.spin-forever (3 s deadline)");
    summary("idle", &idle);
    summary("4 CPU-bound calls in flight", &busy);
    summary("the CPU-bound calls themselves", &spin_ms);
    println!(
        "ratio p50 busy/idle {:.1}, p99 busy/idle {:.1}",
        percentile_ms(&busy, 50.0) / percentile_ms(&idle, 50.0),
        percentile_ms(&busy, 99.0) / percentile_ms(&idle, 99.0)
    );
    mcp.close();
}
