//! What a run moved and stored ([`DataFlow`]), summed over its calls and sub-agents.

use serde::Serialize;

/// Data moved and stored by a run, summed over its calls and sub-agents.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(default)]
pub struct DataFlow {
    /// Network bytes received.
    pub bytes_in: u64,
    /// Network bytes sent.
    pub bytes_out: u64,
    /// Outbound requests that left for their destination (outbound transfers).
    pub transfers: u64,
    /// Requests refused because they carried a registered secret where it may not go.
    pub leaks_blocked: u64,
    /// Secrets that reached a destination not allowed for them (`on_leak = "record"`).
    pub leaks_reached: u64,
    /// Tool calls through which a secret reached a destination not allowed for it.
    pub leaky_calls: u64,
    /// Final outputs in which registered secrets were found and redacted.
    pub outputs_redacted: u64,
    /// Storage used: growth of read-write directories and temporary scratch, bytes.
    pub storage_bytes: u64,
}

impl DataFlow {
    /// Adds `other` (a call's or a sub-agent's) to these totals.
    pub fn add(&mut self, other: &DataFlow) {
        self.bytes_in += other.bytes_in;
        self.bytes_out += other.bytes_out;
        self.transfers += other.transfers;
        self.leaks_blocked += other.leaks_blocked;
        self.leaks_reached += other.leaks_reached;
        self.leaky_calls += other.leaky_calls;
        self.outputs_redacted += other.outputs_redacted;
        self.storage_bytes += other.storage_bytes;
    }
}
