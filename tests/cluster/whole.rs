//! `spud run --nats URL --plan FILE --on-worker`: the whole run — its root too — runs on a
//! worker, whose scheduler hands the run's sub-agents back to the cluster; the submitting host
//! only waits, and keeps a copy of the report; `runs fetch` brings the traces over.

use super::{plan, records, report_of, results, run, spud, verify, Env, ACK_WAIT_MS};
use serde_json::Value;

pub(super) fn a_whole_run_runs_on_a_worker_and_its_sub_agents_spread(env: &Env) {
    let url = env.cluster.url();
    let local = run(&env.submitter, &plan(6, 1000), None);
    assert_eq!(local["status"], "done", "{local}");
    let file = env.submitter.join("whole.toml");
    std::fs::write(&file, plan(6, 1000)).unwrap();
    let args = [
        "run",
        "--plan",
        file.to_str().unwrap(),
        "--json",
        "-q",
        "--no-memory",
        "--nats",
        &url,
        "--on-worker",
        "--replicas",
        "3",
        "--ack-wait-ms",
        ACK_WAIT_MS,
    ];
    let out = spud(&env.submitter, &args);
    let report = report_of(&out);
    assert!(out.status.success(), "{report}");
    assert_eq!(report["status"], "done", "{report}");
    assert_eq!(results(&report), results(&local));
    assert_eq!(
        report["steps"], 12,
        "the sub-agents' calls count in the root's"
    );

    // The root ran on exactly one worker (its trace there), not here (a copy of the report).
    let id = report["id"].as_str().expect("run id").to_string();
    let roots: Vec<&str> = env
        .workers
        .iter()
        .filter(|w| w.home.join("runs").join(&id).join("trace.jsonl").exists())
        .map(|w| w.name.as_str())
        .collect();
    assert_eq!(roots.len(), 1, "root {id} on {roots:?}");
    let here = env.submitter.join("runs").join(&id);
    assert!(here.join("report.json").exists() && !here.join("trace.jsonl").exists());
    let shown = spud(&env.submitter, &["report", &id, "--json"]);
    assert!(
        shown.status.success(),
        "{}",
        String::from_utf8_lossy(&shown.stderr)
    );

    // Its sub-agents went back to the cluster: each ran once, under the root's principal.
    let children: usize = env
        .workers
        .iter()
        .map(|w| {
            (0..6)
                .filter(|i| w.home.join("runs").join(format!("{id}.a{i}")).exists())
                .count()
        })
        .sum();
    assert_eq!(children, 6);
    let echoes = env
        .workers
        .iter()
        .flat_map(|w| records(&w.home))
        .filter(|r| {
            r["event"]["kind"] == "call"
                && r["event"]["tool"] == "hostile.echo"
                && r["event"]["principal"]
                    .as_str()
                    .is_some_and(|p| p.ends_with("/a0"))
        })
        .count();
    assert!(
        echoes >= 1,
        "the sub-agent a0's echo is in a worker's chain"
    );
    assert_eq!(verify(&url), 0);

    // `runs fetch` copies the root's trace and its sub-agents' from the cluster: then `runs
    // show` reads the whole tree here.
    let fetched = spud(
        &env.submitter,
        &["runs", "fetch", &id, "--nats", &url, "--json"],
    );
    assert!(
        fetched.status.success(),
        "{}",
        String::from_utf8_lossy(&fetched.stderr)
    );
    let fetched: Value = serde_json::from_slice(&fetched.stdout).unwrap();
    assert_eq!(fetched["fetched"].as_array().unwrap().len(), 7, "{fetched}");
    assert!(here.join("trace.jsonl").exists());
    let shown = spud(&env.submitter, &["runs", "show", &id, "--json"]);
    assert!(
        shown.status.success(),
        "{}",
        String::from_utf8_lossy(&shown.stderr)
    );
    let missing = spud(
        &env.submitter,
        &["runs", "fetch", "no-such-run", "--nats", &url],
    );
    assert_eq!(missing.status.code(), Some(1));

    // A goal is planned where it is submitted: --on-worker refuses it with the way out.
    let out = spud(
        &env.submitter,
        &["run", "some goal", "--nats", &url, "--on-worker"],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("drop --on-worker"));
}
