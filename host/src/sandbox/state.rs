//! The store data of one call, built from an effective [`Grant`]: a WASI context with exactly
//! the granted directories and variables (no args, no stdin, no host stdio), sockets behind an
//! address check, HTTP behind [`HttpGate`], and a memory limiter that remembers when it said no.

use super::browser::{BrowserAccess, BrowserSlot};
use super::http::{HttpGate, Resolver};
use super::journal::{Capability, Journal};
use super::output::Capture;
use spud_policy::{Access, EnvGrant, Grant};
use std::sync::Arc;
use wasmtime::component::ResourceTable;
use wasmtime::ResourceLimiter;
use wasmtime_wasi::filesystem::FsPerms;
use wasmtime_wasi::sockets::SocketAddrUse;
use wasmtime_wasi::{WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpView};

/// Memory limiter that records the growth it refused, so a trap that follows can be reported
/// as "memory limit" rather than a bare crash.
pub struct MemoryCap {
    max_bytes: usize,
    /// The size a refused growth asked for.
    pub refused: Option<usize>,
}

impl ResourceLimiter for MemoryCap {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.max_bytes {
            self.refused = Some(desired);
            return Ok(false);
        }
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= 1_000_000)
    }
}

/// Everything a store holds for one call.
pub struct HostState {
    wasi: WasiCtx,
    http: WasiHttpCtx,
    hooks: HttpGate,
    table: ResourceTable,
    /// The memory limiter.
    pub memory: MemoryCap,
    /// Decisions made during the call.
    pub journal: Arc<Journal>,
    /// Whether DNS lookups are granted (checked by the lookup shim).
    pub dns_allowed: bool,
    /// The granted directories in words, for file decisions.
    pub files_summary: Arc<str>,
    /// Captured stdout.
    pub stdout: Capture,
    /// Captured stderr.
    pub stderr: Capture,
    /// The caller's live budget, charged as the call runs.
    pub meter: Option<Arc<dyn super::meter::Meter>>,
    /// The fuel used when the meter ran dry and the call was stopped.
    pub meter_stop: Option<u64>,
    /// The call's door to a browser (denied unless the grant has `browser`).
    pub browser: BrowserAccess,
}

impl WasiView for HostState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl WasiHttpView for HostState {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView {
            ctx: &mut self.http,
            table: &mut self.table,
            hooks: &mut self.hooks,
        }
    }
}

/// Where the grant-independent parts of a call come from.
pub struct CallEnv<'a> {
    /// Plugin name, for denial messages that say which policy section to edit.
    pub plugin: &'a str,
    /// Name resolution for HTTP.
    pub resolver: Arc<dyn Resolver>,
    /// Where registered secrets may go (empty: nothing registered, nothing scanned).
    pub guard: Arc<spud_policy::LeakGuard>,
    /// The caller's live budget (fuel, network bytes), shared with its other calls in flight.
    pub meter: Option<Arc<dyn super::meter::Meter>>,
    /// Credentials the HTTP gate adds to requests to their destinations (empty: none).
    pub credentials: Arc<[super::http_creds::HeldCredential]>,
    /// The browser session of the caller's run (none: a call that drives a browser gets a
    /// session of its own, closed when the call ends).
    pub browser: Option<Arc<BrowserSlot>>,
}

