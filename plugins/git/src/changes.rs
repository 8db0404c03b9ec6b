//! What changed between two trees: one entry per file, and a unified patch.

use crate::objects::{Entry, Oid};
use crate::store::Repo;
use serde::Serialize;
use similar::TextDiff;
use spud_sdk::prelude::*;
use std::collections::BTreeMap;

/// One changed file.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct FileChange {
    /// Its path in the repository.
    pub path: String,
    /// `added`, `deleted` or `modified`.
    pub status: String,
    /// Lines added (0 for a binary file).
    pub additions: u64,
    /// Lines removed (0 for a binary file).
    pub deletions: u64,
    /// Whether either side is binary (no line diff then).
    pub binary: bool,
}

/// The changes between two trees.
#[derive(Debug, Default)]
pub struct Changes {
    /// The changed files, by path.
    pub files: Vec<FileChange>,
    /// The unified diff (3 lines of context), cut at the byte limit.
    pub patch: String,
    /// Whether `patch` was cut.
    pub patch_truncated: bool,
}

/// What to diff and how much to keep.
pub struct Request<'a> {
    /// Only paths starting with this prefix.
    pub path: Option<&'a str>,
    /// Whether to build the patch at all.
    pub with_patch: bool,
    /// Cut the patch at this many bytes.
    pub max_patch_bytes: usize,
}

/// The changes from tree `old` (none: the empty tree) to tree `new`.
pub fn between(
    repo: &Repo,
    old: Option<Oid>,
    new: Oid,
    request: &Request<'_>,
) -> Result<Changes, ToolError> {
    let mut files = Vec::new();
    diff_trees(repo, old, Some(new), "", request.path, &mut files)
        .map_err(|e| ToolError::new(format!("comparing the trees: {e}")))?;
    files.sort_by(|a, b| a.0.cmp(&b.0));
    let mut out = Changes::default();
    for (path, status, before, after) in files {
        let old_text = blob(repo, before)?;
        let new_text = blob(repo, after)?;
        let change = diff_file(&path, status, &old_text, &new_text, request, &mut out);
        out.files.push(change);
    }
    Ok(out)
}

/// A changed file: its path, status and blob ids (none on the missing side).
type FileDiff = (String, &'static str, Option<Oid>, Option<Oid>);

/// Appends the files that differ between trees `old` and `new` under `dir` (only those
/// under `only`, when given); submodules are left out.
fn diff_trees(
    repo: &Repo,
    old: Option<Oid>,
    new: Option<Oid>,
    dir: &str,
    only: Option<&str>,
    out: &mut Vec<FileDiff>,
) -> Result<(), String> {
    let entries = |id: Option<Oid>| -> Result<BTreeMap<String, Entry>, String> {
        Ok(match id {
            Some(id) => repo
                .tree(&id)?
                .into_iter()
                .map(|e| (e.name.clone(), e))
                .collect(),
            None => BTreeMap::new(),
        })
    };
    let (a, b) = (entries(old)?, entries(new)?);
    let names: std::collections::BTreeSet<&String> = a.keys().chain(b.keys()).collect();
    for name in names {
        let path = format!("{dir}{name}");
        let (x, y) = (a.get(name), b.get(name));
        if x.map(|e| (e.id, e.mode)) == y.map(|e| (e.id, e.mode)) {
            continue;
        }
        let wanted = |is_tree: bool| match only {
            None => true,
            Some(p) if is_tree => p.starts_with(&format!("{path}/")) || path.starts_with(p),
            Some(p) => path.starts_with(p),
        };
        let tree_of = |e: Option<&Entry>| e.filter(|e| e.is_tree()).map(|e| e.id);
        let file_of = |e: Option<&Entry>| e.filter(|e| e.is_file()).map(|e| e.id);
        if (tree_of(x).is_some() || tree_of(y).is_some()) && wanted(true) {
            diff_trees(repo, tree_of(x), tree_of(y), &format!("{path}/"), only, out)?;
        }
        let (before, after) = (file_of(x), file_of(y));
        let status = match (before, after) {
            (None, None) => continue,
            (None, Some(_)) => "added",
            (Some(_), None) => "deleted",
            (Some(_), Some(_)) => "modified",
        };
        if wanted(false) {
            out.push((path, status, before, after));
        }
    }
    Ok(())
}

/// A blob's bytes (empty for the missing side).
fn blob(repo: &Repo, id: Option<Oid>) -> Result<std::rc::Rc<Vec<u8>>, ToolError> {
    let Some(id) = id else {
        return Ok(std::rc::Rc::default());
    };
    repo.object(&id)
        .map(|(_, data)| data)
        .map_err(|e| ToolError::new(format!("reading blob {id}: {e}")))
}

/// Counts one file's lines and appends its part of the patch.
fn diff_file(
    path: &str,
    status: &str,
    old: &[u8],
    new: &[u8],
    request: &Request<'_>,
    out: &mut Changes,
) -> FileChange {
    let (a, b) = (std::str::from_utf8(old), std::str::from_utf8(new));
    let binary = old.contains(&0) || new.contains(&0) || a.is_err() || b.is_err();
    let mut change = FileChange {
        path: path.to_string(),
        status: status.to_string(),
        additions: 0,
        deletions: 0,
        binary,
    };
    let (Ok(a), Ok(b), false) = (a, b, binary) else {
        if request.with_patch {
            append(out, &format!("Binary file {path} {status}\n"), request);
        }
        return change;
    };
    let diff = TextDiff::from_lines(a, b);
    for op in diff.iter_all_changes() {
        match op.tag() {
            similar::ChangeTag::Insert => change.additions += 1,
            similar::ChangeTag::Delete => change.deletions += 1,
            similar::ChangeTag::Equal => {}
        }
    }
    if request.with_patch {
        let from = if status == "added" {
            "/dev/null".to_string()
        } else {
            format!("a/{path}")
        };
        let to = if status == "deleted" {
            "/dev/null".to_string()
        } else {
            format!("b/{path}")
        };
        let text = diff
            .unified_diff()
            .context_radius(3)
            .header(&from, &to)
            .to_string();
        append(
            out,
            &format!("diff --git a/{path} b/{path}\n{text}"),
            request,
        );
    }
    change
}

/// Appends `text` to the patch unless that passes the byte limit (then the patch is marked cut).
fn append(out: &mut Changes, text: &str, request: &Request<'_>) {
    if out.patch_truncated {
        return;
    }
    if out.patch.len() + text.len() > request.max_patch_bytes {
        let room = request.max_patch_bytes.saturating_sub(out.patch.len());
        let mut cut = room.min(text.len());
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        out.patch.push_str(&text[..cut]);
        out.patch_truncated = true;
        return;
    }
    out.patch.push_str(text);
}
