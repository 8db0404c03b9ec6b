//! JSON → [`WitValue`]: the agent's arguments checked against the parameter types, with errors
//! that name the field path. One helper per kind of WIT type.

use crate::convert::{case_names, describe, err, field, type_name, ConvertError};
use crate::schema::int_bounds;
use crate::{FuncSig, WitType, WitValue};
use serde_json::{Map, Value};

/// Converts the arguments object of a call into parameter values, in order.
pub fn args_from_json(sig: &FuncSig, input: &Value) -> Result<Vec<WitValue>, ConvertError> {
    let fields: Vec<(String, WitType)> = sig.params.clone();
    match record_from_json(&fields, input, "$")? {
        WitValue::Record(values) => Ok(values.into_iter().map(|(_, v)| v).collect()),
        _ => Err(err("$", "an object of arguments", describe(input))),
    }
}

/// Converts JSON into a value of type `t`.
pub fn json_to_value(t: &WitType, v: &Value) -> Result<WitValue, ConvertError> {
    to_value(t, v, "$")
}

fn record_from_json(
    fields: &[(String, WitType)],
    v: &Value,
    path: &str,
) -> Result<WitValue, ConvertError> {
    let Value::Object(map) = v else {
        let names: Vec<&str> = fields.iter().map(|(n, _)| n.as_str()).collect();
        return Err(err(
            path,
            format!("an object with fields {}", names.join(", ")),
            describe(v),
        ));
    };
    for key in map.keys() {
        if !fields.iter().any(|(n, _)| n == key) {
            let names: Vec<&str> = fields.iter().map(|(n, _)| n.as_str()).collect();
            return Err(err(
                &field(path, key),
                format!("no such field (known: {})", names.join(", ")),
                "an unknown field",
            ));
        }
    }
    let mut out = Vec::with_capacity(fields.len());
    for (name, t) in fields {
        let p = field(path, name);
        let value = match (map.get(name), t) {
            (Some(v), t) => to_value(t, v, &p)?,
            (None, WitType::Option(_)) => WitValue::Option(None),
            (None, t) => {
                return Err(err(
                    &p,
                    format!("a value of type {}", type_name(t)),
                    "nothing (the field is required)",
                ))
            }
        };
        out.push((name.clone(), value));
    }
    Ok(WitValue::Record(out))
}

/// JSON → a value of type `t`; `path` is where `v` sits, for errors.
fn to_value(t: &WitType, v: &Value, path: &str) -> Result<WitValue, ConvertError> {
    if let Some(bounds) = int_bounds(t) {
        return int_value(t, v, path, bounds);
    }
    match (t, v) {
        (WitType::Bool, Value::Bool(b)) => Ok(WitValue::Bool(*b)),
        (WitType::F32 | WitType::F64, _) => float_value(t, v, path),
        (WitType::Char, Value::String(s)) => char_value(s, v, path),
        (WitType::String, Value::String(s)) => Ok(WitValue::String(s.clone())),
        (WitType::List(inner), Value::Array(items)) => Ok(WitValue::List(
            items
                .iter()
                .enumerate()
                .map(|(i, x)| to_value(inner, x, &format!("{path}[{i}]")))
                .collect::<Result<_, _>>()?,
        )),
        (WitType::Tuple(types), Value::Array(items)) => tuple_value(types, items, path),
        (WitType::Record(fields), _) => record_from_json(fields, v, path),
        (WitType::Variant(cases), Value::Object(map)) if map.len() == 1 => {
            variant_value(cases, map, path)
        }
        (WitType::Variant(cases), _) => Err(err(
            path,
            format!(
                "an object with exactly one of the cases {}",
                case_names(cases)
            ),
            describe(v),
        )),
        (WitType::Enum(cases), Value::String(s)) => enum_value(cases, s, v, path),
        (WitType::Flags(names), Value::Array(items)) => flags_value(names, items, path),
        (WitType::Option(inner), _) => option_value(inner, v, path),
        (WitType::Result { ok, err: e }, Value::Object(m)) if m.len() == 1 => {
            result_value(ok, e, m, v, path)
        }
        (WitType::Result { .. }, _) => Err(err(path, "{\"ok\": …} or {\"err\": …}", describe(v))),
        (WitType::Unsupported(name), _) => Err(err(
            path,
            format!("nothing: {name} has no JSON form"),
            describe(v),
        )),
        (t, _) => Err(err(
            path,
            format!("a value of type {}", type_name(t)),
            describe(v),
        )),
    }
}

