//! Working on a goal with a model: plan, run with the same executor as plan files, and when the
//! run fails, plan again with what happened (re-planning), within a token budget; memory's
//! lessons go into the prompt and are drawn from each run.

use super::converse::{converse, Conversation};
use super::options::{RunOptions, RunReport};
use super::planner::{plan_counted, PlannerError};
use super::revise::Reviser;
use super::run::run_with;
use crate::model::{ModelError, Provider, Usage};
use crate::plan::{Budget, LoopMode, Plan, ReviseWhen, RunStatus, TraceLine};
use crate::service::Spud;
use std::sync::Arc;

/// What a goal run produced: every plan's run, and the tokens used.
#[derive(Debug, Clone, serde::Serialize)]
pub struct GoalReport {
    /// One run per plan (the first, then each re-plan).
    pub runs: Vec<RunReport>,
    /// Tokens used by planning.
    pub usage: Usage,
    /// How the goal ended.
    pub status: RunStatus,
    /// Why planning stopped, when the provider failed after at least one run (the runs and their
    /// traces are kept).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// With a failover chain (`[model] fallback`): which model did what — tokens and price
    /// per model, and each switch with its reason.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub models: Option<crate::model::FailoverLog>,
}

/// How a goal is worked on.
#[derive(Clone)]
pub struct GoalOptions {
    /// Budgets of each run.
    pub budget: Budget,
    /// Re-plans after a failed run.
    pub max_replans: u32,
    /// Model tokens for the whole goal: planning, revisions, corrections and judging.
    pub max_tokens: u64,
    /// A model that judges each successful step (the critic's `judge` is turned on).
    pub judge: Option<Arc<dyn Provider>>,
    /// When the plan is revised during a run.
    pub revise: ReviseWhen,
    /// Retries per step the critic may ask for; each carries arguments the model corrected
    /// from the critic's feedback.
    pub max_retries: u32,
    /// On whose behalf the runs call tools (an MCP principal's tools and grants); `None`: the
    /// operator.
    pub caller: Option<crate::service::Caller>,
    /// Who approves sub-agents that need it (see [`RunOptions::approver`]).
    pub approver: Option<Arc<dyn crate::orchestrator::approval::Approver>>,
    /// The models sub-agents may name (see [`RunOptions::models`]).
    pub models: Option<Arc<dyn crate::model::Models>>,
    /// Bytes of each tool output the model sees (plans, revisions, judging); default 4096.
    pub model_output_bytes: usize,
    /// The memory of past runs: lessons go into the planner's context, each run is reflected
    /// on (by rules and by the model). `None`: memory off.
    pub memory: Option<crate::memory::MemoryOptions>,
    /// Model prices for the cost figure.
    pub prices: Option<crate::model::Prices>,
    /// Plan first, tool calling, or plan first with tool calling when no valid plan comes.
    pub loop_mode: LoopMode,
    /// The most tokens one answer of the model may have in tool calling (`None`: the
    /// provider's default).
    pub answer_tokens: Option<u32>,
    /// The model's context window in tokens (`context_tokens` in its config): tool calling
    /// compacts the conversation before a request would overflow it.
    pub context_tokens: Option<u64>,
    /// Where tool calling shows the model's text as it streams in (none: not shown).
    pub live: Option<super::watch::LiveText>,
    /// Where each run's sub-agents run instead of this process (`spud run --nats "GOAL"`: the
    /// cluster's workers): the goal is planned here, by this model, and each of its runs keeps
    /// its scheduler and ledger here, as a plan run does.
    pub dispatch: Option<Arc<dyn super::options::Dispatch>>,
}

impl Default for GoalOptions {
    fn default() -> Self {
        GoalOptions {
            budget: Budget::default(),
            max_replans: 2,
            max_tokens: 200_000,
            judge: None,
            revise: ReviseWhen::default(),
            max_retries: 1,
            caller: None,
            approver: None,
            models: None,
            model_output_bytes: super::prompts::DEFAULT_OUTPUT_BYTES,
            memory: None,
            prices: None,
            loop_mode: LoopMode::default(),
            answer_tokens: None,
            context_tokens: None,
            live: None,
            dispatch: None,
        }
    }
}

