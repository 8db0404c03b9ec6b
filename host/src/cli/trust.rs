//! `spud tools push|sign|update|approve` and `spud keys generate`: publishing, signing,
//! updating and approving components (see the book's "Publishing and pulling").

use super::output::{fail, print_json, EXIT_USAGE};
use clap::Subcommand;
use spud::service::{Installed, Spud};
use std::path::PathBuf;

#[derive(Subcommand)]
pub enum TrustCommand {
    /// Publish a component to an OCI registry: `spud tools push fs.wasm oci://HOST:PORT/acme/fs:1.0`.
    Push {
        /// The component file.
        file: PathBuf,
        /// `oci://HOST[:PORT]/REPO:TAG`.
        target: String,
        /// Sidecar manifest (default: FILE's stem + `.spud.toml`, when the component has no embedded one).
        #[arg(long)]
        manifest: Option<PathBuf>,
        /// Registry credentials file.
        #[arg(long, value_name = "FILE")]
        registry_auth: Option<PathBuf>,
    },
    /// Sign the artifact a reference names and store the signature beside it in the registry.
    Sign {
        /// `oci://HOST[:PORT]/REPO:TAG` or `…@sha256:DIGEST`.
        reference: String,
        /// The private key (`NAME.key`, from `spud keys generate NAME`).
        #[arg(long)]
        key: PathBuf,
        /// Registry credentials file.
        #[arg(long, value_name = "FILE")]
        registry_auth: Option<PathBuf>,
    },
    /// Pull the recorded source of a plugin again; show what it requests beyond the old one.
    Update {
        /// Plugin name.
        plugin: String,
        /// Approve the new digest at once (for CI).
        #[arg(long)]
        yes: bool,
        /// Registry credentials file.
        #[arg(long, value_name = "FILE")]
        registry_auth: Option<PathBuf>,
        /// JSON output.
        #[arg(long)]
        json: bool,
    },
    /// Approve the registered digest of a plugin: `spud tools approve fs sha256:…`.
    Approve {
        /// Plugin name.
        plugin: String,
        /// The digest, as `spud grants` or `spud tools update` shows it.
        digest: String,
    },
}

pub async fn run(spud: &Spud, cmd: TrustCommand) -> i32 {
    match cmd {
        TrustCommand::Push {
            file,
            target,
            manifest,
            registry_auth,
        } => {
            match spud
                .push(
                    &file,
                    &target,
                    manifest.as_deref(),
                    registry_auth.as_deref(),
                )
                .await
            {
                Ok(digest) => {
                    println!("pushed {} to {target} ({digest})", file.display());
                    0
                }
                Err(e) => fail(&e.to_string(), e.exit_code()),
            }
        }
        TrustCommand::Sign {
            reference,
            key,
            registry_auth,
        } => {
            let pem = match std::fs::read_to_string(&key) {
                Ok(p) => p,
                Err(e) => {
                    return fail(
                        &format!("cannot read key {}: {e}", key.display()),
                        EXIT_USAGE,
                    )
                }
            };
            match spud.sign(&reference, &pem, registry_auth.as_deref()).await {
                Ok(digest) => {
                    println!("signed {reference} ({digest}) with {}", key.display());
                    0
                }
                Err(e) => fail(&e.to_string(), e.exit_code()),
            }
        }
        TrustCommand::Update {
            plugin,
            yes,
            registry_auth,
            json,
        } => match spud.update(&plugin, yes, registry_auth).await {
            Ok(done) => {
                print_installed(&done, json);
                0
            }
            Err(e) => fail(&e.to_string(), e.exit_code()),
        },
        TrustCommand::Approve { plugin, digest } => match spud.approve(&plugin, &digest) {
            Ok(rec) => {
                println!("approved {plugin} at {}", rec.digest);
                0
            }
            Err(e) => fail(&e.to_string(), EXIT_USAGE),
        },
    }
}

/// What `tools add` and `tools update` print: the entry, the signer, a moved tag, the grant
/// diff and, while pending, the command that approves.
pub fn print_installed(done: &Installed, json: bool) {
    if json {
        print_json(done);
        return;
    }
    let e = &done.entry;
    if let Some(m) = &done.moved {
        eprintln!("note: {m}");
    }
    let verb = match done.action.as_str() {
        "add" => "registered",
        "update" => "updated",
        _ => "unchanged",
    };
    println!(
        "{verb} {} ({} tools) sha256:{}",
        e.name,
        e.tools.len(),
        e.digest
    );
    println!("  source: {}", e.source);
    if let Some(s) = &done.signer {
        println!("  signed by: {s}");
    }
    if let Some(p) = &done.previous {
        println!("  previous: {p}");
    }
    if done.action == "update" {
        if done.grant_diff.is_empty() {
            println!("  requests nothing beyond the previous version");
        } else {
            println!("  requests beyond the previous version:");
            for d in &done.grant_diff {
                println!("    + {d}");
            }
        }
    }
    for t in &e.tools {
        println!("  {}", t.name);
    }
    if !done.approved {
        println!(
            "pending: calls to {} are denied until you run `spud tools approve {} sha256:{}`",
            e.name, e.name, e.digest
        );
    }
}

#[derive(Subcommand)]
pub enum KeysCommand {
    /// Write a new signing key pair: NAME.key (private, 0600) and NAME.pub in the current folder.
    Generate {
        /// The key's name.
        name: String,
    },
}

pub fn keys(cmd: KeysCommand) -> i32 {
    let KeysCommand::Generate { name } = cmd;
    if name.is_empty()
        || !name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_".contains(&b))
    {
        return fail(
            &format!("`{name}` is not a key name: use letters, digits, `-` and `_`"),
            EXIT_USAGE,
        );
    }
    let pair = match spud_trust::generate() {
        Ok(p) => p,
        Err(e) => return fail(&e.to_string(), 1),
    };
    let private = PathBuf::from(format!("{name}.key"));
    let public = PathBuf::from(format!("{name}.pub"));
    for p in [&private, &public] {
        if p.exists() {
            return fail(
                &format!("{} exists; not overwritten", p.display()),
                EXIT_USAGE,
            );
        }
    }
    if let Err(e) = write_private(&private, &pair.private_pem)
        .and_then(|()| std::fs::write(&public, &pair.public_pem))
    {
        return fail(&format!("cannot write the key pair: {e}"), 1);
    }
    println!(
        "wrote {} (private, 0600) and {}",
        private.display(),
        public.display()
    );
    0
}

fn write_private(path: &std::path::Path, pem: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(pem.as_bytes())
}
