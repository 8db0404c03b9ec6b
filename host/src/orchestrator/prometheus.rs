//! A run's figures in Prometheus text exposition format: the tree's gauges labelled with the
//! run id, then one series per sub-agent.

use super::figures::{AllocationEfficiency, Figures, SubAgentFigures};
use super::tree::SubAgentRecord;
use crate::plan::Budget;

/// A label value, escaped.
fn esc(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}

/// A run-level gauge: name (after `spud_`), help text, value.
type Gauge = (&'static str, &'static str, f64);

/// The figures in Prometheus text exposition format, labelled with the run id; one series per
/// sub-agent (see [`per_subagent`]).
pub fn prometheus(run: &str, f: &Figures, records: &[SubAgentRecord]) -> String {
    let run = esc(run);
    let mut out = String::new();
    let gauges = tree_gauges(f)
        .into_iter()
        .chain(conduct_gauges(f))
        .chain(cost_gauges(f));
    for (name, help, value) in gauges {
        out.push_str(&format!(
            "# HELP spud_{name} {help}\n# TYPE spud_{name} gauge\nspud_{name}{{run=\"{run}\"}} {value}\n"
        ));
    }
    allocation_efficiency(&mut out, &run, &f.allocation_efficiency);
    per_subagent(&mut out, &run, records, &f.per_subagent);
    out
}

/// The tree and its scheduling: sub-agents asked for and refused, parallelism, efficiency,
/// queue wait, priority inversions.
fn tree_gauges(f: &Figures) -> [Gauge; 7] {
    [
        ("subagents", "Sub-agents asked for.", f.subagents as f64),
        (
            "subagents_refused",
            "Sub-agents refused for asking more than their parent held.",
            f.refused_subagents as f64,
        ),
        (
            "peak_parallel",
            "Most sub-agents running at once.",
            f.peak_parallel as f64,
        ),
        (
            "coordination_efficiency",
            "Sum of sub-agent busy time / (wall time x peak parallelism).",
            f.coordination_efficiency,
        ),
        (
            "scheduling_efficiency",
            "Sum of busy time / sum of (busy time + queue wait).",
            f.scheduling_efficiency,
        ),
        (
            "mean_queue_ms",
            "Mean queue wait per started sub-agent, ms.",
            f.mean_queue_ms,
        ),
        (
            "priority_inversions",
            "Starts that passed over a higher-priority waiter.",
            f.priority_inversions as f64,
        ),
    ]
}

/// Conduct: violations, compliance, outbound transfers, leaks and redactions.
fn conduct_gauges(f: &Figures) -> [Gauge; 6] {
    [
        (
            "permission_violation_rate",
            "(Refused capability items + denied calls) / (items asked + tool calls).",
            f.permission_violation_rate,
        ),
        (
            "compliance_rate",
            "Actions with no violation / actions.",
            f.compliance_rate,
        ),
        (
            "outbound_transfers",
            "Outbound requests that left for their destination.",
            f.outbound_transfers as f64,
        ),
        (
            "data_leakage_rate",
            "Secrets that reached a destination not allowed for them / outbound transfers.",
            f.data_leakage_rate,
        ),
        (
            "leaks_prevented",
            "Requests refused for carrying a secret where it may not go.",
            f.leaks_prevented as f64,
        ),
        (
            "outputs_redacted",
            "Final outputs in which secrets were found and redacted.",
            f.outputs_redacted as f64,
        ),
    ]
}

/// Cost: calls, compute, data transfer, storage, and the model price when the config has one.
fn cost_gauges(f: &Figures) -> Vec<Gauge> {
    let c = &f.cost;
    let mut gauges = vec![
        ("tool_calls", "Tool calls.", c.tool_calls as f64),
        ("fuel", "Fuel used (compute).", c.fuel as f64),
        (
            "model_tokens",
            "Model tokens used (compute).",
            c.tokens as f64,
        ),
        (
            "net_bytes",
            "Network bytes in + out (data transfer).",
            c.net_bytes as f64,
        ),
        (
            "bytes_in",
            "Network bytes received (data transfer).",
            c.bytes_in as f64,
        ),
        (
            "bytes_out",
            "Network bytes sent (data transfer).",
            c.bytes_out as f64,
        ),
        (
            "storage_bytes",
            "Bytes written to read-write directories and scratch (data storage).",
            c.storage_bytes as f64,
        ),
    ];
    if let Some(p) = c.model_price {
        gauges.push(("model_price", "Model tokens priced by the config.", p));
    }
    gauges
}

/// Used ÷ allocated, one series per budget kind that has a figure.
fn allocation_efficiency(out: &mut String, run: &str, a: &AllocationEfficiency) {
    out.push_str("# HELP spud_allocation_efficiency Used / allocated, per budget kind.\n# TYPE spud_allocation_efficiency gauge\n");
    for (kind, v) in [
        ("steps", a.steps),
        ("fuel", a.fuel),
        ("net_bytes", a.net_bytes),
        ("tokens", a.tokens),
        ("storage_bytes", a.storage_bytes),
        ("wall_ms", a.wall_ms),
    ] {
        if let Some(v) = v {
            out.push_str(&format!(
                "spud_allocation_efficiency{{run=\"{run}\",kind=\"{kind}\"}} {v}\n"
            ));
        }
    }
}

/// The HELP and TYPE lines of a per-sub-agent gauge.
fn head(out: &mut String, name: &str, help: &str) {
    out.push_str(&format!(
        "# HELP spud_subagent_{name} {help}\n# TYPE spud_subagent_{name} gauge\n"
    ));
}

