//! What the audit log records.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Arguments or results: a digest and size by default (data minimization), the JSON itself only
/// when the policy asks for raw payloads.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Payload {
    /// sha256 of the serialized JSON.
    pub sha256: String,
    /// Its size in bytes.
    pub bytes: u64,
    /// The JSON itself, when kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub raw: Option<serde_json::Value>,
}

impl Payload {
    /// Digest and size only.
    pub fn digest_of(bytes: &[u8]) -> Payload {
        Payload {
            sha256: hex::encode(Sha256::digest(bytes)),
            bytes: bytes.len() as u64,
            raw: None,
        }
    }

    /// Digest and size of the value's compact JSON, and the value itself.
    pub fn with_raw(value: serde_json::Value) -> Payload {
        let bytes = serde_json::to_vec(&value).unwrap_or_default();
        Payload {
            raw: Some(value),
            ..Payload::digest_of(&bytes)
        }
    }
}

/// One tool call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CallEvent {
    /// Unique id, shared with the call's capability records.
    pub call_id: String,
    /// `plugin.function`.
    pub tool: String,
    /// Component sha256.
    pub digest: String,
    /// Who called (e.g. `cli`, an MCP principal).
    pub principal: String,
    /// sha256 of the policy file in force (its bytes as loaded; the sha256 of no bytes,
    /// `e3b0c442…b855`, for the deny-all default). Empty, and left out of the record, only in
    /// records written before spud recorded it.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub policy_sha256: String,
    /// Outcome kind: `ok`, `tool_error`, `denied`, `fuel_exhausted`, `deadline`,
    /// `memory_limit`, `output_limit`, `trap`, `invalid_input` or `cancelled`.
    pub outcome: String,
    /// The outcome in words, when not ok.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Argument bytes.
    pub bytes_in: u64,
    /// Result bytes.
    pub bytes_out: u64,
    /// Fuel consumed.
    pub fuel_used: u64,
    /// Wall time, µs.
    pub duration_us: u64,
    /// Arguments.
    pub args: Payload,
    /// Result.
    pub result: Payload,
}

/// One capability decision.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CapabilityEvent {
    /// The call it happened in.
    pub call_id: String,
    /// `plugin.function`.
    pub tool: String,
    /// Component sha256.
    pub digest: String,
    /// `file`, `http`, `socket`, `dns`, `env` or `limit`.
    pub capability: String,
    /// What was attempted: `GET https://x:443/path`, `/data/a.txt (read)`, `tcp 127.0.0.1:80`.
    pub target: String,
    /// `allowed` or `denied`.
    pub decision: String,
    /// The grant that allowed it, or the one that would; empty (and left out of the record)
    /// when there is nothing to say.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub reason: String,
}

/// A plugin added, updated, approved or removed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RegistryEvent {
    /// `add`, `update`, `approve` or `remove`.
    pub action: String,
    /// Plugin name.
    pub plugin: String,
    /// Component sha256.
    pub digest: String,
    /// Who did it (the principal that ran the command).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub by: Option<String>,
    /// Where the component came from (a file, `oci://…`, `https://…`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// The policy key whose signature verified, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signer: Option<String>,
    /// Whether the digest is approved for calls after this change.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approved: Option<bool>,
}

/// A precompiled cache entry that was not used: it failed its MAC (tampered with, unsigned,
/// moved from another digest, signed with another key) or could not be loaded, and was rebuilt
/// from the component.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CacheEvent {
    /// `rebuilt`.
    pub action: String,
    /// The plugin the component belongs to.
    pub plugin: String,
    /// Component sha256.
    pub digest: String,
    /// `missing_mac`, `bad_mac`, `unreadable` or `unloadable`.
    pub reason: String,
}

/// Who connected to a server and what it was refused: authentication failures, rate and
/// concurrency limits, server start and stop (`spud serve`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AccessEvent {
    /// The principal, or `anonymous` when no valid token was presented.
    pub principal: String,
    /// `serve_start`, `serve_stop`, `auth_failed`, `rate_limited`, `busy`, `not_visible`.
    pub action: String,
    /// Details (transport, address, which limit); never a token.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub detail: String,
}

/// Anything the log records.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Event {
    /// A tool call.
    Call(CallEvent),
    /// A capability decision.
    Capability(CapabilityEvent),
    /// A registry change.
    Registry(RegistryEvent),
    /// A server access decision.
    Access(AccessEvent),
    /// A precompiled cache entry rebuilt.
    Cache(CacheEvent),
}

impl Event {
    /// A call record.
    pub fn call(call: CallEvent) -> Event {
        Event::Call(call)
    }

    /// A capability decision record; `allowed` picks the decision.
    pub fn capability(
        call_id: &str,
        tool: &str,
        digest: &str,
        capability: &str,
        target: &str,
        allowed: bool,
        reason: &str,
    ) -> Event {
        Event::Capability(CapabilityEvent {
            call_id: call_id.into(),
            tool: tool.into(),
            digest: digest.into(),
            capability: capability.into(),
            target: target.into(),
            decision: if allowed { "allowed" } else { "denied" }.into(),
            reason: reason.into(),
        })
    }

    /// An access record.
    pub fn access(principal: &str, action: &str, detail: &str) -> Event {
        Event::Access(AccessEvent {
            principal: principal.into(),
            action: action.into(),
            detail: detail.into(),
        })
    }

    /// A cache record: the entry for `digest` of `plugin` was rebuilt for `reason`.
    pub fn cache_rebuilt(plugin: &str, digest: &str, reason: &str) -> Event {
        Event::Cache(CacheEvent {
            action: "rebuilt".into(),
            plugin: plugin.into(),
            digest: digest.into(),
            reason: reason.into(),
        })
    }

    /// A registry record.
    pub fn registry(action: &str, plugin: &str, digest: &str) -> Event {
        Event::Registry(RegistryEvent {
            action: action.into(),
            plugin: plugin.into(),
            digest: digest.into(),
            by: None,
            source: None,
            signer: None,
            approved: None,
        })
    }

    /// A registry record that says who, from where, signed by whom and whether approved.
    pub fn registry_change(change: RegistryEvent) -> Event {
        Event::Registry(change)
    }
}
