//! Plans: a goal split into steps with dependencies, each a tool call with expectations and
//! alternatives. Read from a plan file (TOML) in offline mode; errors name file, line, column.
//!
//! ```toml
//! goal = "Find what needs restocking"
//! [budget]
//! max_steps = 20
//! [[steps]]
//! id = "inventory"
//! tool = "fs.read"
//! args = { path = "/data/inventory.json" }
//! expect = { contains = "items" }
//! [[steps]]
//! id = "low"
//! after = ["inventory"]
//! tool = "json.query"
//! args = { document = "${inventory.content|json}", path = "$.items[?@.qty < 10]" }
//! expect = { path = "$.matches[*]", min = 1 }
//! [[steps.alternatives]]
//! args = { document = "${inventory.content|json}", path = "$.items[?@.qty < 20]" }
//! ```

use super::budget::{AgentSettings, Budget};
use super::step::{lift_spawn_agents, Step};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// Critic settings.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CriticSettings {
    /// Off: every finished call is accepted.
    #[serde(default = "yes")]
    pub enabled: bool,
    /// Scores below this are not accepted.
    #[serde(default = "d_threshold")]
    pub threshold: f64,
    /// Retries of the same call before backtracking.
    #[serde(default)]
    pub max_retries: u32,
    /// Alternatives tried per step at most.
    #[serde(default = "d_backtracks")]
    pub max_backtracks: u32,
    /// Also ask the model judge (when the run has one) to score each successful result.
    #[serde(default)]
    pub judge: bool,
}

fn yes() -> bool {
    true
}
fn d_threshold() -> f64 {
    0.7
}
fn d_backtracks() -> u32 {
    3
}

impl Default for CriticSettings {
    fn default() -> Self {
        CriticSettings {
            enabled: true,
            threshold: d_threshold(),
            max_retries: 0,
            max_backtracks: d_backtracks(),
            judge: false,
        }
    }
}

/// How a goal is worked on with a model.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LoopMode {
    /// Plan first (the plan-file schema), run the plan with the critic, re-plan after a
    /// failed run.
    Plan,
    /// Tool calling: the model calls the tools as functions, turn by turn, and ends with an
    /// answer.
    Tools,
    /// Plan first; when the model cannot produce a valid plan (twice), tool calling.
    #[default]
    Auto,
}

impl std::str::FromStr for LoopMode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "plan" => Ok(LoopMode::Plan),
            "tools" => Ok(LoopMode::Tools),
            "auto" => Ok(LoopMode::Auto),
            other => Err(format!("`{other}` is not one of plan, tools, auto")),
        }
    }
}

/// When the model is asked to revise the plan during a run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ReviseWhen {
    /// Never: the plan runs as made (re-planning happens only after a failed run).
    Never,
    /// After a step that failed, needed a correction, or scored below 1.
    #[default]
    OnSurprise,
    /// After every step.
    EachStep,
}

impl std::str::FromStr for ReviseWhen {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "never" => Ok(ReviseWhen::Never),
            "on-surprise" => Ok(ReviseWhen::OnSurprise),
            "each-step" => Ok(ReviseWhen::EachStep),
            other => Err(format!(
                "`{other}` is not one of never, on-surprise, each-step"
            )),
        }
    }
}

/// A plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Plan {
    /// What the run is for.
    pub goal: String,
    /// Budgets.
    #[serde(default)]
    pub budget: Budget,
    /// Critic settings.
    #[serde(default)]
    pub critic: CriticSettings,
    /// Steps.
    pub steps: Vec<Step>,
    /// How sub-agents are scheduled and funded.
    #[serde(default)]
    pub agents: AgentSettings,
}

/// A plan that cannot run.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    /// The file could not be read.
    #[error("cannot read plan {file}: {source}")]
    Read {
        /// File.
        file: String,
        /// Why.
        source: std::io::Error,
    },
    /// Syntax or a bad value, with position.
    #[error(transparent)]
    At(#[from] spud_policy::Located),
    /// A structural problem (duplicate ids, unknown or cyclic dependencies, bad references).
    #[error("{file}: {message}")]
    Invalid {
        /// File.
        file: String,
        /// What is wrong.
        message: String,
    },
}

impl Plan {
    /// Reads and checks a plan file.
    pub fn load(path: &std::path::Path) -> Result<Plan, PlanError> {
        let file = path.display().to_string();
        let src = std::fs::read_to_string(path).map_err(|source| PlanError::Read {
            file: file.clone(),
            source,
        })?;
        Plan::parse(&src, &file)
    }

