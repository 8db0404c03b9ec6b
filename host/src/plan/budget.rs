//! Budgets: what a run may spend (steps, wall time, fuel, network bytes, tokens, storage), what
//! a sub-agent asks of its parent's, and how a parent's remainder is shared among sub-agents.

use serde::{Deserialize, Serialize};

/// Run budgets; reaching one ends the run cleanly.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Budget {
    /// Tool calls.
    #[serde(default = "d_steps")]
    pub max_steps: u64,
    /// Wall time, ms.
    #[serde(default = "d_wall")]
    pub max_wall_ms: u64,
    /// Total fuel over all tool calls.
    #[serde(default = "d_fuel")]
    pub max_fuel: u64,
    /// Network bytes in + out over all tool calls.
    #[serde(default = "d_egress")]
    pub max_net_bytes: u64,
    /// Model tokens (input + output) spent by the judge during the run.
    #[serde(default = "d_tokens")]
    pub max_tokens: u64,
    /// Bytes written to storage over all tool calls (see the cost figures).
    #[serde(default = "d_storage")]
    pub max_storage_bytes: u64,
}

fn d_tokens() -> u64 {
    1_000_000
}

fn d_steps() -> u64 {
    50
}
fn d_wall() -> u64 {
    120_000
}
fn d_fuel() -> u64 {
    50_000_000_000
}
fn d_egress() -> u64 {
    100 << 20
}
fn d_storage() -> u64 {
    1 << 30
}

impl Budget {
    /// A budget of nothing (what a refused sub-agent was given and used).
    pub const fn zero() -> Budget {
        Budget {
            max_steps: 0,
            max_wall_ms: 0,
            max_fuel: 0,
            max_net_bytes: 0,
            max_tokens: 0,
            max_storage_bytes: 0,
        }
    }
}

impl Default for Budget {
    fn default() -> Self {
        Budget {
            max_steps: d_steps(),
            max_wall_ms: d_wall(),
            max_fuel: d_fuel(),
            max_net_bytes: d_egress(),
            max_tokens: d_tokens(),
            max_storage_bytes: d_storage(),
        }
    }
}

/// A sub-agent's budget wishes, each capped by its parent's remainder.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BudgetRequest {
    /// Tool calls.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_steps: Option<u64>,
    /// Fuel.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_fuel: Option<u64>,
    /// Network bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_net_bytes: Option<u64>,
    /// Model tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_tokens: Option<u64>,
    /// Bytes written to storage.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_storage_bytes: Option<u64>,
}

/// How a parent's remaining budget is shared among its sub-agents.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Allocation {
    /// Each sub-agent step of the plan gets an equal share of what the parent has left.
    #[default]
    Equal,
    /// Shares in proportion to priority weight (priority − lowest + 1).
    Priority,
    /// Whatever a sub-agent asks, from a shared pool, keeping `reserve_percent` back.
    OnDemand,
}

/// `[agents]`: how sub-agents are scheduled and funded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgentSettings {
    /// Sub-agents running at once across the whole tree.
    #[serde(default = "d_parallel")]
    pub max_parallel: usize,
    /// How deep sub-agents may nest (the root's children are depth 1).
    #[serde(default = "d_depth")]
    pub max_depth: u32,
    /// A waiting sub-agent gains one priority level per this many ms (0: no aging).
    #[serde(default = "d_aging")]
    pub aging_ms: u64,
    /// How budgets are shared.
    #[serde(default)]
    pub allocation: Allocation,
    /// For `on-demand`: percent of the parent's remainder no single sub-agent may take.
    #[serde(default = "d_reserve")]
    pub reserve_percent: u8,
}

fn d_parallel() -> usize {
    20
}
fn d_depth() -> u32 {
    3
}
fn d_aging() -> u64 {
    1000
}
fn d_reserve() -> u8 {
    10
}

impl Default for AgentSettings {
    fn default() -> Self {
        AgentSettings {
            max_parallel: d_parallel(),
            max_depth: d_depth(),
            aging_ms: d_aging(),
            allocation: Allocation::default(),
            reserve_percent: d_reserve(),
        }
    }
}

