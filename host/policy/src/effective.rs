//! What a call may use. [`effective`]: a component's requests ∧ its `[tools.NAME]` section,
//! nothing by default, and nothing a component did not ask for either. [`Principal::grant_for`]:
//! that grant ∧ what a principal's `grants.NAME` section allows. Both are [`Caps::meet`].

use crate::caps::{Grant, NotGranted};
use crate::manifest::asked;
use crate::policy::Policy;
use crate::principals::Principal;
use serde::Serialize;
use spud_manifest::Requests;

#[cfg(doc)]
use crate::caps::Caps;

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
    let (wanted, mut not_granted) = asked(requests);
    let ceiling = policy
        .tool(plugin)
        .ceiling(policy.defaults, policy.audit.payloads);
    let (grant, missing) = wanted.meet(&ceiling);
    not_granted.extend(missing);
    not_granted.sort_by_key(NotGranted::kind_order);
    Effective { grant, not_granted }
}

impl Principal {
    /// What a call to `plugin` may use on this principal's behalf: the plugin's effective grant
    /// `tool_grant`, narrowed by this principal's `[principals.NAME.grants.PLUGIN]` section if
    /// there is one (limits and payload mode it leaves unset stay the plugin's section's).
    /// Never more than `tool_grant`; the payload mode is the principal's section's.
    pub fn grant_for(
        &self,
        plugin: &str,
        requests: &Requests,
        tool_grant: &Grant,
        policy: &Policy,
    ) -> Grant {
        let Some(narrowing) = self.grants.get(plugin) else {
            return tool_grant.clone();
        };
        let section = narrowing.over(&policy.tool(plugin));
        let ceiling = section.ceiling(policy.defaults, policy.audit.payloads);
        let (wanted, _) = asked(requests).0.meet(&ceiling);
        let (mut grant, _) = wanted.meet(tool_grant);
        grant.payloads = wanted.payloads;
        grant
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::caps::{Access, EnvGrant, FileGrant};
    use crate::manifest::Manifest;
    use spud_manifest::FileRequest;
    use std::path::Path;

    fn policy(src: &str) -> Policy {
        Policy::parse(src, "p.toml", Path::new("/srv"), false).unwrap()
    }

    fn requests(src: &str) -> Requests {
        Manifest::from_toml(src, "m.toml")
            .unwrap()
            .into_inner()
            .requests
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
        let (child, missing) = wanted.meet(&parent);
        assert_eq!(child.files[0].access, Access::ReadOnly);
        assert_eq!(child.network.len(), 1);
        assert_eq!(child.limits.fuel, parent.limits.fuel);
        assert_eq!(missing.len(), 2);
    }

    fn parse(src: &str) -> Result<Policy, crate::section::PolicyError> {
        Policy::parse(src, "policy.toml", Path::new("/tmp"), false)
    }

    // Moved from `principals.rs`.
    #[test]
    fn a_principal_never_gets_more_than_the_tool() {
        let p = parse(
            r#"
[tools.fs]
files = [{ host = "data", guest = "/data", access = "read-write" }]
network = ["https://*.example.com"]
limits = { fuel = 1000, timeout_ms = 500 }
[principals.narrow]
token_env = "T"
tools = ["fs.*"]
[principals.narrow.grants.fs]
files = [{ host = "data", guest = "/data", access = "read-only" }]
network = ["https://api.example.com", "https://evil.test"]
limits = { fuel = 5000, memory_mb = 8 }
[principals.full]
token_env = "U"
tools = ["fs.*"]
"#,
        )
        .unwrap();
        let requests = Requests {
            files: vec![FileRequest {
                guest: "/data".into(),
                access: Access::ReadWrite,
                why: None,
            }],
            network: vec![
                "https://*.example.com".parse().unwrap(),
                "https://evil.test".parse().unwrap(),
            ],
            ..Requests::default()
        };
        let tool = effective("fs", &requests, &p).grant;
        assert_eq!(tool.files[0].access, Access::ReadWrite);
        let g = p.principals["narrow"].grant_for("fs", &requests, &tool, &p);
        assert_eq!(g.files.len(), 1);
        assert_eq!(g.files[0].access, Access::ReadOnly);
        let nets: Vec<String> = g.network.iter().map(ToString::to_string).collect();
        assert_eq!(
            nets,
            ["https://api.example.com"],
            "evil.test is not in the tool's grant"
        );
        assert_eq!(
            g.limits.fuel, 1000,
            "the principal asked for more fuel than the tool has"
        );
        assert_eq!(g.limits.timeout_ms, 500, "unset limits stay the tool's");
        assert_eq!(g.limits.memory_mb, 8);
        assert_eq!(
            p.principals["full"].grant_for("fs", &requests, &tool, &p),
            tool
        );
    }
}
