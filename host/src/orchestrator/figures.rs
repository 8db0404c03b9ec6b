//! A run's figures, pure: computed from the sub-agent records, the scheduler's counters and the
//! run's totals. The formulas are documented in the book, `docs/src/figures.md`.

pub use super::flow::DataFlow;
use super::scheduler::SchedulerStats;
use super::tree::SubAgentRecord;
use crate::model::Prices;
use crate::plan::Budget;
use serde::Serialize;

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
    /// Wall time.
    #[serde(default)]
    pub wall_ms: Option<f64>,
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
    /// The same figures for each sub-agent (its own subtree), in order of request.
    #[serde(default)]
    pub per_subagent: Vec<SubAgentFigures>,
}

/// One sub-agent's figures (with its own sub-agents').
#[derive(Debug, Clone, Default, PartialEq, Serialize, serde::Deserialize)]
#[serde(default)]
pub struct SubAgentFigures {
    /// Its run id.
    pub run: String,
    /// How it ended (`None`: refused).
    pub status: Option<crate::plan::RunStatus>,
    /// Time waiting for a slot, ms.
    pub queued_ms: u64,
    /// Time holding a slot, ms.
    pub busy_ms: u64,
    /// used ÷ allocated, per kind.
    pub allocation_efficiency: AllocationEfficiency,
    /// (refused capability items + denied calls) ÷ (capability items asked + tool calls).
    pub permission_violation_rate: f64,
    /// Actions (its tool calls and its own request) with no violation and no leak ÷ actions.
    pub compliance_rate: f64,
    /// Secrets that reached a destination not allowed for them ÷ outbound transfers.
    pub data_leakage_rate: f64,
    /// Requests refused for carrying a secret where it may not go.
    pub leaks_prevented: u64,
}

fn ratio(num: f64, den: f64) -> f64 {
    if den > 0.0 {
        num / den
    } else {
        0.0
    }
}

/// used ÷ allocated per kind, summed over `records`.
fn allocation(records: &[&SubAgentRecord]) -> AllocationEfficiency {
    let kind = |used: fn(&Budget) -> u64| {
        let a: u64 = records.iter().map(|r| used(&r.allocated)).sum();
        (a > 0).then(|| {
            ratio(
                records.iter().map(|r| used(&r.used)).sum::<u64>() as f64,
                a as f64,
            )
        })
    };
    AllocationEfficiency {
        steps: kind(|b| b.max_steps),
        fuel: kind(|b| b.max_fuel),
        net_bytes: kind(|b| b.max_net_bytes),
        tokens: kind(|b| b.max_tokens),
        storage_bytes: kind(|b| b.max_storage_bytes),
        wall_ms: kind(|b| b.max_wall_ms),
    }
}

/// Counts behind the permission-violation and compliance rates.
struct Conduct {
    /// Capability items asked for, and refused.
    asked: u64,
    refused_items: u64,
    /// Sub-agent requests, and of those refused.
    requests: u64,
    refused: u64,
    /// Tool calls, denied calls, calls through which a secret leaked.
    calls: u64,
    denied: u64,
    leaky: u64,
}

impl Conduct {
    fn violation_rate(&self) -> f64 {
        ratio(
            (self.refused_items + self.denied) as f64,
            (self.asked + self.calls) as f64,
        )
    }

    fn compliance_rate(&self) -> f64 {
        let actions = self.calls + self.requests;
        if actions == 0 {
            return 1.0;
        }
        let bad = self.refused + self.denied + self.leaky;
        ratio(actions.saturating_sub(bad) as f64, actions as f64)
    }
}

/// One sub-agent's own figures; its record already includes its sub-agents' use.
fn of_subagent(r: &SubAgentRecord) -> SubAgentFigures {
    let refused = u64::from(!r.violations.is_empty());
    let c = Conduct {
        asked: r.capability_requests,
        refused_items: r.violations.len() as u64,
        requests: 1,
        refused,
        calls: r.used.max_steps,
        denied: r.denied_calls,
        leaky: r.data.leaky_calls,
    };
    SubAgentFigures {
        run: r.run.clone(),
        status: r.status,
        queued_ms: r.queued_ms,
        busy_ms: r.busy_ms,
        allocation_efficiency: allocation(&[r]),
        permission_violation_rate: c.violation_rate(),
        compliance_rate: c.compliance_rate(),
        data_leakage_rate: ratio(r.data.leaks_reached as f64, r.data.transfers as f64),
        leaks_prevented: r.data.leaks_blocked,
    }
}

/// Most records running at once, from their start and wall time.
pub fn peak_overlap(records: &[SubAgentRecord]) -> usize {
    let mut edges: Vec<(u64, i32)> = Vec::new();
    for r in records.iter().filter(|r| r.status.is_some()) {
        let start = r.requested_ms + r.queued_ms;
        edges.push((start, 1));
        edges.push((start + r.used.max_wall_ms.max(1), -1));
    }
    // Ends before starts at the same instant.
    edges.sort();
    let (mut now, mut peak) = (0i32, 0i32);
    for (_, d) in edges {
        now += d;
        peak = peak.max(now);
    }
    peak.max(0) as usize
}

