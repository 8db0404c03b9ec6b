//! The policy parser and the plan-file parser, on mutated valid files, token soup and raw
//! bytes. Accepted policies are also put through the grant algebra (requested ∩ granted).

use super::mutate;
use super::runner::{Target, Verdict};
use arbitrary::Unstructured;
use spud::plan::Plan;
use spud::policy::{effective, Policy, Requests};
use std::path::Path;

const POLICY_RICH: &str = r#"
[defaults]
timeout_ms = 5000
memory_mb = 32

[audit]
payloads = "raw"
durability = "fsync"

[tools.fs]
files = [{ host = "sample", guest = "/data", access = "read-write" }, { host = ".", guest = "/scratch", access = "read-only" }]
network = ["https://*.example.com", "http://127.0.0.1:8080", "https://*:*"]
env = ["LANG", "MODE=fast"]
sockets = { tcp_connect = ["127.0.0.1:5432", "*:443"], dns = true }
limits = { fuel = 100_000_000, memory_mb = 32, timeout_ms = 2000, stdout_bytes = 4096, result_bytes = 65536 }
payloads = "digest"
approval = true

[secrets]
env = ["API_KEY"]
patterns = ["sk-[A-Za-z0-9]{8}"]
on_leak = "record"
max_scan_bytes = 1024

[secrets.allow]
API_KEY = ["https://api.example.com"]

[principals.alice]
token_sha256 = "2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae"
tools = ["fs.*", "run_agent"]
max_concurrent = 2
rate_per_minute = 60

[principals.alice.grants.fs]
files = [{ host = "sample", guest = "/data", access = "read-only" }]
"#;

const POLICY_TOKENS: &[&str] = &[
    "[defaults]",
    "[audit]",
    "[tools.fs]",
    "[tools.json]",
    "[tools.\"a.b\"]",
    "[secrets]",
    "[secrets.allow]",
    "[principals.p]",
    "[principals.p.grants.fs]",
    "files = [{ host = \"sample\", guest = \"/data\", access = \"read-only\" }]",
    "files = [{ host = \"/\", guest = \"/\", access = \"read-write\" }]",
    "guest = \"/../..\"",
    "network = [\"https://*.example.com:99999\"]",
    "network = [\"*\"]",
    "network = [\"ftp://x\"]",
    "env = [\"A=\", \"=B\", \"\"]",
    "sockets = { tcp_connect = [\"[::1]:0\", \"*:*\"], dns = true }",
    "limits = { fuel = 18446744073709551615 }",
    "limits = { memory_mb = -1 }",
    "memory_mb = 99999999",
    "timeout_ms = 0",
    "payloads = \"raw\"",
    "durability = \"never\"",
    "patterns = [\"(\"]",
    "patterns = [\"a{99999}\"]",
    "on_leak = \"block\"",
    "token_env = \"T\"",
    "token_sha256 = \"zz\"",
    "tools = [\"*\", \"run_agent\", \"\"]",
    "max_concurrent = 0",
    "rate_per_minute = 4294967296",
    "approval = \"yes\"",
    "=",
    "\"",
    "'''",
    "[[",
    "]]",
    "{",
    "}",
    "1e400",
    "nan",
    "inf",
    "é",
    "\u{0}",
];

const PLAN_TOKENS: &[&str] = &[
    "goal = \"g\"",
    "[budget]",
    "[critic]",
    "[agents]",
    "[[steps]]",
    "[[steps.alternatives]]",
    "[steps.agent]",
    "[[steps.agent.steps]]",
    "[steps.agent.grants.fs]",
    "id = \"a\"",
    "id = \"\"",
    "tool = \"fs.read\"",
    "tool = \"nope\"",
    "after = [\"a\"]",
    "after = [\"missing\", \"a\", \"a\"]",
    "args = { path = \"${a.content|json}\" }",
    "args = { x = \"${\" }",
    "args = { x = \"${a.}\" }",
    "expect = { contains = \"x\" }",
    "expect = { path = \"$[\", min = -1 }",
    "max_steps = 0",
    "max_fuel = 18446744073709551615",
    "max_wall_ms = -5",
    "threshold = 2.5",
    "threshold = nan",
    "max_parallel = 0",
    "allocation = \"priority\"",
    "allocation = \"x\"",
    "priority = -1",
    "deadline_ms = 0",
    "tools = [\"*\"]",
    "max_retries = 99999999999",
    "max_backtracks = 1",
    "=",
    "\"",
    "[[",
    "]]",
    "{",
    "}",
    "é",
    "\u{0}",
];

