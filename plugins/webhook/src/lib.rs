//! spud's first-party webhook connector: posts a message to an incoming webhook — Slack's (and
//! Slack-compatible ones such as Mattermost's), Microsoft Teams' (an Adaptive Card), or any
//! endpoint that takes JSON. It holds no secret: the webhook's URL is granted in the policy,
//! and a signed webhook is signed by the host (a `[credentials.NAME]` with
//! `inject = "hmac-sha256:HEADER"`), so the key never enters the component.

mod payload;

pub use payload::{payload, Field, Format};
use spud_sdk::http::{Request, Url};
use spud_sdk::prelude::*;

/// The most of an answer read (64 KiB).
const MAX_ANSWER: u64 = 64 << 10;

spud_sdk::export_plugin! {
    name: "webhook",
    description: "Post messages to Slack, Teams or JSON webhooks; only webhook URLs the operator grants are reachable.",
    requests: Requests::new().network("http://*:*").network("https://*:*").limits(
        Limits::new()
            .memory_mb(32)
            .fuel(2_000_000_000)
            .timeout_ms(30_000)
            .result_bytes(256 * 1024),
    ),
    tools: [post],
}

/// Input of `post`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PostInput {
    /// The webhook's `http(s)://` URL.
    pub url: String,
    /// `slack` (also Mattermost), `teams` (an Adaptive Card) or `json` (default: `{title,
    /// text, fields}`, or `payload` as given).
    #[serde(default)]
    pub format: Format,
    /// The message (Markdown; Slack shows its `mrkdwn` subset).
    #[serde(default)]
    pub text: String,
    /// A heading above the message.
    #[serde(default)]
    pub title: Option<String>,
    /// Name/value facts shown under the message, in order.
    #[serde(default)]
    pub fields: Vec<Field>,
    /// For `json` only: the exact JSON body to send instead of `{title, text, fields}`.
    #[serde(default)]
    pub payload: Option<serde_json::Value>,
}

/// What the webhook answered.
#[derive(Debug, Serialize, JsonSchema)]
pub struct PostOutput {
    /// HTTP status (2xx; anything else is a tool error).
    pub status: u16,
    /// The answer's body as text (Slack answers `ok`), at most 64 KiB.
    pub answer: String,
    /// The JSON body that was sent.
    pub sent: serde_json::Value,
}

/// Posts a message to a webhook (Slack, Teams or generic JSON) and returns what it answered; a
/// status outside 2xx is an error that quotes the answer.
#[tool]
pub fn post(input: PostInput) -> Result<PostOutput, ToolError> {
    let url = Url::parse(&input.url).map_err(|e| ToolError::new(format!("bad url: {e}")))?;
    let body = payload(
        input.format,
        input.title.as_deref(),
        &input.text,
        &input.fields,
        input.payload,
    )
    .map_err(ToolError::new)?;
    let request = Request::new("POST", url).json_body(&body);
    let response = spud_sdk::http::send(&request, MAX_ANSWER)
        .map_err(|e| ToolError::new(e.describe(&request.url)))?;
    let answer = response.text();
    if !response.is_success() {
        let shown: String = answer.chars().take(2000).collect();
        return Err(ToolError::new(format!(
            "the webhook {} answered HTTP {}: {shown}",
            request.url, response.status
        )));
    }
    Ok(PostOutput {
        status: response.status,
        answer,
        sent: body,
    })
}
