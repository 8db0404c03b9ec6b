//! `spud run --plan FILE` (offline) or `spud run "GOAL" --model openai:MODEL`: the agent loop,
//! shown live.

use super::{fail, print_json, EXIT_USAGE};
use spud::agent::plan::Budget;
use spud::agent::planner::{run_goal, GoalOptions};
use spud::agent::{run_with, Plan, ReviseWhen, RunOptions, RunStatus, TraceEvent, TraceLine};
use spud::config::{Config, ModelSection};
use spud::memory::MemoryOptions;
use spud::model::{ModelConfig, Provider};
use spud::Spud;
use std::path::PathBuf;
use std::sync::Arc;

#[derive(clap::Args)]
#[command(group(clap::ArgGroup::new("what").required(true).args(["plan", "goal"])))]
pub struct RunArgs {
    /// Plan file (TOML): goal, steps, tool calls, expectations, alternatives, budget.
    #[arg(long)]
    plan: Option<PathBuf>,
    /// A goal for the model to plan (needs --model).
    goal: Option<String>,
    /// `openai:MODEL` (Chat Completions: OpenAI, Ollama, vLLM, llama.cpp server, LM Studio),
    /// `openai-responses:MODEL` or `anthropic:MODEL`. Set --base-url for non-OpenAI APIs.
    /// Default: the `[model]` section of the config file.
    #[arg(long, requires = "goal")]
    model: Option<String>,
    /// API base URL (default: the config's, else https://api.openai.com/v1).
    #[arg(long)]
    base_url: Option<String>,
    /// Environment variable that holds the API key (none for local servers).
    #[arg(long)]
    api_key_env: Option<String>,
    /// Re-plans after a failed run (default: the config's `[agent]`, else 2).
    #[arg(long)]
    max_replans: Option<u32>,
    /// Planning token budget, input + output (default: the config's, else 200000).
    #[arg(long)]
    max_tokens: Option<u64>,
    /// A model that judges each successful step (`PROVIDER:MODEL`; base URL and key as for
    /// --model). With --plan it is used when the plan's `[critic]` has `judge = true`.
    #[arg(long)]
    judge: Option<String>,
    /// With a goal: when the model may revise the plan during a run — `never`, `on-surprise`
    /// (after a step that failed, needed a correction or scored below 1) or `each-step`.
    /// Default: the config's `[agent] revise`, else on-surprise.
    #[arg(long, requires = "goal")]
    revise: Option<ReviseWhen>,
    /// spud's config file (default: SPUD_CONFIG, else <home>/config.toml).
    #[arg(long, env = "SPUD_CONFIG")]
    config: Option<PathBuf>,
    /// Print the run's report as JSON at the end (progress still goes to stderr).
    #[arg(long)]
    json: bool,
    /// Neither use nor update the memory of past runs for this run (also: config
    /// `[agent] memory = false`).
    #[arg(long)]
    no_memory: bool,
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
        TraceEvent::StepFinished { step, outcome, fuel, duration_us, left, .. } => format!(
            "  {step}: {outcome} in {:.1} ms, fuel {fuel} — left: {} calls, {} fuel, {} ms",
            *duration_us as f64 / 1000.0,
            left.steps,
            left.fuel,
            left.wall_ms
        ),
        TraceEvent::PlanRevised { previous_run, after_step, reason, added, removed, changed, .. } => {
            let from = match (previous_run, after_step) {
                (Some(run), _) => format!("from run {run}"),
                (None, Some(step)) => format!("after {step}"),
                (None, None) => String::new(),
            };
            let why = if reason.is_empty() { String::new() } else { format!(" — {reason}") };
            format!(
                "↺ plan revised {from}: +[{}] -[{}] ~[{}]{why}",
                added.join(", "),
                removed.join(", "),
                changed.join(", ")
            )
        }
        TraceEvent::RevisionRejected { after_step, reason } => {
            format!("  revision after {after_step} rejected: {reason}")
        }
        TraceEvent::ArgsCorrected { step, args, .. } => {
            let text: String = args.to_string().chars().take(120).collect();
            format!("  {step}: arguments corrected: {text}")
        }
        TraceEvent::Critiqued { step, critique, verdict, .. } => {
            let why = if critique.feedback.is_empty() { String::new() } else { format!(" — {}", critique.feedback) };
            format!("  {step}: score {:.2} → {verdict:?}{why}", critique.score)
        }
        TraceEvent::StepBlocked { step, reason } => format!("✗ {step}: {reason}"),
        TraceEvent::SubAgentStarted { step, run, priority, queued_ms, budget } => format!(
            "⇢ {step}: sub-agent {run} started (priority {priority}, queued {queued_ms} ms, {} calls, {} ms)",
            budget.max_steps, budget.max_wall_ms
        ),
        TraceEvent::SubAgentFinished { step, status, steps, fuel, wall_ms, .. } => format!(
            "⇠ {step}: sub-agent {status:?} — {steps} tool calls, fuel {fuel}, {wall_ms} ms"
        ),
        TraceEvent::SubAgentDenied { step, missing } => {
            format!("✗ {step}: sub-agent refused, it asks for more than its parent holds: {}", missing.join("; "))
        }
        TraceEvent::LessonsUsed { ids, reordered, .. } => format!(
            "memory: lessons {ids:?} used; alternatives reordered for [{}]",
            reordered.join(", ")
        ),
        TraceEvent::BudgetExhausted { budget, used, limit } => format!("budget exhausted: {budget} ({used} of {limit})"),
        TraceEvent::OutputRedacted { step } => format!("  {step}: registered secrets redacted from the final output"),
        TraceEvent::Finished { status, steps, retries, backtracks, fuel, wall_ms } => format!(
            "finished: {status:?} — {steps} tool calls, {retries} retries, {backtracks} backtracks, fuel {fuel}, {wall_ms} ms"
        ),
    };
    eprintln!("[{t:7.3}s] {text}");
}

