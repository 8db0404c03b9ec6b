//! The tools a run may call, as a model sees them ([`Toolbox`]): each tool's name, the name
//! it has on the wire (model APIs allow no dot: `fs.read` is `fs__read`), its description
//! and input schema, `spawn_agent` among them; and how a name a model gave is resolved — an
//! exact or wire name, or a short name that matches exactly one tool (`list` → `fs.list`).
//! An ambiguous or unknown name is an error that lists the candidates.

use crate::model::ToolSpec;
use crate::service::{Caller, Spud};
use serde_json::Value;

/// One callable tool.
#[derive(Debug, Clone, PartialEq)]
pub struct Callable {
    /// Its name, `plugin.function` (or `spawn_agent`).
    pub name: String,
    /// Its name on the wire.
    pub wire: String,
    /// What it does.
    pub description: String,
    /// Its input's JSON Schema.
    pub schema: Value,
}

/// How a name given by a model was resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resolved {
    /// The tool's name or its wire name.
    Exact(String),
    /// A short or differently spelled name that matches exactly this tool.
    Short(String),
}

impl Resolved {
    /// The tool's name.
    pub fn tool(&self) -> &str {
        match self {
            Resolved::Exact(t) | Resolved::Short(t) => t,
        }
    }
}

/// The tools a caller may call.
#[derive(Debug, Clone, Default)]
pub struct Toolbox {
    /// Every callable tool, in the registry's order, `spawn_agent` last.
    pub tools: Vec<Callable>,
}

/// A tool's name on the wire: letters, digits, `_` and `-` only (`.` becomes `__`).
pub fn wire_name(name: &str) -> String {
    name.replace('.', "__")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

impl Toolbox {
    /// The tools `caller` may use (`None`: every tool), and `spawn_agent`.
    pub fn new(spud: &Spud, caller: Option<&Caller>) -> Toolbox {
        let reg = spud.registry();
        let mut tools: Vec<Callable> = reg
            .plugins
            .values()
            .filter(|e| spud.offered_to_models(e))
            .flat_map(|e| e.tools.iter())
            .filter(|t| t.unavailable.is_none())
            .filter(|t| caller.is_none_or(|c| c.sees(&t.name)))
            .map(|t| Callable {
                name: t.name.clone(),
                wire: wire_name(&t.name),
                description: t.description.clone(),
                schema: t.input_schema.clone(),
            })
            .collect();
        tools.push(Callable {
            name: crate::plan::SPAWN_AGENT.into(),
            wire: crate::plan::SPAWN_AGENT.into(),
            description: "Delegate a sub-goal to a sub-agent with a subset of your tools and grants and a budget share; without `steps` it plans its goal itself. Its result is {run, results}.".into(),
            schema: super::prompts::agent_schema(),
        });
        Toolbox { tools }
    }

    /// The tools as functions for a model's request.
    pub fn specs(&self) -> Vec<ToolSpec> {
        self.tools
            .iter()
            .map(|t| ToolSpec {
                name: t.wire.clone(),
                description: format!("{} (tool `{}`)", t.description, t.name),
                parameters: t.schema.clone(),
            })
            .collect()
    }

    /// The tool `asked` names, or why there is none, with the candidates.
    pub fn resolve(&self, asked: &str) -> Result<Resolved, String> {
        let asked = asked.trim();
        if let Some(t) = self
            .tools
            .iter()
            .find(|t| t.name == asked || t.wire == asked)
        {
            return Ok(Resolved::Exact(t.name.clone()));
        }
        let want = asked.to_ascii_lowercase().replace("__", ".");
        let matches: Vec<&str> = self
            .tools
            .iter()
            .filter(|t| {
                let name = t.name.to_ascii_lowercase();
                let function = name.rsplit('.').next().unwrap_or(&name);
                name == want || function == want || name.replace('.', "_") == want
            })
            .map(|t| t.name.as_str())
            .collect();
        match matches.as_slice() {
            [one] => Ok(Resolved::Short(one.to_string())),
            [] => Err(format!(
                "there is no tool `{asked}`; call one of: {}",
                self.candidates(&want).join(", ")
            )),
            many => Err(format!(
                "`{asked}` could be any of {}: call one by its full name",
                many.join(", ")
            )),
        }
    }

    /// Tools whose names share a part with `want`, else every tool (at most 12).
    fn candidates(&self, want: &str) -> Vec<String> {
        let near: Vec<String> = self
            .tools
            .iter()
            .filter(|t| {
                let name = t.name.to_ascii_lowercase();
                !want.is_empty()
                    && (name.contains(want) || name.split('.').any(|part| want.contains(part)))
            })
            .map(|t| t.name.clone())
            .collect();
        let all = || self.tools.iter().map(|t| t.name.clone()).collect();
        let mut list: Vec<String> = if near.is_empty() { all() } else { near };
        list.truncate(12);
        list
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toolbox(names: &[&str]) -> Toolbox {
        Toolbox {
            tools: names
                .iter()
                .map(|n| Callable {
                    name: n.to_string(),
                    wire: wire_name(n),
                    description: String::new(),
                    schema: Value::Null,
                })
                .collect(),
        }
    }

    #[test]
    fn names_resolve_exactly_shortly_or_with_candidates() {
        let b = toolbox(&["fs.list", "fs.read", "http.fetch", "json.query", "web.read"]);
        assert_eq!(b.resolve("fs.list"), Ok(Resolved::Exact("fs.list".into())));
        assert_eq!(b.resolve("fs__list"), Ok(Resolved::Exact("fs.list".into())));
        assert_eq!(b.resolve("list"), Ok(Resolved::Short("fs.list".into())));
        assert_eq!(b.resolve("fs_list"), Ok(Resolved::Short("fs.list".into())));
        assert_eq!(b.resolve("Fetch"), Ok(Resolved::Short("http.fetch".into())));
        let e = b.resolve("read").unwrap_err();
        assert!(
            e.contains("fs.read, web.read") && e.contains("full name"),
            "{e}"
        );
        let e = b.resolve("fs.delete").unwrap_err();
        assert!(
            e.contains("no tool `fs.delete`") && e.contains("fs.list, fs.read"),
            "{e}"
        );
        let e = b.resolve("frobnicate").unwrap_err();
        assert!(
            e.contains("http.fetch"),
            "every tool when none is near: {e}"
        );
        assert_eq!(wire_name("a.b c"), "a__b_c");
    }
}
