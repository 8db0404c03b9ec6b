//! The one way a run starts. `spud run`, `run_agent` over MCP and anything else that starts the
//! agent build a [`Launcher`] from spud's config and their flags ([`Settings`]) and hand it a
//! [`Job`] — a plan, or a goal for the planning model — so memory, the judge, the model catalog,
//! prices, budgets and approvals are wired the same way whichever door a run comes in by.
//! Sub-agents inherit their parent's options inside the loop.

mod job;
mod launcher;
mod settings;

pub use job::{Finished, Job, LaunchError};
pub use launcher::Launcher;
pub use settings::Settings;