/// Plans `goal` with the model, runs the plan — revising it as results come in and correcting
/// arguments on retries — and re-plans after a failed run, at most `max_replans` times and
/// within `max_tokens`.
pub async fn run_goal(
    spud: Arc<Spud>,
    provider: Arc<dyn Provider>,
    goal: &str,
    options: GoalOptions,
    observer: impl Fn(&TraceLine) + Send + Sync + Clone + 'static,
) -> Result<GoalReport, PlannerError> {
    let mut report = work_on(spud, provider.clone(), goal, options, observer).await?;
    report.models = provider.failover();
    Ok(report)
}

/// [`run_goal`] without the failover log.
async fn work_on(
    spud: Arc<Spud>,
    provider: Arc<dyn Provider>,
    goal: &str,
    options: GoalOptions,
    observer: impl Fn(&TraceLine) + Send + Sync + Clone + 'static,
) -> Result<GoalReport, PlannerError> {
    let mut done = SoFar::default();
    let (lessons, used_lessons, warning) = recall_for_goal(options.memory.as_ref(), goal);
    done.memory_warning = warning;
    if options.loop_mode == LoopMode::Tools {
        let run = (lessons, used_lessons, None);
        return by_tool_calling(spud, provider, goal, &options, done, run, observer).await;
    }
    let mut context = lessons.clone();
    let mut last_plan: Option<Plan> = None;
    for _ in 0..=options.max_replans {
        if done.tokens() >= options.max_tokens {
            return Ok(done.ended(RunStatus::BudgetExhausted, None));
        }
        let used = done.tokens();
        let (planned, u) = plan_counted(
            provider.as_ref(),
            &spud,
            options.caller.as_ref(),
            goal,
            &context,
            options.budget,
        )
        .await;
        let mut p = match planned {
            Ok(p) => p,
            // A provider that fails mid-run ends the goal cleanly; earlier runs keep their traces.
            Err(e) if !done.runs.is_empty() => {
                return Ok(done.ended(RunStatus::Failed, Some(e.to_string())));
            }
            Err(e) if options.loop_mode == LoopMode::Auto && no_plan(&e) => {
                done.usage.input_tokens += u.input_tokens;
                done.usage.output_tokens += u.output_tokens;
                let why = format!(
                    "the model could not produce a valid plan twice ({})",
                    super::prompts::cut_to(&e.to_string(), 600)
                );
                let run = (lessons, used_lessons, Some(why));
                return by_tool_calling(spud, provider, goal, &options, done, run, observer).await;
            }
            Err(e) => return Err(e),
        };
        done.usage.input_tokens += u.input_tokens;
        done.usage.output_tokens += u.output_tokens;
        let previous = done
            .runs
            .last()
            .map(|r: &RunReport| r.id.clone())
            .zip(last_plan.take());
        fit(&mut p, &options, used + u.input_tokens + u.output_tokens);
        let mut run_options = run_options(&options, &provider, previous, &used_lessons, u);
        run_options.switches_traced = done.switches;
        let mut report = run_with(spud.clone(), p.clone(), run_options, observer.clone()).await?;
        // The run traced the model's switches so far (its planning's too).
        done.switches = provider.failover().map_or(0, |l| l.switches.len());
        // The run's usage includes its planning, already counted above.
        done.usage.input_tokens += report.usage.input_tokens.saturating_sub(u.input_tokens);
        done.usage.output_tokens += report.usage.output_tokens.saturating_sub(u.output_tokens);
        let memory = options.memory.as_ref();
        done.learn(memory, provider.as_ref(), &mut report, goal)
            .await;
        last_plan = Some(p);
        let status = report.status;
        context = replan_context(&lessons, &report, options.model_output_bytes);
        done.runs.push(report);
        if status != RunStatus::Failed {
            return Ok(done.ended(status, None));
        }
    }
    Ok(done.ended(RunStatus::Failed, None))
}

