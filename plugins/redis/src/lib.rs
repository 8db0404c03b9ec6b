//! spud's first-party Redis connector. The component opens one TCP connection per call, through
//! `wasi:sockets`, to the server named by `REDIS_URL` (an env grant the operator fixes, e.g.
//! `env = ["REDIS_URL=redis://127.0.0.1:6379/0"]`); the policy's `sockets.tcp_connect` must
//! list that `ip:port`, so the component can reach that one server and nothing else. A
//! password, if any, comes from `REDIS_PASSWORD` (an env grant: a registered secret).

mod conn;

pub use conn::{reply_json, Settings};
use serde_json::Value;
use spud_sdk::prelude::*;
use std::collections::BTreeMap;

spud_sdk::export_plugin! {
    name: "redis",
    description: "Read and write Redis keys, hashes and lists on the one server the operator grants.",
    requests: Requests::new()
        .tcp_connect("*:*")
        .env("REDIS_URL")
        .env("REDIS_USERNAME")
        .env("REDIS_PASSWORD")
        .limits(
            Limits::new()
                .memory_mb(32)
                .fuel(2_000_000_000)
                .timeout_ms(15_000)
                .result_bytes(4 * 1024 * 1024),
        ),
    tools: [get, set, delete, scan, hash_get, hash_set, list_range, list_push, command],
}

/// Input of `get`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct KeysInput {
    /// The keys.
    pub keys: Vec<String>,
}

/// Values by key.
#[derive(Debug, Serialize, JsonSchema)]
pub struct ValuesOutput {
    /// Each key's string value, null when the key does not exist.
    pub values: BTreeMap<String, Option<String>>,
}

/// Gets the string values of keys (null for a missing key).
#[tool]
pub fn get(input: KeysInput) -> Result<ValuesOutput, ToolError> {
    if input.keys.is_empty() {
        return Err(ToolError::new("give at least one key"));
    }
    let mut con = conn::open()?;
    let values: Vec<Option<String>> = redis::cmd("MGET")
        .arg(&input.keys)
        .query(&mut con)
        .map_err(conn::error)?;
    Ok(ValuesOutput {
        values: input.keys.into_iter().zip(values).collect(),
    })
}

/// Input of `set`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SetInput {
    /// The key.
    pub key: String,
    /// Its new string value.
    pub value: String,
    /// Expire the key after this many seconds (default: never).
    #[serde(default)]
    pub ttl_seconds: Option<u64>,
    /// Set only if the key does not exist yet (default false).
    #[serde(default)]
    pub only_if_new: bool,
}

/// Whether a write happened.
#[derive(Debug, Serialize, JsonSchema)]
pub struct WrittenOutput {
    /// True when the value was written (false: `only_if_new` and the key existed).
    pub written: bool,
}

/// Sets a key to a string value, optionally with an expiry or only if it is new.
#[tool]
pub fn set(input: SetInput) -> Result<WrittenOutput, ToolError> {
    let mut con = conn::open()?;
    let mut cmd = redis::cmd("SET");
    cmd.arg(&input.key).arg(&input.value);
    if let Some(ttl) = input.ttl_seconds {
        cmd.arg("EX").arg(ttl);
    }
    if input.only_if_new {
        cmd.arg("NX");
    }
    let reply: Option<String> = cmd.query(&mut con).map_err(conn::error)?;
    Ok(WrittenOutput {
        written: reply.is_some(),
    })
}

/// How many keys or items a call changed.
#[derive(Debug, Serialize, JsonSchema)]
pub struct CountOutput {
    /// The count Redis answered.
    pub count: u64,
}

/// Deletes keys; answers how many existed.
#[tool]
pub fn delete(input: KeysInput) -> Result<CountOutput, ToolError> {
    if input.keys.is_empty() {
        return Err(ToolError::new("give at least one key"));
    }
    let mut con = conn::open()?;
    let count: u64 = redis::cmd("DEL")
        .arg(&input.keys)
        .query(&mut con)
        .map_err(conn::error)?;
    Ok(CountOutput { count })
}

/// Input of `scan`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ScanInput {
    /// A glob pattern, e.g. `order:*` (default `*`).
    #[serde(default)]
    pub pattern: Option<String>,
    /// Return at most this many keys (default 1000).
    #[serde(default)]
    pub max_keys: Option<u32>,
}

/// Keys found.
#[derive(Debug, Serialize, JsonSchema)]
pub struct ScanOutput {
    /// The keys, sorted.
    pub keys: Vec<String>,
    /// Whether there were more than `max_keys`.
    pub truncated: bool,
}

