//! The crash-durability harness: `spud serve` (stdio) under load from several client threads,
//! killed with SIGKILL at random moments and restarted on the same home; afterwards every call
//! a client saw answered must have its audit record (matched by the digest of its unique
//! arguments), the chain must verify, and any torn tail must have been moved aside.

use crate::stdio_mcp::StdioMcp;
use crate::{guest, sidecar, write_policy};
use serde_json::{json, Value};
use std::collections::HashSet;
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// What one harness run found.
#[derive(Debug, Clone, Default)]
pub struct CrashReport {
    /// The durability mode (`process` or `fsync`).
    pub durability: String,
    /// Times the server was killed with SIGKILL.
    pub kills: usize,
    /// Calls a client saw answered successfully.
    pub acknowledged: usize,
    /// Acknowledged calls without a `call` record in the log afterwards (goal: 0).
    pub lost: usize,
    /// Torn tails moved aside on restart (`audit.jsonl.torn-N`), seen or injected.
    pub torn_recovered: usize,
    /// Torn tails the harness itself appended after a kill (a write cut short).
    pub torn_injected: usize,
    /// Records in the log at the end.
    pub records: usize,
    /// What `spud audit verify` said, when it failed (`None`: it passed).
    pub verify_failure: Option<String>,
}

/// A small deterministic generator (xorshift64*), so a run can be repeated from its seed.
pub struct Rng(u64);

impl Rng {
    /// A generator from `seed` (0 is replaced).
    pub fn new(seed: u64) -> Rng {
        Rng(seed.max(1))
    }

    /// The next number in `[lo, hi)`.
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        lo + self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) % (hi - lo).max(1)
    }
}

fn policy(durability: &str) -> String {
    format!(
        "[audit]\ndurability = \"{durability}\"\n\n[tools.hostile]\n\
         limits = {{ fuel = 1_000_000_000, timeout_ms = 5000, memory_mb = 32 }}\n"
    )
}

/// Registers the hostile test component in `home` under a policy with `durability`.
pub fn prepare(bin: &Path, home: &Path, durability: &str) -> std::path::PathBuf {
    let policy = write_policy(home, &policy(durability));
    let add = Command::new(bin)
        .arg("--home")
        .arg(home)
        .arg("--policy")
        .arg(&policy)
        .args(["tools", "add"])
        .arg(guest("hostile"))
        .arg("--manifest")
        .arg(sidecar("hostile"))
        .output()
        .expect("spud tools add");
    assert!(
        add.status.success(),
        "{}",
        String::from_utf8_lossy(&add.stderr)
    );
    policy
}

