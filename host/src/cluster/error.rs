//! What goes wrong on the cluster ([`ClusterError`]).

/// A cluster operation that failed; every one names what it was doing.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    /// The NATS server cannot be reached.
    #[error("cannot connect to NATS at {url}: {reason}")]
    Connect {
        /// The URL given.
        url: String,
        /// Why.
        reason: String,
    },
    /// A JetStream request failed.
    #[error("JetStream: {what}: {reason}")]
    JetStream {
        /// What was being done.
        what: String,
        /// The server's or client's error.
        reason: String,
    },
    /// A stored value or message does not parse.
    #[error("cluster data: {what} does not parse: {reason}")]
    Data {
        /// Which value.
        what: String,
        /// Why.
        reason: String,
    },
    /// A task's run failed or was refused on its worker.
    #[error("task {task}: {reason}")]
    Task {
        /// The task id.
        task: String,
        /// Why.
        reason: String,
    },
    /// A worker refused a component whose digest is not the one the submitter's policy
    /// approved.
    #[error("denied: the task approves `{plugin}` with digest {approved}, but this worker has {found}; pin the approved digest in the worker's policy (`digest` under [tools.{plugin}]) or approve the worker's digest on the submitting host")]
    DigestRefused {
        /// The plugin.
        plugin: String,
        /// The digest the task approves.
        approved: String,
        /// What the worker has (`none` when it lacks the plugin).
        found: String,
    },
    /// A lease cannot be taken, renewed or committed.
    #[error(transparent)]
    Lease(#[from] spud_task::LeaseError),
    /// A budget-ledger transition was refused.
    #[error(transparent)]
    Ledger(#[from] spud_task::LedgerError),
    /// The worker's audit log cannot be read or written.
    #[error("audit log: {0}")]
    Audit(String),
}

impl ClusterError {
    /// A [`ClusterError::JetStream`] for `what`.
    pub(crate) fn js(what: &str, e: impl std::fmt::Display) -> ClusterError {
        ClusterError::JetStream {
            what: what.to_string(),
            reason: e.to_string(),
        }
    }

    /// A [`ClusterError::Data`] for `what`.
    pub(crate) fn data(what: &str, e: impl std::fmt::Display) -> ClusterError {
        ClusterError::Data {
            what: what.to_string(),
            reason: e.to_string(),
        }
    }
}
