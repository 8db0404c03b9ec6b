//! JSON ↔ [`WitValue`], with errors that name the field path (`$.order.items[2].qty`).

use crate::schema::int_bounds;
use crate::{FuncSig, WitType, WitValue};
use serde_json::{json, Map, Value};

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

fn err(path: &str, expected: impl Into<String>, found: impl Into<String>) -> ConvertError {
    ConvertError {
        path: path.to_string(),
        expected: expected.into(),
        found: found.into(),
    }
}

fn describe(v: &Value) -> String {
    let s = v.to_string();
    if s.chars().count() > 40 {
        format!("{}…", s.chars().take(40).collect::<String>())
    } else {
        s
    }
}

fn field(path: &str, name: &str) -> String {
    if name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        format!("{path}.{name}")
    } else {
        format!("{path}[{}]", Value::String(name.into()))
    }
}

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

fn to_value(t: &WitType, v: &Value, path: &str) -> Result<WitValue, ConvertError> {
    if let Some((min, max, name)) = int_bounds(t) {
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
        return Ok(match t {
            WitType::U8 => WitValue::U8(n as u8),
            WitType::U16 => WitValue::U16(n as u16),
            WitType::U32 => WitValue::U32(n as u32),
            WitType::U64 => WitValue::U64(n as u64),
            WitType::S8 => WitValue::S8(n as i8),
            WitType::S16 => WitValue::S16(n as i16),
            WitType::S32 => WitValue::S32(n as i32),
            _ => WitValue::S64(n as i64),
        });
    }
    Ok(match (t, v) {
        (WitType::Bool, Value::Bool(b)) => WitValue::Bool(*b),
        (WitType::F32 | WitType::F64, _) => {
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
            if *t == WitType::F32 {
                WitValue::F32(f as f32)
            } else {
                WitValue::F64(f)
            }
        }
        (WitType::Char, Value::String(s)) => {
            let mut chars = s.chars();
            match (chars.next(), chars.next()) {
                (Some(c), None) => WitValue::Char(c),
                _ => return Err(err(path, "a string of exactly one character", describe(v))),
            }
        }
        (WitType::String, Value::String(s)) => WitValue::String(s.clone()),
        (WitType::List(inner), Value::Array(items)) => WitValue::List(
            items
                .iter()
                .enumerate()
                .map(|(i, x)| to_value(inner, x, &format!("{path}[{i}]")))
                .collect::<Result<_, _>>()?,
        ),
        (WitType::Tuple(types), Value::Array(items)) => {
            if items.len() != types.len() {
                return Err(err(
                    path,
                    format!("an array of exactly {} items", types.len()),
                    format!("{} items", items.len()),
                ));
            }
            WitValue::Tuple(
                types
                    .iter()
                    .zip(items)
                    .enumerate()
                    .map(|(i, (t, x))| to_value(t, x, &format!("{path}[{i}]")))
                    .collect::<Result<_, _>>()?,
            )
        }
        (WitType::Record(fields), _) => record_from_json(fields, v, path)?,
        (WitType::Variant(cases), Value::Object(map)) if map.len() == 1 => {
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
                (None, Value::Null) => WitValue::Variant(name.clone(), None),
                (None, other) => {
                    return Err(err(&p, "null (this case has no payload)", describe(other)))
                }
                (Some(t), x) => {
                    WitValue::Variant(name.clone(), Some(Box::new(to_value(t, x, &p)?)))
                }
            }
        }
        (WitType::Variant(cases), _) => {
            return Err(err(
                path,
                format!(
                    "an object with exactly one of the cases {}",
                    case_names(cases)
                ),
                describe(v),
            ))
        }
        (WitType::Enum(cases), Value::String(s)) => {
            if !cases.contains(s) {
                return Err(err(
                    path,
                    format!("one of {}", cases.join(", ")),
                    describe(v),
                ));
            }
            WitValue::Enum(s.clone())
        }
        (WitType::Flags(names), Value::Array(items)) => {
            let mut set = Vec::new();
            for (i, x) in items.iter().enumerate() {
                match x {
                    Value::String(s) if names.contains(s) && !set.contains(s) => {
                        set.push(s.clone())
                    }
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
            WitValue::Flags(names.iter().filter(|n| set.contains(n)).cloned().collect())
        }
        (WitType::Option(_), Value::Null) => WitValue::Option(None),
        (WitType::Option(inner), _) if inner.accepts_null() => match v {
            Value::Object(m) if m.len() == 1 && m.contains_key("some") => WitValue::Option(Some(
                Box::new(to_value(inner, &m["some"], &field(path, "some"))?),
            )),
            _ => return Err(err(path, "null or {\"some\": value}", describe(v))),
        },
        (WitType::Option(inner), _) => WitValue::Option(Some(Box::new(to_value(inner, v, path)?))),
        (WitType::Result { ok, err: e }, Value::Object(m)) if m.len() == 1 => {
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
                "ok" => WitValue::Result(Ok(conv(ok)?)),
                "err" => WitValue::Result(Err(conv(e)?)),
                _ => return Err(err(path, "{\"ok\": …} or {\"err\": …}", describe(v))),
            }
        }
        (WitType::Result { .. }, _) => {
            return Err(err(path, "{\"ok\": …} or {\"err\": …}", describe(v)))
        }
        (WitType::Unsupported(name), _) => {
            return Err(err(
                path,
                format!("nothing: {name} has no JSON form"),
                describe(v),
            ))
        }
        (t, _) => {
            return Err(err(
                path,
                format!("a value of type {}", type_name(t)),
                describe(v),
            ))
        }
    })
}

