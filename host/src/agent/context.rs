//! What every step of a run shares ([`Ctx`]): the spud, the trace, the budget ledger, the plan,
//! the judge and reviser, the caller, the run's place in its tree — and how a step ended
//! ([`StepEnd`]).

use super::ledger::Ledger;
use super::options::{AgentError, RunOptions, RunReport};
use super::prompts::cut_to;
use super::revise::Reviser;
use crate::model::{Provider, Usage};
use crate::plan::{Budget, BudgetLeft, Plan, TraceEvent, TraceLine, TraceWriter};
use crate::service::Spud;
use serde_json::Value;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// A child run, boxed: runs nest, so the future's type must not contain itself.
pub(super) type ChildRun = Pin<Box<dyn Future<Output = Result<RunReport, AgentError>> + Send>>;

/// How a sub-agent's run is started (the loop's own entry point, `run::child_run`).
pub(super) type RunChild = fn(Arc<Spud>, Plan, RunOptions) -> ChildRun;

/// What every step of a run shares.
pub(super) struct Ctx {
    /// Starts a child run (a sub-agent): the loop itself, handed down so that the layers
    /// below it need not import it.
    pub run_child: RunChild,
    pub spud: Arc<Spud>,
    pub trace: TraceWriter,
    pub start: Instant,
    pub ledger: Arc<Mutex<Ledger>>,
    pub observer: Box<dyn Fn(&TraceLine) + Send + Sync>,
    /// The plan as the run began (goal, budget and critic settings; steps may be revised).
    pub plan: Plan,
    pub judge: Option<Arc<dyn Provider>>,
    pub reviser: Option<Arc<Reviser>>,
    /// On whose behalf tools are called (an MCP principal); `None`: the operator.
    pub caller: Option<crate::service::Caller>,
    /// This run's id.
    pub run_id: String,
    /// The tree of runs this one belongs to, its depth, and its slot when it is a sub-agent.
    pub tree: Arc<crate::orchestrator::Tree>,
    pub depth: u32,
    pub slot: Option<Arc<crate::orchestrator::scheduler::Slot>>,
    /// Bytes of a tool's output that traces and the model see.
    pub output_bytes: usize,
    /// Model prices for the cost figure.
    pub prices: Option<crate::model::Prices>,
    /// The run's browser session, shared by its steps and closed with the run.
    pub browser: Arc<crate::sandbox::browser::BrowserSlot>,
    /// The goal model's failover switches traced so far (by this run or earlier ones).
    pub switches: std::sync::atomic::AtomicUsize,
    /// Where this run's own sub-agents run instead of this process, if elsewhere.
    pub dispatch: Option<Arc<dyn super::options::Dispatch>>,
}

impl Ctx {
    /// Cuts a tool output to what traces and the model may see, with registered secrets
    /// redacted (a model provider is a destination too).
    pub fn cut(&self, s: &str) -> String {
        let secrets = self.spud.secrets();
        if secrets.is_empty() {
            cut_to(s, self.output_bytes)
        } else {
            cut_to(&secrets.redact(s), self.output_bytes)
        }
    }

    fn redact_event(&self, event: TraceEvent) -> TraceEvent {
        let secrets = self.spud.secrets();
        if secrets.is_empty() {
            return event;
        }
        let Ok(text) = serde_json::to_string(&event) else {
            return event;
        };
        if !secrets.contains_secret(&text) {
            return event;
        }
        // Fails closed: what no longer parses is written as redacted text, never as it was.
        let clean = secrets.redact(&text);
        serde_json::from_str(&clean).unwrap_or(TraceEvent::Redacted { text: clean })
    }

    /// What sub-agents may still be given: the budget left, less what running ones hold.
    pub fn available(&self) -> Budget {
        let b = &self.plan.budget;
        let l = self.ledger.lock();
        let Ok(l) = l else {
            return Budget::zero();
        };
        let left =
            |limit: u64, used: u64, held: u64| limit.saturating_sub(used).saturating_sub(held);
        Budget {
            max_steps: left(b.max_steps, l.calls, l.reserved.steps),
            max_wall_ms: b
                .max_wall_ms
                .saturating_sub(self.start.elapsed().as_millis() as u64),
            max_fuel: left(b.max_fuel, l.fuel + l.live_fuel, l.reserved.fuel),
            max_net_bytes: left(b.max_net_bytes, l.net + l.live_net, l.reserved.net),
            max_tokens: left(b.max_tokens, l.tokens, l.reserved.tokens),
            max_storage_bytes: left(
                b.max_storage_bytes,
                l.data.storage_bytes,
                l.reserved.storage,
            ),
        }
    }

    pub fn left(&self) -> BudgetLeft {
        let b = &self.plan.budget;
        let (calls, fuel, net) = self
            .ledger
            .lock()
            .map(|l| (l.calls, l.fuel + l.live_fuel, l.net + l.live_net))
            .unwrap_or_default();
        BudgetLeft {
            steps: b.max_steps.saturating_sub(calls),
            fuel: b.max_fuel.saturating_sub(fuel),
            net_bytes: b.max_net_bytes.saturating_sub(net),
            wall_ms: b
                .max_wall_ms
                .saturating_sub(self.start.elapsed().as_millis() as u64),
        }
    }

    pub fn emit(&self, event: TraceEvent) {
        // Traces are stored and shown: registered secrets in plans, arguments and outputs are
        // redacted before anything is written.
        let event = self.redact_event(event);
        let line = TraceLine {
            at_ms: self.start.elapsed().as_millis() as u64,
            event,
        };
        if let Err(e) = self.trace.write(&line) {
            tracing::warn!("trace write failed: {e}");
        }
        (self.observer)(&line);
    }

    /// Traces the failover switches of `provider` not traced yet, as `model_switched`;
    /// returns the model in use, when `provider` is a failover chain.
    pub fn trace_switches(&self, provider: &dyn Provider) -> Option<String> {
        use std::sync::atomic::Ordering;
        let log = provider.failover()?;
        let seen = self.switches.swap(log.switches.len(), Ordering::SeqCst);
        for s in log.switches.iter().skip(seen) {
            self.emit(TraceEvent::ModelSwitched {
                from: s.from.clone(),
                to: s.to.clone(),
                reason: s.reason.clone(),
            });
        }
        Some(log.current)
    }

    /// Counts model tokens against the run's budget.
    pub fn spend(&self, usage: Usage) {
        if let Ok(mut l) = self.ledger.lock() {
            l.tokens += usage.input_tokens + usage.output_tokens;
            l.usage.input_tokens += usage.input_tokens;
            l.usage.output_tokens += usage.output_tokens;
        }
    }

    /// Whether the run has time left and no budget ran out (worth trying something again).
    pub fn can_go_on(&self) -> bool {
        let exhausted = self
            .ledger
            .lock()
            .map(|l| l.exhausted.is_some())
            .unwrap_or(true);
        !exhausted && self.available().max_wall_ms > 0
    }

    /// Whether the token budget still allows asking a model (what running sub-agents hold
    /// is theirs).
    pub fn tokens_left(&self) -> bool {
        self.ledger
            .lock()
            .map(|l| l.tokens + l.reserved.tokens < self.plan.budget.max_tokens)
            .unwrap_or(false)
    }
}

/// How a step ended.
pub(super) enum StepEnd {
    /// Accepted, with its result; `surprising` when it needed corrections or scored below 1;
    /// `note`: the critic's feedback on it (the judge's, say), empty when it had none.
    Accepted {
        value: Value,
        surprising: bool,
        note: String,
    },
    /// Nothing left to try.
    Failed(String),
    /// A budget ran out before its call.
    Budget,
}
