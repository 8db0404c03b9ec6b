//! `spud worker --nats URL`, and the cluster side of `spud run --nats`, `spud call --nats`,
//! `spud serve --nats` and `spud audit verify --nats`.

use super::output::{fail, print_json, EXIT_USAGE};
use spud::cluster::{verify_cluster, Cluster, ClusterSettings, Submitter, Worker};
use spud::memory::MemoryOptions;
use spud::service::Spud;
use std::sync::Arc;
use std::time::Duration;

/// How to reach the cluster (shared by every command that talks to it).
#[derive(clap::Args, Clone, Debug)]
pub struct NatsArgs {
    /// Replicas of the cluster's streams and buckets when they are created (default: 3 when
    /// the cluster advertises 3 or more servers, else 1).
    #[arg(long)]
    pub replicas: Option<usize>,
    /// How long a task may go without an ack or heartbeat before it is redelivered, ms.
    #[arg(long, default_value_t = 10_000)]
    pub ack_wait_ms: u64,
    /// How long a single tool call (`spud call --nats`, `spud serve --nats`) waits for a
    /// worker's answer, ms.
    #[arg(long, default_value_t = 300_000)]
    pub call_wait_ms: u64,
}

impl NatsArgs {
    /// The settings for `url`.
    pub fn settings(&self, url: &str) -> ClusterSettings {
        let mut s = ClusterSettings::new(url);
        s.replicas = self.replicas;
        s.ack_wait = Duration::from_millis(self.ack_wait_ms.max(100));
        s.call_wait = Duration::from_millis(self.call_wait_ms.max(1));
        s
    }
}

#[derive(clap::Args)]
pub struct WorkerArgs {
    /// The NATS server(s) of the cluster (`nats://127.0.0.1:4222`, comma-separated).
    #[arg(long, env = "SPUD_NATS")]
    nats: String,
    /// This worker's name: its audit chain in the cluster (default: `worker-PID`).
    #[arg(long)]
    name: Option<String>,
    /// Tasks run at once.
    #[arg(long, default_value_t = 4)]
    concurrency: usize,
    #[command(flatten)]
    cluster: NatsArgs,
}

/// `spud worker`: takes tasks until stopped.
pub async fn worker(spud: Spud, args: WorkerArgs) -> i32 {
    let cluster = match Cluster::connect(&args.cluster.settings(&args.nats)).await {
        Ok(c) => c,
        Err(e) => return fail(&e.to_string(), 1),
    };
    let name = args
        .name
        .unwrap_or_else(|| format!("worker-{}", std::process::id()));
    eprintln!("spud worker {name}: taking tasks from {}", args.nats);
    let worker = Arc::new(Worker::new(&name, Arc::new(spud), cluster));
    match worker.run(args.concurrency).await {
        Ok(()) => 0,
        Err(e) => fail(&e.to_string(), 1),
    }
}

/// The submitter of this process's tasks: the sub-agents of `spud run --nats` and of `spud
/// serve --nats`'s `run_agent`, and single tool calls (`spud call --nats`, `spud serve --nats`).
pub async fn submitter(url: &str, args: &NatsArgs, spud: Arc<Spud>) -> Result<Submitter, String> {
    let cluster = Cluster::connect(&args.settings(url))
        .await
        .map_err(|e| e.to_string())?;
    Ok(Submitter::new(cluster, spud))
}

/// `spud run --nats URL --plan FILE --on-worker`: the whole run on some worker; prints its
/// report (or a line naming the worker) and keeps a copy in this home's `runs/ID/report.json`.
pub async fn run_on_worker(
    url: &str,
    args: &NatsArgs,
    spud: Arc<Spud>,
    plan: spud::plan::Plan,
    json: bool,
    memory: bool,
) -> i32 {
    let submitter = match submitter(url, args, spud.clone()).await {
        Ok(s) => s,
        Err(e) => return fail(&e, 1),
    };
    let id = spud::agent::run::run_id();
    let caller = spud.operator();
    let ran = match submitter.run_whole(&id, plan, &caller, memory).await {
        Ok(r) => r,
        Err(e) => return fail(&e.to_string(), 1),
    };
    let dir = spud.home().root().join("runs").join(&id);
    let copy = std::fs::create_dir_all(&dir)
        .and_then(|()| std::fs::write(dir.join("report.json"), ran.report.to_string()));
    if let Err(e) = copy {
        eprintln!(
            "spud: warning: the report was not copied to {}: {e}",
            dir.display()
        );
    }
    let status = ran.report["status"]
        .as_str()
        .unwrap_or("failed")
        .to_string();
    if json {
        print_json(&ran.report);
    } else {
        println!(
            "{status}: run {id} ran on worker {} (delivery {}); its trace is in that worker's home, the report also in {}",
            ran.worker,
            ran.delivery,
            dir.join("report.json").display()
        );
    }
    match status.as_str() {
        "done" => 0,
        "budget_exhausted" => 4,
        _ => 1,
    }
}

/// Exchanges the lessons of `memory` with the cluster (`spud run --nats`, before planning and
/// after the run); a failure is a warning, never the run's failure.
pub async fn exchange_lessons(url: &str, args: &NatsArgs, memory: &MemoryOptions) {
    let exchanged = match Cluster::connect(&args.settings(url)).await {
        Ok(cluster) => spud::cluster::exchange_lessons(&cluster, memory).await,
        Err(e) => Err(e),
    };
    match exchanged {
        Ok(x) => tracing::debug!(
            "lessons: {} from the cluster, {} to it",
            x.imported,
            x.exported
        ),
        Err(e) => eprintln!("spud: warning: lessons not shared with the cluster: {e}"),
    }
}

/// `spud runs fetch RUN --nats URL`: run `RUN`'s trace and report, and its sub-agents', from
/// the cluster into `home`'s `runs/`.
pub async fn fetch(url: &str, run: &str, home: &spud::home::Home, json: bool) -> i32 {
    let cluster = match Cluster::connect(&ClusterSettings::new(url)).await {
        Ok(c) => c,
        Err(e) => return fail(&e.to_string(), EXIT_USAGE),
    };
    let runs = home.root().join("runs");
    let dirs = match spud::cluster::fetch_run(&cluster, run, &runs).await {
        Ok(d) => d,
        Err(e) => return fail(&e.to_string(), 1),
    };
    if dirs.is_empty() {
        return fail(
            &format!(
                "the cluster holds no run `{run}` (workers store the runs they run when each ends)"
            ),
            1,
        );
    }
    if json {
        print_json(&serde_json::json!({ "run": run, "fetched": dirs }));
    } else {
        for d in &dirs {
            println!("{}", runs.join(d).display());
        }
    }
    0
}

/// `spud audit verify --nats URL`: every worker's chain from the cluster's audit stream.
pub async fn verify(url: &str, json: bool) -> i32 {
    let cluster = match Cluster::connect(&ClusterSettings::new(url)).await {
        Ok(c) => c,
        Err(e) => return fail(&e.to_string(), EXIT_USAGE),
    };
    let chains = match verify_cluster(&cluster).await {
        Ok(c) => c,
        Err(e) => return fail(&e.to_string(), 1),
    };
    let broken = chains.iter().any(|c| !c.problems.is_empty());
    if json {
        print_json(&chains);
    } else {
        for c in &chains {
            let state = if c.problems.is_empty() {
                "intact"
            } else {
                "BROKEN"
            };
            println!("{}: {} records, {state}", c.worker, c.records);
            for p in &c.problems {
                println!("  {p}");
            }
        }
    }
    i32::from(broken)
}
