//! `grep` over the files of one commit's tree.

use gix::bstr::ByteSlice;
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

/// The lines of the text files in `tree` under `prefix` that `pattern` matches.
pub fn grep(
    repo: &gix::Repository,
    tree: &gix::Tree<'_>,
    pattern: &regex::Regex,
    prefix: Option<&str>,
    max_matches: usize,
) -> Result<Found, ToolError> {
    let mut recorder = gix::traverse::tree::Recorder::default();
    tree.traverse()
        .breadthfirst(&mut recorder)
        .map_err(|e| ToolError::new(format!("walking the tree: {e}")))?;
    let mut entries: Vec<_> = recorder
        .records
        .into_iter()
        .filter(|e| e.mode.is_blob())
        .map(|e| (e.filepath.to_str_lossy().into_owned(), e.oid))
        .filter(|(path, _)| prefix.is_none_or(|p| path.starts_with(p)))
        .collect();
    entries.sort();
    let mut found = Found::default();
    for (path, oid) in entries {
        let blob = repo
            .find_blob(oid)
            .map_err(|e| ToolError::new(format!("reading {path}: {e}")))?;
        let Ok(text) = std::str::from_utf8(&blob.data) else {
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
