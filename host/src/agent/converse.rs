//! The tool-calling loop: the model sees the callable tools as functions and calls them turn
//! by turn; the calls of one turn run concurrently, each as a step of its own through the same
//! executor as a plan's steps (sandbox, budgets, trace, critic and judge, sub-agents through
//! `spawn_agent`); each result, denial, limit or critic's feedback goes back to the model as
//! the call's result, and the run ends with the model's answer — or when a budget runs out.
//! A tool name the model gave is resolved when it names exactly one tool; an unknown or
//! ambiguous one, or arguments that are not a JSON object, go back as an error with the
//! candidates, so the next turn may call another tool. A streamed answer's text is shown as it
//! arrives (`watch`).

use super::callable::{Resolved, Toolbox};
use super::context::{Ctx, StepEnd};
use super::finish::finish;
use super::options::{AgentError, RunOptions, RunReport};
use super::progress::Progress;
use super::run::{begin, close_browser, new_ctx, recall, remember, run_id};
use super::step;
use super::watch::{LiveText, Watch};
use crate::model::{ChatMessage, ChatRequest, Provider, ToolCall};
use crate::plan::{AgentSettings, Budget, CriticSettings, Plan, Step, TraceEvent, TraceLine};
use crate::plan::{TraceWriter, SPAWN_AGENT};
use crate::service::Spud;
use serde_json::{json, Value};
use std::sync::Arc;
use tokio::task::JoinSet;

/// Turns a tool-calling run takes at most: twice its step budget, and two more (a model that
/// only ever calls unknown tools uses no step, and is stopped all the same).
pub fn max_turns(max_steps: u64) -> u64 {
    max_steps.saturating_mul(2).saturating_add(2)
}

/// What a tool-calling run works on, beyond its [`RunOptions`].
#[derive(Debug, Clone, Default)]
pub struct Conversation {
    /// The goal, in the user's words.
    pub goal: String,
    /// The run's budgets (`max_steps` counts tool calls).
    pub budget: Budget,
    /// Ask the judge about each successful result (when the run has a judge).
    pub judge: bool,
    /// More for the system prompt: lessons from the memory of past runs.
    pub context: String,
    /// Why the goal is worked on by tool calling rather than a plan (traced first).
    pub fallback: Option<String>,
    /// The most tokens one answer of the model may have (`None`: the provider's default).
    pub answer_tokens: Option<u32>,
    /// The model's context window in tokens (`None`: not compacted).
    pub context_tokens: Option<u64>,
    /// Where the model's text is shown as it streams in (none: not shown).
    pub live: Option<LiveText>,
}

/// The conversation as it goes.
#[derive(Default)]
struct State {
    messages: Vec<ChatMessage>,
    steps: Vec<Step>,
    p: Progress,
    turn: u32,
    /// The prompt tokens of the last request (the provider's usage fields), and how many
    /// messages it had.
    last_prompt: (u64, usize),
}

const PROMPT: &str = "You are spud, an agent that works on the user's goal by calling sandboxed tools. \
Call the tools you need; call several at once when they do not depend on each other. Each call's result, \
or its error, comes back to you. An error says what was wrong (a tool that does not exist, arguments that \
do not match the tool's schema, a permission the grant does not give): correct the call or try another \
tool instead of repeating it unchanged. When the goal is done, or cannot be done, answer in plain text \
without calling a tool.";

/// Works on `c.goal` by tool calling with `provider`. `observer` sees every trace line.
pub async fn converse(
    spud: Arc<Spud>,
    provider: Arc<dyn Provider>,
    c: Conversation,
    options: RunOptions,
    observer: impl Fn(&TraceLine) + Send + Sync + 'static,
) -> Result<RunReport, AgentError> {
    let tree = options.tree.clone();
    let id = tree.as_ref().map_or_else(run_id, |t| t.id.clone());
    let dir = spud.home().root().join("runs").join(&id);
    let trace = TraceWriter::create(&dir)?;
    let mut plan = Plan {
        goal: c.goal.clone(),
        budget: c.budget,
        critic: CriticSettings {
            // The model itself retries, with the critic's feedback in the call's result.
            max_retries: 0,
            max_backtracks: 0,
            judge: c.judge,
            ..CriticSettings::default()
        },
        steps: Vec::new(),
        agents: AgentSettings::default(),
    };
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
    if let Some(reason) = &c.fallback {
        ctx.emit(TraceEvent::LoopFallback {
            reason: reason.clone(),
        });
    }
    let mut s = State {
        messages: vec![ChatMessage::User(c.goal.clone())],
        ..State::default()
    };
    let wall = std::time::Duration::from_millis(c.budget.max_wall_ms);
    if tokio::time::timeout(wall, talk(&ctx, provider.as_ref(), &c, &mut s))
        .await
        .is_err()
    {
        exhaust(
            &ctx,
            "max_wall_ms",
            ctx.start.elapsed().as_millis() as u64,
            c.budget.max_wall_ms,
        );
    }
    close_browser(&ctx).await;
    let mut report = finish(ctx.clone(), id, dir, &s.steps, s.p)?;
    remember(&ctx, &options, &mut report, warnings);
    Ok(report)
}

