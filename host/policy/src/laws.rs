//! Property tests of the meet ([`Caps::meet`]), on small random grants and requests.
//!
//! A grant is judged by the actions it allows ([`Action`]): an HTTP request, a TCP connect,
//! a DNS lookup, a file under a host directory (by host path, whatever guest path shows it) or
//! under a guest path (for requests, which name no host directory), an environment variable
//! with its value; and by its limits.
//!
//! What holds:
//! - **never wider**: whatever `a ∧ b` allows, `a` and `b` both allow (for `a`, the wanted
//!   side, a directory by the guest path it shows and a variable by name; its host paths and
//!   values are `b`'s to give); its limits are at most either side's;
//! - **idempotent**: `a ∧ a` allows exactly what `a` allows (variables by name), reports
//!   nothing, has exactly `a`'s directories and limits, and `a`'s variables with their values
//!   unless `a` lists a variable twice (then each copy gets the first one's value);
//! - **commutative** for network and TCP patterns, DNS, environment variable names and limits;
//! - **associative** for the same.
//!
//! What does not, by design (each has a test below):
//! - directories are **not commutative**: a wanted directory narrows only *into* a held one
//!   (host path inside the held one's). `/srv/d/x ∧ /srv/d` is `/srv/d/x`, `/srv/d ∧ /srv/d/x`
//!   is nothing (and reported): a principal or sub-agent may pick a subdirectory of what it
//!   holds, but never names a parent of it. The result also shows the directory at the wanted
//!   side's guest path;
//! - directories are therefore **not associative** either: `a ∧ (b ∧ c)` loses a directory of
//!   `a` when `b`'s contains `c`'s, which `(a ∧ b) ∧ c` keeps;
//! - environment **values** come from the held side (the operator's value or pass-through), so
//!   `a ∧ b` and `b ∧ a` can give one variable different values;
//! - the payload mode is the held side's (it is an audit setting, not a capability).

use crate::caps::{Access, Asked, Caps, Dir, EnvGrant, Grant, Mount, Payloads, Sockets, Unmounted};
use crate::limits::{Limits, ResolvedLimits};
use crate::meet::Meet;
use crate::network::{NetPattern, Scheme, SocketPattern};
use proptest::prelude::*;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

const NETS: [&str; 8] = [
    "http://*.example.com:*",
    "http://a.example.com",
    "https://*.example.com",
    "http://*.a.example.com:8080",
    "http://example.com:*",
    "https://*:*",
    "http://127.0.0.1:*",
    "https://x.org",
];
const SOCKETS: [&str; 7] = [
    "*:*",
    "*:5432",
    "127.0.0.1:5432",
    "127.0.0.1:*",
    "[::ffff:127.0.0.1]:5432",
    "10.0.0.1:80",
    "[::1]:*",
];
const HOSTS: [&str; 4] = ["/srv", "/srv/d", "/srv/d/x", "/other"];
const GUESTS: [&str; 3] = ["/data", "/out", "/x"];
const NAMES: [&str; 3] = ["A", "B", "C"];

