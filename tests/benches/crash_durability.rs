//! Crash durability: `spud serve` (stdio) under load from four client threads, killed with
//! SIGKILL at a random moment (50–400 ms into each round) `CRASH_KILLS` times per durability mode
//! (default 50), restarted on the same home each time. Every 10th round half a record is
//! appended after the kill (a write cut short). Prints kills, acknowledged calls, records lost,
//! torn tails recovered and whether `spud audit verify` passed, per mode.
//! `cargo bench -p spud-tests --bench crash_durability` (after `scripts/build-guests.sh`); uses
//! the release binary when built. `CRASH_SEED` repeats a run.

use spud_tests::crash::{run, seed_from_clock, timed};
use spud_tests::{home, target_dir};

fn main() {
    let bin = [
        target_dir().join("release/spud"),
        target_dir().join("debug/spud"),
    ]
    .into_iter()
    .find(|b| b.exists())
    .expect("build spud first (cargo build -p spud)");
    let kills: usize = std::env::var("CRASH_KILLS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(50);
    let seed = std::env::var("CRASH_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(seed_from_clock);
    println!(
        "spud binary: {}; seed {seed}; 4 client threads over one stdio connection",
        bin.display()
    );
    println!(
        "{:<8} {:>5} {:>12} {:>5} {:>8} {:>8} {:>8} {:>7} {:>7}",
        "mode", "kills", "acknowledged", "lost", "torn in", "torn out", "records", "verify", "secs"
    );
    let mut failed = false;
    for mode in ["process", "fsync"] {
        let dir = home();
        let (r, took) = timed(|| run(&bin, dir.path(), mode, kills, 4, 10, seed));
        println!(
            "{:<8} {:>5} {:>12} {:>5} {:>8} {:>8} {:>8} {:>7} {:>7.0}",
            r.durability,
            r.kills,
            r.acknowledged,
            r.lost,
            r.torn_injected,
            r.torn_recovered,
            r.records,
            if r.verify_failure.is_none() {
                "ok"
            } else {
                "FAILED"
            },
            took.as_secs_f64()
        );
        if let Some(f) = &r.verify_failure {
            println!("{f}");
        }
        failed |= r.lost > 0 || r.verify_failure.is_some();
    }
    if failed {
        std::process::exit(1);
    }
}
