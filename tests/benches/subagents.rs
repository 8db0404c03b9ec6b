//! 1,000 sub-agents under one root, planned by a zero-latency in-process model, each calling a
//! trivial tool (`hostile.echo`) once in a fresh sandbox: total wall time, peak memory (VmHWM)
//! and the orchestration overhead per sub-agent — the difference from the same 1,000 calls as
//! plain steps of one run (permission check, budget share, queue, child run with its own trace
//! and report, records). Default parallelism (20). 3 runs each, medians. Then the scheduling
//! alone: 1,000 places in line and slots through the tree's scheduler (20 slots, priorities
//! 0–6, aging), 9 rounds, median per sub-agent.
//! `cargo bench -p spud-tests --bench subagents` after `scripts/build-guests.sh`.

use serde_json::json;
use spud::agent::{run_goal, GoalOptions};
use spud::model::Provider;
use spud::plan::Budget;
use spud::plan::{ReviseWhen, RunStatus};
use spud::{Spud, SpudOptions};
use spud_tests::{guest, home, median, sidecar, ZeroLatency};
use std::sync::Arc;
use std::time::Instant;

const N: usize = 1000;

fn peak_rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with("VmHWM:")).and_then(|l| {
                l.split_whitespace()
                    .nth(1)
                    .and_then(|k| k.parse::<f64>().ok())
            })
        })
        .map_or(f64::NAN, |kb| kb / 1024.0)
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
    let echo = |i: usize| json!({"id": format!("e{i}"), "tool": "hostile.echo", "args": {"s": "x"}, "expect": {"contains": "x"}});
    let agents: Vec<_> = (0..N)
        .map(|i| json!({"id": format!("a{i}"), "agent": {"goal": format!("part {i}"), "priority": (i % 7) as i64, "steps": [echo(0)]}}))
        .collect();
    let plain: Vec<_> = (0..N).map(echo).collect();
    let budget = Budget {
        max_steps: 10 * N as u64,
        max_wall_ms: 600_000,
        max_fuel: u64::MAX / 2,
        max_net_bytes: 1 << 30,
        max_storage_bytes: 1 << 30,
        max_tokens: u64::MAX / 2,
    };
    let mut times = [Vec::new(), Vec::new()];
    for round in 0..3 {
        for (k, steps) in [&agents, &plain].into_iter().enumerate() {
            let model: Arc<dyn Provider> =
                Arc::new(ZeroLatency(json!({"goal": "bench", "steps": steps})));
            let options = GoalOptions {
                budget,
                max_replans: 0,
                max_tokens: u64::MAX / 2,
                revise: ReviseWhen::Never,
                ..GoalOptions::default()
            };
            let t = Instant::now();
            let report = rt
                .block_on(run_goal(spud.clone(), model, "bench", options, |_| {}))
                .expect("run");
            let elapsed = t.elapsed().as_secs_f64() * 1e3;
            assert_eq!(report.status, RunStatus::Done, "round {round}");
            assert_eq!(report.runs[0].steps, N as u64);
            if k == 0 {
                assert_eq!(report.runs[0].subagents.len(), N);
            }
            times[k].push(elapsed);
        }
    }
    let (sub, plain) = (median(times[0].clone()), median(times[1].clone()));
    println!("{N} sub-agents (1 call each, parallelism 20): median {sub:.0} ms total");
    println!("the same {N} calls as plain steps of one run: median {plain:.0} ms");
    println!(
        "orchestration overhead per sub-agent: {:.0} µs",
        (sub - plain) * 1e3 / N as f64
    );
    println!(
        "peak resident memory of the process: {:.0} MB",
        peak_rss_mb()
    );
    let per = median((0..9).map(|_| rt.block_on(schedule_only())).collect());
    println!(
        "scheduling alone (enqueue, wait for a slot, give it back): {per:.2} µs per sub-agent"
    );
}

/// µs per sub-agent to take a place in line, get a slot and give it back, 1,000 at once.
async fn schedule_only() -> f64 {
    use spud::orchestrator::scheduler::Scheduler;
    let s = Scheduler::new(20, std::time::Duration::from_millis(1000));
    let t = Instant::now();
    let mut set = tokio::task::JoinSet::new();
    for i in 0..N {
        let ticket = s.enqueue((i % 7) as i64);
        set.spawn(async move {
            let slot = ticket.slot().await;
            tokio::task::yield_now().await;
            drop(slot);
        });
    }
    while set.join_next().await.is_some() {}
    t.elapsed().as_secs_f64() * 1e6 / N as f64
}
