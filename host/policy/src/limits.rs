//! Compute and output limits. Limits are ceilings, not permissions: a call gets the smallest
//! value any side sets, the policy's `[defaults]` where its section sets none, and the built-in
//! [`Limits::DEFAULT`] where nothing does. The list of limits is [`spud_manifest::Limits`]; this
//! module only adds how the host decides them.

pub use spud_manifest::{LimitValue, Limits, Unset};

/// Limits with every value decided: what one call runs under.
pub type ResolvedLimits = Limits<u64>;

/// Hard ceiling for memory, whatever a policy says: the pooling allocator reserves this much
/// address space per instance slot.
pub const MAX_MEMORY_MB: u64 = 1024;

/// The ceilings an operator's section sets: its values, else the policy's `defaults`, else the
/// built-in ones; memory never above [`MAX_MEMORY_MB`].
pub fn ceilings(section: Limits, defaults: Limits) -> ResolvedLimits {
    let mut decided = section
        .or(defaults)
        .zip(Limits::DEFAULT)
        .map(|_, (set, builtin)| set.unwrap_or(builtin));
    decided.memory_mb = decided.memory_mb.min(MAX_MEMORY_MB);
    decided
}

/// The limits both `wanted` and `held` allow: `held`'s, lowered where `wanted` sets a smaller
/// value.
pub fn meet<V: LimitValue>(wanted: Limits<V>, held: ResolvedLimits) -> ResolvedLimits {
    wanted
        .zip(held)
        .map(|_, (w, h)| w.get().map_or(h, |w| w.min(h)))
}

/// The limits `wanted` sets above `held`'s, as (name, wanted, held).
pub fn above<V: LimitValue>(
    wanted: Limits<V>,
    held: ResolvedLimits,
) -> Vec<(&'static str, u64, u64)> {
    wanted
        .zip(held)
        .fields()
        .filter_map(|(name, (w, h))| w.get().filter(|w| *w > h).map(|w| (name, w, h)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn smaller_of_request_and_grant() {
        let req = Limits {
            fuel: Some(10),
            memory_mb: Some(500),
            ..Default::default()
        };
        let grant = Limits {
            fuel: Some(100),
            memory_mb: Some(32),
            ..Default::default()
        };
        let r = meet(req, ceilings(grant, Limits::default()));
        assert_eq!(r.fuel, 10);
        assert_eq!(r.memory_mb, 32);
        assert_eq!(r.timeout_ms, ResolvedLimits::DEFAULT.timeout_ms);
        let defaults = Limits {
            timeout_ms: Some(5),
            ..Default::default()
        };
        assert_eq!(meet(req, ceilings(grant, defaults)).timeout_ms, 5);
    }

    #[test]
    fn memory_is_capped_and_overs_are_named() {
        let huge = Limits::new().memory_mb(1 << 20);
        assert_eq!(ceilings(huge, Limits::new()).memory_mb, MAX_MEMORY_MB);
        let asked = Limits::new().fuel(u64::MAX);
        assert_eq!(
            meet(asked, ResolvedLimits::DEFAULT),
            ResolvedLimits::DEFAULT
        );
        let over = above(asked, ResolvedLimits::DEFAULT);
        assert_eq!(over, [("fuel", u64::MAX, ResolvedLimits::DEFAULT.fuel)]);
    }
}
