//! spud's scale-out rules, with no I/O: what a task on the cluster's work queue carries
//! ([`Envelope`]), who may commit its result ([`Lease`]), how a run's budget is reserved for
//! and returned by the tasks it hands out ([`Ledger`], applied through compare-and-set by the
//! host), and when a redelivered call is marked as possibly repeated.
//!
//! The host (`spud worker`, `spud run --nats`) stores these values in NATS JetStream; every
//! decision about them is made here, so it can be tested without a server.

mod envelope;
mod lease;
mod ledger;

pub use envelope::{key_for, possibly_repeated, Envelope, TaskKind};
pub use lease::{Lease, LeaseError};
pub use ledger::{Amounts, Ledger, LedgerError};
