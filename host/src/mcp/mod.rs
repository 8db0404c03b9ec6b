//! `spud serve`: every registered tool, and the agent itself (`run_agent`), as an MCP server
//! over stdio or Streamable HTTP, built on the official Rust SDK (`rmcp`).
//!
//! - [`server`]: the MCP handler — `tools/list` filtered per caller, `tools/call` in a fresh
//!   sandbox through [`Spud::call_as`], progress and cancellation, `list_changed`;
//! - [`tools`]: registry entries → MCP tools, call reports → MCP results;
//! - [`auth`]: bearer tokens → principals (constant-time comparison, tokens never logged);
//! - [`limits`]: per-principal concurrency (semaphore) and request rate (token bucket);
//! - [`http`]: the HTTP front: authentication, rate limits (429 + `Retry-After`), request
//!   size limits, then rmcp's Streamable HTTP service;
//! - [`watch`]: notices tools added or removed by other processes;
//! - [`agent_tool`]: `run_agent`, the agent loop with the caller's tools and grants;
//! - [`browsers`]: one browser session per MCP session, closed with it (and at shutdown).
//!
//! Every call is recorded in the audit log under the caller's principal; refusals before a call
//! (bad token, rate, concurrency, a tool the principal may not see) are `access` records.

pub mod agent_tool;
pub mod auth;
pub mod browsers;
pub mod http;
pub mod limits;
mod options;
pub mod server;
mod shared;
mod stdio;
pub mod tools;
pub mod watch;

pub use options::{shutdown_signal, ServeError, ServeOptions, Shutdown};
pub use server::SpudServer;
pub use shared::Shared;
pub use stdio::serve_stdio;
