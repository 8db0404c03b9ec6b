//! spud's first-party mailbox connector. Each call opens one IMAP4rev1 session, through
//! `wasi:sockets`, to the server named by `IMAP_SERVER` (an env grant the operator fixes, e.g.
//! `env = ["IMAP_SERVER=127.0.0.1:143"]`); the policy's `sockets.tcp_connect` must list that
//! `ip:port`, so the component reaches that one server and nothing else. It logs in with
//! `IMAP_USERNAME` / `IMAP_PASSWORD` (env grants; the password a registered secret): IMAP
//! authenticates the client itself, so the component holds the password, and the socket grant
//! is what keeps it to that one server. Plain IMAP only (no TLS stack in the component): point
//! it at a server on the same host or a trusted network.
//!
//! The IMAP dialogue is the component's own: [`wire`] reads and parses answers (literals,
//! quoted strings, lists), [`session`] runs tagged commands, [`mime`] makes envelopes and body
//! structures readable, [`names`] spells folder names, dates and UID sets, [`compose`] builds
//! drafts; the tools are in [`tools`] (folders, search), [`message`] (fetch) and [`changes`]
//! (moving, flagging, saving).

pub mod changes;
pub mod compose;
pub mod message;
pub mod mime;
pub mod names;
pub mod session;
pub mod settings;
pub mod tools;
pub mod wire;

pub use changes::*;
pub use message::*;
pub use settings::Settings;
pub use tools::*;

use spud_sdk::prelude::*;

spud_sdk::export_plugin! {
    name: "imap",
    description: "Read and sort mail on the one IMAP server the operator grants: list folders, search, read a message, move, flag, save drafts.",
    requests: Requests::new()
        .tcp_connect("*:*")
        .env("IMAP_SERVER")
        .env("IMAP_USERNAME")
        .env("IMAP_PASSWORD")
        .env("IMAP_FROM")
        .limits(
            Limits::new()
                .memory_mb(64)
                .fuel(5_000_000_000)
                .timeout_ms(30_000)
                .result_bytes(1024 * 1024),
        ),
    tools: [folders, search, fetch, move_messages, flag, append],
}
