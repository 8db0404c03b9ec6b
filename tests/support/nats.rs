//! A real NATS JetStream cluster on 127.0.0.1 (Debian's `nats-server`, installed by
//! `scripts/setup-nats.sh`) and `spud worker` processes for tests/cluster.rs and the cluster
//! benchmark: every node and worker is a child process, killed when dropped.

use crate::db::free_port;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The `nats-server` binary: `$SPUD_NATS_SERVER`, else on the `PATH` (or `/usr/sbin`); `None`
/// outside CI when it is missing (in CI a missing server fails the test).
pub fn nats_server() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("SPUD_NATS_SERVER") {
        return Some(PathBuf::from(p));
    }
    let mut dirs: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect())
        .unwrap_or_default();
    dirs.push(PathBuf::from("/usr/sbin"));
    let found = dirs
        .into_iter()
        .map(|d| d.join("nats-server"))
        .find(|p| p.is_file());
    if found.is_none() {
        let msg = "nats-server is missing: run scripts/setup-nats.sh (scripts/setup-tests.sh does)";
        assert!(std::env::var("CI").as_deref() != Ok("true"), "{msg}");
        eprintln!("skipped: {msg}");
    }
    found
}

/// One node of the cluster.
pub struct Node {
    child: Option<Child>,
    /// Its client port.
    pub port: u16,
}

/// A cluster of `nats-server` nodes with JetStream, each with its store under `dir`.
pub struct NatsCluster {
    /// The nodes, in start order.
    pub nodes: Vec<Node>,
}

impl Drop for NatsCluster {
    fn drop(&mut self) {
        for i in 0..self.nodes.len() {
            self.kill(i);
        }
    }
}

impl NatsCluster {
    /// Starts `n` routed nodes with JetStream under `dir`; `None` when `nats-server` is missing
    /// (outside CI).
    pub fn start(dir: &Path, n: usize) -> Option<NatsCluster> {
        let bin = nats_server()?;
        let ports: Vec<(u16, u16)> = (0..n).map(|_| (free_port(), free_port())).collect();
        let routes: Vec<String> = ports
            .iter()
            .map(|(_, c)| format!("\"nats-route://127.0.0.1:{c}\""))
            .collect();
        let mut nodes = Vec::new();
        for (i, (port, cport)) in ports.iter().enumerate() {
            let store = dir.join(format!("n{i}"));
            let conf = format!(
                "server_name: n{i}\nlisten: 127.0.0.1:{port}\njetstream {{ store_dir: \"{}\", max_memory_store: 64MB, max_file_store: 2GB }}\ncluster {{ name: spud-test, listen: 127.0.0.1:{cport}, routes: [{}] }}\n",
                store.display(),
                routes.join(", ")
            );
            let file = dir.join(format!("n{i}.conf"));
            std::fs::write(&file, conf).expect("write nats config");
            let child = Command::new(&bin)
                .arg("-c")
                .arg(&file)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("start nats-server");
            nodes.push(Node {
                child: Some(child),
                port: *port,
            });
        }
        for node in &nodes {
            wait_for_port(node.port, Duration::from_secs(20));
        }
        Some(NatsCluster { nodes })
    }

    /// The URL of every node, comma-separated (what spud connects with).
    pub fn url(&self) -> String {
        self.nodes
            .iter()
            .map(|n| format!("nats://127.0.0.1:{}", n.port))
            .collect::<Vec<_>>()
            .join(",")
    }

    /// Kills node `i` with SIGKILL (no clean shutdown).
    pub fn kill(&mut self, i: usize) {
        if let Some(mut c) = self.nodes[i].child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// Waits until something accepts connections on 127.0.0.1:`port`.
pub fn wait_for_port(port: u16, limit: Duration) {
    let start = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            start.elapsed() < limit,
            "nothing listens on {port} after {limit:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A `spud worker` process with its own home; killed (SIGKILL) when dropped.
pub struct WorkerProcess {
    child: Option<Child>,
    /// Its home (registry, policy, audit log, runs).
    pub home: PathBuf,
    /// Its name in the cluster.
    pub name: String,
}

impl WorkerProcess {
    /// Starts `spud worker` named `name` on `url` with the home `home` and `policy`, and
    /// `extra` arguments (`--replicas`, `--ack-wait-ms`).
    pub fn start(
        bin: &Path,
        home: &Path,
        policy: &Path,
        url: &str,
        name: &str,
        extra: &[&str],
    ) -> WorkerProcess {
        let log = std::fs::File::create(home.join("worker.log")).expect("worker log");
        let child = Command::new(bin)
            .arg("--home")
            .arg(home)
            .arg("--policy")
            .arg(policy)
            .args(["worker", "--nats", url, "--name", name])
            .args(extra)
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start spud worker");
        WorkerProcess {
            child: Some(child),
            home: home.to_path_buf(),
            name: name.to_string(),
        }
    }

    /// Kills it with SIGKILL, wherever it is in its work.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Stops it with SIGSTOP: it keeps its connections and its work, but neither heartbeats
    /// nor answers — a worker cut off from the cluster.
    pub fn pause(&self) {
        self.signal("-STOP");
    }

    /// Lets a paused worker go on (SIGCONT), as when a partition heals.
    pub fn resume(&self) {
        self.signal("-CONT");
    }

    fn signal(&self, which: &str) {
        if let Some(c) = &self.child {
            let ok = Command::new("kill")
                .args([which, &c.id().to_string()])
                .status()
                .is_ok_and(|s| s.success());
            assert!(ok, "kill {which} {}", c.id());
        }
    }

    /// The worker's log (its stderr) so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.home.join("worker.log")).unwrap_or_default()
    }

    /// Whether it is still running.
    pub fn alive(&mut self) -> bool {
        self.child
            .as_mut()
            .is_some_and(|c| matches!(c.try_wait(), Ok(None)))
    }
}

impl Drop for WorkerProcess {
    fn drop(&mut self) {
        self.kill();
    }
}
