//! How a finished call is read: the export's values, traps and refused actions turned into one
//! [`Outcome`], and limit hits written down as capability decisions.

use super::plugin::{Target, Tool};
use crate::sandbox::{Capability, Decision, HostState, Outcome};
use spud_policy::Grant;
use std::ops::ControlFlow;
use std::time::Duration;
use wasmtime::component::Val;
use wasmtime::Trap;

/// Prefix of the errors SDK components return for input that does not match the tool's input
/// type (see `wit/spud-tool.wit`).
pub const SDK_INVALID_INPUT: &str = "invalid input for tool";

/// Raw result of running one export.
pub(super) struct Run {
    pub(super) result: Result<Vec<Val>, wasmtime::Error>,
    pub(super) state: HostState,
    pub(super) fuel_used: u64,
    pub(super) timed_out: bool,
    pub(super) duration: Duration,
}

/// Turns what happened into an [`Outcome`].
pub(super) fn classify(tool: &Tool, grant: &Grant, run: &Run) -> Outcome {
    let denial = run.state.journal.first_denial();
    let values = match &run.result {
        Ok(v) => v,
        Err(e) => return failed(grant, run, e, denial),
    };
    // The sandbox refused a memory growth: the call hit its memory limit, even when the guest
    // survived the failed allocation (caught a `MemoryError` / `RangeError`) and returned.
    if let Some(requested) = run.state.memory.refused {
        return Outcome::MemoryLimit {
            limit_mb: grant.limits.memory_mb,
            requested_bytes: requested as u64,
        };
    }
    let result = match returned(tool, values) {
        ControlFlow::Continue(result) => result,
        ControlFlow::Break(outcome) => return outcome,
    };
    match result {
        Ok(value) => {
            let size = serde_json::to_vec(&value).map_or(0, |v| v.len() as u64);
            if size > grant.limits.result_bytes {
                Outcome::OutputLimit {
                    limit_bytes: grant.limits.result_bytes,
                    actual_bytes: size,
                }
            } else {
                Outcome::Ok { value }
            }
        }
        // A tool that failed after a refused action failed because of it: say which grant.
        Err(error) => match denial {
            Some(d) => Outcome::Denied { denial: d },
            None => Outcome::ToolError { error },
        },
    }
}

/// A call that did not return: a deadline, fuel run out (or the caller's live budget), the
/// memory limit, or a trap — blamed on the first refused action when there was one.
fn failed(grant: &Grant, run: &Run, e: &wasmtime::Error, denial: Option<Decision>) -> Outcome {
    if run.timed_out {
        return Outcome::Deadline {
            timeout_ms: grant.limits.timeout_ms,
        };
    }
    match e.downcast_ref::<Trap>() {
        Some(Trap::OutOfFuel) => Outcome::FuelExhausted {
            fuel: grant.limits.fuel,
        },
        // Interrupted because the caller's live budget could not pay for more.
        Some(Trap::Interrupt) if run.state.meter_stop.is_some() => Outcome::FuelExhausted {
            fuel: run.fuel_used,
        },
        Some(Trap::Interrupt) => Outcome::Deadline {
            timeout_ms: grant.limits.timeout_ms,
        },
        _ if run.state.memory.refused.is_some() => Outcome::MemoryLimit {
            limit_mb: grant.limits.memory_mb,
            requested_bytes: run.state.memory.refused.unwrap_or(0) as u64,
        },
        Some(Trap::StackOverflow) => Outcome::Trap {
            message: "stack overflow (unbounded recursion?)".into(),
        },
        _ => match denial {
            Some(d) => Outcome::Denied { denial: d },
            None => Outcome::Trap {
                message: trap_message(e),
            },
        },
    }
}

