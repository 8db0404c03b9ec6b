//! spud's first-party OpenAPI tool. `spud tools add openapi:SPEC --name NAME --base-url URL`
//! registers this one component under `NAME`, with one tool `NAME.operationId` per operation;
//! the host hands each call here as `invoke` with the operation, the base URL and the call's
//! arguments. The request is built by `spud-openapi` and sent through `wasi:http`, so the
//! host's network grant, secret scan and credential injection apply to it like to any other.

mod send;

use spud_sdk::prelude::*;

/// The most of a response body read (4 MiB).
const MAX_BODY: u64 = 4 << 20;

spud_sdk::export_plugin! {
    name: "openapi",
    description: "Calls the operations of an OpenAPI document; only hosts the operator grants are reachable.",
    requests: Requests::new().network("http://*:*").network("https://*:*").limits(
        Limits::new()
            .memory_mb(64)
            .fuel(5_000_000_000)
            .timeout_ms(30_000)
            .result_bytes(4 * 1024 * 1024),
    ),
    tools: [invoke],
}

/// Input of `invoke` (the host builds it for each `NAME.operationId` call).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct InvokeInput {
    /// The operation, as `spud-openapi` describes it.
    pub operation: serde_json::Value,
    /// The API's base URL.
    pub base_url: String,
    /// The call's arguments: parameters by name, `body` for the request body.
    pub arguments: serde_json::Value,
}

/// What the operation answered.
#[derive(Debug, Serialize, JsonSchema)]
pub struct InvokeOutput {
    /// HTTP status (2xx; anything else is a tool error).
    pub status: u16,
    /// The response's content type, if it gave one.
    pub content_type: Option<String>,
    /// The body: parsed when it is JSON, else text.
    pub body: serde_json::Value,
    /// Whether the body was longer than 4 MiB and cut.
    pub truncated: bool,
}

/// Builds the operation's request from the arguments, sends it and returns the answer.
#[tool]
pub fn invoke(input: InvokeInput) -> Result<InvokeOutput, ToolError> {
    let op: spud_openapi::Operation = serde_json::from_value(input.operation)
        .map_err(|e| ToolError::new(format!("not an operation: {e}")))?;
    let request = spud_openapi::build_request(&op, &input.base_url, &input.arguments)
        .map_err(|e| ToolError::new(format!("{}: {e}", op.id)))?;
    let response = send::send(&request, MAX_BODY).map_err(ToolError::new)?;
    let text = String::from_utf8_lossy(&response.body).into_owned();
    let content_type = response.content_type.clone();
    let body = if content_type.as_deref().is_some_and(|c| c.contains("json")) {
        serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text))
    } else {
        serde_json::Value::String(text)
    };
    if !(200..300).contains(&response.status) {
        let shown: String = body.to_string().chars().take(2000).collect();
        return Err(ToolError::new(format!(
            "{} {} answered HTTP {}: {shown}",
            request.method, op.path, response.status
        )));
    }
    Ok(InvokeOutput {
        status: response.status,
        content_type,
        body,
        truncated: response.truncated,
    })
}
