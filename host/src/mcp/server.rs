//! The MCP handler. One [`Shared`] per server process; one [`SpudServer`] per MCP session
//! (stdio has one; Streamable HTTP makes one per session or stateless request).

use super::limits::Limiters;
use super::{agent_tool, tools, ServeOptions};
use crate::{Caller, Spud, SpudError};
use rmcp::model::{
    CacheScope, CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock,
    Implementation, ListToolsResult, PaginatedRequestParams, ProgressNotificationParam,
    ProgressToken, ServerCapabilities, ServerConfig, SubscriptionFilter,
};
use rmcp::service::{NotificationContext, RequestContext, SubscriptionContext};
use rmcp::{ErrorData as McpError, Peer, RoleServer, ServerHandler};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;
use tokio::sync::{broadcast, Notify};
use tokio_util::sync::CancellationToken;

/// State shared by every session of one server.
pub struct Shared {
    /// The host.
    pub spud: Arc<Spud>,
    /// Settings.
    pub options: ServeOptions,
    /// Fires (with a generation number) when the tool list changed.
    pub changes: broadcast::Sender<u64>,
    /// Sessions that completed the `initialize` handshake, told about list changes.
    peers: Mutex<Vec<Peer<RoleServer>>>,
    /// Per-principal concurrency and rate limits.
    pub limiters: Limiters,
    /// Calls in flight (for graceful shutdown).
    in_flight: AtomicUsize,
    idle: Notify,
    /// Cancelled when the grace period after a shutdown signal is over.
    pub hard_stop: CancellationToken,
}

impl Shared {
    /// State for a server over `spud`.
    pub fn new(spud: Arc<Spud>, options: ServeOptions) -> Arc<Shared> {
        Arc::new(Shared {
            spud,
            options,
            changes: broadcast::channel(16).0,
            peers: Mutex::new(Vec::new()),
            limiters: Limiters::default(),
            in_flight: AtomicUsize::new(0),
            idle: Notify::new(),
            hard_stop: CancellationToken::new(),
        })
    }

    /// Records an access decision; a failure to record is logged, not fatal to the refusal.
    pub fn access(&self, principal: &str, action: &str, detail: &str) {
        let event = spud_audit::Event::access(principal, action, detail);
        if let Err(e) = self.spud.audit().append(event) {
            tracing::error!("audit: cannot record {action} for {principal}: {e}");
        }
    }

    /// Tells every handshake-era session that the tool list changed; forgets closed ones.
    pub async fn notify_list_changed(&self) {
        let peers: Vec<Peer<RoleServer>> = match self.peers.lock() {
            Ok(mut p) => {
                p.retain(|peer| !peer.is_transport_closed());
                p.clone()
            }
            Err(_) => return,
        };
        for peer in peers {
            if let Err(e) = peer.notify_tool_list_changed().await {
                tracing::debug!("list_changed not delivered: {e}");
            }
        }
    }

    /// Waits for calls in flight to finish, at most the grace period, then cancels the rest
    /// (each is recorded as `cancelled`) and waits for them to unwind.
    pub async fn drain(&self) {
        let wait_idle = async {
            loop {
                let notified = self.idle.notified();
                if self.in_flight.load(Ordering::SeqCst) == 0 {
                    return;
                }
                notified.await;
            }
        };
        if tokio::time::timeout(self.options.grace, wait_idle)
            .await
            .is_err()
        {
            tracing::warn!(
                "{} calls still running after {:?}; cancelling them",
                self.in_flight.load(Ordering::SeqCst),
                self.options.grace
            );
        }
        self.hard_stop.cancel();
        let unwound = async {
            loop {
                let notified = self.idle.notified();
                if self.in_flight.load(Ordering::SeqCst) == 0 {
                    return;
                }
                notified.await;
            }
        };
        let _ = tokio::time::timeout(std::time::Duration::from_secs(5), unwound).await;
    }

    fn enter(self: &Arc<Self>) -> InFlight {
        self.in_flight.fetch_add(1, Ordering::SeqCst);
        InFlight(self.clone())
    }
}

