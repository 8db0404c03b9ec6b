//! One browser per MCP session: each session's handler holds a [`SessionBrowser`], whose slot
//! its tool calls share (cookies, pages and history carry over from one call to the next) and
//! which is closed when the session ends — the handler dropped — or when the server shuts
//! down ([`Browsers::close_all`]), with the `close session` decision recorded either way.

use crate::sandbox::browser::{BrowserLimits, BrowserSlot};
use crate::service::Spud;
use std::sync::{Arc, Mutex, Weak};
use tokio_util::task::TaskTracker;

/// The browser slots of a server's sessions, for closing them at shutdown.
#[derive(Default)]
pub struct Browsers {
    open: Mutex<Vec<Weak<BrowserSlot>>>,
    closing: TaskTracker,
}

impl Browsers {
    /// A slot for a new session, kept until the session ends.
    pub(super) fn session(self: &Arc<Self>, spud: Arc<Spud>) -> SessionBrowser {
        let slot = BrowserSlot::new(BrowserLimits::default());
        if let Ok(mut open) = self.open.lock() {
            open.retain(|w| w.strong_count() > 0);
            open.push(Arc::downgrade(&slot));
        }
        SessionBrowser {
            slot,
            spud,
            browsers: self.clone(),
        }
    }

    /// Closes every session's browser still open, records each, and waits for the closes
    /// that ended sessions started (at most 10 s).
    pub async fn close_all(&self, spud: &Spud) {
        let open: Vec<Arc<BrowserSlot>> = self
            .open
            .lock()
            .map(|mut o| o.drain(..).filter_map(|w| w.upgrade()).collect())
            .unwrap_or_default();
        for slot in open {
            record(spud, &slot).await;
        }
        self.closing.close();
        let _ = tokio::time::timeout(std::time::Duration::from_secs(10), self.closing.wait()).await;
    }
}

/// The browser of one MCP session; closed and recorded when dropped (with the session).
pub struct SessionBrowser {
    slot: Arc<BrowserSlot>,
    spud: Arc<Spud>,
    browsers: Arc<Browsers>,
}

impl SessionBrowser {
    /// The slot the session's calls share.
    pub fn slot(&self) -> Arc<BrowserSlot> {
        self.slot.clone()
    }
}

impl Drop for SessionBrowser {
    fn drop(&mut self) {
        // With no runtime to close it on, the slot goes with this handle and its browser is
        // killed as it goes (unrecorded).
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            let (slot, spud) = (self.slot.clone(), self.spud.clone());
            // Tracked, so that a server shutting down waits for it to be recorded.
            let task = self
                .browsers
                .closing
                .track_future(async move { record(&spud, &slot).await });
            rt.spawn(task);
        }
    }
}

/// Closes `slot`'s browser and records the end of its session.
async fn record(spud: &Spud, slot: &BrowserSlot) {
    if let Err(e) = spud.close_browser(slot).await {
        tracing::warn!("an MCP session's browser could not be recorded: {e}");
    }
}
