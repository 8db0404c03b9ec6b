//! `spud serve --http` under load from outside: `HTTP_LOAD_CLIENTS` clients (default 50, one MCP
//! session each, spread over five principals) for `HTTP_LOAD_SECS` seconds (default 60), each
//! sending, in turn, normal calls (`hostile.echo`) and — one call in ten each — denials (an
//! HTTP request to an address no grant allows), fuel-exhausting calls (`hostile.spin-forever`
//! under a 50M fuel limit) and memory bombs (`hostile.alloc-mb(256)` under 32 MiB). Prints
//! p50/p99 of the normal calls against an idle baseline, errors, calls refused as busy, peak
//! RSS, and RSS before, during and after.
//! `cargo build --release -p spud && cargo bench -p spud-tests --bench http_load`.

use serde_json::{json, Value};
use spud_tests::http_mcp::{rss_kib, HttpMcp, HttpServer};
use spud_tests::stdio_mcp::percentile_ms;
use spud_tests::{bench_runtime, guest, home, sidecar, target_dir, write_policy};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const TENANTS: usize = 5;
const TIMEOUT: Duration = Duration::from_secs(30);

fn policy() -> String {
    let mut p = String::from(
        "[tools.hostile]\nlimits = { fuel = 50_000_000, timeout_ms = 3000, memory_mb = 32 }\n",
    );
    for t in 0..TENANTS {
        p.push_str(&format!(
            "\n[principals.t{t}]\ntoken_env = \"SPUD_LOAD_T{t}\"\ntools = [\"hostile.*\"]\n\
             max_concurrent = 16\nrate_per_minute = 100_000_000\nburst = 100_000\n"
        ));
    }
    p
}

#[derive(Default)]
struct Counts {
    normal: AtomicU64,
    denied: AtomicU64,
    fuel: AtomicU64,
    memory: AtomicU64,
    busy: AtomicU64,
    errors: AtomicU64,
}

/// One call of kind `k` (0–6 normal, 7 denial, 8 fuel, 9 memory); the normal call's latency.
async fn one(c: &mut HttpMcp, k: u64, n: &Counts) -> Option<Duration> {
    let (tool, args, want) = match k {
        7 => (
            "hostile.http-get",
            json!({"url": "http://203.0.113.7/"}),
            "denied",
        ),
        8 => ("hostile.spin-forever", json!({}), "fuel"),
        9 => ("hostile.alloc-mb", json!({"mb": 256}), "memory"),
        _ => ("hostile.echo", json!({"s": "x"}), "x"),
    };
    let t = Instant::now();
    let r = c.call(tool, args).await;
    let took = t.elapsed();
    let text = |v: &Value| {
        v["result"]["content"][0]["text"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    };
    match r {
        Ok(v) if text(&v).starts_with("busy") => n.busy.fetch_add(1, Ordering::Relaxed),
        Ok(v) if k < 7 && text(&v) == want => {
            n.normal.fetch_add(1, Ordering::Relaxed);
            return Some(took);
        }
        Ok(v) if k >= 7 && text(&v).contains(want) => match k {
            7 => n.denied.fetch_add(1, Ordering::Relaxed),
            8 => n.fuel.fetch_add(1, Ordering::Relaxed),
            _ => n.memory.fetch_add(1, Ordering::Relaxed),
        },
        Ok(v) => {
            eprintln!("unexpected answer to {tool}: {v}");
            n.errors.fetch_add(1, Ordering::Relaxed)
        }
        Err(e) => {
            eprintln!("{tool}: {e}");
            n.errors.fetch_add(1, Ordering::Relaxed)
        }
    };
    None
}

fn env_num(k: &str, d: u64) -> u64 {
    std::env::var(k)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(d)
}

/// A home with the hostile component registered under the load policy, and the tenants' tokens.
fn prepare(bin: &Path) -> (tempfile::TempDir, PathBuf, Vec<(String, String)>) {
    let dir = home();
    let policy = write_policy(dir.path(), &policy());
    let add = Command::new(bin)
        .arg("--home")
        .arg(dir.path())
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
    let tokens = (0..TENANTS)
        .map(|t| {
            (
                format!("SPUD_LOAD_T{t}"),
                format!("load-token-{t}-0123456789"),
            )
        })
        .collect();
    (dir, policy, tokens)
}

/// Latencies of 300 normal calls on one idle session (after 50 to warm up).
async fn idle_baseline(url: &str, token: &str) -> Vec<Duration> {
    let mut c = HttpMcp::connect(url, token, TIMEOUT)
        .await
        .expect("connect");
    let n = Counts::default();
    for _ in 0..50 {
        one(&mut c, 0, &n).await;
    }
    let mut v = Vec::new();
    for _ in 0..300 {
        v.extend(one(&mut c, 0, &n).await);
    }
    v
}

/// One client's session until `stop`: its normal calls' latencies.
async fn client(
    url: String,
    token: String,
    first: u64,
    stop: Instant,
    n: Arc<Counts>,
) -> Vec<Duration> {
    let mut lat = Vec::new();
    let Ok(mut c) = HttpMcp::connect(&url, &token, TIMEOUT).await else {
        n.errors.fetch_add(1, Ordering::Relaxed);
        return lat;
    };
    let mut k = first;
    while Instant::now() < stop {
        lat.extend(one(&mut c, k % 10, &n).await);
        k += 1;
    }
    lat
}

/// `clients` sessions for `secs` seconds with the RSS of `pid` sampled: the normal calls' latencies.
async fn load(
    url: &str,
    tokens: &[(String, String)],
    clients: usize,
    secs: u64,
    pid: u32,
    counts: &Arc<Counts>,
    peak: &Arc<AtomicU64>,
) -> Vec<Duration> {
    let stop = Instant::now() + Duration::from_secs(secs);
    let tasks: Vec<_> = (0..clients)
        .map(|i| {
            let token = tokens[i % TENANTS].1.clone();
            tokio::spawn(client(
                url.to_string(),
                token,
                i as u64,
                stop,
                counts.clone(),
            ))
        })
        .collect();
    let peak = peak.clone();
    let sampler = tokio::spawn(async move {
        while Instant::now() < stop {
            peak.fetch_max(rss_kib(pid).0, Ordering::Relaxed);
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    });
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap_or_default());
    }
    let _ = sampler.await;
    all
}

