//! Values between JSON and PostgreSQL's text format, and the connection URL (pure).

use serde_json::Value;

/// Where to connect, from `postgresql://USER@IP:PORT/DB`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The role to log in as.
    pub user: String,
    /// `ip:port` (an IP address: the component does no DNS lookups).
    pub addr: String,
    /// The database.
    pub database: String,
}

impl Target {
    /// Parses `postgresql://USER@IP[:PORT]/DB` (`postgres://` too; port 5432 by default). A
    /// password in the URL is refused: grant `PGPASSWORD` instead.
    pub fn parse(url: &str) -> Result<Target, String> {
        let rest = url
            .strip_prefix("postgresql://")
            .or_else(|| url.strip_prefix("postgres://"))
            .ok_or_else(|| format!("POSTGRES_URL `{url}` is not a postgresql:// URL"))?;
        let (auth, rest) = rest.split_once('@').ok_or_else(|| {
            format!("POSTGRES_URL `{url}` names no user: write postgresql://USER@IP:PORT/DB")
        })?;
        if auth.contains(':') {
            return Err("POSTGRES_URL may not hold a password; grant PGPASSWORD instead".into());
        }
        let (host, database) = rest.split_once('/').unwrap_or((rest, auth));
        let database = database.split('?').next().unwrap_or(database);
        let addr = if host
            .rsplit_once(':')
            .is_some_and(|(_, p)| p.parse::<u16>().is_ok())
            && !host.ends_with(']')
        {
            host.to_string()
        } else {
            format!("{host}:5432")
        };
        if auth.is_empty() || database.is_empty() || host.is_empty() {
            return Err(format!(
                "POSTGRES_URL `{url}` needs a user, a host and a database: postgresql://USER@IP:PORT/DB"
            ));
        }
        Ok(Target {
            user: auth.to_string(),
            addr,
            database: database.to_string(),
        })
    }
}

/// A parameter as PostgreSQL's text format (`None`: NULL).
pub fn param_text(v: &Value) -> Option<String> {
    match v {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => Some(n.to_string()),
        other => Some(other.to_string()),
    }
}

/// Type OIDs of the built-in types converted to JSON numbers, booleans and JSON.
mod oid {
    pub const BOOL: u32 = 16;
    pub const INT8: u32 = 20;
    pub const INT2: u32 = 21;
    pub const INT4: u32 = 23;
    pub const OID: u32 = 26;
    pub const JSON: u32 = 114;
    pub const FLOAT4: u32 = 700;
    pub const FLOAT8: u32 = 701;
    pub const NUMERIC: u32 = 1700;
    pub const JSONB: u32 = 3802;
}

/// A column value in text format as JSON, by its type: integers and floats (and numerics that
/// fit an f64 exactly enough to print back the same) as numbers, booleans, json/jsonb parsed,
/// everything else as text.
pub fn text_to_json(type_oid: u32, text: &str) -> Value {
    match type_oid {
        oid::BOOL => Value::Bool(text == "t"),
        oid::INT2 | oid::INT4 | oid::INT8 | oid::OID => text
            .parse::<i64>()
            .map(Value::from)
            .unwrap_or_else(|_| Value::String(text.into())),
        oid::FLOAT4 | oid::FLOAT8 | oid::NUMERIC => number(text),
        oid::JSON | oid::JSONB => {
            serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.into()))
        }
        _ => Value::String(text.into()),
    }
}

/// A decimal as a JSON number when it round-trips (e.g. `12.50` → 12.5), else as text.
fn number(text: &str) -> Value {
    // `80.00` is the integer 80.
    let whole = text
        .split_once('.')
        .filter(|(_, frac)| frac.bytes().all(|b| b == b'0'))
        .map_or(text, |(w, _)| w);
    if let Ok(i) = whole.parse::<i64>() {
        return Value::from(i);
    }
    text.parse::<f64>()
        .ok()
        .filter(|f| f.is_finite() && same_decimal(text, *f))
        .and_then(serde_json::Number::from_f64)
        .map_or_else(|| Value::String(text.into()), Value::Number)
}

/// Whether `f` prints as the same decimal as `text` (trailing zeros aside).
fn same_decimal(text: &str, f: f64) -> bool {
    let trim = |s: &str| -> String {
        if s.contains('.') {
            s.trim_end_matches('0').trim_end_matches('.').to_string()
        } else {
            s.to_string()
        }
    };
    trim(text) == trim(&f.to_string())
}

/// Rows a command tag reports (`INSERT 0 3` → 3, `UPDATE 2` → 2; 0 when it reports none).
pub fn rows_affected(tag: &str) -> u64 {
    tag.rsplit(' ')
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn urls_name_user_address_and_database() {
        assert_eq!(
            Target::parse("postgresql://shop@127.0.0.1:5433/sales").unwrap(),
            Target {
                user: "shop".into(),
                addr: "127.0.0.1:5433".into(),
                database: "sales".into()
            }
        );
        assert_eq!(
            Target::parse("postgres://a@10.0.0.5/a").unwrap().addr,
            "10.0.0.5:5432"
        );
        assert!(Target::parse("postgresql://a:pw@1.2.3.4/x")
            .unwrap_err()
            .contains("PGPASSWORD"));
        assert!(Target::parse("mysql://a@1.2.3.4/x").is_err());
        assert!(Target::parse("postgresql://1.2.3.4/x").is_err());
    }

    #[test]
    fn values_convert_by_type() {
        assert_eq!(text_to_json(23, "42"), json!(42));
        assert_eq!(text_to_json(16, "t"), json!(true));
        assert_eq!(text_to_json(1700, "1200.50"), json!(1200.5));
        assert_eq!(text_to_json(1700, "80.00"), json!(80));
        assert_eq!(
            text_to_json(1700, "12345678901234567890.12"),
            json!("12345678901234567890.12")
        );
        assert_eq!(text_to_json(3802, r#"{"a": [1]}"#), json!({"a": [1]}));
        assert_eq!(text_to_json(1082, "2026-11-30"), json!("2026-11-30"));
        assert_eq!(param_text(&json!(null)), None);
        assert_eq!(param_text(&json!(2.5)).as_deref(), Some("2.5"));
        assert_eq!(param_text(&json!({"k": 1})).as_deref(), Some(r#"{"k":1}"#));
        assert_eq!(rows_affected("INSERT 0 3"), 3);
        assert_eq!(rows_affected("SELECT 7"), 7);
        assert_eq!(rows_affected("BEGIN"), 0);
    }
}
