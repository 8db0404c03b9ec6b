//! The effective grant of a call: what the component requested ∩ what the operator granted.
//! Nothing is granted by default, and nothing a component did not ask for is granted either.

use crate::manifest::{Access, Requests};
use crate::network::{NetPattern, SocketPattern};
use crate::policy::{EnvGrant, Payloads, Policy};
use crate::ResolvedLimits;
use serde::Serialize;
use std::path::PathBuf;

/// A directory the guest sees.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileGrant {
    /// Host directory.
    pub host: PathBuf,
    /// Guest path.
    pub guest: String,
    /// Access.
    pub access: Access,
}

/// Raw sockets and DNS.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SocketGrant {
    /// Allowed TCP destinations.
    pub tcp_connect: Vec<SocketPattern>,
    /// DNS lookups allowed.
    pub dns: bool,
}

/// Everything one call may use. Built only by [`effective`] or [`Grant::narrow`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Grant {
    /// Directories.
    pub files: Vec<FileGrant>,
    /// Outbound HTTP(S).
    pub network: Vec<NetPattern>,
    /// Environment variables.
    pub env: Vec<EnvGrant>,
    /// Raw sockets and DNS.
    pub sockets: SocketGrant,
    /// Limits.
    pub limits: ResolvedLimits,
    /// Whether audit records keep raw arguments and results.
    pub payloads: Payloads,
}

impl Grant {
    /// Nothing but built-in limits.
    pub fn none() -> Grant {
        Grant {
            files: vec![],
            network: vec![],
            env: vec![],
            sockets: SocketGrant::default(),
            limits: ResolvedLimits::DEFAULT,
            payloads: Payloads::Digest,
        }
    }

    /// The first network pattern allowing `scheme://host:port`, if any.
    pub fn network_match(
        &self,
        scheme: crate::Scheme,
        host: &str,
        port: u16,
    ) -> Option<&NetPattern> {
        self.network.iter().find(|p| p.matches(scheme, host, port))
    }

    /// What a child asking for `wanted` may have: each item narrowed to what this grant holds.
    /// Items this grant cannot cover are returned as violations.
    pub fn narrow(&self, wanted: &Grant) -> (Grant, Vec<NotGranted>) {
        let mut missing = Vec::new();
        let mut files = Vec::new();
        for w in &wanted.files {
            let parent = self.files.iter().find(|p| w.host.starts_with(&p.host));
            match parent {
                Some(p) => files.push(FileGrant {
                    host: w.host.clone(),
                    guest: w.guest.clone(),
                    access: w.access.min(p.access),
                }),
                None => missing.push(NotGranted::File {
                    guest: w.guest.clone(),
                    access: w.access,
                }),
            }
            if let Some(p) = parent {
                if w.access > p.access {
                    missing.push(NotGranted::File {
                        guest: w.guest.clone(),
                        access: w.access,
                    });
                }
            }
        }
        let network = meet_all(
            &wanted.network,
            &self.network,
            NetPattern::intersect,
            &mut missing,
            |p| NotGranted::Network {
                pattern: p.to_string(),
            },
        );
        let mut env = Vec::new();
        for w in &wanted.env {
            match self.env.iter().find(|p| p.name() == w.name()) {
                Some(p) => env.push(p.clone()),
                None => missing.push(NotGranted::Env {
                    name: w.name().to_string(),
                }),
            }
        }
        let tcp = meet_all(
            &wanted.sockets.tcp_connect,
            &self.sockets.tcp_connect,
            SocketPattern::intersect,
            &mut missing,
            |p| NotGranted::TcpConnect {
                pattern: p.to_string(),
            },
        );
        if wanted.sockets.dns && !self.sockets.dns {
            missing.push(NotGranted::Dns);
        }
        let grant = Grant {
            files,
            network,
            env,
            sockets: SocketGrant {
                tcp_connect: tcp,
                dns: wanted.sockets.dns && self.sockets.dns,
            },
            limits: self.limits.min(&wanted.limits),
            payloads: wanted.payloads,
        };
        (grant, missing)
    }
}

