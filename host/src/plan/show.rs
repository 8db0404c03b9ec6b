//! The plan tree of a run ([`super::view::RunView`]) rendered for people: `spud runs show`
//! and the written report.

use super::trace::TraceEvent;
use super::view::{RunView, StepView, REFERENCE_WORSE_SHARE};

/// Renders the tree for people.
pub fn render(v: &RunView) -> String {
    let mut out = format!("run {}\ngoal: {}\n", v.run, v.goal);
    if let Some(r) = &v.revises {
        out.push_str(&format!("{r}\n"));
    }
    if let Some(TraceEvent::Finished {
        status,
        steps,
        retries,
        backtracks,
        fuel,
        wall_ms,
    }) = &v.finished
    {
        out.push_str(&format!(
            "status: {status:?}, {steps} tool calls, {retries} retries, {backtracks} backtracks, fuel {fuel}, {wall_ms} ms\n"
        ));
    } else {
        out.push_str("status: not finished (the trace ends early)\n");
    }
    let c = &v.corrections;
    out.push_str(&format!(
        "self-corrections: {} ({} improved the step's score, {} made it worse: {:.0}%; the reference design: {:.0}%)\n",
        c.total,
        c.improved,
        c.worsened,
        c.worse_share * 100.0,
        REFERENCE_WORSE_SHARE * 100.0
    ));
    for r in &v.revisions {
        out.push_str(&format!("plan revised {r}\n"));
    }
    for l in &v.lessons {
        out.push_str(&format!("memory: {l}\n"));
    }
    // Steps grouped under their sub-goals, in the order the sub-goals first appear.
    let mut goals: Vec<Option<&str>> = Vec::new();
    for s in &v.steps {
        if !goals.contains(&s.goal.as_deref()) {
            goals.push(s.goal.as_deref());
        }
    }
    let grouped = goals.iter().any(Option::is_some);
    for g in goals {
        let pad = if grouped { "  " } else { "" };
        if grouped {
            out.push_str(&format!("\n▸ {}\n", g.unwrap_or("(no sub-goal)")));
        }
        for s in v.steps.iter().filter(|s| s.goal.as_deref() == g) {
            render_step(&mut out, s, pad);
        }
    }
    out
}

fn render_step(out: &mut String, s: &StepView, pad: &str) {
    let after = if s.after.is_empty() {
        String::new()
    } else {
        format!(" (after {})", s.after.join(", "))
    };
    let mut notes = String::new();
    if let Some(a) = &s.added_after {
        notes.push_str(&format!(" [added after {a}]"));
    }
    if s.removed {
        notes.push_str(" [dropped by a revision]");
    }
    out.push_str(&format!("\n{pad}- {}{after}{notes}\n", s.id));
    if let Some(b) = &s.blocked {
        out.push_str(&format!("{pad}    blocked: {b}\n"));
    }
    for a in &s.attempts {
        let alt = if a.alternative > 0 {
            format!(" [alternative {}]", a.alternative)
        } else {
            String::new()
        };
        out.push_str(&format!(
            "{pad}    #{} {}{alt}: {} — score {} → {}\n",
            a.attempt,
            a.tool,
            a.outcome,
            a.score.map_or("-".into(), |s| format!("{s:.2}")),
            a.verdict
                .map_or("-".into(), |v| format!("{v:?}").to_lowercase())
        ));
        if let Some(args) = &a.corrected_args {
            let text: String = args.to_string().chars().take(160).collect();
            out.push_str(&format!("{pad}       corrected arguments: {text}\n"));
        }
        if !a.feedback.is_empty() {
            out.push_str(&format!("{pad}       critic: {}\n", a.feedback));
        }
        let mut shown: String = a.output.chars().take(160).collect();
        if shown.len() < a.output.len() {
            shown.push('…');
        }
        out.push_str(&format!("{pad}       output: {shown}\n"));
    }
}