/// Runs `kills` rounds in `durability` mode with `clients` client threads, killing the server
/// after a random 50–400 ms of load each round; every `torn_every`-th round (0: never) appends
/// half a record after the kill, as a write cut short would leave it.
pub fn run(
    bin: &Path,
    home: &Path,
    durability: &str,
    kills: usize,
    clients: usize,
    torn_every: usize,
    seed: u64,
) -> CrashReport {
    let policy = prepare(bin, home, durability);
    let log = home.join("audit").join("audit.jsonl");
    let mut rng = Rng::new(seed);
    let acked: Arc<Mutex<Vec<String>>> = Arc::default();
    let mut report = CrashReport {
        durability: durability.to_string(),
        ..CrashReport::default()
    };
    for round in 0..kills {
        let mcp = Arc::new(StdioMcp::start(bin, home, &policy));
        let stop = Arc::new(AtomicBool::new(false));
        let threads: Vec<_> = (0..clients)
            .map(|c| {
                let (mcp, stop, acked) = (mcp.clone(), stop.clone(), acked.clone());
                std::thread::spawn(move || client(&mcp, &stop, &acked, round, c))
            })
            .collect();
        std::thread::sleep(Duration::from_millis(rng.range(50, 400)));
        kill9(mcp.pid());
        stop.store(true, Ordering::Relaxed);
        for t in threads {
            let _ = t.join();
        }
        drop(mcp);
        report.kills += 1;
        if torn_every > 0 && (round + 1) % torn_every == 0 {
            if let Ok(mut f) = std::fs::OpenOptions::new().append(true).open(&log) {
                use std::io::Write;
                let _ = f.write_all(br#"{"seq":999999,"time":"2026-12-02T00:00:00Z","prev":"ab"#);
                report.torn_injected += 1;
            }
        }
    }
    // One last start recovers the last round's tail; then a clean stop.
    StdioMcp::start(bin, home, &policy).close();
    let acked = acked.lock().map(|a| a.clone()).unwrap_or_default();
    report.acknowledged = acked.len();
    let recorded = recorded_digests(&log);
    report.records = recorded.1;
    report.lost = acked
        .iter()
        .filter(|s| !recorded.0.contains(&digest_of(s)))
        .count();
    report.torn_recovered = torn_files(&log);
    report.verify_failure = verify(bin, home, &policy);
    report
}

/// One client: unique `hostile.echo` calls one after another until told to stop or the server
/// is gone; each answered one is remembered.
fn client(mcp: &StdioMcp, stop: &AtomicBool, acked: &Mutex<Vec<String>>, round: usize, c: usize) {
    let mut n = 0u64;
    while !stop.load(Ordering::Relaxed) {
        let s = format!("r{round}-c{c}-n{n}");
        n += 1;
        let rx = mcp.call("hostile.echo", json!({ "s": s }));
        match rx.recv_timeout(Duration::from_secs(20)) {
            Ok(a) if !a.is_error() && a.text() == s => {
                if let Ok(mut v) = acked.lock() {
                    v.push(s);
                }
            }
            Ok(_) => {}
            Err(_) => return,
        }
    }
}

/// SIGKILL, through kill(1) (no extra crate in the tests).
fn kill9(pid: u32) {
    let _ = Command::new("kill")
        .args(["-KILL", &pid.to_string()])
        .status();
}

/// The digest the audit log keeps of the arguments `{"s": s}`.
pub fn digest_of(s: &str) -> String {
    let bytes = serde_json::to_vec(&json!({ "s": s })).unwrap_or_default();
    spud::audit::Payload::digest_of(&bytes).sha256
}

/// The argument digests of every `call` record of `hostile.echo` in the log, and how many
/// records it holds.
fn recorded_digests(log: &Path) -> (HashSet<String>, usize) {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let mut set = HashSet::new();
    let mut records = 0;
    for line in text.lines() {
        let Ok(v) = serde_json::from_str::<Value>(line) else {
            continue;
        };
        records += 1;
        let e = &v["event"];
        if e["tool"] == "hostile.echo" {
            if let Some(d) = e["args"]["sha256"].as_str() {
                set.insert(d.to_string());
            }
        }
    }
    (set, records)
}

fn torn_files(log: &Path) -> usize {
    let (Some(dir), Some(name)) = (log.parent(), log.file_name()) else {
        return 0;
    };
    let prefix = format!("{}.torn-", name.to_string_lossy());
    std::fs::read_dir(dir)
        .map(|d| {
            d.flatten()
                .filter(|e| e.file_name().to_string_lossy().starts_with(&prefix))
                .count()
        })
        .unwrap_or(0)
}

/// `spud audit verify`: `None` when it passes, else what it printed.
fn verify(bin: &Path, home: &Path, policy: &Path) -> Option<String> {
    let out = Command::new(bin)
        .arg("--home")
        .arg(home)
        .arg("--policy")
        .arg(policy)
        .args(["audit", "verify"])
        .output()
        .expect("spud audit verify");
    (!out.status.success()).then(|| {
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

/// A seed from the clock, printed by callers so a failing run can be repeated.
pub fn seed_from_clock() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(1)
        ^ u64::from(std::process::id())
}

/// How long `f` took.
pub fn timed<T>(f: impl FnOnce() -> T) -> (T, Duration) {
    let t = Instant::now();
    let r = f();
    (r, t.elapsed())
}
