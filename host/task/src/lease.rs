//! Leases: which worker may commit a task's result. A worker takes the lease when the queue
//! delivers it the task, renews it with every heartbeat, and commits once; a lease that was not
//! renewed in time may be taken by the next delivery, and the late holder's result is refused.

use serde::{Deserialize, Serialize};

/// A worker's claim on a task, stored (per task) in the cluster and changed only through
/// compare-and-set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lease {
    /// The worker holding it.
    pub worker: String,
    /// Which delivery of the task it holds (1 = first).
    pub delivery: u64,
    /// Until when (ms since the Unix epoch) it holds without a renewal.
    pub expires_ms: u64,
    /// Its result was committed: nobody may take or commit it any more.
    pub committed: bool,
}

/// Why a lease cannot be taken, renewed or committed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LeaseError {
    /// Another worker holds an unexpired lease.
    #[error("the task is leased by worker `{worker}` until {expires_ms} ms; it is redelivered only once that lease expires")]
    Held {
        /// The holder.
        worker: String,
        /// Its expiry.
        expires_ms: u64,
    },
    /// The task's result is already committed (a redelivery of a finished task).
    #[error("the task's result is already committed by worker `{worker}`")]
    Committed {
        /// Who committed it.
        worker: String,
    },
    /// The caller's lease expired or was taken over: its result is late and refused.
    #[error("late result refused: worker `{worker}`'s lease (delivery {delivery}) expired or was taken over")]
    Lost {
        /// The worker whose lease is gone.
        worker: String,
        /// Its delivery.
        delivery: u64,
    },
}

impl Lease {
    /// The lease `worker` takes on delivery `delivery` at `now_ms`, for `lease_ms`, given the
    /// stored one (`None`: first delivery). Refused while another holds an unexpired lease or
    /// once a result is committed.
    pub fn take(
        current: Option<&Lease>,
        worker: &str,
        delivery: u64,
        now_ms: u64,
        lease_ms: u64,
    ) -> Result<Lease, LeaseError> {
        if let Some(c) = current {
            if c.committed {
                return Err(LeaseError::Committed {
                    worker: c.worker.clone(),
                });
            }
            let same = c.worker == worker && c.delivery == delivery;
            if !same && c.expires_ms > now_ms {
                return Err(LeaseError::Held {
                    worker: c.worker.clone(),
                    expires_ms: c.expires_ms,
                });
            }
        }
        Ok(Lease {
            worker: worker.to_string(),
            delivery,
            expires_ms: now_ms.saturating_add(lease_ms),
            committed: false,
        })
    }

    /// Whether `worker`'s delivery `delivery` still holds this lease at `now_ms`.
    pub fn held_by(&self, worker: &str, delivery: u64, now_ms: u64) -> bool {
        !self.committed
            && self.worker == worker
            && self.delivery == delivery
            && self.expires_ms > now_ms
    }

    /// This lease renewed by its holder at `now_ms` (a heartbeat); refused when it is lost.
    pub fn renew(
        &self,
        worker: &str,
        delivery: u64,
        now_ms: u64,
        lease_ms: u64,
    ) -> Result<Lease, LeaseError> {
        self.check(worker, delivery, now_ms)?;
        Ok(Lease {
            expires_ms: now_ms.saturating_add(lease_ms),
            ..self.clone()
        })
    }

    /// This lease committed by its holder at `now_ms`: from then on its result is the task's.
    /// A holder whose lease expired is refused (its result is late), even if nobody took over.
    pub fn commit(&self, worker: &str, delivery: u64, now_ms: u64) -> Result<Lease, LeaseError> {
        self.check(worker, delivery, now_ms)?;
        Ok(Lease {
            committed: true,
            ..self.clone()
        })
    }

    fn check(&self, worker: &str, delivery: u64, now_ms: u64) -> Result<(), LeaseError> {
        if self.committed && self.worker != worker {
            return Err(LeaseError::Committed {
                worker: self.worker.clone(),
            });
        }
        if !self.held_by(worker, delivery, now_ms) {
            return Err(LeaseError::Lost {
                worker: worker.to_string(),
                delivery,
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_delivery_takes_and_commits() {
        let l = Lease::take(None, "w1", 1, 100, 50).unwrap();
        assert_eq!(l.expires_ms, 150);
        let l = l.renew("w1", 1, 140, 50).unwrap();
        assert_eq!(l.expires_ms, 190);
        let c = l.commit("w1", 1, 180).unwrap();
        assert!(c.committed);
        assert!(matches!(
            Lease::take(Some(&c), "w2", 2, 1000, 50),
            Err(LeaseError::Committed { .. })
        ));
    }

    #[test]
    fn an_unexpired_lease_cannot_be_taken_over() {
        let l = Lease::take(None, "w1", 1, 100, 50).unwrap();
        assert!(matches!(
            Lease::take(Some(&l), "w2", 2, 120, 50),
            Err(LeaseError::Held { .. })
        ));
        // The same delivery taking it again (a retried write) is fine.
        assert!(Lease::take(Some(&l), "w1", 1, 120, 50).is_ok());
    }

    #[test]
    fn a_late_result_is_refused() {
        let l = Lease::take(None, "w1", 1, 100, 50).unwrap();
        // Expired, nobody took over: still late.
        assert!(matches!(
            l.commit("w1", 1, 151),
            Err(LeaseError::Lost { .. })
        ));
        // Taken over by the redelivery: the old holder can neither renew nor commit.
        let taken = Lease::take(Some(&l), "w2", 2, 160, 50).unwrap();
        assert!(matches!(
            taken.commit("w1", 1, 161),
            Err(LeaseError::Lost { .. })
        ));
        assert!(taken.renew("w1", 1, 161, 50).is_err());
        assert!(taken.commit("w2", 2, 170).is_ok());
    }
}