/// Marks budget `kind` as the one that ran out (unless one already did).
fn exhaust(ctx: &Ctx, kind: &str, used: u64, limit: u64) {
    if let Ok(mut l) = ctx.ledger.lock() {
        l.exhausted.get_or_insert((kind.to_string(), used, limit));
    }
}

/// Whether a budget already ran out.
fn exhausted(ctx: &Ctx) -> bool {
    ctx.ledger.lock().map_or(true, |l| l.exhausted.is_some())
}

/// Asks the model turn by turn, running its calls, until it answers, fails, or a budget runs
/// out.
async fn talk(ctx: &Arc<Ctx>, provider: &dyn Provider, c: &Conversation, s: &mut State) {
    let toolbox = Toolbox::new(&ctx.spud, ctx.caller.as_ref());
    let system = if c.context.is_empty() {
        PROMPT.to_string()
    } else {
        format!("{PROMPT}\n\n{}", c.context)
    };
    let max_turns = max_turns(ctx.plan.budget.max_steps);
    let watch = Watch::new(ctx.clone(), c.live.clone());
    loop {
        if exhausted(ctx) {
            return;
        }
        if !ctx.tokens_left() {
            let used = ctx.ledger.lock().map_or(0, |l| l.tokens);
            return exhaust(ctx, "max_tokens", used, ctx.plan.budget.max_tokens);
        }
        if u64::from(s.turn) >= max_turns {
            return exhaust(ctx, "max_turns", u64::from(s.turn), max_turns);
        }
        s.turn += 1;
        if let Some(limit) = c.context_tokens {
            fit(ctx, s, limit);
        }
        let request = ChatRequest {
            system: system.clone(),
            messages: s.messages.clone(),
            tools: toolbox.specs(),
            max_tokens: c.answer_tokens,
        };
        let answer = provider.chat(&request, &watch).await;
        watch.end_turn();
        let model = ctx.trace_switches(provider);
        let turn = match answer {
            Ok(t) => t,
            Err(e) => {
                s.p.failed
                    .insert("answer".into(), format!("the model failed: {e}"));
                return;
            }
        };
        ctx.spend(turn.usage);
        s.last_prompt = (turn.usage.input_tokens, s.messages.len());
        ctx.emit(TraceEvent::ModelTurn {
            turn: s.turn,
            text: ctx.cut(&turn.text),
            calls: turn.calls.iter().map(|c| c.name.clone()).collect(),
            input_tokens: turn.usage.input_tokens,
            output_tokens: turn.usage.output_tokens,
            model,
        });
        if turn.calls.is_empty() {
            return answered(ctx, s, turn.text);
        }
        s.messages.push(ChatMessage::Assistant {
            text: turn.text.clone(),
            calls: turn.calls.clone(),
        });
        let answers = run_calls(ctx, &toolbox, s, &turn.calls).await;
        for (call, content) in turn.calls.iter().zip(answers) {
            s.messages.push(ChatMessage::Tool {
                call_id: call.id.clone(),
                name: call.name.clone(),
                content,
            });
        }
    }
}

/// Compacts the conversation when the next request would overflow `context_tokens`: its size
/// is the provider's count of the last prompt plus an estimate of what was added since.
fn fit(ctx: &Ctx, s: &mut State, context_tokens: u64) {
    let (last, counted) = s.last_prompt;
    let added = super::compact::estimate(s.messages.get(counted..).unwrap_or_default());
    let estimate = if last > 0 {
        last + added
    } else {
        super::compact::estimate(&s.messages) + super::compact::tokens_of(PROMPT)
    };
    let limit = super::compact::prompt_limit(context_tokens);
    if estimate <= limit {
        return;
    }
    let done = super::compact::compact(&mut s.messages, estimate - limit);
    ctx.emit(TraceEvent::Compacted {
        turn: s.turn,
        estimated_tokens: estimate,
        limit,
        outputs_cut: done.cut as u64,
        saved_tokens: done.saved,
    });
    // The next estimate starts from this one, less what was cut.
    s.last_prompt = (estimate.saturating_sub(done.saved).max(1), s.messages.len());
}

