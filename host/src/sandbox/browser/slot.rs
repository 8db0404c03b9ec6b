//! Where a run keeps its browser session ([`BrowserSlot`]), and a call's door to it
//! ([`BrowserAccess`]): the grant check, the call's gate bound to the proxy, the action's
//! deadline, and what a crashed or hung browser becomes.

use super::error::BrowserError;
use super::limits::BrowserLimits;
use super::proxy::ProxyCtx;
use super::session::{Action, Reply, Session, SessionStats};
use crate::sandbox::http::HttpGate;
use crate::sandbox::journal::{Capability, Decision};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The browser session of one run (or MCP session, or CLI call): started by the first browser
/// call, shared by the calls after it, closed by [`BrowserSlot::close`] (or when the last
/// reference goes: the browser is killed with its process handle and the profile removed).
pub struct BrowserSlot {
    session: tokio::sync::Mutex<Option<Session>>,
    ctx: Arc<ProxyCtx>,
    limits: BrowserLimits,
}

impl std::fmt::Debug for BrowserSlot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BrowserSlot")
            .field("limits", &self.limits)
            .field("bytes", &self.ctx.bytes())
            .finish_non_exhaustive()
    }
}

impl BrowserSlot {
    /// An empty slot whose sessions have `limits`.
    pub fn new(limits: BrowserLimits) -> Arc<BrowserSlot> {
        Arc::new(BrowserSlot {
            session: tokio::sync::Mutex::new(None),
            ctx: ProxyCtx::new(limits.total_bytes),
            limits,
        })
    }

    /// Performs `action` under the slot's own limits ([`BrowserSlot::act_under`]).
    pub async fn act(
        &self,
        gate: &HttpGate,
        action: Action,
        deadline: Duration,
    ) -> Result<Reply, BrowserError> {
        self.act_under(gate, action, deadline, self.limits, None)
            .await
    }

    /// Performs `action` with the pages' requests checked by `gate`, within `deadline` (and
    /// the action limit of `limits`, the calling grant's, met with the slot's own). Starts the
    /// session if there is none, its profile the calling grant's `profile` if it names one.
    /// Requests refused between calls are recorded first, as decisions of this call. A dead
    /// browser is reported as [`BrowserError::Crashed`] and dropped (the next action starts a
    /// new one); an action that runs out of time is [`BrowserError::Timeout`] and its page is
    /// closed.
    pub async fn act_under(
        &self,
        gate: &HttpGate,
        action: Action,
        deadline: Duration,
        limits: BrowserLimits,
        profile: Option<&std::path::Path>,
    ) -> Result<Reply, BrowserError> {
        let limits = self.limits.min(limits);
        let mut held = self.session.lock().await;
        for d in self.ctx.take_between() {
            gate.journal().deny(d.capability, &d.target, d.reason);
        }
        if let Some(mut s) = held.take() {
            if s.is_dead() {
                s.close().await;
                return Err(BrowserError::Crashed("the browser process died; the session is gone (its pages and cookies with it) and the next call starts a new one".into()));
            }
            if s.age() > limits.session {
                s.close().await;
                return Err(BrowserError::Limit(format!("the browser session is over its wall time of {} ms (browser_limits.session_ms) and was closed; the next call starts a new one", limits.session.as_millis())));
            }
            *held = Some(s);
        }
        self.ctx.set_max_bytes(limits.total_bytes);
        self.ctx.bind(gate.clone());
        if held.is_none() {
            *held = Some(self.start(limits, profile).await?);
        }
        let Some(session) = held.as_mut() else {
            return Err(BrowserError::Failed("no browser session".into()));
        };
        session.set_limits(limits);
        let page = action.page();
        let navigating = matches!(action, Action::Navigate(..));
        self.ctx.take_refused();
        let limit = deadline.min(limits.action);
        let outcome = tokio::time::timeout(limit, session.perform(action)).await;
        match outcome {
            Ok(Ok(Reply::Url(url))) if navigating => self.check_document(url, gate),
            Ok(Ok(r)) => Ok(r),
            Ok(Err(e)) => {
                if matches!(e, BrowserError::Crashed(_)) || session.is_dead() {
                    if let Some(s) = held.take() {
                        s.close().await;
                    }
                    return Err(BrowserError::Crashed(format!("the browser died during the action ({e}); the next call starts a new session")));
                }
                Err(e)
            }
            Err(_) => {
                if let Some(p) = page {
                    session.drop_page(p);
                }
                Err(BrowserError::Timeout(format!(
                    "the action did not finish within {} ms (a page spinning, or a load that never ends); its page was closed",
                    limit.as_millis()
                )))
            }
        }
    }

