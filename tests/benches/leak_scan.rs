//! What scanning outbound HTTP for registered secrets costs: `http.fetch` POSTs to a server on
//! 127.0.0.1, each in a fresh sandbox, with no secrets registered (bodies stream through) and
//! with secrets registered (two named values and three patterns; the body is held back and
//! scanned, and passes). 1 KiB and 64 KiB bodies, 200 calls each, medians.
//! `cargo bench -p spud-tests --bench leak_scan` after `scripts/build-guests.sh`.

use serde_json::json;
use spud::{Spud, SpudOptions};
use spud_tests::{guest, home, median, write_policy, TestServer};
use std::time::Instant;

const CALLS: usize = 200;

fn main() {
    let rt = spud_tests::bench_runtime();
    let server = TestServer::start();
    let port = server.addr.port();
    let grant = format!("[tools.http]\nnetwork = [\"http://127.0.0.1:{port}\"]\n");
    // Two named secrets (an env grant's value and a fixed one) and three patterns.
    let secrets = "[secrets]\nenv = [\"SPUD_BENCH_UNSET\"]\npatterns = [\"sk-live-[A-Za-z0-9]{24}\", \"ghp_[A-Za-z0-9]{36}\", \"AKIA[0-9A-Z]{16}\"]\n";
    let env = "env = [\"API_TOKEN=tok-0123456789abcdef\", \"DB_PASSWORD=correct-horse-battery\"]\n";
    let mut rows = Vec::new();
    for (label, policy) in [
        ("no secrets registered", grant.clone()),
        (
            "secrets registered (scanned)",
            format!("{secrets}{grant}{env}"),
        ),
    ] {
        let dir = home();
        let policy = write_policy(dir.path(), &policy);
        let spud = Spud::open(SpudOptions {
            home: Some(dir.path().join("home")),
            policy: Some(policy),
            principal: Some("bench".into()),
        })
        .expect("open");
        rt.block_on(spud.add(&guest("http"), None, None))
            .expect("add");
        for kib in [1usize, 64] {
            let body: String = "spud ".repeat(kib * 1024 / 5);
            let input = json!({"url": format!("http://127.0.0.1:{port}/hello"), "method": "POST", "body": body});
            let mut times = Vec::with_capacity(CALLS);
            for i in 0..CALLS + 10 {
                let t = Instant::now();
                let r = rt.block_on(spud.call("http.fetch", &input)).expect("call");
                assert!(r.outcome.is_ok(), "{:?}", r.outcome);
                if i >= 10 {
                    times.push(t.elapsed().as_secs_f64() * 1e6);
                }
            }
            let m = median(times);
            rows.push((label, kib, m));
            println!("{label:<30} body {kib:>2} KiB: median {m:>8.0} µs per call");
        }
    }
    // The scan alone: a 64 KiB body against the same secrets.
    let policy = spud::policy::Policy::parse(
        &format!("{secrets}{grant}{env}"),
        "bench.toml",
        std::path::Path::new("."),
        false,
    )
    .expect("policy");
    let guard = spud::policy::LeakGuard::new(&policy, |_| None);
    let text = "spud ".repeat(64 * 1024 / 5);
    let scans: Vec<f64> = (0..200)
        .map(|_| {
            let t = Instant::now();
            let found = guard.leaks(&text, spud::policy::Scheme::Http, "127.0.0.1", port);
            assert!(found.is_empty());
            t.elapsed().as_secs_f64() * 1e6
        })
        .collect();
    println!(
        "scan of a 64 KiB body alone: median {:.0} µs",
        median(scans)
    );
    for kib in [1usize, 64] {
        let of = |l: &str| {
            rows.iter()
                .find(|r| r.0 == l && r.1 == kib)
                .map_or(0.0, |r| r.2)
        };
        let plain = of("no secrets registered");
        let scanned = of("secrets registered (scanned)");
        println!(
            "body {kib:>2} KiB: scanning adds {:>6.0} µs per call ({:+.1} %)",
            scanned - plain,
            (scanned / plain - 1.0) * 100.0
        );
    }
}
