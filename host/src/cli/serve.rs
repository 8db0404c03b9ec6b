//! `spud serve`: every registered tool (and `run_agent`) over MCP, on stdio or Streamable HTTP;
//! with `--nats`, tool calls run on the cluster's workers.

use super::output::{fail, EXIT_USAGE};
use spud::launch::{Launcher, Settings};
use spud::mcp::http::HttpOptions;
use spud::mcp::{ServeError, ServeOptions, Shared};
use spud::service::Caller;
use spud::service::Spud;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

#[derive(clap::Args)]
#[command(after_help = "Examples:
  spud --policy policy.toml serve                          # MCP over stdio, as the operator
  spud --policy policy.toml serve --principal ci           # stdio, with principal ci's tools and grants
  SPUD_TOKEN_CI=… spud --policy policy.toml serve --http   # Streamable HTTP on http://127.0.0.1:8080/mcp

Over HTTP every request needs `Authorization: Bearer TOKEN` with the token of a principal of the
policy ([principals.NAME]); each principal sees only its tools, with grants narrowed to its own.")]
pub struct ServeArgs {
    /// Serve Streamable HTTP instead of stdio, on ADDR (default 127.0.0.1:8080; port 0 picks a
    /// free port). Binding anything but loopback exposes spud to the network: tokens only.
    #[arg(long, value_name = "ADDR", num_args = 0..=1, default_missing_value = "127.0.0.1:8080")]
    http: Option<SocketAddr>,
    /// Over stdio, call tools as this principal of the policy (its tools, grants and
    /// concurrency limit) instead of as the operator.
    #[arg(long, value_name = "NAME", conflicts_with = "http")]
    principal: Option<String>,
    /// Largest HTTP request body accepted, bytes (larger: 413).
    #[arg(long, default_value_t = 4 << 20, value_name = "BYTES")]
    max_body_bytes: usize,
    /// Extra Host header value to accept over HTTP (for a non-loopback bind); repeatable.
    #[arg(long = "allow-host", value_name = "HOST")]
    allow_host: Vec<String>,
    /// After SIGINT/SIGTERM (or stdin closing), how long calls in flight may finish before
    /// they are cancelled, ms.
    #[arg(long, default_value_t = 10_000, value_name = "MS")]
    grace_ms: u64,
    /// How often the registry is checked for tools added or removed, ms.
    #[arg(long, default_value_t = 200, value_name = "MS")]
    watch_ms: u64,
    /// Model that plans `run_agent` goals: `openai:MODEL`, `openai-responses:MODEL` or
    /// `anthropic:MODEL` (default: the config's `[model]`; without one `run_agent` takes plans
    /// only).
    #[arg(long, value_name = "PROVIDER:MODEL")]
    model: Option<String>,
    /// API base URL of the model (default: the config's, else https://api.openai.com/v1).
    #[arg(long, value_name = "URL")]
    base_url: Option<String>,
    /// Environment variable that holds the model's API key.
    #[arg(long, value_name = "VAR")]
    api_key_env: Option<String>,
    /// Model tokens per `run_agent` goal (default: the config's `[agent] max_tokens`, else
    /// 200000); a caller's `budget.max_tokens` can only lower it.
    #[arg(long, value_name = "N")]
    max_tokens: Option<u64>,
    /// A model that judges each successful step of `run_agent`'s runs (`PROVIDER:MODEL`; base
    /// URL and key as for --model); with a plan, used when its `[critic]` has `judge = true`.
    #[arg(long, value_name = "PROVIDER:MODEL")]
    judge: Option<String>,
    /// `run_agent`'s runs neither use nor update the memory of past runs (also: config
    /// `[agent] memory = false`).
    #[arg(long)]
    no_memory: bool,
    /// spud's config file (default: SPUD_CONFIG, else <home>/config.toml).
    #[arg(long, env = "SPUD_CONFIG", value_name = "FILE")]
    config: Option<std::path::PathBuf>,
    /// Make every `tools/call` on a worker of this NATS JetStream cluster (`spud worker`)
    /// instead of here (same caller, grant, outcome and refusals; the audit record is in the
    /// worker's chain), and run `run_agent`'s sub-agents there; `tools/list` stays local,
    /// from this registry.
    #[arg(long, value_name = "URL")]
    nats: Option<String>,
    #[command(flatten)]
    cluster: super::cluster::NatsArgs,
}

/// The launcher of `run_agent`'s runs: the config file and flags, resolved once.
fn launcher(spud: &Spud, args: &ServeArgs) -> Result<Launcher, String> {
    let settings = Settings {
        config: args.config.clone(),
        model: args.model.clone(),
        base_url: args.base_url.clone(),
        api_key_env: args.api_key_env.clone(),
        judge: args.judge.clone(),
        max_tokens: args.max_tokens,
        no_memory: args.no_memory,
        goals: true,
        ..Settings::default()
    };
    Launcher::new(spud, &settings).map_err(|e| e.to_string())
}

pub async fn run(spud: Spud, args: ServeArgs) -> i32 {
    let launcher = match launcher(&spud, &args) {
        Ok(l) => l,
        Err(e) => return fail(&e, EXIT_USAGE),
    };
    let spud = Arc::new(spud);
    // With --nats, tool calls and `run_agent`'s sub-agents go to the cluster.
    let (launcher, calls) = match &args.nats {
        None => (launcher, None),
        Some(url) => match super::cluster::submitter(url, &args.cluster, spud.clone()).await {
            Ok(s) => (
                launcher.with_dispatch(Some(Arc::new(s.clone()))),
                Some(Arc::new(s) as Arc<dyn spud::service::CallDispatch>),
            ),
            Err(e) => return fail(&e, 1),
        },
    };
    let options = ServeOptions {
        launcher,
        watch_interval: Duration::from_millis(args.watch_ms.max(10)),
        grace: Duration::from_millis(args.grace_ms),
        calls,
        ..ServeOptions::default()
    };
    let result = match args.http {
        Some(bind) => {
            let shared = Shared::new(spud, options);
            let http = HttpOptions {
                bind,
                max_body_bytes: args.max_body_bytes,
                allowed_hosts: args.allow_host,
            };
            spud::mcp::http::serve(shared, http, |addr| {
                eprintln!(
                    "spud: serving MCP at http://{addr}{}",
                    spud::mcp::http::PATH
                );
            })
            .await
        }
        None => {
            let caller = match &args.principal {
                None => Caller::operator("stdio"),
                Some(name) => match spud.policy().principals.get(name) {
                    Some(p) => Caller::principal(Arc::new(p.clone())),
                    None => {
                        let known: Vec<&str> = spud
                            .policy()
                            .principals
                            .keys()
                            .map(String::as_str)
                            .collect();
                        let e = ServeError::UnknownPrincipal {
                            name: name.clone(),
                            policy: spud.policy().source_name(),
                            known: if known.is_empty() {
                                "none".into()
                            } else {
                                known.join(", ")
                            },
                        };
                        return fail(&e.to_string(), EXIT_USAGE);
                    }
                },
            };
            spud::mcp::serve_stdio(spud, caller, options).await
        }
    };
    match result {
        Ok(()) => 0,
        Err(
            e @ (ServeError::MissingToken { .. }
            | ServeError::SharedToken(..)
            | ServeError::NoPrincipals(_)
            | ServeError::UnknownPrincipal { .. }
            | ServeError::Bind { .. }),
        ) => fail(&e.to_string(), EXIT_USAGE),
        Err(e) => fail(&e.to_string(), 1),
    }
}
