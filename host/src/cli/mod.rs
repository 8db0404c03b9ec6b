//! Command-line interface: parse, call [`spud::service::Spud`], render. Exit codes: 0 ok, 1 tool error,
//! 2 usage/config/input error, 3 denied, 4 limit exceeded; `tools add|update`: 5 unsigned,
//! 6 signature does not verify, 7 refused under `--locked`.

mod audit;
mod audit_export;
mod audit_verify;
mod call;
mod cluster;
mod connectors;
mod exec;
mod grants;
mod init;
mod memory;
mod output;
mod report;
mod run;
mod runs;
mod serve;
mod tools;
mod trust;

use clap::{Parser, Subcommand};
use output::{fail, EXIT_USAGE};
use spud::service::Spud;
use spud::service::SpudOptions;
use std::path::PathBuf;

/// spud runs every tool as a sandboxed WebAssembly component with exact, audited grants.
#[derive(Parser)]
#[command(name = "spud", version, about, long_about = None)]
pub struct Cli {
    /// Folder for all of spud's state (registry, compiled cache, audit log).
    #[arg(long, global = true, env = "SPUD_HOME")]
    home: Option<PathBuf>,
    /// Policy file (TOML) that grants capabilities to plugins. Without one nothing is granted.
    #[arg(long, global = true, env = "SPUD_POLICY")]
    policy: Option<PathBuf>,
    /// Log verbosity (error, warn, info, debug, trace).
    #[arg(long, global = true, default_value = "warn", env = "SPUD_LOG")]
    log: String,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Register, list, inspect and remove tool components.
    #[command(subcommand)]
    Tools(tools::ToolsCommand),
    /// Call a tool: `spud call fs.read '{"path":"/data/notes.txt"}'` (`-` reads JSON from stdin).
    Call(call::CallArgs),
    /// Run code in the sandbox: `spud exec python script.py` (`-` reads it from stdin).
    Exec(exec::ExecArgs),
    /// For every plugin: digest, what it requests, what the policy grants, the effective grant.
    Grants(grants::GrantsArgs),
    /// First-party connectors: what each needs (grants, credentials, server) and an example.
    #[command(subcommand)]
    Connectors(connectors::ConnectorsCommand),
    /// Write a workflow's plan, policy and seed data into a folder: `spud init --workflow restock`.
    Init(init::InitArgs),
    /// Signing keys: `spud keys generate NAME` writes NAME.key (0600) and NAME.pub here.
    #[command(subcommand)]
    Keys(trust::KeysCommand),
    /// Verify or read the audit log.
    #[command(subcommand)]
    Audit(audit::AuditCommand),
    /// Run the agent loop on a plan file (`spud run --plan examples/demo-plan.toml`) or on a goal
    /// planned by a model (`spud run "GOAL" --model openai:MODEL`).
    Run(run::RunArgs),
    /// List and show finished runs.
    #[command(subcommand)]
    Runs(runs::RunsCommand),
    /// A run's figures: cost, coordination, scheduling, allocation, permission-violation and
    /// compliance rates, per sub-agent too (`--json`, `--prometheus`).
    Report(report::ReportArgs),
    /// The memory of past runs: lessons learned, search, forget, export, trend per goal.
    #[command(subcommand)]
    Memory(memory::MemoryCommand),
    /// Serve every tool, and the agent (`run_agent`), over MCP: stdio, or Streamable HTTP with
    /// bearer tokens per principal (`--http`).
    Serve(serve::ServeArgs),
    /// Join a NATS JetStream cluster and run the sub-agent tasks it hands out, with this
    /// home's registry and policy: `spud worker --nats nats://127.0.0.1:4222`.
    Worker(cluster::WorkerArgs),
}

/// Runs the command line and returns the exit code.
pub fn main() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { EXIT_USAGE } else { 0 };
        }
    };
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_new(&cli.log).unwrap_or_else(|_| "warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return 1;
        }
    };
    runtime.block_on(run(cli))
}

async fn run(cli: Cli) -> i32 {
    let open = || {
        Spud::open(SpudOptions {
            home: cli.home.clone(),
            policy: cli.policy.clone(),
            principal: Some("cli".into()),
        })
    };
    match cli.command {
        Command::Audit(cmd) => audit::run(cmd, cli.home.as_deref(), cli.policy.as_deref()).await,
        Command::Keys(cmd) => trust::keys(cmd),
        Command::Connectors(cmd) => connectors::run(cmd),
        Command::Init(args) => init::run(args),
        Command::Runs(runs::RunsCommand::Fetch { run, nats, json }) => {
            let home = spud::home::Home::resolve(cli.home.as_deref());
            cluster::fetch(&nats, &run, &home, json).await
        }
        Command::Runs(cmd) => runs::run(cmd, &spud::home::Home::resolve(cli.home.as_deref())),
        Command::Report(args) => report::run(args, &spud::home::Home::resolve(cli.home.as_deref())),
        Command::Memory(cmd) => memory::run(cmd, &spud::home::Home::resolve(cli.home.as_deref())),
        Command::Run(args) => match open() {
            Ok(s) => run::run(s, args).await,
            Err(e) => fail(&e.to_string(), EXIT_USAGE),
        },
        Command::Serve(args) => match open() {
            Ok(s) => serve::run(s, args).await,
            Err(e) => fail(&e.to_string(), EXIT_USAGE),
        },
        Command::Call(args) => match open() {
            Ok(s) => call::run(s, args).await,
            Err(e) => fail(&e.to_string(), EXIT_USAGE),
        },
        Command::Worker(args) => match open() {
            Ok(s) => cluster::worker(s, args).await,
            Err(e) => fail(&e.to_string(), EXIT_USAGE),
        },
        command => {
            let spud = match open() {
                Ok(s) => s,
                Err(e) => return fail(&e.to_string(), EXIT_USAGE),
            };
            match command {
                Command::Tools(cmd) => tools::run(&spud, cmd).await,
                Command::Exec(args) => exec::run(&spud, args).await,
                Command::Grants(args) => grants::run(&spud, args),
                Command::Audit(_)
                | Command::Keys(_)
                | Command::Connectors(_)
                | Command::Init(_)
                | Command::Runs(_)
                | Command::Report(_)
                | Command::Memory(_)
                | Command::Run(_)
                | Command::Serve(_)
                | Command::Call(_)
                | Command::Worker(_) => handled_above(),
            }
        }
    }
}

fn handled_above() -> i32 {
    // These commands are dispatched before this match; kept for an exhaustive match.
    EXIT_USAGE
}
