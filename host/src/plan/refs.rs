//! References from a step's arguments to earlier results: `${step.field.0.name}` (a JSON value
//! at that path of the step's result), with `|json` to parse a string result as JSON. A string
//! that is exactly one reference becomes the referenced value; references inside longer text
//! are replaced by their text.

use serde_json::Value;
use std::collections::BTreeMap;

/// A reference that cannot be resolved.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`${{{reference}}}`: {reason}")]
pub struct RefError {
    /// The reference as written.
    pub reference: String,
    /// Why.
    pub reason: String,
}

fn spans(s: &str) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(start) = s[from..].find("${").map(|i| i + from) {
        match s[start..].find('}') {
            Some(end) => {
                out.push((start, start + end + 1));
                from = start + end + 1;
            }
            None => break,
        }
    }
    out
}

/// Step ids referenced anywhere in `args`.
pub fn references(args: &Value) -> Vec<String> {
    let mut out = Vec::new();
    walk(args, &mut |s| {
        for (a, b) in spans(s) {
            let inner = &s[a + 2..b - 1];
            let id = inner.split(['.', '|']).next().unwrap_or("").to_string();
            if !out.contains(&id) {
                out.push(id);
            }
        }
    });
    out
}

fn walk(v: &Value, f: &mut impl FnMut(&str)) {
    match v {
        Value::String(s) => f(s),
        Value::Array(a) => a.iter().for_each(|x| walk(x, f)),
        Value::Object(m) => m.values().for_each(|x| walk(x, f)),
        _ => {}
    }
}

/// `args` with every reference replaced from `results` (step id → result).
pub fn resolve(args: &Value, results: &BTreeMap<String, Value>) -> Result<Value, RefError> {
    Ok(match args {
        Value::String(s) => {
            let sp = spans(s);
            if sp.len() == 1 && sp[0] == (0, s.len()) {
                lookup(&s[2..s.len() - 1], results)?
            } else {
                let mut out = String::new();
                let mut last = 0;
                for (a, b) in sp {
                    out.push_str(&s[last..a]);
                    match lookup(&s[a + 2..b - 1], results)? {
                        Value::String(t) => out.push_str(&t),
                        other => out.push_str(&other.to_string()),
                    }
                    last = b;
                }
                out.push_str(&s[last..]);
                Value::String(out)
            }
        }
        Value::Array(a) => Value::Array(
            a.iter()
                .map(|x| resolve(x, results))
                .collect::<Result<_, _>>()?,
        ),
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, x)| Ok((k.clone(), resolve(x, results)?)))
                .collect::<Result<_, RefError>>()?,
        ),
        other => other.clone(),
    })
}

fn lookup(reference: &str, results: &BTreeMap<String, Value>) -> Result<Value, RefError> {
    let fail = |reason: String| RefError {
        reference: reference.to_string(),
        reason,
    };
    let (path, filter) = match reference.split_once('|') {
        Some((p, f)) => (p, Some(f.trim())),
        None => (reference, None),
    };
    let mut parts = path.split('.');
    let id = parts.next().unwrap_or("");
    let mut v = results
        .get(id)
        .ok_or_else(|| fail(format!("step `{id}` has no result")))?;
    for part in parts {
        v = match v {
            Value::Object(m) => m
                .get(part)
                .ok_or_else(|| fail(format!("no field `{part}`")))?,
            Value::Array(a) => part
                .parse::<usize>()
                .ok()
                .and_then(|i| a.get(i))
                .ok_or_else(|| fail(format!("no element `{part}`")))?,
            _ => return Err(fail(format!("`{part}` is inside a {}", kind(v)))),
        };
    }
    match filter {
        None => Ok(v.clone()),
        Some("json") => match v {
            Value::String(s) => serde_json::from_str(s).map_err(|e| fail(format!("not JSON: {e}"))),
            other => Ok(other.clone()),
        },
        Some(f) => Err(fail(format!("unknown filter `{f}` (known: json)"))),
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn resolves_values_text_and_json() {
        let results = BTreeMap::from([(
            "a".to_string(),
            json!({"content": "{\"n\": [1, 2]}", "list": [{"name": "x"}]}),
        )]);
        let args = json!({"doc": "${a.content|json}", "first": "${a.list.0.name}", "msg": "got ${a.list.0.name}!"});
        assert_eq!(
            resolve(&args, &results).unwrap(),
            json!({"doc": {"n": [1, 2]}, "first": "x", "msg": "got x!"})
        );
        assert_eq!(references(&args), ["a"]);
        assert!(resolve(&json!("${a.nope}"), &results)
            .unwrap_err()
            .to_string()
            .contains("no field `nope`"));
        assert!(resolve(&json!("${b.x}"), &results).is_err());
    }
}