/// An integer type: a JSON integer within the type's bounds.
fn int_value(
    t: &WitType,
    v: &Value,
    path: &str,
    (min, max, name): (i128, i128, &str),
) -> Result<WitValue, ConvertError> {
    let expected = || format!("an integer in {min}..={max} ({name})");
    let n: i128 = match v {
        Value::Number(n) => match (n.as_i64(), n.as_u64()) {
            (Some(i), _) => i as i128,
            (None, Some(u)) => u as i128,
            _ => return Err(err(path, expected(), describe(v))),
        },
        _ => return Err(err(path, expected(), describe(v))),
    };
    if n < min || n > max {
        return Err(err(path, expected(), describe(v)));
    }
    Ok(match t {
        WitType::U8 => WitValue::U8(n as u8),
        WitType::U16 => WitValue::U16(n as u16),
        WitType::U32 => WitValue::U32(n as u32),
        WitType::U64 => WitValue::U64(n as u64),
        WitType::S8 => WitValue::S8(n as i8),
        WitType::S16 => WitValue::S16(n as i16),
        WitType::S32 => WitValue::S32(n as i32),
        _ => WitValue::S64(n as i64),
    })
}

/// `f32` or `f64`: a JSON number, or one of the strings for the non-finite values.
fn float_value(t: &WitType, v: &Value, path: &str) -> Result<WitValue, ConvertError> {
    let f = match v {
        Value::Number(n) => n
            .as_f64()
            .ok_or_else(|| err(path, "a number", describe(v)))?,
        Value::String(s) if s == "NaN" => f64::NAN,
        Value::String(s) if s == "Infinity" => f64::INFINITY,
        Value::String(s) if s == "-Infinity" => f64::NEG_INFINITY,
        _ => {
            return Err(err(
                path,
                "a number (or \"NaN\", \"Infinity\", \"-Infinity\")",
                describe(v),
            ))
        }
    };
    Ok(if *t == WitType::F32 {
        WitValue::F32(f as f32)
    } else {
        WitValue::F64(f)
    })
}

/// `char`: a string of exactly one character.
fn char_value(s: &str, v: &Value, path: &str) -> Result<WitValue, ConvertError> {
    let mut chars = s.chars();
    match (chars.next(), chars.next()) {
        (Some(c), None) => Ok(WitValue::Char(c)),
        _ => Err(err(path, "a string of exactly one character", describe(v))),
    }
}

/// `tuple`: an array of exactly as many items as the tuple has types.
fn tuple_value(types: &[WitType], items: &[Value], path: &str) -> Result<WitValue, ConvertError> {
    if items.len() != types.len() {
        return Err(err(
            path,
            format!("an array of exactly {} items", types.len()),
            format!("{} items", items.len()),
        ));
    }
    Ok(WitValue::Tuple(
        types
            .iter()
            .zip(items)
            .enumerate()
            .map(|(i, (t, x))| to_value(t, x, &format!("{path}[{i}]")))
            .collect::<Result<_, _>>()?,
    ))
}

