//! [`Launcher`]: the options every run gets, resolved once from spud's config and a front door's
//! [`Settings`], and [`Launcher::launch`], the one call that starts a run.

use super::job::{Finished, Job, LaunchError};
use super::settings::Settings;
use crate::agent::{
    run_goal, run_with, Dispatch, GoalOptions, LiveText, RunOptions, DEFAULT_OUTPUT_BYTES,
};
use crate::config::Config;
use crate::memory::{MemoryOptions, DEFAULT_RETAIN_DAYS};
use crate::model::{ModelCatalog, ModelSection, Models, Prices, Provider};
use crate::orchestrator::approval::Approver;
use crate::plan::{LoopMode, ReviseWhen, TraceLine};
use crate::service::{Caller, Spud};
use std::sync::Arc;

/// A planning model: its `PROVIDER:MODEL` spec and the provider.
pub type Planner = (String, Arc<dyn Provider>);

/// Everything a run is started with besides its job and caller.
#[derive(Clone, Default)]
pub struct Launcher {
    /// The planning model (`PROVIDER:MODEL`, provider), when there is one.
    pub planner: Option<Planner>,
    /// The model that judges each successful step.
    pub judge: Option<Arc<dyn Provider>>,
    /// The models sub-agents may name.
    pub models: Option<Arc<dyn Models>>,
    /// The memory of past runs, unless turned off.
    pub memory: Option<MemoryOptions>,
    /// Prices of the config's `[model]`, for the cost figure of plan runs.
    pub plan_prices: Option<Prices>,
    /// Prices of the planning model, when it is the config's `[model]`.
    pub goal_prices: Option<Prices>,
    /// Who approves sub-agents that need approval; none: they are refused.
    pub approver: Option<Arc<dyn Approver>>,
    /// Re-plans after a failed run.
    pub max_replans: u32,
    /// Model tokens per goal.
    pub max_tokens: u64,
    /// When the plan is revised during a run.
    pub revise: ReviseWhen,
    /// Bytes of each tool output handed to the model.
    pub model_output_bytes: usize,
    /// How goals are worked on.
    pub loop_mode: LoopMode,
    /// The planning model's context window (`context_tokens` of the config's `[model]`).
    pub context_tokens: Option<u64>,
    /// Where tool calling shows the model's text as it streams in; none: not shown.
    pub live: Option<LiveText>,
    /// Where runs' sub-agents run instead of this process (`spud run --nats`, with a plan or a
    /// goal: the cluster's workers).
    pub dispatch: Option<Arc<dyn Dispatch>>,
}

impl std::fmt::Debug for Launcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Launcher")
            .field("planner", &self.planner.as_ref().map(|(s, _)| s))
            .field("judge", &self.judge.is_some())
            .field("memory", &self.memory.is_some())
            .field("max_replans", &self.max_replans)
            .field("max_tokens", &self.max_tokens)
            .finish_non_exhaustive()
    }
}

/// The config file given (which must exist), else `<home>/config.toml` if there is one.
pub fn load_config(path: Option<&std::path::Path>, spud: &Spud) -> Result<Config, String> {
    match path {
        Some(p) => Config::load(p, true),
        None => Config::load(&spud.home().root().join("config.toml"), false),
    }
    .map_err(|e| e.to_string())
}

impl Launcher {
    /// Resolves `settings` against spud's config file. A config file that cannot be read is an
    /// error when something needs it (memory, a judge, goals); otherwise plan runs go on
    /// without it.
    pub fn new(spud: &Spud, settings: &Settings) -> Result<Launcher, LaunchError> {
        let loaded = load_config(settings.config.as_deref(), spud);
        let needs_config = !settings.no_memory || settings.judge.is_some() || settings.goals;
        let config = match loaded {
            Ok(c) => Some(c),
            Err(e) if needs_config => return Err(LaunchError::Config(e)),
            Err(_) => None,
        };
        let section = config.as_ref().and_then(|c| c.model.as_ref());
        let agent = config.as_ref().map(|c| c.agent).unwrap_or_default();
        let planner = planning_model(settings, section)?;
        let planner = match (planner, config.as_ref()) {
            (Some(p), Some(c)) => Some(with_fallback(p, settings, c)?),
            (p, _) => p,
        };
        let goal_prices = section
            .filter(|m| planner.as_ref().is_some_and(|(spec, _)| *spec == m.spec()))
            .and_then(ModelSection::prices);
        Ok(Launcher {
            judge: judge_model(settings, section)?,
            models: config
                .as_ref()
                .map(|c| Arc::new(ModelCatalog::from_config(c)) as Arc<dyn Models>),
            memory: memory_options(spud, settings, config.as_ref()),
            plan_prices: section.and_then(ModelSection::prices),
            goal_prices,
            planner,
            approver: None,
            dispatch: None,
            max_replans: settings.max_replans.or(agent.max_replans).unwrap_or(2),
            max_tokens: settings.max_tokens.or(agent.max_tokens).unwrap_or(200_000),
            revise: settings.revise.or(agent.revise).unwrap_or_default(),
            model_output_bytes: agent.model_output_bytes.unwrap_or(DEFAULT_OUTPUT_BYTES),
            loop_mode: settings.loop_mode.or(agent.loop_mode).unwrap_or_default(),
            context_tokens: section
                .filter(|m| settings.model.as_ref().is_none_or(|s| *s == m.spec()))
                .and_then(|m| m.context_tokens),
            live: None,
        })
    }

    /// With `approver` asked about sub-agents that need approval.
    pub fn with_approver(mut self, approver: Option<Arc<dyn Approver>>) -> Launcher {
        self.approver = approver;
        self
    }