    /// Parses and checks plan text; `file` is used in messages.
    pub fn parse(src: &str, file: &str) -> Result<Plan, PlanError> {
        let mut plan: Plan = toml::from_str(src)
            .map_err(|e| PlanError::At(spud_policy::Located::toml(src, file, &e)))?;
        let invalid = |message| PlanError::Invalid {
            file: file.into(),
            message,
        };
        lift_spawn_agents(&mut plan.steps).map_err(invalid)?;
        plan.validate().map_err(|message| PlanError::Invalid {
            file: file.into(),
            message,
        })?;
        Ok(plan)
    }

    /// Checks ids, dependencies, references and cycles; the error says what is wrong.
    pub fn validate(&self) -> Result<(), String> {
        if self.steps.is_empty() {
            return Err("a plan needs at least one step".into());
        }
        let mut ids = BTreeSet::new();
        for s in &self.steps {
            if s.id.is_empty()
                || !s
                    .id
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            {
                return Err(format!(
                    "step id `{}` must be letters, digits, `-` or `_`",
                    s.id
                ));
            }
            if !ids.insert(s.id.as_str()) {
                return Err(format!("two steps are called `{}`", s.id));
            }
            match (&s.agent, s.tool.is_empty()) {
                (Some(_), false) => {
                    return Err(format!(
                        "step `{}` has both `tool` and `agent`: give one",
                        s.id
                    ))
                }
                (None, true) => {
                    return Err(format!(
                        "step `{}` needs a `tool` to call (or an `agent` to delegate to)",
                        s.id
                    ))
                }
                // A goal-only sub-agent: a model plans it when it starts.
                (Some(a), true) if a.steps.is_empty() => {}
                (Some(a), true) => {
                    let sub = Plan {
                        goal: a.goal.clone(),
                        budget: self.budget,
                        critic: self.critic,
                        steps: a.steps.clone(),
                        agents: self.agents,
                    };
                    sub.validate()
                        .map_err(|e| format!("sub-agent of step `{}`: {e}", s.id))?;
                }
                (None, false) => {}
            }
        }
        for s in &self.steps {
            for d in &s.after {
                if !ids.contains(d.as_str()) {
                    return Err(format!(
                        "step `{}` waits for `{d}`, which is not a step",
                        s.id
                    ));
                }
            }
            for r in super::refs::references(&s.args) {
                if !s.after.contains(&r) {
                    return Err(format!(
                        "step `{}` uses the result of `{r}` but does not list it in `after`",
                        s.id
                    ));
                }
            }
        }
        self.order().map(|_| ())
    }

    /// Steps in an order where each comes after its dependencies; an error names a cycle.
    pub fn order(&self) -> Result<Vec<&Step>, String> {
        let mut done: BTreeSet<&str> = BTreeSet::new();
        let mut out = Vec::new();
        let mut pending: BTreeMap<&str, &Step> =
            self.steps.iter().map(|s| (s.id.as_str(), s)).collect();
        while !pending.is_empty() {
            let ready: Vec<&str> = pending
                .values()
                .filter(|s| s.after.iter().all(|d| done.contains(d.as_str())))
                .map(|s| s.id.as_str())
                .collect();
            if ready.is_empty() {
                let cycle: Vec<&str> = pending.keys().copied().collect();
                return Err(format!(
                    "the steps {} depend on each other in a cycle",
                    cycle.join(", ")
                ));
            }
            for id in ready {
                if let Some(s) = pending.remove(id) {
                    out.push(s);
                }
                done.insert(id);
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checks_structure() {
        let ok = "goal = \"g\"\n[[steps]]\nid = \"a\"\ntool = \"t.x\"\n[[steps]]\nid = \"b\"\nafter = [\"a\"]\ntool = \"t.y\"\nargs = { v = \"${a.x}\" }\n";
        let p = Plan::parse(ok, "p.toml").unwrap();
        assert_eq!(
            p.order()
                .unwrap()
                .iter()
                .map(|s| s.id.as_str())
                .collect::<Vec<_>>(),
            ["a", "b"]
        );
        let missing_after = ok.replace("after = [\"a\"]\n", "");
        assert!(Plan::parse(&missing_after, "p.toml")
            .unwrap_err()
            .to_string()
            .contains("does not list it in `after`"));
        let cycle = "goal = \"g\"\n[[steps]]\nid = \"a\"\nafter = [\"b\"]\ntool = \"t.x\"\n[[steps]]\nid = \"b\"\nafter = [\"a\"]\ntool = \"t.y\"\n";
        assert!(Plan::parse(cycle, "p.toml")
            .unwrap_err()
            .to_string()
            .contains("cycle"));
        let e = Plan::parse(
            "goal = \"g\"\n[[steps]]\nid = \"a\"\ntoll = \"x\"\n",
            "p.toml",
        )
        .unwrap_err()
        .to_string();
        assert!(e.starts_with("p.toml:4:1:"), "{e}");
    }
}
