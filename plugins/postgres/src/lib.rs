//! spud's first-party PostgreSQL connector. Each call opens one connection, through
//! `wasi:sockets`, to the server that `POSTGRES_URL` names (an env grant the operator fixes,
//! e.g. `env = ["POSTGRES_URL=postgresql://shop@127.0.0.1:5432/shop", "PGPASSWORD"]`); the
//! policy's `sockets.tcp_connect` must list that `ip:port`. Queries are parameterised (`$1`,
//! `$2`, … bound as values, never spliced into the SQL) and run in a read-only transaction
//! unless the policy also grants `POSTGRES_WRITES=allow`.

mod conn;
mod values;

use serde_json::Value;
use spud_sdk::prelude::*;
pub use values::{param_text, text_to_json, Target};

spud_sdk::export_plugin! {
    name: "postgres",
    description: "Query a PostgreSQL database with parameters (read-only unless the operator grants writes).",
    requests: Requests::new()
        .tcp_connect("*:*")
        .env("POSTGRES_URL")
        .env("PGPASSWORD")
        .env("POSTGRES_WRITES")
        .limits(
            Limits::new()
                .memory_mb(64)
                .fuel(5_000_000_000)
                .timeout_ms(30_000)
                .result_bytes(8 * 1024 * 1024),
        ),
    tools: [query, execute, tables],
}

/// Input of `query`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct QueryInput {
    /// One SQL statement; values go in as `$1`, `$2`, … e.g. `SELECT * FROM orders WHERE placed >= $1`.
    pub sql: String,
    /// The values of `$1`, `$2`, …: strings, numbers, booleans, null (JSON objects and arrays
    /// are sent as JSON text).
    #[serde(default)]
    pub params: Vec<Value>,
    /// Return at most this many rows (default 1000).
    #[serde(default)]
    pub max_rows: Option<u32>,
}

/// Rows a query returned.
#[derive(Debug, Serialize, JsonSchema)]
pub struct QueryOutput {
    /// Column names, in order.
    pub columns: Vec<String>,
    /// Rows, each as long as `columns`: numbers, booleans, JSON for json columns, text for the
    /// rest (dates as `2026-11-30`), null for NULL.
    pub rows: Vec<Vec<Value>>,
    /// Whether there were more rows than `max_rows`.
    pub truncated: bool,
}

/// Runs one parameterised SQL query in a read-only transaction and returns its columns and rows.
#[tool]
pub fn query(input: QueryInput) -> Result<QueryOutput, ToolError> {
    let settings = conn::Settings::from_env().map_err(ToolError::new)?;
    let max = input.max_rows.unwrap_or(1000) as usize;
    let mut c = conn::Conn::open(&settings).map_err(ToolError::new)?;
    let out = c
        .run(&input.sql, &input.params, max, true)
        .map_err(ToolError::new)?;
    Ok(QueryOutput {
        columns: out.columns,
        rows: out.rows,
        truncated: out.truncated,
    })
}

/// Input of `execute`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ExecuteInput {
    /// One SQL statement that changes data, e.g. `INSERT INTO notes (body) VALUES ($1)`.
    pub sql: String,
    /// The values of `$1`, `$2`, ….
    #[serde(default)]
    pub params: Vec<Value>,
}

/// What a statement did.
#[derive(Debug, Serialize, JsonSchema)]
pub struct ExecuteOutput {
    /// The server's command tag, e.g. `INSERT 0 1`.
    pub command: String,
    /// Rows inserted, updated or deleted.
    pub rows_affected: u64,
    /// Rows it returned (with `RETURNING`).
    pub rows: Vec<Vec<Value>>,
}

/// Runs one parameterised statement that changes data (only when the operator granted writes: POSTGRES_WRITES=allow).
#[tool]
pub fn execute(input: ExecuteInput) -> Result<ExecuteOutput, ToolError> {
    let settings = conn::Settings::from_env().map_err(ToolError::new)?;
    if !settings.writes {
        return Err(ToolError::new(
            "writes are not granted: this connector is read-only unless the policy sets \
             env = [\"POSTGRES_WRITES=allow\", …] under [tools.postgres] (use `query` to read)",
        ));
    }
    let mut c = conn::Conn::open(&settings).map_err(ToolError::new)?;
    let out = c
        .run(&input.sql, &input.params, 10_000, false)
        .map_err(ToolError::new)?;
    Ok(ExecuteOutput {
        rows_affected: values::rows_affected(&out.tag),
        command: out.tag,
        rows: out.rows,
    })
}

/// Input of `tables`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TablesInput {
    /// The schema (default `public`).
    #[serde(default)]
    pub schema: Option<String>,
}

/// One table and its columns.
#[derive(Debug, Serialize, JsonSchema)]
pub struct Table {
    /// The table's name.
    pub name: String,
    /// `name type` per column, in order.
    pub columns: Vec<String>,
}

/// The tables.
#[derive(Debug, Serialize, JsonSchema)]
pub struct TablesOutput {
    /// Tables and views of the schema, by name.
    pub tables: Vec<Table>,
}

/// Lists the tables and views of a schema with their columns and types, to write queries against.
#[tool]
pub fn tables(input: TablesInput) -> Result<TablesOutput, ToolError> {
    let settings = conn::Settings::from_env().map_err(ToolError::new)?;
    let mut c = conn::Conn::open(&settings).map_err(ToolError::new)?;
    let schema = Value::String(input.schema.unwrap_or_else(|| "public".into()));
    let out = c
        .run(
            "SELECT table_name::text, column_name::text || ' ' || data_type::text \
             FROM information_schema.columns WHERE table_schema = $1 \
             ORDER BY table_name, ordinal_position",
            &[schema],
            100_000,
            true,
        )
        .map_err(ToolError::new)?;
    let mut tables: Vec<Table> = Vec::new();
    for row in out.rows {
        let (Some(Value::String(t)), Some(Value::String(c))) = (row.first(), row.get(1)) else {
            continue;
        };
        match tables.last_mut() {
            Some(last) if last.name == *t => last.columns.push(c.clone()),
            _ => tables.push(Table {
                name: t.clone(),
                columns: vec![c.clone()],
            }),
        }
    }
    Ok(TablesOutput { tables })
}