/// Counts one call in flight until dropped.
struct InFlight(Arc<Shared>);

impl Drop for InFlight {
    fn drop(&mut self) {
        if self.0.in_flight.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.0.idle.notify_waiters();
        }
    }
}

/// One MCP session's handler.
#[derive(Clone)]
pub struct SpudServer {
    shared: Arc<Shared>,
    /// The caller for a transport without per-request authentication (stdio); HTTP requests
    /// carry theirs in the request's extensions.
    fixed: Option<Caller>,
}

impl SpudServer {
    /// A handler; `fixed` is the caller of every request (stdio), else taken per request.
    pub fn new(shared: Arc<Shared>, fixed: Option<Caller>) -> SpudServer {
        SpudServer { shared, fixed }
    }

    /// Who sent this request: the fixed caller, or the principal the HTTP layer authenticated.
    fn caller(&self, ctx: &RequestContext<RoleServer>) -> Result<Caller, McpError> {
        if let Some(c) = &self.fixed {
            return Ok(c.clone());
        }
        ctx.extensions
            .get::<http::request::Parts>()
            .and_then(|parts| parts.extensions.get::<Caller>().cloned())
            .ok_or_else(|| McpError::invalid_request("unauthenticated request", None))
    }

    async fn call(
        &self,
        caller: Caller,
        request: CallToolRequestParams,
        ctx: RequestContext<RoleServer>,
    ) -> Result<CallToolResult, McpError> {
        let name = request.name.to_string();
        if !caller.sees(&name) {
            self.shared.access(&caller.principal, "not_visible", &name);
            return Err(tools::unknown_tool(&name));
        }
        let _permit = match self.shared.limiters.try_acquire(&caller) {
            Ok(p) => p,
            Err(busy) => {
                self.shared
                    .access(&caller.principal, "busy", &busy.to_string());
                return Ok(CallToolResult::error(vec![ContentBlock::text(
                    busy.to_string(),
                )]));
            }
        };
        let _in_flight = self.shared.enter();
        let args = serde_json::Value::Object(request.arguments.unwrap_or_default());
        let progress = ctx.meta.get_progress_token();
        tracing::debug!(tool = %name, principal = %caller.principal, progress = ?progress, "tools/call");
        let token = self.shared.hard_stop.child_token();
        let started = Instant::now();
        if name == agent_tool::NAME {
            let run = agent_tool::run(
                &self.shared,
                &caller,
                &args,
                token.clone(),
                ctx.peer.clone(),
                progress,
            );
            return self.until_done(run, &ctx, &token, None, started).await;
        }
        let spud = self.shared.spud.clone();
        let call = async {
            match spud
                .call_as(
                    &caller,
                    &name,
                    &args,
                    crate::CallOptions::default().cancel(token.clone()),
                )
                .await
            {
                Ok(mut report) => {
                    // What goes back to a client (often a model host) carries no secret.
                    if let crate::sandbox::Outcome::Ok { value } = &mut report.outcome {
                        if let Some(clean) = spud.secrets().redact_json(value) {
                            *value = clean;
                        }
                    }
                    Ok(tools::result_of(
                        &report,
                        spud.registry().find_tool(&name).ok().map(|(_, t)| t),
                    ))
                }
                Err(SpudError::Registry(crate::runtime::RegistryError::Unknown { .. })) => {
                    Err(tools::unknown_tool(&name))
                }
                Err(e @ SpudError::Cancelled { .. }) => {
                    Err(McpError::internal_error(e.to_string(), None))
                }
                Err(e) => Ok(CallToolResult::error(vec![ContentBlock::text(
                    e.to_string(),
                )])),
            }
        };
        let timeout_ms = self.timeout_of(&caller, &name);
        self.until_done(
            call,
            &ctx,
            &token,
            progress.map(|p| (p, name.clone(), timeout_ms)),
            started,
        )
        .await
    }

