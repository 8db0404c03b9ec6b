//! OpenAPI 3.x documents as spud tools, pure (no I/O).
//!
//! - [`parse_document`] reads a document (JSON, or YAML with feature `yaml`);
//! - [`operations`] turns each operation into an [`Operation`]: a tool name (its
//!   `operationId`), a description, and the JSON Schema of its arguments — one property per
//!   parameter (path, query, header) and `body` for the request body — with `$ref`s within the
//!   document resolved;
//! - [`build_request`] turns an operation, a base URL and a call's arguments into the
//!   [`Request`] to send (path parameters substituted and percent-encoded, query parameters,
//!   headers, a JSON body). The first-party `openapi` component sends it through the host's
//!   network grant and credential injection.

#![warn(missing_docs)]

mod refs;
mod request;

pub use request::{build_request, BuildError, Request};

use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

/// A document that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OpenApiError {
    /// Neither JSON nor YAML.
    #[error("the OpenAPI document cannot be read: {0}")]
    Syntax(String),
    /// Not OpenAPI 3.x.
    #[error("not an OpenAPI 3.x document (its `openapi` field is {0}); Swagger 2.0 documents need converting first")]
    Version(String),
    /// A `$ref` that points nowhere in the document, or outside it.
    #[error("{at}: `$ref` {reference} cannot be resolved (only `#/…` references within the document are)")]
    Ref {
        /// Where it was met.
        at: String,
        /// The reference.
        reference: String,
    },
    /// `$ref`s that refer to each other without end.
    #[error("{0}: `$ref`s nest too deeply (a cycle?)")]
    Cycle(String),
    /// An operation without `operationId`, or two with one name.
    #[error("{0}")]
    OperationId(String),
    /// No operations at all.
    #[error("the document has no operations under `paths`")]
    Empty,
}

/// Where a parameter goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Location {
    /// Substituted into the path template.
    Path,
    /// A query parameter.
    Query,
    /// A request header.
    Header,
}

/// One parameter of an operation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Param {
    /// Its name.
    pub name: String,
    /// Where it goes.
    #[serde(rename = "in")]
    pub location: Location,
    /// Whether a call must give it.
    pub required: bool,
}

/// One operation, as a tool.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Operation {
    /// The tool's function name: the `operationId`.
    pub id: String,
    /// Upper-case HTTP method.
    pub method: String,
    /// The path template, e.g. `/items/{item_id}`.
    pub path: String,
    /// Summary and description.
    pub description: String,
    /// Its parameters (cookie parameters are left out).
    pub params: Vec<Param>,
    /// The request body's media type, when it takes one (`application/json` is preferred).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    /// JSON Schema of the arguments object.
    pub input_schema: Value,
}

const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// What a JSON document that is an object starts with (written as an escape so that tools
/// which count braces to find a function's end are not misled by a brace in a char literal).
#[cfg(feature = "yaml")]
const JSON_OBJECT_START: char = '\u{7b}';

/// Reads a document: JSON, else (with feature `yaml`) YAML.
pub fn parse_document(text: &str) -> Result<Value, OpenApiError> {
    let json_err = match serde_json::from_str::<Value>(text) {
        Ok(v) => return check_version(v),
        Err(e) => e.to_string(),
    };
    #[cfg(feature = "yaml")]
    {
        if !text.trim_start().starts_with(JSON_OBJECT_START) {
            return serde_norway::from_str::<Value>(text)
                .map_err(|e| OpenApiError::Syntax(format!("YAML: {e}")))
                .and_then(check_version);
        }
    }
    Err(OpenApiError::Syntax(format!("JSON: {json_err}")))
}

fn check_version(v: Value) -> Result<Value, OpenApiError> {
    match v.get("openapi").and_then(Value::as_str) {
        Some(s) if s.starts_with("3.") => Ok(v),
        Some(s) => Err(OpenApiError::Version(format!("`{s}`"))),
        None => Err(OpenApiError::Version("missing".into())),
    }
}

/// Every operation of `doc`, in path then method order. Each must have an `operationId` of
/// letters, digits, `_` and `-`; two operations may not share one.
pub fn operations(doc: &Value) -> Result<Vec<Operation>, OpenApiError> {
    let mut out: Vec<Operation> = Vec::new();
    let paths = doc.get("paths").and_then(Value::as_object);
    for (path, item) in paths.into_iter().flatten() {
        let item = refs::resolve(doc, item, &format!("paths.{path}"))?;
        let shared = item.get("parameters").cloned().unwrap_or(json!([]));
        for method in METHODS {
            let Some(op) = item.get(method) else { continue };
            let at = format!("{} {path}", method.to_uppercase());
            let o = operation(doc, op, method, path, &shared, &at)?;
            if out.iter().any(|p| p.id == o.id) {
                return Err(OpenApiError::OperationId(format!(
                    "{at}: operationId `{}` is used twice",
                    o.id
                )));
            }
            out.push(o);
        }
    }
    if out.is_empty() {
        return Err(OpenApiError::Empty);
    }
    Ok(out)
}

