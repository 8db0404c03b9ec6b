//! Dynamic re-planning inside a run, and model-corrected retries.
//!
//! After a step ends, the [`Reviser`] may ask the model whether the steps not yet started still
//! make sense given the new result; its answer replaces them (a [`Revision`]), recorded in the
//! trace as a diff. On a retry, it asks the model for arguments corrected from the critic's
//! feedback and the tool's input schema. [`apply`] — which checks a revision against what has
//! already happened — is pure.

use super::prompts::{cut_to, step_schema, tools_prompt, DEFAULT_OUTPUT_BYTES};
use crate::model::{Provider, Usage};
use crate::plan::ReviseWhen;
use crate::plan::{Plan, Step};
use crate::service::Spud;
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

/// A model's replacement for the steps not yet started.
#[derive(Debug, Clone, PartialEq)]
pub struct Revision {
    /// Why, in the model's words.
    pub reason: String,
    /// The steps to run from now on.
    pub steps: Vec<Step>,
}

/// What a revision changes, by step id.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RevisionDiff {
    /// New steps.
    pub added: Vec<String>,
    /// Pending steps dropped.
    pub removed: Vec<String>,
    /// Pending steps kept under their id with other content.
    pub changed: Vec<String>,
}

/// Checks `revision` against the run so far and returns the new plan's steps and the diff.
///
/// `steps` is the current plan; `started` the ids that have begun (accepted, failed, running or
/// blocked) and cannot change; `failed` those that failed, which new steps may not wait for.
pub fn apply(
    steps: &[Step],
    started: &BTreeSet<String>,
    failed: &BTreeSet<String>,
    revision: &Revision,
) -> Result<(Vec<Step>, RevisionDiff), String> {
    for s in &revision.steps {
        if started.contains(&s.id) {
            return Err(format!(
                "step `{}` has already run; give new work a new id",
                s.id
            ));
        }
        if let Some(d) = s.after.iter().find(|d| failed.contains(*d)) {
            return Err(format!("step `{}` waits for `{d}`, which failed", s.id));
        }
    }
    let kept: Vec<Step> = steps
        .iter()
        .filter(|s| started.contains(&s.id))
        .cloned()
        .collect();
    let pending: BTreeMap<&str, &Step> = steps
        .iter()
        .filter(|s| !started.contains(&s.id))
        .map(|s| (s.id.as_str(), s))
        .collect();
    let mut merged = kept;
    merged.extend(revision.steps.iter().cloned());
    let check = Plan {
        goal: String::new(),
        budget: Default::default(),
        critic: Default::default(),
        steps: merged.clone(),
        agents: Default::default(),
    };
    check.validate()?;
    let new_ids: BTreeSet<&str> = revision.steps.iter().map(|s| s.id.as_str()).collect();
    let diff = RevisionDiff {
        added: revision
            .steps
            .iter()
            .filter(|s| !pending.contains_key(s.id.as_str()))
            .map(|s| s.id.clone())
            .collect(),
        removed: pending
            .keys()
            .filter(|id| !new_ids.contains(*id))
            .map(|id| id.to_string())
            .collect(),
        changed: revision
            .steps
            .iter()
            .filter(|s| pending.get(s.id.as_str()).is_some_and(|old| **old != **s))
            .map(|s| s.id.clone())
            .collect(),
    };
    Ok((merged, diff))
}

/// Asks a model to revise plans and correct arguments.
pub struct Reviser {
    provider: Arc<dyn Provider>,
    /// When revisions are asked for.
    pub when: ReviseWhen,
    /// At most this many revisions per run.
    pub max_revisions: u32,
    system: std::sync::OnceLock<String>,
    /// Bytes of a tool output the model sees.
    pub output_bytes: usize,
    /// Whose tools the model is shown.
    caller: Option<crate::service::Caller>,
}

