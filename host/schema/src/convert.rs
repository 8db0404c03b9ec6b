//! JSON ↔ [`WitValue`](crate::WitValue), with errors that name the field path
//! (`$.order.items[2].qty`): the error type and the helpers both directions share. JSON →
//! value is in `from_json`, value → JSON in `to_json`.

use crate::schema::int_bounds;
use crate::WitType;
use serde_json::Value;

/// A JSON value that does not fit its WIT type (or a value that does not fit its type).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}: expected {expected}, found {found}")]
pub struct ConvertError {
    /// Where, e.g. `$.shape.circle.radius`.
    pub path: String,
    /// What the type wants.
    pub expected: String,
    /// What was there.
    pub found: String,
}

pub(crate) fn err(
    path: &str,
    expected: impl Into<String>,
    found: impl Into<String>,
) -> ConvertError {
    ConvertError {
        path: path.to_string(),
        expected: expected.into(),
        found: found.into(),
    }
}

pub(crate) fn describe(v: &Value) -> String {
    let s = v.to_string();
    if s.chars().count() > 40 {
        format!("{}…", s.chars().take(40).collect::<String>())
    } else {
        s
    }
}

pub(crate) fn field(path: &str, name: &str) -> String {
    if name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        format!("{path}.{name}")
    } else {
        format!("{path}[{}]", Value::String(name.into()))
    }
}

pub(crate) fn case_names(cases: &[(String, Option<WitType>)]) -> String {
    cases
        .iter()
        .map(|(n, _)| n.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

pub(crate) fn type_name(t: &WitType) -> String {
    match t {
        WitType::Bool => "bool (true or false)".into(),
        WitType::Char => "char (a one-character string)".into(),
        WitType::String => "string".into(),
        WitType::F32 | WitType::F64 => "number".into(),
        WitType::List(_) => "list (an array)".into(),
        WitType::Tuple(_) => "tuple (an array)".into(),
        WitType::Record(_) => "record (an object)".into(),
        WitType::Variant(_) => "variant (an object with one case)".into(),
        WitType::Enum(c) => format!("enum (one of {})", c.join(", ")),
        WitType::Flags(_) => "flags (an array of names)".into(),
        WitType::Option(inner) => format!("option of {}", type_name(inner)),
        WitType::Result { .. } => "result ({\"ok\": …} or {\"err\": …})".into(),
        WitType::Unsupported(n) => n.clone(),
        other => int_bounds(other).map_or_else(
            || format!("{other:?}"),
            |(_, _, n)| format!("integer ({n})"),
        ),
    }
}
