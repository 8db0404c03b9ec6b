//! A worker cut off mid-task (SIGSTOP: it keeps its connections and its work but neither
//! heartbeats nor answers): its lease expires, the task is redelivered and the run completes on
//! the other workers; when the partition heals (SIGCONT) and the worker finishes its call, its
//! late result is refused — its lease was taken over — and nothing it did is lost from its chain.

use super::{plan, records, results, run, verify, Env};
use std::collections::BTreeSet;
use std::time::{Duration, Instant};

/// The sub-agent runs under `w`'s `runs/` (`ROOT.aN`).
fn sub_agent_runs(w: &spud_tests::nats::WorkerProcess) -> BTreeSet<String> {
    std::fs::read_dir(w.home.join("runs"))
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.contains(".a"))
                .collect()
        })
        .unwrap_or_default()
}

pub(super) fn a_cut_off_worker_loses_its_lease_and_its_late_result_is_refused(env: &mut Env) {
    let url = env.cluster.url();
    let n = 9;
    // Long first calls (seconds each), so that a started sub-agent is still at work when its
    // worker is stopped.
    let heavy = plan(n, 1_500_000_000).replace(
        "max_steps = 1000",
        "max_steps = 1000\nmax_fuel = 1000000000000",
    );
    let victim = (0..env.workers.len())
        .find(|&i| env.workers[i].alive())
        .expect("a live worker");
    let known = sub_agent_runs(&env.workers[victim]);
    let (submitter, u) = (env.submitter.clone(), url.clone());
    let run_thread = std::thread::spawn(move || run(&submitter, &heavy, Some(&u)));

    // Stop the victim as soon as it has started one of this run's sub-agents.
    let waiting = Instant::now();
    while sub_agent_runs(&env.workers[victim]).len() <= known.len() {
        assert!(
            waiting.elapsed() < Duration::from_secs(60),
            "the victim took no task"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let cut_off_at = records(&env.workers[victim].home).len();
    env.workers[victim].pause();
    let report = run_thread.join().unwrap();
    assert_eq!(report["status"], "done", "{}", report["failed"]);
    assert_eq!(results(&report).len(), n);

    // The partition heals: the worker finishes its call, and its result comes too late.
    env.workers[victim].resume();
    let waiting = Instant::now();
    while !env.workers[victim].log().contains("late result refused") {
        assert!(
            waiting.elapsed() < Duration::from_secs(60),
            "no refusal in the log of {}: {}",
            env.workers[victim].name,
            env.workers[victim].log()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    // What it did while cut off is in its own chain (shipped with its next task or on its
    // next start), and every chain still verifies.
    assert!(records(&env.workers[victim].home).len() > cut_off_at);
    assert_eq!(verify(&url), 0);
}
