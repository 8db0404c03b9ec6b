//! The ways of a step (its own call and its alternatives) in the light of past lessons: the
//! call of each way, attached to the lessons of alternatives that worked, and the way that
//! worked before moved to the front of a plan before it runs.

use super::lessons::{LessonKind, NewLesson};
use crate::plan::{Alternative, Plan};

/// The call (tool and arguments, as written in the plan) of way `k` of step `id`: 0 is the
/// step itself, k > 0 its k-th alternative.
pub fn call_of(plan: &Plan, id: &str, k: usize) -> Option<serde_json::Value> {
    let step = plan.steps.iter().find(|s| s.id == id)?;
    let (tool, args) = if k == 0 {
        (step.tool.clone(), step.args.clone())
    } else {
        let alt = step.alternatives.get(k - 1)?;
        (
            alt.tool.clone().unwrap_or_else(|| step.tool.clone()),
            alt.args.clone().unwrap_or_else(|| step.args.clone()),
        )
    };
    Some(serde_json::json!({"tool": tool, "args": args}))
}

/// Fills in, for alternative lessons, the call that worked (from the plan as run).
pub fn attach_calls(lessons: &mut [NewLesson], plan: &Plan) {
    for l in lessons.iter_mut() {
        if let (LessonKind::Alternative, Some(k)) = (l.kind, l.worked) {
            l.call = call_of(plan, &l.step, k);
        }
    }
}

/// Moves, for each `(step id, call)`, the way of that step whose call (see [`call_of`]) equals
/// `call` to the front: it becomes the step's own call and the old call becomes the first
/// alternative. The first entry for a step wins. Returns the ids of the steps reordered.
pub fn reorder(plan: &mut Plan, worked: &[(String, serde_json::Value)]) -> Vec<String> {
    let mut changed = Vec::new();
    let mut seen = Vec::new();
    for (id, call) in worked {
        if seen.contains(id) {
            continue;
        }
        seen.push(id.clone());
        let Some(n) = plan
            .steps
            .iter()
            .find(|s| &s.id == id)
            .map(|s| s.alternatives.len())
        else {
            continue;
        };
        let Some(k) = (0..=n).find(|k| call_of(plan, id, *k).as_ref() == Some(call)) else {
            continue;
        };
        if k == 0 {
            continue;
        }
        let Some(step) = plan.steps.iter_mut().find(|s| &s.id == id) else {
            continue;
        };
        let alt = step.alternatives.remove(k - 1);
        let old = Alternative {
            tool: Some(step.tool.clone()),
            args: Some(step.args.clone()),
            expect: Some(step.expect.clone()),
        };
        if let Some(t) = alt.tool {
            step.tool = t;
        }
        if let Some(a) = alt.args {
            step.args = a;
        }
        if let Some(e) = alt.expect {
            step.expect = e;
        }
        step.alternatives.insert(0, old);
        changed.push(id.clone());
    }
    changed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reorder_moves_the_working_alternative_first() {
        let mut plan: Plan = toml::from_str(
            "goal = \"g\"\n[[steps]]\nid = \"a\"\ntool = \"x.one\"\n[[steps.alternatives]]\ntool = \"x.two\"\n[[steps.alternatives]]\ntool = \"x.three\"\n",
        )
        .unwrap();
        let three = call_of(&plan, "a", 2).unwrap();
        assert_eq!(three["tool"], "x.three");
        let changed = reorder(
            &mut plan,
            &[
                ("a".into(), three.clone()),
                ("missing".into(), three.clone()),
            ],
        );
        assert_eq!(changed, vec!["a".to_string()]);
        let s = &plan.steps[0];
        assert_eq!(s.tool, "x.three");
        assert_eq!(s.alternatives[0].tool.as_deref(), Some("x.one"));
        assert_eq!(s.alternatives[1].tool.as_deref(), Some("x.two"));
        // Already first: nothing moves.
        assert!(reorder(&mut plan, &[("a".into(), three)]).is_empty());
        assert!(reorder(
            &mut plan,
            &[("a".into(), serde_json::json!({"tool": "nope"}))]
        )
        .is_empty());
    }
}
