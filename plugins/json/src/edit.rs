//! The edits behind `transform`: each takes the document and a parsed path and returns how
//! many nodes it touched.

use crate::singular::{self, Step};
use serde_json::{Map, Value};
use serde_json_path::{JsonPath, PathElement};
use spud_sdk::ToolError;
use std::collections::BTreeMap;

/// Where each selected node is, as owned steps, so the document can be edited afterwards.
/// Sorted last-first: removing array elements from the back keeps earlier indexes valid,
/// and a node comes before its ancestors.
fn locations(document: &Value, path: &JsonPath) -> Vec<Vec<Step>> {
    let mut found: Vec<Vec<Step>> = path
        .query_located(document)
        .into_iter()
        .map(|node| {
            node.location()
                .iter()
                .map(|e| match e {
                    PathElement::Name(n) => Step::Name(n.to_string()),
                    PathElement::Index(i) => Step::Index(*i),
                })
                .collect()
        })
        .collect();
    found.sort_unstable_by(|a, b| b.cmp(a));
    found.dedup();
    found
}

fn child_mut<'a>(node: &'a mut Value, step: &Step) -> Option<&'a mut Value> {
    match (node, step) {
        (Value::Object(map), Step::Name(name)) => map.get_mut(name),
        (Value::Array(items), Step::Index(i)) => items.get_mut(*i),
        _ => None,
    }
}

fn node_mut<'a>(document: &'a mut Value, steps: &[Step]) -> Option<&'a mut Value> {
    steps
        .iter()
        .try_fold(document, |node, step| child_mut(node, step))
}

/// Replaces every node `path` selects with `value`; when it selects none and `source` is a
/// plain path, creates the member. Returns the number of nodes set.
pub fn set(
    document: &mut Value,
    path: &JsonPath,
    source: &str,
    value: &Value,
) -> Result<usize, ToolError> {
    let found = locations(document, path);
    if !found.is_empty() {
        let mut count = 0;
        for steps in &found {
            if let Some(node) = node_mut(document, steps) {
                *node = value.clone();
                count += 1;
            }
        }
        return Ok(count);
    }
    let steps = singular::parse(source).ok_or_else(|| {
        ToolError::new(
            "the path selects nothing, and only plain paths such as `$.a.b` or `$['a'][0]` \
             can create a new member",
        )
    })?;
    create(document, &steps, value.clone())?;
    Ok(1)
}

/// Creates the member at `steps`, adding empty objects for missing parents. An index may
/// only append (be equal to the array's length).
fn create(document: &mut Value, steps: &[Step], value: Value) -> Result<(), ToolError> {
    let mut node = document;
    for (depth, step) in steps.iter().enumerate() {
        let last = depth + 1 == steps.len();
        let here = render(&steps[..depth]);
        node = match (node, step) {
            (Value::Object(map), Step::Name(name)) => {
                let fill = if last {
                    Value::Null
                } else {
                    Value::Object(Map::new())
                };
                map.entry(name.clone()).or_insert(fill)
            }
            (Value::Array(items), Step::Index(i)) => {
                if *i > items.len() {
                    return Err(ToolError::new(format!(
                        "`{here}` has {} elements; index {i} can only be set if it exists or is the next one ({})",
                        items.len(),
                        items.len()
                    )));
                }
                if *i == items.len() {
                    items.push(if last {
                        Value::Null
                    } else {
                        Value::Object(Map::new())
                    });
                }
                &mut items[*i]
            }
            (other, step) => {
                let wanted = match step {
                    Step::Name(_) => "an object",
                    Step::Index(_) => "an array",
                };
                return Err(ToolError::new(format!(
                    "`{here}` is {}, not {wanted}",
                    kind(other)
                )));
            }
        };
    }
    *node = value;
    Ok(())
}

/// Removes every node `path` selects. Returns how many were removed.
pub fn delete(document: &mut Value, path: &JsonPath) -> Result<usize, ToolError> {
    let mut count = 0;
    for steps in locations(document, path) {
        let Some((last, parent_steps)) = steps.split_last() else {
            return Err(ToolError::new(
                "the path selects the whole document, which cannot be deleted",
            ));
        };
        let removed = match (node_mut(document, parent_steps), last) {
            (Some(Value::Object(map)), Step::Name(name)) => map.remove(name).is_some(),
            (Some(Value::Array(items)), Step::Index(i)) if *i < items.len() => {
                items.remove(*i);
                true
            }
            _ => false,
        };
        count += usize::from(removed);
    }
    Ok(count)
}

/// What `pick` keeps of a node.
enum Kept {
    Whole(Value),
    Object(BTreeMap<String, Kept>),
    Array(BTreeMap<usize, Kept>),
}

impl Kept {
    fn keep(&mut self, steps: &[Step], value: &Value) {
        let Some((first, rest)) = steps.split_first() else {
            *self = Kept::Whole(value.clone());
            return;
        };
        let empty = || match rest.first() {
            Some(Step::Index(_)) => Kept::Array(BTreeMap::new()),
            _ => Kept::Object(BTreeMap::new()),
        };
        let child = match (self, first) {
            (Kept::Object(members), Step::Name(n)) => {
                members.entry(n.clone()).or_insert_with(empty)
            }
            (Kept::Array(items), Step::Index(i)) => items.entry(*i).or_insert_with(empty),
            // Already kept whole (an ancestor was selected too), or a shape mismatch that a
            // location taken from the document itself cannot produce.
            _ => return,
        };
        child.keep(rest, value);
    }

    fn into_value(self) -> Value {
        match self {
            Kept::Whole(v) => v,
            Kept::Object(members) => Value::Object(
                members
                    .into_iter()
                    .map(|(k, v)| (k, v.into_value()))
                    .collect(),
            ),
            // Arrays keep their selected elements in order, without gaps.
            Kept::Array(items) => Value::Array(items.into_values().map(Kept::into_value).collect()),
        }
    }
}

/// Keeps only the nodes `path` selects, with the containers that lead to them. Returns how
/// many nodes were selected. When nothing is, an object or array becomes empty.
pub fn pick(document: &mut Value, path: &JsonPath) -> usize {
    let mut kept = match document {
        Value::Array(_) => Kept::Array(BTreeMap::new()),
        _ => Kept::Object(BTreeMap::new()),
    };
    let found = path.query_located(document);
    let count = found.len();
    for node in found.iter() {
        let steps: Vec<Step> = node
            .location()
            .iter()
            .map(|e| match e {
                PathElement::Name(n) => Step::Name(n.to_string()),
                PathElement::Index(i) => Step::Index(*i),
            })
            .collect();
        kept.keep(&steps, node.node());
    }
    let scalar_unpicked = count == 0 && !document.is_object() && !document.is_array();
    *document = if scalar_unpicked {
        Value::Null
    } else {
        kept.into_value()
    };
    count
}

fn render(steps: &[Step]) -> String {
    let mut out = String::from("$");
    for step in steps {
        match step {
            Step::Name(n) => out.push_str(&format!("[{}]", Value::String(n.clone()))),
            Step::Index(i) => out.push_str(&format!("[{i}]")),
        }
    }
    out
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}
