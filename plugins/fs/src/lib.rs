//! spud's first-party file tools. The host maps a directory of its choosing to `/data`;
//! every path the tools take is a guest path, and relative paths resolve under `/data`.

mod grep;
mod walk;

use spud_sdk::prelude::*;
use std::fs;
use std::io::{ErrorKind, Read, Write};
use std::path::{Component, Path, PathBuf};

pub use grep::{search, SearchInput, SearchMatch, SearchOutput};
pub use walk::{list, Entry, EntryKind, ListInput, ListOutput};

/// The guest directory the plugin asks for; relative paths resolve under it.
pub const ROOT: &str = "/data";

const DEFAULT_MAX_BYTES: u64 = 1024 * 1024;

spud_sdk::export_plugin! {
    name: "fs",
    description: "Read, write, list and search files in the directory the operator grants at /data.",
    requests: Requests::new()
        .file(ROOT, Access::ReadWrite, "the files the agent reads, writes and searches")
        .limits(
            Limits::new()
                .memory_mb(256)
                .fuel(20_000_000_000)
                .timeout_ms(30_000)
                .result_bytes(8 * 1024 * 1024),
        ),
    tools: [read, write, list, search],
}

/// Input of `read`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReadInput {
    /// File to read, e.g. `/data/notes.txt` (relative paths resolve under `/data`).
    pub path: String,
    /// Read at most this many bytes (default 1048576).
    #[serde(default)]
    pub max_bytes: Option<u64>,
}

/// Output of `read`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct ReadOutput {
    /// The file's text; bytes that are not UTF-8 become U+FFFD.
    pub content: String,
    /// Size of the whole file in bytes.
    pub size: u64,
    /// Whether the file is longer than what was read.
    pub truncated: bool,
}

/// Reads a text file. Returns at most `max_bytes` (default 1 MiB) of it; `truncated` says
/// whether there is more.
#[tool]
pub fn read(input: ReadInput) -> Result<ReadOutput, ToolError> {
    let path = resolve(&input.path);
    let max = input.max_bytes.unwrap_or(DEFAULT_MAX_BYTES);
    let meta = fs::metadata(&path).map_err(|e| io_error("cannot read", &path, e))?;
    if meta.is_dir() {
        return Err(ToolError::new(format!(
            "{} is a directory; use the `list` tool to see what it contains",
            path.display()
        )));
    }
    let file = fs::File::open(&path).map_err(|e| io_error("cannot read", &path, e))?;
    let mut bytes = Vec::new();
    file.take(max)
        .read_to_end(&mut bytes)
        .map_err(|e| io_error("cannot read", &path, e))?;
    let size = meta.len().max(bytes.len() as u64);
    Ok(ReadOutput {
        content: String::from_utf8_lossy(&bytes).into_owned(),
        size,
        truncated: size > bytes.len() as u64,
    })
}

/// Input of `write`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WriteInput {
    /// File to write, e.g. `/data/out.txt` (relative paths resolve under `/data`).
    pub path: String,
    /// Text to write.
    pub content: String,
    /// Append to the file instead of replacing it (default false).
    #[serde(default)]
    pub append: bool,
}

/// Output of `write`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct WriteOutput {
    /// Bytes written.
    pub bytes_written: u64,
}

/// Writes text to a file, creating it and any missing parent directories. Replaces the
/// file's content unless `append` is true.
#[tool]
pub fn write(input: WriteInput) -> Result<WriteOutput, ToolError> {
    let path = resolve(&input.path);
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent)
            .map_err(|e| io_error("cannot create the directory", parent, e))?;
    }
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create(true)
        .append(input.append)
        .truncate(!input.append)
        .open(&path)
        .map_err(|e| io_error("cannot write", &path, e))?;
    file.write_all(input.content.as_bytes())
        .and_then(|()| file.flush())
        .map_err(|e| io_error("cannot write", &path, e))?;
    Ok(WriteOutput {
        bytes_written: input.content.len() as u64,
    })
}

/// Turns a guest path as given by the caller into the path to open: relative paths (and the
/// empty path) resolve under [`ROOT`], and `.` and `..` are resolved lexically, so
/// `../../etc` names `/etc` (which the sandbox does not grant) rather than a puzzle.
pub fn resolve(path: &str) -> PathBuf {
    let path = path.trim();
    let joined = if path.starts_with('/') {
        PathBuf::from(path)
    } else {
        Path::new(ROOT).join(path)
    };
    let mut out = PathBuf::from("/");
    for component in joined.components() {
        match component {
            Component::ParentDir => {
                out.pop();
            }
            Component::Normal(name) => out.push(name),
            Component::RootDir | Component::CurDir | Component::Prefix(_) => {}
        }
    }
    out
}

/// An I/O error as a message that says what failed and what to check.
pub(crate) fn io_error(action: &str, path: &Path, e: std::io::Error) -> ToolError {
    let reason = match e.kind() {
        ErrorKind::NotFound => "no such file or directory".to_string(),
        ErrorKind::PermissionDenied => {
            "permission denied (the directory may be granted read-only)".to_string()
        }
        ErrorKind::AlreadyExists => "it already exists".to_string(),
        _ => e.to_string(),
    };
    let hint = if path.starts_with(ROOT) {
        ""
    } else {
        "; note that only /data is available in this sandbox"
    };
    ToolError::new(format!("{action} {}: {reason}{hint}", path.display()))
}

#[cfg(test)]
mod tests;
