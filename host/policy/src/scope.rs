//! What a sub-agent may use: a [`Scope`] narrows its parent's tools and grants, never widens
//! them. A sub-agent names the tools it needs and, per plugin, the directories (by guest path),
//! network patterns, environment variables and limits it wants; whatever its parent does not
//! hold is a violation ([`NotGranted`]) and the sub-agent is refused.
//!
//! ```toml
//! tools = ["fs.read", "http.*"]
//! [grants.fs]
//! files = [{ guest = "/data", access = "read-only" }]    # parent: /data read-write
//! [grants.http]
//! network = ["https://api.example.com"]                  # parent: https://*.example.com
//! limits = { fuel = 10_000_000 }
//! ```

use crate::caps::{Caps, Dir, EnvGrant, Grant, NotGranted, Sockets, Unmounted};
use crate::limits::{self, Limits};
use crate::manifest::parse_all;
use crate::principals::pattern_matches;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A directory a sub-agent wants, by the guest path its parent's grant mounts.
pub type ChildFile = Dir<Unmounted>;

/// What a sub-agent wants of one plugin. Listed items replace the parent's (so an empty list
/// means none); limits left unset stay the parent's. Raw sockets and DNS are never passed on.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChildGrant {
    /// Directories.
    #[serde(default)]
    pub files: Vec<ChildFile>,
    /// Outbound HTTP patterns (`scheme://host[:port]`).
    #[serde(default)]
    pub network: Vec<String>,
    /// Environment variable names.
    #[serde(default)]
    pub env: Vec<String>,
    /// Per-call limits (each at most the parent's).
    #[serde(default)]
    pub limits: Limits,
}

impl ChildGrant {
    /// The grant a sub-agent gets out of its parent's `parent` ([`Caps::meet`]), and what it
    /// asked for that the parent does not hold. A directory is granted with the access asked
    /// or not at all; a pattern that does not parse is not granted.
    pub fn narrow(&self, parent: &Grant) -> (Grant, Vec<NotGranted>) {
        let mut missing = Vec::new();
        let network = parse_all(&self.network, &mut missing, |p| NotGranted::Network {
            pattern: p,
        });
        let wanted = Caps {
            files: self.files.clone(),
            network,
            env: self.env.iter().cloned().map(EnvGrant::Pass).collect(),
            sockets: Sockets::default(),
            limits: self.limits,
            payloads: (),
            browser: false,
            browser_limits: crate::browser::BrowserLimits::NONE,
            // Never inherited: a sub-agent's browser is a fresh one of its own.
            browser_profile: None,
        };
        let (mut grant, refused) = wanted.meet(parent);
        grant.files.retain(|got| {
            !refused
                .iter()
                .any(|r| matches!(r, NotGranted::File { guest, .. } if *guest == got.guest))
        });
        missing.extend(refused);
        // A sub-agent can only lower a limit: asking more is a violation (and is capped).
        let above = limits::above(self.limits, parent.limits);
        missing.extend(
            above
                .into_iter()
                .map(|(name, wanted, held)| NotGranted::Limit {
                    name: name.to_string(),
                    wanted,
                    held,
                }),
        );
        missing.sort_by_key(NotGranted::kind_order);
        (grant, missing)
    }
}

/// A sub-agent's tools and grants.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scope {
    /// Tool patterns (`*`, `plugin.*`, `plugin.function`); empty: whatever the parent sees.
    #[serde(default)]
    pub tools: Vec<String>,
    /// Per plugin, what it wants of the parent's grant; a plugin not listed keeps the
    /// parent's directories, network patterns, environment variables and limits, but never
    /// its raw sockets, DNS or browser profile.
    #[serde(default)]
    pub grants: BTreeMap<String, ChildGrant>,
}

impl Scope {
    /// Whether the scope lets `tool` (`plugin.function`) be called.
    pub fn sees(&self, tool: &str) -> bool {
        self.tools.is_empty() || self.tools.iter().any(|p| pattern_matches(p, tool))
    }

