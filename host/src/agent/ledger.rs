//! A run's budget ledger: what its calls, model use and sub-agents used, what running
//! sub-agents hold, and which budget ran out first. Pure bookkeeping, shared by the run's
//! concurrent steps behind a mutex.

use crate::model::Usage;
use crate::plan::Budget;
use crate::sandbox::{Meter, Metered};
use std::sync::{Arc, Mutex};

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
    /// Fuel and network bytes that calls in flight drew and have not settled yet.
    pub live_fuel: u64,
    pub live_net: u64,
}

impl Ledger {
    /// Reserves one call, or says which budget is gone.
    pub(super) fn reserve(&mut self, b: &Budget) -> Result<(), (String, u64, u64)> {
        // What running sub-agents hold is not the run's own to spend.
        let r = self.reserved;
        let (fuel, net) = (self.fuel + self.live_fuel, self.net + self.live_net);
        let over = if self.calls + r.steps >= b.max_steps {
            Some(("max_steps", self.calls + r.steps, b.max_steps))
        } else if fuel + r.fuel >= b.max_fuel {
            Some(("max_fuel", fuel + r.fuel, b.max_fuel))
        } else if net + r.net >= b.max_net_bytes {
            Some(("max_net_bytes", net + r.net, b.max_net_bytes))
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

impl Ledger {
    /// What calls may still draw of `what`: the budget less what was used, what running
    /// sub-agents hold and what calls in flight drew.
    pub(crate) fn left(&self, b: &Budget, what: Metered) -> u64 {
        match what {
            Metered::Fuel => b
                .max_fuel
                .saturating_sub(self.fuel + self.reserved.fuel + self.live_fuel),
            Metered::Net => b
                .max_net_bytes
                .saturating_sub(self.net + self.reserved.net + self.live_net),
        }
    }
}

/// One call's draw on its run's ledger: the [`Meter`] its sandbox charges as it runs, so the
/// run's concurrent calls share one remainder.
pub(crate) struct CallMeter {
    ledger: Arc<Mutex<Ledger>>,
    budget: Budget,
    drawn: Mutex<Drawn>,
}

/// What one call drew.
#[derive(Debug, Default)]
struct Drawn {
    fuel: u64,
    net: u64,
    /// Settled: the call landed; nothing more is drawn (a connection task may outlive it).
    settled: bool,
}

impl std::fmt::Debug for CallMeter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CallMeter")
            .field("drawn", &self.drawn)
            .finish()
    }
}

impl CallMeter {
    /// A meter on `ledger` under `budget`.
    pub(crate) fn new(ledger: Arc<Mutex<Ledger>>, budget: Budget) -> Arc<CallMeter> {
        Arc::new(CallMeter {
            ledger,
            budget,
            drawn: Mutex::new(Drawn::default()),
        })
    }

    /// The call landed: what it drew is no longer in flight, and it draws no more. Returns
    /// (fuel, network bytes) drawn; the caller adds what the call really used to `l`.
    pub(crate) fn settle(&self, l: &mut Ledger) -> (u64, u64) {
        let Ok(mut d) = self.drawn.lock() else {
            return (0, 0);
        };
        if d.settled {
            return (0, 0);
        }
        d.settled = true;
        l.live_fuel = l.live_fuel.saturating_sub(d.fuel);
        l.live_net = l.live_net.saturating_sub(d.net);
        (d.fuel, d.net)
    }
}

impl Drop for CallMeter {
    /// A call that never landed (its step was dropped: the run stopped or was cancelled) is
    /// charged what it drew, its real use being unknown.
    fn drop(&mut self) {
        let Ok(mut l) = self.ledger.lock() else {
            return;
        };
        let (fuel, net) = self.settle(&mut l);
        l.fuel += fuel;
        l.net += net;
    }
}

impl Meter for CallMeter {
    fn take(&self, what: Metered, n: u64, whole: bool) -> u64 {
        let Ok(mut l) = self.ledger.lock() else {
            return 0;
        };
        let Ok(mut d) = self.drawn.lock() else {
            return 0;
        };
        if d.settled {
            return 0;
        }
        let left = l.left(&self.budget, what);
        let got = match (whole, n <= left) {
            (true, false) => 0,
            _ => n.min(left),
        };
        match what {
            Metered::Fuel => {
                l.live_fuel += got;
                d.fuel += got;
            }
            Metered::Net => {
                l.live_net += got;
                d.net += got;
            }
        }
        got
    }

    fn left(&self, what: Metered) -> u64 {
        self.ledger
            .lock()
            .map(|l| l.left(&self.budget, what))
            .unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calls_in_flight_share_one_remainder() {
        let budget = Budget {
            max_fuel: 100,
            max_net_bytes: 10,
            ..Budget::default()
        };
        let ledger = Arc::new(Mutex::new(Ledger::default()));
        let (a, b) = (
            CallMeter::new(ledger.clone(), budget),
            CallMeter::new(ledger.clone(), budget),
        );
        assert_eq!(a.take(Metered::Fuel, 70, false), 70);
        assert_eq!(
            b.take(Metered::Fuel, 70, false),
            30,
            "what `a` drew is not b's"
        );
        assert_eq!(a.left(Metered::Fuel), 0);
        assert_eq!(a.take(Metered::Net, 6, true), 6);
        assert_eq!(b.take(Metered::Net, 6, true), 0, "whole or nothing");
        // `a` lands having used 50 of its 70: the other 20 come back, and it draws no more.
        {
            let mut l = ledger.lock().unwrap();
            assert_eq!(a.settle(&mut l), (70, 6));
            l.fuel += 50;
            l.net += 6;
            assert_eq!(l.left(&budget, Metered::Fuel), 20);
            assert_eq!(l.left(&budget, Metered::Net), 4);
        }
        assert_eq!(a.take(Metered::Fuel, 5, false), 0, "settled");
        // `b` is dropped without landing: it is charged the 30 it drew.
        drop(b);
        let l = ledger.lock().unwrap();
        assert_eq!((l.fuel, l.live_fuel), (80, 0));
    }
}