/// Lists the keys matching a glob pattern (SCAN: it does not block the server).
#[tool]
pub fn scan(input: ScanInput) -> Result<ScanOutput, ToolError> {
    let max = input.max_keys.unwrap_or(1000) as usize;
    let mut con = conn::open()?;
    let pattern = input.pattern.unwrap_or_else(|| "*".into());
    let iter: redis::Iter<String> = redis::cmd("SCAN")
        .cursor_arg(0)
        .arg("MATCH")
        .arg(&pattern)
        .arg("COUNT")
        .arg(500)
        .clone()
        .iter(&mut con)
        .map_err(conn::error)?;
    let mut keys = Vec::new();
    let mut truncated = false;
    for k in iter {
        if keys.len() == max {
            truncated = true;
            break;
        }
        keys.push(k.map_err(conn::error)?);
    }
    keys.sort();
    Ok(ScanOutput { keys, truncated })
}

/// Input of `hash_get`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct KeyInput {
    /// The key.
    pub key: String,
}

/// A hash's fields.
#[derive(Debug, Serialize, JsonSchema)]
pub struct HashOutput {
    /// Field → value (empty when the key does not exist).
    pub fields: BTreeMap<String, String>,
}

/// Gets every field of a hash.
#[tool]
pub fn hash_get(input: KeyInput) -> Result<HashOutput, ToolError> {
    let mut con = conn::open()?;
    let fields: BTreeMap<String, String> = redis::cmd("HGETALL")
        .arg(&input.key)
        .query(&mut con)
        .map_err(conn::error)?;
    Ok(HashOutput { fields })
}

/// Input of `hash_set`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HashSetInput {
    /// The key.
    pub key: String,
    /// Fields to set.
    pub fields: BTreeMap<String, String>,
}

/// Sets fields of a hash; answers how many fields are new.
#[tool]
pub fn hash_set(input: HashSetInput) -> Result<CountOutput, ToolError> {
    if input.fields.is_empty() {
        return Err(ToolError::new("give at least one field"));
    }
    let mut con = conn::open()?;
    let mut cmd = redis::cmd("HSET");
    cmd.arg(&input.key);
    for (f, v) in &input.fields {
        cmd.arg(f).arg(v);
    }
    let count: u64 = cmd.query(&mut con).map_err(conn::error)?;
    Ok(CountOutput { count })
}

/// Input of `list_range`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RangeInput {
    /// The key.
    pub key: String,
    /// First index (default 0; negative counts from the end).
    #[serde(default)]
    pub start: i64,
    /// Last index, included (default -1: the end).
    #[serde(default = "minus_one")]
    pub stop: i64,
}

fn minus_one() -> i64 {
    -1
}

/// Items of a list.
#[derive(Debug, Serialize, JsonSchema)]
pub struct ListOutput {
    /// The items, in order.
    pub items: Vec<String>,
}

/// Gets a range of a list's items (default: all of them).
#[tool]
pub fn list_range(input: RangeInput) -> Result<ListOutput, ToolError> {
    let mut con = conn::open()?;
    let items: Vec<String> = redis::cmd("LRANGE")
        .arg(&input.key)
        .arg(input.start)
        .arg(input.stop)
        .query(&mut con)
        .map_err(conn::error)?;
    Ok(ListOutput { items })
}

/// Input of `list_push`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PushInput {
    /// The key.
    pub key: String,
    /// Items to append at the end (in order).
    pub items: Vec<String>,
}

/// Appends items to a list; answers its new length.
#[tool]
pub fn list_push(input: PushInput) -> Result<CountOutput, ToolError> {
    if input.items.is_empty() {
        return Err(ToolError::new("give at least one item"));
    }
    let mut con = conn::open()?;
    let count: u64 = redis::cmd("RPUSH")
        .arg(&input.key)
        .arg(&input.items)
        .query(&mut con)
        .map_err(conn::error)?;
    Ok(CountOutput { count })
}

/// Input of `command`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CommandInput {
    /// The command and its arguments, e.g. `["INCRBY", "visits", "3"]`.
    pub args: Vec<String>,
}

/// A command's reply.
#[derive(Debug, Serialize, JsonSchema)]
pub struct CommandOutput {
    /// The reply as JSON: strings, integers, arrays, null; an OK status as `"OK"`.
    pub reply: Value,
}

/// Runs any other Redis command (e.g. INCRBY, EXPIRE, ZADD, ZRANGE) and returns its reply as JSON. Blocking and server-admin commands are refused.
#[tool]
pub fn command(input: CommandInput) -> Result<CommandOutput, ToolError> {
    let name = input
        .args
        .first()
        .ok_or_else(|| ToolError::new("give the command, e.g. [\"INCR\", \"visits\"]"))?
        .to_ascii_uppercase();
    conn::check_command(&name).map_err(ToolError::new)?;
    let mut con = conn::open()?;
    let mut cmd = redis::cmd(&name);
    for a in &input.args[1..] {
        cmd.arg(a);
    }
    let reply: redis::Value = cmd.query(&mut con).map_err(conn::error)?;
    Ok(CommandOutput {
        reply: reply_json(&reply),
    })
}
