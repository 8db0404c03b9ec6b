//! What changed between two trees: one entry per file, and a unified patch.

use gix::bstr::ByteSlice;
use gix::object::tree::diff::ChangeDetached;
use serde::Serialize;
use similar::TextDiff;
use spud_sdk::prelude::*;

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

/// The changes from `old` (none: the empty tree) to `new`.
pub fn between(
    repo: &gix::Repository,
    old: Option<&gix::Tree<'_>>,
    new: &gix::Tree<'_>,
    request: &Request<'_>,
) -> Result<Changes, ToolError> {
    let options = gix::diff::Options::default().with_rewrites(None);
    let detached = repo
        .diff_tree_to_tree(old, Some(new), options)
        .map_err(|e| ToolError::new(format!("comparing the trees: {e}")))?;
    let mut out = Changes::default();
    for change in detached {
        let Some((path, status, before, after)) = file_change(&change) else {
            continue;
        };
        if request.path.is_some_and(|p| !path.starts_with(p)) {
            continue;
        }
        let old_text = blob(repo, before)?;
        let new_text = blob(repo, after)?;
        let change = diff_file(&path, status, &old_text, &new_text, request, &mut out);
        out.files.push(change);
    }
    out.files.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(out)
}

/// A file-level change's path, status and blob ids (none on the missing side); trees and
/// submodules are left out.
fn file_change(
    change: &ChangeDetached,
) -> Option<(
    String,
    &'static str,
    Option<gix::ObjectId>,
    Option<gix::ObjectId>,
)> {
    let (location, status, before, after, mode) = match change {
        ChangeDetached::Addition {
            location,
            id,
            entry_mode,
            ..
        } => (location, "added", None, Some(*id), entry_mode),
        ChangeDetached::Deletion {
            location,
            id,
            entry_mode,
            ..
        } => (location, "deleted", Some(*id), None, entry_mode),
        ChangeDetached::Modification {
            location,
            previous_id,
            id,
            entry_mode,
            ..
        } => (
            location,
            "modified",
            Some(*previous_id),
            Some(*id),
            entry_mode,
        ),
        ChangeDetached::Rewrite { .. } => return None,
    };
    if !mode.is_blob() && !mode.is_link() {
        return None;
    }
    Some((location.to_str_lossy().into_owned(), status, before, after))
}

/// A blob's bytes (empty for the missing side).
fn blob(repo: &gix::Repository, id: Option<gix::ObjectId>) -> Result<Vec<u8>, ToolError> {
    let Some(id) = id else {
        return Ok(Vec::new());
    };
    let mut blob = repo
        .find_blob(id)
        .map_err(|e| ToolError::new(format!("reading blob {id}: {e}")))?;
    Ok(blob.take_data())
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
