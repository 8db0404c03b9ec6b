//! The one operation of the capability algebra: [`Caps::meet`], "the most that both allow".
//! Effective grants (requests ∧ policy), principal narrowing (grant ∧ grant) and sub-agent
//! scopes (scope ∧ parent's grant) are all this meet.
//!
//! Item by item ([`Meet`]):
//! - a network or TCP pattern meets each held pattern ([`NetPattern::intersect`],
//!   [`SocketPattern::intersect`]); the results of all of them are kept;
//! - a directory meets the held directory that contains it: by host path when both sides name
//!   one (the wanted directory must lie inside the held one), else by guest path; access is the
//!   smaller of the two. Of several held directories that contain it, the one giving the most
//!   access is used (the first, on a tie);
//! - an environment variable meets the held variable of the same name, whose value it gets;
//! - limits (and the browser's limits) take the smaller value; DNS and the browser are allowed
//!   when both allow them;
//! - the browser's profile directory is the held side's when both allow the browser and the
//!   wanted side takes it: by guest side ([`Unmounted`](crate::Unmounted)), any the held side
//!   grants; by host path, only that same directory. A side that names none gets none.
//!
//! The result takes the wanted side's guest paths and the held side's host paths, values and
//! payload mode. Whatever capability the wanted side asks that the held side lacks (nothing in
//! common, a directory with less access, DNS) is reported as [`NotGranted`]. Limits are
//! ceilings, not capabilities: a limit above the held one silently becomes the held one (a
//! sub-agent's scope, which may only lower limits, reports those itself).

use crate::caps::{Caps, Dir, EnvGrant, Grant, Mount, NotGranted, Sockets};
use crate::limits::{self, LimitValue};
use crate::network::{NetPattern, SocketPattern};
use std::path::PathBuf;

/// "The most that both allow" for one kind of capability item.
pub trait Meet<Held = Self> {
    /// What the meet gives.
    type Output;

    /// What `self` (the wanted item) and `held` both allow; `None` when nothing.
    fn meet(&self, held: &Held) -> Option<Self::Output>;
}

impl Meet for NetPattern {
    type Output = NetPattern;

    fn meet(&self, held: &NetPattern) -> Option<NetPattern> {
        held.intersect(self)
    }
}

impl Meet for SocketPattern {
    type Output = SocketPattern;

    fn meet(&self, held: &SocketPattern) -> Option<SocketPattern> {
        held.intersect(self)
    }
}

impl Meet for EnvGrant {
    type Output = EnvGrant;

    fn meet(&self, held: &EnvGrant) -> Option<EnvGrant> {
        (self.name() == held.name()).then(|| held.clone())
    }
}

impl<H: Mount> Meet<Dir> for Dir<H> {
    type Output = Dir;

    fn meet(&self, held: &Dir) -> Option<Dir> {
        let inside = match self.host.host_path() {
            Some(host) => host.starts_with(&held.host),
            None => self.guest == held.guest,
        };
        inside.then(|| Dir {
            host: self
                .host
                .host_path()
                .map_or_else(|| held.host.clone(), PathBuf::from),
            guest: self.guest.clone(),
            access: self.access.min(held.access),
        })
    }
}

impl<H: Mount, V: LimitValue, P> Caps<H, V, P> {
    /// The most that both `self` (wanted) and `held` allow, and the capabilities `self` asks
    /// for that `held` does not hold (listed by kind: files, network, environment, TCP, DNS).
    pub fn meet(&self, held: &Grant) -> (Grant, Vec<NotGranted>) {
        let mut missing = Vec::new();
        let files = meet_best(
            &self.files,
            &held.files,
            |d| d.access,
            |w, got| got.access < w.access,
            |w| NotGranted::File {
                guest: w.guest.clone(),
                access: w.access,
            },
            &mut missing,
        );
        let network = meet_every(&self.network, &held.network, &mut missing, |p| {
            NotGranted::Network {
                pattern: p.to_string(),
            }
        });
        let env = meet_best(
            &self.env,
            &held.env,
            |_| (),
            |_, _| false,
            |w| NotGranted::Env {
                name: w.name().to_string(),
            },
            &mut missing,
        );
        let tcp_connect = meet_every(
            &self.sockets.tcp_connect,
            &held.sockets.tcp_connect,
            &mut missing,
            |p| NotGranted::TcpConnect {
                pattern: p.to_string(),
            },
        );
        if self.sockets.dns && !held.sockets.dns {
            missing.push(NotGranted::Dns);
        }
        if self.browser && !held.browser {
            missing.push(NotGranted::Browser);
        }
        let limits = limits::meet(self.limits, held.limits);
        let grant = Caps {
            files,
            network,
            env,
            sockets: Sockets {
                tcp_connect,
                dns: self.sockets.dns && held.sockets.dns,
            },
            limits,
            payloads: held.payloads,
            browser: self.browser && held.browser,
            browser_limits: self.browser_limits.meet(held.browser_limits),
            browser_profile: self.profile_meet(held),
        };
        (grant, missing)
    }
}

impl<H: Mount, V, P> Caps<H, V, P> {
    /// The browser profile `self` (wanted) gets from `held`.
    fn profile_meet(&self, held: &Grant) -> Option<PathBuf> {
        if !(self.browser && held.browser) {
            return None;
        }
        let wanted = self.browser_profile.as_ref()?;
        let have = held.browser_profile.as_ref()?;
        match wanted.host_path() {
            Some(p) if p != have.as_path() => None,
            _ => Some(have.clone()),
        }
    }
}

/// Each wanted item met with every held item, the results without duplicates; a wanted item
/// that meets none is reported.
fn meet_every<W: Meet<Hd>, Hd>(
    wanted: &[W],
    held: &[Hd],
    report: &mut Vec<NotGranted>,
    missing: impl Fn(&W) -> NotGranted,
) -> Vec<W::Output>
where
    W::Output: PartialEq,
{
    let mut out: Vec<W::Output> = Vec::new();
    for w in wanted {
        let mut any = false;
        for got in held.iter().filter_map(|h| w.meet(h)) {
            any = true;
            if !out.contains(&got) {
                out.push(got);
            }
        }
        if !any {
            report.push(missing(w));
        }
    }
    out
}

/// Each wanted item met with the held item giving the most (by `rank`; the first on a tie).
/// A wanted item that meets none, or gets less than it asked (`short`), is reported.
fn meet_best<W: Meet<Hd>, Hd, K: Ord>(
    wanted: &[W],
    held: &[Hd],
    rank: impl Fn(&W::Output) -> K,
    short: impl Fn(&W, &W::Output) -> bool,
    missing: impl Fn(&W) -> NotGranted,
    report: &mut Vec<NotGranted>,
) -> Vec<W::Output> {
    let mut out = Vec::new();
    for w in wanted {
        let best = held.iter().filter_map(|h| w.meet(h)).reduce(|best, next| {
            if rank(&next) > rank(&best) {
                next
            } else {
                best
            }
        });
        match best {
            Some(got) => {
                if short(w, &got) {
                    report.push(missing(w));
                }
                out.push(got);
            }
            None => report.push(missing(w)),
        }
    }
    out
}
