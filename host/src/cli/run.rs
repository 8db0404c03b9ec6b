//! `spud run --plan FILE` (offline) or `spud run "GOAL" --model openai:MODEL`: the agent loop,
//! shown live.

use super::output::{fail, print_json, EXIT_USAGE};
use spud::agent::{Live, LiveText};
use spud::launch::{Job, Launcher, Settings};
use spud::model::StreamMode;
use spud::plan::{Budget, LoopMode, Plan, ReviseWhen, RunStatus, TraceEvent, TraceLine};
use spud::service::Spud;
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
    /// With a goal: `plan` (plan first, with the critic; re-plan after a failed run), `tools`
    /// (the model calls the tools as functions, turn by turn, and answers) or `auto` (plan
    /// first; tool calling when the model cannot produce a valid plan). Default: the
    /// config's `[agent] loop`, else auto.
    #[arg(long = "loop", value_name = "MODE", requires = "goal")]
    loop_mode: Option<LoopMode>,
    /// With a goal: whether the model's tool-calling turns are streamed (its text shown as
    /// it arrives) — `true`, `false` or `auto` (stream, but not requests with tools to an
    /// OpenAI-compatible server; without, for the rest of the run, when the server cannot). Default: the config's `[model] stream`, else auto.
    #[arg(long, value_name = "MODE", requires = "goal")]
    stream: Option<StreamMode>,
    /// Tool calls the run may make (default: the plan's budget; for a goal, 50).
    #[arg(long)]
    max_steps: Option<u64>,
    /// Wall time the run may take, ms (default: the plan's budget; for a goal, 120000).
    #[arg(long)]
    max_wall_ms: Option<u64>,
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
    /// Run the sub-agents on the workers of this NATS JetStream cluster (`spud worker`): a
    /// plan's, or those of the plans the model makes for a goal. The root run (and a goal's
    /// planning) stays here.
    #[arg(long, value_name = "URL")]
    nats: Option<String>,
    /// With --nats and --plan: run the whole run on a worker, the root too (its scheduler,
    /// shares and ledger there, its sub-agents spread over the workers); this process only
    /// waits for the report, of which it keeps a copy under `runs/ID/`.
    #[arg(long, requires = "nats")]
    on_worker: bool,
    #[command(flatten)]
    cluster: super::cluster::NatsArgs,
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
        TraceEvent::Redacted { text } => format!("  (event with secrets redacted) {text}"),
        TraceEvent::LoopFallback { reason } => format!("↪ tool calling instead of a plan: {reason}"),
        TraceEvent::ModelTurn { turn, calls, input_tokens, output_tokens, .. } => format!(
            "◆ turn {turn}: {} ({input_tokens} + {output_tokens} tokens)",
            if calls.is_empty() { "answer".to_string() } else { format!("calls [{}]", calls.join(", ")) }
        ),
        TraceEvent::ToolResolved { step, asked, tool } => format!("  {step}: `{asked}` resolved to `{tool}`"),
        TraceEvent::CallRejected { tool, reason, .. } => format!("✗ call of `{tool}` not made: {reason}"),
        TraceEvent::BestKept { step, attempt, score, over_score } => format!(
            "  {step}: attempt {attempt} kept (score {score:.2}), better than the last ({over_score:.2})"
        ),
        TraceEvent::ModelSwitched { from, to, reason } => format!("⇄ model `{from}` out ({reason}); `{to}` continues"),
        TraceEvent::StreamingOff { model, reason } => format!("  streaming off for `{model}`: {reason}"),
        TraceEvent::Compacted { turn, estimated_tokens, limit, outputs_cut, .. } => format!(
            "  compacted before turn {turn}: {outputs_cut} older tool outputs cut ({estimated_tokens} tokens estimated, {limit} allowed)"
        ),
        TraceEvent::Answered { text } => format!("answer: {}", text.chars().take(200).collect::<String>()),
        TraceEvent::Finished { status, steps, retries, backtracks, fuel, wall_ms } => format!(
            "finished: {status:?} — {steps} tool calls, {retries} retries, {backtracks} backtracks, fuel {fuel}, {wall_ms} ms"
        ),
    };
    eprintln!("[{t:7.3}s] {text}");
}

