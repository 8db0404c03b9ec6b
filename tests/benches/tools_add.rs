//! The trust chain's cost: `spud tools add oci://…` of a 1 MB component (`fs.wasm`, 1.2 MB)
//! from a real registry on 127.0.0.1 (Debian's `docker-registry`, basic auth), cold (a fresh
//! home: pull, verify, compile) and with the precompiled cache (same digest, a second name),
//! each unsigned and with a required signature; beside `oras pull` of the same artifact and
//! `spud tools add FILE` of the same component from disk. Then the verification alone, in
//! process: the signature check and the sha256 of the component.
//!
//! `cargo build --release -p spud && cargo bench -p spud-tests --bench tools_add` (after
//! `scripts/build-guests.sh` and `scripts/setup-registry.sh`). `ADD_ROUNDS` sets the rounds
//! (default 9); the variants run interleaved, one of each per round, and medians are reported.

#[path = "../trust/harness.rs"]
#[allow(dead_code)]
mod harness;

use spud_tests::{guest, median, target_dir, workspace};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Instant;

fn bin() -> PathBuf {
    let release = target_dir().join("release/spud");
    if release.exists() {
        return release;
    }
    eprintln!("target/release/spud is missing: timing the debug build");
    spud_tests::spud_bin()
}

fn spud(home: &Path, args: &[&str]) -> Output {
    let o = Command::new(bin())
        .arg("--home")
        .arg(home)
        .args(args)
        .current_dir(home)
        .env_remove("SPUD_POLICY")
        .env("SPUD_REGISTRY_USER", harness::USER)
        .env("SPUD_REGISTRY_PASSWORD", harness::PASSWORD)
        .output()
        .expect("spawn spud");
    assert!(o.status.success(), "spud {args:?}: {}", harness::text(&o));
    o
}

/// Wall time of `f` in ms.
fn ms(f: impl FnOnce()) -> f64 {
    let t = Instant::now();
    f();
    t.elapsed().as_secs_f64() * 1e3
}

struct Setup {
    source: String,
    work: tempfile::TempDir,
}

impl Setup {
    fn policy(&self) -> String {
        self.work.path().join("policy.toml").display().to_string()
    }
}

/// Publishes and signs the component; writes the policy that requires the signature.
fn publish() -> Setup {
    let work = tempfile::tempdir().expect("tempdir");
    let source = format!("oci://{}/bench/fs:1", harness::registry().addr);
    let fs = guest("fs");
    let w = work.path();
    spud(w, &["tools", "push", fs.to_str().unwrap(), &source]);
    spud(w, &["keys", "generate", "bench"]);
    spud(w, &["tools", "sign", &source, "--key", "bench.key"]);
    let policy = "[trust]\nsigned_by = [\"bench\"]\n\n[keys.bench]\npublic_key = \"bench.pub\"\n";
    std::fs::write(w.join("policy.toml"), policy).expect("policy");
    Setup { source, work }
}

fn oras_pull(source: &str) {
    let out = tempfile::tempdir().expect("tempdir");
    let o = Command::new(target_dir().join("py-oras/bin/python"))
        .arg(workspace().join("tests/trust/oras_pull.py"))
        .arg(source.trim_start_matches("oci://"))
        .arg(out.path())
        .env("ORAS_USER", harness::USER)
        .env("ORAS_PASSWORD", harness::PASSWORD)
        .output()
        .expect("oras");
    assert!(o.status.success(), "oras pull: {}", harness::text(&o));
}

#[derive(Default)]
struct Times {
    cold: Vec<f64>,
    cold_signed: Vec<f64>,
    cached: Vec<f64>,
    cached_signed: Vec<f64>,
    file: Vec<f64>,
    oras: Vec<f64>,
}

fn round(s: &Setup, warm: &Path, i: usize, t: &mut Times) {
    let policy = s.policy();
    let src = s.source.as_str();
    let fresh = || tempfile::tempdir().expect("home");
    let h = fresh();
    t.cold
        .push(ms(|| drop(spud(h.path(), &["tools", "add", src]))));
    let h = fresh();
    t.cold_signed.push(ms(|| {
        drop(spud(h.path(), &["--policy", &policy, "tools", "add", src]))
    }));
    let name = format!("fs{i}");
    t.cached.push(ms(|| {
        drop(spud(warm, &["tools", "add", src, "--name", &name]))
    }));
    let name = format!("signed{i}");
    t.cached_signed.push(ms(|| {
        drop(spud(
            warm,
            &["--policy", &policy, "tools", "add", src, "--name", &name],
        ))
    }));
    let h = fresh();
    let fs = guest("fs");
    t.file.push(ms(|| {
        drop(spud(h.path(), &["tools", "add", fs.to_str().unwrap()]))
    }));
    t.oras.push(ms(|| oras_pull(src)));
}

fn verification_alone() {
    let keys = spud_trust::generate().expect("key");
    let public = spud_trust::PublicKey::from_pem(&keys.public_pem).expect("pub");
    let wasm = std::fs::read(guest("fs")).expect("fs.wasm");
    let digest = spud_trust::sha256_digest(&wasm);
    let signed = spud_trust::sign(&keys.private_pem, "bench/fs", &digest).expect("sign");
    let trusted = vec![("bench".to_string(), public)];
    let n = 2000;
    let t = Instant::now();
    for _ in 0..n {
        let who = spud_trust::verify(&trusted, "bench/fs", &digest, std::slice::from_ref(&signed));
        assert_eq!(who.as_deref().ok(), Some("bench"));
    }
    let verify_us = t.elapsed().as_secs_f64() * 1e6 / n as f64;
    let n = 50;
    let t = Instant::now();
    for _ in 0..n {
        std::hint::black_box(spud_trust::sha256_digest(&wasm));
    }
    let hash_us = t.elapsed().as_secs_f64() * 1e6 / n as f64;
    println!(
        "verification alone: ECDSA P-256 signature {verify_us:.0} µs; sha256 of the {:.2} MB component {hash_us:.0} µs",
        wasm.len() as f64 / 1e6
    );
}

fn main() {
    if !harness::available() {
        return;
    }
    let rounds = std::env::var("ADD_ROUNDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(9);
    let s = publish();
    let warm = tempfile::tempdir().expect("home");
    spud(warm.path(), &["tools", "add", &s.source]);
    let mut t = Times::default();
    for i in 0..rounds {
        round(&s, warm.path(), i, &mut t);
    }
    println!("`spud tools add` of fs.wasm (1.2 MB), median of {rounds} interleaved rounds, whole processes:");
    let row = |what: &str, v: &Vec<f64>| println!("  {what:<44} {:>8.1} ms", median(v.clone()));
    row("oci://, cold (pull + compile), unsigned", &t.cold);
    row("oci://, cold, signature required", &t.cold_signed);
    row("oci://, precompiled cache, unsigned", &t.cached);
    row(
        "oci://, precompiled cache, signature required",
        &t.cached_signed,
    );
    row("local file, cold (compile)", &t.file);
    row("`oras pull` of the same artifact (Python)", &t.oras);
    verification_alone();
}
