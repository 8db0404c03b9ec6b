//! `spud run --plan FILE`: the agent loop on a plan file, shown live.

use super::{fail, print_json, EXIT_USAGE};
use spud::agent::{run_plan, Plan, RunStatus, TraceEvent, TraceLine};
use spud::Spud;
use std::path::PathBuf;
use std::sync::Arc;

#[derive(clap::Args)]
pub struct RunArgs {
    /// Plan file (TOML): goal, steps, tool calls, expectations, alternatives, budget.
    #[arg(long)]
    plan: PathBuf,
    /// Print the run's report as JSON at the end (progress still goes to stderr).
    #[arg(long)]
    json: bool,
    /// No live progress on stderr.
    #[arg(long, short)]
    quiet: bool,
}

fn show(line: &TraceLine) {
    let t = line.at_ms as f64 / 1000.0;
    let text = match &line.event {
        TraceEvent::Started { run, goal, .. } => format!("run {run}: {goal}"),
        TraceEvent::StepStarted { step, attempt, alternative, tool, .. } => {
            let alt = if *alternative > 0 { format!(", alternative {alternative}") } else { String::new() };
            format!("▶ {step}: {tool} (attempt {attempt}{alt})")
        }
        TraceEvent::StepFinished { step, outcome, fuel, duration_us, .. } => {
            format!("  {step}: {outcome} in {:.1} ms, fuel {fuel}", *duration_us as f64 / 1000.0)
        }
        TraceEvent::Critiqued { step, critique, verdict, .. } => {
            let why = if critique.feedback.is_empty() { String::new() } else { format!(" — {}", critique.feedback) };
            format!("  {step}: score {:.2} → {verdict:?}{why}", critique.score)
        }
        TraceEvent::StepBlocked { step, reason } => format!("✗ {step}: {reason}"),
        TraceEvent::BudgetExhausted { budget, used, limit } => format!("budget exhausted: {budget} ({used} of {limit})"),
        TraceEvent::Finished { status, steps, retries, backtracks, fuel, wall_ms } => format!(
            "finished: {status:?} — {steps} tool calls, {retries} retries, {backtracks} backtracks, fuel {fuel}, {wall_ms} ms"
        ),
    };
    eprintln!("[{t:7.3}s] {text}");
}

pub async fn run(spud: Spud, args: RunArgs) -> i32 {
    let plan = match Plan::load(&args.plan) {
        Ok(p) => p,
        Err(e) => return fail(&e.to_string(), EXIT_USAGE),
    };
    let quiet = args.quiet;
    let report = match run_plan(Arc::new(spud), plan, move |l| {
        if !quiet {
            show(l)
        }
    })
    .await
    {
        Ok(r) => r,
        Err(e) => return fail(&e.to_string(), 1),
    };
    if args.json {
        print_json(&report);
    } else {
        println!(
            "{:?}: report in {}",
            report.status,
            report.dir.join("report.md").display()
        );
    }
    match report.status {
        RunStatus::Done => 0,
        RunStatus::Failed => 1,
        RunStatus::BudgetExhausted => 4,
    }
}
