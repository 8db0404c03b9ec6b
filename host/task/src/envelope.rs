//! The task envelope: what one message of the work queue carries.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// What a task asks a worker to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskKind {
    /// A whole run (a plan, from its first step).
    Run,
    /// A sub-agent's run, under the scopes of its ancestors.
    SubAgent,
    /// One tool call.
    ToolCall,
}

/// One task on the work queue.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Envelope {
    /// The task's id: the run id of a run or sub-agent, `call-<time>-<process>-<random>` of a
    /// single tool call. Unique per cluster; its result is stored under [`key_for`] of it.
    pub id: String,
    /// What it is.
    pub kind: TaskKind,
    /// The root run it belongs to (whose budget ledger it draws on).
    pub root: String,
    /// How long a worker's lease on it lasts without a heartbeat, ms.
    pub lease_ms: u64,
    /// The component digest (sha256, hex) the submitter's policy approved, per plugin the task
    /// may call: a worker refuses to run a plugin whose digest differs.
    pub digests: BTreeMap<String, String>,
    /// What to run (a plan and its caller, or a call), as the host encodes it.
    pub body: serde_json::Value,
}

impl Envelope {
    /// The envelope as message bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// An envelope from message bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<Envelope, serde_json::Error> {
        serde_json::from_slice(bytes)
    }
}

/// Whether a task delivered for the `delivered`-th time (1 = first) may have run before: a
/// worker took it, and its ack did not arrive within the ack wait (it died, or was cut off).
/// Its calls are then marked `possibly_repeated` in the audit log.
pub fn possibly_repeated(delivered: u64) -> bool {
    delivered > 1
}

/// A key-value key for `id`: letters, digits, `-` and `_` stay; every other byte becomes
/// `=XX` (hex), so distinct ids never share a key and any id is a valid key.
pub fn key_for(id: &str) -> String {
    let mut out = String::with_capacity(id.len());
    for b in id.bytes() {
        if b.is_ascii_alphanumeric() || b == b'-' || b == b'_' {
            out.push(b as char);
        } else {
            out.push_str(&format!("={b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn keys_are_valid_and_readable() {
        assert_eq!(key_for("20261202-a.s1~2"), "20261202-a=2Es1=7E2");
        assert_eq!(key_for(""), "");
    }

    #[test]
    fn only_redeliveries_are_possibly_repeated() {
        assert!(!possibly_repeated(1));
        assert!(possibly_repeated(2));
    }

    #[test]
    fn envelope_round_trips() {
        let e = Envelope {
            id: "r.s".into(),
            kind: TaskKind::SubAgent,
            root: "r".into(),
            lease_ms: 5000,
            digests: [("fs".to_string(), "ab".to_string())].into(),
            body: serde_json::json!({"plan": 1}),
        };
        assert_eq!(Envelope::from_bytes(&e.to_bytes()).unwrap(), e);
        assert!(Envelope::from_bytes(b"{").is_err());
    }

    proptest! {
        #[test]
        fn distinct_ids_have_distinct_keys(a in ".{0,12}", b in ".{0,12}") {
            prop_assume!(a != b);
            prop_assert_ne!(key_for(&a), key_for(&b));
            prop_assert!(key_for(&a).bytes().all(|c| c.is_ascii_alphanumeric() || b"-_=".contains(&c)));
        }
    }
}
