//! Where a run's steps stand ([`Progress`]): accepted results, failures, steps started and
//! superseded, revisions so far; and how it is described to the model that revises the plan.

use crate::plan::Step;
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};

/// Where the run's steps stand.
#[derive(Default)]
pub(super) struct Progress {
    pub results: BTreeMap<String, Value>,
    pub failed: BTreeMap<String, String>,
    pub started: BTreeSet<String>,
    pub superseded: BTreeSet<String>,
    pub revisions: u64,
}

impl Progress {
    /// The plan and each step's state for the model, most relevant first — the step that just
    /// ended, pending, running, failed, then accepted steps newest first — cut at a few KiB so
    /// a long run's prompt (and the cost of building it) stays bounded.
    pub fn describe(&self, steps: &[Step], after: &str) -> String {
        const BUDGET: usize = 6000;
        let rank = |s: &Step| {
            if s.id == after {
                0
            } else if !self.started.contains(&s.id) {
                1
            } else if self.failed.contains_key(&s.id) {
                3
            } else if !self.results.contains_key(&s.id) {
                2
            } else {
                4
            }
        };
        let mut order: Vec<(usize, &Step)> = steps.iter().enumerate().collect();
        order.sort_by_key(|(i, s)| (rank(s), std::cmp::Reverse(*i)));
        let (mut out, mut omitted) = (String::from("["), 0usize);
        for (_, s) in order {
            if out.len() >= BUDGET {
                omitted += 1;
                continue;
            }
            let item = json!({"id": s.id, "goal": s.goal, "tool": s.tool, "after": s.after, "args": s.args, "status": self.status(s)});
            if out.len() > 1 {
                out.push(',');
            }
            out.push_str(&item.to_string());
        }
        out.push(']');
        if omitted > 0 {
            out.push_str(&format!(" ({omitted} earlier accepted steps not shown)"));
        }
        out
    }

    /// A step's state for the model: accepted (with its result, cut), failed (with why),
    /// running or pending.
    fn status(&self, s: &Step) -> Value {
        if let Some(r) = self.results.get(&s.id) {
            let mut text = r.to_string();
            if text.len() > 600 {
                text = format!("{}…", text.chars().take(600).collect::<String>());
            }
            json!({"accepted": text})
        } else if let Some(why) = self.failed.get(&s.id) {
            json!({"failed": why})
        } else if self.started.contains(&s.id) {
            json!("running")
        } else {
            json!("pending")
        }
    }
}
