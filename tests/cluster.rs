//! Scale-out on a real 3-node NATS JetStream cluster on 127.0.0.1 (replicas 3) with three
//! `spud worker` processes, each with its own home: a plan's 50 sub-agents give the same results
//! as the same plan run in one process; workers killed mid-run and a killed NATS node do not
//! stop the run, no acknowledged call is recorded twice unless marked possibly repeated, and
//! every worker's chain verifies from the cluster's audit stream. The workers start without the
//! component: they pull it from the cluster's object store by digest and register it; one whose
//! policy pins another digest refuses it. Single tool calls (`spud call --nats`, `spud serve
//! --nats`) are in `cluster/calls.rs`, goal runs (`spud run --nats "GOAL"`) in
//! `cluster/goal.rs`, whole runs on a worker (`--on-worker`) in `cluster/whole.rs`, a worker cut
//! off mid-task in `cluster/partition.rs`, lessons
//! shared between submitting hosts in `cluster/lessons.rs`. One cluster per test binary: the
//! scenarios run in turn on it (the node is killed last), and every process is killed when the
//! test ends, pass or fail.

#[path = "cluster/calls.rs"]
mod calls;
#[path = "cluster/goal.rs"]
mod goal;
#[path = "cluster/lessons.rs"]
mod lessons;
#[path = "cluster/partition.rs"]
mod partition;
#[path = "cluster/whole.rs"]
mod whole;

use serde_json::Value;
use spud_tests::crash::{seed_from_clock, Rng};
use spud_tests::nats::{NatsCluster, WorkerProcess};
use spud_tests::{guest, sidecar, spud_bin};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// A task's ack wait in these tests: a killed worker's tasks come back after it.
const ACK_WAIT_MS: &str = "3000";

const POLICY: &str = r#"
[tools.hostile]
files = [{ host = "data", guest = "/data", access = "read-only" }]
limits = { timeout_ms = 60000, fuel = 100_000_000_000 }
"#;

/// The cluster, its workers and the submitting home; dropping it kills every process.
struct Env {
    // Dropped in this order: the workers, then the nodes, then their folders.
    workers: Vec<WorkerProcess>,
    cluster: NatsCluster,
    submitter: PathBuf,
    dir: tempfile::TempDir,
}

/// A home with `policy.toml` (`POLICY` and `extra` lines in its section) and `data/`.
fn bare_home(dir: &Path, name: &str, extra: &str) -> PathBuf {
    let h = dir.join(name);
    std::fs::create_dir_all(h.join("data")).unwrap();
    std::fs::write(h.join("policy.toml"), format!("{POLICY}{extra}\n")).unwrap();
    h
}

/// The digest of a file, as a policy pins it.
fn digest_of(path: &Path) -> String {
    use sha2::Digest;
    let hex: String = sha2::Sha256::digest(std::fs::read(path).unwrap())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("sha256:{hex}")
}

