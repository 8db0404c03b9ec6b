//! A run's figures, pure: computed from the sub-agent records, the scheduler's counters and the
//! run's totals. The formulas are documented in the README ("Sub-agents").

use super::scheduler::SchedulerStats;
use super::SubAgentRecord;
use serde::Serialize;

/// Data moved and stored by a run, summed over its calls and sub-agents.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(default)]
pub struct DataFlow {
    /// Network bytes received.
    pub bytes_in: u64,
    /// Network bytes sent.
    pub bytes_out: u64,
    /// Outbound requests that left for their destination (outbound transfers).
    pub transfers: u64,
    /// Requests refused because they carried a registered secret where it may not go.
    pub leaks_blocked: u64,
    /// Secrets that reached a destination not allowed for them (`on_leak = "record"`).
    pub leaks_reached: u64,
    /// Tool calls through which a secret reached a destination not allowed for it.
    pub leaky_calls: u64,
    /// Final outputs in which registered secrets were found and redacted.
    pub outputs_redacted: u64,
    /// Storage used: growth of read-write directories and temporary scratch, bytes.
    pub storage_bytes: u64,
}

impl DataFlow {
    /// Adds `other` (a call's or a sub-agent's) to these totals.
    pub fn add(&mut self, other: &DataFlow) {
        self.bytes_in += other.bytes_in;
        self.bytes_out += other.bytes_out;
        self.transfers += other.transfers;
        self.leaks_blocked += other.leaks_blocked;
        self.leaks_reached += other.leaks_reached;
        self.leaky_calls += other.leaky_calls;
        self.outputs_redacted += other.outputs_redacted;
        self.storage_bytes += other.storage_bytes;
    }
}

/// Model prices from the config's `[model]` section, in a currency per million tokens.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, serde::Deserialize)]
pub struct Prices {
    /// Per million input tokens.
    pub input_per_mtok: f64,
    /// Per million output tokens.
    pub output_per_mtok: f64,
}

/// Totals of the whole tree, as its root run counted them.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Totals {
    /// Root wall time, ms.
    pub wall_ms: u64,
    /// Tool calls in the tree.
    pub tool_calls: u64,
    /// Of those, calls a grant denied.
    pub denied_calls: u64,
    /// Fuel used.
    pub fuel: u64,
    /// Model tokens used.
    pub tokens: u64,
    /// Network bytes in + out.
    pub net_bytes: u64,
    /// Model tokens in and out (for the price).
    pub usage: (u64, u64),
    /// Model prices, when the config lists them.
    pub prices: Option<Prices>,
    /// Data moved, leaks and storage.
    pub data: DataFlow,
}

/// used ÷ allocated per budget kind (`None` when nothing of that kind was allocated).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, serde::Deserialize)]
pub struct AllocationEfficiency {
    /// Tool calls.
    pub steps: Option<f64>,
    /// Fuel.
    pub fuel: Option<f64>,
    /// Network bytes.
    pub net_bytes: Option<f64>,
    /// Model tokens.
    pub tokens: Option<f64>,
    /// Bytes written to storage.
    #[serde(default)]
    pub storage_bytes: Option<f64>,
}

/// What the run cost.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, serde::Deserialize)]
#[serde(default)]
pub struct Cost {
    /// Tool calls.
    pub tool_calls: u64,
    /// Compute: fuel.
    pub fuel: u64,
    /// Compute: model tokens.
    pub tokens: u64,
    /// Data transfer: bytes in + out.
    pub net_bytes: u64,
    /// Data transfer: bytes received.
    pub bytes_in: u64,
    /// Data transfer: bytes sent.
    pub bytes_out: u64,
    /// Data storage: bytes written (growth of read-write directories and scratch).
    pub storage_bytes: u64,
    /// Model tokens priced by the config's `[model]` prices (absent without prices).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model_price: Option<f64>,
}

