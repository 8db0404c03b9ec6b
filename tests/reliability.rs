//! Reliability from outside the server.
//!
//! Crash durability, the short version the test suite runs (the benchmark
//! `tests/benches/crash_durability.rs` kills 50 times per mode): `spud serve` under load from
//! four client threads, killed with SIGKILL five times at random moments and restarted on the
//! same home, in both durability modes. No call a client saw answered may be missing from the
//! audit log, the chain must verify, and a torn tail (two are injected: half a record appended
//! after a kill) must be moved aside on restart.
//!
//! Fair under load: a trivial call is answered while four CPU-bound calls are still running on
//! the same stdio connection (the latency figures are in `tests/benches/fair_load.rs`).

use serde_json::json;
use spud_tests::crash::{prepare, run, seed_from_clock};
use spud_tests::stdio_mcp::StdioMcp;
use spud_tests::{home, spud_bin, write_policy};
use std::time::Duration;

fn check(durability: &str) {
    let dir = home();
    let seed = seed_from_clock();
    let r = run(&spud_bin(), dir.path(), durability, 5, 4, 2, seed);
    eprintln!("seed {seed}: {r:?}");
    assert_eq!(r.kills, 5);
    assert!(r.acknowledged > 0, "the clients saw calls answered: {r:?}");
    assert_eq!(
        r.lost, 0,
        "acknowledged calls missing from the audit log: {r:?}"
    );
    assert_eq!(
        r.verify_failure, None,
        "the chain verifies after the crashes"
    );
    assert_eq!(r.torn_injected, 2);
    assert!(
        r.torn_recovered >= r.torn_injected,
        "every torn tail was moved aside: {r:?}"
    );
}

#[test]
fn sigkill_under_load_loses_no_acknowledged_call_in_process_mode() {
    check("process");
}

#[test]
fn sigkill_under_load_loses_no_acknowledged_call_in_fsync_mode() {
    check("fsync");
}

#[test]
fn a_trivial_call_is_answered_while_cpu_bound_calls_run() {
    let dir = home();
    let bin = spud_bin();
    prepare(&bin, dir.path(), "process");
    let policy = write_policy(
        dir.path(),
        "[tools.hostile]\nlimits = { fuel = 1_000_000_000_000, timeout_ms = 4000 }\n",
    );
    let mcp = StdioMcp::start(&bin, dir.path(), &policy);
    let spinners: Vec<_> = (0..4)
        .map(|_| mcp.call("hostile.spin-forever", json!({})))
        .collect();
    std::thread::sleep(Duration::from_millis(300));
    let echo = mcp
        .call_wait("hostile.echo", json!({"s": "hi"}), Duration::from_secs(30))
        .expect("echo answered");
    assert_eq!(echo.text(), "hi", "{:?}", echo.response);
    for s in &spinners {
        assert!(
            s.try_recv().is_err(),
            "the trivial call was answered before any CPU-bound call ended (4 s deadline)"
        );
    }
    for s in spinners {
        let a = s
            .recv_timeout(Duration::from_secs(30))
            .expect("spinner answered");
        assert!(a.is_error(), "{:?}", a.response);
        assert!(
            a.text().contains("deadline") || a.text().contains("time"),
            "{}",
            a.text()
        );
    }
}