/// Something a call might do.
#[derive(Debug, Clone)]
enum Action {
    Http(Scheme, &'static str, u16),
    Tcp(IpAddr, u16),
    Dns,
    /// A file under this host path, with this access.
    HostFile(PathBuf, Access),
    /// A file under this guest path, with this access.
    GuestFile(String, Access),
    /// The variable with this name and value (`None`: passed through).
    Env(String, Option<String>),
}

fn access() -> impl Strategy<Value = Access> {
    prop_oneof![Just(Access::ReadOnly), Just(Access::ReadWrite)]
}

fn dir() -> impl Strategy<Value = Dir> {
    (0..HOSTS.len(), 0..GUESTS.len(), access()).prop_map(|(h, g, access)| Dir {
        host: PathBuf::from(HOSTS[h]),
        guest: GUESTS[g].to_string(),
        access,
    })
}

fn env() -> impl Strategy<Value = EnvGrant> {
    (0..NAMES.len(), prop::option::of(0..2u8)).prop_map(|(n, v)| match v {
        None => EnvGrant::Pass(NAMES[n].into()),
        Some(v) => EnvGrant::Fixed(NAMES[n].into(), v.to_string()),
    })
}

fn sockets() -> impl Strategy<Value = Sockets> {
    (prop::collection::vec(0..SOCKETS.len(), 0..3), any::<bool>()).prop_map(|(t, dns)| Sockets {
        tcp_connect: t.into_iter().map(|i| SOCKETS[i].parse().unwrap()).collect(),
        dns,
    })
}

fn limits() -> impl Strategy<Value = ResolvedLimits> {
    prop::collection::vec(1..5u64, Limits::NAMES.len()).prop_map(|values| {
        let mut values = values.into_iter();
        ResolvedLimits::DEFAULT.map(|_, _| values.next().unwrap_or(1))
    })
}

prop_compose! {
    fn grant()(
        files in prop::collection::vec(dir(), 0..4),
        nets in prop::collection::vec(0..NETS.len(), 0..4),
        env in prop::collection::vec(env(), 0..3),
        sockets in sockets(),
        limits in limits(),
        raw in any::<bool>(),
    ) -> Grant {
        Caps {
            files,
            network: nets.into_iter().map(|i| NETS[i].parse().unwrap()).collect(),
            env,
            sockets,
            limits,
            payloads: if raw { Payloads::Raw } else { Payloads::Digest },
            browser: raw,
            browser_limits: crate::BrowserLimits::DEFAULT,
            browser_profile: raw.then(|| std::path::PathBuf::from("/profiles/p")),
        }
    }
}

prop_compose! {
    fn asked()(
        g in grant(),
        set in prop::collection::vec(any::<bool>(), Limits::NAMES.len()),
    ) -> Asked {
        let mut set = set.into_iter();
        Caps {
            files: g.files.iter().map(|d| Dir::unmounted(d.guest.clone(), d.access)).collect(),
            network: g.network,
            env: g.env.iter().map(|e| EnvGrant::Pass(e.name().into())).collect(),
            sockets: g.sockets,
            limits: g.limits.map(|_, v| set.next().unwrap_or(false).then_some(v)),
            payloads: (),
            browser: g.browser,
            browser_limits: crate::BrowserLimits::NONE,
            browser_profile: g.browser_profile.as_ref().map(|_| crate::Unmounted),
        }
    }
}

fn action() -> impl Strategy<Value = Action> {
    let http = (
        any::<bool>(),
        0..5usize,
        prop_oneof![Just(80u16), Just(443), Just(8080)],
    )
        .prop_map(|(s, h, p)| {
            let hosts = [
                "a.example.com",
                "example.com",
                "b.a.example.com",
                "x.org",
                "127.0.0.1",
            ];
            Action::Http(if s { Scheme::Https } else { Scheme::Http }, hosts[h], p)
        });
    let tcp = (0..3usize, prop_oneof![Just(5432u16), Just(80)])
        .prop_map(|(i, p)| Action::Tcp(["127.0.0.1", "10.0.0.1", "::1"][i].parse().unwrap(), p));
    let host_file = (0..HOSTS.len(), any::<bool>(), access()).prop_map(|(h, deeper, a)| {
        let base = PathBuf::from(HOSTS[h]);
        Action::HostFile(if deeper { base.join("f") } else { base }, a)
    });
    let guest_file =
        (0..GUESTS.len(), access()).prop_map(|(g, a)| Action::GuestFile(GUESTS[g].into(), a));
    let env = (0..NAMES.len(), prop::option::of(0..2u8))
        .prop_map(|(n, v)| Action::Env(NAMES[n].into(), v.map(|v| v.to_string())));
    prop_oneof![http, tcp, Just(Action::Dns), host_file, guest_file, env]
}

/// Whether capabilities `c` allow `action`. A request (`request`) names directories by guest
/// path only, and asks for a variable whatever its value.
fn allows_as<H: Mount, V, P>(c: &Caps<H, V, P>, action: &Action, request: bool) -> bool {
    match action {
        Action::Http(s, h, p) => c.network.iter().any(|n| n.matches(*s, h, *p)),
        Action::Tcp(ip, p) => c.sockets.tcp_connect.iter().any(|t| t.matches(*ip, *p)),
        Action::Dns => c.sockets.dns,
        Action::HostFile(f, a) => c
            .files
            .iter()
            .any(|d| d.host.host_path().is_some_and(|h| f.starts_with(h)) && *a <= d.access),
        Action::GuestFile(g, a) => c
            .files
            .iter()
            .any(|d| Path::new(g).starts_with(&d.guest) && *a <= d.access),
        Action::Env(n, v) => c.env.iter().any(|e| match e {
            EnvGrant::Pass(name) => name == n && (request || v.is_none()),
            EnvGrant::Fixed(name, value) => name == n && v.as_ref() == Some(value),
        }),
    }
}

fn allows(g: &Grant, action: &Action) -> bool {
    allows_as(g, action, false)
}

fn has_var(g: &Grant, name: &str) -> bool {
    g.env.iter().any(|e| e.name() == name)
}

/// Whether `a` and `b` allow `x` alike, but for directories, and variables by name only.
fn same_except_files(a: &Grant, b: &Grant, x: &Action) -> bool {
    match x {
        Action::HostFile(..) | Action::GuestFile(..) => true,
        Action::Env(n, _) => has_var(a, n) == has_var(b, n),
        _ => allows(a, x) == allows(b, x),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn never_wider_than_either_grant(a in grant(), b in grant(), xs in prop::collection::vec(action(), 16)) {
        let (m, _) = a.meet(&b);
        for x in &xs {
            // Guest paths are the wanted side's, values the held side's.
            let wanted = match x {
                Action::Env(n, _) => has_var(&a, n),
                _ => allows(&a, x),
            };
            let held = matches!(x, Action::GuestFile(..)) || allows(&b, x);
            prop_assert!(!allows(&m, x) || (wanted && held), "{x:?}\n{m:?}");
        }
        for (_, (got, (w, h))) in m.limits.zip(a.limits.zip(b.limits)).fields() {
            prop_assert!(got <= w && got <= h);
        }
    }

    #[test]
    fn never_wider_than_the_request_or_the_grant(a in asked(), b in grant(), xs in prop::collection::vec(action(), 16)) {
        let (m, _) = a.meet(&b);
        for x in &xs {
            // A request names guest paths only: host files need only be held.
            let wanted = matches!(x, Action::HostFile(..)) || allows_as(&a, x, true);
            prop_assert!(!allows(&m, x) || (wanted && allows(&b, x)), "{x:?}\n{m:?}");
        }
        for (_, (got, (w, h))) in m.limits.zip(a.limits.zip(b.limits)).fields() {
            prop_assert!(got <= h && w.is_none_or(|w| got <= w));
        }
    }

    #[test]
    fn idempotent(a in grant(), xs in prop::collection::vec(action(), 16)) {
        let (m, missing) = a.meet(&a);
        prop_assert!(missing.is_empty(), "{missing:?}");
        prop_assert_eq!(&m.files, &a.files);
        prop_assert_eq!(m.limits, a.limits);
        for x in &xs {
            prop_assert!(same_except_files(&m, &a, x), "{:?}", x);
        }
        // Values too, unless a side lists a variable twice (each copy then gets the first).
        let mut names: Vec<&str> = a.env.iter().map(EnvGrant::name).collect();
        names.sort_unstable();
        names.dedup();
        if names.len() == a.env.len() {
            prop_assert_eq!(&m.env, &a.env);
        }
    }

    #[test]
    fn commutative_but_for_directories(a in grant(), b in grant(), xs in prop::collection::vec(action(), 16)) {
        let (ab, _) = a.meet(&b);
        let (ba, _) = b.meet(&a);
        prop_assert_eq!(ab.limits, ba.limits);
        for x in &xs {
            prop_assert!(same_except_files(&ab, &ba, x), "{:?}", x);
        }
    }

    #[test]
    fn associative_but_for_directories(a in grant(), b in grant(), c in grant(), xs in prop::collection::vec(action(), 16)) {
        let left = a.meet(&b).0.meet(&c).0;
        let right = a.meet(&b.meet(&c).0).0;
        prop_assert_eq!(left.limits, right.limits);
        for x in &xs {
            prop_assert!(same_except_files(&left, &right, x), "{:?}", x);
        }
    }

    #[test]
    fn net_patterns_meet_commutatively(a in 0..NETS.len(), b in 0..NETS.len()) {
        let (a, b): (NetPattern, NetPattern) = (NETS[a].parse().unwrap(), NETS[b].parse().unwrap());
        prop_assert_eq!(a.meet(&b), b.meet(&a));
    }

    #[test]
    fn socket_patterns_meet_commutatively_in_what_they_allow(a in 0..SOCKETS.len(), b in 0..SOCKETS.len(), port in prop_oneof![Just(5432u16), Just(80)]) {
        let (a, b): (SocketPattern, SocketPattern) = (SOCKETS[a].parse().unwrap(), SOCKETS[b].parse().unwrap());
        let ip: IpAddr = "127.0.0.1".parse().unwrap();
        let allowed = |p: Option<SocketPattern>| p.is_some_and(|p| p.matches(ip, port));
        prop_assert_eq!(allowed(a.meet(&b)), allowed(b.meet(&a)));
    }
}

fn one_dir(host: &str, guest: &str, access: Access) -> Grant {
    let mut g = Grant::none();
    g.files = vec![Dir {
        host: host.into(),
        guest: guest.into(),
        access,
    }];
    g
}

#[test]
fn directories_narrow_only_into_held_ones() {
    let sub = one_dir("/srv/d/x", "/x", Access::ReadWrite);
    let parent = one_dir("/srv/d", "/data", Access::ReadOnly);
    let (inside, missing) = sub.meet(&parent);
    assert_eq!(
        inside.files,
        one_dir("/srv/d/x", "/x", Access::ReadOnly).files
    );
    assert_eq!(missing.len(), 1, "read-write was asked, read-only is held");
    let (around, missing) = parent.meet(&sub);
    assert!(
        around.files.is_empty(),
        "not commutative: a parent of a held directory"
    );
    assert_eq!(missing.len(), 1);
    // Hence not associative: sub ∧ (parent ∧ sub) = sub ∧ ∅, (sub ∧ parent) ∧ sub = sub.
    assert!(sub.meet(&parent.meet(&sub).0).0.files.is_empty());
    assert_eq!(sub.meet(&parent).0.meet(&sub).0.files.len(), 1);
}

#[test]
fn of_several_containing_directories_the_most_access_is_used() {
    let mut held = one_dir("/srv", "/a", Access::ReadOnly);
    held.files
        .extend(one_dir("/srv/d", "/b", Access::ReadWrite).files);
    let wanted = one_dir("/srv/d", "/b", Access::ReadWrite);
    let (got, missing) = wanted.meet(&held);
    assert!(missing.is_empty());
    assert_eq!(got.files[0].access, Access::ReadWrite);
    // By guest path too (a request names no host directory).
    let ask = Asked {
        files: vec![Dir::<Unmounted>::unmounted("/b", Access::ReadWrite)],
        ..Asked::default()
    };
    assert_eq!(ask.meet(&held).0.files[0].host, PathBuf::from("/srv/d"));
}

#[test]
fn environment_values_come_from_the_held_side() {
    let mut a = Grant::none();
    a.env = vec![EnvGrant::Fixed("A".into(), "1".into())];
    let mut b = Grant::none();
    b.env = vec![EnvGrant::Pass("A".into())];
    assert_eq!(a.meet(&b).0.env, b.env);
    assert_eq!(b.meet(&a).0.env, a.env);
}