/// The figures of one run and its sub-agents.
#[derive(Debug, Clone, Default, PartialEq, Serialize, serde::Deserialize)]
pub struct Figures {
    /// Sub-agents asked for.
    pub subagents: u64,
    /// Of those, refused for asking more than their parent held.
    pub refused_subagents: u64,
    /// Most sub-agents running at once.
    pub peak_parallel: usize,
    /// Σ sub-agent busy time ÷ (wall time × peak parallelism).
    pub coordination_efficiency: f64,
    /// Σ busy ÷ Σ (busy + queue wait).
    pub scheduling_efficiency: f64,
    /// Mean queue wait per started sub-agent, ms.
    pub mean_queue_ms: f64,
    /// Starts that passed over a higher-priority waiter (aging).
    pub priority_inversions: u64,
    /// Σ used ÷ Σ allocated, per kind.
    pub allocation_efficiency: AllocationEfficiency,
    /// (refused capability items + denied calls) ÷ (capability items asked + tool calls).
    pub permission_violation_rate: f64,
    /// Actions (tool calls + sub-agent requests) with no violation and no leak ÷ actions.
    pub compliance_rate: f64,
    /// Outbound requests that left for their destination.
    #[serde(default)]
    pub outbound_transfers: u64,
    /// Secrets that reached a destination not allowed for them ÷ outbound transfers.
    #[serde(default)]
    pub data_leakage_rate: f64,
    /// Requests refused because they carried a secret where it may not go (counted apart).
    #[serde(default)]
    pub leaks_prevented: u64,
    /// Final outputs in which secrets were found and redacted.
    #[serde(default)]
    pub outputs_redacted: u64,
    /// Cost.
    pub cost: Cost,
}

fn ratio(num: f64, den: f64) -> f64 {
    if den > 0.0 {
        num / den
    } else {
        0.0
    }
}

/// Computes the figures.
pub fn compute(records: &[SubAgentRecord], stats: SchedulerStats, t: Totals) -> Figures {
    let started: Vec<&SubAgentRecord> = records.iter().filter(|r| r.status.is_some()).collect();
    let busy: u64 = started.iter().map(|r| r.busy_ms).sum();
    let queued: u64 = started.iter().map(|r| r.queued_ms).sum();
    let kind = |used: fn(&SubAgentRecord) -> u64, alloc: fn(&SubAgentRecord) -> u64| {
        let a: u64 = started.iter().map(|r| alloc(r)).sum();
        (a > 0).then(|| {
            ratio(
                started.iter().map(|r| used(r)).sum::<u64>() as f64,
                a as f64,
            )
        })
    };
    let asked: u64 = records.iter().map(|r| r.capability_requests).sum();
    let refused_items: u64 = records.iter().map(|r| r.violations.len() as u64).sum();
    let refused = records.iter().filter(|r| !r.violations.is_empty()).count() as u64;
    let actions = t.tool_calls + records.len() as u64;
    let d = t.data;
    let peak = stats.peak_parallel;
    Figures {
        subagents: records.len() as u64,
        refused_subagents: refused,
        peak_parallel: peak,
        coordination_efficiency: ratio(busy as f64, (t.wall_ms * peak as u64) as f64),
        scheduling_efficiency: ratio(busy as f64, (busy + queued) as f64),
        mean_queue_ms: ratio(queued as f64, started.len() as f64),
        priority_inversions: stats.priority_inversions,
        allocation_efficiency: AllocationEfficiency {
            steps: kind(|r| r.used.max_steps, |r| r.allocated.max_steps),
            fuel: kind(|r| r.used.max_fuel, |r| r.allocated.max_fuel),
            net_bytes: kind(|r| r.used.max_net_bytes, |r| r.allocated.max_net_bytes),
            tokens: kind(|r| r.used.max_tokens, |r| r.allocated.max_tokens),
            storage_bytes: kind(
                |r| r.used.max_storage_bytes,
                |r| r.allocated.max_storage_bytes,
            ),
        },
        permission_violation_rate: ratio(
            (refused_items + t.denied_calls) as f64,
            (asked + t.tool_calls) as f64,
        ),
        compliance_rate: if actions == 0 {
            1.0
        } else {
            ratio(
                actions.saturating_sub(refused + t.denied_calls + d.leaky_calls) as f64,
                actions as f64,
            )
        },
        outbound_transfers: d.transfers,
        data_leakage_rate: ratio(d.leaks_reached as f64, d.transfers as f64),
        leaks_prevented: d.leaks_blocked,
        outputs_redacted: d.outputs_redacted,
        cost: Cost {
            tool_calls: t.tool_calls,
            fuel: t.fuel,
            tokens: t.tokens,
            net_bytes: t.net_bytes,
            bytes_in: d.bytes_in,
            bytes_out: d.bytes_out,
            storage_bytes: d.storage_bytes,
            model_price: t.prices.map(|p| {
                (t.usage.0 as f64 * p.input_per_mtok + t.usage.1 as f64 * p.output_per_mtok) / 1e6
            }),
        },
    }
}

