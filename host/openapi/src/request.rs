//! The request one call of an operation makes: the base URL joined with the path template
//! (path parameters percent-encoded, so an argument cannot add a path segment or a query),
//! query parameters, headers and a JSON body.

use crate::{Location, Operation};
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use serde_json::Value;

/// Everything but RFC 3986 unreserved characters is encoded in a path segment or a query part.
const COMPONENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// A request ready to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// Upper-case method.
    pub method: String,
    /// Absolute URL.
    pub url: String,
    /// Header names (lower-case) and values.
    pub headers: Vec<(String, String)>,
    /// The body, if the operation takes one and the call gave one.
    pub body: Option<Vec<u8>>,
}

/// Arguments that do not fit the operation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BuildError {
    /// The arguments are not a JSON object.
    #[error("the arguments must be a JSON object")]
    NotAnObject,
    /// A required parameter or body is missing.
    #[error("`{0}` is required")]
    Missing(String),
    /// An argument that is no parameter of the operation.
    #[error("`{0}` is not a parameter of this operation")]
    Unknown(String),
    /// An argument that is an object where a plain value is needed.
    #[error("`{0}` must be a string, number, boolean or an array of them")]
    NotPlain(String),
    /// The base URL is not `http://` or `https://`.
    #[error("base URL `{0}` must start with http:// or https://")]
    BaseUrl(String),
    /// A header value with a line break.
    #[error("header `{0}` holds a control character")]
    Header(String),
}

/// The request `args` make for `op` against `base_url`.
pub fn build_request(op: &Operation, base_url: &str, args: &Value) -> Result<Request, BuildError> {
    if !(base_url.starts_with("http://") || base_url.starts_with("https://")) {
        return Err(BuildError::BaseUrl(base_url.to_string()));
    }
    let args = args.as_object().ok_or(BuildError::NotAnObject)?;
    for k in args.keys() {
        if k != "body" && !op.params.iter().any(|p| &p.name == k) {
            return Err(BuildError::Unknown(k.clone()));
        }
    }
    let mut path = op.path.clone();
    let mut query: Vec<String> = Vec::new();
    let mut headers: Vec<(String, String)> = Vec::new();
    for p in &op.params {
        let Some(v) = args.get(&p.name).filter(|v| !v.is_null()) else {
            if p.required {
                return Err(BuildError::Missing(p.name.clone()));
            }
            continue;
        };
        let values = plain_values(&p.name, v)?;
        match p.location {
            Location::Path => {
                let joined = values.join(",");
                let enc = utf8_percent_encode(&joined, COMPONENT).to_string();
                path = path.replace(&format!("{{{}}}", p.name), &enc);
            }
            Location::Query => {
                let name = utf8_percent_encode(&p.name, COMPONENT).to_string();
                for v in values {
                    query.push(format!("{name}={}", utf8_percent_encode(&v, COMPONENT)));
                }
            }
            Location::Header => {
                let joined = values.join(",");
                if joined.chars().any(char::is_control) {
                    return Err(BuildError::Header(p.name.clone()));
                }
                headers.push((p.name.to_ascii_lowercase(), joined));
            }
        }
    }
    let body = match (&op.body, args.get("body")) {
        (Some(media), Some(b)) if !b.is_null() => {
            headers.push(("content-type".into(), media.clone()));
            Some(match b {
                Value::String(s) if !media.contains("json") => s.clone().into_bytes(),
                other => other.to_string().into_bytes(),
            })
        }
        (Some(_), _)
            if op.input_schema["required"]
                .as_array()
                .is_some_and(|r| r.contains(&Value::from("body"))) =>
        {
            return Err(BuildError::Missing("body".into()));
        }
        _ => None,
    };
    let mut url = format!("{}{}", base_url.trim_end_matches('/'), path);
    if !query.is_empty() {
        url.push(if url.contains('?') { '&' } else { '?' });
        url.push_str(&query.join("&"));
    }
    Ok(Request {
        method: op.method.clone(),
        url,
        headers,
        body,
    })
}

/// A parameter's value(s) as text: a string, number or boolean, or an array of them (each a
/// repeated query parameter, or joined with `,` in a path or header).
fn plain_values(name: &str, v: &Value) -> Result<Vec<String>, BuildError> {
    let one = |v: &Value| match v {
        Value::String(s) => Ok(s.clone()),
        Value::Number(n) => Ok(n.to_string()),
        Value::Bool(b) => Ok(b.to_string()),
        _ => Err(BuildError::NotPlain(name.to_string())),
    };
    match v {
        Value::Array(a) => a.iter().map(one).collect(),
        other => Ok(vec![one(other)?]),
    }
}
