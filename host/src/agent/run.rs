//! The loop: Plan → Execute → Critique → Accept | Retry | Backtrack → Done | Failed |
//! BudgetExhausted. Steps whose dependencies are accepted run concurrently; every transition is
//! a trace event, written as it happens and shown to an observer.

use super::critic::{self, Verdict};
use super::plan::{Budget, Expectation, Plan, Step};
use super::refs;
use super::trace::{BudgetLeft, RunStatus, TraceEvent, TraceLine, TraceWriter};
use crate::model::Provider;
use crate::sandbox::Outcome;
use crate::Spud;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Failures that stop a run before it starts.
#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    /// The run's folder or trace could not be written.
    #[error("cannot write the run's trace: {0}")]
    Trace(#[from] std::io::Error),
}

/// What a finished run measured.
#[derive(Debug, Clone, serde::Serialize)]
pub struct RunReport {
    /// Run id.
    pub id: String,
    /// How it ended.
    pub status: RunStatus,
    /// Its folder (trace and report).
    pub dir: PathBuf,
    /// Tool calls made.
    pub steps: u64,
    /// Retries.
    pub retries: u64,
    /// Backtracks.
    pub backtracks: u64,
    /// Total fuel.
    pub fuel: u64,
    /// Wall time, ms.
    pub wall_ms: u64,
    /// Accepted results by step id.
    pub results: BTreeMap<String, Value>,
    /// Steps that failed, with why.
    pub failed: BTreeMap<String, String>,
}

/// Budget use shared by concurrent steps.
#[derive(Default)]
struct Ledger {
    calls: u64,
    tokens: u64,
    fuel: u64,
    net: u64,
    retries: u64,
    backtracks: u64,
    exhausted: Option<(String, u64, u64)>,
}

impl Ledger {
    /// Reserves one call, or says which budget is gone.
    fn reserve(&mut self, b: &Budget) -> Result<(), (String, u64, u64)> {
        let over = if self.calls >= b.max_steps {
            Some(("max_steps", self.calls, b.max_steps))
        } else if self.fuel >= b.max_fuel {
            Some(("max_fuel", self.fuel, b.max_fuel))
        } else if self.net >= b.max_net_bytes {
            Some(("max_net_bytes", self.net, b.max_net_bytes))
        } else if self.tokens >= b.max_tokens {
            Some(("max_tokens", self.tokens, b.max_tokens))
        } else {
            None
        };
        match over {
            Some((k, used, limit)) => {
                let e = (k.to_string(), used, limit);
                self.exhausted.get_or_insert(e.clone());
                Err(e)
            }
            None => {
                self.calls += 1;
                Ok(())
            }
        }
    }
}

struct Ctx {
    spud: Arc<Spud>,
    trace: TraceWriter,
    start: Instant,
    ledger: Mutex<Ledger>,
    observer: Box<dyn Fn(&TraceLine) + Send + Sync>,
    plan: Plan,
    judge: Option<Arc<dyn Provider>>,
    caller: Option<crate::Caller>,
}

/// Optional parts of a run.
#[derive(Default, Clone)]
pub struct RunOptions {
    /// A model that judges each successful result (when the plan's critic has `judge = true`).
    pub judge: Option<Arc<dyn Provider>>,
    /// The run this one re-plans (its id and plan); the trace starts with the diff.
    pub previous: Option<(String, Plan)>,
    /// On whose behalf the steps call tools (an MCP principal's tools and grants); default:
    /// the operator.
    pub caller: Option<crate::Caller>,
}