/// The figures in Prometheus text exposition format, labelled with the run id; one series per
/// sub-agent for queue wait, busy time and calls.
pub fn prometheus(run: &str, f: &Figures, records: &[SubAgentRecord]) -> String {
    let esc = |s: &str| s.replace('\\', "\\\\").replace('"', "\\\"");
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
    ] {
        if let Some(v) = v {
            out.push_str(&format!(
                "spud_allocation_efficiency{{run=\"{run}\",kind=\"{kind}\"}} {v}\n"
            ));
        }
    }
    for (name, help, pick) in [
        (
            "subagent_queue_ms",
            "Queue wait of one sub-agent, ms.",
            (|r: &SubAgentRecord| r.queued_ms) as fn(&SubAgentRecord) -> u64,
        ),
        ("subagent_busy_ms", "Busy time of one sub-agent, ms.", |r| {
            r.busy_ms
        }),
        ("subagent_tool_calls", "Tool calls of one sub-agent.", |r| {
            r.used.max_steps
        }),
    ] {
        out.push_str(&format!(
            "# HELP spud_{name} {help}\n# TYPE spud_{name} gauge\n"
        ));
        for r in records {
            out.push_str(&format!(
                "spud_{name}{{run=\"{run}\",subagent=\"{}\"}} {}\n",
                esc(&r.run),
                pick(r)
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::agent::plan::Budget;
    use crate::agent::RunStatus;

    fn rec(busy: u64, queued: u64, steps: (u64, u64), violations: usize) -> SubAgentRecord {
        let b = |n| Budget {
            max_steps: n,
            max_wall_ms: 0,
            max_fuel: 0,
            max_net_bytes: 0,
            max_tokens: 0,
            max_storage_bytes: 0,
        };
        SubAgentRecord {
            run: "r".into(),
            parent: "p".into(),
            step: "s".into(),
            depth: 1,
            priority: 0,
            status: (violations == 0).then_some(RunStatus::Done),
            requested_ms: 0,
            queued_ms: queued,
            busy_ms: busy,
            allocated: b(steps.1),
            used: b(steps.0),
            capability_requests: 2,
            violations: vec!["x".into(); violations],
        }
    }

    #[test]
    fn figures_of_a_small_known_run() {
        // Two sub-agents ran 100 ms each, one waited 100 ms; a third was refused (1 of its 2
        // items); 10 tool calls, 1 denied; wall 200 ms, peak 1.
        let records = [
            rec(100, 0, (2, 4), 0),
            rec(100, 100, (4, 4), 0),
            rec(0, 0, (0, 0), 1),
        ];
        let stats = SchedulerStats {
            peak_parallel: 1,
            priority_inversions: 0,
            grants: 2,
        };
        let t = Totals {
            wall_ms: 200,
            tool_calls: 10,
            denied_calls: 1,
            usage: (1_000_000, 500_000),
            prices: Some(Prices {
                input_per_mtok: 3.0,
                output_per_mtok: 15.0,
            }),
            data: DataFlow {
                transfers: 4,
                leaks_reached: 1,
                leaky_calls: 1,
                leaks_blocked: 2,
                ..DataFlow::default()
            },
            ..Totals::default()
        };
        let f = compute(&records, stats, t);
        assert_eq!(f.coordination_efficiency, 1.0);
        assert!((f.scheduling_efficiency - 200.0 / 300.0).abs() < 1e-9);
        assert_eq!(f.mean_queue_ms, 50.0);
        assert_eq!(f.allocation_efficiency.steps, Some(0.75));
        assert_eq!(f.allocation_efficiency.fuel, None);
        // (1 refused item + 1 denied call) ÷ (6 items + 10 calls)
        assert_eq!(f.permission_violation_rate, 2.0 / 16.0);
        // 13 actions, 2 with a violation and 1 with a leak.
        assert_eq!(f.compliance_rate, 10.0 / 13.0);
        assert_eq!(f.data_leakage_rate, 0.25);
        assert_eq!(f.leaks_prevented, 2);
        assert_eq!(f.cost.model_price, Some(3.0 + 7.5));
        assert_eq!(f.refused_subagents, 1);
        let text = prometheus("r\"1", &f, &records);
        assert!(
            text.contains("spud_compliance_rate{run=\"r\\\"1\"} 0.769"),
            "{text}"
        );
        assert!(text.contains("spud_allocation_efficiency{run=\"r\\\"1\",kind=\"steps\"} 0.75"));
        assert_eq!(text.matches("spud_subagent_busy_ms{").count(), 3);
    }
}
