//! Compute and output limits. Limits are ceilings, not permissions: a tool gets the smaller of
//! what it requests and what the operator allows, and built-in defaults when neither says.

use serde::{Deserialize, Serialize};

/// Limits as written in a manifest or policy: every field optional.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Limits {
    /// Linear memory ceiling, MiB.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_mb: Option<u64>,
    /// Fuel per call (deterministic CPU budget; about one unit per wasm instruction).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fuel: Option<u64>,
    /// Wall-clock deadline per call, milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_ms: Option<u64>,
    /// Bytes of stdout kept per call; the rest is dropped and the outcome flagged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stdout_bytes: Option<u64>,
    /// Bytes of stderr kept per call.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stderr_bytes: Option<u64>,
    /// Largest result (as JSON) a call may return.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result_bytes: Option<u64>,
}

/// Limits with every value decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResolvedLimits {
    /// Linear memory ceiling, MiB.
    pub memory_mb: u64,
    /// Fuel per call.
    pub fuel: u64,
    /// Wall-clock deadline per call, milliseconds.
    pub timeout_ms: u64,
    /// Bytes of stdout kept per call.
    pub stdout_bytes: u64,
    /// Bytes of stderr kept per call.
    pub stderr_bytes: u64,
    /// Largest result a call may return, bytes of JSON.
    pub result_bytes: u64,
}

impl ResolvedLimits {
    /// Built-in defaults, used when neither the policy nor the manifest says.
    pub const DEFAULT: ResolvedLimits = ResolvedLimits {
        memory_mb: 64,
        fuel: 2_000_000_000,
        timeout_ms: 10_000,
        stdout_bytes: 64 * 1024,
        stderr_bytes: 64 * 1024,
        result_bytes: 1024 * 1024,
    };

    /// Hard ceiling for memory, whatever a policy says: the pooling allocator reserves this
    /// much address space per instance slot.
    pub const MAX_MEMORY_MB: u64 = 1024;

    /// `min(requested, ceiling)` per field, where the ceiling is the operator's value, else the
    /// policy default, else the built-in default.
    pub fn resolve(requested: &Limits, granted: &Limits, defaults: &Limits) -> ResolvedLimits {
        let d = ResolvedLimits::DEFAULT;
        let pick = |req: Option<u64>, grant: Option<u64>, def: Option<u64>, builtin: u64| {
            let ceiling = grant.or(def).unwrap_or(builtin);
            req.map_or(ceiling, |r| r.min(ceiling))
        };
        ResolvedLimits {
            memory_mb: pick(
                requested.memory_mb,
                granted.memory_mb,
                defaults.memory_mb,
                d.memory_mb,
            )
            .min(Self::MAX_MEMORY_MB),
            fuel: pick(requested.fuel, granted.fuel, defaults.fuel, d.fuel),
            timeout_ms: pick(
                requested.timeout_ms,
                granted.timeout_ms,
                defaults.timeout_ms,
                d.timeout_ms,
            ),
            stdout_bytes: pick(
                requested.stdout_bytes,
                granted.stdout_bytes,
                defaults.stdout_bytes,
                d.stdout_bytes,
            ),
            stderr_bytes: pick(
                requested.stderr_bytes,
                granted.stderr_bytes,
                defaults.stderr_bytes,
                d.stderr_bytes,
            ),
            result_bytes: pick(
                requested.result_bytes,
                granted.result_bytes,
                defaults.result_bytes,
                d.result_bytes,
            ),
        }
    }

    /// The field-wise minimum: what a child may use out of its parent's limits.
    pub fn min(&self, other: &ResolvedLimits) -> ResolvedLimits {
        ResolvedLimits {
            memory_mb: self.memory_mb.min(other.memory_mb),
            fuel: self.fuel.min(other.fuel),
            timeout_ms: self.timeout_ms.min(other.timeout_ms),
            stdout_bytes: self.stdout_bytes.min(other.stdout_bytes),
            stderr_bytes: self.stderr_bytes.min(other.stderr_bytes),
            result_bytes: self.result_bytes.min(other.result_bytes),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn smaller_of_request_and_grant() {
        let req = Limits {
            fuel: Some(10),
            memory_mb: Some(500),
            ..Default::default()
        };
        let grant = Limits {
            fuel: Some(100),
            memory_mb: Some(32),
            ..Default::default()
        };
        let r = ResolvedLimits::resolve(&req, &grant, &Limits::default());
        assert_eq!(r.fuel, 10);
        assert_eq!(r.memory_mb, 32);
        assert_eq!(r.timeout_ms, ResolvedLimits::DEFAULT.timeout_ms);
        let defaults = Limits {
            timeout_ms: Some(5),
            ..Default::default()
        };
        assert_eq!(
            ResolvedLimits::resolve(&req, &grant, &defaults).timeout_ms,
            5
        );
    }
}