/// Whether planning failed because the model wrote no valid plan (rather than because it
/// could not be reached): then tool calling may do what planning could not.
fn no_plan(e: &PlannerError) -> bool {
    matches!(
        e,
        PlannerError::InvalidPlan(_) | PlannerError::Model(ModelError::Protocol(_))
    )
}

/// Works on `goal` by tool calling (one run: the model corrects itself turn by turn, so there
/// is no re-plan). `run` holds the lessons for the system prompt, their ids, and why tool
/// calling was chosen when it is a fallback.
async fn by_tool_calling(
    spud: Arc<Spud>,
    provider: Arc<dyn Provider>,
    goal: &str,
    options: &GoalOptions,
    mut done: SoFar,
    run: (String, Vec<i64>, Option<String>),
    observer: impl Fn(&TraceLine) + Send + Sync + Clone + 'static,
) -> Result<GoalReport, PlannerError> {
    let (lessons, used_lessons, fallback) = run;
    let spent = done.tokens();
    let conversation = Conversation {
        goal: goal.to_string(),
        budget: Budget {
            max_tokens: options.max_tokens.saturating_sub(spent),
            ..options.budget
        },
        judge: options.judge.is_some(),
        context: lessons,
        fallback,
        answer_tokens: options.answer_tokens,
        context_tokens: options.context_tokens,
        live: options.live.clone(),
    };
    let mut run_options = run_options(options, &provider, None, &used_lessons, done.usage);
    run_options.reviser = None;
    run_options.switches_traced = done.switches;
    let mut report = converse(spud, provider.clone(), conversation, run_options, observer).await?;
    // The report's usage includes the failed planning, already counted.
    let before = done.usage;
    done.usage.input_tokens += report
        .usage
        .input_tokens
        .saturating_sub(before.input_tokens);
    done.usage.output_tokens += report
        .usage
        .output_tokens
        .saturating_sub(before.output_tokens);
    done.learn(
        options.memory.as_ref(),
        provider.as_ref(),
        &mut report,
        goal,
    )
    .await;
    let status = report.status;
    done.runs.push(report);
    Ok(done.ended(status, None))
}

/// What a goal has done so far: its runs, the tokens they and their planning used, and a
/// memory warning not yet given to a run's report.
#[derive(Default)]
struct SoFar {
    runs: Vec<RunReport>,
    usage: Usage,
    memory_warning: Option<String>,
    /// The goal model's failover switches traced by its runs.
    switches: usize,
}

impl SoFar {
    /// Tokens used so far.
    fn tokens(&self) -> u64 {
        self.usage.input_tokens + self.usage.output_tokens
    }

    /// The goal's report: how it ended, and why planning stopped (if a provider failed).
    fn ended(self, status: RunStatus, error: Option<String>) -> GoalReport {
        GoalReport {
            runs: self.runs,
            usage: self.usage,
            status,
            error,
            models: None,
        }
    }

    /// The model's lessons about a finished run (with `memory` on), their tokens counted; a
    /// memory warning (this one, or one left from recalling lessons) joins the report's own.
    async fn learn(
        &mut self,
        memory: Option<&crate::memory::MemoryOptions>,
        provider: &dyn Provider,
        report: &mut RunReport,
        goal: &str,
    ) {
        if let Some(m) = memory {
            let reflected = reflect_with_model(m, provider, report, goal).await;
            self.usage.input_tokens += reflected.1.input_tokens;
            self.usage.output_tokens += reflected.1.output_tokens;
            match reflected.0 {
                Ok(ids) => report.lessons.extend(ids),
                Err(w) => self.memory_warning = Some(w),
            }
        }
        if let Some(w) = self.memory_warning.take() {
            report.memory_warning = Some(match report.memory_warning.take() {
                Some(old) => format!("{old}; {w}"),
                None => w,
            });
        }
    }
}

