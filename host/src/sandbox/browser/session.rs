//! One browser session: a Chromium process with a fresh profile, its proxy, its pages. Started
//! on the first browser call of a run, closed with the run: the process is killed, its peak
//! memory measured and its profile removed.

use super::chrome;
use super::error::BrowserError;
use super::limits::BrowserLimits;
use super::proxy::{self, Proxy, ProxyCtx};
use chromiumoxide::{Browser, Page};
use futures::StreamExt;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::task::JoinHandle;

pub use super::actions::{Action, Cookie, Reply, Snapshot};

/// What a closed session used.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct SessionStats {
    /// The peak resident memory of the browser's processes (sum of each one's high-water
    /// mark), bytes.
    pub peak_rss_bytes: u64,
    /// Pages opened.
    pub pages_opened: u64,
    /// Requests and tunnels the proxy let through.
    pub requests: u64,
    /// Bytes the pages moved through the proxy (in + out), refused requests' heads included.
    pub bytes: u64,
    /// Requests refused because no call was in flight (a page's timer between two calls).
    pub refused_between: u64,
    /// How long the session lived, ms.
    pub duration_ms: u64,
}

/// A running browser.
pub struct Session {
    pub(super) browser: Browser,
    handler: JoinHandle<()>,
    pub(super) pages: BTreeMap<u32, Page>,
    next_page: u32,
    _proxy: Proxy,
    pub(super) ctx: Arc<ProxyCtx>,
    profile: Option<tempfile::TempDir>,
    started: Instant,
    pid: Option<u32>,
    pub(super) limits: BrowserLimits,
}

impl Drop for Session {
    /// However the session ends — closed, dropped with its run, or with a panic unwinding —
    /// the browser process is killed now, not whenever the runtime gets to it.
    fn drop(&mut self) {
        if let Some(pid) = self.pid {
            chrome::kill_tree(pid);
        }
        if let Some(child) = self.browser.get_mut_child() {
            let _ = child.as_mut_inner().start_kill();
        }
        self.handler.abort();
    }
}

impl Session {
    /// Starts Chromium with a fresh profile, its traffic pinned to a new proxy checking with
    /// `ctx`.
    pub async fn start(ctx: Arc<ProxyCtx>, limits: BrowserLimits) -> Result<Session, BrowserError> {
        let profile = tempfile::Builder::new()
            .prefix("spud-browser-")
            .tempdir()
            .map_err(|e| BrowserError::Failed(format!("no profile directory: {e}")))?;
        let proxy = proxy::start(ctx.clone())
            .await
            .map_err(|e| BrowserError::Failed(format!("the browser's proxy did not start: {e}")))?;
        let (mut browser, mut handler) =
            chrome::launch(profile.path(), proxy.addr, &limits).await?;
        let handler = tokio::spawn(async move {
            // Errors are per message (an event it cannot decode); the stream ends when the
            // browser's connection does.
            while handler.next().await.is_some() {}
        });
        let pid = browser.get_mut_child().and_then(|c| c.as_mut_inner().id());
        Ok(Session {
            browser,
            handler,
            pages: BTreeMap::new(),
            next_page: 1,
            _proxy: proxy,
            ctx,
            profile: Some(profile),
            started: Instant::now(),
            pid,
            limits,
        })
    }

    /// The browser's process id.
    pub fn pid(&self) -> Option<u32> {
        self.pid
    }

    /// Whether the browser process is gone or its connection closed.
    pub fn is_dead(&mut self) -> bool {
        self.handler.is_finished()
            || self
                .browser
                .get_mut_child()
                .is_some_and(|c| !matches!(c.try_wait(), Ok(None)))
    }

    /// How long the session has lived.
    pub fn age(&self) -> Duration {
        self.started.elapsed()
    }

    /// The profile directory (removed on close).
    pub fn profile_dir(&self) -> Option<std::path::PathBuf> {
        self.profile.as_ref().map(|p| p.path().to_path_buf())
    }

    /// The limits the next actions run under (the grant of the call driving the session).
    pub(super) fn set_limits(&mut self, limits: BrowserLimits) {
        self.limits = limits;
    }

    /// Opens a page, if the session has room for one.
    pub(super) async fn new_page(&mut self) -> Result<u32, BrowserError> {
        if self.pages.len() >= self.limits.max_pages {
            return Err(BrowserError::Limit(format!(
                "a session has at most {} pages open (browser_limits.pages); close one first",
                self.limits.max_pages
            )));
        }
        let page = self.browser.new_page("about:blank").await?;
        let id = self.next_page;
        self.next_page += 1;
        self.pages.insert(id, page);
        Ok(id)
    }

    /// The page `id`.
    pub(super) fn page(&self, id: u32) -> Result<&Page, BrowserError> {
        self.pages
            .get(&id)
            .ok_or_else(|| BrowserError::NotFound(format!("no page {id} in this session")))
    }

    /// Closes page `id` without waiting long for it (a page spinning JavaScript may not answer).
    pub(super) fn drop_page(&mut self, id: u32) {
        if let Some(page) = self.pages.remove(&id) {
            tokio::spawn(async move {
                let _ = tokio::time::timeout(Duration::from_secs(2), page.close()).await;
            });
        }
    }

    /// Kills the browser, measures it and removes its profile.
    pub async fn close(mut self) -> SessionStats {
        let peak_rss_bytes = self.pid.map(chrome::peak_rss).unwrap_or(0);
        let pages_opened = u64::from(self.next_page - 1);
        let _ = tokio::time::timeout(Duration::from_secs(2), self.browser.close()).await;
        if let Some(pid) = self.pid {
            chrome::kill_tree(pid);
        }
        if let Some(child) = self.browser.get_mut_child() {
            let _ = child.kill().await;
        }
        self.handler.abort();
        if let Some(profile) = self.profile.take() {
            let path = profile.path().to_path_buf();
            if profile.close().is_err() {
                // A child process may still have been writing; one more try.
                let _ = std::fs::remove_dir_all(path);
            }
        }
        SessionStats {
            peak_rss_bytes,
            pages_opened,
            requests: self.ctx.requests(),
            bytes: self.ctx.bytes(),
            refused_between: self.ctx.refused_between(),
            duration_ms: u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX),
        }
    }
}