impl Ctx {
    fn left(&self) -> BudgetLeft {
        let b = &self.plan.budget;
        let (calls, fuel, net) = self
            .ledger
            .lock()
            .map(|l| (l.calls, l.fuel, l.net))
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

    fn emit(&self, event: TraceEvent) {
        let line = TraceLine {
            at_ms: self.start.elapsed().as_millis() as u64,
            event,
        };
        if let Err(e) = self.trace.write(&line) {
            tracing::warn!("trace write failed: {e}");
        }
        (self.observer)(&line);
    }
}

enum StepEnd {
    Accepted(Value),
    Failed(String),
    Budget,
}

/// Runs `plan` to its end. `observer` sees every trace line as it is written.
pub async fn run_plan(
    spud: Arc<Spud>,
    plan: Plan,
    observer: impl Fn(&TraceLine) + Send + Sync + 'static,
) -> Result<RunReport, AgentError> {
    run_with(spud, plan, RunOptions::default(), observer).await
}

/// Runs `plan` with a judge and/or as the revision of an earlier run.
pub async fn run_with(
    spud: Arc<Spud>,
    plan: Plan,
    options: RunOptions,
    observer: impl Fn(&TraceLine) + Send + Sync + 'static,
) -> Result<RunReport, AgentError> {
    let id = run_id();
    let dir = spud.home().root().join("runs").join(&id);
    let trace = TraceWriter::create(&dir)?;
    let ctx = Arc::new(Ctx {
        spud,
        trace,
        start: Instant::now(),
        ledger: Mutex::default(),
        observer: Box::new(observer),
        plan: plan.clone(),
        judge: options.judge.clone(),
        caller: options.caller.clone(),
    });
    if let Some((previous_run, old)) = &options.previous {
        let (added, removed, changed) = diff(old, &plan);
        ctx.emit(TraceEvent::PlanRevised {
            previous_run: previous_run.to_string(),
            added,
            removed,
            changed,
        });
    }
    ctx.emit(TraceEvent::Started {
        run: id.clone(),
        goal: plan.goal.clone(),
        plan: serde_json::to_value(&plan).unwrap_or_default(),
    });

    let mut results: BTreeMap<String, Value> = BTreeMap::new();
    let mut failed: BTreeMap<String, String> = BTreeMap::new();
    let mut started: BTreeSet<String> = BTreeSet::new();
    let mut running = tokio::task::JoinSet::new();
    let deadline = Instant::now() + Duration::from_millis(plan.budget.max_wall_ms);
    let mut out_of_time = false;

    loop {
        let budget_gone = ctx
            .ledger
            .lock()
            .map(|l| l.exhausted.is_some())
            .unwrap_or(true);
        if !budget_gone && !out_of_time {
            for step in &plan.steps {
                if started.contains(&step.id) {
                    continue;
                }
                if let Some(dep) = step.after.iter().find(|d| failed.contains_key(*d)) {
                    let reason = format!("step `{dep}` failed");
                    ctx.emit(TraceEvent::StepBlocked {
                        step: step.id.clone(),
                        reason: reason.clone(),
                    });
                    failed.insert(step.id.clone(), reason);
                    started.insert(step.id.clone());
                    continue;
                }
                if step.after.iter().all(|d| results.contains_key(d)) {
                    started.insert(step.id.clone());
                    let (ctx, step, snapshot) = (ctx.clone(), step.clone(), results.clone());
                    running.spawn(async move {
                        let end = execute_step(&ctx, &step, &snapshot).await;
                        (step.id, end)
                    });
                }
            }
        }
        if running.is_empty() {
            break;
        }
        let next = tokio::time::timeout_at(deadline.into(), running.join_next()).await;
        match next {
            Ok(Some(Ok((id, end)))) => match end {
                StepEnd::Accepted(v) => {
                    results.insert(id, v);
                }
                StepEnd::Failed(why) => {
                    failed.insert(id, why);
                }
                StepEnd::Budget => {
                    failed.insert(id, "budget exhausted".into());
                }
            },
            Ok(Some(Err(e))) => tracing::warn!("a step task ended abnormally: {e}"),
            Ok(None) => break,
            Err(_) => {
                // Wall-clock budget: stop everything still running.
                out_of_time = true;
                running.abort_all();
                let used = ctx.start.elapsed().as_millis() as u64;
                if let Ok(mut l) = ctx.ledger.lock() {
                    l.exhausted.get_or_insert((
                        "max_wall_ms".into(),
                        used,
                        plan.budget.max_wall_ms,
                    ));
                }
            }
        }
    }

    let (ledger_calls, fuel, retries, backtracks, exhausted) = ctx
        .ledger
        .lock()
        .map(|l| {
            (
                l.calls,
                l.fuel,
                l.retries,
                l.backtracks,
                l.exhausted.clone(),
            )
        })
        .unwrap_or_default();
    let status = if let Some((budget, used, limit)) = exhausted {
        ctx.emit(TraceEvent::BudgetExhausted {
            budget,
            used,
            limit,
        });
        RunStatus::BudgetExhausted
    } else if !failed.is_empty() || results.len() < plan.steps.len() {
        RunStatus::Failed
    } else {
        RunStatus::Done
    };
    let wall_ms = ctx.start.elapsed().as_millis() as u64;
    ctx.emit(TraceEvent::Finished {
        status,
        steps: ledger_calls,
        retries,
        backtracks,
        fuel,
        wall_ms,
    });
    let report = RunReport {
        id,
        status,
        dir,
        steps: ledger_calls,
        retries,
        backtracks,
        fuel,
        wall_ms,
        results,
        failed,
    };
    super::report::write(&report, &ctx.plan, &super::trace::read(ctx.trace.path())?)?;
    Ok(report)
}

async fn execute_step(ctx: &Ctx, step: &Step, results: &BTreeMap<String, Value>) -> StepEnd {
    let settings = ctx.plan.critic;
    let (mut alternative, mut attempt, mut retries, mut backtracks) = (0usize, 0u32, 0u32, 0u32);
    let mut previous: Option<f64> = None;
    loop {
        let (tool, args, expect): (&str, &Value, &Expectation) = match alternative {
            0 => (&step.tool, &step.args, &step.expect),
            n => {
                let alt = &step.alternatives[n - 1];
                (
                    alt.tool.as_deref().unwrap_or(&step.tool),
                    alt.args.as_ref().unwrap_or(&step.args),
                    alt.expect.as_ref().unwrap_or(&step.expect),
                )
            }
        };
        let args = match refs::resolve(args, results) {
            Ok(a) => a,
            Err(e) => {
                let reason = format!("cannot build the arguments: {e}");
                ctx.emit(TraceEvent::StepBlocked {
                    step: step.id.clone(),
                    reason: reason.clone(),
                });
                return StepEnd::Failed(reason);
            }
        };
        let reserved = ctx
            .ledger
            .lock()
            .map_err(|_| ())
            .and_then(|mut l| l.reserve(&ctx.plan.budget).map_err(|_| ()));
        if reserved.is_err() {
            return StepEnd::Budget;
        }
        ctx.emit(TraceEvent::StepStarted {
            step: step.id.clone(),
            attempt,
            alternative,
            tool: tool.to_string(),
            args: args.clone(),
        });
        // Tool errors, denials and limits are information for the critic, not crashes.
        let called = match &ctx.caller {
            Some(caller) => ctx.spud.call_as(caller, tool, &args, None).await,
            None => ctx.spud.call(tool, &args).await,
        };
        let (outcome, fuel, duration_us, net) = match called {
            Ok(r) => (
                r.outcome,
                r.fuel_used,
                r.duration_us,
                r.net_bytes_in + r.net_bytes_out,
            ),
            Err(e) => (
                Outcome::InvalidInput {
                    message: e.to_string(),
                },
                0,
                0,
                0,
            ),
        };
        if let Ok(mut l) = ctx.ledger.lock() {
            l.fuel += fuel;
            l.net += net;
        }
        ctx.emit(TraceEvent::StepFinished {
            step: step.id.clone(),
            attempt,
            outcome: outcome.kind().to_string(),
            output: cut(&match &outcome {
                Outcome::Ok { value } => value.to_string(),
                other => other.message(),
            }),
            fuel,
            duration_us,
            left: ctx.left(),
        });
        let mut critique = critic::critique(&outcome, expect);
        if let (Some(judge), true, Outcome::Ok { value }) =
            (&ctx.judge, settings.judge && settings.enabled, &outcome)
        {
            let earlier = cut(&serde_json::to_string(results).unwrap_or_default());
            let usage = super::judge::review(
                judge.as_ref(),
                &mut critique,
                &ctx.plan.goal,
                &step.id,
                expect.outcome.as_deref(),
                &cut(&value.to_string()),
                &earlier,
            )
            .await;
            if let Ok(mut l) = ctx.ledger.lock() {
                l.tokens += usage.input_tokens + usage.output_tokens;
            }
        }
        let left = step.alternatives.len() - alternative;
        let verdict = critic::decide(&critique, &settings, retries, backtracks, left);
        let score = critique.score;
        ctx.emit(TraceEvent::Critiqued {
            step: step.id.clone(),
            attempt,
            critique: critique.clone(),
            verdict,
            previous_score: previous,
        });
        match verdict {
            Verdict::Accept => {
                return StepEnd::Accepted(match outcome {
                    Outcome::Ok { value } => value,
                    _ => Value::Null,
                })
            }
            Verdict::Retry => {
                retries += 1;
                if let Ok(mut l) = ctx.ledger.lock() {
                    l.retries += 1;
                }
            }
            Verdict::Backtrack => {
                alternative += 1;
                backtracks += 1;
                if let Ok(mut l) = ctx.ledger.lock() {
                    l.backtracks += 1;
                }
            }
            Verdict::Fail => return StepEnd::Failed(critique.feedback),
        }
        previous = Some(score);
        attempt += 1;
    }
}

/// Steps added, removed and changed from `old` to `new`, by id.
pub fn diff(old: &Plan, new: &Plan) -> (Vec<String>, Vec<String>, Vec<String>) {
    let find = |p: &Plan, id: &str| p.steps.iter().find(|s| s.id == id).cloned();
    let added = new
        .steps
        .iter()
        .filter(|s| find(old, &s.id).is_none())
        .map(|s| s.id.clone())
        .collect();
    let removed = old
        .steps
        .iter()
        .filter(|s| find(new, &s.id).is_none())
        .map(|s| s.id.clone())
        .collect();
    let changed = new
        .steps
        .iter()
        .filter(|s| find(old, &s.id).is_some_and(|o| o != **s))
        .map(|s| s.id.clone())
        .collect();
    (added, removed, changed)
}

/// Cuts text to 4 KiB for traces.
fn cut(s: &str) -> String {
    const MAX: usize = 4096;
    if s.len() <= MAX {
        return s.to_string();
    }
    let mut end = MAX;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}… ({} bytes in all)", &s[..end], s.len())
}

fn run_id() -> String {
    let now = std::time::SystemTime::now();
    let stamp = humantime::format_rfc3339_seconds(now)
        .to_string()
        .replace([':', '-'], "")
        .replace('T', "-")
        .trim_end_matches('Z')
        .to_string();
    let nanos = now
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    format!("{stamp}-{:04x}", (nanos ^ std::process::id()) & 0xffff)
}
