//! spud's first-party JSON tools: JSONPath (RFC 9535) queries and in-order transforms.
//! Pure computation: the plugin asks for no files, network or environment.

mod edit;
mod singular;

use serde_json::Value;
use serde_json_path::JsonPath;
use spud_sdk::prelude::*;

pub use edit::{delete, pick, set};
pub use singular::Step;

spud_sdk::export_plugin! {
    name: "json",
    description: "Query and transform JSON documents with JSONPath (RFC 9535).",
    requests: Requests::new().limits(
        Limits::new()
            .memory_mb(128)
            .fuel(5_000_000_000)
            .timeout_ms(10_000)
            .result_bytes(8 * 1024 * 1024),
    ),
    tools: [query, transform],
}

/// Input of `query`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct QueryInput {
    /// The JSON document to query.
    pub document: Value,
    /// JSONPath expression (RFC 9535), e.g. `$.store.book[?@.price < 10].title`.
    pub path: String,
}

/// One node a query selected.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct Match {
    /// Normalized path of the node, e.g. `$['store']['book'][0]`.
    pub path: String,
    /// The node.
    pub value: Value,
}

/// Output of `query`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct QueryOutput {
    /// Selected nodes in document order.
    pub matches: Vec<Match>,
}

/// Selects nodes of a JSON document with a JSONPath expression (RFC 9535: `$.a.b`,
/// `$..name`, `$.items[0:3]`, `$.items[?@.price < 10]`, `length()`, `match()`...). Returns
/// each node with its normalized path.
#[tool]
pub fn query(input: QueryInput) -> Result<QueryOutput, ToolError> {
    let path = parse_path(&input.path)?;
    let matches = path
        .query_located(&input.document)
        .into_iter()
        .map(|node| Match {
            path: node.location().to_string(),
            value: node.node().clone(),
        })
        .collect();
    Ok(QueryOutput { matches })
}

/// One step of `transform`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(tag = "op", rename_all = "lowercase", deny_unknown_fields)]
pub enum Operation {
    /// Replace every node `path` selects with `value`. If it selects nothing and is a plain
    /// path of names and indexes (like `$.a.b` or `$['a'][0]`), the member is created.
    Set {
        /// JSONPath of the nodes to replace.
        path: String,
        /// The new value.
        value: Value,
    },
    /// Remove every node `path` selects.
    Delete {
        /// JSONPath of the nodes to remove.
        path: String,
    },
    /// Keep only the nodes `path` selects (with the objects and arrays that lead to them).
    Pick {
        /// JSONPath of the nodes to keep.
        path: String,
    },
}

/// Input of `transform`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TransformInput {
    /// The JSON document to transform.
    pub document: Value,
    /// Operations, applied in order, each to the result of the previous one.
    pub operations: Vec<Operation>,
}

/// Output of `transform`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct TransformOutput {
    /// The transformed document.
    pub document: Value,
    /// How many nodes each operation changed, kept or created, in order.
    pub matched: Vec<usize>,
}

/// Edits a JSON document with a list of operations applied in order: `set` (replace or
/// create), `delete` and `pick` (keep only what matches). Paths are JSONPath (RFC 9535).
#[tool]
pub fn transform(input: TransformInput) -> Result<TransformOutput, ToolError> {
    let mut document = input.document;
    let mut matched = Vec::with_capacity(input.operations.len());
    for (index, op) in input.operations.iter().enumerate() {
        let (name, path) = match op {
            Operation::Set { path, .. } => ("set", path),
            Operation::Delete { path } => ("delete", path),
            Operation::Pick { path } => ("pick", path),
        };
        let context = format!("operation {} ({name} `{path}`)", index + 1);
        let parsed = parse_path(path).map_err(|e| e.context(&context))?;
        let count = match op {
            Operation::Set { value, .. } => set(&mut document, &parsed, path, value),
            Operation::Delete { .. } => delete(&mut document, &parsed),
            Operation::Pick { .. } => Ok(pick(&mut document, &parsed)),
        }
        .map_err(|e| e.context(&context))?;
        matched.push(count);
    }
    Ok(TransformOutput { document, matched })
}

fn parse_path(path: &str) -> Result<JsonPath, ToolError> {
    JsonPath::parse(path).map_err(|e| {
        ToolError::new(format!(
            "invalid JSONPath `{path}`: {e}; paths start with `$`, e.g. `$.items[0].name`"
        ))
    })
}

#[cfg(test)]
mod tests;
