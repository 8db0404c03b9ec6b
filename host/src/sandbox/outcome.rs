//! Typed results of a call. Each variant says what happened in words an agent can act on;
//! a denial names the grant that would allow the action.

use super::journal::Decision;
use serde::{Deserialize, Serialize};

/// How a call ended.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Outcome {
    /// The tool returned a value.
    Ok {
        /// The result as JSON.
        value: serde_json::Value,
    },
    /// The tool ran and reported an error of its own.
    ToolError {
        /// The error the tool returned (JSON; a string for SDK tools).
        error: serde_json::Value,
    },
    /// The arguments do not fit the tool's input; nothing ran.
    InvalidInput {
        /// What is wrong, with the field path.
        message: String,
    },
    /// The tool attempted something its grant does not allow, and failed because of it.
    Denied {
        /// The refused action.
        denial: Decision,
    },
    /// The fuel budget ran out (CPU limit).
    FuelExhausted {
        /// The budget, in fuel units.
        fuel: u64,
    },
    /// The wall-clock deadline passed.
    Deadline {
        /// The deadline, ms.
        timeout_ms: u64,
    },
    /// The tool tried to grow memory past its limit.
    MemoryLimit {
        /// The limit, MiB.
        limit_mb: u64,
        /// The size it asked for, bytes.
        requested_bytes: u64,
    },
    /// The result is larger than the grant allows.
    OutputLimit {
        /// The limit, bytes.
        limit_bytes: u64,
        /// The result's size, bytes.
        actual_bytes: u64,
    },
    /// The tool crashed (a wasm trap such as `unreachable` or stack overflow).
    Trap {
        /// What the trap was.
        message: String,
    },
}

impl Outcome {
    /// Short snake_case name, as in audit records.
    pub fn kind(&self) -> &'static str {
        match self {
            Outcome::Ok { .. } => "ok",
            Outcome::ToolError { .. } => "tool_error",
            Outcome::InvalidInput { .. } => "invalid_input",
            Outcome::Denied { .. } => "denied",
            Outcome::FuelExhausted { .. } => "fuel_exhausted",
            Outcome::Deadline { .. } => "deadline",
            Outcome::MemoryLimit { .. } => "memory_limit",
            Outcome::OutputLimit { .. } => "output_limit",
            Outcome::Trap { .. } => "trap",
        }
    }

    /// Process exit code for `spud call`: 0 ok, 1 tool error or crash, 2 bad input,
    /// 3 denied, 4 limit exceeded.
    pub fn exit_code(&self) -> i32 {
        match self {
            Outcome::Ok { .. } => 0,
            Outcome::ToolError { .. } | Outcome::Trap { .. } => 1,
            Outcome::InvalidInput { .. } => 2,
            Outcome::Denied { .. } => 3,
            Outcome::FuelExhausted { .. }
            | Outcome::Deadline { .. }
            | Outcome::MemoryLimit { .. }
            | Outcome::OutputLimit { .. } => 4,
        }
    }

    /// Whether the call succeeded.
    pub fn is_ok(&self) -> bool {
        matches!(self, Outcome::Ok { .. })
    }

    /// A sentence for a person or a model: what happened and what would change it.
    pub fn message(&self) -> String {
        match self {
            Outcome::Ok { .. } => "ok".into(),
            Outcome::ToolError { error } => match error {
                serde_json::Value::String(s) => format!("the tool returned an error: {s}"),
                other => format!("the tool returned an error: {other}"),
            },
            Outcome::InvalidInput { message } if message.starts_with("invalid input") => message.clone(),
            Outcome::InvalidInput { message } => format!("invalid input: {message}"),
            Outcome::Denied { denial } => format!("denied: {} — {}", denial.target, denial.reason),
            Outcome::FuelExhausted { fuel } => format!(
                "CPU limit: the call used its whole fuel budget ({fuel}); raise `limits.fuel` for this tool in the policy, or give it less work"
            ),
            Outcome::Deadline { timeout_ms } => format!(
                "deadline: the call ran longer than {timeout_ms} ms; raise `limits.timeout_ms` for this tool in the policy, or give it less work"
            ),
            Outcome::MemoryLimit { limit_mb, requested_bytes } => format!(
                "memory limit: the tool asked for {} MiB of memory, over its {limit_mb} MiB limit (`limits.memory_mb`)",
                requested_bytes.div_ceil(1 << 20)
            ),
            Outcome::OutputLimit { limit_bytes, actual_bytes } => format!(
                "output limit: the result is {actual_bytes} bytes, over the {limit_bytes}-byte limit (`limits.result_bytes`); ask for less data"
            ),
            Outcome::Trap { message } => format!("the tool crashed: {message}"),
        }
    }
}