/// The budget a sub-agent gets: its request (else its strategy's `share`), never more than
/// `available` (what its parent has left, less what running siblings hold) — and under
/// `on-demand` never more than `share`, which keeps the reserve back.
pub fn allocate(
    settings: &AgentSettings,
    available: &Budget,
    request: &BudgetRequest,
    share: &Budget,
) -> Budget {
    let cap = match settings.allocation {
        Allocation::OnDemand => share,
        Allocation::Equal | Allocation::Priority => available,
    };
    let pick = |asked: Option<u64>, share: u64, cap: u64, avail: u64| {
        asked.unwrap_or(share).min(cap).min(avail)
    };
    Budget {
        max_steps: pick(
            request.max_steps,
            share.max_steps,
            cap.max_steps,
            available.max_steps,
        ),
        max_wall_ms: available.max_wall_ms,
        max_fuel: pick(
            request.max_fuel,
            share.max_fuel,
            cap.max_fuel,
            available.max_fuel,
        ),
        max_net_bytes: pick(
            request.max_net_bytes,
            share.max_net_bytes,
            cap.max_net_bytes,
            available.max_net_bytes,
        ),
        max_tokens: pick(
            request.max_tokens,
            share.max_tokens,
            cap.max_tokens,
            available.max_tokens,
        ),
        max_storage_bytes: pick(
            request.max_storage_bytes,
            share.max_storage_bytes,
            cap.max_storage_bytes,
            available.max_storage_bytes,
        ),
    }
}

/// A sub-agent's default share of `available` under `settings`: `siblings` are the priorities
/// of every sub-agent step in the parent's plan (its own included).
pub fn share(
    settings: &AgentSettings,
    available: &Budget,
    siblings: &[i64],
    priority: i64,
) -> Budget {
    let (num, den): (u128, u128) = match settings.allocation {
        Allocation::Equal => (1, siblings.len().max(1) as u128),
        Allocation::Priority => {
            let low = siblings
                .iter()
                .copied()
                .min()
                .unwrap_or(priority)
                .min(priority);
            let w = |p: i64| (p.saturating_sub(low) as u128) + 1;
            let total: u128 = siblings.iter().map(|p| w(*p)).sum();
            (w(priority), total.max(1))
        }
        Allocation::OnDemand => {
            let keep = u128::from(settings.reserve_percent.min(100));
            (100 - keep, 100)
        }
    };
    let part = |v: u64| ((u128::from(v) * num) / den).min(u128::from(u64::MAX)) as u64;
    Budget {
        max_steps: part(available.max_steps),
        max_wall_ms: available.max_wall_ms,
        max_fuel: part(available.max_fuel),
        max_net_bytes: part(available.max_net_bytes),
        max_tokens: part(available.max_tokens),
        max_storage_bytes: part(available.max_storage_bytes),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn budget(n: u64) -> Budget {
        Budget {
            max_steps: n,
            max_wall_ms: 5000,
            max_fuel: n * 1000,
            max_net_bytes: n * 10,
            max_tokens: n * 100,
            max_storage_bytes: n * 50,
        }
    }

    #[test]
    fn equal_split() {
        let s = AgentSettings::default();
        let b = share(&s, &budget(100), &[0, 0, 0, 0], 0);
        assert_eq!((b.max_steps, b.max_fuel), (25, 25_000));
        assert_eq!(b.max_wall_ms, 5000, "wall time is a deadline, not split");
    }

    #[test]
    fn priority_weights() {
        let s = AgentSettings {
            allocation: Allocation::Priority,
            ..AgentSettings::default()
        };
        // Weights 1, 2, 4 of 7.
        assert_eq!(share(&s, &budget(70), &[0, 1, 3], 3).max_steps, 40);
        assert_eq!(share(&s, &budget(70), &[0, 1, 3], 0).max_steps, 10);
    }

    #[test]
    fn on_demand_keeps_a_reserve_and_requests_are_capped() {
        let s = AgentSettings {
            allocation: Allocation::OnDemand,
            reserve_percent: 20,
            ..AgentSettings::default()
        };
        let avail = budget(100);
        let sh = share(&s, &avail, &[0], 0);
        assert_eq!(sh.max_steps, 80);
        let asked = BudgetRequest {
            max_steps: Some(500),
            max_fuel: Some(10),
            ..BudgetRequest::default()
        };
        let b = allocate(&s, &avail, &asked, &sh);
        assert_eq!(b.max_steps, 80, "never the reserve");
        assert_eq!(b.max_fuel, 10);
        assert_eq!(b.max_net_bytes, 800);
        let equal = AgentSettings::default();
        let b = allocate(&equal, &avail, &asked, &share(&equal, &avail, &[0, 0], 0));
        assert_eq!(
            b.max_steps, 100,
            "a request may pass its share, never what is available"
        );
        assert_eq!(b.max_fuel, 10);
    }
}
