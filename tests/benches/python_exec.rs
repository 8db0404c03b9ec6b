//! Latency of a small Python program (`print(sum(range(10**6)))`) in the `python` plugin:
//! the first call in a fresh `spud` process, a warm call in a running host, and `python3 -c` as
//! a subprocess — the floor any process-based sandbox pays. p50 of 15 runs each, one run.
//! `cargo bench -p spud-tests --bench python_exec` after `scripts/build-guests.sh` (which builds
//! the plugin) and `cargo build --release -p spud` (the fresh-process figure uses that binary).

use serde_json::json;
use spud::sandbox::Outcome;
use spud::{Spud, SpudOptions};
use spud_tests::{guest, home, median, target_dir, timed_ms};
use std::process::Command;
use std::sync::Arc;

const CODE: &str = "print(sum(range(10**6)))";
const RUNS: usize = 15;

fn main() {
    let rt = spud_tests::bench_runtime();
    let dir = home();
    let scratch = tempfile::tempdir().expect("scratch");
    let policy = dir.path().join("policy.toml");
    std::fs::write(
        &policy,
        format!(
            "[tools.python]\nfiles = [{{ host = {:?}, guest = \"/scratch\", access = \"read-write\" }}]\n",
            scratch.path().display().to_string()
        ),
    )
    .expect("policy");
    let spud = Arc::new(
        Spud::open(SpudOptions {
            home: Some(dir.path().to_path_buf()),
            policy: Some(policy.clone()),
            principal: Some("bench".into()),
        })
        .expect("open"),
    );
    rt.block_on(spud.add(&guest("python"), None, None))
        .expect("the python plugin installs (run scripts/build-guests.sh)");
    let args = json!({ "code": CODE });

    // Warm: a running host, a fresh sandbox per call from the pre-instantiated component.
    let mut inner = Vec::new();
    let warm = timed_ms(RUNS, || {
        let r = rt.block_on(spud.call("python.run", &args)).expect("call");
        match &r.outcome {
            Outcome::Ok { value } => assert_eq!(value["stdout"], "499999500000\n"),
            other => panic!("python.run failed: {}", other.message()),
        }
        inner.push(r.duration_us as f64 / 1e3);
    });

    // Fresh process: the spud binary starts, opens its home, loads the cached precompiled
    // component and makes one call.
    let release = target_dir().join("release/spud");
    let bin = if release.exists() {
        release
    } else {
        target_dir().join("debug/spud")
    };
    let fresh = timed_ms(RUNS, || {
        let out = Command::new(&bin)
            .arg("--home")
            .arg(dir.path())
            .arg("--policy")
            .arg(&policy)
            .args(["call", "python.run"])
            .arg(args.to_string())
            .env_remove("SPUD_POLICY")
            .output()
            .expect("spud runs");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    });

    let native = timed_ms(RUNS, || {
        let out = Command::new("python3")
            .args(["-c", CODE])
            .output()
            .expect("python3 runs");
        assert_eq!(String::from_utf8_lossy(&out.stdout), "499999500000\n");
    });

    println!("print(sum(range(10**6))), p50 of {RUNS} runs:");
    println!(
        "  warm call in a running host:     {:7.1} ms (guest time {:.1} ms)",
        median(warm),
        median(inner)
    );
    println!(
        "  fresh `{}` process: {:7.1} ms",
        bin.display(),
        median(fresh)
    );
    println!(
        "  `python3 -c` subprocess:         {:7.1} ms",
        median(native)
    );
}