/// A home with `policy.toml`, `data/` and the hostile component registered from `wasm`.
fn home_with(dir: &Path, name: &str, wasm: &Path) -> PathBuf {
    let h = bare_home(dir, name, "");
    let out = spud(
        &h,
        &[
            "tools",
            "add",
            wasm.to_str().unwrap(),
            "--manifest",
            sidecar("hostile").to_str().unwrap(),
            "--yes",
        ],
    );
    assert!(
        out.status.success(),
        "tools add: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    h
}

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

fn start() -> Option<Env> {
    let dir = tempfile::tempdir().unwrap();
    let cluster = NatsCluster::start(dir.path(), 3)?;
    let submitter = home_with(dir.path(), "submitter", &guest("hostile"));
    // Principal `ci` may call every hostile tool here; the workers' policies narrow it.
    let policy = submitter.join("policy.toml");
    let text = std::fs::read_to_string(&policy).unwrap();
    std::fs::write(&policy, format!("{text}{}", principal_ci("hostile.*"))).unwrap();
    let mut env = Env {
        dir,
        cluster,
        workers: Vec::new(),
        submitter,
    };
    for i in 0..3 {
        add_worker(&mut env, &format!("w{i}"));
    }
    Some(env)
}

/// The sha256 of principal `ci`'s token (a principal needs one; no test sends it).
const CI_TOKEN_SHA256: &str = "b6c0b937addbc45fcb12b10bd9b4ac04dabff7e2eb340a54da66c366e6136715";

/// A `[principals.ci]` table that lets `ci` call `tools` (its token is for HTTP, unused here:
/// the tests serve stdio with `--principal ci`).
fn principal_ci(tools: &str) -> String {
    format!("\n[principals.ci]\ntoken_sha256 = \"{CI_TOKEN_SHA256}\"\ntools = [\"{tools}\"]\n")
}

/// A worker without any component, whose policy pins the hostile component's digest (and lets
/// principal `ci` call only `hostile.spin`).
fn add_worker(env: &mut Env, name: &str) {
    let pin = format!(
        "digest = \"{}\"\n{}",
        digest_of(&guest("hostile")),
        principal_ci("hostile.spin")
    );
    let h = bare_home(env.dir.path(), name, &pin);
    let w = WorkerProcess::start(
        &spud_bin(),
        &h,
        &h.join("policy.toml"),
        &env.cluster.url(),
        name,
        &["--replicas", "3", "--ack-wait-ms", ACK_WAIT_MS],
    );
    env.workers.push(w);
}

/// A plan of `n` sub-agents, each one call: `hostile.spin` (`iterations`) then an echo. Its
/// wall budget is ten minutes, not the default two: what these scenarios check is the result
/// and the records, and on a loaded 2-core machine fifty sub-agents through three workers (and
/// the redeliveries of killed ones) have taken over two minutes.
fn plan(n: usize, iterations: u64) -> String {
    let mut p = "goal = \"fan out\"\n[budget]\nmax_steps = 1000\nmax_wall_ms = 600000\n\
                 [agents]\nmax_parallel = 12\n"
        .to_string();
    for i in 0..n {
        p += &format!(
            "[[steps]]\nid = \"a{i}\"\n[steps.agent]\ngoal = \"part {i}\"\n[[steps.agent.steps]]\nid = \"spin\"\ntool = \"hostile.spin\"\nargs = {{ iterations = {iterations} }}\n[[steps.agent.steps]]\nid = \"echo\"\ntool = \"hostile.echo\"\nargs = {{ s = \"part-{i}\" }}\n"
        );
    }
    p
}

/// Runs `plan` from `home` (on the cluster when `url` is given) and returns its JSON report.
fn run(home: &Path, plan: &str, url: Option<&str>) -> Value {
    let file = home.join("plan.toml");
    std::fs::write(&file, plan).unwrap();
    let mut args = vec![
        "run",
        "--plan",
        file.to_str().unwrap(),
        "--json",
        "-q",
        "--no-memory",
    ];
    if let Some(u) = url {
        args.extend(["--nats", u, "--replicas", "3", "--ack-wait-ms", ACK_WAIT_MS]);
    }
    let out = spud(home, &args);
    report_of(&out)
}

/// The JSON report `spud run --json` printed (a panic naming the exit and stderr if none).
fn report_of(out: &std::process::Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "no report ({e}); exit {:?}; stderr: {}",
            out.status.code(),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

/// Each sub-agent step's own results, without the run ids (which differ between runs).
fn results(report: &Value) -> BTreeMap<String, Value> {
    report["results"]
        .as_object()
        .expect("results")
        .iter()
        .map(|(k, v)| (k.clone(), v["results"].clone()))
        .collect()
}

#[test]
fn on_a_three_node_cluster() {
    let Some(mut env) = start() else { return };
    fifty_sub_agents_on_three_workers_give_the_local_result(&env);
    calls::a_tool_call_gives_the_local_result_and_one_record_on_its_worker(&env);
    calls::a_denied_call_comes_back_as_the_local_denial(&env);
    calls::serve_nats_answers_tools_call_through_a_worker(&env);
    goal::a_goal_is_planned_here_and_its_sub_agents_run_on_workers(&env);
    whole::a_whole_run_runs_on_a_worker_and_its_sub_agents_spread(&env);
    lessons::a_lesson_learned_by_a_whole_run_on_a_worker_reaches_another_host(&env);
    lessons::a_lesson_learned_on_one_host_is_used_by_a_run_planned_on_another(&env);
    a_component_with_another_digest_is_refused(&env);
    workers_killed_mid_run_do_not_stop_it_and_no_call_is_silently_repeated(&mut env);
    partition::a_cut_off_worker_loses_its_lease_and_its_late_result_is_refused(&mut env);
    a_nats_node_killed_mid_run_loses_nothing(&mut env);
}

fn fifty_sub_agents_on_three_workers_give_the_local_result(env: &Env) {
    let local = run(&env.submitter, &plan(50, 1000), None);
    assert_eq!(local["status"], "done", "{local}");
    let remote = run(&env.submitter, &plan(50, 1000), Some(&env.cluster.url()));
    assert_eq!(remote["status"], "done", "{}", remote["failed"]);
    assert_eq!(results(&remote), results(&local));
    assert_eq!(results(&remote).len(), 50);
    assert_eq!(
        remote["steps"], 100,
        "each sub-agent's two calls count in the root's"
    );
    // The sub-agents ran on the workers, not here: their runs are in the workers' homes.
    let on_workers: usize = env
        .workers
        .iter()
        .map(|w| std::fs::read_dir(w.home.join("runs")).map_or(0, |d| d.count()))
        .sum();
    assert!(
        on_workers >= 50,
        "{on_workers} sub-agent runs on the workers"
    );
    // Each worker that ran one pulled the component by digest and registered it once.
    let hex = digest_of(&guest("hostile")).replace("sha256:", "");
    let mut pulled = 0;
    for w in &env.workers {
        let added: Vec<Value> = records(&w.home)
            .into_iter()
            .filter(|r| r["event"]["kind"] == "registry" && r["event"]["plugin"] == "hostile")
            .collect();
        if w.home.join("runs").is_dir() {
            assert_eq!(added.len(), 1, "{added:?}");
            assert_eq!(added[0]["event"]["digest"], hex.as_str(), "{added:?}");
            pulled += 1;
        }
    }
    assert!(pulled >= 1);
    assert_eq!(verify(&env.cluster.url()), 0);
}

/// `spud audit verify --nats`: its exit code, every chain printed.
fn verify(url: &str) -> i32 {
    let out = Command::new(spud_bin())
        .args(["audit", "verify", "--nats", url, "--json"])
        .output()
        .unwrap();
    let chains: Value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    assert!(chains.as_array().is_some_and(|c| !c.is_empty()), "{chains}");
    out.status.code().unwrap_or(-1)
}

/// Every record of a worker's own audit log.
fn records(home: &Path) -> Vec<Value> {
    std::fs::read_to_string(home.join("audit/audit.jsonl"))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

fn workers_killed_mid_run_do_not_stop_it_and_no_call_is_silently_repeated(env: &mut Env) {
    let url = env.cluster.url();
    let seed = seed_from_clock();
    let mut rng = Rng::new(seed);
    // Only this run's records count: other tests ran the same sub-agent names before.
    let before: BTreeMap<PathBuf, usize> = env
        .workers
        .iter()
        .map(|w| (w.home.clone(), records(&w.home).len()))
        .collect();
    let submitter = env.submitter.clone();
    let (u, n) = (url.clone(), 40);
    // Long calls (hundreds of ms each on a busy machine), so that a worker is killed while
    // its lanes are in the middle of tasks.
    let heavy = plan(n, 200_000_000).replace(
        "max_steps = 1000",
        "max_steps = 1000\nmax_fuel = 1000000000000",
    );
    let run_thread = std::thread::spawn(move || run(&submitter, &heavy, Some(&u)));
    for round in 0..2 {
        let alive: Vec<usize> = (0..env.workers.len())
            .filter(|&i| env.workers[i].alive())
            .collect();
        assert!(!alive.is_empty(), "seed {seed}: every worker died");
        let victim = alive[rng.range(0, alive.len() as u64) as usize];
        // At work in this run once it has written a record of it; then a random moment.
        let skip = before.get(&env.workers[victim].home).copied().unwrap_or(0);
        let waiting = std::time::Instant::now();
        while records(&env.workers[victim].home).len() <= skip
            && waiting.elapsed() < Duration::from_secs(60)
        {
            std::thread::sleep(Duration::from_millis(20));
        }
        std::thread::sleep(Duration::from_millis(rng.range(0, 400)));
        eprintln!(
            "seed {seed}: killing {} (round {round})",
            env.workers[victim].name
        );
        env.workers[victim].kill();
        add_worker(env, &format!("k{seed:x}-{round}"));
    }
    let report = run_thread.join().unwrap();
    assert_eq!(
        report["status"], "done",
        "seed {seed}: {}",
        report["failed"]
    );
    assert_eq!(results(&report).len(), n, "seed {seed}");
    // Over every worker's own log, the killed ones too: a sub-agent's echo call is recorded
    // once, or more often only under a `possibly_repeated` record of that sub-agent.
    let mut calls: BTreeMap<String, usize> = BTreeMap::new();
    let mut repeated: Vec<String> = Vec::new();
    for w in &env.workers {
        let skip = before.get(&w.home).copied().unwrap_or(0);
        for r in records(&w.home).into_iter().skip(skip) {
            let e = &r["event"];
            let principal = e["principal"].as_str().unwrap_or_default().to_string();
            if e["kind"] == "call" && e["tool"] == "hostile.echo" {
                *calls.entry(principal).or_default() += 1;
            } else if e["kind"] == "access" && e["action"] == "possibly_repeated" {
                repeated.push(principal);
            }
        }
    }
    for i in 0..n {
        let p = format!("cli/a{i}");
        let c = calls.get(&p).copied().unwrap_or(0);
        assert!(c >= 1, "seed {seed}: {p} has no call record");
        assert!(
            c == 1 || repeated.contains(&p),
            "seed {seed}: {p} recorded {c} times, not marked possibly repeated"
        );
    }
    assert!(
        !repeated.is_empty(),
        "seed {seed}: no task was redelivered, so no worker died mid-task"
    );
    assert_eq!(verify(&url), 0, "seed {seed}");
}

fn a_nats_node_killed_mid_run_loses_nothing(env: &mut Env) {
    let url = env.cluster.url();
    let submitter = env.submitter.clone();
    let u = url.clone();
    let run_thread = std::thread::spawn(move || run(&submitter, &plan(30, 5_000_000), Some(&u)));
    std::thread::sleep(Duration::from_millis(1500));
    env.cluster.kill(2);
    let report = run_thread.join().unwrap();
    assert_eq!(report["status"], "done", "{}", report["failed"]);
    assert_eq!(results(&report).len(), 30);
    assert_eq!(verify(&url), 0);
}

/// Another build of the component, approved by another submitter: it reaches the object store,
/// but every worker's policy pins the first build, so the task is refused.
fn a_component_with_another_digest_is_refused(env: &Env) {
    // The hostile component with one more custom section: the same tools, another digest.
    let mut bytes = std::fs::read(guest("hostile")).unwrap();
    bytes.extend_from_slice(&[0, 6, 4, b's', b'p', b'u', b'd', b'x']);
    let dir = env.dir.path().join("other-build");
    std::fs::create_dir_all(&dir).unwrap();
    let wasm = dir.join("hostile.wasm");
    std::fs::write(&wasm, bytes).unwrap();
    let h = home_with(env.dir.path(), "other-submitter", &wasm);
    let report = run(&h, &plan(1, 10), Some(&env.cluster.url()));
    assert_eq!(report["status"], "failed", "{report}");
    let why = report["failed"]["a0"].as_str().unwrap_or_default();
    assert!(why.contains("denied") && why.contains("digest"), "{why}");
    let refused = env.workers.iter().any(|w| {
        records(&w.home)
            .iter()
            .any(|r| r["event"]["kind"] == "registry" && r["event"]["action"] == "digest_refused")
    });
    assert!(refused, "no worker recorded digest_refused");
}