impl HostState {
    /// Builds the store data for a call under `grant`.
    pub fn new(grant: &Grant, env: &CallEnv<'_>) -> anyhow::Result<HostState> {
        let journal = Arc::new(Journal::default());
        let stdout = Capture::new(grant.limits.stdout_bytes);
        let stderr = Capture::new(grant.limits.stderr_bytes);
        let mut b = WasiCtxBuilder::new();
        b.stdout(stdout.clone()).stderr(stderr.clone());
        b.allow_blocking_current_thread(false);
        preopen(&mut b, grant)?;
        set_env(&mut b, grant);
        check_sockets(&mut b, grant, env.plugin, &journal);
        let hooks = HttpGate {
            patterns: grant.network.clone().into(),
            resolver: env.resolver.clone(),
            journal: journal.clone(),
            plugin: env.plugin.into(),
            guard: env.guard.clone(),
            meter: env.meter.clone(),
            credentials: env.credentials.clone(),
        };
        let browser = BrowserAccess::new(
            grant.browser,
            hooks.clone(),
            env.browser.clone(),
            std::time::Duration::from_millis(grant.limits.timeout_ms),
            (
                super::browser::BrowserLimits::of(&grant.browser_limits),
                grant.browser_profile.clone(),
            ),
        );
        let max_bytes =
            usize::try_from(grant.limits.memory_mb.saturating_mul(1 << 20)).unwrap_or(usize::MAX);
        Ok(HostState {
            wasi: b.build(),
            http: WasiHttpCtx::new(),
            hooks,
            table: ResourceTable::new(),
            memory: MemoryCap {
                max_bytes,
                refused: None,
            },
            journal,
            dns_allowed: grant.sockets.dns,
            files_summary: files_summary(grant),
            stdout,
            stderr,
            meter: env.meter.clone(),
            meter_stop: None,
            browser,
        })
    }
}

/// Preopens each granted directory with its access.
fn preopen(b: &mut WasiCtxBuilder, grant: &Grant) -> anyhow::Result<()> {
    for f in &grant.files {
        let perms = match f.access {
            Access::ReadOnly => FsPerms::ReadOnly,
            Access::ReadWrite => FsPerms::ReadWrite,
        };
        b.preopened_dir(&f.host, &f.guest, perms).map_err(|e| {
            anyhow::anyhow!(
                "granted directory {} cannot be opened: {e}",
                f.host.display()
            )
        })?;
    }
    Ok(())
}

/// Sets the granted variables: passed ones from the host's environment (when set there), fixed
/// ones with their value.
fn set_env(b: &mut WasiCtxBuilder, grant: &Grant) {
    for e in &grant.env {
        match e {
            EnvGrant::Pass(name) => {
                if let Ok(v) = std::env::var(name) {
                    b.env(name, v);
                }
            }
            EnvGrant::Fixed(name, value) => {
                b.env(name, value);
            }
        }
    }
}

/// Sockets: every TCP connect is checked against the grant's `tcp_connect` patterns and
/// recorded; DNS lookups as granted.
fn check_sockets(b: &mut WasiCtxBuilder, grant: &Grant, plugin: &str, journal: &Arc<Journal>) {
    // TCP stays switched on so every attempt reaches the address check and is recorded;
    // the check refuses anything the grant does not list. UDP is never granted.
    let tcp = grant.sockets.tcp_connect.clone();
    let plugin = plugin.to_string();
    let j = journal.clone();
    b.allow_tcp(true)
        .allow_udp(false)
        .allow_ip_name_lookup(grant.sockets.dns);
    b.socket_addr_check(move |addr, use_| {
        let (allowed, target, reason) = match use_ {
            SocketAddrUse::TcpConnect => match tcp.iter().find(|p| p.matches(addr.ip(), addr.port())) {
                Some(p) => (true, format!("tcp connect {addr}"), format!("granted by {p}")),
                None => (
                    false,
                    format!("tcp connect {addr}"),
                    format!("no socket grant allows it; it needs `sockets = {{ tcp_connect = [\"{addr}\"] }}` under [tools.{plugin}] in the policy (and requested by the tool)"),
                ),
            },
            // The implicit bind before a connect uses the wildcard address.
            SocketAddrUse::TcpBind if addr.ip().is_unspecified() && addr.port() == 0 => {
                return Box::pin(async { true });
            }
            other => (false, format!("{other:?} {addr}"), "listening and UDP are never granted to tools".to_string()),
        };
        if allowed {
            j.allow(Capability::Socket, &target, reason);
        } else {
            j.deny(Capability::Socket, &target, reason);
        }
        Box::pin(async move { allowed })
    });
}

fn files_summary(grant: &Grant) -> Arc<str> {
    if grant.files.is_empty() {
        return "none".into();
    }
    grant
        .files
        .iter()
        .map(|f| format!("{} ({})", f.guest, f.access))
        .collect::<Vec<_>>()
        .join(", ")
        .into()
}
