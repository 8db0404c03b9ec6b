//! The MCP handler. One [`Shared`] per server process; one [`SpudServer`] per MCP session
//! (stdio has one; Streamable HTTP makes one per session or stateless request).

use super::shared::Shared;
use super::{agent_tool, tools};
use crate::service::{CallDispatch, Caller, Spud, SpudError};
use rmcp::model::{
    CacheScope, CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock,
    Implementation, ListToolsResult, PaginatedRequestParams, ProgressNotificationParam,
    ProgressToken, ServerCapabilities, ServerConfig, SubscriptionFilter,
};
use rmcp::service::{NotificationContext, RequestContext, SubscriptionContext};
use rmcp::{ErrorData as McpError, RoleServer, ServerHandler};
use std::sync::Arc;
use std::time::Instant;
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

/// One MCP session's handler.
#[derive(Clone)]
pub struct SpudServer {
    shared: Arc<Shared>,
    /// The caller for a transport without per-request authentication (stdio); HTTP requests
    /// carry theirs in the request's extensions.
    fixed: Option<Caller>,
    /// The session's browser, shared by its calls, closed when the session ends.
    browser: Arc<super::browsers::SessionBrowser>,
}

impl SpudServer {
    /// A handler; `fixed` is the caller of every request (stdio), else taken per request.
    pub fn new(shared: Arc<Shared>, fixed: Option<Caller>) -> SpudServer {
        let browser = Arc::new(shared.browsers.session(shared.spud.clone()));
        SpudServer {
            shared,
            fixed,
            browser,
        }
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

    /// `tools/call`: the tool must be visible to the caller and a concurrency slot free; the
    /// agent tool or a tool call then runs until done, cancelled or with progress as asked.
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
        let options = crate::service::CallOptions {
            browser: Some(self.browser.slot()),
            ..crate::service::CallOptions::default()
        }
        .cancel(token.clone());
        let elsewhere = self.shared.options.calls.as_deref();
        let call = call_tool(&self.shared.spud, &caller, &name, &args, options, elsewhere);
        // A call made elsewhere runs under the worker's grant: its deadline is not known here.
        let timeout_ms = match elsewhere {
            None => self.timeout_of(&caller, &name),
            Some(_) => None,
        };
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

/// One tool call through [`Spud::call_as`] with `options` (the session's browser, the
/// request's cancellation) — or through `elsewhere` (the cluster), cancelled the same way —
/// as an MCP result: a successful value with its secrets redacted, a tool error, or an MCP
/// error for an unknown tool or a cancelled call.
async fn call_tool(
    spud: &Spud,
    caller: &Caller,
    name: &str,
    args: &serde_json::Value,
    options: crate::service::CallOptions,
    elsewhere: Option<&dyn CallDispatch>,
) -> Result<CallToolResult, McpError> {
    let called = match elsewhere {
        None => spud.call_as(caller, name, args, options).await,
        Some(d) => call_elsewhere(d, caller, name, args, options.cancel).await,
    };
    match called {
        Ok(mut report) => {
            // What goes back to a client (often a model host) carries no secret.
            if let crate::sandbox::Outcome::Ok { value } = &mut report.outcome {
                if let Some(clean) = spud.secrets().redact_json(value) {
                    *value = clean;
                }
            }
            Ok(tools::result_of(
                &report,
                spud.registry().find_tool(name).ok().map(|(_, t)| t),
            ))
        }
        Err(SpudError::Registry(crate::runtime::RegistryError::Unknown { .. })) => {
            Err(tools::unknown_tool(name))
        }
        Err(e @ SpudError::Cancelled { .. }) => Err(McpError::internal_error(e.to_string(), None)),
        Err(e) => Ok(CallToolResult::error(vec![ContentBlock::text(
            e.to_string(),
        )])),
    }
}

/// A call made by `dispatch`, until it answers or `cancel` fires: then it is no longer waited
/// for ([`SpudError::Cancelled`]); the task it became may still run on its worker.
async fn call_elsewhere(
    dispatch: &dyn CallDispatch,
    caller: &Caller,
    name: &str,
    args: &serde_json::Value,
    cancel: Option<CancellationToken>,
) -> Result<crate::runtime::CallReport, SpudError> {
    let started = Instant::now();
    let call = dispatch.call(caller, name, args);
    let Some(token) = cancel else {
        return call.await;
    };
    tokio::select! {
        r = call => r,
        () = token.cancelled() => Err(SpudError::Cancelled {
            tool: name.to_string(),
            elapsed_ms: started.elapsed().as_millis() as u64,
        }),
    }
}
