//! `spud call TOOL JSON`.

use super::output::{fail, print_json, EXIT_USAGE};
use spud::runtime::RegistryError;
use spud::sandbox::Outcome;
use spud::service::Spud;
use spud::service::SpudError;
use std::io::Read;

#[derive(clap::Args)]
pub struct CallArgs {
    /// Tool name, `plugin.function` (see `spud tools list`).
    tool: String,
    /// Arguments as a JSON object; `-` reads them from stdin. Default `{}`.
    input: Option<String>,
    /// Print the whole call report (outcome, output, fuel, decisions) as JSON.
    #[arg(long)]
    json: bool,
}

pub async fn run(spud: &Spud, args: CallArgs) -> i32 {
    let text = match args.input.as_deref() {
        None => "{}".to_string(),
        Some("-") => {
            let mut s = String::new();
            if let Err(e) = std::io::stdin().read_to_string(&mut s) {
                return fail(&format!("cannot read stdin: {e}"), EXIT_USAGE);
            }
            s
        }
        Some(s) => s.to_string(),
    };
    let input: serde_json::Value = match serde_json::from_str(&text) {
        Ok(v) => v,
        Err(e) => {
            return fail(
                &format!("the arguments are not valid JSON: {e}"),
                EXIT_USAGE,
            )
        }
    };
    let report = match spud.call(&args.tool, &input).await {
        Ok(r) => r,
        Err(SpudError::Registry(e @ RegistryError::Unknown { .. })) => {
            return fail(&e.to_string(), EXIT_USAGE)
        }
        Err(e @ SpudError::NotApproved { .. }) => {
            eprintln!("{e}");
            return 3;
        }
        Err(e) => return fail(&e.to_string(), 1),
    };
    let code = report.outcome.exit_code();
    if args.json {
        // The report, and the digest of the policy it ran under (as on its audit record).
        let mut value = serde_json::to_value(&report).unwrap_or_default();
        if let Some(fields) = value.as_object_mut() {
            let digest = spud.policy().digest().to_string();
            fields.insert("policy_sha256".into(), digest.into());
        }
        print_json(&value);
        return code;
    }
    if !report.stdout.is_empty() {
        eprintln!("--- tool stdout ---\n{}", report.stdout.trim_end());
    }
    if !report.stderr.is_empty() {
        eprintln!("--- tool stderr ---\n{}", report.stderr.trim_end());
    }
    for (what, n) in [
        ("stdout", report.stdout_dropped),
        ("stderr", report.stderr_dropped),
    ] {
        if n > 0 {
            eprintln!("note: {n} bytes of {what} past the limit were dropped");
        }
    }
    match &report.outcome {
        Outcome::Ok { value } => print_json(value),
        other => eprintln!("{}", other.message()),
    }
    code
}
