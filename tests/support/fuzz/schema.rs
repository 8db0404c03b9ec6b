//! JSON → WIT values (`spud-schema`): random WIT types, and JSON that is either arbitrary or a
//! valid value of the type with one part replaced. Accepted JSON must convert back to JSON and
//! again to the same value (the round trip the call path relies on).

use super::mutate;
use super::runner::{Target, Verdict};
use arbitrary::{Result, Unstructured};
use serde_json::Value;
use spud::schema::{
    args_from_json, input_schema, json_to_value, output_schema, type_schema, value_to_json,
    FuncSig, WitType,
};

/// Up to `max` distinct names (the component model refuses a type that repeats a field, case
/// or flag name, so no component can declare one).
fn names(u: &mut Unstructured<'_>, max: usize) -> Result<Vec<String>> {
    let n = u.int_in_range(0..=max)?;
    let mut out: Vec<String> = Vec::with_capacity(n);
    for i in 0..n {
        let name = match u.int_in_range(0..=3)? {
            0 => u.arbitrary::<String>()?,
            1 => "some".to_string(),
            _ => format!("n{i}"),
        };
        if !out.contains(&name) {
            out.push(name);
        }
    }
    Ok(out)
}

/// A random WIT type at most `depth` deep.
pub fn wit_type(u: &mut Unstructured<'_>, depth: u32) -> Result<WitType> {
    use WitType as T;
    let leaves = [
        T::Bool,
        T::S8,
        T::S16,
        T::S32,
        T::S64,
        T::U8,
        T::U16,
        T::U32,
        T::U64,
        T::F32,
        T::F64,
        T::Char,
        T::String,
    ];
    if depth == 0 || u.ratio(1, 3)? {
        return Ok(u.choose(&leaves)?.clone());
    }
    let d = depth - 1;
    let sub = |u: &mut Unstructured<'_>| wit_type(u, d).map(Box::new);
    Ok(match u.int_in_range(0..=8)? {
        0 => T::List(sub(u)?),
        1 => {
            let mut fields = Vec::new();
            for n in names(u, 4)? {
                fields.push((n, wit_type(u, d)?));
            }
            T::Record(fields)
        }
        2 => {
            let n = u.int_in_range(0..=3)?;
            T::Tuple((0..n).map(|_| wit_type(u, d)).collect::<Result<_>>()?)
        }
        3 => {
            let mut cases = Vec::new();
            for n in names(u, 4)? {
                let payload = if u.arbitrary()? {
                    Some(wit_type(u, d)?)
                } else {
                    None
                };
                cases.push((n, payload));
            }
            T::Variant(cases)
        }
        4 => T::Enum(names(u, 4)?),
        5 => T::Option(sub(u)?),
        6 => T::Result {
            ok: if u.arbitrary()? { Some(sub(u)?) } else { None },
            err: if u.arbitrary()? { Some(sub(u)?) } else { None },
        },
        7 => T::Flags(names(u, 5)?),
        _ => T::Unsupported("own<r>".into()),
    })
}

/// Replaces one random node of `v` with arbitrary JSON.
fn replace_one(u: &mut Unstructured<'_>, v: &mut Value) -> Result<()> {
    let children = match v {
        Value::Array(a) => a.len(),
        Value::Object(o) => o.len(),
        _ => 0,
    };
    if children == 0 || u.ratio(1, 3)? {
        *v = mutate::json(u, 2)?;
        return Ok(());
    }
    let i = u.int_in_range(0..=children - 1)?;
    match v {
        Value::Array(a) => replace_one(u, &mut a[i]),
        Value::Object(o) => match o.values_mut().nth(i) {
            Some(child) => replace_one(u, child),
            None => Ok(()),
        },
        _ => Ok(()),
    }
}

/// JSON for `t`: arbitrary, or what some accepted JSON converts back to, with a part replaced.
fn input_for(u: &mut Unstructured<'_>, t: &WitType) -> Result<Value> {
    let mut j = mutate::json(u, 4)?;
    if u.ratio(2, 3)? {
        // Search for JSON the type accepts, then damage it.
        if let Ok(v) = json_to_value(t, &j) {
            if let Ok(valid) = value_to_json(t, &v) {
                j = valid;
            }
        }
        replace_one(u, &mut j)?;
    }
    Ok(j)
}

/// `json_to_value`, `args_from_json` and the schemas.
#[derive(Debug, Default)]
pub struct SchemaTarget;

impl Target for SchemaTarget {
    fn name(&self) -> &'static str {
        "schema"
    }

    fn case(&mut self, u: &mut Unstructured<'_>) -> Result<Verdict> {
        let t = wit_type(u, 4)?;
        let _ = type_schema(&t);
        let j = input_for(u, &t)?;
        let sig = FuncSig {
            name: "f".into(),
            docs: None,
            params: vec![("x".into(), t.clone())],
            result: Some(t.clone()),
        };
        let _ = (input_schema(&sig), output_schema(&sig));
        let _ = args_from_json(&sig, &serde_json::json!({ "x": j.clone() }));
        let _ = args_from_json(&sig, &j);
        let v = match json_to_value(&t, &j) {
            Ok(v) => v,
            Err(e) => {
                let _ = e.to_string();
                return Ok(Verdict::Rejected);
            }
        };
        let back = match value_to_json(&t, &v) {
            Ok(b) => b,
            Err(e) => {
                return Ok(Verdict::Violation(format!(
                    "{t:?}: {j} accepted, but its value does not convert back: {e}"
                )))
            }
        };
        match json_to_value(&t, &back) {
            Ok(again) if format!("{again:?}") == format!("{v:?}") => Ok(Verdict::Accepted),
            other => Ok(Verdict::Violation(format!(
                "{t:?}: {j} -> {v:?} -> {back} -> {other:?}"
            ))),
        }
    }
}