/// Says on stderr that the memory was not used or updated; returns `status`.
fn warn_memory(warning: Option<&str>, status: RunStatus) -> RunStatus {
    if let Some(w) = warning {
        eprintln!("spud: warning: {w}");
    }
    status
}

fn load_config(args: &RunArgs, spud: &Spud) -> Result<Config, String> {
    config_file(args.config.as_deref(), spud)
}

/// The config file given (which must exist), else `<home>/config.toml` if there is one.
pub(super) fn config_file(path: Option<&std::path::Path>, spud: &Spud) -> Result<Config, String> {
    match path {
        Some(p) => Config::load(p, true),
        None => Config::load(&spud.home().root().join("config.toml"), false),
    }
    .map_err(|e| e.to_string())
}

/// The memory options of this run, unless `--no-memory` or `[agent] memory = false`.
fn memory_options(args: &RunArgs, spud: &Spud) -> Result<Option<MemoryOptions>, String> {
    if args.no_memory {
        return Ok(None);
    }
    let config = load_config(args, spud)?;
    if config.agent.memory == Some(false) {
        return Ok(None);
    }
    let days = config
        .memory
        .retain_days
        .unwrap_or(spud::memory::DEFAULT_RETAIN_DAYS);
    Ok(Some(MemoryOptions::for_spud(spud, days)))
}

/// The `--judge` model, if one was asked for.
fn judge_provider(args: &RunArgs, spud: &Spud) -> Result<Option<Arc<dyn Provider>>, String> {
    let Some(spec) = &args.judge else {
        return Ok(None);
    };
    let section = load_config(args, spud)?.model;
    let flags = (args.base_url.as_deref(), args.api_key_env.as_deref());
    spud::model::provider(spec, model_config(flags, section.as_ref()))
        .map(|p| Some(Arc::from(p)))
        .map_err(|e| e.to_string())
}

/// Flags (`--base-url`, `--api-key-env`) first, then the config file's `[model]`, then
/// defaults.
fn model_config(
    (base_url, api_key_env): (Option<&str>, Option<&str>),
    section: Option<&ModelSection>,
) -> ModelConfig {
    ModelSection::connection(section, base_url, api_key_env)
}

/// The models sub-agents may name: `[models.NAME]`, or PROVIDER:MODEL the way `[model]` is
/// reached.
pub(super) fn models_of(config: &Config) -> Arc<dyn spud::model::Models> {
    Arc::new(spud::model::ModelCatalog::from_config(config))
}

/// Sub-agents needing approval are asked about on the terminal, when there is one.
fn approver() -> Option<Arc<dyn spud::orchestrator::approval::Approver>> {
    spud::orchestrator::approval::TerminalApprover::if_interactive()
        .map(|a| Arc::new(a) as Arc<dyn spud::orchestrator::approval::Approver>)
}

