//! Benchmarks of the sandboxed tool runtime. Run with
//! `cargo bench -p spud-tests --bench call_overhead` after `scripts/build-guests.sh`.
//!
//! 1. Per-call overhead of a fresh sandbox for a trivial tool (`hostile.echo`): instantiate +
//!    call + drop + audit record, through the same `Spud::call` every entry point uses.
//! 2. Calls per second with two concurrent callers (both cores).
//! 3. `spud call` as a whole process on a registered tool (needs the release binary).
//! 4. The cost of fuel metering: a CPU-bound guest loop with and without it.
//! 5. The cost of the policy-digest field on the call path: one `call` audit record written
//!    with and without `policy_sha256`, interleaved in one run.

use serde_json::json;
use spud::{Spud, SpudOptions};
use spud_tests::{guest, home, sidecar, workspace};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn us(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

fn main() {
    let rt = spud_tests::bench_runtime();
    let dir = home();
    let spud_home = dir.path().join("spud");
    let spud = Arc::new(
        Spud::open(SpudOptions {
            home: Some(spud_home.clone()),
            policy: None,
            principal: Some("bench".into()),
        })
        .expect("open"),
    );
    rt.block_on(spud.add(&guest("hostile"), None, Some(&sidecar("hostile"))))
        .expect("add");
    let input = json!({"s": "x"});

    // 1. Sequential per-call latency.
    let n = 5000;
    rt.block_on(async {
        for _ in 0..500 {
            spud.call("hostile.echo", &input).await.expect("call");
        }
        let mut times = Vec::with_capacity(n);
        for _ in 0..n {
            let t = Instant::now();
            let r = spud.call("hostile.echo", &input).await.expect("call");
            times.push(t.elapsed());
            assert!(r.outcome.is_ok());
        }
        times.sort();
        println!(
            "fresh sandbox per call (instantiate+call+drop+audit), {n} calls: p50 {:.1} µs, p90 {:.1} µs, p99 {:.1} µs",
            us(percentile(&times, 0.5)),
            us(percentile(&times, 0.9)),
            us(percentile(&times, 0.99))
        );
    });

    // 2. Throughput with two concurrent callers.
    let per_task = 10_000;
    let t = Instant::now();
    rt.block_on(async {
        let mut tasks = Vec::new();
        for _ in 0..2 {
            let spud = spud.clone();
            let input = input.clone();
            tasks.push(tokio::spawn(async move {
                for _ in 0..per_task {
                    spud.call("hostile.echo", &input).await.expect("call");
                }
            }));
        }
        for task in tasks {
            task.await.expect("task");
        }
    });
    let secs = t.elapsed().as_secs_f64();
    println!(
        "throughput, 2 concurrent callers: {:.0} calls/s ({} calls in {:.2} s)",
        (2 * per_task) as f64 / secs,
        2 * per_task,
        secs
    );

    // 3. `spud call` as a process.
    let bin = workspace().join("target/release/spud");
    if bin.exists() {
        let mut times = Vec::new();
        for i in 0..40 {
            let t = Instant::now();
            let out = std::process::Command::new(&bin)
                .args([
                    "--home",
                    &spud_home.display().to_string(),
                    "call",
                    "hostile.echo",
                    r#"{"s":"x"}"#,
                ])
                .output()
                .expect("spawn spud");
            let d = t.elapsed();
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            if i >= 5 {
                times.push(d);
            }
        }
        times.sort();
        println!(
            "`spud call hostile.echo` as a process ({} runs): p50 {:.2} ms, p90 {:.2} ms",
            times.len(),
            us(percentile(&times, 0.5)) / 1000.0,
            us(percentile(&times, 0.9)) / 1000.0
        );
    } else {
        println!("`spud call` process timing skipped: build target/release/spud first (cargo build --release -p spud)");
    }

    // 4. Fuel metering cost on a CPU-bound loop.
    let (with, without) = spud_tests::bench_support::fuel_ratio(&guest("hostile"), 20_000_000, 15);
    println!(
        "fuel metering on a CPU-bound loop (spin 20M iterations, median of 15): with {:.1} ms, without {:.1} ms, ratio {:.2}x",
        with.as_secs_f64() * 1e3,
        without.as_secs_f64() * 1e3,
        with.as_secs_f64() / without.as_secs_f64()
    );
    policy_digest_field();
}

/// Per-record cost of a `call` audit record with and without the policy digest, the rest of the
/// record as `Spud::call` writes it: blocks of each alternate so drift hits both alike.
fn policy_digest_field() {
    use spud_audit::{AuditLog, CallEvent, Durability, Event, Payload};
    let dir = tempfile::tempdir().expect("tempdir");
    let log = AuditLog::open(&dir.path().join("audit.jsonl"), Durability::Process).expect("log");
    let policy = "ab".repeat(32);
    let record = |policy_sha256: String| {
        Event::call(CallEvent {
            call_id: "0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b".into(),
            tool: "hostile.echo".into(),
            digest: "cd".repeat(32),
            principal: "bench".into(),
            policy_sha256,
            outcome: "ok".into(),
            message: None,
            bytes_in: 9,
            bytes_out: 9,
            fuel_used: 1234,
            duration_us: 30,
            args: Payload::digest_of(br#"{"s":"x"}"#),
            result: Payload::digest_of(br#""x""#),
        })
    };
    let block = 2000;
    let (mut with, mut without) = (Vec::new(), Vec::new());
    for _ in 0..15 {
        let t = Instant::now();
        for _ in 0..block {
            log.append(record(String::new())).expect("append");
        }
        without.push(t.elapsed().as_secs_f64() * 1e6 / block as f64);
        let t = Instant::now();
        for _ in 0..block {
            log.append(record(policy.to_string())).expect("append");
        }
        with.push(t.elapsed().as_secs_f64() * 1e6 / block as f64);
    }
    let (w, wo) = (spud_tests::median(with), spud_tests::median(without));
    println!(
        "`call` audit record (process durability), median of 15 blocks of {block}: without policy_sha256 {wo:.2} µs, with {w:.2} µs, difference {:.2} µs",
        w - wo
    );
}
