//! Host-side overhead per agent step: everything except waiting for a model — reference
//! resolution, a fresh sandbox call of a trivial tool, the critic, trace lines, budget ledger.
//! A plan of 200 steps, each depending on the previous one (so none overlap), run 7 times:
//! once from a plan file (no model), once as a goal with a zero-latency in-process model that
//! plans and is asked after every step whether to revise (`each-step`), so prompt building and
//! answer parsing are counted too.
//! `cargo bench -p spud-tests --bench agent_step` after `scripts/build-guests.sh`.

use spud::agent::run_plan;
use spud::agent::{run_goal, GoalOptions};
use spud::model::Provider;
use spud::plan::{Plan, ReviseWhen, RunStatus};
use spud::{Spud, SpudOptions};
use spud_tests::{guest, home, sidecar, ZeroLatency};
use std::sync::Arc;
use std::time::Instant;

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
    summary("plan file, no model", n, per_step);

    // The same plan, from a model that answers at once.
    let model: Arc<dyn Provider> =
        Arc::new(ZeroLatency(serde_json::to_value(&plan).expect("plan")));
    let mut per_step = Vec::new();
    for round in 0..8 {
        let options = GoalOptions {
            budget: plan.budget,
            max_replans: 0,
            revise: ReviseWhen::EachStep,
            max_tokens: u64::MAX,
            ..GoalOptions::default()
        };
        let t = Instant::now();
        let report = rt
            .block_on(run_goal(
                spud.clone(),
                model.clone(),
                "bench",
                options,
                |_| {},
            ))
            .expect("run");
        let elapsed = t.elapsed();
        assert_eq!(report.status, RunStatus::Done);
        assert_eq!(report.runs[0].steps, n as u64);
        if round > 0 {
            per_step.push(elapsed.as_secs_f64() * 1e6 / n as f64);
        }
    }
    summary(
        "goal, zero-latency model asked after every step",
        n,
        per_step,
    );
}

fn summary(what: &str, n: usize, mut per_step: Vec<f64>) {
    per_step.sort_by(|a, b| a.total_cmp(b));
    println!(
        "agent step overhead, {what} ({n} dependent steps of hostile.echo, 7 runs): median {:.0} µs per step (min {:.0}, max {:.0})",
        per_step[per_step.len() / 2],
        per_step[0],
        per_step[per_step.len() - 1]
    );
}
