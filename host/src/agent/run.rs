//! The loop: Plan → Execute → Critique → Accept | Retry | Backtrack | Replan → Done | Failed |
//! BudgetExhausted. Steps whose dependencies are accepted run concurrently; after a step ends the
//! model may revise the steps not yet started; every transition is a trace event, written as it
//! happens and shown to an observer.

use super::context::{ChildRun, Ctx, StepEnd};
use super::options::{AgentError, RunOptions, RunReport};
use super::revise::{self, Reviser};
use super::step;
use crate::plan::{Plan, Step};
use crate::plan::{RunStatus, TraceEvent, TraceLine, TraceWriter};
use crate::service::Spud;
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A child run (a sub-agent), boxed: runs nest, so the future's type must not contain itself.
fn child_run(spud: Arc<Spud>, plan: Plan, options: RunOptions) -> ChildRun {
    Box::pin(run_with(spud, plan, options, |_| {}))
}

/// Runs `plan` to its end. `observer` sees every trace line as it is written.
pub async fn run_plan(
    spud: Arc<Spud>,
    plan: Plan,
    observer: impl Fn(&TraceLine) + Send + Sync + 'static,
) -> Result<RunReport, AgentError> {
    run_with(spud, plan, RunOptions::default(), observer).await
}

/// Where the run's steps stand.
#[derive(Default)]
struct Progress {
    results: BTreeMap<String, Value>,
    failed: BTreeMap<String, String>,
    started: BTreeSet<String>,
    superseded: BTreeSet<String>,
    revisions: u64,
}

impl Progress {
    /// The plan and each step's state for the model, most relevant first — the step that just
    /// ended, pending, running, failed, then accepted steps newest first — cut at a few KiB so
    /// a long run's prompt (and the cost of building it) stays bounded.
    fn describe(&self, steps: &[Step], after: &str) -> String {
        const BUDGET: usize = 6000;
        let rank = |s: &Step| {
            if s.id == after {
                0
            } else if !self.started.contains(&s.id) {
                1
            } else if self.failed.contains_key(&s.id) {
                3
            } else if !self.results.contains_key(&s.id) {
                2
            } else {
                4
            }
        };
        let mut order: Vec<(usize, &Step)> = steps.iter().enumerate().collect();
        order.sort_by_key(|(i, s)| (rank(s), std::cmp::Reverse(*i)));
        let (mut out, mut omitted) = (String::from("["), 0usize);
        for (_, s) in order {
            if out.len() >= BUDGET {
                omitted += 1;
                continue;
            }
            let status = if let Some(r) = self.results.get(&s.id) {
                let mut text = r.to_string();
                if text.len() > 600 {
                    text = format!("{}…", text.chars().take(600).collect::<String>());
                }
                json!({"accepted": text})
            } else if let Some(why) = self.failed.get(&s.id) {
                json!({"failed": why})
            } else if self.started.contains(&s.id) {
                json!("running")
            } else {
                json!("pending")
            };
            let item = json!({"id": s.id, "goal": s.goal, "tool": s.tool, "after": s.after, "args": s.args, "status": status});
            if out.len() > 1 {
                out.push(',');
            }
            out.push_str(&item.to_string());
        }
        out.push(']');
        if omitted > 0 {
            out.push_str(&format!(" ({omitted} earlier accepted steps not shown)"));
        }
        out
    }
}

