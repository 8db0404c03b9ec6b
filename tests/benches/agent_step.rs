//! Host-side overhead per agent step: everything except waiting for a model — reference
//! resolution, a fresh sandbox call of a trivial tool, the critic, trace lines, budget ledger.
//! A plan of 200 steps, each depending on the previous one (so none overlap), run 7 times.
//! `cargo bench -p spud-tests --bench agent_step` after `scripts/build-guests.sh`.

use spud::agent::{run_plan, Plan};
use spud::{Spud, SpudOptions};
use spud_tests::{guest, home, sidecar};
use std::sync::Arc;
use std::time::Instant;

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
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
    let mut text = String::from("goal = \"bench\"\n[budget]\nmax_steps = 1000\n");
    for i in 0..n {
        let after = if i == 0 {
            String::new()
        } else {
            format!("after = [\"s{}\"]\n", i - 1)
        };
        let arg = if i == 0 {
            "\"x\"".to_string()
        } else {
            format!("\"${{s{}}}\"", i - 1)
        };
        text.push_str(&format!("[[steps]]\nid = \"s{i}\"\n{after}tool = \"hostile.echo\"\nargs = {{ s = {arg} }}\nexpect = {{ contains = \"x\" }}\n"));
    }
    let plan = Plan::parse(&text, "bench.toml").expect("plan");
    let mut per_step = Vec::new();
    for round in 0..8 {
        let t = Instant::now();
        let report = rt
            .block_on(run_plan(spud.clone(), plan.clone(), |_| {}))
            .expect("run");
        let elapsed = t.elapsed();
        assert_eq!(report.steps, n as u64);
        if round > 0 {
            per_step.push(elapsed.as_secs_f64() * 1e6 / n as f64);
        }
    }
    per_step.sort_by(|a, b| a.total_cmp(b));
    println!(
        "agent step overhead ({n} dependent steps of hostile.echo, 7 runs): median {:.0} µs per step (min {:.0}, max {:.0})",
        per_step[per_step.len() / 2],
        per_step[0],
        per_step[per_step.len() - 1]
    );
}