/// Fits a plan to the goal: the run may spend what planning left of the goal's tokens
/// (`spent` so far, its own planning included); the critic judges when the goal has a judge,
/// and retries as often as the goal allows.
fn fit(p: &mut Plan, options: &GoalOptions, spent: u64) {
    p.budget.max_tokens = options.max_tokens.saturating_sub(spent);
    p.critic.judge = options.judge.is_some();
    p.critic.max_retries = options.max_retries;
}

/// How one plan of the goal runs: with the goal's judge, a reviser on the goal's model, the
/// lessons the planner was given (`used_lessons`), and what its planning cost (`planning`);
/// `previous` is the run (and plan) it re-plans.
fn run_options(
    options: &GoalOptions,
    provider: &Arc<dyn Provider>,
    previous: Option<(String, Plan)>,
    used_lessons: &[i64],
    planning: Usage,
) -> RunOptions {
    RunOptions {
        judge: options.judge.clone(),
        previous,
        reviser: Some(Arc::new(
            Reviser::new(provider.clone(), options.revise)
                .for_caller(options.caller.clone())
                .output_bytes(options.model_output_bytes),
        )),
        caller: options.caller.clone(),
        tree: None,
        approver: options.approver.clone(),
        models: options.models.clone(),
        model_output_bytes: Some(options.model_output_bytes),
        memory: options
            .memory
            .clone()
            .map(|m| crate::memory::MemoryOptions {
                reorder: false,
                used: used_lessons.to_vec(),
                ..m
            }),
        prices: options.prices,
        planning,
        switches_traced: 0,
        dispatch: options.dispatch.clone(),
    }
}

/// The planner's context for a re-plan: the lessons, and how the previous plan's run went.
fn replan_context(lessons: &str, report: &RunReport, output_bytes: usize) -> String {
    format!(
        "{lessons}A previous plan ran with status {:?}.\nAccepted results: {}\nFailed steps: {}\nMake a new plan for what is still missing.",
        report.status,
        super::prompts::cut_to(
            &serde_json::to_string(&report.results).unwrap_or_default(),
            output_bytes,
        ),
        serde_json::to_string(&report.failed).unwrap_or_default()
    )
}

/// Lessons for `goal` as planner context, their ids, and a warning if the memory failed.
fn recall_for_goal(
    memory: Option<&crate::memory::MemoryOptions>,
    goal: &str,
) -> (String, Vec<i64>, Option<String>) {
    let Some(m) = memory else {
        return (String::new(), Vec::new(), None);
    };
    let found = m
        .open()
        .and_then(|store| crate::memory::recall(&store, goal, &[], crate::memory::RECALL_LIMIT));
    match found {
        Ok(l) => (
            crate::memory::retrieve::context(&l),
            l.iter().map(|l| l.id).collect(),
            None,
        ),
        Err(e) => (
            String::new(),
            Vec::new(),
            Some(format!("memory not used: {e}")),
        ),
    }
}

/// The model's lessons about a finished run, stored (redacted) with it. Returns the new ids
/// or a warning, and the tokens spent.
async fn reflect_with_model(
    m: &crate::memory::MemoryOptions,
    provider: &dyn Provider,
    report: &RunReport,
    goal: &str,
) -> (Result<Vec<i64>, String>, Usage) {
    if report.memory_warning.is_some() {
        // The store already failed for this run; its warning says why.
        return (Ok(Vec::new()), Usage::default());
    }
    let (lessons, usage) =
        crate::memory::model_lessons(provider, &report.dir.join("trace.jsonl")).await;
    let lessons = match lessons {
        Ok(l) if l.is_empty() => return (Ok(Vec::new()), usage),
        Ok(l) => l,
        Err(e) => return (Err(format!("model wrote no lessons: {e}")), usage),
    };
    let lessons: Vec<_> = lessons
        .into_iter()
        .map(|mut l| {
            l.text = m.secrets.redact(&l.text);
            l
        })
        .collect();
    let stored = m
        .open()
        .and_then(|mut s| s.add_lessons(&report.id, &m.secrets.redact(goal), &lessons))
        .map_err(|e| format!("memory not updated: {e}"));
    (stored, usage)
}