const REVISE: &str = "You are the planner of spud, an agent that runs sandboxed tools, revising a plan while it runs. \
You see the goal, every step with its status (accepted with its result, failed with why, running, pending) and the \
step that just ended. Decide whether the pending steps still make sense. If they do, answer {\"revise\": false}. If \
the new result calls for other work, answer {\"revise\": true, \"reason\": ..., \"steps\": [...]} where `steps` is the \
complete list of steps to run from now on; it replaces every pending step. Steps that have started cannot change: \
redo failed work under a new id. A step may use an accepted step's result as \"${id.field}\" (add `|json` to parse a \
string as JSON) and must then list that id in `after`.";

const FIX: &str = "You are the executor of spud, an agent that runs sandboxed tools. A tool call's result was \
rejected by the critic. Give corrected arguments that match the tool's input schema and address the \
critic's feedback, as {\"args\": {...}}. When another of the tools listed fits better (say the tool does not \
exist), name it as `tool`, with arguments for it.";

/// A correction before a retry: new arguments, and perhaps another tool.
#[derive(Debug, Clone, PartialEq)]
pub struct Correction {
    /// Another tool, when the model named one.
    pub tool: Option<String>,
    /// The arguments.
    pub args: Value,
}

impl Reviser {
    /// A reviser asking `provider`, revising `when`, at most three times per run.
    pub fn new(provider: Arc<dyn Provider>, when: ReviseWhen) -> Reviser {
        Reviser {
            provider,
            when,
            max_revisions: 3,
            system: std::sync::OnceLock::new(),
            output_bytes: DEFAULT_OUTPUT_BYTES,
            caller: None,
        }
    }

    /// The model it asks.
    pub fn provider(&self) -> Arc<dyn Provider> {
        self.provider.clone()
    }

    /// Shows the model at most `bytes` of each tool output.
    pub fn output_bytes(mut self, bytes: usize) -> Reviser {
        self.output_bytes = bytes;
        self
    }

    /// Shows the model only the tools `caller` may use (`None`: every tool).
    pub fn for_caller(mut self, caller: Option<crate::service::Caller>) -> Reviser {
        self.caller = caller;
        self
    }

    /// Whether a step that ended this way calls for a revision.
    pub fn wants(&self, surprising: bool) -> bool {
        match self.when {
            ReviseWhen::Never => false,
            ReviseWhen::OnSurprise => surprising,
            ReviseWhen::EachStep => true,
        }
    }

    /// Asks whether the pending steps should change after `after` ended with `what`.
    /// `progress` describes the plan and each step's state. `Ok(None)`: keep the plan.
    pub async fn revise(
        &self,
        spud: &Spud,
        goal: &str,
        progress: &str,
        after: &str,
        what: &str,
    ) -> (Result<Option<Revision>, String>, Usage) {
        let user = format!(
            "Goal: {goal}\nPlan and progress: {progress}\nStep `{after}` just ended: {}",
            cut_to(what, self.output_bytes)
        );
        let schema = json!({"type": "object", "required": ["revise"], "additionalProperties": false,
            "properties": {"revise": {"type": "boolean"}, "reason": {"type": "string"},
                           "steps": {"type": "array", "items": step_schema()}}});
        // The tool list is the same for the whole run: built once.
        let system = self
            .system
            .get_or_init(|| format!("{REVISE}\n\n{}", tools_prompt(spud, self.caller.as_ref())));
        match self
            .provider
            .complete_json(system, &user, "revision", &schema)
            .await
        {
            Ok((doc, usage)) => (parse_revision(doc), usage),
            Err(e) => (
                Err(format!("the model could not be asked: {e}")),
                Usage::default(),
            ),
        }
    }