    /// A navigation whose document itself was refused by the proxy is a denial.
    fn check_document(&self, url: String, gate: &HttpGate) -> Result<Reply, BrowserError> {
        if self.ctx.take_refused().contains(&url) {
            return Err(BrowserError::Denied(format!(
                "{url} was refused: no network grant of {} allows it (the call's capability decisions say which pattern would)",
                gate.plugin()
            )));
        }
        Ok(Reply::Url(url))
    }

    async fn start(
        &self,
        limits: BrowserLimits,
        profile: Option<&std::path::Path>,
    ) -> Result<Session, BrowserError> {
        let start = Session::start(self.ctx.clone(), limits, profile);
        match tokio::time::timeout(self.limits.launch, start).await {
            Ok(r) => r,
            Err(_) => Err(BrowserError::Timeout(format!(
                "the browser did not start within {} s",
                self.limits.launch.as_secs()
            ))),
        }
    }

    /// No call drives the browser now: its pages' requests are refused until the next one.
    pub fn unbind(&self) {
        self.ctx.unbind();
    }

    /// The call whose requests `gate` checks is over: its pages' requests are refused until
    /// the next call (unless another call of the run drives the browser now).
    pub fn release(&self, gate: &HttpGate) {
        self.ctx.unbind_if(gate);
    }

    /// Closes the session, if there is one: the browser killed, measured, its profile removed
    /// (unless granted to be kept).
    pub async fn close(&self) -> Option<SessionStats> {
        let session = self.session.lock().await.take()?;
        Some(session.close().await)
    }

    /// The run or MCP session that owns the slot is over: the browser is closed, and what is
    /// left to record — requests refused between calls since the last call, and the `close
    /// session` decision with what the session used — is returned with the plugin that last
    /// drove it. `None` when no call ever drove a browser through the slot.
    pub async fn end(&self) -> Option<Ended> {
        let stats = self.close().await;
        let plugin = self.ctx.last_plugin()?;
        let mut decisions = self.ctx.take_between();
        if let Some(stats) = &stats {
            decisions.push(close_decision(stats));
        }
        Some(Ended {
            plugin,
            decisions,
            stats,
        })
    }

    /// The browser's process id, if a session runs.
    pub async fn pid(&self) -> Option<u32> {
        self.session.lock().await.as_ref().and_then(Session::pid)
    }

    /// The session's profile directory, if a session runs.
    pub async fn profile_dir(&self) -> Option<PathBuf> {
        self.session
            .lock()
            .await
            .as_ref()
            .and_then(Session::profile_dir)
    }
}

/// What a slot's end leaves to record: decisions of `plugin`'s browser session made outside
/// any call.
#[derive(Debug, Clone)]
pub struct Ended {
    /// The plugin that last drove the browser.
    pub plugin: String,
    /// Requests refused between calls, then `close session` (when a session was running).
    pub decisions: Vec<Decision>,
    /// What the session used, when one was running.
    pub stats: Option<SessionStats>,
}

/// One call's door to the browser: whether its grant has one, the slot of its run (or one of
/// its own, closed when the call ends), and the call's deadline.
pub struct BrowserAccess {
    granted: bool,
    gate: HttpGate,
    slot: Option<Arc<BrowserSlot>>,
    own: bool,
    deadline: Instant,
    limits: BrowserLimits,
    profile: Option<PathBuf>,
}

impl BrowserAccess {
    /// The door of a call under a grant with (`granted`) or without a browser, whose requests
    /// `gate` checks, using the run's `slot` (none: a session of the call's own), under the
    /// grant's browser `limits` and `profile` directory (a session this call starts keeps its
    /// profile there).
    pub(crate) fn new(
        granted: bool,
        gate: HttpGate,
        slot: Option<Arc<BrowserSlot>>,
        timeout: Duration,
        (limits, profile): (BrowserLimits, Option<PathBuf>),
    ) -> BrowserAccess {
        BrowserAccess {
            granted,
            gate,
            slot,
            own: false,
            deadline: Instant::now() + timeout,
            limits,
            profile,
        }
    }

