//! Per-call resource limits: the one list of limits spud knows.
//!
//! [`Limits`] holds one value per limit. As a manifest, a policy or a sub-agent writes them
//! (`Limits<Option<u64>>`, the default), a value may be unset: left to the other side. Once
//! decided for a call (`Limits<u64>`), every value is set. Both forms are the same type, built
//! from the single list in this file: adding a limit is one line in that list (its name,
//! built-in default, and what asking for it means) plus its enforcement in the sandbox.

use serde::{Deserialize, Serialize};

/// A limit's value: `Option<u64>` as a side asks it (`None`: unset), `u64` once decided.
pub trait LimitValue: Copy {
    /// The value, if this side sets one.
    fn get(self) -> Option<u64>;

    /// Whether this side leaves the limit to the other; unset values are not written out.
    fn is_unset(&self) -> bool {
        self.get().is_none()
    }
}

impl LimitValue for u64 {
    fn get(self) -> Option<u64> {
        Some(self)
    }
}

impl LimitValue for Option<u64> {
    fn get(self) -> Option<u64> {
        self
    }
}

/// The value a limit missing from a document has. Only asked values (`Option<u64>`) have one,
/// so only `Limits<Option<u64>>` is read from text: a decided limit is never left out.
pub trait Unset {
    /// The unset value.
    fn unset() -> Self;
}

impl<T> Unset for Option<T> {
    fn unset() -> Self {
        None
    }
}

/// Defines [`Limits`] and everything spelled out per limit from one list of
/// `name = built-in default, "what asking for it means";`.
macro_rules! limits {
    ($( $(#[doc = $doc:literal])+ $name:ident = $default:expr, $asks:literal; )+) => {
        /// Per-call resource limits: ceilings, not permissions. A call gets the smallest value
        /// any side sets, and the built-in default ([`Limits::DEFAULT`]) where none does.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(
            deny_unknown_fields,
            bound(
                serialize = "V: Serialize + LimitValue",
                deserialize = "V: Deserialize<'de> + Unset"
            )
        )]
        pub struct Limits<V = Option<u64>> {
            $(
                $(#[doc = $doc])+
                #[serde(default = "Unset::unset", skip_serializing_if = "LimitValue::is_unset")]
                pub $name: V,
            )+
        }

        impl<V> Limits<V> {
            /// Applies `f` to each limit (with its name).
            pub fn map<W>(self, mut f: impl FnMut(&'static str, V) -> W) -> Limits<W> {
                Limits { $($name: f(stringify!($name), self.$name),)+ }
            }

            /// Pairs each limit with the same limit of `other`.
            pub fn zip<W>(self, other: Limits<W>) -> Limits<(V, W)> {
                Limits { $($name: (self.$name, other.$name),)+ }
            }

            /// Each limit with its name, in the order of `Limits::NAMES`.
            pub fn fields(self) -> impl Iterator<Item = (&'static str, V)> {
                [$((stringify!($name), self.$name)),+].into_iter()
            }
        }

        impl Limits<u64> {
            /// Built-in values, used where no side sets a limit.
            pub const DEFAULT: Limits<u64> = Limits { $($name: $default,)+ };
        }

        impl Limits<Option<u64>> {
            /// The names of the limits, as written in manifests and policies (`Limits::NAMES`;
            /// the same for decided limits).
            pub const NAMES: &'static [&'static str] = &[$(stringify!($name)),+];

            /// No limit set: whatever the other side allows, else the defaults.
            pub const NONE: Limits<Option<u64>> = Limits { $($name: None,)+ };

            $(
                #[doc = concat!("Asks for ", $asks, " (`", stringify!($name), "`).")]
                pub fn $name(mut self, value: u64) -> Self {
                    self.$name = Some(value);
                    self
                }
            )+
        }
    };
}

limits! {
    /// Linear memory ceiling, MiB.
    memory_mb = 64, "a linear memory ceiling of `value` MiB";
    /// Fuel per call: a deterministic CPU budget, about one unit per wasm instruction.
    fuel = 2_000_000_000, "`value` units of fuel per call";
    /// Wall-clock deadline per call, milliseconds.
    timeout_ms = 10_000, "a per-call deadline of `value` milliseconds";
    /// Bytes of stdout kept per call; the rest is dropped and the outcome flagged.
    stdout_bytes = 64 * 1024, "keeping `value` bytes of stdout per call";
    /// Bytes of stderr kept per call.
    stderr_bytes = 64 * 1024, "keeping `value` bytes of stderr per call";
    /// Largest result, in bytes of JSON, a call may return.
    result_bytes = 1024 * 1024, "returning results of up to `value` bytes of JSON";
}

impl Limits<Option<u64>> {
    /// No limits asked for: the host's defaults apply.
    pub fn new() -> Self {
        Self::NONE
    }

    /// Whether no limit is set.
    pub fn is_empty(&self) -> bool {
        *self == Self::NONE
    }

    /// This side's values where set, else `fallback`'s.
    pub fn or(self, fallback: Limits<Option<u64>>) -> Limits<Option<u64>> {
        self.zip(fallback).map(|_, (a, b)| a.or(b))
    }
}

impl Default for Limits<Option<u64>> {
    fn default() -> Self {
        Self::NONE
    }
}
