//! JSON Schema (draft 2020-12) for WIT types: exactly what [`crate::json_to_value`] accepts.

use crate::{FuncSig, WitType};
use serde_json::{json, Map, Value};

/// Integer bounds of a WIT integer type.
pub(crate) fn int_bounds(t: &WitType) -> Option<(i128, i128, &'static str)> {
    Some(match t {
        WitType::U8 => (0, u8::MAX as i128, "u8"),
        WitType::U16 => (0, u16::MAX as i128, "u16"),
        WitType::U32 => (0, u32::MAX as i128, "u32"),
        WitType::U64 => (0, u64::MAX as i128, "u64"),
        WitType::S8 => (i8::MIN as i128, i8::MAX as i128, "s8"),
        WitType::S16 => (i16::MIN as i128, i16::MAX as i128, "s16"),
        WitType::S32 => (i32::MIN as i128, i32::MAX as i128, "s32"),
        WitType::S64 => (i64::MIN as i128, i64::MAX as i128, "s64"),
        _ => return None,
    })
}

fn bound(n: i128) -> Value {
    if n < 0 {
        json!(n as i64)
    } else {
        json!(n as u64)
    }
}

/// The schema of one type.
pub fn type_schema(t: &WitType) -> Value {
    if let Some((min, max, name)) = int_bounds(t) {
        return json!({"type": "integer", "minimum": bound(min), "maximum": bound(max), "format": name});
    }
    match t {
        WitType::Bool => json!({"type": "boolean"}),
        WitType::F32 | WitType::F64 => json!({"anyOf": [
            {"type": "number", "format": if *t == WitType::F32 { "f32" } else { "f64" }},
            {"enum": ["NaN", "Infinity", "-Infinity"]}
        ]}),
        WitType::Char => json!({"type": "string", "minLength": 1, "maxLength": 1}),
        WitType::String => json!({"type": "string"}),
        WitType::List(inner) => json!({"type": "array", "items": type_schema(inner)}),
        WitType::Tuple(items) => json!({
            "type": "array",
            "prefixItems": items.iter().map(type_schema).collect::<Vec<_>>(),
            "items": false,
            "minItems": items.len(),
            "maxItems": items.len(),
        }),
        WitType::Record(fields) => object(fields.iter().map(|(n, t)| (n.as_str(), t))),
        WitType::Variant(cases) => json!({"oneOf": cases.iter().map(|(name, payload)| {
            let value = payload.as_ref().map_or(json!({"type": "null"}), type_schema);
            json!({"type": "object", "properties": {name.clone(): value}, "required": [name], "additionalProperties": false})
        }).collect::<Vec<_>>()}),
        WitType::Enum(cases) => json!({"type": "string", "enum": cases}),
        WitType::Flags(names) => {
            json!({"type": "array", "items": {"type": "string", "enum": names}, "uniqueItems": true})
        }
        WitType::Option(inner) => {
            if inner.accepts_null() {
                json!({"anyOf": [
                    {"type": "null"},
                    {"type": "object", "properties": {"some": type_schema(inner)}, "required": ["some"], "additionalProperties": false}
                ]})
            } else {
                json!({"anyOf": [{"type": "null"}, type_schema(inner)]})
            }
        }
        WitType::Result { ok, err } => {
            let side = |name: &str, t: &Option<Box<WitType>>| {
                let value = t.as_deref().map_or(json!({"type": "null"}), type_schema);
                json!({"type": "object", "properties": {name: value}, "required": [name], "additionalProperties": false})
            };
            json!({"oneOf": [side("ok", ok), side("err", err)]})
        }
        WitType::Unsupported(name) => {
            json!({"not": {}, "description": format!("{name} has no JSON form")})
        }
        _ => json!({}),
    }
}

/// An object whose properties are `fields`; `option` fields are not required.
fn object<'a>(fields: impl Iterator<Item = (&'a str, &'a WitType)>) -> Value {
    let mut props = Map::new();
    let mut required = Vec::new();
    for (name, t) in fields {
        props.insert(name.to_string(), type_schema(t));
        if !matches!(t, WitType::Option(_)) {
            required.push(Value::String(name.to_string()));
        }
    }
    json!({"type": "object", "properties": props, "required": required, "additionalProperties": false})
}

/// The schema of a function's arguments object, with its docs as description.
pub fn input_schema(sig: &FuncSig) -> Value {
    let mut s = object(sig.params.iter().map(|(n, t)| (n.as_str(), t)));
    if let (Some(docs), Value::Object(m)) = (&sig.docs, &mut s) {
        m.insert("description".into(), Value::String(docs.clone()));
    }
    s
}

/// The schema of a function's result. A top-level `result<T, E>` is described by its `ok`
/// side, because `err` becomes the tool's error.
pub fn output_schema(sig: &FuncSig) -> Option<Value> {
    match sig.result.as_ref()? {
        WitType::Result { ok, .. } => {
            Some(ok.as_deref().map_or(json!({"type": "null"}), type_schema))
        }
        t => Some(type_schema(t)),
    }
}
