//! spud's first-party email connector. `send` builds a message (plain text, cc, bcc, reply-to,
//! attachments read from a granted `/data`) and hands it to the one SMTP server the operator
//! grants: `SMTP_SERVER` (an `IP:PORT`, which the policy's `sockets.tcp_connect` must list),
//! as the sender `SMTP_FROM`, logging in with `SMTP_USERNAME` / `SMTP_PASSWORD` when set (env
//! grants; the password a registered secret). SMTP authenticates the client itself, so the
//! component holds the password; the socket grant is what keeps it to that one server.
//! Plain SMTP only (no TLS stack in the component): point it at a relay on the same host or a
//! trusted network, which then relays onward.

mod client;
mod message;
mod settings;

pub use client::{dot_stuff, Reply, SmtpError};
pub use message::{build, content_type, data_path, Draft, File};
pub use settings::Settings;
use spud_sdk::prelude::*;

spud_sdk::export_plugin! {
    name: "smtp",
    description: "Send email (text, cc, attachments from /data) through the one SMTP server the operator grants.",
    requests: Requests::new()
        .tcp_connect("*:*")
        .env("SMTP_SERVER")
        .env("SMTP_FROM")
        .env("SMTP_USERNAME")
        .env("SMTP_PASSWORD")
        .file("/data", Access::ReadOnly, "files to attach (only for `attachments`)")
        .limits(
            Limits::new()
                .memory_mb(64)
                .fuel(5_000_000_000)
                .timeout_ms(30_000)
                .result_bytes(64 * 1024),
        ),
    tools: [send],
}

/// Input of `send`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SendInput {
    /// Recipients: `ann@example.org` or `Ann Lee <ann@example.org>`.
    pub to: Vec<String>,
    /// Copies.
    #[serde(default)]
    pub cc: Vec<String>,
    /// Blind copies: they get the message, the other recipients do not see them.
    #[serde(default)]
    pub bcc: Vec<String>,
    /// Where replies should go, if not to the sender.
    #[serde(default)]
    pub reply_to: Option<String>,
    /// The subject line.
    pub subject: String,
    /// The message, plain text.
    pub text: String,
    /// Files under `/data` to attach, e.g. `["invoices/1001.pdf"]` (10 MiB together at most).
    #[serde(default)]
    pub attachments: Vec<String>,
}

/// What the server accepted.
#[derive(Debug, Serialize, JsonSchema)]
pub struct SendOutput {
    /// The message's `Message-ID` header, e.g. `<…@example.com>`.
    pub message_id: String,
    /// The sender, as `SMTP_FROM` names it.
    pub from: String,
    /// Every recipient the message went to (to, cc and bcc).
    pub recipients: Vec<String>,
    /// Names of the attached files.
    pub attachments: Vec<String>,
    /// The server's final reply, e.g. `250 OK`.
    pub server_reply: String,
}

/// Sends one plain-text email (to, cc, bcc, optional attachments from /data) through the granted SMTP server, from the operator's fixed sender; returns the Message-ID and the server's reply.
#[tool]
pub fn send(input: SendInput) -> Result<SendOutput, ToolError> {
    let settings = Settings::from_env().map_err(ToolError::new)?;
    let files = message::read_files(&input.attachments).map_err(ToolError::new)?;
    let names: Vec<String> = files.iter().map(|f| f.name.clone()).collect();
    let from = message::mailbox("SMTP_FROM", &settings.from).map_err(ToolError::new)?;
    let id = message::message_id(&from);
    let draft = Draft {
        from: &settings.from,
        to: &input.to,
        cc: &input.cc,
        bcc: &input.bcc,
        reply_to: input.reply_to.as_deref(),
        subject: &input.subject,
        text: &input.text,
    };
    let email = build(&draft, files, id.clone()).map_err(ToolError::new)?;
    let envelope = email.envelope();
    let recipients: Vec<String> = envelope.to().iter().map(|a| a.to_string()).collect();
    let login = match (&settings.username, &settings.password) {
        (Some(user), Some(password)) => Some(client::Login { user, password }),
        _ => None,
    };
    let reply = client::send(
        settings.server,
        from.email.domain(),
        login,
        from.email.as_ref(),
        &recipients,
        &email.formatted(),
    )
    .map_err(|e| ToolError::new(describe(&settings, &e)))?;
    Ok(SendOutput {
        message_id: id,
        from: settings.from.clone(),
        recipients,
        attachments: names,
        server_reply: reply.to_string(),
    })
}

/// A failed send, for the caller: what the server said, or what grant is missing.
fn describe(settings: &Settings, e: &SmtpError) -> String {
    let server = settings.server;
    match e {
        SmtpError::Refused { reply, .. } => {
            let kind = if reply.code >= 500 { "refused" } else { "deferred" };
            format!("the SMTP server {server} {kind} the message ({}): {e}", reply.code)
        }
        SmtpError::Connect(_) => format!(
            "cannot send through {server}: {e} (the policy must grant it with sockets = {{ tcp_connect = [\"{server}\"] }} under [tools.smtp])"
        ),
        _ => format!("sending through {server} failed: {e}"),
    }
}
