//! `spud tools add|list|show|remove` (and `push|sign|update|approve`, in `trust`).

use super::output::{fail, print_json, EXIT_USAGE};
use clap::Subcommand;
use spud::runtime::RegistryError;
use spud::service::Spud;
use spud::service::{Install, SpudError, OPENAPI_SOURCE};
use std::path::PathBuf;

#[derive(Subcommand)]
pub enum ToolsCommand {
    /// Validate, precompile and register a component: a `.wasm` file,
    /// `oci://HOST[:PORT]/REPO:TAG` (or `@sha256:DIGEST`), or `https://…` with `--sha256`;
    /// or `openapi:SPEC.json|yaml` with `--name` and `--base-url`: one tool per operation.
    Add {
        /// The component: a file, `oci://…` or `https://…`.
        source: String,
        /// For `https://`: the sha256 (hex) the download must have.
        #[arg(long)]
        sha256: Option<String>,
        /// Refuse a digest other than the one in the lock file (`spud.lock`).
        #[arg(long)]
        locked: bool,
        /// Approve a changed digest at once (for CI); otherwise calls wait for `spud tools approve`.
        #[arg(long)]
        yes: bool,
        /// Registry credentials file (`{"auths": {"HOST:PORT": {"auth": "…"}}}`).
        #[arg(long, value_name = "FILE")]
        registry_auth: Option<PathBuf>,
        /// Plugin name (default: the manifest's name, else the file name).
        #[arg(long)]
        name: Option<String>,
        /// Sidecar manifest for components built without the SDK (default: FILE's stem + `.spud.toml`).
        #[arg(long)]
        manifest: Option<PathBuf>,
        /// For `openapi:`: the API's base URL (the plugin requests its origin only).
        #[arg(long)]
        base_url: Option<String>,
        /// Print the registered entry as JSON.
        #[arg(long)]
        json: bool,
    },
    /// List registered tools.
    List {
        /// JSON output.
        #[arg(long)]
        json: bool,
    },
    /// Show one tool (`plugin.function`) or all tools of a plugin, with schemas.
    Show {
        /// Tool or plugin name.
        name: String,
        /// JSON output.
        #[arg(long)]
        json: bool,
    },
    /// Unregister a plugin.
    Remove {
        /// Plugin name.
        plugin: String,
    },
    #[command(flatten)]
    Trust(super::trust::TrustCommand),
}

pub async fn run(spud: &Spud, cmd: ToolsCommand) -> i32 {
    match cmd {
        ToolsCommand::Add {
            source,
            sha256,
            locked,
            yes,
            registry_auth,
            name,
            manifest,
            base_url,
            json,
        } => {
            if let Some(spec) = source.strip_prefix(OPENAPI_SOURCE) {
                return add_openapi(spud, spec, name, base_url, json);
            }
            let req = Install {
                source,
                sha256,
                name,
                manifest,
                locked,
                yes,
                auth_file: registry_auth,
            };
            add(spud, &req, json).await
        }
        ToolsCommand::Trust(cmd) => super::trust::run(spud, cmd).await,
        ToolsCommand::List { json } => list(spud, json),
        ToolsCommand::Show { name, json } => show(spud, &name, json),
        ToolsCommand::Remove { plugin } => remove(spud, &plugin),
    }
}

/// `spud tools add`: registers the component and prints what it holds.
async fn add(spud: &Spud, req: &Install, json: bool) -> i32 {
    match spud.install(req).await {
        Ok(done) => {
            super::trust::print_installed(&done, json);
            0
        }
        Err(e) => fail(&e.to_string(), e.exit_code()),
    }
}

/// `spud tools add openapi:SPEC --name NAME --base-url URL`.
fn add_openapi(
    spud: &Spud,
    spec: &str,
    name: Option<String>,
    base_url: Option<String>,
    json: bool,
) -> i32 {
    let (Some(name), Some(base_url)) = (name, base_url) else {
        return fail(
            "`spud tools add openapi:SPEC` needs --name NAME and --base-url URL",
            EXIT_USAGE,
        );
    };
    match spud.add_openapi(std::path::Path::new(spec), &name, &base_url) {
        Ok(done) => {
            super::trust::print_installed(&done, json);
            0
        }
        Err(e) => fail(&e.to_string(), EXIT_USAGE),
    }
}

/// `spud tools list`: every registered tool, one line each (first line of its description).
fn list(spud: &Spud, json: bool) -> i32 {
    let reg = spud.registry();
    let tools: Vec<_> = reg
        .plugins
        .values()
        .flat_map(|e| e.tools.iter().map(move |t| (e, t)))
        .collect();
    if json {
        let rows: Vec<_> = tools
            .iter()
            .map(|(e, t)| serde_json::json!({"name": t.name, "plugin": e.name, "digest": e.digest, "description": t.description, "unavailable": t.unavailable}))
            .collect();
        print_json(&rows);
    } else if tools.is_empty() {
        println!("no tools registered; add one with `spud tools add FILE.wasm`");
    } else {
        let width = tools.iter().map(|(_, t)| t.name.len()).max().unwrap_or(0);
        for (_, t) in tools {
            let first = t.description.lines().next().unwrap_or("");
            let note = t
                .unavailable
                .as_deref()
                .map(|u| format!(" [not callable: {u}]"))
                .unwrap_or_default();
            println!("{:width$}  {first}{note}", t.name);
        }
    }
    0
}

/// `spud tools show`: one tool, or every tool of a plugin, with its schemas.
fn show(spud: &Spud, name: &str, json: bool) -> i32 {
    let reg = spud.registry();
    let tools: Vec<_> = match reg.find_tool(name) {
        Ok((_, t)) => vec![t.clone()],
        Err(_) => match reg.get(name) {
            Ok(e) => e.tools.clone(),
            Err(e) => return fail(&e.to_string(), EXIT_USAGE),
        },
    };
    if json {
        print_json(&tools);
    } else {
        for t in tools {
            println!(
                "{}\n  {}\n  input: {}",
                t.name,
                t.description.replace('\n', "\n  "),
                t.input_schema
            );
            if let Some(o) = &t.output_schema {
                println!("  output: {o}");
            }
        }
    }
    0
}

/// `spud tools remove`: unregisters a plugin (an unknown one is a usage error).
fn remove(spud: &Spud, plugin: &str) -> i32 {
    match spud.remove(plugin) {
        Ok(e) => {
            println!("removed {} (sha256:{})", e.name, e.digest);
            0
        }
        Err(SpudError::Registry(e @ RegistryError::Unknown { .. })) => {
            fail(&e.to_string(), EXIT_USAGE)
        }
        Err(e) => fail(&e.to_string(), 1),
    }
}
