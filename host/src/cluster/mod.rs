//! Scale-out on NATS JetStream: `spud worker` takes tasks from the cluster's work queue and runs
//! them with exactly the grants and budgets a local host would; `spud run --nats` hands a
//! root run's sub-agents to the workers ([`Submitter`], a [`Dispatch`](crate::agent::Dispatch))
//! while the root keeps the scheduler's order and the budget ledger; single tool calls go to the
//! workers too ([`Submitter::call_remote`], a [`CallDispatch`](crate::service::CallDispatch));
//! `spud audit verify --nats`
//! checks every worker's hash chain from the cluster's audit stream.
//!
//! The rules (task envelope, leases, ledger transitions, possibly repeated calls) are the pure
//! crate `spud-task`; this module stores them in JetStream. Files: `error`, `setup`
//! (connection, streams, buckets and the object store) → `cas` (compare-and-set on a bucket
//! entry), `components` (components by digest in the object store) → `wire` (what a task and
//! its answer carry), `records` (shipping and verifying audit records) → `submit`, `worker`,
//! `archive` (the traces and reports of the runs workers ran), `call` (single tool calls: `spud call --nats`, `spud serve --nats`), `whole` (whole runs on
//! a worker: `spud run --nats --on-worker`); `lessons` (the memory's lessons shared through the
//! bucket `spud-lessons`).

mod archive;
mod call;
mod cas;
mod components;
mod error;
mod lessons;
mod records;
mod setup;
mod submit;
mod whole;
mod wire;
mod worker;

pub use archive::fetch_run;
pub use call::CallOrigin;
pub use error::ClusterError;
pub use lessons::{exchange_lessons, Exchanged};
pub use records::{verify_cluster, ChainReport, Shipper};
pub use setup::{Cluster, ClusterSettings, COMPONENTS, RUNS};
pub use submit::Submitter;
pub use whole::WholeRun;
pub use worker::Worker;