    /// The grant for `plugin` under this scope, given the parent's. Raw sockets and DNS are
    /// never passed on, whether the plugin is listed or not: a sub-agent's tools reach the
    /// network only through the HTTP gate, which checks every request and scans it for
    /// secrets. Nor is a browser profile: a sub-agent's browser starts fresh and leaves
    /// nothing behind.
    pub fn grant_for(&self, plugin: &str, parent: &Grant) -> Grant {
        match self.grants.get(plugin) {
            Some(g) => g.narrow(parent).0,
            None => Grant {
                sockets: Sockets::default(),
                browser_profile: None,
                ..parent.clone()
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::caps::{Access, FileGrant};

    fn parent() -> Grant {
        let mut g = Grant::none();
        g.files = vec![FileGrant {
            host: "/srv/data".into(),
            guest: "/data".into(),
            access: Access::ReadWrite,
        }];
        g.network = vec!["https://*.example.com".parse().unwrap()];
        g.env = vec![EnvGrant::Pass("LANG".into())];
        g.sockets.dns = true;
        g
    }

    #[test]
    fn a_child_can_narrow_everything() {
        let want = ChildGrant {
            files: vec![ChildFile::unmounted("/data", Access::ReadOnly)],
            network: vec!["https://api.example.com".into()],
            env: vec!["LANG".into()],
            limits: Limits {
                fuel: Some(1000),
                ..Limits::default()
            },
        };
        let (g, missing) = want.narrow(&parent());
        assert!(missing.is_empty(), "{missing:?}");
        assert_eq!(g.files[0].access, Access::ReadOnly);
        assert_eq!(g.files[0].host, std::path::PathBuf::from("/srv/data"));
        assert_eq!(g.network[0].to_string(), "https://api.example.com");
        assert_eq!(g.limits.fuel, 1000);
        assert_eq!(g.limits.memory_mb, parent().limits.memory_mb);
        assert!(!g.sockets.dns, "sockets are never passed on");
    }

    #[test]
    fn a_child_never_gets_more_browser_than_its_parent() {
        let mut p = parent();
        p.browser = true;
        p.browser_limits.pages = 2;
        // A plugin the scope lists: narrowed to what the scope asks, and it asks no browser.
        let listed = Scope {
            grants: [("web".to_string(), ChildGrant::default())].into(),
            ..Scope::default()
        };
        assert!(!listed.grant_for("web", &p).browser);
        // A plugin it does not list: the parent's browser, with the parent's limits.
        let g = Scope::default().grant_for("web", &p);
        assert!(g.browser && !g.sockets.dns);
        assert_eq!(g.browser_limits, p.browser_limits);
        let mut none = p.clone();
        none.browser = false;
        assert!(!Scope::default().grant_for("web", &none).browser);
    }

    #[test]
    fn asking_for_more_is_reported_and_not_granted() {
        let mut p = parent();
        p.files[0].access = Access::ReadOnly;
        let want = ChildGrant {
            files: vec![
                ChildFile::unmounted("/data", Access::ReadWrite),
                ChildFile::unmounted("/etc", Access::ReadOnly),
            ],
            network: vec!["https://evil.test".into(), "not a pattern".into()],
            env: vec!["HOME".into()],
            limits: Limits {
                fuel: Some(u64::MAX),
                ..Limits::default()
            },
        };
        let (g, missing) = want.narrow(&p);
        assert_eq!(missing.len(), 6, "{missing:?}");
        assert!(missing.contains(&NotGranted::Limit {
            name: "fuel".into(),
            wanted: u64::MAX,
            held: p.limits.fuel,
        }));
        assert!(g.files.is_empty() && g.network.is_empty() && g.env.is_empty());
        assert_eq!(
            g.limits.fuel, p.limits.fuel,
            "limits are refused and capped, never raised"
        );
    }

    #[test]
    fn scope_tools_and_unlisted_plugins() {
        let s = Scope {
            tools: vec!["fs.read".into(), "http.*".into()],
            grants: BTreeMap::new(),
        };
        assert!(s.sees("fs.read") && s.sees("http.get") && !s.sees("fs.write"));
        let mut p = parent();
        p.sockets.tcp_connect = vec!["127.0.0.1:5432".parse().unwrap()];
        let g = s.grant_for("fs", &p);
        assert_eq!(
            g.sockets,
            Sockets::default(),
            "sockets and DNS are never passed on"
        );
        let mut rest = p.clone();
        rest.sockets = Sockets::default();
        assert_eq!(g, rest, "everything else is the parent's");
        assert!(Scope::default().sees("anything.at-all"));
    }
}