/// `variant`: an object of one property, the case name, whose value is the payload or `null`.
fn variant_value(
    cases: &[(String, Option<WitType>)],
    map: &Map<String, Value>,
    path: &str,
) -> Result<WitValue, ConvertError> {
    let (name, payload) = map
        .iter()
        .next()
        .ok_or_else(|| err(path, "one case", "none"))?;
    let Some((_, ty)) = cases.iter().find(|(n, _)| n == name) else {
        return Err(err(
            path,
            format!("one of the cases {}", case_names(cases)),
            format!("case `{name}`"),
        ));
    };
    let p = field(path, name);
    match (ty, payload) {
        (None, Value::Null) => Ok(WitValue::Variant(name.clone(), None)),
        (None, other) => Err(err(&p, "null (this case has no payload)", describe(other))),
        (Some(t), x) => Ok(WitValue::Variant(
            name.clone(),
            Some(Box::new(to_value(t, x, &p)?)),
        )),
    }
}

/// `enum`: one of the case names.
fn enum_value(cases: &[String], s: &str, v: &Value, path: &str) -> Result<WitValue, ConvertError> {
    if !cases.iter().any(|c| c == s) {
        return Err(err(
            path,
            format!("one of {}", cases.join(", ")),
            describe(v),
        ));
    }
    Ok(WitValue::Enum(s.to_string()))
}

/// `flags`: an array of distinct flag names, kept in declaration order.
fn flags_value(names: &[String], items: &[Value], path: &str) -> Result<WitValue, ConvertError> {
    let mut set = Vec::new();
    for (i, x) in items.iter().enumerate() {
        match x {
            Value::String(s) if names.contains(s) && !set.contains(s) => set.push(s.clone()),
            Value::String(s) if set.contains(s) => {
                return Err(err(
                    &format!("{path}[{i}]"),
                    "each flag at most once",
                    format!("`{s}` again"),
                ))
            }
            other => {
                return Err(err(
                    &format!("{path}[{i}]"),
                    format!("one of the flags {}", names.join(", ")),
                    describe(other),
                ))
            }
        }
    }
    // Canonical order: declaration order.
    Ok(WitValue::Flags(
        names.iter().filter(|n| set.contains(n)).cloned().collect(),
    ))
}

/// `option<T>`: `null`, or `T` itself — wrapped as `{"some": T}` when `T` can be `null`.
fn option_value(inner: &WitType, v: &Value, path: &str) -> Result<WitValue, ConvertError> {
    if v.is_null() {
        return Ok(WitValue::Option(None));
    }
    if !inner.accepts_null() {
        return Ok(WitValue::Option(Some(Box::new(to_value(inner, v, path)?))));
    }
    match v {
        Value::Object(m) if m.len() == 1 && m.contains_key("some") => Ok(WitValue::Option(Some(
            Box::new(to_value(inner, &m["some"], &field(path, "some"))?),
        ))),
        _ => Err(err(path, "null or {\"some\": value}", describe(v))),
    }
}

/// `result<T, E>`: an object of one property, `ok` or `err`, with the payload or `null`.
fn result_value(
    ok: &Option<Box<WitType>>,
    e: &Option<Box<WitType>>,
    m: &Map<String, Value>,
    v: &Value,
    path: &str,
) -> Result<WitValue, ConvertError> {
    let (side, x) = m
        .iter()
        .next()
        .ok_or_else(|| err(path, "ok or err", "none"))?;
    let p = field(path, side);
    let conv = |t: &Option<Box<WitType>>| -> Result<Option<Box<WitValue>>, ConvertError> {
        match (t, x) {
            (None, Value::Null) => Ok(None),
            (None, other) => Err(err(&p, "null (no payload)", describe(other))),
            (Some(t), x) => Ok(Some(Box::new(to_value(t, x, &p)?))),
        }
    };
    match side.as_str() {
        "ok" => Ok(WitValue::Result(Ok(conv(ok)?))),
        "err" => Ok(WitValue::Result(Err(conv(e)?))),
        _ => Err(err(path, "{\"ok\": …} or {\"err\": …}", describe(v))),
    }
}
