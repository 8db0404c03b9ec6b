//! One tool call in a fresh sandbox: a new store from the plugin's `InstancePre`, limits armed
//! from the effective grant (memory, fuel, epoch deadline, output sizes), the call, and a typed
//! [`Outcome`]. No state survives between calls; a trap ends only its own store.

pub mod http;
pub mod journal;
mod metered;
mod outcome;
mod output;
mod state;

pub use http::{Resolver, StaticResolver, SystemResolver};
pub use journal::{Capability, Decision, Leak};
pub use outcome::Outcome;
pub use state::{CallEnv, HostState};

use crate::runtime::plugin::{Plugin, Target, Tool};
use crate::runtime::EPOCH_TICK;
use serde::Serialize;
use spud_policy::Grant;
use std::sync::Arc;
use std::time::{Duration, Instant};
use wasmtime::component::{ComponentExportIndex, Val};
use wasmtime::{Store, Trap};

/// Everything measured about one call.
#[derive(Debug, Clone, Serialize)]
pub struct CallReport {
    /// How it ended.
    #[serde(flatten)]
    pub outcome: Outcome,
    /// Captured stdout (at most the grant's `stdout_bytes`).
    pub stdout: String,
    /// Captured stderr.
    pub stderr: String,
    /// Bytes of stdout dropped past the limit (0: nothing truncated).
    pub stdout_dropped: u64,
    /// Bytes of stderr dropped past the limit.
    pub stderr_dropped: u64,
    /// Fuel consumed (the unit of compute cost).
    pub fuel_used: u64,
    /// Wall time of the call, µs.
    pub duration_us: u64,
    /// Every capability decision made during the call.
    pub decisions: Vec<Decision>,
    /// Network bytes received.
    pub net_bytes_in: u64,
    /// Network bytes sent.
    pub net_bytes_out: u64,
    /// Outbound requests that left for their destination.
    pub requests_out: u64,
    /// Registered secrets found in outbound requests (blocked or recorded).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub leaks: Vec<Leak>,
    /// Storage used: growth of the read-write granted directories across the call, plus what
    /// its temporary `/scratch` held before removal (see [`crate::storage`]).
    pub storage_bytes: u64,
    /// The run budget that stopped the call, when a cap from the caller's remaining budget
    /// (not the tool's grant) ended it: `max_fuel`, `max_wall_ms` or `max_net_bytes`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub budget_stop: Option<&'static str>,
}

/// Prefix of the errors SDK components return for input that does not match the tool's input
/// type (see `wit/spud-tool.wit`).
pub const SDK_INVALID_INPUT: &str = "invalid input for tool";

/// Fuel between the yields that let a call's live budget see what it used (about 2–5 ms of
/// compute on this kind of machine).
const METER_FUEL_STEP: u64 = 10_000_000;

/// Fuel a metered call pays ahead of what it used: more than it burns between two epoch
/// checks (10 ms), plus the step the count seen may lag.
const METER_PAY_AHEAD: u64 = 50_000_000;

/// Raw result of running one export.
struct Run {
    result: Result<Vec<Val>, wasmtime::Error>,
    state: HostState,
    fuel_used: u64,
    timed_out: bool,
    duration: Duration,
}

