//! `spud serve`: every registered tool, and the agent itself (`run_agent`), as an MCP server
//! over stdio or Streamable HTTP, built on the official Rust SDK (`rmcp`).
//!
//! - [`server`]: the MCP handler — `tools/list` filtered per caller, `tools/call` in a fresh
//!   sandbox through [`Spud::call_as`], progress and cancellation, `list_changed`;
//! - [`tools`]: registry entries → MCP tools, call reports → MCP results;
//! - [`auth`]: bearer tokens → principals (constant-time comparison, tokens never logged);
//! - [`limits`]: per-principal concurrency (semaphore) and request rate (token bucket);
//! - [`http`]: the HTTP front: authentication, rate limits (429 + `Retry-After`), request
//!   size limits, then rmcp's Streamable HTTP service;
//! - [`watch`]: notices tools added or removed by other processes;
//! - [`agent_tool`]: `run_agent`, the agent loop with the caller's tools and grants.
//!
//! Every call is recorded in the audit log under the caller's principal; refusals before a call
//! (bad token, rate, concurrency, a tool the principal may not see) are `access` records.

pub mod agent_tool;
pub mod auth;
pub mod http;
pub mod limits;
pub mod server;
pub mod tools;
pub mod watch;

pub use server::{Shared, SpudServer};

use crate::Spud;
use std::sync::Arc;
use std::time::Duration;

/// What stops `spud serve` from starting.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// A principal's token variable is not set (or empty).
    #[error("principal `{principal}`: environment variable {variable} (its `token_env`) is not set; set it to the principal's bearer token")]
    MissingToken {
        /// The principal.
        principal: String,
        /// The variable.
        variable: String,
    },
    /// Two principals have the same token.
    #[error("principals `{0}` and `{1}` have the same token; give each its own")]
    SharedToken(String, String),
    /// `--principal NAME` names no principal of the policy.
    #[error("no principal `{name}` in {policy}; known: {known}")]
    UnknownPrincipal {
        /// The name given.
        name: String,
        /// The policy file.
        policy: String,
        /// The principals it has.
        known: String,
    },
    /// HTTP without any principal: nobody could connect.
    #[error("serving HTTP needs at least one principal with a token in the policy ([principals.NAME] with token_env or token_sha256 in {0})")]
    NoPrincipals(String),
    /// The address cannot be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: String,
        /// Why.
        source: std::io::Error,
    },
    /// The MCP transport failed.
    #[error("MCP transport: {0}")]
    Transport(String),
    /// Audit log problem.
    #[error("audit log: {0}")]
    Audit(#[from] spud_audit::AuditError),
}

/// Settings common to both transports.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// How often the registry file is checked for tools added or removed.
    pub watch_interval: Duration,
    /// How long calls in flight may run after a shutdown signal before they are cancelled.
    pub grace: Duration,
    /// Interval of progress notifications for a call whose client asked for progress.
    pub progress_interval: Duration,
    /// The model `run_agent` plans goals with; without one, `run_agent` takes plans only.
    pub model: Option<agent_tool::AgentModel>,
}

impl Default for ServeOptions {
    fn default() -> Self {
        ServeOptions {
            watch_interval: Duration::from_millis(200),
            grace: Duration::from_secs(10),
            progress_interval: Duration::from_millis(250),
            model: None,
        }
    }
}

/// Resolves when the process gets SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match (
            signal(SignalKind::terminate()),
            signal(SignalKind::interrupt()),
        ) {
            (Ok(mut term), Ok(mut int)) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = int.recv() => {}
                }
            }
            _ => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// Serves MCP over stdin/stdout as `caller` until the client closes stdin or a shutdown
/// signal arrives; then lets calls in flight finish (at most `options.grace`), cancels the
/// rest and flushes the audit log.
pub async fn serve_stdio(
    spud: Arc<Spud>,
    caller: crate::Caller,
    options: ServeOptions,
) -> Result<(), ServeError> {
    use rmcp::ServiceExt;
    let shared = Shared::new(spud, options.clone());
    let _watch = watch::spawn(shared.clone());
    shared.access(&caller.principal, "serve_start", "stdio");
    let server = SpudServer::new(shared.clone(), Some(caller.clone()));
    let running = server
        .serve(rmcp::transport::stdio_pipes())
        .await
        .map_err(|e| ServeError::Transport(e.to_string()))?;
    let stop = running.cancellation_token();
    tokio::select! {
        r = running.waiting() => {
            if let Err(e) = r {
                tracing::warn!("stdio service ended abnormally: {e}");
            }
        }
        () = shutdown_signal() => stop.cancel(),
    }
    shared.drain().await;
    shared.access(&caller.principal, "serve_stop", "stdio");
    shared.spud.audit().flush()?;
    Ok(())
}