    /// Performs `action` if the grant has a browser; every action is a capability decision.
    pub async fn act(&mut self, action: Action) -> Result<Reply, BrowserError> {
        let what = describe(&action);
        let journal = self.gate.journal().clone();
        if !self.granted {
            let plugin = self.gate.plugin();
            let why = format!("the browser is not granted; it needs `browser = true` under [tools.{plugin}] in the policy (and `browser` requested by the tool)");
            journal.deny(Capability::Browser, &what, why.clone());
            return Err(BrowserError::Denied(why));
        }
        journal.allow(
            Capability::Browser,
            &what,
            "granted by browser = true".into(),
        );
        let slot = match &self.slot {
            Some(s) => s.clone(),
            None => {
                self.own = true;
                self.slot.insert(BrowserSlot::new(self.limits)).clone()
            }
        };
        let left = self.deadline.saturating_duration_since(Instant::now());
        slot.act_under(
            &self.gate,
            action,
            left.max(Duration::from_millis(1)),
            self.limits,
            self.profile.as_deref(),
        )
        .await
    }

    /// Closes the run's session now (a denied no-op without the grant).
    pub async fn close_now(&mut self) {
        if !self.granted {
            let plugin = self.gate.plugin().to_string();
            self.gate.journal().deny(
                Capability::Browser,
                "close session",
                format!("the browser is not granted; it needs `browser = true` under [tools.{plugin}] in the policy"),
            );
            return;
        }
        if let Some(slot) = &self.slot {
            if let Some(stats) = slot.close().await {
                record_close(&self.gate, slot, &stats);
            }
        }
    }

    /// The call is over: the pages' requests are refused from now on; a session of the call's
    /// own is closed and what it used recorded.
    pub async fn finish(&mut self) {
        let Some(slot) = &self.slot else { return };
        slot.release(&self.gate);
        if self.own {
            if let Some(stats) = slot.close().await {
                record_close(&self.gate, slot, &stats);
            }
        }
    }
}

impl Drop for BrowserAccess {
    fn drop(&mut self) {
        if let Some(slot) = &self.slot {
            slot.release(&self.gate);
        }
    }
}

/// What a closed session used, as a decision of the call that closed it (with the requests
/// refused between calls, recorded first).
fn record_close(gate: &HttpGate, slot: &BrowserSlot, stats: &SessionStats) {
    for d in slot.ctx.take_between() {
        gate.journal().deny(d.capability, &d.target, d.reason);
    }
    let d = close_decision(stats);
    gate.journal().allow(d.capability, &d.target, d.reason);
}

/// The `close session` decision: what the session used.
pub fn close_decision(stats: &SessionStats) -> Decision {
    Decision {
        capability: Capability::Browser,
        target: "close session".into(),
        allowed: true,
        reason: format!(
            "browser killed, profile removed: peak RSS {} bytes, {} pages, {} requests, {} bytes, {} refused between calls, {} ms",
            stats.peak_rss_bytes,
            stats.pages_opened,
            stats.requests,
            stats.bytes,
            stats.refused_between,
            stats.duration_ms
        ),
    }
}

/// An action as a decision's target (a typed text is not shown: it may be a secret).
fn describe(action: &Action) -> String {
    match action {
        Action::NewPage => "new page".into(),
        Action::Pages => "list pages".into(),
        Action::ClosePage(p) => format!("close page {p}"),
        Action::Navigate(p, url) => format!("navigate page {p} to {url}"),
        Action::Snapshot(p, _) => format!("snapshot page {p}"),
        Action::Click(p, r) => format!("click {r} on page {p}"),
        Action::Type { page, element, .. } => format!("type into {element} on page {page}"),
        Action::Select(p, r, _) => format!("select in {r} on page {p}"),
        Action::Press(p, k) => format!("press {k} on page {p}"),
        Action::Scroll(p, _, _) => format!("scroll page {p}"),
        Action::WaitText(p, _, _) => format!("wait for text on page {p}"),
        Action::WaitNavigation(p, _) => format!("wait for navigation on page {p}"),
        Action::Text(p, _) => format!("text of page {p}"),
        Action::Screenshot(p) => format!("screenshot of page {p}"),
        Action::Back(p) => format!("back on page {p}"),
        Action::Forward(p) => format!("forward on page {p}"),
        Action::Cookies => "cookies".into(),
    }
}