/// Instantiates `plugin` in a fresh store under `grant` and calls `export` with `params`.
async fn run(
    plugin: &Plugin,
    export: &ComponentExportIndex,
    params: &[Val],
    results: usize,
    grant: &Grant,
    env: &CallEnv<'_>,
) -> anyhow::Result<Run> {
    let start = Instant::now();
    let state = HostState::new(grant, env)?;
    let mut store = Store::new(plugin.pre.engine(), state);
    store.limiter(|s| &mut s.memory);
    store.set_fuel(grant.limits.fuel)?;
    let timeout = Duration::from_millis(grant.limits.timeout_ms);
    // Every other epoch tick the guest yields to the async runtime (so a CPU-bound call can be
    // cancelled by dropping its future, and other tasks on this thread make progress); past the
    // deadline it traps with `Interrupt`.
    let deadline = start + timeout;
    store.set_epoch_deadline(2);
    // The caller's live budget pays for the call's fuel ahead at each check: what it used so
    // far plus `METER_PAY_AHEAD` (the fuel count seen here is only brought up to date where the
    // guest leaves compiled code — a fuel yield every `METER_FUEL_STEP` — and the next check
    // comes an epoch interval later), never more than the call's own limit. When the budget
    // cannot pay, the call stops at once (as out of fuel; `classify`), having used no more than
    // it paid.
    let initial = grant.limits.fuel;
    let mut paid = 0u64;
    if env.meter.is_some() {
        store.fuel_async_yield_interval(Some(METER_FUEL_STEP))?;
    }
    store.epoch_deadline_callback(move |mut ctx| {
        if let Some(m) = ctx.data().meter.clone() {
            let seen = initial.saturating_sub(ctx.get_fuel().unwrap_or(0));
            let want = seen.saturating_add(METER_PAY_AHEAD).min(initial);
            let delta = want.saturating_sub(paid);
            if delta > 0 {
                let got = m.take(crate::calls::Metered::Fuel, delta, false);
                paid += got;
                if got < delta {
                    ctx.data_mut().meter_stop = Some(paid);
                    return Ok(wasmtime::UpdateDeadline::Interrupt);
                }
            }
        }
        Ok(if Instant::now() >= deadline {
            wasmtime::UpdateDeadline::Interrupt
        } else {
            wasmtime::UpdateDeadline::Yield(2)
        })
    });

    let mut out = vec![Val::Bool(false); results];
    // The epoch deadline stops a guest that computes; this timeout stops one blocked in a
    // host call (a slow HTTP response, a sleep) where no epoch check runs.
    let call = async {
        let instance = plugin.pre.instantiate_async(&mut store).await?;
        let func = instance
            .get_func(&mut store, export)
            .ok_or_else(|| wasmtime::Error::msg("export not found in instance"))?;
        func.call_async(&mut store, params, &mut out).await?;
        Ok::<_, wasmtime::Error>(())
    };
    let (result, timed_out) = match tokio::time::timeout(timeout + EPOCH_TICK * 4, call).await {
        Ok(r) => (r, false),
        Err(_) => (Err(wasmtime::Error::msg("deadline")), true),
    };
    // Stopped by the meter: what was paid, an upper bound of what it used (the count seen at
    // the stop may lag by up to one step).
    let fuel_used = store.data().meter_stop.unwrap_or_else(|| {
        grant
            .limits
            .fuel
            .saturating_sub(store.get_fuel().unwrap_or(0))
    });
    let state = store.into_data();
    Ok(Run {
        result: result.map(|()| out),
        state,
        fuel_used,
        timed_out,
        duration: start.elapsed(),
    })
}

