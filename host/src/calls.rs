//! How one call runs beyond its caller's grant: cancellation, and tighter limits (what is left
//! of a run's budget), and the guard that records a call dropped mid-flight.

use crate::runtime::Entry;
use crate::{Caller, Spud};
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
    /// At most this many network bytes in + out (a run's remaining `max_net_bytes`): requests
    /// past it are refused and a body crossing it is cut.
    pub max_net_bytes: Option<u64>,
}

impl CallOptions {
    /// Cancelled by `token`.
    pub fn cancel(mut self, token: CancellationToken) -> Self {
        self.cancel = Some(token);
        self
    }

    /// Fuel, time and network bytes capped by what a budget has left.
    pub fn within(mut self, fuel: u64, timeout_ms: u64, net_bytes: u64) -> Self {
        self.max_fuel = Some(fuel);
        self.max_timeout_ms = Some(timeout_ms);
        self.max_net_bytes = Some(net_bytes);
        self
    }

    /// `limits` lowered to these caps.
    pub fn cap(&self, limits: &mut spud_policy::ResolvedLimits) {
        if let Some(f) = self.max_fuel {
            limits.fuel = limits.fuel.min(f);
        }
        if let Some(t) = self.max_timeout_ms {
            limits.timeout_ms = limits.timeout_ms.min(t.max(1));
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
