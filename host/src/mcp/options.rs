//! How `spud serve` is set up ([`ServeOptions`]), what stops it ([`ServeError`]), and the
//! shutdown signal.

use crate::launch::Launcher;
use crate::service::CallDispatch;
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
#[derive(Clone)]
pub struct ServeOptions {
    /// How often the registry file is checked for tools added or removed.
    pub watch_interval: Duration,
    /// How long calls in flight may run after a shutdown signal before they are cancelled.
    pub grace: Duration,
    /// Interval of progress notifications for a call whose client asked for progress.
    pub progress_interval: Duration,
    /// The model `run_agent` plans goals with; without one, `run_agent` takes plans only.
    pub launcher: Launcher,
    /// Where `tools/call` runs tools instead of this process's sandbox (`spud serve --nats`:
    /// the cluster's workers); listing tools stays local, from the registry.
    pub calls: Option<Arc<dyn CallDispatch>>,
}

impl std::fmt::Debug for ServeOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServeOptions")
            .field("watch_interval", &self.watch_interval)
            .field("grace", &self.grace)
            .field("progress_interval", &self.progress_interval)
            .field("launcher", &self.launcher)
            .field("calls_elsewhere", &self.calls.is_some())
            .finish()
    }
}

impl Default for ServeOptions {
    fn default() -> Self {
        ServeOptions {
            watch_interval: Duration::from_millis(200),
            grace: Duration::from_secs(10),
            progress_interval: Duration::from_millis(250),
            launcher: Launcher::default(),
            calls: None,
        }
    }
}

/// SIGINT and SIGTERM, listened for from the moment [`Shutdown::listen`] returns: a signal that
/// arrives before anything awaits [`Shutdown::wait`] is kept, not left to the default action
/// (which would end the process without its graceful shutdown).
pub struct Shutdown {
    #[cfg(unix)]
    signals: Option<(tokio::signal::unix::Signal, tokio::signal::unix::Signal)>,
}

impl Shutdown {
    /// Starts listening (inside a Tokio runtime).
    pub fn listen() -> Shutdown {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{signal, SignalKind};
            let signals = match (
                signal(SignalKind::terminate()),
                signal(SignalKind::interrupt()),
            ) {
                (Ok(term), Ok(int)) => Some((term, int)),
                _ => None,
            };
            Shutdown { signals }
        }
        #[cfg(not(unix))]
        {
            Shutdown {}
        }
    }

    /// Resolves when the process has got SIGINT or SIGTERM.
    pub async fn wait(self) {
        #[cfg(unix)]
        if let Some((mut term, mut int)) = self.signals {
            tokio::select! {
                _ = term.recv() => {}
                _ = int.recv() => {}
            }
            return;
        }
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// Resolves when the process gets SIGINT or SIGTERM (listening from the first poll; see
/// [`Shutdown`] to listen earlier).
pub async fn shutdown_signal() {
    Shutdown::listen().wait().await;
}
