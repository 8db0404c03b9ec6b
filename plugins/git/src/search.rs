//! `grep` over the files of one commit's tree.

use crate::objects::Oid;
use crate::store::Repo;
use serde::Serialize;
use spud_sdk::prelude::*;

/// One matching line.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Match {
    /// The file's path in the repository.
    pub path: String,
    /// The line's number, from 1.
    pub line: u64,
    /// The line (cut at 500 characters).
    pub text: String,
}

/// What a search found.
#[derive(Debug, Default)]
pub struct Found {
    /// The matches, by path then line, at most the limit.
    pub matches: Vec<Match>,
    /// Files searched (text files under the prefix).
    pub files_searched: u64,
    /// Whether more lines matched than were returned.
    pub truncated: bool,
}

/// The lines of the text files in tree `tree` under `prefix` that `pattern` matches.
pub fn grep(
    repo: &Repo,
    tree: Oid,
    pattern: &regex::Regex,
    prefix: Option<&str>,
    max_matches: usize,
) -> Result<Found, ToolError> {
    let mut entries = Vec::new();
    files(repo, tree, "", prefix, &mut entries)
        .map_err(|e| ToolError::new(format!("walking the tree: {e}")))?;
    entries.sort();
    let mut found = Found::default();
    for (path, oid) in entries {
        let (_, blob) = repo
            .object(&oid)
            .map_err(|e| ToolError::new(format!("reading {path}: {e}")))?;
        let Ok(text) = std::str::from_utf8(&blob) else {
            continue;
        };
        if text.contains('\0') {
            continue;
        }
        found.files_searched += 1;
        for (i, line) in text.lines().enumerate() {
            if !pattern.is_match(line) {
                continue;
            }
            if found.matches.len() == max_matches {
                found.truncated = true;
                return Ok(found);
            }
            found.matches.push(Match {
                path: path.clone(),
                line: i as u64 + 1,
                text: line.chars().take(500).collect(),
            });
        }
    }
    Ok(found)
}

/// Appends every file (path, blob id) of tree `id` under `dir`, only under `prefix` if given.
fn files(
    repo: &Repo,
    id: Oid,
    dir: &str,
    prefix: Option<&str>,
    out: &mut Vec<(String, Oid)>,
) -> Result<(), String> {
    for e in repo.tree(&id)? {
        let path = format!("{dir}{}", e.name);
        if e.is_tree() {
            let inside = format!("{path}/");
            if prefix.is_none_or(|p| p.starts_with(&inside) || inside.starts_with(p)) {
                files(repo, e.id, &inside, prefix, out)?;
            }
        } else if e.is_file() && e.mode != 0o120000 && prefix.is_none_or(|p| path.starts_with(p)) {
            out.push((path, e.id));
        }
    }
    Ok(())
}
