//! The limits of a browser session. Built-in values; a call's own deadline lowers the wall
//! time of each action further.

use std::time::Duration;

/// The limits of one browser session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BrowserLimits {
    /// Pages (tabs) open at once.
    pub max_pages: usize,
    /// Wall time of one action (navigate, click, snapshot…).
    pub action: Duration,
    /// Wall time of the whole session, from its start.
    pub session: Duration,
    /// Bytes of a snapshot's or a page text's text.
    pub snapshot_bytes: usize,
    /// Bytes of a screenshot (PNG).
    pub screenshot_bytes: usize,
    /// Bytes the session's pages may move through the proxy (in + out).
    pub total_bytes: u64,
    /// Time to start the browser.
    pub launch: Duration,
}

impl Default for BrowserLimits {
    fn default() -> Self {
        BrowserLimits {
            max_pages: 8,
            action: Duration::from_secs(15),
            session: Duration::from_secs(600),
            snapshot_bytes: 24_000,
            screenshot_bytes: 4 << 20,
            total_bytes: 64 << 20,
            launch: Duration::from_secs(20),
        }
    }
}
