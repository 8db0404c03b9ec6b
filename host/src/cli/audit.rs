//! `spud audit verify|tail`.

use super::output::{fail, print_json, EXIT_USAGE};
use clap::Subcommand;
use spud::home::Home;
use std::path::Path;

#[derive(Subcommand)]
pub enum AuditCommand {
    /// Check the hash chain; reports edited, deleted, inserted, reordered or truncated records.
    Verify {
        /// JSON output.
        #[arg(long)]
        json: bool,
        /// Log file (default: the one in spud's home).
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

pub fn run(cmd: AuditCommand, home: Option<&Path>) -> i32 {
    let home = Home::resolve(home);
    match cmd {
        AuditCommand::Verify { json, file } => {
            let path = file.unwrap_or_else(|| home.audit_file());
            match spud_audit::verify(&path) {
                Ok(report) => {
                    let intact = report.problems.is_empty();
                    if json {
                        print_json(&serde_json::json!({
                            "file": path, "records": report.records, "intact": intact,
                            "problems": report.problems.iter().map(|p| p.to_string()).collect::<Vec<_>>(),
                        }));
                    } else if intact {
                        println!(
                            "{}: {} records, chain intact",
                            path.display(),
                            report.records
                        );
                    } else {
                        println!(
                            "{}: {} records, {} problems:",
                            path.display(),
                            report.records,
                            report.problems.len()
                        );
                        for p in &report.problems {
                            println!("  {p}");
                        }
                    }
                    if intact {
                        0
                    } else {
                        1
                    }
                }
                Err(e) => fail(&e.to_string(), EXIT_USAGE),
            }
        }
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
