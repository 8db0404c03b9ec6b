//! `$ref` resolution within one document: `#/components/schemas/Item` and the like (JSON
//! Pointer, `~0`/`~1` escapes). A schema is inlined to a fixed depth; a recursive schema
//! (a tree, say) is cut there to `{}` (any value), so a tool's schema is always finite.

use crate::OpenApiError;
use serde_json::{Map, Value};

/// How deep `$ref`s are followed inside one schema before the rest is left open (`{}`).
const MAX_DEPTH: usize = 16;

/// `v` itself, or what its `$ref` points to (followed until a value without `$ref`).
pub(crate) fn resolve(doc: &Value, v: &Value, at: &str) -> Result<Value, OpenApiError> {
    let mut v = v.clone();
    for _ in 0..MAX_DEPTH {
        match v.get("$ref").and_then(Value::as_str) {
            Some(r) => v = pointer(doc, r, at)?.clone(),
            None => return Ok(v),
        }
    }
    Err(OpenApiError::Cycle(at.to_string()))
}

/// `schema` with every `$ref` inside it replaced by what it points to.
pub(crate) fn inline(doc: &Value, schema: &Value, at: &str) -> Result<Value, OpenApiError> {
    inline_at(doc, schema, at, 0)
}

fn inline_at(doc: &Value, v: &Value, at: &str, depth: usize) -> Result<Value, OpenApiError> {
    match v {
        Value::Object(m) => {
            if let Some(r) = m.get("$ref").and_then(Value::as_str) {
                if depth >= MAX_DEPTH {
                    return Ok(Value::Object(Map::new()));
                }
                let target = pointer(doc, r, at)?;
                return inline_at(doc, target, at, depth + 1);
            }
            let mut out = Map::new();
            for (k, x) in m {
                out.insert(k.clone(), inline_at(doc, x, at, depth)?);
            }
            Ok(Value::Object(out))
        }
        Value::Array(a) => a
            .iter()
            .map(|x| inline_at(doc, x, at, depth))
            .collect::<Result<_, _>>()
            .map(Value::Array),
        other => Ok(other.clone()),
    }
}

fn pointer<'d>(doc: &'d Value, r: &str, at: &str) -> Result<&'d Value, OpenApiError> {
    let err = || OpenApiError::Ref {
        at: at.to_string(),
        reference: r.to_string(),
    };
    let path = r.strip_prefix('#').ok_or_else(err)?;
    let path = percent_encoding::percent_decode_str(path)
        .decode_utf8()
        .map_err(|_| err())?;
    doc.pointer(&path).ok_or_else(err)
}
