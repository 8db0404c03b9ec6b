//! `spud call TOOL JSON`, here or on a worker of the cluster (`--nats URL`).

use super::output::{fail, print_json, EXIT_USAGE};
use spud::cluster::CallOrigin;
use spud::runtime::{CallReport, RegistryError};
use spud::sandbox::Outcome;
use spud::service::Spud;
use spud::service::SpudError;
use std::io::Read;
use std::sync::Arc;

#[derive(clap::Args)]
pub struct CallArgs {
    /// Tool name, `plugin.function` (see `spud tools list`).
    tool: String,
    /// Arguments as a JSON object; `-` reads them from stdin. Default `{}`.
    input: Option<String>,
    /// Print the whole call report (outcome, output, fuel, decisions) as JSON.
    #[arg(long)]
    json: bool,
    /// Make the call on a worker of this NATS JetStream cluster (`spud worker`) instead of
    /// here: same caller, grant, outcome and refusals; the audit record is in the worker's
    /// chain (`spud audit verify --nats`).
    #[arg(long, value_name = "URL")]
    nats: Option<String>,
    #[command(flatten)]
    cluster: super::cluster::NatsArgs,
}

/// The call here, or on the cluster with `--nats` (then with where it ran).
async fn make(
    spud: Arc<Spud>,
    args: &CallArgs,
    input: &serde_json::Value,
) -> Result<(CallReport, Option<CallOrigin>), SpudError> {
    let Some(url) = &args.nats else {
        return spud.call(&args.tool, input).await.map(|r| (r, None));
    };
    let submitter = super::cluster::submitter(url, &args.cluster, spud.clone())
        .await
        .map_err(SpudError::Elsewhere)?;
    let (report, origin) = submitter
        .call_remote(&spud.operator(), &args.tool, input)
        .await?;
    Ok((report, Some(origin)))
}

pub async fn run(spud: Spud, args: CallArgs) -> i32 {
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
    let spud = Arc::new(spud);
    let (report, origin) = match make(spud.clone(), &args, &input).await {
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
        // The report, and the digest of the policy it ran under (as on its audit record);
        // on the cluster, the worker's, and the worker and task.
        let mut value = serde_json::to_value(&report).unwrap_or_default();
        if let Some(fields) = value.as_object_mut() {
            let digest = match &origin {
                Some(o) => o.policy_sha256.clone(),
                None => spud.policy().digest().to_string(),
            };
            fields.insert("policy_sha256".into(), digest.into());
            if let Some(o) = &origin {
                fields.insert("worker".into(), o.worker.clone().into());
                fields.insert("task".into(), o.task.clone().into());
                fields.insert("possibly_repeated".into(), o.possibly_repeated.into());
            }
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
