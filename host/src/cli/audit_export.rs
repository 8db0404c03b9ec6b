//! `spud audit export`: records as JSON lines, or as OpenTelemetry log records over OTLP/HTTP.

use super::output::{fail, EXIT_USAGE};
use clap::Args;
use spud::home::Home;
use spud_audit::export::{self, Selection};
use spud_audit::Record;
use spud_policy::{Payloads, Policy};
use std::io::Write;
use std::path::{Path, PathBuf};

/// The collector did not take the records.
const EXIT_DELIVERY: i32 = 1;

#[derive(Args)]
pub struct ExportArgs {
    /// Write JSON lines to this file instead of stdout.
    #[arg(long, conflicts_with = "otlp")]
    out: Option<PathBuf>,
    /// Send OpenTelemetry log records (OTLP/HTTP, protobuf) to this collector endpoint, e.g.
    /// `http://127.0.0.1:4318/v1/logs`.
    #[arg(long)]
    otlp: Option<String>,
    /// Only records at or after this time: RFC 3339 (`2026-11-24T11:50:00Z`) or a duration
    /// ago (`1h`, `30m`).
    #[arg(long)]
    since: Option<String>,
    /// Only records of this kind (call, capability, registry, access); repeatable.
    #[arg(long = "kind", value_parser = export::KINDS)]
    kinds: Vec<String>,
    /// Only records with this sequence number or later (to ship incrementally).
    #[arg(long)]
    from_seq: Option<u64>,
    /// Drop raw arguments and results even where the policy keeps them.
    #[arg(long)]
    digests_only: bool,
    /// Log file (default: the one in spud's home).
    #[arg(long)]
    file: Option<PathBuf>,
    /// `service.name` of the OTLP resource.
    #[arg(long, default_value = "spud")]
    service_name: String,
    /// Records per OTLP request.
    #[arg(long, default_value_t = 512, value_parser = clap::value_parser!(u64).range(1..=100_000))]
    batch: u64,
}

/// `--since`: an RFC 3339 time or a duration ago, in the log's own time format.
fn since(text: &str) -> Result<String, String> {
    let time = match humantime::parse_rfc3339_weak(text) {
        Ok(t) => t,
        Err(_) => {
            let ago = humantime::parse_duration(text).map_err(|_| {
                format!("--since {text:?} is neither an RFC 3339 time nor a duration like 1h")
            })?;
            std::time::SystemTime::now()
                .checked_sub(ago)
                .ok_or_else(|| format!("--since {text:?} reaches before the epoch"))?
        }
    };
    Ok(humantime::format_rfc3339_micros(time).to_string())
}

/// Whether the policy keeps raw payloads for `tool` (`plugin.function`).
fn policy_keeps_raw(policy: &Policy, tool: &str) -> bool {
    let plugin = tool.split('.').next().unwrap_or(tool);
    let section = policy.tools.get(plugin).and_then(|t| t.caps.payloads);
    section.unwrap_or(policy.audit.payloads) == Payloads::Raw
}

/// Runs `spud audit export`.
pub async fn run(args: ExportArgs, home: &Home, policy: Option<&Path>) -> i32 {
    let policy = match policy.map(Policy::load).transpose() {
        Ok(p) => p.unwrap_or_else(Policy::deny_all),
        Err(e) => return fail(&e.to_string(), EXIT_USAGE),
    };
    let selection = Selection {
        since: match args.since.as_deref().map(since).transpose() {
            Ok(s) => s,
            Err(e) => return fail(&e, EXIT_USAGE),
        },
        kinds: args.kinds.clone(),
        from_seq: args.from_seq,
    };
    let path = args.file.clone().unwrap_or_else(|| home.audit_file());
    let mut records = match spud_audit::read_all(&path) {
        Ok(r) => r,
        Err(e) => return fail(&e.to_string(), EXIT_USAGE),
    };
    records.retain(|r| selection.matches(r));
    for r in &mut records {
        export::strip_raw(r, |tool| {
            !args.digests_only && policy_keeps_raw(&policy, tool)
        });
    }
    match &args.otlp {
        Some(url) => send_otlp(url, &records, &args).await,
        None => write_lines(&records, args.out.as_deref()),
    }
}

fn write_lines(records: &[Record], out: Option<&Path>) -> i32 {
    let result = (|| -> Result<(), String> {
        let sink: Box<dyn Write> = match out {
            Some(p) => {
                Box::new(std::fs::File::create(p).map_err(|e| format!("{}: {e}", p.display()))?)
            }
            None => Box::new(std::io::stdout().lock()),
        };
        let mut sink = std::io::BufWriter::new(sink);
        for r in records {
            serde_json::to_writer(&mut sink, r).map_err(|e| e.to_string())?;
            sink.write_all(b"\n").map_err(|e| e.to_string())?;
        }
        sink.flush().map_err(|e| e.to_string())
    })();
    match result {
        Ok(()) => {
            if let Some(p) = out {
                eprintln!("exported {} records to {}", records.len(), p.display());
            }
            0
        }
        Err(e) => fail(&e, EXIT_USAGE),
    }
}

async fn send_otlp(url: &str, records: &[Record], args: &ExportArgs) -> i32 {
    let parsed = match reqwest::Url::parse(url) {
        Ok(u) if matches!(u.scheme(), "http" | "https") => u,
        _ => {
            return fail(
                &format!("--otlp {url:?} is not an http(s) URL like http://HOST:4318/v1/logs"),
                EXIT_USAGE,
            )
        }
    };
    let client = reqwest::Client::new();
    let mut sent = 0usize;
    for chunk in records.chunks(args.batch as usize) {
        let body = export::encode_request(chunk, &args.service_name);
        let response = client
            .post(parsed.clone())
            .header("content-type", "application/x-protobuf")
            .body(body)
            .send()
            .await;
        match response {
            Ok(r) if r.status().is_success() => sent += chunk.len(),
            Ok(r) => {
                return fail(
                    &format!(
                        "collector {url} refused records after {sent} were sent: HTTP {}",
                        r.status()
                    ),
                    EXIT_DELIVERY,
                )
            }
            Err(e) => {
                return fail(
                    &format!("collector {url} unreachable after {sent} records were sent: {e}"),
                    EXIT_DELIVERY,
                )
            }
        }
    }
    eprintln!("exported {sent} records to {url}");
    0
}