    /// The deadline a call of `tool` runs under for `caller` (for progress totals).
    fn timeout_of(&self, caller: &Caller, tool: &str) -> Option<u64> {
        let plugin = tool.split_once('.')?.0;
        let loaded = self.shared.spud.loaded(plugin).ok()?;
        Some(
            self.shared
                .spud
                .grant_for(caller, &loaded)
                .limits
                .timeout_ms,
        )
    }

    /// Drives `work` to its end, cancelling it when the client cancels the request, and
    /// sending progress notifications every `progress_interval` when the client asked.
    async fn until_done(
        &self,
        work: impl std::future::Future<Output = Result<CallToolResult, McpError>>,
        ctx: &RequestContext<RoleServer>,
        token: &CancellationToken,
        progress: Option<(ProgressToken, String, Option<u64>)>,
        started: Instant,
    ) -> Result<CallToolResult, McpError> {
        tokio::pin!(work);
        let mut tick = tokio::time::interval(self.shared.options.progress_interval);
        tick.reset();
        loop {
            tokio::select! {
                r = &mut work => return r,
                () = ctx.ct.cancelled(), if !token.is_cancelled() => token.cancel(),
                _ = tick.tick(), if progress.is_some() => {
                    if let Some((p, tool, total)) = &progress {
                        let ms = started.elapsed().as_millis() as f64;
                        let message = match total {
                            Some(t) => format!("{tool}: running for {ms:.0} ms (deadline {t} ms)"),
                            None => format!("{tool}: running for {ms:.0} ms"),
                        };
                        let mut note = ProgressNotificationParam::new(p.clone(), ms).with_message(message);
                        note.total = total.map(|t| t as f64);
                        let _ = ctx.peer.notify_progress(note).await;
                    }
                }
            }
        }
    }
}

impl ServerHandler for SpudServer {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(
            ServerCapabilities::builder()
                .enable_tools()
                .enable_tool_list_changed()
                .build(),
        )
        .with_server_info(Implementation::new("spud", env!("CARGO_PKG_VERSION")))
        .with_instructions(
            "Every tool runs in a fresh WebAssembly sandbox under an audited capability grant. \
             A denied action or a limit comes back as a tool error that names the grant or \
             input that would work.",
        )
    }

    async fn on_initialized(&self, context: NotificationContext<RoleServer>) {
        if let Ok(mut peers) = self.shared.peers.lock() {
            peers.retain(|p| !p.is_transport_closed());
            peers.push(context.peer.clone());
        }
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, McpError> {
        let caller = self.caller(&context)?;
        let mut list = tools::list(&self.shared.spud, &caller);
        if caller.sees(agent_tool::NAME) {
            list.push(agent_tool::tool());
        }
        // The list depends on who asks and changes with the registry: private, never fresh.
        Ok(ListToolsResult::with_all_items(list)
            .with_ttl_ms(0)
            .with_cache_scope(CacheScope::Private))
    }

    fn get_tool(&self, _name: &str) -> Option<rmcp::model::Tool> {
        // Arguments are checked by the sandbox against the tool's own types, with field paths.
        None
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, McpError> {
        let caller = self.caller(&context)?;
        self.call(caller, request, context).await.map(Into::into)
    }

    fn accepted_subscription_filter(
        &self,
        requested: &SubscriptionFilter,
    ) -> Option<SubscriptionFilter> {
        Some(requested.supported_by(&self.get_info().capabilities))
    }

    async fn listen(&self, context: SubscriptionContext) -> Result<(), McpError> {
        let mut changes = self.shared.changes.subscribe();
        loop {
            tokio::select! {
                () = context.cancelled() => return Ok(()),
                () = self.shared.hard_stop.cancelled() => return Ok(()),
                r = changes.recv() => match r {
                    Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => {
                        if context.accepted().tools_list_changed == Some(true)
                            && context.sink().notify_tool_list_changed().await.is_err()
                        {
                            return Ok(());
                        }
                    }
                    Err(broadcast::error::RecvError::Closed) => return Ok(()),
                },
            }
        }
    }
}
