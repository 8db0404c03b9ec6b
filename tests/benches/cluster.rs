//! Scale-out through a real 3-node NATS JetStream cluster on 127.0.0.1 (replicas 3): 1,000
//! sub-agent tasks (one `hostile.echo` call each, parallelism 20) run by `spud run --nats` with
//! 1, 2 and 3 `spud worker` processes (4 lanes each), against the same plan run in one process
//! (`spud run`, no cluster). Prints total wall time, throughput and the extra wall time per task
//! of going through the cluster; then the JetStream write cost per audit record: 2,000 records
//! of a real audit log shipped to `SPUD_AUDIT` the way a worker ships them (one message each,
//! with its message id, all acks awaited).
//! Then the per-call overhead of a single tool call through the cluster (`spud call --nats`,
//! `spud serve --nats`): `CALLS` sequential `hostile.echo` calls made in process, through
//! `Spud::call` and through `Submitter::call_remote` with one worker, medians compared.
//! `cargo bench -p spud-tests --bench cluster` after `scripts/build-guests.sh` and
//! `cargo build`; needs `nats-server` (`scripts/setup-nats.sh`). With the argument `calls`
//! (`cargo test --bench cluster -- calls`) only the tool-call part runs.

use spud::audit::{AuditLog, Durability, Event};
use spud::cluster::{Cluster, ClusterSettings, Shipper};
use spud_tests::nats::{NatsCluster, WorkerProcess};
use spud_tests::{guest, sidecar, spud_bin};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

const N: usize = 1000;
const RECORDS: usize = 2000;
const CALLS: usize = 200;
const POLICY: &str = "[tools.hostile]\nlimits = { timeout_ms = 60000 }\n";

fn spud(home: &Path, args: &[&str]) -> std::process::Output {
    Command::new(spud_bin())
        .arg("--home")
        .arg(home)
        .arg("--policy")
        .arg(home.join("policy.toml"))
        .args(args)
        .output()
        .expect("run spud")
}

