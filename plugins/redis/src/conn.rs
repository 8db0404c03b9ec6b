//! The one connection a call opens, from the granted settings, and what Redis answers as JSON.

use serde_json::Value;
use spud_sdk::prelude::*;

/// Where and as whom to connect: from `REDIS_URL`, `REDIS_USERNAME`, `REDIS_PASSWORD`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// `redis://HOST:PORT[/DB]`.
    pub url: String,
    /// ACL user name, if any.
    pub username: Option<String>,
    /// Password, if any.
    pub password: Option<String>,
}

impl Settings {
    /// From the component's environment (what the policy's env grant gives it).
    pub fn from_env() -> Result<Settings, String> {
        let url = std::env::var("REDIS_URL").map_err(|_| {
            "REDIS_URL is not set: grant it in the policy, e.g. env = [\"REDIS_URL=redis://127.0.0.1:6379/0\"] \
             with sockets = { tcp_connect = [\"127.0.0.1:6379\"] } under [tools.redis]"
                .to_string()
        })?;
        let var = |n: &str| std::env::var(n).ok().filter(|v| !v.is_empty());
        Ok(Settings {
            url,
            username: var("REDIS_USERNAME"),
            password: var("REDIS_PASSWORD"),
        })
    }

    /// The client's connection info (the password never goes into a URL or a message).
    pub fn connection_info(&self) -> Result<redis::ConnectionInfo, String> {
        if self.url.contains('@') {
            return Err("REDIS_URL may not hold a user or password; grant REDIS_USERNAME / REDIS_PASSWORD instead".into());
        }
        let info: redis::ConnectionInfo =
            redis::IntoConnectionInfo::into_connection_info(self.url.as_str())
                .map_err(|e| format!("REDIS_URL `{}` is not a redis:// URL: {e}", self.url))?;
        let mut redis = info.redis_settings().clone();
        if let Some(u) = &self.username {
            redis = redis.set_username(u.clone());
        }
        if let Some(p) = &self.password {
            redis = redis.set_password(p.clone());
        }
        Ok(info.set_redis_settings(redis))
    }
}

/// Opens the connection for one call.
pub fn open() -> Result<redis::Connection, ToolError> {
    let settings = Settings::from_env().map_err(ToolError::new)?;
    let info = settings.connection_info().map_err(ToolError::new)?;
    let client = redis::Client::open(info).map_err(error)?;
    client.get_connection().map_err(|e| {
        ToolError::new(format!(
            "cannot connect to {}: {e} (the policy must grant its ip:port in sockets.tcp_connect under [tools.redis])",
            settings.url
        ))
    })
}

/// A Redis error as a tool error.
pub fn error(e: redis::RedisError) -> ToolError {
    ToolError::new(format!("redis: {e}"))
}

/// Commands `command` refuses: they block the one connection, change the server, or leave it.
const REFUSED: [&str; 22] = [
    "BLPOP",
    "BRPOP",
    "BLMOVE",
    "BLMPOP",
    "BZPOPMIN",
    "BZPOPMAX",
    "BZMPOP",
    "SUBSCRIBE",
    "PSUBSCRIBE",
    "SSUBSCRIBE",
    "MONITOR",
    "SYNC",
    "PSYNC",
    "SHUTDOWN",
    "CONFIG",
    "DEBUG",
    "REPLICAOF",
    "SLAVEOF",
    "MIGRATE",
    "FLUSHALL",
    "ACL",
    "MODULE",
];

/// Whether `command` may run `name` (upper-case).
pub fn check_command(name: &str) -> Result<(), String> {
    if REFUSED.contains(&name) {
        return Err(format!(
            "{name} is not run by this connector (it blocks the connection, changes the server or leaves it)"
        ));
    }
    Ok(())
}

/// A reply as JSON.
pub fn reply_json(v: &redis::Value) -> Value {
    use redis::Value as R;
    match v {
        R::Nil => Value::Null,
        R::Int(i) => Value::from(*i),
        R::BulkString(b) => Value::String(String::from_utf8_lossy(b).into_owned()),
        R::SimpleString(s) => Value::String(s.clone()),
        R::Okay => Value::String("OK".into()),
        R::Array(items) | R::Set(items) => Value::Array(items.iter().map(reply_json).collect()),
        R::Map(pairs) => Value::Array(
            pairs
                .iter()
                .map(|(k, v)| Value::Array(vec![reply_json(k), reply_json(v)]))
                .collect(),
        ),
        R::Double(d) => Value::from(*d),
        R::Boolean(b) => Value::Bool(*b),
        R::VerbatimString { text, .. } => Value::String(text.clone()),
        R::BigNumber(n) => Value::String(format!("{n:?}")),
        R::ServerError(e) => Value::String(format!("error: {e:?}")),
        other => Value::String(format!("{other:?}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replies_become_json() {
        use redis::Value as R;
        let v = R::Array(vec![
            R::Int(3),
            R::BulkString(b"a".to_vec()),
            R::Nil,
            R::Okay,
        ]);
        assert_eq!(reply_json(&v), serde_json::json!([3, "a", null, "OK"]));
    }

    #[test]
    fn blocking_and_admin_commands_are_refused() {
        assert!(check_command("BLPOP").is_err());
        assert!(check_command("FLUSHALL").is_err());
        assert!(check_command("INCRBY").is_ok());
    }

    #[test]
    fn a_password_never_goes_in_the_url() {
        let s = Settings {
            url: "redis://:pw@127.0.0.1:6379".into(),
            username: None,
            password: None,
        };
        assert!(s.connection_info().unwrap_err().contains("REDIS_PASSWORD"));
        let s = Settings {
            url: "redis://127.0.0.1:6380/2".into(),
            username: Some("app".into()),
            password: Some("pw".into()),
        };
        let info = s.connection_info().unwrap();
        assert_eq!(info.redis_settings().db(), 2);
        assert_eq!(info.redis_settings().password(), Some("pw"));
    }
}
