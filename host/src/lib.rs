//! spud: an agent host that runs every tool as a sandboxed WASI 0.2 component.
//!
//! The layers, bottom up (arrows only point down):
//! - [`spud_policy`]: pure capability model — manifests, policy file, effective grants;
//! - [`spud_schema`]: pure WIT-type ↔ JSON Schema and JSON ↔ value conversion;
//! - [`spud_audit`]: the hash-chained audit log;
//! - [`runtime`]: engine, precompile cache, linker, plugin loading, registry;
//! - [`sandbox`]: one call in a fresh store under a grant, with a typed [`sandbox::Outcome`];
//! - [`service`]: [`Spud`], the single path every entry point uses to call a tool;
//! - `cli` (in the binary): thin commands over [`Spud`].

pub mod agent;
pub mod calls;
pub mod config;
pub mod home;
pub mod mcp;
pub mod memory;
pub mod model;
pub mod orchestrator;
pub mod retention;
pub mod runtime;
pub mod sandbox;
pub mod service;
pub mod storage;

pub use calls::CallOptions;
pub use home::Home;
pub use service::{Caller, Spud, SpudError, SpudOptions};
pub use spud_audit as audit;
pub use spud_policy as policy;
pub use spud_schema as schema;
