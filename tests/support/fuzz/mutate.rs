//! Mutations of valid inputs: byte flips, cuts, insertions, duplicated and swapped lines,
//! tokens of the format spliced in — and, sometimes, text made from tokens alone or raw bytes.

use arbitrary::{Result, Unstructured};

fn pos(u: &mut Unstructured<'_>, len: usize) -> Result<usize> {
    u.int_in_range(0..=len)
}

/// One mutation of `bytes` in place; `tokens` are pieces of the format to splice in.
pub fn mutate_once(u: &mut Unstructured<'_>, bytes: &mut Vec<u8>, tokens: &[&str]) -> Result<()> {
    let len = bytes.len();
    match u.int_in_range(0..=8)? {
        0 if len > 0 => {
            let i = pos(u, len - 1)?;
            bytes[i] ^= 1 << u.int_in_range(0..=7)?;
        }
        1 => {
            let (a, b) = (pos(u, len)?, pos(u, len)?);
            bytes.drain(a.min(b)..a.max(b));
        }
        2 => {
            let at = pos(u, len)?;
            let n = u.int_in_range(1..=16)?;
            let new: Vec<u8> = (0..n).map(|_| u.arbitrary()).collect::<Result<_>>()?;
            bytes.splice(at..at, new);
        }
        3 | 4 if !tokens.is_empty() => {
            let at = pos(u, len)?;
            let t = u.choose(tokens)?.as_bytes().to_vec();
            bytes.splice(at..at, t);
        }
        5 => {
            let (a, b) = (pos(u, len)?, pos(u, len)?);
            let copy = bytes[a.min(b)..a.max(b)].to_vec();
            let at = pos(u, len)?;
            bytes.splice(at..at, copy);
        }
        6 => {
            let mut lines: Vec<Vec<u8>> =
                bytes.split(|b| *b == b'\n').map(<[u8]>::to_vec).collect();
            let n = lines.len();
            let (a, b) = (pos(u, n - 1)?, pos(u, n - 1)?);
            lines.swap(a, b);
            *bytes = lines.join(&b'\n');
        }
        7 => {
            let at = pos(u, len)?;
            bytes.truncate(at);
        }
        _ => {
            if len > 0 {
                let i = pos(u, len - 1)?;
                bytes[i] = *u.choose(b"\"'[]{}=,.\n\\#0-9aZ_*:/ \t\0\x7f\xff")?;
            }
        }
    }
    Ok(())
}

/// A mutated seed (most cases), text made of tokens, or raw bytes — as text, lossily.
pub fn text(u: &mut Unstructured<'_>, seeds: &[&str], tokens: &[&str]) -> Result<String> {
    let mut bytes = match u.int_in_range(0..=9)? {
        0 => {
            let n = u.int_in_range(0..=40)?;
            let mut out = Vec::new();
            for _ in 0..n {
                out.extend_from_slice(u.choose(tokens)?.as_bytes());
                out.push(*u.choose(b"\n \n,")?);
            }
            out
        }
        1 => u.arbitrary::<Vec<u8>>()?,
        _ => u.choose(seeds)?.as_bytes().to_vec(),
    };
    let n = u.int_in_range(0..=6)?;
    for _ in 0..n {
        mutate_once(u, &mut bytes, tokens)?;
    }
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// Arbitrary JSON, at most `depth` deep, with the awkward values: huge and negative numbers,
/// floats, long and odd strings, `null`.
pub fn json(u: &mut Unstructured<'_>, depth: u32) -> Result<serde_json::Value> {
    use serde_json::Value;
    let top = if depth == 0 { 6 } else { 8 };
    Ok(match u.int_in_range(0..=top)? {
        0 => Value::Null,
        1 => Value::Bool(u.arbitrary()?),
        2 => Value::from(u.arbitrary::<i64>()?),
        3 => Value::from(u.arbitrary::<u64>()?),
        4 => serde_json::Number::from_f64(u.arbitrary::<f64>()?).map_or(Value::Null, Value::Number),
        5 => Value::String(u.arbitrary()?),
        6 => Value::String(
            u.choose(&[
                "",
                "NaN",
                "Infinity",
                "-Infinity",
                "a",
                "é",
                "\u{0}",
                "some",
                "ok",
                "err",
            ])?
            .to_string(),
        ),
        7 => {
            let n = u.int_in_range(0..=4)?;
            Value::Array((0..n).map(|_| json(u, depth - 1)).collect::<Result<_>>()?)
        }
        _ => {
            let n = u.int_in_range(0..=4)?;
            let mut m = serde_json::Map::new();
            for _ in 0..n {
                let key = match u.int_in_range(0..=2)? {
                    0 => u.arbitrary::<String>()?,
                    _ => u
                        .choose(&["a", "b", "some", "ok", "err", "x", "path", "document"])?
                        .to_string(),
                };
                m.insert(key, json(u, depth - 1)?);
            }
            Value::Object(m)
        }
    })
}
