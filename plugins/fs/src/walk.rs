//! Directory walking, shared by `list` and `search`, and the `list` tool.

use crate::{io_error, resolve};
use spud_sdk::prelude::*;
use std::fs;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};

const DEFAULT_MAX_ENTRIES: usize = 1000;

/// What a directory entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum EntryKind {
    /// A regular file.
    File,
    /// A directory.
    Dir,
    /// A symbolic link (not followed).
    Symlink,
    /// Anything else.
    Other,
}

/// One entry found by a walk.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct Entry {
    /// Path relative to the listed directory, `/`-separated.
    pub name: String,
    /// What the entry is.
    pub kind: EntryKind,
    /// Size in bytes (0 for anything but files).
    pub size: u64,
}

/// Visits the entries under `dir` in name order, depth first when `recursive`, without
/// following symbolic links. `visit` gets each entry's full path and can stop the walk.
/// A directory that cannot be read fails the walk.
pub(crate) fn walk(
    dir: &Path,
    recursive: bool,
    visit: &mut dyn FnMut(&Path, Entry) -> ControlFlow<()>,
) -> Result<(), ToolError> {
    walk_in(dir, "", recursive, visit).map(drop)
}

fn walk_in(
    dir: &Path,
    prefix: &str,
    recursive: bool,
    visit: &mut dyn FnMut(&Path, Entry) -> ControlFlow<()>,
) -> Result<ControlFlow<()>, ToolError> {
    let reader = fs::read_dir(dir).map_err(|e| io_error("cannot list", dir, e))?;
    let mut children: Vec<(String, PathBuf)> = Vec::new();
    for entry in reader {
        let entry = entry.map_err(|e| io_error("cannot list", dir, e))?;
        children.push((
            entry.file_name().to_string_lossy().into_owned(),
            entry.path(),
        ));
    }
    children.sort();
    for (name, path) in children {
        let meta = fs::symlink_metadata(&path).map_err(|e| io_error("cannot inspect", &path, e))?;
        let kind = if meta.is_file() {
            EntryKind::File
        } else if meta.is_dir() {
            EntryKind::Dir
        } else if meta.file_type().is_symlink() {
            EntryKind::Symlink
        } else {
            EntryKind::Other
        };
        let rel = format!("{prefix}{name}");
        let entry = Entry {
            name: rel.clone(),
            kind,
            size: if kind == EntryKind::File {
                meta.len()
            } else {
                0
            },
        };
        if visit(&path, entry).is_break() {
            return Ok(ControlFlow::Break(()));
        }
        if recursive && kind == EntryKind::Dir {
            let nested = walk_in(&path, &format!("{rel}/"), recursive, visit)?;
            if nested.is_break() {
                return Ok(nested);
            }
        }
    }
    Ok(ControlFlow::Continue(()))
}

/// Input of `list`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListInput {
    /// Directory to list (default `/data`; relative paths resolve under `/data`).
    #[serde(default)]
    pub path: String,
    /// Also list subdirectories' contents (default false).
    #[serde(default)]
    pub recursive: bool,
    /// Return at most this many entries (default 1000).
    #[serde(default)]
    pub max_entries: Option<usize>,
}

/// Output of `list`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct ListOutput {
    /// Entries in name order; in recursive listings a directory's contents follow it.
    pub entries: Vec<Entry>,
    /// Whether there were more entries than `max_entries`.
    pub truncated: bool,
}

/// Lists a directory: each entry's name, kind (file, dir, symlink, other) and size.
/// Symbolic links are reported, not followed.
#[tool]
pub fn list(input: ListInput) -> Result<ListOutput, ToolError> {
    let path = resolve(&input.path);
    let max = input.max_entries.unwrap_or(DEFAULT_MAX_ENTRIES);
    let meta = fs::metadata(&path).map_err(|e| io_error("cannot list", &path, e))?;
    if !meta.is_dir() {
        return Err(ToolError::new(format!(
            "{} is not a directory; use the `read` tool to read a file",
            path.display()
        )));
    }
    let mut entries = Vec::new();
    let mut truncated = false;
    walk(&path, input.recursive, &mut |_, entry| {
        if entries.len() >= max {
            truncated = true;
            return ControlFlow::Break(());
        }
        entries.push(entry);
        ControlFlow::Continue(())
    })?;
    Ok(ListOutput { entries, truncated })
}
