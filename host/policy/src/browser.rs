//! The limits of a browser session (`browser_limits` in a `[tools.NAME]` section): pages open at
//! once, wall time per action and per session, snapshot and screenshot caps, bytes through the
//! session's proxy. Like [`Limits`](crate::Limits) they are ceilings, not permissions: every key
//! is optional, the built-in values ([`BrowserLimits::DEFAULT`]) are both the defaults and the
//! highest values a section may set, and along a chain of grants (policy, principal, sub-agent
//! scope) the effective value is the smallest one set ([`BrowserLimits::meet`]), so a narrowed
//! grant never gets more.

use crate::limits::{LimitValue, Unset};
use serde::{Deserialize, Serialize};

/// Defines [`BrowserLimits`] and what is spelled out per limit from one list of
/// `name = built-in value, lowest value;`.
macro_rules! browser_limits {
    ($( $(#[doc = $doc:literal])+ $name:ident = $default:expr, $lowest:expr; )+) => {
        /// The limits of one browser session. `V`: `u64` once decided (a grant), `Option<u64>`
        /// where a side may leave one unset (a policy section).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(
            deny_unknown_fields,
            bound(
                serialize = "V: Serialize + LimitValue",
                deserialize = "V: Deserialize<'de> + Unset"
            )
        )]
        pub struct BrowserLimits<V = u64> {
            $(
                $(#[doc = $doc])+
                #[serde(default = "Unset::unset", skip_serializing_if = "LimitValue::is_unset")]
                pub $name: V,
            )+
        }

        impl<V> BrowserLimits<V> {
            /// Each limit with its name, in the order of [`BrowserLimits::NAMES`].
            pub fn fields(self) -> impl Iterator<Item = (&'static str, V)> {
                [$((stringify!($name), self.$name)),+].into_iter()
            }

            /// Pairs each limit with the same limit of `other`, and applies `f`.
            fn combine<W, X>(self, other: BrowserLimits<W>, mut f: impl FnMut(V, W) -> X) -> BrowserLimits<X> {
                BrowserLimits { $($name: f(self.$name, other.$name),)+ }
            }
        }

        impl BrowserLimits<u64> {
            /// Built-in values: the defaults, and the ceilings no section can raise.
            pub const DEFAULT: BrowserLimits<u64> = BrowserLimits { $($name: $default,)+ };
            /// The lowest value each limit may be set to.
            pub const LOWEST: BrowserLimits<u64> = BrowserLimits { $($name: $lowest,)+ };
        }

        impl BrowserLimits<Option<u64>> {
            /// The keys, as written in a policy.
            pub const NAMES: &'static [&'static str] = &[$(stringify!($name)),+];
            /// Nothing set.
            pub const NONE: BrowserLimits<Option<u64>> = BrowserLimits { $($name: None,)+ };
        }
    };
}

browser_limits! {
    /// Pages (tabs) open at once in the session.
    pages = 8, 1;
    /// Wall time of one action (navigate, click, snapshot…), milliseconds.
    action_ms = 15_000, 1;
    /// Wall time of the whole session from its start, milliseconds.
    session_ms = 600_000, 1;
    /// Bytes of a snapshot's or a page text's text.
    snapshot_bytes = 24_000, 64;
    /// Bytes of a screenshot (PNG).
    screenshot_bytes = 4 << 20, 1;
    /// Bytes the session's pages may move through its proxy (in + out).
    total_bytes = 64 << 20, 1;
}

impl Default for BrowserLimits<u64> {
    fn default() -> Self {
        Self::DEFAULT
    }
}

impl Default for BrowserLimits<Option<u64>> {
    fn default() -> Self {
        Self::NONE
    }
}

impl<V: LimitValue> BrowserLimits<V> {
    /// What both `self` (wanted) and `held` allow: `held`'s values, lowered where `self`
    /// sets a smaller one.
    pub fn meet(self, held: BrowserLimits) -> BrowserLimits {
        self.combine(held, |w, h| w.get().map_or(h, |w| w.min(h)))
    }
}

impl BrowserLimits<Option<u64>> {
    /// The ceilings a section sets: its values, the built-in ones where it sets none (and
    /// never above them).
    pub fn ceilings(self) -> BrowserLimits {
        self.meet(BrowserLimits::DEFAULT)
    }

    /// This side's values where set, else `fallback`'s.
    pub fn or(self, fallback: BrowserLimits<Option<u64>>) -> BrowserLimits<Option<u64>> {
        self.combine(fallback, Option::or)
    }