fn row(what: &str, v: &[Duration]) {
    println!(
        "normal calls {what:<7} n={:>6} p50 {:>8.2} ms p99 {:>8.2} ms max {:>8.2} ms",
        v.len(),
        percentile_ms(v, 50.0),
        percentile_ms(v, 99.0),
        percentile_ms(v, 100.0)
    );
}

fn main() {
    let clients = env_num("HTTP_LOAD_CLIENTS", 50) as usize;
    let secs = env_num("HTTP_LOAD_SECS", 60);
    let bin = [
        target_dir().join("release/spud"),
        target_dir().join("debug/spud"),
    ]
    .into_iter()
    .find(|b| b.exists())
    .expect("build spud first");
    let (dir, policy, tokens) = prepare(&bin);
    let env: Vec<(&str, &str)> = tokens
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let server = HttpServer::start(&bin, dir.path(), &policy, &env);
    let pid = server.pid();
    let rt = bench_runtime();
    let url = server.url.clone();
    let idle = rt.block_on(idle_baseline(&url, &tokens[0].1));
    let rss_before = rss_kib(pid).0;
    let counts = Arc::new(Counts::default());
    let peak = Arc::new(AtomicU64::new(0));
    let normal = rt.block_on(load(&url, &tokens, clients, secs, pid, &counts, &peak));
    std::thread::sleep(Duration::from_secs(3));
    let (rss_after, hwm) = rss_kib(pid);
    let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
    println!(
        "spud binary: {}; {clients} clients over {TENANTS} principals for {secs} s",
        bin.display()
    );
    row("idle", &idle);
    row("loaded", &normal);
    let c = &counts;
    println!(
        "denied {}  fuel-exhausted {}  memory-limited {}  busy {}  errors {}",
        get(&c.denied),
        get(&c.fuel),
        get(&c.memory),
        get(&c.busy),
        get(&c.errors)
    );
    println!(
        "RSS: before {} MiB, peak sampled {} MiB, peak (VmHWM) {} MiB, 3 s after {} MiB",
        rss_before / 1024,
        get(&peak) / 1024,
        hwm / 1024,
        rss_after / 1024
    );
    drop(server);
}
