//! The end of a run: its final outputs redacted, its status decided and traced, its figures
//! computed, its report built and written next to its trace.

use super::context::Ctx;
use super::options::{AgentError, RunReport};
use super::progress::Progress;
use crate::model::Usage;
use crate::orchestrator::figures::{self, DataFlow, Figures};
use crate::orchestrator::SubAgentRecord;
use crate::plan::{RunStatus, Step, TraceEvent};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

/// What the run's ledger holds at its end.
#[derive(Default)]
struct Tally {
    calls: u64,
    fuel: u64,
    usage: Usage,
    retries: u64,
    backtracks: u64,
    exhausted: Option<(String, u64, u64)>,
    net_bytes: u64,
    denied: u64,
    data: DataFlow,
}

impl Tally {
    fn read(ctx: &Ctx) -> Tally {
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
        let (net_bytes, denied, data) = ctx
            .ledger
            .lock()
            .map(|l| (l.net, l.denied, l.data))
            .unwrap_or_default();
        Tally {
            calls,
            fuel,
            usage,
            retries,
            backtracks,
            exhausted,
            net_bytes,
            denied,
            data,
        }
    }
}

/// Ends the run: status, final trace event, report.
pub(super) fn finish(
    ctx: Arc<Ctx>,
    id: String,
    dir: PathBuf,
    steps: &[Step],
    p: Progress,
) -> Result<RunReport, AgentError> {
    let mut t = Tally::read(&ctx);
    let mut results = p.results;
    redact(&ctx, &mut results, &mut t.data);
    let unanswered = p.failed.keys().any(|k| !p.superseded.contains(k));
    let all_done = steps
        .iter()
        .all(|s| results.contains_key(&s.id) || p.superseded.contains(&s.id));
    let status = status(&ctx, t.exhausted.take(), unanswered || !all_done);
    let wall_ms = ctx.start.elapsed().as_millis() as u64;
    ctx.emit(TraceEvent::Finished {
        status,
        steps: t.calls,
        retries: t.retries,
        backtracks: t.backtracks,
        fuel: t.fuel,
        wall_ms,
    });
    let (subagents, figures) = subagent_figures(&ctx, &t, wall_ms);
    let lines = crate::plan::read_trace(ctx.trace.path())?;
    let report = RunReport {
        corrections: crate::plan::view(&lines).corrections,
        id,
        status,
        dir,
        steps: t.calls,
        retries: t.retries,
        backtracks: t.backtracks,
        revisions: p.revisions,
        fuel: t.fuel,
        net_bytes: t.net_bytes,
        denied: t.denied,
        data: t.data,
        usage: t.usage,
        wall_ms,
        results,
        failed: p.failed,
        superseded: p.superseded,
        subagents,
        figures,
        memory_warning: None,
        lessons: Vec::new(),
    };
    super::report::write(&report, &ctx.plan, &lines)?;
    Ok(report)
}

/// Final outputs leave spud (to the terminal, an MCP client, a parent): no secret goes. Each
/// result redacted is counted in `data` and traced.
fn redact(ctx: &Ctx, results: &mut BTreeMap<String, Value>, data: &mut DataFlow) {
    let secrets = ctx.spud.secrets();
    for (step, value) in results.iter_mut() {
        if let Some(clean) = secrets.redact_json(value) {
            *value = clean;
            data.outputs_redacted += 1;
            ctx.emit(TraceEvent::OutputRedacted { step: step.clone() });
        }
    }
}

/// How the run ended: a budget that ran out (traced), else failed when some failure went
/// unanswered or some step is not done (`incomplete`), else done.
fn status(ctx: &Ctx, exhausted: Option<(String, u64, u64)>, incomplete: bool) -> RunStatus {
    if let Some((budget, used, limit)) = exhausted {
        ctx.emit(TraceEvent::BudgetExhausted {
            budget,
            used,
            limit,
        });
        RunStatus::BudgetExhausted
    } else if incomplete {
        RunStatus::Failed
    } else {
        RunStatus::Done
    }
}

/// The sub-agents under this run and the run's figures. A sub-agent's report covers its own
/// subtree; the scheduler's counters are the tree's, so below the root only the peak is known
/// (from the records).
fn subagent_figures(ctx: &Ctx, t: &Tally, wall_ms: u64) -> (Vec<SubAgentRecord>, Figures) {
    let subagents = ctx.tree.records_under(&ctx.run_id);
    let stats = if ctx.depth == 0 {
        ctx.tree.scheduler.stats()
    } else {
        crate::orchestrator::scheduler::SchedulerStats {
            peak_parallel: figures::peak_overlap(&subagents),
            ..Default::default()
        }
    };
    let figures = figures::compute(
        &ctx.run_id,
        &subagents,
        stats,
        figures::Totals {
            wall_ms,
            tool_calls: t.calls,
            denied_calls: t.denied,
            fuel: t.fuel,
            // Planning included, which is not in the run's token budget.
            tokens: t.usage.input_tokens + t.usage.output_tokens,
            net_bytes: t.net_bytes,
            usage: (t.usage.input_tokens, t.usage.output_tokens),
            prices: ctx.prices,
            data: t.data,
        },
    );
    (subagents, figures)
}