/// Runs `plan` with a judge, a reviser, and/or as the revision of an earlier run.
pub async fn run_with(
    spud: Arc<Spud>,
    plan: Plan,
    options: RunOptions,
    observer: impl Fn(&TraceLine) + Send + Sync + 'static,
) -> Result<RunReport, AgentError> {
    let tree = options.tree.clone();
    let id = tree.as_ref().map_or_else(run_id, |t| t.id.clone());
    let dir = spud.home().root().join("runs").join(&id);
    let trace = TraceWriter::create(&dir)?;
    let mut plan = plan;
    let mut warnings = Vec::new();
    let recalled = match &options.memory {
        Some(m) if m.reorder => match crate::memory::prepare(m, &mut plan) {
            Ok(r) => Some(r),
            Err(e) => {
                warnings.push(format!("memory not used: {e}"));
                None
            }
        },
        Some(m) if !m.used.is_empty() => Some(crate::memory::Recalled {
            ids: m.used.clone(),
            ..Default::default()
        }),
        _ => None,
    };
    let ctx = Arc::new(Ctx {
        run_child: child_run,
        spud,
        trace,
        start: Instant::now(),
        ledger: Arc::new(Mutex::new(super::ledger::Ledger {
            usage: options.planning,
            ..super::ledger::Ledger::default()
        })),
        observer: Box::new(observer),
        plan: plan.clone(),
        judge: options.judge.clone(),
        reviser: options.reviser.clone(),
        caller: options.caller.clone(),
        run_id: id.clone(),
        tree: tree.as_ref().map_or_else(
            || {
                crate::orchestrator::Tree::new(
                    plan.agents,
                    options.approver.clone(),
                    options.models.clone(),
                )
            },
            |t| t.tree.clone(),
        ),
        depth: tree.as_ref().map_or(0, |t| t.depth),
        slot: tree.and_then(|t| t.slot),
        output_bytes: options
            .model_output_bytes
            .unwrap_or(super::prompts::DEFAULT_OUTPUT_BYTES)
            .max(64),
        prices: options.prices,
    });
    if let Some((previous_run, old)) = &options.previous {
        let (added, removed, changed) = diff(old, &plan);
        ctx.emit(TraceEvent::PlanRevised {
            previous_run: Some(previous_run.to_string()),
            after_step: None,
            reason: String::new(),
            added,
            removed,
            changed,
            steps: Vec::new(),
        });
    }
    ctx.emit(TraceEvent::Started {
        run: id.clone(),
        goal: plan.goal.clone(),
        plan: serde_json::to_value(&plan).unwrap_or_default(),
    });
    if let Some(r) = recalled.filter(|r| !r.ids.is_empty() || !r.reordered.is_empty()) {
        ctx.emit(TraceEvent::LessonsUsed {
            ids: r.ids,
            lessons: r.texts,
            reordered: r.reordered,
        });
    }

    let mut steps = plan.steps.clone();
    let mut p = Progress::default();
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
            let mut ready: Vec<&Step> = Vec::new();
            for s in &steps {
                if p.started.contains(&s.id) {
                    continue;
                }
                if let Some(dep) = s.after.iter().find(|d| p.failed.contains_key(*d)) {
                    let reason = format!("step `{dep}` failed");
                    ctx.emit(TraceEvent::StepBlocked {
                        step: s.id.clone(),
                        reason: reason.clone(),
                    });
                    p.failed.insert(s.id.clone(), reason);
                    p.started.insert(s.id.clone());
                    continue;
                }
                if s.after.iter().all(|d| p.results.contains_key(d)) {
                    p.started.insert(s.id.clone());
                    ready.push(s);
                }
            }
            // Sub-agents take their places in line now, highest priority first, so that the
            // start order follows priority rather than which task happens to run first.
            ready.sort_by_key(|s| {
                std::cmp::Reverse(s.agent.as_ref().map_or(i64::MAX, |a| a.priority))
            });
            for s in ready {
                let ticket = s
                    .agent
                    .as_ref()
                    .map(|a| ctx.tree.scheduler.enqueue(a.priority));
                let (ctx, s, snapshot) = (ctx.clone(), s.clone(), p.results.clone());
                running.spawn(async move {
                    let end = step::execute(&ctx, &s, &snapshot, ticket).await;
                    (s.id, end)
                });
            }
        }
        if running.is_empty() {
            break;
        }
        let next = tokio::time::timeout_at(deadline.into(), running.join_next()).await;
        match next {
            Ok(Some(Ok((id, end)))) => {
                let (surprising, what) = match end {
                    StepEnd::Accepted { value, surprising } => {
                        let what = format!("accepted: {}", ctx.cut(&value.to_string()));
                        p.results.insert(id.clone(), value);
                        (surprising, what)
                    }
                    StepEnd::Failed(why) => {
                        let what = format!("failed: {why}");
                        p.failed.insert(id.clone(), why);
                        (true, what)
                    }
                    StepEnd::Budget => {
                        p.failed.insert(id, "budget exhausted".into());
                        continue;
                    }
                };
                if let Some(reviser) = &ctx.reviser {
                    if !out_of_time && reviser.wants(surprising) {
                        revise_after(&ctx, reviser, &mut steps, &mut p, &id, &what).await;
                    }
                }
            }
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
    let mut report = finish(ctx.clone(), id, dir, &steps, p)?;
    if let Some(m) = &options.memory {
        let tokens = report.usage.input_tokens + report.usage.output_tokens;
        match crate::memory::reflect(m, &ctx.plan, ctx.trace.path(), tokens, Vec::new()) {
            Ok(ids) => report.lessons = ids,
            Err(e) => warnings.push(format!("memory not updated: {e}")),
        }
    }
    if !warnings.is_empty() {
        let w = warnings.join("; ");
        tracing::warn!("{w}");
        report.memory_warning = Some(w);
    }
    Ok(report)
}

