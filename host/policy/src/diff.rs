//! The grant diff: what a new version of a component requests beyond the old one — new or
//! widened directories, new network destinations, environment variables, sockets, DNS and
//! higher limits. `spud tools update` shows it before the operator approves the new digest.

use spud_manifest::Requests;

/// Each request of `new` that `old` did not make, one line each, e.g.
/// `network: https://api.example.com`; empty when `new` asks for nothing more.
pub fn requests_beyond(old: &Requests, new: &Requests) -> Vec<String> {
    let mut out = Vec::new();
    for f in &new.files {
        match old.files.iter().find(|o| o.guest == f.guest) {
            None => out.push(format!("files: {} ({})", f.guest, f.access)),
            Some(o) if o.access < f.access => {
                out.push(format!("files: {} ({} -> {})", f.guest, o.access, f.access))
            }
            Some(_) => {}
        }
    }
    let added = |label: &str, new: &[String], old: &[String], out: &mut Vec<String>| {
        for n in new.iter().filter(|n| !old.contains(n)) {
            out.push(format!("{label}: {n}"));
        }
    };
    added("network", &new.network, &old.network, &mut out);
    added("env", &new.env, &old.env, &mut out);
    added(
        "sockets.tcp_connect",
        &new.sockets.tcp_connect,
        &old.sockets.tcp_connect,
        &mut out,
    );
    if new.sockets.dns && !old.sockets.dns {
        out.push("sockets.dns: true".into());
    }
    if new.browser && !old.browser {
        out.push("browser: true".into());
    }
    for ((name, n), (_, o)) in new.limits.fields().zip(old.limits.fields()) {
        match (n, o) {
            (Some(n), Some(o)) if n > o => out.push(format!("limits.{name}: {o} -> {n}")),
            (Some(n), None) => out.push(format!("limits.{name}: {n} (was unset)")),
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use spud_manifest::Access;

    #[test]
    fn names_every_new_or_wider_request() {
        let old = Requests::new()
            .file("/data", Access::ReadOnly, "")
            .network("https://a.example.com");
        let mut new = Requests::new()
            .file("/data", Access::ReadWrite, "")
            .file("/cache", Access::ReadOnly, "")
            .network("https://a.example.com")
            .network("https://b.example.com");
        new.env.push("TOKEN".into());
        new.sockets.dns = true;
        new.sockets.tcp_connect.push("127.0.0.1:5432".into());
        new.limits.fuel = Some(10);
        assert_eq!(
            requests_beyond(&old, &new),
            vec![
                "files: /data (read-only -> read-write)",
                "files: /cache (read-only)",
                "network: https://b.example.com",
                "env: TOKEN",
                "sockets.tcp_connect: 127.0.0.1:5432",
                "sockets.dns: true",
                "limits.fuel: 10 (was unset)",
            ]
        );
    }

    #[test]
    fn asking_for_less_or_the_same_is_no_diff() {
        let mut old = Requests::new()
            .file("/data", Access::ReadWrite, "")
            .network("https://a.example.com");
        old.limits.memory_mb = Some(64);
        let mut new = Requests::new().file("/data", Access::ReadOnly, "");
        new.limits.memory_mb = Some(32);
        assert!(requests_beyond(&old, &new).is_empty());
        assert!(requests_beyond(&old, &old).is_empty());
        new.limits.memory_mb = Some(128);
        assert_eq!(
            requests_beyond(&old, &new),
            vec!["limits.memory_mb: 64 -> 128"]
        );
    }
}