/// Calls `tool` of `plugin` with JSON `input` under `grant`.
pub async fn call(
    plugin: &Plugin,
    tool: &Tool,
    input: &serde_json::Value,
    grant: &Grant,
    env: &CallEnv<'_>,
) -> CallReport {
    let (export, params, results) = match &tool.target {
        Target::Sdk { call } => {
            let params = vec![
                Val::String(tool.info.function.clone()),
                Val::String(input.to_string()),
            ];
            (call, params, 1)
        }
        Target::Plain { export, sig } => {
            if let Some(why) = &tool.info.unavailable {
                return early(Outcome::InvalidInput {
                    message: format!("{} cannot be called: {why}", tool.info.name),
                });
            }
            match spud_schema::args_from_json(sig, input) {
                Ok(values) => {
                    let params = values
                        .iter()
                        .map(spud_schema::wasmtime_bridge::to_val)
                        .collect();
                    (export, params, usize::from(sig.result.is_some()))
                }
                Err(e) => {
                    return early(Outcome::InvalidInput {
                        message: e.to_string(),
                    })
                }
            }
        }
    };
    let run = match run(plugin, export, &params, results, grant, env).await {
        Ok(r) => r,
        Err(e) => {
            return early(Outcome::Trap {
                message: format!("the sandbox could not be set up: {e:#}"),
            })
        }
    };
    let outcome = classify(tool, grant, &run);
    // Out of fuel because the caller's live budget ran dry, not the grant's limit.
    let budget_stop = match (&outcome, run.state.meter_stop) {
        (Outcome::FuelExhausted { .. }, Some(_)) => Some("max_fuel"),
        _ => None,
    };
    let (stdout, stdout_dropped) = run.state.stdout.finish();
    let (stderr, stderr_dropped) = run.state.stderr.finish();
    let (net_bytes_in, net_bytes_out) = run.state.journal.clone_counter().totals();
    let requests_out = run.state.journal.clone_counter().requests();
    let leaks = run.state.journal.leaks();
    let mut decisions = run.state.journal.decisions();
    // Limit hits are capability decisions too: the grant refused more of a resource.
    let limit_hit = match &outcome {
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
        decisions.push(Decision {
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
            decisions.push(Decision {
                capability: Capability::Limit,
                target: format!("{what}: {dropped} bytes past the {limit}-byte limit dropped"),
                allowed: false,
                reason: format!("`limits.{what}_bytes` is {limit}"),
            });
        }
    }
    CallReport {
        outcome,
        stdout,
        stderr,
        stdout_dropped,
        stderr_dropped,
        fuel_used: run.fuel_used,
        duration_us: run.duration.as_micros() as u64,
        decisions,
        net_bytes_in,
        net_bytes_out,
        requests_out,
        leaks,
        storage_bytes: 0,
        budget_stop,
    }
}

fn early(outcome: Outcome) -> CallReport {
    CallReport {
        outcome,
        stdout: String::new(),
        stderr: String::new(),
        stdout_dropped: 0,
        stderr_dropped: 0,
        fuel_used: 0,
        duration_us: 0,
        decisions: vec![],
        net_bytes_in: 0,
        net_bytes_out: 0,
        requests_out: 0,
        leaks: Vec::new(),
        storage_bytes: 0,
        budget_stop: None,
    }
}

/// Turns what happened into an [`Outcome`].
fn classify(tool: &Tool, grant: &Grant, run: &Run) -> Outcome {
    let denial = run.state.journal.first_denial();
    let values = match &run.result {
        Ok(v) => v,
        Err(e) => {
            if run.timed_out {
                return Outcome::Deadline {
                    timeout_ms: grant.limits.timeout_ms,
                };
            }
            return match e.downcast_ref::<Trap>() {
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
            };
        }
    };
    // The sandbox refused a memory growth: the call hit its memory limit, even when the guest
    // survived the failed allocation (caught a `MemoryError` / `RangeError`) and returned.
    if let Some(requested) = run.state.memory.refused {
        return Outcome::MemoryLimit {
            limit_mb: grant.limits.memory_mb,
            requested_bytes: requested as u64,
        };
    }
    let result = match (&tool.target, values.first()) {
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
                return Outcome::InvalidInput { message: s.clone() }
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

fn trap_message(e: &wasmtime::Error) -> String {
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

/// Calls an SDK component's `manifest()` in a sandbox with nothing granted.
pub async fn read_sdk_manifest(
    plugin: &Plugin,
    manifest: &ComponentExportIndex,
    env: &CallEnv<'_>,
) -> anyhow::Result<String> {
    let run = run(plugin, manifest, &[], 1, &Grant::none(), env).await?;
    match run.result {
        Ok(v) => match v.first() {
            Some(Val::String(s)) => Ok(s.clone()),
            other => anyhow::bail!("manifest() returned {other:?}, expected a string"),
        },
        Err(e) => anyhow::bail!("manifest() failed: {}", trap_message(&e)),
    }
}

/// A resolver shared by calls that do not bring their own.
pub fn system_resolver() -> Arc<dyn Resolver> {
    Arc::new(SystemResolver)
}
