//! The loop: Plan → Execute → Critique → Accept | Retry | Backtrack | Replan → Done | Failed |
//! BudgetExhausted. Steps whose dependencies are accepted run concurrently; after a step ends the
//! model may revise the steps not yet started; every transition is a trace event, written as it
//! happens and shown to an observer.

use super::context::{ChildRun, Ctx, StepEnd};
use super::finish::finish;
use super::options::{AgentError, RunOptions, RunReport};
use super::progress::Progress;
use super::revise::{self, Reviser};
use super::step;
use crate::orchestrator::TreeContext;
use crate::plan::{Plan, Step};
use crate::plan::{TraceEvent, TraceLine, TraceWriter};
use crate::service::Spud;
use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::task::JoinSet;

/// The steps running, each ending with its id and how it ended.
type Running = JoinSet<(String, StepEnd)>;

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
    let recalled = recall(&options, &mut plan, &mut warnings);
    let ctx = Arc::new(new_ctx(
        spud,
        trace,
        &plan,
        &options,
        tree,
        Box::new(observer),
        &id,
    ));
    begin(&ctx, &options, &plan, &id, recalled);
    let mut steps = plan.steps.clone();
    let mut p = Progress::default();
    drive(&ctx, &mut steps, &mut p).await;
    switched(&ctx);
    close_browser(&ctx).await;
    let mut report = finish(ctx.clone(), id, dir, &steps, p)?;
    remember(&ctx, &options, &mut report, warnings);
    Ok(report)
}

/// Lessons from the memory of past runs: applied to `plan` (alternatives that worked moved
/// first) in plan-file mode, or those the planner was given in goal mode. A memory that fails
/// adds to `warnings`.
pub(super) fn recall(
    options: &RunOptions,
    plan: &mut Plan,
    warnings: &mut Vec<String>,
) -> Option<crate::memory::Recalled> {
    match &options.memory {
        Some(m) if m.reorder => match crate::memory::prepare(m, plan) {
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
    }
}

/// The run is over: its browser session (if a step started one) is closed — the browser
/// killed, its profile removed — and the `close session` decision, with the requests its
/// pages made between calls, recorded in the audit log. Each run has its own session, a
/// sub-agent's run too.
pub(super) async fn close_browser(ctx: &Ctx) {
    if let Err(e) = ctx.spud.close_browser(&ctx.browser).await {
        tracing::warn!("the run's browser session could not be recorded: {e}");
    }
}

/// What the steps of run `id` share: a root run starts its own tree, a sub-agent joins its
/// parent's (`tree`).
pub(super) fn new_ctx(
    spud: Arc<Spud>,
    trace: TraceWriter,
    plan: &Plan,
    options: &RunOptions,
    tree: Option<TreeContext>,
    observer: Box<dyn Fn(&TraceLine) + Send + Sync>,
    id: &str,
) -> Ctx {
    Ctx {
        run_child: child_run,
        browser: crate::sandbox::browser::BrowserSlot::new(Default::default()),
        spud,
        trace,
        start: Instant::now(),
        ledger: Arc::new(Mutex::new(super::ledger::Ledger {
            usage: options.planning,
            ..super::ledger::Ledger::default()
        })),
        observer,
        plan: plan.clone(),
        judge: options.judge.clone(),
        reviser: options.reviser.clone(),
        caller: options.caller.clone(),
        run_id: id.to_string(),
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
        switches: options.switches_traced.into(),
        dispatch: options.dispatch.clone(),
    }
}

/// Traces the run's start: how it revises an earlier run's plan (if it does), its plan, and
/// the lessons it uses.
pub(super) fn begin(
    ctx: &Ctx,
    options: &RunOptions,
    plan: &Plan,
    id: &str,
    recalled: Option<crate::memory::Recalled>,
) {
    if let Some((previous_run, old)) = &options.previous {
        let (added, removed, changed) = diff(old, plan);
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
        run: id.to_string(),
        goal: plan.goal.clone(),
        plan: serde_json::to_value(plan).unwrap_or_default(),
    });
    if let Some(r) = recalled.filter(|r| !r.ids.is_empty() || !r.reordered.is_empty()) {
        ctx.emit(TraceEvent::LessonsUsed {
            ids: r.ids,
            lessons: r.texts,
            reordered: r.reordered,
        });
    }
    // The goal model's switches while this run's plan was made.
    switched(ctx);
}

