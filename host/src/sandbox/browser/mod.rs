//! The `spud:browser` host capability: a headless Chromium per session (one agent run, MCP
//! session or CLI call), driven over the DevTools protocol, whose every request goes through a
//! proxy of spud and is checked by the call's HTTP gate.
//!
//! - [`error`]: why a browser call failed (the WIT `browser-error`).
//! - [`limits`]: pages, wall time, caps (the grant's `browser_limits`).
//! - [`proxy`]: the per-session proxy that checks each request and tunnel with the gate.
//! - [`chrome`]: finding and launching Chromium with its traffic pinned to the proxy; peak
//!   memory of its processes.
//! - [`session`]: one browser, its pages and the actions on them.
//! - [`slot`]: where a run keeps its session; binding a call's gate; crash and hang handling.
//! - [`host`]: the WIT bindings, linked for every component (denied without the grant).

mod actions;
pub mod chrome;
pub mod error;
pub mod host;
pub mod limits;
pub mod proxy;
pub mod session;
pub mod slot;

pub use error::BrowserError;
pub use limits::BrowserLimits;
pub use session::{Action, Cookie, Reply, SessionStats, Snapshot};
pub use slot::{close_decision, BrowserAccess, BrowserSlot, Ended};
