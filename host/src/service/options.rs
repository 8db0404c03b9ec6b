//! How one call runs beyond its caller's grant: cancellation, and tighter limits (what is left
//! of a run's budget), and the guard that records a call dropped mid-flight.

use super::caller::{Caller, SpudError};
use super::spud::Spud;
use crate::runtime::{CallReport, Entry};
use crate::sandbox::Meter;
use crate::sandbox::{Capability, Outcome};
use std::sync::Arc;
use std::time::Instant;
use tokio_util::sync::CancellationToken;

/// Options of one [`Spud::call_as`].
#[derive(Debug, Clone, Default)]
pub struct CallOptions {
    /// When it fires first, the sandbox is dropped and the call recorded as `cancelled`.
    pub cancel: Option<CancellationToken>,
    /// At most this much fuel, whatever the grant allows (a run's remaining fuel budget).
    pub max_fuel: Option<u64>,
    /// At most this long, ms, whatever the grant allows (a run's remaining wall time).
    pub max_timeout_ms: Option<u64>,
    /// The caller's live budget, charged while the call runs (fuel at each epoch check,
    /// network bytes per body frame) and shared with its other calls in flight.
    pub meter: Option<Arc<dyn Meter>>,
    /// The browser session of the caller's run, shared by its calls (none: each call that
    /// drives a browser gets its own, closed when the call ends).
    pub browser: Option<Arc<crate::sandbox::browser::BrowserSlot>>,
}

impl CallOptions {
    /// Cancelled by `token`.
    pub fn cancel(mut self, token: CancellationToken) -> Self {
        self.cancel = Some(token);
        self
    }

    /// Fuel and time capped by what a budget has left, drawing on `meter` as it runs.
    pub fn within(mut self, fuel: u64, timeout_ms: u64, meter: Arc<dyn Meter>) -> Self {
        self.max_fuel = Some(fuel);
        self.max_timeout_ms = Some(timeout_ms);
        self.meter = Some(meter);
        self
    }

    /// `limits` lowered to these caps; which caps bind (are below the grant's own limits).
    pub fn cap(&self, limits: &mut spud_policy::ResolvedLimits) -> Binding {
        let mut b = Binding::default();
        if let Some(f) = self.max_fuel.filter(|f| *f < limits.fuel) {
            limits.fuel = f;
            b.fuel = true;
        }
        if let Some(t) = self
            .max_timeout_ms
            .map(|t| t.max(1))
            .filter(|t| *t < limits.timeout_ms)
        {
            limits.timeout_ms = t;
            b.time = true;
        }
        b
    }
}

/// Which of a call's limits came from its caller's budget rather than from the tool's grant.
#[derive(Debug, Clone, Copy, Default)]
pub struct Binding {
    /// Fuel.
    pub fuel: bool,
    /// Wall-clock time.
    pub time: bool,
}

impl Binding {
    /// When the call ended on a limit that came from the budget: which budget, and the
    /// limit decision's reason rewritten to name it (not the policy's limit).
    pub(crate) fn stop(&self, report: &mut CallReport) {
        // (budget, what ran out, the target of the limit decision to reword)
        let (budget, reword) = match &report.outcome {
            Outcome::FuelExhausted { .. } if self.fuel || report.budget_stop.is_some() => {
                ("max_fuel", Some(("fuel", "fuel:")))
            }
            Outcome::Deadline { .. } if self.time => {
                ("max_wall_ms", Some(("wall time", "wall clock:")))
            }
            // The network budget's own decision already names it.
            Outcome::Denied { denial } if denial.capability == Capability::Limit => {
                ("max_net_bytes", None)
            }
            _ => return,
        };
        report.budget_stop = Some(budget);
        let Some((what, target)) = reword else {
            return;
        };
        for d in report.decisions.iter_mut().filter(|d| {
            d.capability == Capability::Limit && !d.allowed && d.target.starts_with(target)
        }) {
            d.reason = format!("the {what} its run had left ran out: raise `{budget}` in the plan's [budget] (or the sub-agent's share)");
        }
    }
}

/// A call between its start and its audit record. Dropped before [`InFlight::landed`] (its
/// caller went away: a run stopped, a task aborted), it records the call as `cancelled`, so
/// the audit log has every call that began.
pub(crate) struct InFlight<'a> {
    pub spud: &'a Spud,
    pub caller: &'a Caller,
    pub tool: &'a str,
    pub entry: &'a Entry,
    pub input: &'a serde_json::Value,
    pub started: Instant,
    pub landed: bool,
}

impl InFlight<'_> {
    /// ms since the call began.
    pub fn elapsed_ms(&self) -> u64 {
        self.started.elapsed().as_millis() as u64
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        if self.landed {
            return;
        }
        let ms = self.elapsed_ms();
        if let Err(e) =
            self.spud
                .record_cancelled(self.caller, self.tool, self.entry, self.input, ms)
        {
            tracing::error!("audit: cannot record a call dropped in flight: {e}");
        }
    }
}

/// A tool call's future when it runs in another process: its report, or why it did not run.
pub type RemoteCall =
    std::pin::Pin<Box<dyn std::future::Future<Output = Result<CallReport, SpudError>> + Send>>;

/// Runs tool calls in another process (`spud serve --nats`: the cluster's workers) instead of
/// this one's sandbox. The other process takes the same path as [`Spud::call_as`] — the
/// caller's tools, the effective grant narrowed by it, the sandbox, the audit record (in its
/// own log) — and the answer is the same report or the same refusal.
pub trait CallDispatch: Send + Sync {
    /// Calls `tool` with `input` on behalf of `caller`, elsewhere.
    fn call(&self, caller: &Caller, tool: &str, input: &serde_json::Value) -> RemoteCall;
}
