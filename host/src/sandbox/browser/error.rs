//! Why a browser call failed: the WIT `browser-error`, as a typed error.

/// Why a browser call failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BrowserError {
    /// The grant does not allow it; the message names what would.
    #[error("denied: {0}")]
    Denied(String),
    /// No such page, or no element with that reference.
    #[error("not found: {0}")]
    NotFound(String),
    /// The action did not finish within its wall-time limit.
    #[error("timeout: {0}")]
    Timeout(String),
    /// A limit of the session (pages, wall time, bytes, caps).
    #[error("limit: {0}")]
    Limit(String),
    /// The browser process died or stopped answering.
    #[error("crashed: {0}")]
    Crashed(String),
    /// Anything else.
    #[error("failed: {0}")]
    Failed(String),
}

impl BrowserError {
    /// The error's kind as the WIT variant names it (`denied`, `timeout`, …).
    pub fn kind(&self) -> &'static str {
        match self {
            BrowserError::Denied(_) => "denied",
            BrowserError::NotFound(_) => "not-found",
            BrowserError::Timeout(_) => "timeout",
            BrowserError::Limit(_) => "limit",
            BrowserError::Crashed(_) => "crashed",
            BrowserError::Failed(_) => "failed",
        }
    }
}

impl From<chromiumoxide::error::CdpError> for BrowserError {
    fn from(e: chromiumoxide::error::CdpError) -> Self {
        use chromiumoxide::error::CdpError as E;
        match e {
            E::Ws(_) | E::ChannelSendError(_) | E::NoResponse => {
                BrowserError::Crashed(format!("the browser stopped answering: {e}"))
            }
            E::Timeout => BrowserError::Timeout("the browser did not answer in time".into()),
            E::NotFound => BrowserError::NotFound("no such element".into()),
            other => BrowserError::Failed(other.to_string()),
        }
    }
}
