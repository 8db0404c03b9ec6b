//! The limits of a browser session: the grant's `browser_limits` (the meet of the policy's
//! sections along the chain, `spud_policy::BrowserLimits`) in the units the session uses; a
//! call's own deadline lowers the wall time of each action further.

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
    /// Time to start the browser (built in).
    pub launch: Duration,
}

impl BrowserLimits {
    /// The limits a grant's `browser_limits` set.
    pub fn of(granted: &spud_policy::BrowserLimits) -> BrowserLimits {
        let size = |v: u64| usize::try_from(v).unwrap_or(usize::MAX);
        BrowserLimits {
            max_pages: size(granted.pages),
            action: Duration::from_millis(granted.action_ms),
            session: Duration::from_millis(granted.session_ms),
            snapshot_bytes: size(granted.snapshot_bytes),
            screenshot_bytes: size(granted.screenshot_bytes),
            total_bytes: granted.total_bytes,
            launch: Duration::from_secs(20),
        }
    }
}

impl BrowserLimits {
    /// The smaller of each limit: a slot's own limits met with a calling grant's.
    pub fn min(self, other: BrowserLimits) -> BrowserLimits {
        BrowserLimits {
            max_pages: self.max_pages.min(other.max_pages),
            action: self.action.min(other.action),
            session: self.session.min(other.session),
            snapshot_bytes: self.snapshot_bytes.min(other.snapshot_bytes),
            screenshot_bytes: self.screenshot_bytes.min(other.screenshot_bytes),
            total_bytes: self.total_bytes.min(other.total_bytes),
            launch: self.launch.min(other.launch),
        }
    }
}

impl Default for BrowserLimits {
    fn default() -> Self {
        BrowserLimits::of(&spud_policy::BrowserLimits::DEFAULT)
    }
}