/// Computes the figures of run `run`: `records` are every sub-agent below it (at any depth),
/// `stats` the scheduler's counters for them.
pub fn compute(run: &str, records: &[SubAgentRecord], stats: SchedulerStats, t: Totals) -> Figures {
    let started: Vec<&SubAgentRecord> = records.iter().filter(|r| r.status.is_some()).collect();
    // Busy time is slot time (a parent's wait for its own sub-agents is not in it), so it can be
    // summed over every depth; what was used and allocated is summed over the run's direct
    // sub-agents only, since theirs includes their own sub-agents'.
    let busy: u64 = started.iter().map(|r| r.busy_ms).sum();
    let queued: u64 = started.iter().map(|r| r.queued_ms).sum();
    let direct: Vec<&SubAgentRecord> = started
        .iter()
        .copied()
        .filter(|r| r.parent == run)
        .collect();
    let conduct = Conduct {
        asked: records.iter().map(|r| r.capability_requests).sum(),
        refused_items: records.iter().map(|r| r.violations.len() as u64).sum(),
        requests: records.len() as u64,
        refused: records.iter().filter(|r| !r.violations.is_empty()).count() as u64,
        calls: t.tool_calls,
        denied: t.denied_calls,
        leaky: t.data.leaky_calls,
    };
    let d = t.data;
    let peak = stats.peak_parallel;
    Figures {
        subagents: records.len() as u64,
        refused_subagents: conduct.refused,
        peak_parallel: peak,
        coordination_efficiency: ratio(busy as f64, (t.wall_ms * peak as u64) as f64),
        scheduling_efficiency: ratio(busy as f64, (busy + queued) as f64),
        mean_queue_ms: ratio(queued as f64, started.len() as f64),
        priority_inversions: stats.priority_inversions,
        allocation_efficiency: allocation(&direct),
        permission_violation_rate: conduct.violation_rate(),
        compliance_rate: conduct.compliance_rate(),
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
        per_subagent: records.iter().map(of_subagent).collect(),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::plan::RunStatus;

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
            denied_calls: 0,
            data: DataFlow::default(),
        }
    }

    /// Two sub-agents ran 100 ms each, one waited 100 ms; a third was refused (1 of its 2
    /// items); 10 tool calls, 1 denied; wall 200 ms, peak 1.
    pub(crate) fn small_known_run() -> ([SubAgentRecord; 3], Figures) {
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
        let f = compute("p", &records, stats, t);
        (records, f)
    }

    #[test]
    fn figures_of_a_small_known_run() {
        let (_, f) = small_known_run();
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
        // Per sub-agent: the first used 2 of its 4 calls; the refused one asked 2 items and got
        // neither of 1 refused item: (1 + 0) ÷ (2 + 0).
        assert_eq!(f.per_subagent.len(), 3);
        assert_eq!(f.per_subagent[0].allocation_efficiency.steps, Some(0.5));
        assert_eq!(f.per_subagent[2].permission_violation_rate, 0.5);
        assert_eq!(f.per_subagent[2].compliance_rate, 0.0);
        assert_eq!(f.per_subagent[1].compliance_rate, 1.0);
    }

    #[test]
    fn nested_sub_agents_are_not_counted_twice() {
        // `a` (a child of the root `p`) gave 2 calls to its own child `a.b`, which used 1; `a`
        // used 3 in all (its own 2 and `a.b`'s 1) of the 6 it was given.
        let mut a = rec(50, 0, (3, 6), 0);
        a.run = "p.a".into();
        let mut b = rec(20, 10, (1, 2), 0);
        b.run = "p.a.b".into();
        b.parent = "p.a".into();
        b.depth = 2;
        let stats = SchedulerStats {
            peak_parallel: 1,
            ..SchedulerStats::default()
        };
        let t = Totals {
            wall_ms: 100,
            tool_calls: 3,
            ..Totals::default()
        };
        let f = compute("p", &[a.clone(), b.clone()], stats, t);
        assert_eq!(
            f.allocation_efficiency.steps,
            Some(0.5),
            "direct children only"
        );
        // Busy is slot time at every depth: (50 + 20) ÷ (100 × 1).
        assert_eq!(f.coordination_efficiency, 0.7);
        assert_eq!(f.per_subagent[1].allocation_efficiency.steps, Some(0.5));
        // `a`'s own report sees `a.b` as its direct child.
        let inner = compute("p.a", &[b], stats, t);
        assert_eq!(inner.allocation_efficiency.steps, Some(0.5));
    }

    #[test]
    fn peak_overlap_counts_runs_at_once() {
        let at = |start: u64, wall: u64| {
            let mut r = rec(wall, 0, (1, 1), 0);
            r.requested_ms = start;
            r.used.max_wall_ms = wall;
            r
        };
        // [0,10) [5,15) [10,20): at most two at once (one ends as the third starts).
        assert_eq!(peak_overlap(&[at(0, 10), at(5, 10), at(10, 10)]), 2);
        assert_eq!(peak_overlap(&[]), 0);
    }
}
