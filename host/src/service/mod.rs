//! [`Spud`]: the one path every entry point (CLI, agent, MCP) takes to a tool.
//! Registry lookup → effective grant (requested ∩ granted) → fresh sandbox → typed outcome →
//! audit records, in that order, for every call.

mod approval;
mod browser;
mod call;
mod caller;
mod credentials;
mod install;
mod lock;
mod openapi;
mod options;
mod scratch;
mod spud;

pub use caller::{Caller, SpudError};
pub use install::{Install, InstallError, Installed};
pub use openapi::{OpenApiAddError, OPENAPI_PLUGIN, OPENAPI_SOURCE};
pub use options::{Binding, CallDispatch, CallOptions, RemoteCall};
pub use spud::{Loaded, Spud, SpudOptions};