/// Asks the reviser about the pending steps after `after` ended, and applies a valid revision.
/// A revision after a failure takes the failed step's work over (it is then superseded).
async fn revise_after(
    ctx: &Ctx,
    reviser: &Reviser,
    steps: &mut Vec<Step>,
    p: &mut Progress,
    after: &str,
    what: &str,
) {
    if p.revisions >= u64::from(reviser.max_revisions) || !ctx.tokens_left() {
        return;
    }
    let progress = p.describe(steps, after);
    let (answer, usage) = reviser
        .revise(&ctx.spud, &ctx.plan.goal, &progress, after, what)
        .await;
    ctx.spend(usage);
    let revision = match answer {
        Ok(Some(r)) => r,
        Ok(None) => return,
        Err(reason) => {
            ctx.emit(TraceEvent::RevisionRejected {
                after_step: after.to_string(),
                reason,
            });
            return;
        }
    };
    let failed: BTreeSet<String> = p.failed.keys().cloned().collect();
    match revise::apply(steps, &p.started, &failed, &revision) {
        Ok((new_steps, d)) => {
            p.revisions += 1;
            // Failures the revision answers no longer decide the run's status; steps blocked by
            // them are superseded too.
            p.superseded.extend(failed);
            ctx.emit(TraceEvent::PlanRevised {
                previous_run: None,
                after_step: Some(after.to_string()),
                reason: revision.reason,
                added: d.added,
                removed: d.removed,
                changed: d.changed,
                steps: revision.steps,
            });
            *steps = new_steps;
        }
        Err(reason) => ctx.emit(TraceEvent::RevisionRejected {
            after_step: after.to_string(),
            reason,
        }),
    }
}

/// Ends the run: status, final trace event, report.
fn finish(
    ctx: Arc<Ctx>,
    id: String,
    dir: PathBuf,
    steps: &[Step],
    p: Progress,
) -> Result<RunReport, AgentError> {
    let (calls, fuel, usage, retries, backtracks, exhausted) = ctx
        .ledger
        .lock()
        .map(|l| {
            (
                l.calls,
                l.fuel,
                l.usage,
                l.retries,
                l.backtracks,
                l.exhausted.clone(),
            )
        })
        .unwrap_or_default();
    let (net_bytes, denied, mut data) = ctx
        .ledger
        .lock()
        .map(|l| (l.net, l.denied, l.data))
        .unwrap_or_default();
    // Final outputs leave spud (to the terminal, an MCP client, a parent): no secret goes.
    let mut results = p.results;
    let secrets = ctx.spud.secrets();
    for (step, value) in results.iter_mut() {
        if let Some(clean) = secrets.redact_json(value) {
            *value = clean;
            data.outputs_redacted += 1;
            ctx.emit(TraceEvent::OutputRedacted { step: step.clone() });
        }
    }
    let unanswered = p.failed.keys().any(|k| !p.superseded.contains(k));
    let all_done = steps
        .iter()
        .all(|s| results.contains_key(&s.id) || p.superseded.contains(&s.id));
    let status = if let Some((budget, used, limit)) = exhausted {
        ctx.emit(TraceEvent::BudgetExhausted {
            budget,
            used,
            limit,
        });
        RunStatus::BudgetExhausted
    } else if unanswered || !all_done {
        RunStatus::Failed
    } else {
        RunStatus::Done
    };
    let wall_ms = ctx.start.elapsed().as_millis() as u64;
    ctx.emit(TraceEvent::Finished {
        status,
        steps: calls,
        retries,
        backtracks,
        fuel,
        wall_ms,
    });
    // A sub-agent's report covers its own subtree; the scheduler's counters are the tree's, so
    // below the root only the peak is known (from the records).
    let subagents = ctx.tree.records_under(&ctx.run_id);
    let stats = if ctx.depth == 0 {
        ctx.tree.scheduler.stats()
    } else {
        crate::orchestrator::scheduler::SchedulerStats {
            peak_parallel: crate::orchestrator::figures::peak_overlap(&subagents),
            ..Default::default()
        }
    };
    let figures = crate::orchestrator::figures::compute(
        &ctx.run_id,
        &subagents,
        stats,
        crate::orchestrator::figures::Totals {
            wall_ms,
            tool_calls: calls,
            denied_calls: denied,
            fuel,
            // Planning included, which is not in the run's token budget.
            tokens: usage.input_tokens + usage.output_tokens,
            net_bytes,
            usage: (usage.input_tokens, usage.output_tokens),
            prices: ctx.prices,
            data,
        },
    );
    let report = RunReport {
        id,
        status,
        dir,
        steps: calls,
        retries,
        backtracks,
        revisions: p.revisions,
        fuel,
        net_bytes,
        denied,
        data,
        usage,
        wall_ms,
        results,
        failed: p.failed,
        superseded: p.superseded,
        subagents,
        figures,
        memory_warning: None,
        lessons: Vec::new(),
    };
    super::report::write(
        &report,
        &ctx.plan,
        &crate::plan::read_trace(ctx.trace.path())?,
    )?;
    Ok(report)
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
