//! One tool call in a fresh sandbox: a new store from the plugin's `InstancePre`, limits armed
//! from the effective grant (memory, fuel, epoch deadline, output sizes), the call, and a typed
//! [`Outcome`]. No state survives between calls; a trap ends only its own store.

pub use super::classify::SDK_INVALID_INPUT;
use super::classify::{classify, limit_decisions, trap_message, Run};
use super::engine::EPOCH_TICK;
use super::plugin::{Plugin, Target, Tool};
use crate::sandbox::{CallEnv, Decision, HostState, Leak, Metered, Outcome};
use serde::{Deserialize, Serialize};
use spud_policy::Grant;
use std::time::{Duration, Instant};
use wasmtime::component::{ComponentExportIndex, InstancePre, Val};
use wasmtime::{Store, StoreContextMut, UpdateDeadline};

/// Everything measured about one call (read back from JSON when a worker of the cluster made
/// it).
#[derive(Debug, Clone, Serialize, Deserialize)]
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
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub leaks: Vec<Leak>,
    /// Storage used: growth of the read-write granted directories across the call, plus what
    /// its temporary `/scratch` held before removal (see [`crate::storage`]).
    pub storage_bytes: u64,
    /// The run budget that stopped the call, when a cap from the caller's remaining budget
    /// (not the tool's grant) ended it: `max_fuel`, `max_wall_ms` or `max_net_bytes`.
    /// Not read back from JSON (a name is carried beside the report and restored with
    /// [`budget_named`]).
    #[serde(default, skip_serializing_if = "Option::is_none", skip_deserializing)]
    pub budget_stop: Option<&'static str>,
}

/// The run budgets that can stop a call, by name.
const BUDGETS: [&str; 3] = ["max_fuel", "max_wall_ms", "max_net_bytes"];

/// The [`CallReport::budget_stop`] of a budget's name; `None` for a name that is not one.
pub fn budget_named(name: &str) -> Option<&'static str> {
    BUDGETS.into_iter().find(|b| *b == name)
}

/// Fuel between the yields that let a call's live budget see what it used (about 2–5 ms of
/// compute on this kind of machine).
const METER_FUEL_STEP: u64 = 10_000_000;

/// Fuel a metered call pays ahead of what it used: more than it burns between two epoch
/// checks (10 ms), plus the step the count seen may lag.
const METER_PAY_AHEAD: u64 = 50_000_000;

/// Instantiates `plugin` in a fresh store under `grant` and calls `export` with `params`, on a
/// lane of its own ([`super::lane`]).
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
    let job = Job {
        pre: plugin.pre.clone(),
        export: *export,
        params: params.to_vec(),
        results,
        fuel: grant.limits.fuel,
        timeout: Duration::from_millis(grant.limits.timeout_ms),
        metered: env.meter.is_some(),
        start,
    };
    super::lane::run(job.execute(state))
        .await
        .unwrap_or_else(|| Err(anyhow::anyhow!("the call's thread ended without an answer")))
}

/// What a lane needs to run one call, owned.
struct Job {
    pre: InstancePre<HostState>,
    export: ComponentExportIndex,
    params: Vec<Val>,
    results: usize,
    fuel: u64,
    timeout: Duration,
    metered: bool,
    start: Instant,
}

impl Job {
    /// The call in a fresh store holding `state`, limits armed.
    async fn execute(self, state: HostState) -> anyhow::Result<Run> {
        let Job {
            pre,
            export,
            params,
            results,
            fuel,
            timeout,
            metered,
            start,
        } = self;
        let mut store = Store::new(pre.engine(), state);
        store.limiter(|s| &mut s.memory);
        store.set_fuel(fuel)?;
        // Every other epoch tick the guest yields to the async runtime (so a CPU-bound call
        // can be cancelled by dropping its future); past the deadline it traps with
        // `Interrupt`.
        let deadline = start + timeout;
        store.set_epoch_deadline(2);
        if metered {
            store.fuel_async_yield_interval(Some(METER_FUEL_STEP))?;
        }
        store.epoch_deadline_callback(epoch_check(fuel, start, deadline));

        let mut out = vec![Val::Bool(false); results];
        // The epoch deadline stops a guest that computes; this timeout stops one blocked in a
        // host call (a slow HTTP response, a sleep) where no epoch check runs.
        let call = async {
            let instance = pre.instantiate_async(&mut store).await?;
            let func = instance
                .get_func(&mut store, export)
                .ok_or_else(|| wasmtime::Error::msg("export not found in instance"))?;
            func.call_async(&mut store, &params, &mut out).await?;
            Ok::<_, wasmtime::Error>(())
        };
        let (result, timed_out) = match tokio::time::timeout(timeout + EPOCH_TICK * 4, call).await {
            Ok(r) => (r, false),
            Err(_) => (Err(wasmtime::Error::msg("deadline")), true),
        };
        // Stopped by the meter: what was paid, an upper bound of what it used (the count seen
        // at the stop may lag by up to one step).
        let fuel_used = store
            .data()
            .meter_stop
            .unwrap_or_else(|| fuel.saturating_sub(store.get_fuel().unwrap_or(0)));
        let mut state = store.into_data();
        // A browser session of the call's own is closed now, what it used recorded.
        state.browser.finish().await;
        Ok(Run {
            result: result.map(|()| out),
            state,
            fuel_used,
            timed_out,
            duration: start.elapsed(),
        })
    }
}

