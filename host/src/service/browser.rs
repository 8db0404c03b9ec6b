//! The end of a browser session that outlives its calls (one per run, one per MCP session):
//! the browser closed and what is left to record — requests refused between calls, the
//! `close session` decision with what the session used — written to the audit log as
//! capability records of the session.

use super::caller::SpudError;
use super::scratch::new_call_id;
use super::spud::Spud;
use crate::sandbox::browser::{BrowserSlot, Ended};
use spud_audit::Event;

impl Spud {
    /// Closes the browser session held in `slot`, if one ran, and records what is left of it
    /// (see [`Spud::record_session_end`]). What the session used is returned.
    pub async fn close_browser(&self, slot: &BrowserSlot) -> Result<Option<Ended>, SpudError> {
        let Some(ended) = slot.end().await else {
            return Ok(None);
        };
        self.record_session_end(&ended)?;
        Ok(Some(ended))
    }

    /// Writes the decisions of a browser session made outside any call as capability records:
    /// one session id (like a call id) for them all, the plugin that last drove the browser
    /// as the tool, its component digest.
    pub fn record_session_end(&self, ended: &Ended) -> Result<(), SpudError> {
        if ended.decisions.is_empty() {
            return Ok(());
        }
        let digest = self
            .registry()
            .get(&ended.plugin)
            .map(|e| e.digest.clone())
            .unwrap_or_default();
        let session = format!("browser-session-{}", new_call_id());
        let events = ended
            .decisions
            .iter()
            .map(|d| {
                Event::capability(
                    &session,
                    &ended.plugin,
                    &digest,
                    d.capability.as_str(),
                    &d.target,
                    d.allowed,
                    &d.reason,
                )
            })
            .collect();
        self.audit.append_many(events)?;
        Ok(())
    }
}
