//! A run's budget ledger as a pure state: tasks reserve their share before they are handed
//! out and settle it when their result comes back (what they used is spent, the rest returns).
//! The host stores the ledger in one key-value entry and applies each transition through
//! compare-and-set, so concurrent submitters and retries never spend a budget twice: both
//! transitions are idempotent per task.

use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// Amounts of each budget.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Amounts {
    /// Tool calls.
    pub steps: u64,
    /// Fuel.
    pub fuel: u64,
    /// Network bytes.
    pub net_bytes: u64,
    /// Model tokens.
    pub tokens: u64,
}

impl Amounts {
    fn pairs(&self) -> [(&'static str, u64); 4] {
        [
            ("steps", self.steps),
            ("fuel", self.fuel),
            ("net_bytes", self.net_bytes),
            ("tokens", self.tokens),
        ]
    }

    fn zip(&self, o: &Amounts, f: impl Fn(u64, u64) -> u64) -> Amounts {
        Amounts {
            steps: f(self.steps, o.steps),
            fuel: f(self.fuel, o.fuel),
            net_bytes: f(self.net_bytes, o.net_bytes),
            tokens: f(self.tokens, o.tokens),
        }
    }

    /// Component-wise sum (saturating).
    pub fn plus(&self, o: &Amounts) -> Amounts {
        self.zip(o, u64::saturating_add)
    }

    /// Component-wise minimum.
    pub fn min(&self, o: &Amounts) -> Amounts {
        self.zip(o, u64::min)
    }

    /// Whether every component is at most `o`'s.
    pub fn within(&self, o: &Amounts) -> bool {
        self.pairs()
            .iter()
            .zip(o.pairs())
            .all(|((_, a), (_, b))| *a <= b)
    }
}

/// Why a ledger transition is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LedgerError {
    /// Not enough budget is left for the reservation.
    #[error("task `{task}` asks for {wanted} {what} but only {left} are left in the run's budget")]
    Insufficient {
        /// The task.
        task: String,
        /// Which budget.
        what: &'static str,
        /// Asked for.
        wanted: u64,
        /// Left (limit − spent − reserved).
        left: u64,
    },
    /// The task already settled: it cannot reserve again.
    #[error("task `{0}` already settled; a task reserves its budget once")]
    Settled(String),
    /// The task never reserved: nothing to settle.
    #[error("task `{0}` has no reservation to settle")]
    NotReserved(String),
}

/// One run's budget ledger.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ledger {
    /// The run's whole budget.
    pub limit: Amounts,
    /// Used by settled tasks.
    pub spent: Amounts,
    /// Held by tasks out on the cluster.
    pub reserved: BTreeMap<String, Amounts>,
    /// Tasks that settled (each settles once).
    pub settled: BTreeSet<String>,
}

impl Ledger {
    /// An empty ledger for a budget of `limit`.
    pub fn new(limit: Amounts) -> Ledger {
        Ledger {
            limit,
            ..Ledger::default()
        }
    }

    /// What reservations hold in all.
    pub fn held(&self) -> Amounts {
        self.reserved
            .values()
            .fold(Amounts::default(), |a, r| a.plus(r))
    }

    /// The ledger after `task` reserves `want`. Reserving again for the same task (a retried
    /// compare-and-set, a redelivery) changes nothing.
    pub fn reserve(&self, task: &str, want: Amounts) -> Result<Ledger, LedgerError> {
        if self.reserved.contains_key(task) {
            return Ok(self.clone());
        }
        if self.settled.contains(task) {
            return Err(LedgerError::Settled(task.to_string()));
        }
        let used = self.spent.plus(&self.held());
        for ((what, limit), ((_, used), (_, wanted))) in self
            .limit
            .pairs()
            .into_iter()
            .zip(used.pairs().into_iter().zip(want.pairs()))
        {
            let left = limit.saturating_sub(used);
            if wanted > left {
                return Err(LedgerError::Insufficient {
                    task: task.to_string(),
                    what,
                    wanted,
                    left,
                });
            }
        }
        let mut next = self.clone();
        next.reserved.insert(task.to_string(), want);
        Ok(next)
    }

    /// The ledger after `task` settles, having used `used`: that is spent — never more than
    /// it reserved, which its own run cannot pass — and the rest of its reservation returns.
    /// Settling again changes nothing.
    pub fn settle(&self, task: &str, used: Amounts) -> Result<Ledger, LedgerError> {
        if self.settled.contains(task) {
            return Ok(self.clone());
        }
        let Some(held) = self.reserved.get(task) else {
            return Err(LedgerError::NotReserved(task.to_string()));
        };
        let mut next = self.clone();
        next.spent = next.spent.plus(&used.min(held));
        next.reserved.remove(task);
        next.settled.insert(task.to_string());
        Ok(next)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn steps(n: u64) -> Amounts {
        Amounts {
            steps: n,
            ..Amounts::default()
        }
    }

    #[test]
    fn reserve_and_return() {
        let l = Ledger::new(steps(10));
        let l = l.reserve("a", steps(6)).unwrap();
        let err = l.reserve("b", steps(5)).unwrap_err();
        assert!(err.to_string().contains("only 4 are left"), "{err}");
        let l = l.settle("a", steps(2)).unwrap();
        assert_eq!(l.spent.steps, 2);
        let l = l.reserve("b", steps(8)).unwrap();
        assert_eq!(l.held().steps, 8);
        assert_eq!(
            l.settle("a", steps(2)).unwrap(),
            l,
            "settling twice changes nothing"
        );
        assert_eq!(
            l.reserve("a", steps(1)),
            Err(LedgerError::Settled("a".into()))
        );
        assert!(matches!(
            l.settle("c", steps(1)),
            Err(LedgerError::NotReserved(_))
        ));
    }

    #[derive(Debug, Clone)]
    enum Op {
        Reserve(u8, u64),
        Settle(u8, u64),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            (0u8..6, 0u64..8).prop_map(|(t, n)| Op::Reserve(t, n)),
            (0u8..6, 0u64..8).prop_map(|(t, n)| Op::Settle(t, n)),
        ]
    }

    proptest! {
        /// Under any interleaving of reservations, returns and their retries (each op may
        /// be applied twice, as a retried compare-and-set would), nothing is spent twice and
        /// spent + held never passes the limit.
        #[test]
        fn no_budget_is_spent_twice(ops in proptest::collection::vec((op(), any::<bool>()), 0..60)) {
            let mut l = Ledger::new(steps(20));
            let mut charged: BTreeMap<String, u64> = BTreeMap::new();
            for (op, retried) in ops {
                for _ in 0..(1 + retried as usize) {
                    let before = l.clone();
                    let next = match &op {
                        Op::Reserve(t, n) => l.reserve(&format!("t{t}"), steps(*n)),
                        Op::Settle(t, n) => l.settle(&format!("t{t}"), steps(*n)),
                    };
                    if let Ok(next) = next {
                        if let Op::Settle(t, _) = &op {
                            let key = format!("t{t}");
                            let delta = next.spent.steps - before.spent.steps;
                            if before.settled.contains(&key) {
                                prop_assert_eq!(delta, 0);
                            } else {
                                prop_assert!(charged.insert(key, delta).is_none());
                            }
                        }
                        l = next;
                    }
                    prop_assert!(l.spent.plus(&l.held()).within(&l.limit));
                    prop_assert_eq!(l.spent.steps, charged.values().sum::<u64>());
                }
            }
        }
    }
}
