//! One browser session: a Chromium process with a profile, its proxy, its pages. Started on the
//! first browser call of a run, closed with the run: the process is killed, its peak memory
//! measured and its profile removed — unless the grant names a profile directory
//! (`browser_profile`), which is kept for the next session and held by one session at a time.

use super::chrome;
use super::error::BrowserError;
use super::limits::BrowserLimits;
use super::proxy::{self, Proxy, ProxyCtx};
use chromiumoxide::{Browser, Page};
use futures::StreamExt;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
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
    profile: Option<Profile>,
    started: Instant,
    pid: Option<u32>,
    pub(super) limits: BrowserLimits,
}

/// Where a session keeps its profile.
enum Profile {
    /// A fresh directory, removed when the session closes.
    Fresh(tempfile::TempDir),
    /// The grant's directory, kept; `_lock` holds it for this session alone.
    Kept { dir: PathBuf, _lock: std::fs::File },
}

impl Profile {
    /// A fresh profile, or the granted directory `kept` (created if missing), locked.
    fn open(kept: Option<&Path>) -> Result<Profile, BrowserError> {
        let Some(dir) = kept else {
            return tempfile::Builder::new()
                .prefix("spud-browser-")
                .tempdir()
                .map(Profile::Fresh)
                .map_err(|e| BrowserError::Failed(format!("no profile directory: {e}")));
        };
        let failed = |e: std::io::Error| {
            BrowserError::Failed(format!(
                "the browser profile {} (browser_profile) cannot be used: {e}",
                dir.display()
            ))
        };
        std::fs::create_dir_all(dir).map_err(failed)?;
        let lock = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(dir.join("spud-session.lock"))
            .map_err(failed)?;
        match lock.try_lock() {
            Ok(()) => {
                // Chromium's own marks of a running browser, left by one spud killed: no
                // browser uses this profile now (the lock says so).
                for mark in ["SingletonLock", "SingletonSocket", "SingletonCookie"] {
                    let _ = std::fs::remove_file(dir.join(mark));
                }
                Ok(Profile::Kept {
                    dir: dir.to_path_buf(),
                    _lock: lock,
                })
            }
            Err(std::fs::TryLockError::WouldBlock) => Err(BrowserError::Limit(format!(
                "the browser profile {} is in use by another session (one session at a time \
                 per browser_profile); wait for it to end, or give this tool its own profile",
                dir.display()
            ))),
            Err(std::fs::TryLockError::Error(e)) => Err(failed(e)),
        }
    }

    fn path(&self) -> &Path {
        match self {
            Profile::Fresh(t) => t.path(),
            Profile::Kept { dir, .. } => dir,
        }
    }

    /// Removes a fresh profile; a kept one stays (its lock released).
    fn close(self) {
        if let Profile::Fresh(t) = self {
            let path = t.path().to_path_buf();
            if t.close().is_err() {
                // A child process may still have been writing; one more try.
                let _ = std::fs::remove_dir_all(path);
            }
        }
    }
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
    /// Starts Chromium with a fresh profile (or the granted directory `kept`), its traffic
    /// pinned to a new proxy checking with `ctx`.
    pub async fn start(
        ctx: Arc<ProxyCtx>,
        limits: BrowserLimits,
        kept: Option<&Path>,
    ) -> Result<Session, BrowserError> {
        let profile = Profile::open(kept)?;
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

    /// The profile directory (removed on close unless the grant names it).
    pub fn profile_dir(&self) -> Option<PathBuf> {
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
        if matches!(self.profile, Some(Profile::Kept { .. })) {
            // A kept profile is written on the way out (cookies are flushed at shutdown): let
            // the browser finish exiting before anything is killed.
            let _ = tokio::time::timeout(Duration::from_secs(5), self.browser.wait()).await;
        }
        if let Some(pid) = self.pid {
            chrome::kill_tree(pid);
        }
        if let Some(child) = self.browser.get_mut_child() {
            let _ = child.kill().await;
        }
        self.handler.abort();
        if let Some(profile) = self.profile.take() {
            profile.close();
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