/// Requests that touch every part of the grant algebra.
fn requests() -> Requests {
    serde_json::from_value(serde_json::json!({
        "files": [{"guest": "/data", "access": "read-write"}, {"guest": "/scratch", "access": "read-only"}],
        "network": ["https://api.example.com", "http://127.0.0.1:8080"],
        "env": ["LANG", "MODE", "API_KEY"],
        "sockets": {"tcp_connect": ["127.0.0.1:5432"], "dns": true},
        "limits": {"fuel": 1_000_000u64, "memory_mb": 16}
    }))
    .unwrap_or_default()
}

/// `spud_policy::Policy::parse`.
pub struct PolicyTarget {
    seeds: Vec<String>,
    requests: Requests,
}

impl PolicyTarget {
    /// Seeds: the demo policy and a policy using every key.
    pub fn new() -> PolicyTarget {
        let demo = std::fs::read_to_string(crate::workspace().join("examples/policy.toml"))
            .unwrap_or_default();
        PolicyTarget {
            seeds: vec![demo, POLICY_RICH.to_string()],
            requests: requests(),
        }
    }
}

impl Default for PolicyTarget {
    fn default() -> Self {
        Self::new()
    }
}

impl Target for PolicyTarget {
    fn name(&self) -> &'static str {
        "policy"
    }

    fn case(&mut self, u: &mut Unstructured<'_>) -> arbitrary::Result<Verdict> {
        let seeds: Vec<&str> = self.seeds.iter().map(String::as_str).collect();
        let src = mutate::text(u, &seeds, POLICY_TOKENS)?;
        match Policy::parse(&src, "fuzz.toml", Path::new("/nonexistent"), false) {
            Ok(p) => {
                for name in p.tools.keys().chain(["unknown".to_string()].iter()) {
                    let e = effective(name, &self.requests, &p);
                    let _ = serde_json::to_string(&e.grant);
                }
                let _ = p.digest();
                Ok(Verdict::Accepted)
            }
            Err(e) => {
                let _ = e.to_string();
                Ok(Verdict::Rejected)
            }
        }
    }
}

/// `spud::plan::Plan::parse`.
pub struct PlanTarget {
    seeds: Vec<String>,
}

impl PlanTarget {
    /// Seeds: the demo plan and the sub-agents plan.
    pub fn new() -> PlanTarget {
        let read = |f: &str| {
            std::fs::read_to_string(crate::workspace().join("examples").join(f)).unwrap_or_default()
        };
        PlanTarget {
            seeds: vec![read("demo-plan.toml"), read("subagents-plan.toml")],
        }
    }
}

impl Default for PlanTarget {
    fn default() -> Self {
        Self::new()
    }
}

impl Target for PlanTarget {
    fn name(&self) -> &'static str {
        "plan"
    }

    fn case(&mut self, u: &mut Unstructured<'_>) -> arbitrary::Result<Verdict> {
        let seeds: Vec<&str> = self.seeds.iter().map(String::as_str).collect();
        let src = mutate::text(u, &seeds, PLAN_TOKENS)?;
        match Plan::parse(&src, "fuzz-plan.toml") {
            Ok(_) => Ok(Verdict::Accepted),
            Err(e) => {
                let _ = e.to_string();
                Ok(Verdict::Rejected)
            }
        }
    }
}
