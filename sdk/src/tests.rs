//! Unit tests of the pure SDK logic; they run natively.

use crate as spud_sdk;
use crate::{tool, Access, JsonSchema, Limits, Requests, ToolError};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

#[derive(Deserialize, JsonSchema)]
struct AddInput {
    /// First operand.
    a: i64,
    /// Second operand.
    b: i64,
}

#[derive(Serialize, JsonSchema)]
struct AddOutput {
    sum: i64,
}

/// Adds two
/// numbers.
///
/// Fails on overflow:
/// - when the sum is too large.
#[tool]
fn add(input: AddInput) -> Result<AddOutput, ToolError> {
    let sum = input
        .a
        .checked_add(input.b)
        .ok_or_else(|| ToolError::new(format!("{} + {} overflows i64", input.a, input.b)))?;
    Ok(AddOutput { sum })
}

/// Echoes its input:
/// ```
/// {"a": 1}
/// [2]
/// ```
#[tool(name = "echo-value")]
fn echo(input: Value) -> Result<Value, ToolError> {
    Ok(input)
}

spud_sdk::export_plugin! {
    name: "math",
    description: "Arithmetic.",
    requests: Requests::new()
        .file("/data", Access::ReadOnly, "numbers to add")
        .network("https://*.example.com")
        .limits(Limits::new().memory_mb(16).fuel(1_000)),
    tools: [add, echo],
}

fn manifest() -> Value {
    let plugin = __spud_plugin();
    serde_json::from_str(&plugin.manifest_json()).expect("manifest is JSON")
}

#[test]
fn manifest_has_the_documented_shape() {
    let m = manifest();
    assert_eq!(m["spud_manifest"], 1);
    assert_eq!(m["name"], "math");
    assert_eq!(m["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(m["description"], "Arithmetic.");
    assert_eq!(
        m["requests"],
        json!({
            "files": [{"guest": "/data", "access": "read-only", "why": "numbers to add"}],
            "network": ["https://*.example.com"],
            "limits": {"memory_mb": 16, "fuel": 1000}
        })
    );
    let tools = m["tools"].as_array().expect("tools array");
    assert_eq!(tools.len(), 2);
    assert_eq!(tools[0]["name"], "add");
    assert_eq!(
        tools[0]["description"],
        "Adds two numbers.\n\nFails on overflow:\n- when the sum is too large."
    );
    assert_eq!(tools[1]["name"], "echo-value");
    assert_eq!(
        tools[1]["description"],
        "Echoes its input:\n```\n{\"a\": 1}\n[2]\n```"
    );
}

#[test]
fn schemas_come_from_the_types() {
    let m = manifest();
    let input = &m["tools"][0]["input_schema"];
    assert_eq!(input["type"], "object");
    assert_eq!(input["properties"]["a"]["description"], "First operand.");
    assert_eq!(input["required"], json!(["a", "b"]));
    assert_eq!(
        m["tools"][0]["output_schema"]["properties"]["sum"]["type"],
        "integer"
    );
}

#[test]
fn empty_requests_and_fields_are_omitted() {
    let plugin = spud_sdk::Plugin::new("bare", "");
    let m: Value = serde_json::from_str(&plugin.manifest_json()).expect("JSON");
    assert_eq!(
        m,
        json!({"spud_manifest": 1, "name": "bare", "version": "0.0.0", "tools": []})
    );
    let r = serde_json::to_value(Requests::new().dns().limits(Limits::new())).expect("JSON");
    assert_eq!(r, json!({"sockets": {"dns": true}}));
    let f = serde_json::to_value(Requests::new().file("/x", Access::ReadWrite, "")).expect("JSON");
    assert_eq!(
        f,
        json!({"files": [{"guest": "/x", "access": "read-write"}]})
    );
}

#[test]
fn manifest_round_trips() {
    let plugin = __spud_plugin();
    let parsed: spud_sdk::Manifest =
        serde_json::from_str(&plugin.manifest_json()).expect("parses back");
    assert_eq!(parsed, plugin.manifest());
}

#[test]
fn call_dispatches_by_name() {
    let plugin = __spud_plugin();
    assert_eq!(
        plugin.call("add", r#"{"a": 2, "b": 3}"#),
        Ok(r#"{"sum":5}"#.into())
    );
    assert_eq!(plugin.call("echo-value", "[1,true]"), Ok("[1,true]".into()));
}

#[test]
fn tool_errors_pass_through() {
    let plugin = __spud_plugin();
    let err = plugin
        .call("add", &format!(r#"{{"a": {}, "b": 1}}"#, i64::MAX))
        .expect_err("overflow");
    assert_eq!(err, format!("{} + 1 overflows i64", i64::MAX));
}

#[test]
fn bad_input_names_tool_and_position() {
    let plugin = __spud_plugin();
    let err = plugin.call("add", r#"{"a": 1}"#).expect_err("missing b");
    assert!(err.starts_with("invalid input for tool `add`"), "{err}");
    assert!(err.contains("missing field `b`"), "{err}");
    assert!(err.contains("line 1 column"), "{err}");
    let err = plugin
        .call("add", "{\n\"a\": \"x\"")
        .expect_err("wrong type");
    assert!(err.contains("line 2 column"), "{err}");
}

#[test]
fn unknown_tool_lists_the_known_ones() {
    let err = __spud_plugin().call("mul", "{}").expect_err("unknown");
    assert_eq!(
        err,
        "unknown tool `mul`: plugin `math` provides add, echo-value"
    );
}

#[test]
fn tool_error_conversions() {
    let io = std::io::Error::new(std::io::ErrorKind::NotFound, "gone");
    assert_eq!(ToolError::from(io).message(), "gone");
    assert_eq!(ToolError::from("a").to_string(), "a");
    assert_eq!(ToolError::from(String::from("b")).message(), "b");
    let json = serde_json::from_str::<Value>("{").expect_err("bad JSON");
    assert!(ToolError::from(json)
        .message()
        .starts_with("invalid JSON: "));
    assert_eq!(
        ToolError::new("x").context("reading y").message(),
        "reading y: x"
    );
}
