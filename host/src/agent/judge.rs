//! The model judge: a second opinion on a step's result, with its own prompt. Its answer is
//! structured (a `score`, a `pass` flag and `feedback`, asked for by function calling) and
//! validated: an answer that is not such a document, a score outside 0–1 or a `pass` that
//! contradicts the score makes the judge **abstain** — recorded as a check, never a failed
//! step. A verdict it gives lowers the critic's score to the judge's, so a judge can reject a
//! result the checks let through (which only buys a retry or an alternative: the step keeps
//! its best attempt) but never accept one they rejected.

use crate::model::{Provider, Usage};
use crate::plan::{Check, Critique};
use serde_json::{json, Value};

const PROMPT: &str = "You are the critic of an autonomous agent. Judge one step's result: does it achieve the \
step's purpose, is it coherent with the overall goal, is it consistent with the earlier results? Answer by calling \
`verdict` with a `score` from 0 (useless or wrong) to 1 (fully achieves the step), `pass` (true when the result is \
good enough, which is a score of 0.5 or more) and one sentence of `feedback` saying what is missing or wrong.";

/// The check a judge that abstained leaves, before its reason.
pub const ABSTAINED: &str = "model judge abstained";

/// The schema of the judge's answer.
pub fn verdict_schema() -> Value {
    json!({"type": "object", "required": ["score", "pass", "feedback"], "additionalProperties": false,
           "properties": {"score": {"type": "number", "minimum": 0, "maximum": 1},
                          "pass": {"type": "boolean"},
                          "feedback": {"type": "string"}}})
}

/// The score and feedback of a judge's answer, or why it is no verdict: not an object, no
/// numeric score, a score outside 0–1, or a `pass` that contradicts the score (a `pass` left
/// out is not checked).
pub fn validate(v: &Value) -> Result<(f64, String), String> {
    let o = v.as_object().ok_or("the answer is not a JSON object")?;
    let score = match o.get("score") {
        Some(Value::Number(n)) => n.as_f64(),
        Some(Value::String(s)) => s.trim().parse::<f64>().ok(),
        _ => None,
    }
    .ok_or("the answer has no numeric `score`")?;
    if !score.is_finite() || !(0.0..=1.0).contains(&score) {
        return Err(format!("the score {score} is outside 0–1"));
    }
    let feedback = match o.get("feedback") {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(_) => return Err("`feedback` is not a string".into()),
    };
    match o.get("pass") {
        None | Some(Value::Null) => {}
        Some(Value::Bool(pass)) if *pass != (score >= 0.5) => {
            return Err(format!(
                "the verdict contradicts itself: pass = {pass} with score {score:.2}"
            ))
        }
        Some(Value::Bool(_)) => {}
        Some(_) => return Err("`pass` is not a boolean".into()),
    }
    Ok((score, feedback))
}

/// Asks `judge` about `output` and folds its answer into `critique`. A judge that cannot be
/// reached, or whose answer is no valid verdict, abstains: the deterministic critique stays as
/// it is, and a check says why.
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
    let (answer, usage) = match judge
        .complete_json(PROMPT, &user, "verdict", &verdict_schema())
        .await
    {
        Ok((v, usage)) => (validate(&v), usage),
        Err(e) => (Err(format!("unavailable: {e}")), Usage::default()),
    };
    match answer {
        Ok((score, feedback)) => {
            critique.checks.push(Check {
                what: format!("model judge: {score:.2}"),
                passed: score >= critique.score,
            });
            if score < critique.score {
                critique.score = score;
            }
            if !feedback.is_empty() {
                note(critique, &format!("judge: {feedback}"));
            }
        }
        Err(reason) => {
            critique.checks.push(Check {
                what: format!("{ABSTAINED}: {reason}"),
                passed: true,
            });
            note(
                critique,
                &format!("{ABSTAINED} ({reason}); deterministic checks only"),
            );
        }
    }
    usage
}

/// Adds `text` to the critique's feedback.
fn note(critique: &mut Critique, text: &str) {
    critique.feedback = if critique.feedback.is_empty() {
        text.to_string()
    } else {
        format!("{}; {text}", critique.feedback)
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verdicts_are_validated() {
        assert_eq!(
            validate(&json!({"score": 0.8, "pass": true, "feedback": "ok"})),
            Ok((0.8, "ok".into()))
        );
        assert_eq!(validate(&json!({"score": "0.3"})), Ok((0.3, String::new())));
        for garbage in [
            json!("Your goal was fulfilled"),
            json!({"feedback": "fine"}),
            json!({"score": 7}),
            json!({"score": 0.9, "pass": "yes"}),
            json!({"score": 0.1, "feedback": ["a"]}),
        ] {
            assert!(validate(&garbage).is_err(), "{garbage}");
        }
        let e =
            validate(&json!({"score": 0.0, "pass": true, "feedback": "fulfilled"})).unwrap_err();
        assert!(e.contains("contradicts"), "{e}");
    }
}
