//! MCP over stdin/stdout.

use super::options::{shutdown_signal, ServeError, ServeOptions};
use super::server::SpudServer;
use super::shared::Shared;
use super::watch;
use crate::service::{Caller, Spud};
use std::sync::Arc;

/// Serves MCP over stdin/stdout as `caller` until the client closes stdin or a shutdown
/// signal arrives; then lets calls in flight finish (at most `options.grace`), cancels the
/// rest and flushes the audit log.
pub async fn serve_stdio(
    spud: Arc<Spud>,
    caller: Caller,
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
    shared.browsers.close_all(&shared.spud).await;
    shared.access(&caller.principal, "serve_stop", "stdio");
    shared.spud.audit().flush()?;
    Ok(())
}