/// Each wanted pattern narrowed by every held pattern (`meet`), without duplicates; a wanted
/// pattern that nothing held covers is reported through `missing`.
fn meet_all<P: Clone + PartialEq>(
    wanted: &[P],
    held: &[P],
    meet: impl Fn(&P, &P) -> Option<P>,
    report: &mut Vec<NotGranted>,
    missing: impl Fn(&P) -> NotGranted,
) -> Vec<P> {
    let mut out: Vec<P> = Vec::new();
    for w in wanted {
        let narrowed: Vec<P> = held.iter().filter_map(|h| meet(h, w)).collect();
        if narrowed.is_empty() {
            report.push(missing(w));
        }
        for n in narrowed {
            if !out.contains(&n) {
                out.push(n);
            }
        }
    }
    out
}

/// A requested capability the operator did not grant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum NotGranted {
    /// A directory (or the requested access to it).
    File {
        /// Guest path.
        guest: String,
        /// Access requested.
        access: Access,
    },
    /// An HTTP destination.
    Network {
        /// Pattern requested.
        pattern: String,
    },
    /// An environment variable.
    Env {
        /// Its name.
        name: String,
    },
    /// A TCP destination.
    TcpConnect {
        /// Pattern requested.
        pattern: String,
    },
    /// DNS lookups.
    Dns,
    /// A per-call limit above the one held (a sub-agent asking more than its parent).
    Limit {
        /// The limit (`fuel`, `memory_mb`, …).
        name: String,
        /// The value asked for.
        wanted: u64,
        /// The value held.
        held: u64,
    },
}

impl std::fmt::Display for NotGranted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NotGranted::File { guest, access } => write!(f, "{access} access to {guest}"),
            NotGranted::Network { pattern } => write!(f, "network {pattern}"),
            NotGranted::Env { name } => write!(f, "environment variable {name}"),
            NotGranted::TcpConnect { pattern } => write!(f, "TCP connect to {pattern}"),
            NotGranted::Dns => f.write_str("DNS lookups"),
            NotGranted::Limit { name, wanted, held } => {
                write!(f, "limit {name} = {wanted} (at most {held} is held)")
            }
        }
    }
}

/// The result of intersecting a manifest with a policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Effective {
    /// What calls may use.
    pub grant: Grant,
    /// What was requested and not granted (for `spud grants`).
    pub not_granted: Vec<NotGranted>,
}

