//! spud's first-party browser tools, on the host's `spud:browser` capability. Tools are shaped
//! for models: each action answers with the page's compact accessibility snapshot, whose
//! `[ref=eN]` references the next action names. The plugin requests a browser and any HTTP(S)
//! destination, so what its pages can reach is exactly what the operator grants: the host
//! checks every request the pages make against that grant.
//!
//! One browser session lives for the run (or MCP session) that calls these tools; a plain
//! `spud call` gets a session of its own, closed when the call ends.

mod driver;
mod tools;

pub use driver::{Driver, Host};
pub use tools::*;

use spud_sdk::prelude::*;

spud_sdk::export_plugin! {
    name: "browser",
    description: "A headless browser: open pages, read them as a compact accessibility tree, click, type, select, take screenshots. Pages reach only the hosts the operator grants.",
    requests: Requests::new().network("http://*:*").network("https://*:*").browser().limits(
        Limits::new()
            .memory_mb(64)
            .fuel(5_000_000_000)
            .timeout_ms(60_000)
            .result_bytes(8 * 1024 * 1024),
    ),
    tools: [open, snapshot, click, type_text, select, screenshot, text, back],
}
