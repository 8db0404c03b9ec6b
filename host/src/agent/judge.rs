//! The model judge: a second opinion on a step's result, with its own prompt. The critic's
//! score becomes the lower of the deterministic checks and the judge's score, so a judge can
//! reject a result the checks let through but never accept one they rejected.

use crate::model::{Provider, Usage};
use crate::plan::{Check, Critique};
use serde_json::{json, Value};

const PROMPT: &str = "You are the critic of an autonomous agent. Judge one step's result: does it achieve the \
step's purpose, is it coherent with the overall goal, is it consistent with the earlier results? Answer with JSON: \
a `score` from 0 (useless or wrong) to 1 (fully achieves the step) and one sentence of `feedback` saying what is \
missing or wrong.";

/// The schema of the judge's answer.
pub fn verdict_schema() -> Value {
    json!({"type": "object", "required": ["score", "feedback"], "additionalProperties": false,
           "properties": {"score": {"type": "number", "minimum": 0, "maximum": 1}, "feedback": {"type": "string"}}})
}

/// Asks `judge` about `output` and folds its answer into `critique`. A judge that cannot be
/// reached leaves the deterministic critique as it is and says so in the feedback.
pub async fn review(
    judge: &dyn Provider,
    critique: &mut Critique,
    goal: &str,
    step: &str,
    purpose: Option<&str>,
    output: &str,
    earlier: &str,
) -> Usage {
    let user = format!(
        "Goal: {goal}\nStep: {step}\nPurpose of the step: {}\nEarlier results: {earlier}\nThis step's result: {output}",
        purpose.unwrap_or("(not stated)")
    );
    match judge
        .complete_json(PROMPT, &user, "verdict", &verdict_schema())
        .await
    {
        Ok((v, usage)) => {
            let score = v["score"].as_f64().unwrap_or(0.0).clamp(0.0, 1.0);
            let feedback = v["feedback"].as_str().unwrap_or("").to_string();
            critique.checks.push(Check {
                what: format!("model judge: {score:.2}"),
                passed: score >= critique.score,
            });
            if score < critique.score {
                critique.score = score;
            }
            if !feedback.is_empty() {
                critique.feedback = if critique.feedback.is_empty() {
                    format!("judge: {feedback}")
                } else {
                    format!("{}; judge: {feedback}", critique.feedback)
                };
            }
            usage
        }
        Err(e) => {
            let note = format!("judge unavailable ({e}); deterministic checks only");
            critique.feedback = if critique.feedback.is_empty() {
                note
            } else {
                format!("{}; {note}", critique.feedback)
            };
            Usage::default()
        }
    }
}