/// requested ∩ granted for plugin `plugin` under `policy`.
pub fn effective(plugin: &str, requests: &Requests, policy: &Policy) -> Effective {
    let granted = policy.tool(plugin);
    let mut not_granted = Vec::new();

    let mut files = Vec::new();
    for r in &requests.files {
        let guest = r.guest.trim_end_matches('/');
        match granted.files.iter().find(|g| g.guest == guest) {
            Some(g) => {
                if g.access < r.access {
                    not_granted.push(NotGranted::File {
                        guest: guest.to_string(),
                        access: r.access,
                    });
                }
                files.push(FileGrant {
                    host: g.host.clone(),
                    guest: guest.to_string(),
                    access: g.access.min(r.access),
                });
            }
            None => not_granted.push(NotGranted::File {
                guest: guest.to_string(),
                access: r.access,
            }),
        }
    }

    let network = meet_all(
        &requests.network,
        &granted.network,
        NetPattern::intersect,
        &mut not_granted,
        |p| NotGranted::Network {
            pattern: p.to_string(),
        },
    );

    let mut env = Vec::new();
    for name in &requests.env {
        match granted.env.iter().find(|g| g.name() == name) {
            Some(g) => env.push(g.clone()),
            None => not_granted.push(NotGranted::Env { name: name.clone() }),
        }
    }

    let tcp = meet_all(
        &requests.sockets.tcp_connect,
        &granted.sockets.tcp_connect,
        SocketPattern::intersect,
        &mut not_granted,
        |p| NotGranted::TcpConnect {
            pattern: p.to_string(),
        },
    );
    if requests.sockets.dns && !granted.sockets.dns {
        not_granted.push(NotGranted::Dns);
    }

    let grant = Grant {
        files,
        network,
        env,
        sockets: SocketGrant {
            tcp_connect: tcp,
            dns: requests.sockets.dns && granted.sockets.dns,
        },
        limits: ResolvedLimits::resolve(&requests.limits, &granted.limits, &policy.defaults),
        payloads: granted.payloads.unwrap_or(policy.audit.payloads),
    };
    Effective { grant, not_granted }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{FileRequest, Manifest};
    use std::path::Path;

    fn policy(src: &str) -> Policy {
        Policy::parse(src, "p.toml", Path::new("/srv"), false).unwrap()
    }

    fn requests(src: &str) -> Requests {
        Manifest::from_toml(src, "m.toml").unwrap().requests
    }

    #[test]
    fn nothing_by_default() {
        let r = requests("[requests]\nfiles=[{guest=\"/data\",access=\"read-write\"}]\nnetwork=[\"https://a.com\"]\nenv=[\"X\"]\nsockets={dns=true}");
        let e = effective("t", &r, &Policy::deny_all());
        assert!(e.grant.files.is_empty() && e.grant.network.is_empty() && e.grant.env.is_empty());
        assert!(!e.grant.sockets.dns);
        assert_eq!(e.not_granted.len(), 4);
    }

    #[test]
    fn intersection_narrows_both_ways() {
        let r = requests("[requests]\nfiles=[{guest=\"/data\",access=\"read-write\"}]\nnetwork=[\"https://*.example.com\"]\nenv=[\"A\",\"B\"]");
        let p = policy("[tools.t]\nfiles=[{host=\"d\",guest=\"/data\",access=\"read-only\"},{host=\"e\",guest=\"/other\",access=\"read-write\"}]\nnetwork=[\"https://api.example.com\",\"https://x.org\"]\nenv=[\"A\",\"C\"]");
        let e = effective("t", &r, &p);
        assert_eq!(
            e.grant.files,
            vec![FileGrant {
                host: "/srv/d".into(),
                guest: "/data".into(),
                access: Access::ReadOnly
            }]
        );
        assert_eq!(
            e.grant
                .network
                .iter()
                .map(|n| n.to_string())
                .collect::<Vec<_>>(),
            ["https://api.example.com"]
        );
        assert_eq!(e.grant.env, vec![EnvGrant::Pass("A".into())]);
        assert!(e
            .not_granted
            .contains(&NotGranted::Env { name: "B".into() }));
        assert!(e.not_granted.contains(&NotGranted::File {
            guest: "/data".into(),
            access: Access::ReadWrite
        }));
    }

    #[test]
    fn child_never_exceeds_parent() {
        let p = policy("[tools.t]\nfiles=[{host=\"d\",guest=\"/data\",access=\"read-only\"}]\nnetwork=[\"https://*.example.com\"]");
        let r = Requests {
            files: vec![FileRequest {
                guest: "/data".into(),
                access: Access::ReadWrite,
                why: None,
            }],
            network: vec!["https://*.example.com".parse().unwrap()],
            ..Default::default()
        };
        let parent = effective("t", &r, &p).grant;
        let mut wanted = parent.clone();
        wanted.files[0].access = Access::ReadWrite;
        wanted.network = vec![
            "https://*.evil.com".parse().unwrap(),
            "https://a.example.com".parse().unwrap(),
        ];
        wanted.limits.fuel = u64::MAX;
        let (child, missing) = parent.narrow(&wanted);
        assert_eq!(child.files[0].access, Access::ReadOnly);
        assert_eq!(child.network.len(), 1);
        assert_eq!(child.limits.fuel, parent.limits.fuel);
        assert_eq!(missing.len(), 2);
    }
}