/// The planning model: `--model SPEC`, else the config's `[model]`, else none. Returns its
/// `PROVIDER:MODEL` spec and the provider.
pub(super) fn planning_model(
    spec: Option<&str>,
    flags: (Option<&str>, Option<&str>),
    config: &Config,
) -> Result<Option<(String, Arc<dyn Provider>)>, String> {
    let section = config.model.as_ref();
    let spec = match (spec, section) {
        (Some(m), _) => m.to_string(),
        (None, Some(m)) => format!("{}:{}", m.provider, m.model),
        (None, None) => return Ok(None),
    };
    let provider =
        spud::model::provider(&spec, model_config(flags, section)).map_err(|e| e.to_string())?;
    Ok(Some((spec, Arc::from(provider))))
}

pub async fn run(spud: Spud, args: RunArgs) -> i32 {
    let quiet = args.quiet;
    let observer = move |l: &TraceLine| {
        if !quiet {
            show(l)
        }
    };
    let memory = match memory_options(&args, &spud) {
        Ok(m) => m,
        Err(e) => return fail(&e, EXIT_USAGE),
    };
    let spud = Arc::new(spud);
    let (status, dir, json) = if let Some(path) = &args.plan {
        let plan = match Plan::load(path) {
            Ok(p) => p,
            Err(e) => return fail(&e.to_string(), EXIT_USAGE),
        };
        let judge = match judge_provider(&args, &spud) {
            Ok(j) => j,
            Err(e) => return fail(&e, EXIT_USAGE),
        };
        // A broken config was already reported by the memory settings (or is not needed
        // with --no-memory); plan runs only take the model prices and the models sub-agents
        // may name from it.
        let config = load_config(&args, &spud).ok();
        let prices = config
            .as_ref()
            .and_then(|c| c.model.as_ref().and_then(ModelSection::prices));
        match run_with(
            spud,
            plan,
            RunOptions {
                judge,
                approver: approver(),
                memory,
                prices,
                models: config.as_ref().map(models_of),
                ..RunOptions::default()
            },
            observer,
        )
        .await
        {
            Ok(r) => (
                warn_memory(r.memory_warning.as_deref(), r.status),
                r.dir.clone(),
                serde_json::to_value(&r).unwrap_or_default(),
            ),
            Err(e) => return fail(&e.to_string(), 1),
        }
    } else {
        let goal = args.goal.clone().unwrap_or_default();
        let config = match load_config(&args, &spud) {
            Ok(c) => c,
            Err(e) => return fail(&e, EXIT_USAGE),
        };
        let flags = (args.base_url.as_deref(), args.api_key_env.as_deref());
        let provider = match planning_model(args.model.as_deref(), flags, &config) {
            Ok(Some((_, p))) => p,
            Ok(None) => {
                return fail("a goal needs --model PROVIDER:MODEL or a [model] section in the config file (or use --plan FILE to run offline)", EXIT_USAGE)
            }
            Err(e) => return fail(&e, EXIT_USAGE),
        };
        let judge = match judge_provider(&args, &spud) {
            Ok(j) => j,
            Err(e) => return fail(&e, EXIT_USAGE),
        };
        let max_replans = args.max_replans.or(config.agent.max_replans).unwrap_or(2);
        let max_tokens = args
            .max_tokens
            .or(config.agent.max_tokens)
            .unwrap_or(200_000);
        let options = GoalOptions {
            approver: approver(),
            models: Some(models_of(&config)),
            model_output_bytes: config
                .agent
                .model_output_bytes
                .unwrap_or(spud::agent::step::DEFAULT_OUTPUT_BYTES),
            budget: Budget::default(),
            max_replans,
            max_tokens,
            judge,
            revise: args.revise.or(config.agent.revise).unwrap_or_default(),
            memory,
            prices: config
                .model
                .as_ref()
                .filter(|m| {
                    args.model.is_none() || args.model.as_deref() == Some(m.spec().as_str())
                })
                .and_then(ModelSection::prices),
            ..GoalOptions::default()
        };
        match run_goal(spud, provider, &goal, options, observer).await {
            Ok(r) => {
                let dir = r.runs.last().map(|x| x.dir.clone()).unwrap_or_default();
                for run in &r.runs {
                    warn_memory(run.memory_warning.as_deref(), run.status);
                }
                (r.status, dir, serde_json::to_value(&r).unwrap_or_default())
            }
            Err(e) => return fail(&e.to_string(), 1),
        }
    };
    if args.json {
        print_json(&json);
    } else {
        println!("{status:?}: report in {}", dir.join("report.md").display());
    }
    match status {
        RunStatus::Done => 0,
        RunStatus::Failed | RunStatus::Cancelled => 1,
        RunStatus::BudgetExhausted => 4,
    }
}
