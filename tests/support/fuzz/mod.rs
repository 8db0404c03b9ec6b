//! Property-based fuzzing of what spud parses from outside: the policy file, plan files, JSON
//! arguments converted to WIT values, audit logs, and MCP requests. Each target draws its input
//! from random bytes through `arbitrary`; every case runs under `catch_unwind` and is counted.
//! The bench `fuzz` runs many cases; the test `fuzz` runs a few hundred of each in CI.

mod audit;
mod mcp;
mod mutate;
mod parsers;
mod runner;
mod schema;

pub use audit::AuditTarget;
pub use mcp::McpTarget;
pub use parsers::{PlanTarget, PolicyTarget};
pub use runner::{catch, one, run, Bytes, Tally, Target, Verdict};
pub use schema::{wit_type, SchemaTarget};