fn case_names(cases: &[(String, Option<WitType>)]) -> String {
    cases
        .iter()
        .map(|(n, _)| n.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

fn type_name(t: &WitType) -> String {
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

fn float_json(f: f64) -> Value {
    if f.is_nan() {
        json!("NaN")
    } else if f == f64::INFINITY {
        json!("Infinity")
    } else if f == f64::NEG_INFINITY {
        json!("-Infinity")
    } else {
        json!(f)
    }
}

/// Converts a value of type `t` into JSON.
pub fn value_to_json(t: &WitType, v: &WitValue) -> Result<Value, ConvertError> {
    to_json(t, v, "$")
}

fn to_json(t: &WitType, v: &WitValue, path: &str) -> Result<Value, ConvertError> {
    let mismatch = || {
        err(
            path,
            format!("a value of type {}", type_name(t)),
            format!("{v:?}"),
        )
    };
    Ok(match (t, v) {
        (WitType::Bool, WitValue::Bool(b)) => json!(b),
        (WitType::S8, WitValue::S8(n)) => json!(n),
        (WitType::S16, WitValue::S16(n)) => json!(n),
        (WitType::S32, WitValue::S32(n)) => json!(n),
        (WitType::S64, WitValue::S64(n)) => json!(n),
        (WitType::U8, WitValue::U8(n)) => json!(n),
        (WitType::U16, WitValue::U16(n)) => json!(n),
        (WitType::U32, WitValue::U32(n)) => json!(n),
        (WitType::U64, WitValue::U64(n)) => json!(n),
        (WitType::F32, WitValue::F32(f)) => float_json(*f as f64),
        (WitType::F64, WitValue::F64(f)) => float_json(*f),
        (WitType::Char, WitValue::Char(c)) => json!(c.to_string()),
        (WitType::String, WitValue::String(s)) => json!(s),
        (WitType::List(inner), WitValue::List(items)) => Value::Array(
            items
                .iter()
                .enumerate()
                .map(|(i, x)| to_json(inner, x, &format!("{path}[{i}]")))
                .collect::<Result<_, _>>()?,
        ),
        (WitType::Tuple(types), WitValue::Tuple(items)) if types.len() == items.len() => {
            Value::Array(
                types
                    .iter()
                    .zip(items)
                    .enumerate()
                    .map(|(i, (t, x))| to_json(t, x, &format!("{path}[{i}]")))
                    .collect::<Result<_, _>>()?,
            )
        }
        (WitType::Record(fields), WitValue::Record(values)) => {
            let mut m = Map::new();
            for (name, t) in fields {
                let x = values
                    .iter()
                    .find(|(n, _)| n == name)
                    .map(|(_, x)| x)
                    .ok_or_else(mismatch)?;
                m.insert(name.clone(), to_json(t, x, &field(path, name))?);
            }
            Value::Object(m)
        }
        (WitType::Variant(cases), WitValue::Variant(name, payload)) => {
            let ty = cases
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, t)| t)
                .ok_or_else(mismatch)?;
            let p = field(path, name);
            let x = match (ty, payload) {
                (None, None) => Value::Null,
                (Some(t), Some(x)) => to_json(t, x, &p)?,
                _ => return Err(mismatch()),
            };
            json!({ name.clone(): x })
        }
        (WitType::Enum(cases), WitValue::Enum(name)) if cases.contains(name) => json!(name),
        (WitType::Flags(names), WitValue::Flags(set)) if set.iter().all(|s| names.contains(s)) => {
            Value::Array(
                names
                    .iter()
                    .filter(|n| set.contains(n))
                    .map(|n| json!(n))
                    .collect(),
            )
        }
        (WitType::Option(_), WitValue::Option(None)) => Value::Null,
        (WitType::Option(inner), WitValue::Option(Some(x))) => {
            if inner.accepts_null() {
                json!({"some": to_json(inner, x, &field(path, "some"))?})
            } else {
                to_json(inner, x, path)?
            }
        }
        (WitType::Result { ok, err: e }, WitValue::Result(r)) => {
            let (side, t, x) = match r {
                Ok(x) => ("ok", ok, x),
                Err(x) => ("err", e, x),
            };
            let p = field(path, side);
            let inner = match (t, x) {
                (None, None) => Value::Null,
                (Some(t), Some(x)) => to_json(t, x, &p)?,
                _ => return Err(mismatch()),
            };
            json!({ side: inner })
        }
        _ => return Err(mismatch()),
    })
}