    /// Asks for corrected arguments for a retry of `tool`; `None` when the model has none.
    #[allow(clippy::too_many_arguments)]
    pub async fn fix_args(
        &self,
        spud: &Spud,
        goal: &str,
        step: &str,
        tool: &str,
        args: &Value,
        feedback: &str,
        output: &str,
    ) -> (Option<Correction>, Usage) {
        let registry = spud.registry();
        let schema = registry
            .find_tool(tool)
            .map(|(_, t)| t.input_schema.clone())
            .unwrap_or_else(|_| json!({"type": "object"}));
        let tools: Vec<String> = super::callable::Toolbox::new(spud, self.caller.as_ref())
            .tools
            .into_iter()
            .map(|t| t.name)
            .collect();
        let user = format!(
            "Goal: {goal}\nStep: {step}\nTool: {tool}\nInput schema: {schema}\nArguments: {args}\nResult: {}\nCritic's feedback: {feedback}\nTools: {}",
            cut_to(output, self.output_bytes),
            tools.join(", ")
        );
        let answer = json!({"type": "object", "required": ["args"], "additionalProperties": false,
            "properties": {"args": schema, "tool": {"type": "string"}}});
        match self
            .provider
            .complete_json(FIX, &user, "corrected_arguments", &answer)
            .await
        {
            Ok((doc, usage)) => {
                let tool = doc["tool"]
                    .as_str()
                    .filter(|t| !t.is_empty() && *t != tool)
                    .map(str::to_string);
                let args = doc.get("args").filter(|a| a.is_object()).cloned();
                (args.map(|args| Correction { tool, args }), usage)
            }
            Err(e) => {
                tracing::warn!("no corrected arguments for `{step}`: {e}");
                (None, Usage::default())
            }
        }
    }
}

/// Reads the model's answer to a revision request.
fn parse_revision(doc: Value) -> Result<Option<Revision>, String> {
    if doc["revise"] != Value::Bool(true) {
        return Ok(None);
    }
    let reason = doc["reason"].as_str().unwrap_or("").to_string();
    let mut steps: Vec<Step> = serde_json::from_value(doc["steps"].clone())
        .map_err(|e| format!("the revised steps do not parse: {e}"))?;
    crate::plan::lift_spawn_agents(&mut steps)?;
    Ok(Some(Revision { reason, steps }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn step(id: &str, after: &[&str]) -> Step {
        serde_json::from_value(json!({"id": id, "tool": "t.x", "after": after})).unwrap()
    }

    fn set(ids: &[&str]) -> BTreeSet<String> {
        ids.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn replaces_pending_steps_and_reports_the_diff() {
        let plan = vec![step("a", &[]), step("b", &["a"]), step("c", &["a"])];
        let mut changed_c = step("c", &["a"]);
        changed_c.tool = "t.y".into();
        let r = Revision {
            reason: "r".into(),
            steps: vec![changed_c, step("d", &["a", "c"])],
        };
        let (steps, diff) = apply(&plan, &set(&["a"]), &set(&[]), &r).unwrap();
        let ids: Vec<&str> = steps.iter().map(|s| s.id.as_str()).collect();
        assert_eq!(ids, ["a", "c", "d"]);
        assert_eq!(diff.added, ["d"]);
        assert_eq!(diff.removed, ["b"]);
        assert_eq!(diff.changed, ["c"]);
    }

    #[test]
    fn started_steps_cannot_change_and_failed_ones_cannot_be_waited_for() {
        let plan = vec![step("a", &[]), step("b", &[])];
        let redo = Revision {
            reason: String::new(),
            steps: vec![step("a", &[])],
        };
        let e = apply(&plan, &set(&["a"]), &set(&["a"]), &redo).unwrap_err();
        assert!(e.contains("already run"), "{e}");
        let wait = Revision {
            reason: String::new(),
            steps: vec![step("c", &["a"])],
        };
        let e = apply(&plan, &set(&["a"]), &set(&["a"]), &wait).unwrap_err();
        assert!(e.contains("failed"), "{e}");
        let dangling = Revision {
            reason: String::new(),
            steps: vec![step("c", &["zz"])],
        };
        assert!(apply(&plan, &set(&["a"]), &set(&[]), &dangling).is_err());
    }

    #[test]
    fn answers_without_revise_keep_the_plan() {
        assert_eq!(parse_revision(json!({"revise": false})), Ok(None));
        assert_eq!(parse_revision(json!({})), Ok(None));
        assert!(parse_revision(json!({"revise": true, "steps": [{"id": 1}]})).is_err());
    }

    #[test]
    fn revise_when_parses() {
        assert_eq!("each-step".parse(), Ok(ReviseWhen::EachStep));
        assert!("sometimes".parse::<ReviseWhen>().is_err());
    }
}
