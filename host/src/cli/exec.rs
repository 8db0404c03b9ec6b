//! `spud exec LANGUAGE FILE|-`: runs source code with a code-execution plugin (`python`,
//! `javascript`).

use super::output::{fail, print_json, EXIT_USAGE};
use spud::runtime::RegistryError;
use spud::sandbox::Outcome;
use spud::service::Spud;
use spud::service::SpudError;
use std::io::{Read, Write};
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct ExecArgs {
    /// The plugin that runs the code (`python`, `javascript`); its tool `LANGUAGE.run` is called.
    language: String,
    /// Source file; `-` reads the code from stdin.
    file: PathBuf,
    /// Print the whole call report (outcome, output, fuel, decisions) as JSON.
    #[arg(long)]
    json: bool,
}

/// Runs the file with `LANGUAGE.run` under the plugin's effective grant. Exit 0 when the code
/// ran without an exception, 1 when it raised, otherwise the call's outcome code.
pub async fn run(spud: &Spud, args: ExecArgs) -> i32 {
    let mut code = String::new();
    let read = if args.file.as_os_str() == "-" {
        std::io::stdin().read_to_string(&mut code).map(|_| ())
    } else {
        std::fs::read_to_string(&args.file).map(|s| code = s)
    };
    if let Err(e) = read {
        return fail(
            &format!("cannot read {}: {e}", args.file.display()),
            EXIT_USAGE,
        );
    }
    let tool = format!("{}.run", args.language);
    let input = serde_json::json!({ "code": code });
    let report = match spud.call(&tool, &input).await {
        Ok(r) => r,
        Err(SpudError::Registry(e @ RegistryError::Unknown { .. })) => {
            return fail(
                &format!(
                    "{e} (register the plugin: spud tools add target/guests/{}.wasm)",
                    args.language
                ),
                EXIT_USAGE,
            )
        }
        Err(e) => return fail(&e.to_string(), 1),
    };
    let exit = report.outcome.exit_code();
    if args.json {
        print_json(&report);
        return exit;
    }
    let Outcome::Ok { value } = &report.outcome else {
        eprintln!("{}", report.outcome.message());
        return exit;
    };
    let text = |k: &str| {
        value
            .get(k)
            .and_then(|v| v.as_str())
            .unwrap_or("")
            .to_string()
    };
    let _ = std::io::stdout().write_all(text("stdout").as_bytes());
    let _ = std::io::stderr().write_all(text("stderr").as_bytes());
    if let Some(v) = value.get("value").and_then(|v| v.as_str()) {
        println!("{v}");
    }
    match value
        .get("error")
        .and_then(|e| e.get("traceback"))
        .and_then(|t| t.as_str())
    {
        Some(tb) => {
            eprint!("{tb}");
            1
        }
        None => exit,
    }
}