fn operation(
    doc: &Value,
    op: &Value,
    method: &str,
    path: &str,
    shared: &Value,
    at: &str,
) -> Result<Operation, OpenApiError> {
    let id = op
        .get("operationId")
        .and_then(Value::as_str)
        .ok_or_else(|| {
            OpenApiError::OperationId(format!(
                "{at} has no operationId; every operation needs one to be a tool"
            ))
        })?;
    if id.is_empty()
        || !id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_-".contains(&b))
    {
        return Err(OpenApiError::OperationId(format!(
            "{at}: operationId `{id}` must be letters, digits, `_` and `-`"
        )));
    }
    let text = |k: &str| op.get(k).and_then(Value::as_str).unwrap_or("").trim();
    let description = [text("summary"), text("description")]
        .into_iter()
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(". ");
    let description = if description.is_empty() {
        format!("{} {path}", method.to_uppercase())
    } else {
        description
    };
    let own = op.get("parameters").cloned().unwrap_or(json!([]));
    let (params, mut props, mut required) = collect_params(doc, &own, shared, at)?;
    let body = match op.get("requestBody") {
        None => None,
        Some(b) => {
            let b = refs::resolve(doc, b, at)?;
            let (media, schema) = body_schema(doc, &b, at)?;
            if props.contains_key("body") {
                return Err(OpenApiError::OperationId(format!(
                    "{at}: a parameter is named `body`, which spud uses for the request body"
                )));
            }
            if b.get("required").and_then(Value::as_bool).unwrap_or(false) {
                required.push(json!("body"));
            }
            props.insert("body".into(), schema);
            Some(media)
        }
    };
    let input_schema = json!({
        "type": "object",
        "properties": props,
        "required": required,
        "additionalProperties": false,
    });
    Ok(Operation {
        id: id.to_string(),
        method: method.to_uppercase(),
        path: path.to_string(),
        description,
        params,
        body,
        input_schema,
    })
}

/// The arguments' schema properties (by name) and required names.
type Props = (Vec<Param>, Map<String, Value>, Vec<Value>);

/// The operation's parameters and the path item's (`shared`), as parameters and schema
/// properties.
fn collect_params(
    doc: &Value,
    own: &Value,
    shared: &Value,
    at: &str,
) -> Result<Props, OpenApiError> {
    let mut params = Vec::new();
    let mut props = Map::new();
    let mut required = Vec::new();
    // An operation's own parameter overrides a path-level one of the same name and place.
    let all: Vec<&Value> = own
        .as_array()
        .into_iter()
        .flatten()
        .chain(shared.as_array().into_iter().flatten())
        .collect();
    for p in all {
        let p = refs::resolve(doc, p, at)?;
        let Some((param, schema)) = parameter(doc, &p, at)? else {
            continue;
        };
        if params
            .iter()
            .any(|q: &Param| q.name == param.name && q.location == param.location)
        {
            continue;
        }
        if props.contains_key(&param.name) {
            return Err(OpenApiError::OperationId(format!(
                "{at}: two parameters are named `{}`; spud names arguments by parameter name",
                param.name
            )));
        }
        if param.required {
            required.push(json!(param.name));
        }
        props.insert(param.name.clone(), schema);
        params.push(param);
    }
    Ok((params, props, required))
}

/// A parameter and its schema (with its description); `None` for a cookie parameter.
fn parameter(doc: &Value, p: &Value, at: &str) -> Result<Option<(Param, Value)>, OpenApiError> {
    let name = p.get("name").and_then(Value::as_str).unwrap_or_default();
    let location = match p.get("in").and_then(Value::as_str) {
        Some("path") => Location::Path,
        Some("query") => Location::Query,
        Some("header") => Location::Header,
        _ => return Ok(None),
    };
    let mut schema = match p.get("schema") {
        Some(s) => refs::inline(doc, s, at)?,
        None => json!({"type": "string"}),
    };
    if let (Some(d), Some(obj)) = (
        p.get("description").and_then(Value::as_str),
        schema.as_object_mut(),
    ) {
        obj.entry("description").or_insert(json!(d));
    }
    let required =
        location == Location::Path || p.get("required").and_then(Value::as_bool).unwrap_or(false);
    Ok(Some((
        Param {
            name: name.to_string(),
            location,
            required,
        },
        schema,
    )))
}

/// The body's media type (`application/json` preferred, else the first) and schema.
fn body_schema(doc: &Value, b: &Value, at: &str) -> Result<(String, Value), OpenApiError> {
    let content = b.get("content").and_then(Value::as_object);
    let pick = content.and_then(|c| {
        c.get_key_value("application/json")
            .or_else(|| c.iter().find(|(k, _)| k.ends_with("+json")))
            .or_else(|| c.iter().next())
    });
    match pick {
        Some((media, m)) => {
            let schema = match m.get("schema") {
                Some(s) => refs::inline(doc, s, at)?,
                None => json!({}),
            };
            Ok((media.clone(), schema))
        }
        None => Ok(("application/json".into(), json!({}))),
    }
}

#[cfg(test)]
mod tests;