    /// Whether nothing is set.
    pub fn is_empty(&self) -> bool {
        *self == Self::NONE
    }

    /// The first value out of range, as (name, value, why): below the lowest value a limit may
    /// have, or above its built-in ceiling.
    pub fn out_of_range(&self) -> Option<(&'static str, u64, String)> {
        let bounds = BrowserLimits::LOWEST.combine(BrowserLimits::DEFAULT, |lo, hi| (lo, hi));
        self.combine(bounds, |v, b| (v, b))
            .fields()
            .find_map(|(name, (v, (lo, hi)))| {
                let v = v?;
                if v < lo {
                    Some((name, v, format!("at least {lo}")))
                } else if v > hi {
                    Some((name, v, format!("at most {hi} (the built-in ceiling)")))
                } else {
                    None
                }
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn set(pages: Option<u64>, snapshot: Option<u64>) -> BrowserLimits<Option<u64>> {
        BrowserLimits {
            pages,
            snapshot_bytes: snapshot,
            ..BrowserLimits::NONE
        }
    }

    #[test]
    fn unset_is_the_default_and_set_lowers() {
        assert_eq!(BrowserLimits::NONE.ceilings(), BrowserLimits::DEFAULT);
        let one = set(Some(1), None).ceilings();
        assert_eq!(one.pages, 1);
        assert_eq!(one.snapshot_bytes, BrowserLimits::DEFAULT.snapshot_bytes);
        // A value above the ceiling is the ceiling.
        assert_eq!(set(Some(100), None).ceilings().pages, 8);
    }

    #[test]
    fn out_of_range_names_the_key() {
        assert_eq!(
            set(Some(0), None).out_of_range().map(|o| o.0),
            Some("pages")
        );
        let (name, v, why) = set(None, Some(1 << 30)).out_of_range().unwrap();
        assert_eq!((name, v), ("snapshot_bytes", 1 << 30));
        assert!(why.contains("24000"), "{why}");
        assert_eq!(set(Some(2), Some(1000)).out_of_range(), None);
    }

    #[test]
    fn or_keeps_what_is_set() {
        let a = set(Some(2), None);
        let b = set(Some(5), Some(100));
        assert_eq!(a.or(b), set(Some(2), Some(100)));
    }

    fn decided() -> impl Strategy<Value = BrowserLimits> {
        prop::collection::vec(1..100_000u64, 6).prop_map(|v| BrowserLimits {
            pages: v[0],
            action_ms: v[1],
            session_ms: v[2],
            snapshot_bytes: v[3],
            screenshot_bytes: v[4],
            total_bytes: v[5],
        })
    }

    fn asked() -> impl Strategy<Value = BrowserLimits<Option<u64>>> {
        prop::collection::vec(prop::option::of(1..100_000u64), 6).prop_map(|v| BrowserLimits {
            pages: v[0],
            action_ms: v[1],
            session_ms: v[2],
            snapshot_bytes: v[3],
            screenshot_bytes: v[4],
            total_bytes: v[5],
        })
    }

    fn le(a: BrowserLimits, b: BrowserLimits) -> bool {
        a.combine(b, |x, y| x <= y).fields().all(|(_, ok)| ok)
    }

    proptest! {
        /// The meet never gives more than the held side, nor more than the wanted side sets.
        #[test]
        fn meet_never_widens(w in asked(), h in decided()) {
            let m = w.meet(h);
            prop_assert!(le(m, h));
            for ((_, got), (_, asked)) in m.fields().zip(w.fields()) {
                if let Some(a) = asked {
                    prop_assert!(got <= a);
                }
            }
        }

        /// Meeting along a chain is the same whichever way it is grouped, and meeting again
        /// with the same side changes nothing (a sub-agent of a sub-agent gets no more).
        #[test]
        fn meet_is_associative_and_idempotent(a in decided(), b in decided(), c in decided()) {
            prop_assert_eq!(a.meet(b.meet(c)), a.meet(b).meet(c));
            prop_assert_eq!(a.meet(b), b.meet(a));
            prop_assert_eq!(a.meet(a), a);
        }

        /// Unset keys leave the held value; the ceilings never exceed the built-in ones.
        #[test]
        fn ceilings_are_bounded(w in asked()) {
            let c = w.ceilings();
            prop_assert!(le(c, BrowserLimits::DEFAULT));
            prop_assert_eq!(BrowserLimits::NONE.meet(c), c);
        }
    }
}
