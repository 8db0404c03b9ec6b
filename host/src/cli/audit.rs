//! `spud audit verify|tail|export|key|checkpoints`.

use super::audit_export::{self, ExportArgs};
use super::audit_verify::{self, VerifyArgs};
use super::output::{fail, print_json, EXIT_USAGE};
use clap::Subcommand;
use spud::home::Home;
use std::path::Path;

#[derive(Subcommand)]
pub enum AuditCommand {
    /// Check the hash chain, then the signed checkpoints: reports edited, deleted, inserted,
    /// reordered or truncated records, forged tails, rollbacks, deleted anchors or checkpoints,
    /// and which records a checkpoint covers. Exit codes: 0 intact, 1 chain broken, 2 usage,
    /// 5 checkpoint signature, 6 log contradicts its checkpoints, 7 not all covered
    /// (`--require-covered`).
    Verify {
        /// JSON output.
        #[arg(long)]
        json: bool,
        /// Log file (default: the one in spud's home).
        #[arg(long)]
        file: Option<std::path::PathBuf>,
        /// Checkpoints file, e.g. a copy shipped off the machine (default: `<log>.checkpoints`).
        #[arg(long)]
        checkpoints: Option<std::path::PathBuf>,
        /// Trust checkpoints signed by this Ed25519 public key (hex; `spud audit key` prints
        /// it) instead of the key in the home.
        #[arg(long)]
        public_key: Option<String>,
        /// Fail (exit 7) when records after the last checkpoint are not yet covered.
        #[arg(long)]
        require_covered: bool,
        /// Verify every worker's chain in this NATS cluster's audit stream instead of the
        /// home's log (exit 1 when one is broken).
        #[arg(long, conflicts_with_all = ["file", "checkpoints", "public_key", "require_covered"])]
        nats: Option<String>,
    },
    /// Export records as JSON lines (stdout or `--out FILE`) or as OpenTelemetry log records
    /// over OTLP/HTTP (`--otlp URL`); payloads as digests unless the policy keeps them raw.
    Export(ExportArgs),
    /// Print the public key that verifies the checkpoints (creates the key if there is none).
    Key {
        /// JSON output.
        #[arg(long)]
        json: bool,
    },
    /// Print the signed checkpoints.
    Checkpoints {
        /// JSON output (one array).
        #[arg(long)]
        json: bool,
        /// Checkpoints file (default: the one next to the home's log).
        #[arg(long)]
        file: Option<std::path::PathBuf>,
    },
    /// Print the last records.
    Tail {
        /// How many.
        #[arg(short = 'n', long, default_value_t = 20)]
        lines: usize,
        /// JSON output (one array).
        #[arg(long)]
        json: bool,
    },
}

pub async fn run(cmd: AuditCommand, home: Option<&Path>, policy: Option<&Path>) -> i32 {
    let home = Home::resolve(home);
    match cmd {
        AuditCommand::Export(args) => audit_export::run(args, &home, policy).await,
        AuditCommand::Verify {
            nats: Some(url),
            json,
            ..
        } => super::cluster::verify(&url, json).await,
        AuditCommand::Verify {
            json,
            file,
            checkpoints,
            public_key,
            require_covered,
            nats: None,
        } => audit_verify::run(
            VerifyArgs {
                json,
                file,
                checkpoints,
                public_key,
                require_covered,
            },
            &home,
        ),
        AuditCommand::Key { json } => key(&home, json),
        AuditCommand::Checkpoints { json, file } => checkpoints(
            &file.unwrap_or_else(|| spud_audit::checkpoints_path(&home.audit_file())),
            json,
        ),
        AuditCommand::Tail { lines, json } => match spud_audit::tail(&home.audit_file(), lines) {
            Ok(records) => {
                if json {
                    print_json(&records);
                } else {
                    use spud_audit::Event;
                    for r in records {
                        let line = match &r.event {
                            Event::Call(c) => format!(
                                "call {} [{}] by {} fuel {} {} µs policy {}",
                                c.tool,
                                c.outcome,
                                c.principal,
                                c.fuel_used,
                                c.duration_us,
                                c.policy_sha256.get(..12).unwrap_or("-")
                            ),
                            Event::Capability(c) => format!(
                                "{} {} {}: {} ({})",
                                c.capability, c.decision, c.tool, c.target, c.reason
                            ),
                            Event::Registry(g) => {
                                format!("registry {} {} sha256:{}", g.action, g.plugin, g.digest)
                            }
                            Event::Access(a) => {
                                format!("access {} by {} {}", a.action, a.principal, a.detail)
                            }
                            Event::Cache(c) => format!(
                                "cache {} {} sha256:{} ({})",
                                c.action, c.plugin, c.digest, c.reason
                            ),
                        };
                        println!("{:>6} {} {line}", r.seq, r.time);
                    }
                }
                0
            }
            Err(e) => fail(&e.to_string(), EXIT_USAGE),
        },
    }
}

/// `spud audit key`.
fn key(home: &Home, json: bool) -> i32 {
    match spud_audit::CheckpointKey::resolve(&home.audit_key_file()) {
        Ok((key, source)) => {
            let public = key.public().to_hex();
            let source = match source {
                spud_audit::KeySource::Env => spud_audit::KEY_ENV.to_string(),
                spud_audit::KeySource::File(p) => p.display().to_string(),
                spud_audit::KeySource::Created(p) => format!("{} (created)", p.display()),
            };
            if json {
                print_json(&serde_json::json!({"public_key": public, "source": source}));
            } else {
                println!("{public}");
                eprintln!("checkpoint key: {source}");
            }
            0
        }
        Err(e) => fail(&e.to_string(), EXIT_USAGE),
    }
}

/// `spud audit checkpoints`.
fn checkpoints(path: &Path, json: bool) -> i32 {
    match spud_audit::read_checkpoints(path) {
        Ok(cps) if json => {
            print_json(&cps);
            0
        }
        Ok(cps) => {
            for c in cps {
                let kind = serde_json::to_value(c.kind).unwrap_or_default();
                println!(
                    "{:>8} {} {:<8} writer {} head {}",
                    c.seq,
                    c.time,
                    kind.as_str().unwrap_or(""),
                    c.writer,
                    &c.head[..c.head.len().min(16)]
                );
            }
            0
        }
        Err(e) => fail(&format!("{}: {e}", path.display()), EXIT_USAGE),
    }
}