    /// With the model's text shown on `live` as it streams in (tool calling).
    pub fn with_live(mut self, live: Option<LiveText>) -> Launcher {
        self.live = live;
        self
    }

    /// With runs' sub-agents (of plans and goals) handed to `dispatch` (the cluster) instead of
    /// run here.
    pub fn with_dispatch(mut self, dispatch: Option<Arc<dyn Dispatch>>) -> Launcher {
        self.dispatch = dispatch;
        self
    }

    /// Runs `job` for `caller` (`None`: the operator, every tool), showing every trace line
    /// to `observer` as it is written.
    pub async fn launch(
        &self,
        spud: Arc<Spud>,
        job: Job,
        caller: Option<Caller>,
        observer: impl Fn(&TraceLine) + Clone + Send + Sync + 'static,
    ) -> Result<Finished, LaunchError> {
        match job {
            Job::Plan(plan) => {
                let options = RunOptions {
                    judge: self.judge.clone(),
                    approver: self.approver.clone(),
                    memory: self.memory.clone(),
                    prices: self.plan_prices,
                    models: self.models.clone(),
                    caller,
                    dispatch: self.dispatch.clone(),
                    ..RunOptions::default()
                };
                let r = run_with(spud, plan, options, observer).await?;
                Ok(Finished {
                    status: r.status,
                    dir: r.dir.clone(),
                    memory_warnings: r.memory_warning.iter().cloned().collect(),
                    report: serde_json::to_value(&r).unwrap_or_default(),
                })
            }
            Job::Goal {
                goal,
                budget,
                max_tokens,
            } => {
                let (_, provider) = self.planner.clone().ok_or(LaunchError::NoModel)?;
                let options = GoalOptions {
                    budget,
                    max_replans: self.max_replans,
                    max_tokens: max_tokens.unwrap_or(u64::MAX).min(self.max_tokens),
                    judge: self.judge.clone(),
                    revise: self.revise,
                    caller,
                    approver: self.approver.clone(),
                    models: self.models.clone(),
                    model_output_bytes: self.model_output_bytes,
                    memory: self.memory.clone(),
                    prices: self.goal_prices,
                    loop_mode: self.loop_mode,
                    context_tokens: self.context_tokens,
                    live: self.live.clone(),
                    dispatch: self.dispatch.clone(),
                    ..GoalOptions::default()
                };
                let r = run_goal(spud, provider, &goal, options, observer).await?;
                Ok(Finished {
                    status: r.status,
                    dir: r.runs.last().map(|x| x.dir.clone()).unwrap_or_default(),
                    memory_warnings: r
                        .runs
                        .iter()
                        .filter_map(|x| x.memory_warning.clone())
                        .collect(),
                    report: serde_json::to_value(&r).unwrap_or_default(),
                })
            }
        }
    }
}

/// The planning model: `--model SPEC`, else the config's `[model]`, else none.
fn planning_model(
    settings: &Settings,
    section: Option<&ModelSection>,
) -> Result<Option<Planner>, LaunchError> {
    let spec = match (&settings.model, section) {
        (Some(m), _) => m.clone(),
        (None, Some(m)) => m.spec(),
        (None, None) => return Ok(None),
    };
    let provider = crate::model::provider(&spec, connection(settings, section))
        .map_err(|e| LaunchError::Config(e.to_string()))?;
    Ok(Some((spec, Arc::from(provider))))
}

/// The planning model with the config's `[model] fallback` chain behind it (when the planning
/// model is the config's `[model]` and it names fallbacks).
fn with_fallback(
    planner: Planner,
    settings: &Settings,
    config: &Config,
) -> Result<Planner, LaunchError> {
    let Some(section) = config.model.as_ref().filter(|m| {
        !m.fallback.is_empty() && settings.model.as_ref().is_none_or(|s| *s == m.spec())
    }) else {
        return Ok(planner);
    };
    let catalog = ModelCatalog::from_config(config);
    let mut links = vec![(planner.0.clone(), planner.1, section.prices())];
    for name in &section.fallback {
        let provider = catalog
            .get(name)
            .map_err(|e| LaunchError::Config(format!("[model] fallback: {e}")))?;
        let prices = config.models.get(name).and_then(ModelSection::prices);
        links.push((name.clone(), provider, prices));
    }
    let chain: Arc<dyn Provider> = Arc::new(crate::model::Failover::new(links));
    Ok((planner.0, chain))
}

/// The `--judge` model, if one was asked for.
fn judge_model(
    settings: &Settings,
    section: Option<&ModelSection>,
) -> Result<Option<Arc<dyn Provider>>, LaunchError> {
    let Some(spec) = &settings.judge else {
        return Ok(None);
    };
    crate::model::provider(spec, connection(settings, section))
        .map(|p| Some(Arc::from(p)))
        .map_err(|e| LaunchError::Config(e.to_string()))
}

/// Flags (`--base-url`, `--api-key-env`) first, then the config's `[model]`, then defaults.
fn connection(settings: &Settings, section: Option<&ModelSection>) -> crate::model::ModelConfig {
    let mut config = ModelSection::connection(
        section,
        settings.base_url.as_deref(),
        settings.api_key_env.as_deref(),
    );
    if let Some(stream) = settings.stream {
        config.stream = stream;
    }
    config
}

/// The memory options of these runs, unless `--no-memory` or `[agent] memory = false`.
fn memory_options(
    spud: &Spud,
    settings: &Settings,
    config: Option<&Config>,
) -> Option<MemoryOptions> {
    let config = config?;
    if settings.no_memory || config.agent.memory == Some(false) {
        return None;
    }
    let days = config.memory.retain_days.unwrap_or(DEFAULT_RETAIN_DAYS);
    Some(MemoryOptions::for_spud(spud, days))
}
