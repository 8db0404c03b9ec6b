//! The critic: scores a step's result 0–1 from deterministic checks (did the tool succeed, does
//! the result meet the step's declared expectations) and decides what the loop does next.
//! Pure: no I/O, no model.

use crate::plan::{Check, CriticSettings, Critique, Expectation, Verdict};
use crate::sandbox::Outcome;

/// Scores `outcome` against `expect`.
pub fn critique(outcome: &Outcome, expect: &Expectation) -> Critique {
    let mut checks = vec![Check {
        what: "the tool succeeded".into(),
        passed: outcome.is_ok(),
    }];
    let mut feedback = Vec::new();
    if !outcome.is_ok() {
        feedback.push(outcome.message());
    }
    let value = match outcome {
        Outcome::Ok { value } => Some(value),
        _ => None,
    };
    if let Some(text) = &expect.contains {
        let passed = value.is_some_and(|v| v.to_string().contains(text.as_str()));
        if !passed {
            feedback.push(format!("the result does not contain {text:?}"));
        }
        checks.push(Check {
            what: format!("the result contains {text:?}"),
            passed,
        });
    }
    if let Some(path) = &expect.path {
        let min = expect.min.unwrap_or(1);
        let (passed, detail) = match (serde_json_path::JsonPath::parse(path), value) {
            (Ok(p), Some(v)) => {
                let n = p.query(v).len();
                (
                    n >= min,
                    format!("{path} matched {n} node(s), at least {min} expected"),
                )
            }
            (Err(e), _) => (
                false,
                format!("the expectation's path {path} is invalid: {e}"),
            ),
            (Ok(_), None) => (
                false,
                format!("{path} could not be checked: there is no result"),
            ),
        };
        if !passed {
            feedback.push(detail);
        }
        checks.push(Check {
            what: format!("{path} matches at least {min} node(s)"),
            passed,
        });
    }
    let passed = checks.iter().filter(|c| c.passed).count();
    Critique {
        score: passed as f64 / checks.len() as f64,
        checks,
        feedback: feedback.join("; "),
    }
}

/// Decides the next move for a step.
pub fn decide(
    c: &Critique,
    settings: &CriticSettings,
    retries_used: u32,
    backtracks_used: u32,
    alternatives_left: usize,
) -> Verdict {
    if !settings.enabled || c.score >= settings.threshold {
        Verdict::Accept
    } else if retries_used < settings.max_retries {
        Verdict::Retry
    } else if alternatives_left > 0 && backtracks_used < settings.max_backtracks {
        Verdict::Backtrack
    } else {
        Verdict::Fail
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn scores_and_decides() {
        let ok = Outcome::Ok {
            value: json!({"matches": [{"value": 1}]}),
        };
        let expect = Expectation {
            path: Some("$.matches[*]".into()),
            contains: Some("value".into()),
            ..Default::default()
        };
        let c = critique(&ok, &expect);
        assert_eq!(c.score, 1.0);
        let s = CriticSettings::default();
        assert_eq!(decide(&c, &s, 0, 0, 0), Verdict::Accept);

        let empty = Outcome::Ok {
            value: json!({"matches": []}),
        };
        let c = critique(
            &empty,
            &Expectation {
                path: Some("$.matches[*]".into()),
                ..Default::default()
            },
        );
        assert_eq!(c.score, 0.5);
        assert!(c.feedback.contains("matched 0 node(s)"));
        assert_eq!(decide(&c, &s, 0, 0, 1), Verdict::Backtrack);
        assert_eq!(decide(&c, &s, 0, 0, 0), Verdict::Fail);
        assert_eq!(
            decide(
                &c,
                &CriticSettings {
                    max_retries: 1,
                    ..s
                },
                0,
                0,
                1
            ),
            Verdict::Retry
        );
        assert_eq!(
            decide(
                &c,
                &CriticSettings {
                    enabled: false,
                    ..s
                },
                0,
                0,
                0
            ),
            Verdict::Accept
        );

        let failed = critique(
            &Outcome::ToolError {
                error: json!("boom"),
            },
            &Expectation::default(),
        );
        assert_eq!(failed.score, 0.0);
        assert!(failed.feedback.contains("boom"));
    }
}
