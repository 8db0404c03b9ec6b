//! A run's budget ledger: what its calls, model use and sub-agents used, what running
//! sub-agents hold, and which budget ran out first. Pure bookkeeping, shared by the run's
//! concurrent steps behind a mutex.

use super::plan::Budget;
use crate::model::Usage;

/// Budget held for running sub-agents (zero by default).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Reserved {
    pub steps: u64,
    pub fuel: u64,
    pub net: u64,
    pub tokens: u64,
    pub storage: u64,
}

impl Reserved {
    /// Adds (`add`) or gives back an allocation.
    pub fn apply(&mut self, b: &Budget, add: bool) {
        let f = |v: &mut u64, n: u64| {
            *v = if add {
                v.saturating_add(n)
            } else {
                v.saturating_sub(n)
            }
        };
        f(&mut self.steps, b.max_steps);
        f(&mut self.fuel, b.max_fuel);
        f(&mut self.net, b.max_net_bytes);
        f(&mut self.tokens, b.max_tokens);
        f(&mut self.storage, b.max_storage_bytes);
    }
}

/// Budget use shared by concurrent steps.
#[derive(Default)]
pub(crate) struct Ledger {
    pub calls: u64,
    pub tokens: u64,
    pub usage: Usage,
    pub fuel: u64,
    pub net: u64,
    pub retries: u64,
    pub backtracks: u64,
    /// Calls a grant denied (for the compliance figures).
    pub denied: u64,
    /// Held for sub-agents still running (their allocations).
    pub reserved: Reserved,
    /// Data moved, leaks and storage (for the figures).
    pub data: crate::orchestrator::figures::DataFlow,
    pub exhausted: Option<(String, u64, u64)>,
}

impl Ledger {
    /// Reserves one call, or says which budget is gone.
    pub(super) fn reserve(&mut self, b: &Budget) -> Result<(), (String, u64, u64)> {
        // What running sub-agents hold is not the run's own to spend.
        let r = self.reserved;
        let over = if self.calls + r.steps >= b.max_steps {
            Some(("max_steps", self.calls + r.steps, b.max_steps))
        } else if self.fuel + r.fuel >= b.max_fuel {
            Some(("max_fuel", self.fuel + r.fuel, b.max_fuel))
        } else if self.net + r.net >= b.max_net_bytes {
            Some(("max_net_bytes", self.net + r.net, b.max_net_bytes))
        } else if self.data.storage_bytes + r.storage >= b.max_storage_bytes {
            Some((
                "max_storage_bytes",
                self.data.storage_bytes + r.storage,
                b.max_storage_bytes,
            ))
        } else if self.tokens > 0 && self.tokens + r.tokens >= b.max_tokens {
            // Only the run's own model use counts: a run that asks no model is not stopped by it.
            Some(("max_tokens", self.tokens + r.tokens, b.max_tokens))
        } else {
            None
        };
        match over {
            Some((k, used, limit)) => {
                let e = (k.to_string(), used, limit);
                self.exhausted.get_or_insert(e.clone());
                Err(e)
            }
            None => {
                self.calls += 1;
                Ok(())
            }
        }
    }
}