/// The model answered: its text is the run's `answer` result, and the failed calls before it
/// are answered by it (the model saw each failure).
fn answered(ctx: &Ctx, s: &mut State, text: String) {
    ctx.emit(TraceEvent::Answered {
        text: ctx.cut(&text),
    });
    let failed: Vec<String> = s.p.failed.keys().cloned().collect();
    s.p.superseded.extend(failed);
    s.p.results.insert("answer".into(), Value::String(text));
}

/// Runs the calls of one turn concurrently; returns what goes back to the model for each, in
/// order.
async fn run_calls(
    ctx: &Arc<Ctx>,
    toolbox: &Toolbox,
    s: &mut State,
    calls: &[ToolCall],
) -> Vec<String> {
    let mut answers: Vec<Option<String>> = vec![None; calls.len()];
    let mut running = JoinSet::new();
    for (i, call) in calls.iter().enumerate() {
        let id = format!("t{}-{}", s.turn, i + 1);
        let step = match prepare(ctx, toolbox, &id, call) {
            Ok(step) => step,
            Err(reason) => {
                ctx.emit(TraceEvent::CallRejected {
                    turn: s.turn,
                    tool: call.name.clone(),
                    reason: reason.clone(),
                });
                answers[i] = Some(format!("error: {reason}"));
                continue;
            }
        };
        s.steps.push(step.clone());
        s.p.started.insert(id);
        let ticket = step
            .agent
            .as_ref()
            .map(|a| ctx.tree.scheduler.enqueue(a.priority));
        let (ctx, snapshot) = (ctx.clone(), s.p.results.clone());
        running.spawn(async move {
            let end = step::execute(&ctx, &step, &snapshot, ticket).await;
            (i, step.id, end)
        });
    }
    while let Some(joined) = running.join_next().await {
        let Ok((i, id, end)) = joined else {
            tracing::warn!("a tool call's task ended abnormally");
            continue;
        };
        answers[i] = Some(match end {
            StepEnd::Accepted { value, note, .. } => {
                // The critic's feedback on an accepted result (the judge's) goes back too.
                let mut text = ctx.cut(&value.to_string());
                if !note.is_empty() {
                    text = format!("{text}\n(critic: {note})");
                }
                s.p.results.insert(id, value);
                text
            }
            StepEnd::Failed(why) => {
                s.p.failed.insert(id, why.clone());
                format!("error: {why}")
            }
            StepEnd::Budget => {
                s.p.failed.insert(id, "budget exhausted".into());
                "error: the run's budget is spent; this call was not made".into()
            }
        });
    }
    answers
        .into_iter()
        .map(|a| a.unwrap_or_else(|| "error: the call ended abnormally".into()))
        .collect()
}

/// The step a call becomes, its tool resolved (a short name resolved is traced) and its
/// arguments parsed; or why it cannot be made.
fn prepare(ctx: &Ctx, toolbox: &Toolbox, id: &str, call: &ToolCall) -> Result<Step, String> {
    let resolved = toolbox.resolve(&call.name)?;
    let tool = resolved.tool().to_string();
    let text = call.arguments.trim();
    let args: Value = if text.is_empty() {
        json!({})
    } else {
        serde_json::from_str(text).map_err(|e| {
            format!(
                "the arguments of `{tool}` are not valid JSON ({e}): {}",
                super::prompts::cut_to(text, 200)
            )
        })?
    };
    if !args.is_object() {
        return Err(format!(
            "the arguments of `{tool}` must be a JSON object matching its input schema, not {args}"
        ));
    }
    if let Resolved::Short(t) = &resolved {
        ctx.emit(TraceEvent::ToolResolved {
            step: id.to_string(),
            asked: call.name.clone(),
            tool: t.clone(),
        });
    }
    let mut steps: Vec<Step> =
        vec![
            serde_json::from_value(json!({"id": id, "tool": tool, "args": args}))
                .map_err(|e| format!("cannot make a step of the call: {e}"))?,
        ];
    if tool == SPAWN_AGENT {
        crate::plan::lift_spawn_agents(&mut steps)?;
    }
    Ok(steps.remove(0))
}
