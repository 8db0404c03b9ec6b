//! The live budget a call draws on as it runs ([`Meter`]): fuel at each epoch check, network
//! bytes per body frame. A run's concurrent calls share one, so together they cannot pass it.

/// What a [`Meter`] counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Metered {
    /// Fuel (compute).
    Fuel,
    /// Network bytes, in + out.
    Net,
}

/// A budget that calls draw on as they run. Concurrent calls of one run share it, so together
/// they cannot pass what the run has: a call that finds it empty is stopped (fuel: at its next
/// epoch check; network: before the frame that does not fit).
pub trait Meter: Send + Sync + std::fmt::Debug {
    /// Takes up to `n` units (all `n` or none when `whole`); how many it got.
    fn take(&self, what: Metered, n: u64, whole: bool) -> u64;
    /// What is left.
    fn left(&self, what: Metered) -> u64;
}
