//! Registry entries → MCP tools; call reports → MCP tool results.

use crate::runtime::CallReport;
use crate::runtime::ToolInfo;
use crate::sandbox::Outcome;
use crate::service::{Caller, Spud};
use rmcp::model::{CallToolResult, ContentBlock, JsonObject, Tool};
use rmcp::ErrorData as McpError;
use std::sync::Arc;

/// Every callable tool `caller` may see, with its JSON Schemas and description.
pub fn list(spud: &Spud, caller: &Caller) -> Vec<Tool> {
    spud.registry()
        .plugins
        .values()
        .flat_map(|e| e.tools.iter())
        .filter(|t| t.unavailable.is_none() && caller.sees(&t.name))
        .map(to_mcp)
        .collect()
}

/// A JSON value as a schema object (a non-object schema becomes `{}`: anything).
fn object(schema: &serde_json::Value) -> JsonObject {
    match schema {
        serde_json::Value::Object(m) => m.clone(),
        _ => JsonObject::new(),
    }
}

/// Whether a result schema describes a JSON object (only those can be MCP structured output).
fn is_object_schema(schema: &serde_json::Value) -> bool {
    schema.get("type").and_then(|t| t.as_str()) == Some("object")
}

/// One registry tool as an MCP tool.
pub fn to_mcp(info: &ToolInfo) -> Tool {
    let mut input = object(&info.input_schema);
    input
        .entry("type")
        .or_insert_with(|| serde_json::Value::String("object".into()));
    let mut tool = Tool::new(info.name.clone(), info.description.clone(), Arc::new(input));
    if let Some(out) = info.output_schema.as_ref().filter(|s| is_object_schema(s)) {
        tool = tool.with_raw_output_schema(Arc::new(object(out)));
    }
    tool
}

/// The protocol error for a tool that does not exist or that the caller may not see (the two
/// are indistinguishable to the caller).
pub fn unknown_tool(name: &str) -> McpError {
    McpError::invalid_params(
        format!("unknown tool `{name}`: call tools/list for the tools you may use"),
        None,
    )
}

/// A call report as an MCP result: the value on success (structured when the tool's result is
/// an object); otherwise a tool error whose text says what happened and which grant or input
/// would work, with the outcome kind and the captured output for context.
pub fn result_of(report: &CallReport, info: Option<&ToolInfo>) -> CallToolResult {
    match &report.outcome {
        Outcome::Ok { value } => {
            if let Some(image) = image_of(value) {
                return CallToolResult::success(vec![image]);
            }
            let structured = info
                .and_then(|i| i.output_schema.as_ref())
                .is_some_and(is_object_schema)
                && value.is_object();
            if structured {
                CallToolResult::structured(value.clone())
            } else {
                let text = match value {
                    serde_json::Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                CallToolResult::success(vec![ContentBlock::text(text)])
            }
        }
        other => {
            let mut content = vec![ContentBlock::text(other.message())];
            let mut details = serde_json::json!({ "outcome": other.kind() });
            if let Outcome::Denied { denial } = other {
                details["denial"] = serde_json::to_value(denial).unwrap_or_default();
            }
            if !report.stderr.is_empty() {
                details["stderr"] = report.stderr.clone().into();
            }
            content.push(ContentBlock::text(details.to_string()));
            CallToolResult::error(content)
        }
    }
}

/// A tool's answer that is an image (`{"mime_type": "image/…", "data_base64": "…"}`, as
/// `browser.screenshot` answers) as MCP image content.
fn image_of(value: &serde_json::Value) -> Option<ContentBlock> {
    let mime = value.get("mime_type")?.as_str()?;
    let data = value.get("data_base64")?.as_str()?;
    mime.starts_with("image/")
        .then(|| ContentBlock::image(data, mime))
}
