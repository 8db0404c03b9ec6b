//! What happened during one call, collected while it runs: every capability decision and the
//! bytes that crossed the network. Shared between the store's hooks and the caller.

use serde::Serialize;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// Kind of capability a decision is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
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
        }
    }
}

/// One capability decision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
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

/// Network byte counters, and the call's network budget (bytes in + out), if it has one.
#[derive(Debug, Default)]
pub struct Counter {
    bytes_in: AtomicU64,
    bytes_out: AtomicU64,
    /// In + out, which the budget bounds.
    used: AtomicU64,
    requests: AtomicU64,
    budget: std::sync::OnceLock<u64>,
}

impl Counter {
    /// Sets the budget: at most `bytes` in and out together.
    pub fn set_budget(&self, bytes: u64) {
        let _ = self.budget.set(bytes);
    }

    /// The budget, when the call has one.
    pub fn budget(&self) -> Option<u64> {
        self.budget.get().copied()
    }

    /// The budget, when the call has one and it is used up.
    pub fn spent(&self) -> Option<u64> {
        self.budget()
            .filter(|b| self.used.load(Ordering::Relaxed) >= *b)
    }

    /// Counts up to `n` more bytes (sent when `out`, else received) within the budget, and
    /// returns how many fit (all `n` without a budget). Concurrent requests of one call share
    /// the budget.
    pub fn admit(&self, out: bool, n: u64) -> u64 {
        let budget = self.budget().unwrap_or(u64::MAX);
        let before = self
            .used
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |u| {
                Some(u.saturating_add(n.min(budget.saturating_sub(u))))
            })
            .unwrap_or_else(|u| u);
        let fit = n.min(budget.saturating_sub(before));
        let side = if out { &self.bytes_out } else { &self.bytes_in };
        side.fetch_add(fit, Ordering::Relaxed);
        fit
    }

    /// Counts all `n` bytes when they fit in the budget, else none; whether they fit.
    pub fn admit_whole(&self, out: bool, n: u64) -> bool {
        let budget = self.budget().unwrap_or(u64::MAX);
        let fits = self
            .used
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |u| {
                u.checked_add(n).filter(|t| *t <= budget)
            })
            .is_ok();
        if fits {
            let side = if out { &self.bytes_out } else { &self.bytes_in };
            side.fetch_add(n, Ordering::Relaxed);
        }
        fits
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

#[cfg(test)]
mod tests {
    use super::Counter;

    #[test]
    fn the_budget_admits_what_fits_in_and_out_together() {
        let c = Counter::default();
        assert_eq!(c.admit(true, 500), 500, "no budget: everything");
        let c = Counter::default();
        c.set_budget(100);
        assert_eq!(c.admit(true, 30), 30);
        assert_eq!(c.admit(false, 50), 50);
        assert_eq!(c.spent(), None);
        assert_eq!(c.admit(false, 50), 20, "only what is left of 100");
        assert_eq!(c.spent(), Some(100));
        assert_eq!(c.admit(true, 1), 0);
        assert_eq!(c.totals(), (70, 30));
        let c = Counter::default();
        c.set_budget(10);
        assert!(c.admit_whole(true, 6));
        assert!(!c.admit_whole(true, 6), "not half a frame");
        assert!(c.admit_whole(true, 4));
        assert_eq!(c.totals(), (0, 10));
    }
}
