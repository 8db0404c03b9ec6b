//! Fuzzing as a bench binary: `cargo bench -p spud-tests --bench fuzz`.
//!
//! Environment: `SPUD_FUZZ_CASES` (cases per target, default 10000), `SPUD_FUZZ_MCP_CASES`
//! (cases through a real `spud serve`, default 2000), `SPUD_FUZZ_SEED` (default 1),
//! `SPUD_FUZZ_TARGETS` (comma-separated from policy, plan, schema, audit, mcp; default all).
//! Prints one line per target (cases, accepted, rejected, panics, violations, time) and each
//! panic or violation; exits 1 if there was any.

use spud_tests::fuzz::{
    self, AuditTarget, McpTarget, PlanTarget, PolicyTarget, SchemaTarget, Tally, Target,
};

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn wanted(name: &str) -> bool {
    match std::env::var("SPUD_FUZZ_TARGETS") {
        Ok(list) => list.split(',').any(|t| t.trim() == name),
        Err(_) => true,
    }
}

fn report(t: &Tally) {
    println!("{}", t.line());
    for p in t.panics.iter().take(5) {
        println!("  panic: {p}");
    }
    for v in t.violations.iter().take(5) {
        println!("  violation: {v}");
    }
}

fn main() {
    let cases = env_u64("SPUD_FUZZ_CASES", 10_000);
    let mcp_cases = env_u64("SPUD_FUZZ_MCP_CASES", 2_000);
    let seed = env_u64("SPUD_FUZZ_SEED", 1);
    println!("fuzz: seed {seed}, {cases} cases per target, {mcp_cases} through spud serve");
    let mut targets: Vec<(Box<dyn Target>, u64, usize)> = vec![
        (Box::new(PolicyTarget::new()), cases, 4096),
        (Box::new(PlanTarget::new()), cases, 4096),
        (Box::new(SchemaTarget), cases, 4096),
    ];
    match AuditTarget::new() {
        Ok(t) => targets.push((Box::new(t), cases, 1024)),
        Err(e) => eprintln!("audit target: {e}"),
    }
    if wanted("mcp") {
        match McpTarget::new() {
            Ok(t) => targets.push((Box::new(t), mcp_cases, 1024)),
            Err(e) => {
                eprintln!("mcp target: cannot set up a home: {e}");
                std::process::exit(1);
            }
        }
    }
    let mut failed = false;
    for (target, n, max_bytes) in &mut targets {
        if !wanted(target.name()) {
            continue;
        }
        let tally = fuzz::run(target.as_mut(), *n, seed, *max_bytes);
        report(&tally);
        failed |= !tally.clean();
    }
    std::process::exit(i32::from(failed));
}