/// The launcher of this run: the config file and flags resolved once; sub-agents needing
/// approval are asked about on the terminal, when there is one.
fn launcher(args: &RunArgs, spud: &Spud) -> Result<Launcher, String> {
    let settings = Settings {
        config: args.config.clone(),
        model: args.model.clone(),
        base_url: args.base_url.clone(),
        api_key_env: args.api_key_env.clone(),
        judge: args.judge.clone(),
        revise: args.revise,
        max_replans: args.max_replans,
        max_tokens: args.max_tokens,
        loop_mode: args.loop_mode,
        stream: args.stream,
        no_memory: args.no_memory,
        goals: args.goal.is_some(),
    };
    let approver = spud::orchestrator::approval::TerminalApprover::if_interactive()
        .map(|a| Arc::new(a) as Arc<dyn spud::orchestrator::approval::Approver>);
    let live = (!args.quiet && !args.json).then(live_line);
    Launcher::new(spud, &settings)
        .map(|l| l.with_approver(approver).with_live(live))
        .map_err(|e| e.to_string())
}

/// The model's text on stderr as it streams in, one indented block per turn.
fn live_line() -> LiveText {
    use std::io::Write;
    let open = std::sync::atomic::AtomicBool::new(false);
    LiveText::new(move |live| {
        let mut err = std::io::stderr().lock();
        let _ = match live {
            Live::Text(text) => {
                let start = if open.swap(true, std::sync::atomic::Ordering::SeqCst) {
                    ""
                } else {
                    "           ✎ "
                };
                write!(err, "{start}{}", text.replace('\n', "\n             "))
            }
            Live::End => {
                open.store(false, std::sync::atomic::Ordering::SeqCst);
                writeln!(err)
            }
        };
        let _ = err.flush();
    })
}

/// The run's budget: the plan's (a goal's: the default), with the flags' limits.
fn budget(args: &RunArgs, of_plan: Budget) -> Budget {
    Budget {
        max_steps: args.max_steps.unwrap_or(of_plan.max_steps),
        max_wall_ms: args.max_wall_ms.unwrap_or(of_plan.max_wall_ms),
        ..of_plan
    }
}

/// What to run: the plan file (its budget with the flags' limits), or the goal (which needs a
/// model to plan it).
fn job(args: &RunArgs, has_planner: bool) -> Result<Job, String> {
    match (&args.plan, &args.goal) {
        (Some(path), _) => {
            let mut p = Plan::load(path).map_err(|e| e.to_string())?;
            p.budget = budget(args, p.budget);
            Ok(Job::Plan(p))
        }
        (None, _) if !has_planner => Err("a goal needs --model PROVIDER:MODEL or a [model] section in the config file (or use --plan FILE to run offline)".into()),
        (None, goal) => Ok(Job::Goal {
            goal: goal.clone().unwrap_or_default(),
            budget: budget(args, Budget::default()),
            max_tokens: None,
        }),
    }
}

pub async fn run(spud: Spud, args: RunArgs) -> i32 {
    let quiet = args.quiet;
    let observer = move |l: &TraceLine| {
        if !quiet {
            show(l)
        }
    };
    if args.on_worker && args.plan.is_none() {
        return fail(
            "--on-worker runs a plan file (--plan FILE); a goal is planned here: drop --on-worker to plan it here and run its sub-agents on the workers",
            EXIT_USAGE,
        );
    }
    let launcher = match launcher(&args, &spud) {
        Ok(l) => l,
        Err(e) => return fail(&e, EXIT_USAGE),
    };
    let job = match job(&args, launcher.planner.is_some()) {
        Ok(j) => j,
        Err(e) => return fail(&e, EXIT_USAGE),
    };
    let spud = Arc::new(spud);
    if let (true, Some(url)) = (args.on_worker, &args.nats) {
        if let Job::Plan(plan) = job {
            let memory = launcher.memory.is_some();
            return super::cluster::run_on_worker(
                url,
                &args.cluster,
                spud,
                plan,
                args.json,
                memory,
            )
            .await;
        }
        return fail("--on-worker runs a plan file (--plan FILE)", EXIT_USAGE);
    }
    let launcher = match &args.nats {
        Some(url) => match super::cluster::submitter(url, &args.cluster, spud.clone()).await {
            Ok(s) => launcher.with_dispatch(Some(Arc::new(s))),
            Err(e) => return fail(&e, 1),
        },
        None => launcher,
    };
    // On the cluster, lessons learned on any host are read before planning, and this run's
    // are shared once it has reflected.
    let shared = args.nats.as_ref().zip(launcher.memory.as_ref());
    if let Some((url, memory)) = shared {
        super::cluster::exchange_lessons(url, &args.cluster, memory).await;
    }
    let finished = match launcher.launch(spud, job, None, observer).await {
        Ok(f) => f,
        Err(e) => return fail(&e.to_string(), 1),
    };
    if let Some((url, memory)) = shared {
        super::cluster::exchange_lessons(url, &args.cluster, memory).await;
    }
    for w in &finished.memory_warnings {
        eprintln!("spud: warning: {w}");
    }
    let (status, dir, json) = (finished.status, finished.dir, finished.report);
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