/// One series per sub-agent: its place in the tree and how it ended, its times, what it was
/// given and used per budget kind, and its own conduct figures.
fn per_subagent(
    out: &mut String,
    run: &str,
    records: &[SubAgentRecord],
    figures: &[SubAgentFigures],
) {
    subagent_info(out, run, records);
    subagent_counts(out, run, records);
    subagent_budgets(out, run, records);
    subagent_rates(out, run, figures);
}

/// `spud_subagent_info`: parent, depth, priority and status of every sub-agent.
fn subagent_info(out: &mut String, run: &str, records: &[SubAgentRecord]) {
    head(
        out,
        "info",
        "A sub-agent: parent, depth, priority and how it ended (refused: not started).",
    );
    for r in records {
        let status = r
            .status
            .map_or("refused".to_string(), |s| format!("{s:?}").to_lowercase());
        out.push_str(&format!(
            "spud_subagent_info{{run=\"{run}\",subagent=\"{}\",parent=\"{}\",depth=\"{}\",priority=\"{}\",status=\"{status}\"}} 1\n",
            esc(&r.run),
            esc(&r.parent),
            r.depth,
            r.priority
        ));
    }
}

/// Times and counts of every sub-agent: queue wait, busy time, calls, denials, violations,
/// leaks prevented.
fn subagent_counts(out: &mut String, run: &str, records: &[SubAgentRecord]) {
    type Pick = fn(&SubAgentRecord) -> u64;
    let series: [(&str, &str, Pick); 6] = [
        ("queue_ms", "Queue wait of one sub-agent, ms.", |r| {
            r.queued_ms
        }),
        ("busy_ms", "Time one sub-agent held a slot, ms.", |r| {
            r.busy_ms
        }),
        ("tool_calls", "Tool calls of one sub-agent.", |r| {
            r.used.max_steps
        }),
        (
            "denied_calls",
            "Tool calls of one sub-agent a grant denied.",
            |r| r.denied_calls,
        ),
        (
            "violations",
            "Capability items one sub-agent asked for that its parent did not hold.",
            |r| r.violations.len() as u64,
        ),
        (
            "leaks_prevented",
            "Requests of one sub-agent refused for carrying a secret.",
            |r| r.data.leaks_blocked,
        ),
    ];
    for (name, help, pick) in series {
        head(out, name, help);
        for r in records {
            out.push_str(&format!(
                "spud_subagent_{name}{{run=\"{run}\",subagent=\"{}\"}} {}\n",
                esc(&r.run),
                pick(r)
            ));
        }
    }
}

/// What each started sub-agent was given and used, per budget kind.
fn subagent_budgets(out: &mut String, run: &str, records: &[SubAgentRecord]) {
    type Kind = fn(&Budget) -> u64;
    let kinds: [(&str, Kind); 6] = [
        ("steps", |b| b.max_steps),
        ("wall_ms", |b| b.max_wall_ms),
        ("fuel", |b| b.max_fuel),
        ("net_bytes", |b| b.max_net_bytes),
        ("tokens", |b| b.max_tokens),
        ("storage_bytes", |b| b.max_storage_bytes),
    ];
    for (name, help, pick) in [
        (
            "allocated",
            "Budget one sub-agent was given, per kind.",
            (|r: &SubAgentRecord| r.allocated) as fn(&SubAgentRecord) -> Budget,
        ),
        ("used", "Budget one sub-agent used, per kind.", |r| r.used),
    ] {
        head(out, name, help);
        for r in records.iter().filter(|r| r.status.is_some()) {
            for (kind, of) in kinds {
                out.push_str(&format!(
                    "spud_subagent_{name}{{run=\"{run}\",subagent=\"{}\",kind=\"{kind}\"}} {}\n",
                    esc(&r.run),
                    of(&pick(r))
                ));
            }
        }
    }
}

/// The conduct figures of every sub-agent: violation, compliance and leakage rates.
fn subagent_rates(out: &mut String, run: &str, figures: &[SubAgentFigures]) {
    type Rate = fn(&SubAgentFigures) -> f64;
    let rates: [(&str, &str, Rate); 3] = [
        (
            "permission_violation_rate",
            "(Refused items + denied calls) / (items asked + tool calls) of one sub-agent.",
            |f| f.permission_violation_rate,
        ),
        (
            "compliance_rate",
            "Actions with no violation and no leak / actions of one sub-agent.",
            |f| f.compliance_rate,
        ),
        (
            "data_leakage_rate",
            "Secrets that reached a destination not allowed / outbound transfers of one sub-agent.",
            |f| f.data_leakage_rate,
        ),
    ];
    for (name, help, pick) in rates {
        head(out, name, help);
        for f in figures {
            out.push_str(&format!(
                "spud_subagent_{name}{{run=\"{run}\",subagent=\"{}\"}} {}\n",
                esc(&f.run),
                pick(f)
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn exposition_of_a_small_known_run() {
        let (records, f) = super::super::figures::tests::small_known_run();
        let text = super::prometheus("r\"1", &f, &records);
        assert!(
            text.contains("spud_compliance_rate{run=\"r\\\"1\"} 0.769"),
            "{text}"
        );
        assert!(text.contains("spud_allocation_efficiency{run=\"r\\\"1\",kind=\"steps\"} 0.75"));
        assert_eq!(text.matches("spud_subagent_busy_ms{").count(), 3);
        assert_eq!(text.matches("spud_subagent_info{").count(), 3);
        assert!(text.contains("status=\"refused\""), "{text}");
    }
}