/// The epoch check of a call with `initial` fuel that started at `start`: it interrupts the
/// call past `deadline`, and lets it yield otherwise; a call that has computed for a while
/// demotes its lane ([`super::lane::maybe_demote`]).
///
/// The caller's live budget pays for the call's fuel ahead at each check: what it used so far
/// plus `METER_PAY_AHEAD` (the fuel count seen here is only brought up to date where the guest
/// leaves compiled code — a fuel yield every `METER_FUEL_STEP` — and the next check comes an
/// epoch interval later), never more than the call's own limit. When the budget cannot pay,
/// the call stops at once (as out of fuel; `classify`), having used no more than it paid.
fn epoch_check(
    initial: u64,
    start: Instant,
    deadline: Instant,
) -> impl FnMut(StoreContextMut<'_, HostState>) -> wasmtime::Result<UpdateDeadline> + Send + Sync + 'static
{
    let mut paid = 0u64;
    move |mut ctx| {
        super::lane::maybe_demote(start.elapsed());
        if let Some(m) = ctx.data().meter.clone() {
            let seen = initial.saturating_sub(ctx.get_fuel().unwrap_or(0));
            let want = seen.saturating_add(METER_PAY_AHEAD).min(initial);
            let delta = want.saturating_sub(paid);
            if delta > 0 {
                let got = m.take(Metered::Fuel, delta, false);
                paid += got;
                if got < delta {
                    ctx.data_mut().meter_stop = Some(paid);
                    return Ok(UpdateDeadline::Interrupt);
                }
            }
        }
        Ok(if Instant::now() >= deadline {
            UpdateDeadline::Interrupt
        } else {
            UpdateDeadline::Yield(2)
        })
    }
}

/// Calls `tool` of `plugin` with JSON `input` under `grant`.
pub async fn call(
    plugin: &Plugin,
    tool: &Tool,
    input: &serde_json::Value,
    grant: &Grant,
    env: &CallEnv<'_>,
) -> CallReport {
    let (export, params, results) = match arguments(tool, input) {
        Ok(a) => a,
        Err(outcome) => return early(outcome),
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
    report(outcome, &run, grant)
}

/// The export to call, its parameters and how many results it has; `invalid_input` when the
/// tool cannot be called or `input` does not fit its parameters.
fn arguments<'t>(
    tool: &'t Tool,
    input: &serde_json::Value,
) -> Result<(&'t ComponentExportIndex, Vec<Val>, usize), Outcome> {
    match &tool.target {
        Target::Sdk { call } => {
            let params = vec![
                Val::String(tool.info.function.clone()),
                Val::String(input.to_string()),
            ];
            Ok((call, params, 1))
        }
        Target::Plain { export, sig } => {
            if let Some(why) = &tool.info.unavailable {
                return Err(Outcome::InvalidInput {
                    message: format!("{} cannot be called: {why}", tool.info.name),
                });
            }
            match spud_schema::args_from_json(sig, input) {
                Ok(values) => {
                    let params = values
                        .iter()
                        .map(spud_schema::wasmtime_bridge::to_val)
                        .collect();
                    Ok((export, params, usize::from(sig.result.is_some())))
                }
                Err(e) => Err(Outcome::InvalidInput {
                    message: e.to_string(),
                }),
            }
        }
    }
}

/// The report of a call that ran: its outcome, output, meters, and its decisions followed by
/// the limits it hit.
fn report(outcome: Outcome, run: &Run, grant: &Grant) -> CallReport {
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
    decisions.extend(limit_decisions(
        &outcome,
        grant,
        stdout_dropped,
        stderr_dropped,
    ));
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
