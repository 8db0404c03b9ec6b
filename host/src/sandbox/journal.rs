//! What happened during one call, collected while it runs: every capability decision and the
//! bytes that crossed the network. Shared between the store's hooks and the caller.

use serde::{Deserialize, Serialize};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// Kind of capability a decision is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Capability {
    /// Opening a file or directory.
    File,
    /// An outbound HTTP request.
    Http,
    /// A raw socket operation.
    Socket,
    /// A DNS lookup.
    Dns,
    /// A compute or output limit.
    Limit,
    /// A registered secret in an outbound request.
    Secret,
    /// A credential the host added to an outbound request (`[credentials.NAME]`).
    Credential,
    /// A browser action (`spud:browser`), or the close of a browser session.
    Browser,
}

impl Capability {
    /// Lower-case name, as in audit records.
    pub fn as_str(self) -> &'static str {
        match self {
            Capability::File => "file",
            Capability::Http => "http",
            Capability::Socket => "socket",
            Capability::Dns => "dns",
            Capability::Limit => "limit",
            Capability::Secret => "secret",
            Capability::Credential => "credential",
            Capability::Browser => "browser",
        }
    }
}

/// One capability decision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decision {
    /// What kind.
    pub capability: Capability,
    /// What was attempted, e.g. `GET http://127.0.0.1:8080/` or `/data/a.txt (read)`.
    pub target: String,
    /// Allowed or not.
    pub allowed: bool,
    /// Which grant allowed it, or which grant would.
    pub reason: String,
}

/// A registered secret found in an outbound request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Leak {
    /// The secret's name (its environment variable, or `pattern <regex>`); never its value.
    pub secret: String,
    /// Where it was going, `scheme://host[:port]`.
    pub destination: String,
    /// Refused (a prevented leak), or sent because `[secrets] on_leak = "record"`.
    pub blocked: bool,
}

/// Network byte counters.
#[derive(Debug, Default)]
pub struct Counter {
    bytes_in: AtomicU64,
    bytes_out: AtomicU64,
    requests: AtomicU64,
}

impl Counter {
    /// Adds received bytes.
    pub fn add_in(&self, n: u64) {
        self.bytes_in.fetch_add(n, Ordering::Relaxed);
    }
    /// Adds sent bytes.
    pub fn add_out(&self, n: u64) {
        self.bytes_out.fetch_add(n, Ordering::Relaxed);
    }
    /// Counts an outbound request that left for its destination.
    pub fn add_request(&self) {
        self.requests.fetch_add(1, Ordering::Relaxed);
    }
    /// Outbound requests that left.
    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }
    /// (received, sent).
    pub fn totals(&self) -> (u64, u64) {
        (
            self.bytes_in.load(Ordering::Relaxed),
            self.bytes_out.load(Ordering::Relaxed),
        )
    }
}

/// The decisions and counters of one call.
#[derive(Debug, Default)]
pub struct Journal {
    decisions: Mutex<Vec<Decision>>,
    leaks: Mutex<Vec<Leak>>,
    counter: Arc<Counter>,
}

impl Journal {
    /// Records an allowed action.
    pub fn allow(&self, capability: Capability, target: &str, reason: String) {
        self.push(Decision {
            capability,
            target: target.to_string(),
            allowed: true,
            reason,
        });
    }

    /// Records a denied action and the grant that would allow it.
    pub fn deny(&self, capability: Capability, target: &str, reason: String) {
        tracing::debug!(capability = capability.as_str(), target, %reason, "denied");
        self.push(Decision {
            capability,
            target: target.to_string(),
            allowed: false,
            reason,
        });
    }

    /// Records a secret found in an outbound request.
    pub fn leak(&self, leak: Leak) {
        if let Ok(mut v) = self.leaks.lock() {
            if v.len() < 10_000 {
                v.push(leak);
            }
        }
    }

    /// The secrets found in outbound requests.
    pub fn leaks(&self) -> Vec<Leak> {
        self.leaks.lock().map(|v| v.clone()).unwrap_or_default()
    }

    fn push(&self, d: Decision) {
        if let Ok(mut v) = self.decisions.lock() {
            // A guest looping on denied opens must not grow host memory without bound.
            if v.len() < 10_000 {
                v.push(d);
            }
        }
    }

    /// The byte counters.
    pub fn clone_counter(&self) -> Arc<Counter> {
        self.counter.clone()
    }

    /// Everything recorded so far.
    pub fn decisions(&self) -> Vec<Decision> {
        self.decisions.lock().map(|v| v.clone()).unwrap_or_default()
    }

    /// The first denial, if any.
    pub fn first_denial(&self) -> Option<Decision> {
        self.decisions
            .lock()
            .ok()
            .and_then(|v| v.iter().find(|d| !d.allowed).cloned())
    }
}