fn home(dir: &Path, name: &str) -> PathBuf {
    let h = dir.join(name);
    std::fs::create_dir_all(&h).unwrap();
    std::fs::write(h.join("policy.toml"), POLICY).unwrap();
    let g = guest("hostile");
    let s = sidecar("hostile");
    let out = spud(
        &h,
        &[
            "tools",
            "add",
            g.to_str().unwrap(),
            "--manifest",
            s.to_str().unwrap(),
            "--yes",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    h
}

fn plan() -> String {
    let mut p =
        "goal = \"bench\"\n[budget]\nmax_steps = 100000\nmax_wall_ms = 3600000\n".to_string();
    for i in 0..N {
        p += &format!("[[steps]]\nid = \"a{i}\"\n[steps.agent]\ngoal = \"part {i}\"\n[[steps.agent.steps]]\nid = \"e\"\ntool = \"hostile.echo\"\nargs = {{ s = \"x\" }}\n");
    }
    p
}

/// Runs the plan from `home` (on the cluster when `url` is given): wall time in ms.
fn timed_run(home: &Path, url: Option<&str>) -> f64 {
    let file = home.join("plan.toml");
    std::fs::write(&file, plan()).unwrap();
    let mut args = vec!["run", "--plan", file.to_str().unwrap(), "-q", "--no-memory"];
    if let Some(u) = url {
        args.extend(["--nats", u, "--replicas", "3"]);
    }
    let t = Instant::now();
    let out = spud(home, &args);
    let ms = t.elapsed().as_secs_f64() * 1e3;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    ms
}

fn main() {
    let dir = tempfile::tempdir().unwrap();
    let Some(cluster) = NatsCluster::start(dir.path(), 3) else {
        return;
    };
    let url = cluster.url();
    let submitter = home(dir.path(), "submitter");
    if std::env::args().any(|a| a == "calls") {
        call_overhead(dir.path(), &submitter, &url);
        return;
    }
    let local = timed_run(&submitter, None);
    println!(
        "{N} sub-agents in one process: {local:.0} ms, {:.0} tasks/s",
        N as f64 * 1e3 / local
    );
    for workers in 1..=3 {
        let procs: Vec<WorkerProcess> = (0..workers)
            .map(|i| {
                let h = home(dir.path(), &format!("b{workers}-{i}"));
                WorkerProcess::start(
                    &spud_bin(),
                    &h,
                    &h.join("policy.toml"),
                    &url,
                    &format!("b{workers}-{i}"),
                    &["--replicas", "3"],
                )
            })
            .collect();
        let ms = timed_run(&submitter, Some(&url));
        println!(
            "{N} sub-agents through the cluster, {workers} worker(s): {ms:.0} ms, {:.0} tasks/s, {:.0} µs more per task than in one process",
            N as f64 * 1e3 / ms,
            (ms - local) * 1e3 / N as f64
        );
        drop(procs);
    }
    let rt = spud_tests::bench_runtime();
    let us = rt.block_on(audit_cost(dir.path(), &url));
    println!("JetStream write per audit record (replicas 3, {RECORDS} records, acks awaited): {us:.0} µs");
    call_overhead(dir.path(), &submitter, &url);
}

/// Median µs of one `hostile.echo` call here and through the cluster (one worker).
fn call_overhead(dir: &Path, submitter: &Path, url: &str) {
    let h = home(dir, "call-worker");
    let _worker = WorkerProcess::start(
        &spud_bin(),
        &h,
        &h.join("policy.toml"),
        url,
        "call-worker",
        &["--replicas", "3"],
    );
    let spud = std::sync::Arc::new(
        spud::Spud::open(spud::SpudOptions {
            home: Some(submitter.to_path_buf()),
            policy: Some(submitter.join("policy.toml")),
            principal: None,
        })
        .expect("open spud"),
    );
    let args = serde_json::json!({ "s": "x" });
    let rt = spud_tests::bench_runtime();
    let (local, remote) = rt.block_on(async {
        let mut settings = ClusterSettings::new(url);
        settings.replicas = Some(3);
        let cluster = Cluster::connect(&settings).await.expect("connect");
        let remote = spud::cluster::Submitter::new(cluster, spud.clone());
        let caller = spud.operator();
        let mut local = Vec::new();
        let mut through = Vec::new();
        // The first of each warms the caches (compilation, the worker's pull by digest).
        for i in 0..=CALLS {
            let t = Instant::now();
            let r = spud.call("hostile.echo", &args).await.expect("local call");
            assert!(r.outcome.is_ok());
            local.push(t.elapsed().as_secs_f64() * 1e6);
            let t = Instant::now();
            let (r, _) = remote
                .call_remote(&caller, "hostile.echo", &args)
                .await
                .expect("call through the cluster");
            assert!(r.outcome.is_ok());
            through.push(t.elapsed().as_secs_f64() * 1e6);
            if i == 0 {
                local.clear();
                through.clear();
            }
        }
        (spud_tests::median(local), spud_tests::median(through))
    });
    println!(
        "one hostile.echo call ({CALLS} in a row, medians): {local:.0} µs here, {remote:.0} µs through the cluster (1 worker), {:.0} µs of overhead",
        remote - local
    );
}

/// µs per audit record shipped to `SPUD_AUDIT`.
async fn audit_cost(dir: &Path, url: &str) -> f64 {
    let mut settings = ClusterSettings::new(url);
    settings.replicas = Some(3);
    let cluster = Cluster::connect(&settings).await.expect("connect");
    let path = dir.join("bench-audit.jsonl");
    let log = AuditLog::open(&path, Durability::default()).expect("log");
    for i in 0..RECORDS {
        log.append(Event::access("bench", "bench", &format!("record {i}")))
            .expect("append");
    }
    log.flush().expect("flush");
    let mut shipper = Shipper::new(path, "bench-shipper");
    let t = Instant::now();
    let shipped = shipper.ship(&cluster).await.expect("ship");
    assert_eq!(shipped, RECORDS);
    t.elapsed().as_secs_f64() * 1e6 / RECORDS as f64
}
