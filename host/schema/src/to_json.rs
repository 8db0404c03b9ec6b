//! [`WitValue`] → JSON: a component's result as the agent sees it, checked against its type on
//! the way (a value that does not fit is an error that names the field path).

use crate::convert::{err, field, type_name, ConvertError};
use crate::{WitType, WitValue};
use serde_json::{json, Map, Value};

/// Converts a value of type `t` into JSON.
pub fn value_to_json(t: &WitType, v: &WitValue) -> Result<Value, ConvertError> {
    to_json(t, v, "$")
}

/// A value of type `t` → JSON; `path` is where `v` sits, for errors.
fn to_json(t: &WitType, v: &WitValue, path: &str) -> Result<Value, ConvertError> {
    let mismatch = || {
        err(
            path,
            format!("a value of type {}", type_name(t)),
            format!("{v:?}"),
        )
    };
    if let Some(j) = scalar_json(t, v) {
        return Ok(j);
    }
    Ok(match (t, v) {
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
            record_json(fields, values, path, mismatch)?
        }
        (WitType::Variant(cases), WitValue::Variant(name, payload)) => {
            variant_json(cases, name, payload, path, mismatch)?
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
            result_json(ok, e, r, path, mismatch)?
        }
        _ => return Err(mismatch()),
    })
}

/// The JSON of a value of a scalar type (bool, integers, floats, char, string), `None` when `t`
/// is not scalar or `v` is not of type `t`.
fn scalar_json(t: &WitType, v: &WitValue) -> Option<Value> {
    Some(match (t, v) {
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
        _ => return None,
    })
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

/// `record`: an object with every field of the type, in declaration order.
fn record_json(
    fields: &[(String, WitType)],
    values: &[(String, WitValue)],
    path: &str,
    mismatch: impl Fn() -> ConvertError,
) -> Result<Value, ConvertError> {
    let mut m = Map::new();
    for (name, t) in fields {
        let x = values
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, x)| x)
            .ok_or_else(&mismatch)?;
        m.insert(name.clone(), to_json(t, x, &field(path, name))?);
    }
    Ok(Value::Object(m))
}

/// `variant`: `{case: payload}`, `null` for a case without one.
fn variant_json(
    cases: &[(String, Option<WitType>)],
    name: &String,
    payload: &Option<Box<WitValue>>,
    path: &str,
    mismatch: impl Fn() -> ConvertError,
) -> Result<Value, ConvertError> {
    let ty = cases
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, t)| t)
        .ok_or_else(&mismatch)?;
    let p = field(path, name);
    let x = match (ty, payload) {
        (None, None) => Value::Null,
        (Some(t), Some(x)) => to_json(t, x, &p)?,
        _ => return Err(mismatch()),
    };
    Ok(json!({ name.clone(): x }))
}

type Payload = Option<Box<WitValue>>;

/// `result`: `{"ok": payload}` or `{"err": payload}`, `null` for a side without a type.
fn result_json(
    ok: &Option<Box<WitType>>,
    e: &Option<Box<WitType>>,
    r: &Result<Payload, Payload>,
    path: &str,
    mismatch: impl Fn() -> ConvertError,
) -> Result<Value, ConvertError> {
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
    Ok(json!({ side: inner }))
}