/// What the tool returned: its JSON value or its error — or, when an SDK tool rejected its
/// input, the outcome to stop at (`invalid_input`).
fn returned(
    tool: &Tool,
    values: &[Val],
) -> ControlFlow<Outcome, Result<serde_json::Value, serde_json::Value>> {
    ControlFlow::Continue(match (&tool.target, values.first()) {
        (Target::Sdk { .. }, Some(Val::Result(Ok(Some(v))))) => match &**v {
            Val::String(s) => Ok(
                serde_json::from_str(s).unwrap_or_else(|_| serde_json::Value::String(s.clone()))
            ),
            other => Err(serde_json::Value::String(format!(
                "unexpected SDK result {other:?}"
            ))),
        },
        (Target::Sdk { .. }, Some(Val::Result(Err(Some(e))))) => match &**e {
            // The SDK's input check ran inside the guest; nothing else happened.
            Val::String(s) if s.starts_with(SDK_INVALID_INPUT) => {
                return ControlFlow::Break(Outcome::InvalidInput { message: s.clone() })
            }
            Val::String(s) => Err(serde_json::Value::String(s.clone())),
            other => Err(serde_json::Value::String(format!("{other:?}"))),
        },
        (Target::Sdk { .. }, other) => Err(serde_json::Value::String(format!(
            "unexpected SDK result {other:?}"
        ))),
        (Target::Plain { sig, .. }, v) => match (&sig.result, v) {
            (None, _) => Ok(serde_json::Value::Null),
            (Some(ty), Some(v)) => plain_result(ty, v),
            (Some(_), None) => Ok(serde_json::Value::Null),
        },
    })
}

/// A plain function's result; a top-level `result<T, E>` maps its `err` to a tool error.
fn plain_result(
    ty: &spud_schema::WitType,
    v: &Val,
) -> Result<serde_json::Value, serde_json::Value> {
    let conv = |ty: &spud_schema::WitType, v: &Val| {
        spud_schema::wasmtime_bridge::from_val(v)
            .and_then(|w| spud_schema::value_to_json(ty, &w))
            .map_err(|e| {
                serde_json::Value::String(format!(
                    "the tool returned a value spud cannot convert: {e}"
                ))
            })
    };
    match (ty, v) {
        (spud_schema::WitType::Result { ok, .. }, Val::Result(Ok(inner))) => match (ok, inner) {
            (Some(t), Some(v)) => conv(t, v),
            _ => Ok(serde_json::Value::Null),
        },
        (spud_schema::WitType::Result { err, .. }, Val::Result(Err(inner))) => match (err, inner) {
            (Some(t), Some(v)) => Err(conv(t, v)?),
            _ => Err(serde_json::Value::Null),
        },
        _ => conv(ty, v),
    }
}

pub(super) fn trap_message(e: &wasmtime::Error) -> String {
    match e.downcast_ref::<Trap>() {
        Some(Trap::UnreachableCodeReached) => {
            "the guest hit `unreachable` (a Rust panic or abort)".into()
        }
        Some(t) => t.to_string(),
        None => format!("{e:#}")
            .lines()
            .next()
            .unwrap_or("unknown error")
            .to_string(),
    }
}

/// Limit hits are capability decisions too: the grant refused more of a resource. One decision
/// per limit the call ran into (fuel, time, memory, result size, dropped output).
pub(super) fn limit_decisions(
    outcome: &Outcome,
    grant: &Grant,
    stdout_dropped: u64,
    stderr_dropped: u64,
) -> Vec<Decision> {
    let mut out = Vec::new();
    // Limit hits are capability decisions too: the grant refused more of a resource.
    let limit_hit = match outcome {
        Outcome::FuelExhausted { fuel } => {
            Some((format!("fuel: {fuel} units used up"), "`limits.fuel`"))
        }
        Outcome::Deadline { timeout_ms } => Some((
            format!("wall clock: {timeout_ms} ms passed"),
            "`limits.timeout_ms`",
        )),
        Outcome::MemoryLimit {
            limit_mb,
            requested_bytes,
        } => Some((
            format!("memory: growth to {requested_bytes} bytes refused at {limit_mb} MiB"),
            "`limits.memory_mb`",
        )),
        Outcome::OutputLimit {
            limit_bytes,
            actual_bytes,
        } => Some((
            format!("result: {actual_bytes} bytes over {limit_bytes}"),
            "`limits.result_bytes`",
        )),
        _ => None,
    };
    if let Some((target, grant)) = limit_hit {
        out.push(Decision {
            capability: Capability::Limit,
            target,
            allowed: false,
            reason: format!("raise {grant} for this tool in the policy"),
        });
    }
    for (what, dropped, limit) in [
        ("stdout", stdout_dropped, grant.limits.stdout_bytes),
        ("stderr", stderr_dropped, grant.limits.stderr_bytes),
    ] {
        if dropped > 0 {
            out.push(Decision {
                capability: Capability::Limit,
                target: format!("{what}: {dropped} bytes past the {limit}-byte limit dropped"),
                allowed: false,
                reason: format!("`limits.{what}_bytes` is {limit}"),
            });
        }
    }
    out
}