/// Traces the switches of the goal model's failover chain (the reviser's) not traced yet.
fn switched(ctx: &Ctx) {
    if let Some(r) = &ctx.reviser {
        ctx.trace_switches(r.provider().as_ref());
    }
}

/// Runs `steps` as their dependencies are accepted, until none is left to start or running;
/// stops everything when the wall-clock budget runs out.
async fn drive(ctx: &Arc<Ctx>, steps: &mut Vec<Step>, p: &mut Progress) {
    let mut running = Running::new();
    let deadline = Instant::now() + Duration::from_millis(ctx.plan.budget.max_wall_ms);
    let mut out_of_time = false;
    loop {
        let budget_gone = ctx
            .ledger
            .lock()
            .map(|l| l.exhausted.is_some())
            .unwrap_or(true);
        if !budget_gone && !out_of_time {
            start_ready(ctx, steps, p, &mut running);
        }
        if running.is_empty() {
            break;
        }
        let next = tokio::time::timeout_at(deadline.into(), running.join_next()).await;
        match next {
            Ok(Some(Ok((id, end)))) => ended(ctx, steps, p, id, end, out_of_time).await,
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
                        ctx.plan.budget.max_wall_ms,
                    ));
                }
            }
        }
    }
}

/// Starts the steps whose dependencies are all accepted; a step whose dependency failed is
/// blocked (and fails) instead.
fn start_ready(ctx: &Arc<Ctx>, steps: &[Step], p: &mut Progress, running: &mut Running) {
    let mut ready: Vec<&Step> = Vec::new();
    for s in steps {
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
    // Sub-agents take their places in line now, highest priority first, so that the start
    // order follows priority rather than which task happens to run first.
    ready.sort_by_key(|s| std::cmp::Reverse(s.agent.as_ref().map_or(i64::MAX, |a| a.priority)));
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

/// Takes in how step `id` ended and, when the reviser wants to after such an end (and time is
/// not up), has it revise the steps not yet started.
async fn ended(
    ctx: &Ctx,
    steps: &mut Vec<Step>,
    p: &mut Progress,
    id: String,
    end: StepEnd,
    out_of_time: bool,
) {
    let (surprising, what) = match end {
        StepEnd::Accepted {
            value, surprising, ..
        } => {
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
            return;
        }
    };
    if let Some(reviser) = &ctx.reviser {
        if !out_of_time && reviser.wants(surprising) {
            revise_after(ctx, reviser, steps, p, &id, &what).await;
        }
    }
}

/// After the run: the reflection into the memory of past runs (its lessons' ids go into
/// `report`), and `warnings` about the memory logged and reported.
pub(super) fn remember(
    ctx: &Ctx,
    options: &RunOptions,
    report: &mut RunReport,
    mut warnings: Vec<String>,
) {
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
    switched(ctx);
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

/// A new run's id: its start time to the millisecond (`20261203-081500-123`, so ids sort in
/// start order and `last` is the newest even for runs started in the same second) and two hex
/// digits that keep two processes starting in the same millisecond apart.
pub fn run_id() -> String {
    let now = std::time::SystemTime::now();
    let stamp = humantime::format_rfc3339_millis(now)
        .to_string()
        .replace([':', '-'], "")
        .replace(['T', '.'], "-")
        .trim_end_matches('Z')
        .to_string();
    let nanos = now
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    format!("{stamp}{:02x}", (nanos ^ std::process::id()) & 0xff)
}
