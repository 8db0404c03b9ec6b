//! The written report of a run: `report.md` (plan tree, results, sub-agents, figures) and
//! `report.json` next to its trace.

use super::options::RunReport;
use crate::plan::{render, view, Plan, TraceLine};

/// Writes `report.md` into the run's folder.
pub fn write(report: &RunReport, plan: &Plan, lines: &[TraceLine]) -> std::io::Result<()> {
    let v = view(lines);
    let mut md = format!(
        "# Run {}\n\n**Goal:** {}\n\n**Status:** {:?}\n\n",
        report.id, plan.goal, report.status
    );
    md.push_str(&format!(
        "| tool calls | retries | backtracks | fuel | wall time |\n|---|---|---|---|---|\n| {} | {} | {} | {} | {} ms |\n\n",
        report.steps, report.retries, report.backtracks, report.fuel, report.wall_ms
    ));
    md.push_str("## Plan tree\n\n```\n");
    md.push_str(&render(&v));
    md.push_str("```\n\n## Results\n\n");
    for (id, value) in &report.results {
        let text = serde_json::to_string_pretty(value).unwrap_or_default();
        let text: String = text.chars().take(2000).collect();
        md.push_str(&format!("### {id}\n\n```json\n{text}\n```\n\n"));
    }
    for (id, why) in &report.failed {
        md.push_str(&format!("### {id} (failed)\n\n{why}\n\n"));
    }
    if !report.subagents.is_empty() {
        md.push_str("## Sub-agents\n\n| sub-agent | priority | status | queued | busy | calls used / given |\n|---|---|---|---|---|---|\n");
        for r in &report.subagents {
            let status = r.status.map_or("refused".to_string(), |s| format!("{s:?}"));
            md.push_str(&format!(
                "| {} | {} | {status} | {} ms | {} ms | {} / {} |\n",
                r.run, r.priority, r.queued_ms, r.busy_ms, r.used.max_steps, r.allocated.max_steps
            ));
        }
        md.push_str(&format!(
            "\n## Figures\n\n```json\n{}\n```\n",
            serde_json::to_string_pretty(&report.figures).unwrap_or_default()
        ));
    }
    // The whole report, for `spud report RUN` and other tools.
    let json = serde_json::to_vec_pretty(report).unwrap_or_default();
    std::fs::write(report.dir.join("report.json"), json)?;
    std::fs::write(report.dir.join("report.md"), md)
}
