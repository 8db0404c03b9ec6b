//! What a call may touch while it runs: the per-call store state ([`HostState`]), the host
//! imports it is linked against ([`linker`]), the HTTP gate that checks every outbound request,
//! the meters that charge a caller's live budget, output pipes and the journal of capability
//! decisions. Running the call itself (a store from the plugin's `InstancePre`, limits, a
//! typed outcome) is `runtime::call`, one layer up.

pub mod browser;
pub mod http;
mod http_creds;
mod http_scan;
mod http_wire;
pub mod journal;
pub mod linker;
pub mod meter;
mod metered;
mod outcome;
mod output;
mod state;

pub use http::{Resolver, StaticResolver, SystemResolver};
pub use http_creds::HeldCredential;
pub use journal::{Capability, Decision, Leak};
pub use meter::{Meter, Metered};
pub use outcome::Outcome;
pub use state::{CallEnv, HostState};

use std::sync::Arc;

/// A resolver shared by calls that do not bring their own.
pub fn system_resolver() -> Arc<dyn Resolver> {
    Arc::new(SystemResolver)
}
