//! spud: an agent host that runs every tool as a sandboxed WASI 0.2 component.
//!
//! The layers, top down; a module imports only from layers below it (checked by
//! `cargo test -p spud --test layers` against `docs/src/architecture.md`):
//!
//! | layer | modules | holds |
//! |---|---|---|
//! | 8 | [`mcp`] | the MCP server |
//! | 7 | [`launch`] | the one run entry point (memory, judge, models, budgets, approvals) |
//! | 6 | [`config`] | spud's config file |
//! | 5 | [`agent`] | the loop: planner, step executor, critic, revisions, delegation |
//! | 4 | [`memory`], [`orchestrator`] | lessons of past runs; scheduler, approvals, figures |
//! | 3 | [`plan`], [`model`] | the vocabulary of a run; model providers |
//! | 2 | [`service`] | [`Spud`]: registry → effective grant → call → audit, the one door to a tool |
//! | 1 | [`runtime`] | engine, cache, plugin loading, registry, the call itself |
//! | 0 | [`sandbox`], [`home`], [`storage`], [`retention`], [`distribution`] | per-call store state, host imports, HTTP gate, meters; the home folder; OCI and HTTPS pulls and pushes |
//! | crates | [`spud_policy`], [`spud_schema`], [`spud_audit`], [`spud_trust`] | pure: grant algebra, WIT ↔ JSON Schema, the audit log, references, lock file, signatures |
//!
//! `cli` (in the binary) sits on top: thin commands over these.

#![warn(missing_docs)]

pub mod agent;
pub mod cluster;
pub mod config;
pub mod distribution;
pub mod home;
pub mod launch;
pub mod mcp;
pub mod memory;
pub mod model;
pub mod orchestrator;
pub mod plan;
pub mod retention;
pub mod runtime;
pub mod sandbox;
pub mod service;
pub mod storage;

pub use home::Home;
pub use service::{CallOptions, Caller, Spud, SpudError, SpudOptions};
pub use spud_audit as audit;
pub use spud_policy as policy;
pub use spud_schema as schema;
