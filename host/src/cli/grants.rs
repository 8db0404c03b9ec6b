//! `spud grants`: what an auditor signs off on.

use super::output::print_json;
use spud::service::Spud;

#[derive(clap::Args)]
pub struct GrantsArgs {
    /// JSON output.
    #[arg(long)]
    json: bool,
}

pub fn run(spud: &Spud, args: GrantsArgs) -> i32 {
    let reg = spud.registry();
    let lock = spud.lock_file();
    if args.json {
        let rows = json_rows(spud, &reg, &lock);
        print_json(&serde_json::json!({ "policy": spud.policy().source, "plugins": rows }));
        return 0;
    }
    println!("policy: {}", spud.policy().source_name());
    for e in reg.plugins.values() {
        print_plugin(spud, &lock, e);
    }
    if reg.plugins.is_empty() {
        println!("no plugins registered");
    }
    0
}

/// One JSON object per plugin: digest, provenance, approval, requested, granted, effective.
fn json_rows(
    spud: &Spud,
    reg: &spud::runtime::Registry,
    lock: &spud_trust::LockFile,
) -> Vec<serde_json::Value> {
    reg.plugins
        .values()
        .map(|e| {
            let eff = spud.effective(e);
            let rec = lock.plugins.get(&e.name);
            serde_json::json!({
                "plugin": e.name,
                "sha256": e.digest,
                "digest": format!("sha256:{}", e.digest),
                "source": e.source,
                "manifest_digest": rec.and_then(|r| r.manifest_digest.clone()),
                "signer": rec.and_then(|r| r.signer.clone()),
                "approval": rec.and_then(|r| r.approval.clone()),
                "approved": spud.check_approved(e).is_ok(),
                "not_approved": spud.check_approved(e).err().map(|x| x.to_string()),
                "tools": e.tools.iter().map(|t| t.name.clone()).collect::<Vec<_>>(),
                "requested": e.manifest.requests,
                "granted": spud.policy().tools.get(&e.name),
                "effective": eff.grant,
                "not_granted": eff.not_granted,
                "credentials": credentials_of(spud, &e.name)
                    .map(|(name, c)| serde_json::json!({
                        "name": name,
                        "inject": c.inject.to_string(),
                        "destinations": c.destinations.iter().map(ToString::to_string).collect::<Vec<_>>(),
                        "value_from": value_from(&c.source),
                    }))
                    .collect::<Vec<_>>(),
            })
        })
        .collect()
}

/// The text view of one plugin's effective grant.
fn print_plugin(spud: &Spud, lock: &spud_trust::LockFile, e: &spud::runtime::Entry) {
    let eff = spud.effective(e);
    let g = &eff.grant;
    println!("\n{}  sha256:{}", e.name, e.digest);
    trust_lines(spud, lock, e);
    let files: Vec<String> = g
        .files
        .iter()
        .map(|f| format!("{} -> {} ({})", f.host.display(), f.guest, f.access))
        .collect();
    let net: Vec<String> = g.network.iter().map(|n| n.to_string()).collect();
    let env: Vec<&str> = g.env.iter().map(|v| v.name()).collect();
    let tcp: Vec<String> = g
        .sockets
        .tcp_connect
        .iter()
        .map(|n| n.to_string())
        .collect();
    let none = |v: Vec<String>| {
        if v.is_empty() {
            "none".to_string()
        } else {
            v.join(", ")
        }
    };
    println!("  files:    {}", none(files));
    println!("  network:  {}", none(net));
    println!(
        "  env:      {}",
        none(env.iter().map(|s| s.to_string()).collect())
    );
    println!(
        "  sockets:  tcp {}; dns {}",
        none(tcp),
        if g.sockets.dns { "yes" } else { "no" }
    );
    if g.browser {
        let b = g.browser_limits;
        println!("  browser:  yes (its pages reach only the network above)");
        println!(
            "  browser limits: {} pages, action {} ms, session {} ms, snapshot {} B, screenshot {} B, total {} B",
            b.pages, b.action_ms, b.session_ms, b.snapshot_bytes, b.screenshot_bytes, b.total_bytes
        );
        match &g.browser_profile {
            Some(d) => println!(
                "  browser profile: {} (kept between sessions, one session at a time)",
                d.display()
            ),
            None => println!("  browser profile: fresh each session, removed when it closes"),
        }
    }
    let l = g.limits;
    println!(
        "  limits:   memory {} MiB, fuel {}, timeout {} ms, stdout {} B, stderr {} B, result {} B",
        l.memory_mb, l.fuel, l.timeout_ms, l.stdout_bytes, l.stderr_bytes, l.result_bytes
    );
    println!(
        "  audit:    payloads {}",
        match g.payloads {
            spud_policy::Payloads::Digest => "digest (sha256 + size)",
            spud_policy::Payloads::Raw => "raw",
        }
    );
    for n in &eff.not_granted {
        println!("  requested, not granted: {n}");
    }
    for (name, c) in credentials_of(spud, &e.name) {
        let to: Vec<String> = c.destinations.iter().map(ToString::to_string).collect();
        println!(
            "  credential: {name} ({}), injected by the host into requests to {}; value from {}",
            c.inject,
            to.join(", "),
            value_from(&c.source)
        );
    }
}

/// The `[credentials.NAME]` sections that name `plugin` in their `tools`.
fn credentials_of<'a>(
    spud: &'a Spud,
    plugin: &'a str,
) -> impl Iterator<Item = (&'a String, &'a spud_policy::Credential)> + 'a {
    spud.policy()
        .credentials
        .iter()
        .filter(move |(_, c)| c.tools.iter().any(|t| t == plugin))
}

/// Where a credential's value comes from (never the value).
fn value_from(source: &spud_policy::CredentialSource) -> String {
    match source {
        spud_policy::CredentialSource::Env(v) => format!("env {v}"),
        spud_policy::CredentialSource::File(f) => format!("file {f}"),
    }
}

/// Source, signer and approval of one plugin, for the text view.
fn trust_lines(spud: &Spud, lock: &spud_trust::LockFile, e: &spud::runtime::Entry) {
    let rec = lock.plugins.get(&e.name);
    println!("  source:   {}", e.source);
    if let Some(m) = rec.and_then(|r| r.manifest_digest.as_deref()) {
        println!("  oci manifest: {m}");
    }
    println!(
        "  signer:   {}",
        rec.and_then(|r| r.signer.as_deref()).unwrap_or("none")
    );
    match (
        spud.check_approved(e),
        rec.and_then(|r| r.approval.as_ref()),
    ) {
        (Err(x), _) => println!("  approval: NOT APPROVED — {x}"),
        (Ok(()), Some(a)) => println!(
            "  approval: {} by {} (unix ms {})",
            a.digest, a.by, a.unix_ms
        ),
        (Ok(()), None) => println!(
            "  approval: (no lock record; registered before spud.lock, or pinned by the policy)"
        ),
    }
}
