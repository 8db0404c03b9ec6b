//! `spud audit verify`: the hash chain, then the signed checkpoints.

use super::output::{fail, print_json, EXIT_USAGE};
use spud::home::Home;
use spud_audit::{CheckpointKey, KeyedReport, PublicKey, VerifyReport, KEY_ENV, KEY_FILE_ENV};
use std::path::{Path, PathBuf};

/// The chain is broken: records edited, deleted, inserted, reordered or cut from the end.
pub const EXIT_CHAIN: i32 = 1;
/// A checkpoint's signature does not verify under the trusted key (wrong key, forged or
/// edited checkpoint), or there are checkpoints and no key to check them.
pub const EXIT_SIGNATURE: i32 = 5;
/// The log contradicts its checkpoints: a forged tail, a rollback, a rewrite, a deleted anchor
/// or deleted checkpoints.
pub const EXIT_CHECKPOINT: i32 = 6;
/// `--require-covered`: some records are not yet covered by a checkpoint.
pub const EXIT_UNCOVERED: i32 = 7;

/// What `spud audit verify` was asked.
pub struct VerifyArgs {
    pub json: bool,
    pub file: Option<PathBuf>,
    pub checkpoints: Option<PathBuf>,
    pub public_key: Option<String>,
    pub require_covered: bool,
}

/// The key checkpoints are checked against: `--public-key`, else the key spud signs with
/// (`SPUD_AUDIT_KEY`, `SPUD_AUDIT_KEY_FILE`, the home's key file) when there is one. Never
/// creates a key.
fn trusted_key(args: &VerifyArgs, home: &Home) -> Result<Option<PublicKey>, String> {
    if let Some(hex) = &args.public_key {
        return PublicKey::from_hex(hex)
            .map(Some)
            .map_err(|e| e.to_string());
    }
    let default = home.audit_key_file();
    let has_key = std::env::var_os(KEY_ENV).is_some()
        || std::env::var_os(KEY_FILE_ENV).is_some()
        || default.exists();
    if !has_key {
        return Ok(None);
    }
    CheckpointKey::resolve(&default)
        .map(|(k, _)| Some(k.public()))
        .map_err(|e| e.to_string())
}

/// Runs `spud audit verify`.
pub fn run(args: VerifyArgs, home: &Home) -> i32 {
    let path = args.file.clone().unwrap_or_else(|| home.audit_file());
    let cps = args
        .checkpoints
        .clone()
        .unwrap_or_else(|| spud_audit::checkpoints_path(&path));
    let key = match trusted_key(&args, home) {
        Ok(k) => k,
        Err(e) => return fail(&e, EXIT_USAGE),
    };
    let Some(key) = key else {
        return chain_only(&args, &path, &cps);
    };
    match spud_audit::verify_keyed(&path, &cps, &key) {
        Ok(report) => {
            let code = exit_code(&report, args.require_covered);
            if args.json {
                print_json(&serde_json::json!({
                    "file": path, "checkpoints_file": cps, "public_key": key.to_hex(),
                    "records": report.chain.records, "intact": report.chain.problems.is_empty(),
                    "problems": strings(&report.chain.problems),
                    "checkpoint_problems": report.problems.iter().map(|p| {
                        let mut v = serde_json::to_value(p).unwrap_or_default();
                        v["message"] = p.to_string().into();
                        v
                    }).collect::<Vec<_>>(),
                    "notes": strings(&report.notes),
                    "coverage": report.coverage, "exit_code": code,
                }));
            } else {
                print_keyed(&path, &key, &report);
            }
            code
        }
        Err(e) => fail(&e.to_string(), EXIT_USAGE),
    }
}

fn strings<T: std::fmt::Display>(items: &[T]) -> Vec<String> {
    items.iter().map(|p| p.to_string()).collect()
}

/// The worst finding decides: chain, then contradiction, then signature, then coverage.
fn exit_code(r: &KeyedReport, require_covered: bool) -> i32 {
    if !r.chain.problems.is_empty() {
        EXIT_CHAIN
    } else if r.problems.iter().any(|p| !p.is_signature()) {
        EXIT_CHECKPOINT
    } else if !r.problems.is_empty() {
        EXIT_SIGNATURE
    } else if require_covered && r.coverage.uncovered > 0 {
        EXIT_UNCOVERED
    } else {
        0
    }
}

/// No key anywhere: the chain alone. Checkpoints nobody can check are a finding.
fn chain_only(args: &VerifyArgs, path: &Path, cps: &Path) -> i32 {
    let report = match spud_audit::verify(path) {
        Ok(r) => r,
        Err(e) => return fail(&e.to_string(), EXIT_USAGE),
    };
    let unchecked = cps.exists();
    let code = if !report.problems.is_empty() {
        EXIT_CHAIN
    } else if unchecked || args.require_covered {
        EXIT_SIGNATURE
    } else {
        0
    };
    if args.json {
        print_json(&serde_json::json!({
            "file": path, "records": report.records, "intact": report.problems.is_empty(),
            "problems": strings(&report.problems), "public_key": null, "exit_code": code,
        }));
    } else {
        print_chain(path, &report);
        println!(
            "no checkpoint key (none in the home, {KEY_ENV} or {KEY_FILE_ENV}; or pass \
             --public-key): checkpoints not checked{}",
            if unchecked {
                format!(", although {} exists", cps.display())
            } else {
                String::new()
            }
        );
    }
    code
}

fn print_chain(path: &Path, report: &VerifyReport) {
    if report.problems.is_empty() {
        println!(
            "{}: {} records, chain intact",
            path.display(),
            report.records
        );
    } else {
        println!(
            "{}: {} records, {} problems:",
            path.display(),
            report.records,
            report.problems.len()
        );
        for p in &report.problems {
            println!("  {p}");
        }
    }
}

fn print_keyed(path: &Path, key: &PublicKey, r: &KeyedReport) {
    print_chain(path, &r.chain);
    let c = &r.coverage;
    let key = key.to_hex();
    match (c.covered_through, &c.checkpoint_time) {
        (Some(seq), Some(time)) => println!(
            "checkpoints (key {}…): records 0–{seq} covered by {} valid checkpoint(s), the \
             latest at seq {seq} ({time}); {} record(s) after it not yet covered",
            &key[..16],
            c.checkpoints,
            c.uncovered
        ),
        _ => println!(
            "checkpoints (key {}…): none valid; {} record(s) not covered",
            &key[..16],
            c.uncovered
        ),
    }
    if c.writers_open > 0 {
        println!(
            "  {} writer(s) have the log open or ended without closing it",
            c.writers_open
        );
    }
    for n in &r.notes {
        println!("  note: {n}");
    }
    if !r.problems.is_empty() {
        println!("{} checkpoint problem(s):", r.problems.len());
        for p in &r.problems {
            println!("  {p}");
        }
    }
}
