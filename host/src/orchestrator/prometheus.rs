//! A run's figures in Prometheus text exposition format: the tree's gauges labelled with the
//! run id, then one series per sub-agent.

use super::figures::{Figures, SubAgentFigures};
use super::tree::SubAgentRecord;
use crate::plan::Budget;

/// A label value, escaped.
fn esc(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}

/// The figures in Prometheus text exposition format, labelled with the run id; one series per
/// sub-agent (see [`per_subagent`]).
pub fn prometheus(run: &str, f: &Figures, records: &[SubAgentRecord]) -> String {
    let run = esc(run);
    let mut out = String::new();
    let mut gauge = |name: &str, help: &str, value: f64| {
        out.push_str(&format!(
            "# HELP spud_{name} {help}\n# TYPE spud_{name} gauge\nspud_{name}{{run=\"{run}\"}} {value}\n"
        ));
    };
    gauge("subagents", "Sub-agents asked for.", f.subagents as f64);
    gauge(
        "subagents_refused",
        "Sub-agents refused for asking more than their parent held.",
        f.refused_subagents as f64,
    );
    gauge(
        "peak_parallel",
        "Most sub-agents running at once.",
        f.peak_parallel as f64,
    );
    gauge(
        "coordination_efficiency",
        "Sum of sub-agent busy time / (wall time x peak parallelism).",
        f.coordination_efficiency,
    );
    gauge(
        "scheduling_efficiency",
        "Sum of busy time / sum of (busy time + queue wait).",
        f.scheduling_efficiency,
    );
    gauge(
        "mean_queue_ms",
        "Mean queue wait per started sub-agent, ms.",
        f.mean_queue_ms,
    );
    gauge(
        "priority_inversions",
        "Starts that passed over a higher-priority waiter.",
        f.priority_inversions as f64,
    );
    gauge(
        "permission_violation_rate",
        "(Refused capability items + denied calls) / (items asked + tool calls).",
        f.permission_violation_rate,
    );
    gauge(
        "compliance_rate",
        "Actions with no violation / actions.",
        f.compliance_rate,
    );
    gauge(
        "outbound_transfers",
        "Outbound requests that left for their destination.",
        f.outbound_transfers as f64,
    );
    gauge(
        "data_leakage_rate",
        "Secrets that reached a destination not allowed for them / outbound transfers.",
        f.data_leakage_rate,
    );
    gauge(
        "leaks_prevented",
        "Requests refused for carrying a secret where it may not go.",
        f.leaks_prevented as f64,
    );
    gauge(
        "outputs_redacted",
        "Final outputs in which secrets were found and redacted.",
        f.outputs_redacted as f64,
    );
    gauge("tool_calls", "Tool calls.", f.cost.tool_calls as f64);
    gauge("fuel", "Fuel used (compute).", f.cost.fuel as f64);
    gauge(
        "model_tokens",
        "Model tokens used (compute).",
        f.cost.tokens as f64,
    );
    gauge(
        "net_bytes",
        "Network bytes in + out (data transfer).",
        f.cost.net_bytes as f64,
    );
    gauge(
        "bytes_in",
        "Network bytes received (data transfer).",
        f.cost.bytes_in as f64,
    );
    gauge(
        "bytes_out",
        "Network bytes sent (data transfer).",
        f.cost.bytes_out as f64,
    );
    gauge(
        "storage_bytes",
        "Bytes written to read-write directories and scratch (data storage).",
        f.cost.storage_bytes as f64,
    );
    if let Some(p) = f.cost.model_price {
        gauge("model_price", "Model tokens priced by the config.", p);
    }
    let a = &f.allocation_efficiency;
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
    per_subagent(&mut out, &run, records, &f.per_subagent);
    out
}

/// One series per sub-agent: its place in the tree and how it ended, its times, what it was
/// given and used per budget kind, and its own conduct figures.
fn per_subagent(
    out: &mut String,
    run: &str,
    records: &[SubAgentRecord],
    figures: &[SubAgentFigures],
) {
    let head = |out: &mut String, name: &str, help: &str| {
        out.push_str(&format!(
            "# HELP spud_subagent_{name} {help}\n# TYPE spud_subagent_{name} gauge\n"
        ));
    };
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
