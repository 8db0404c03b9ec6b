//! The `search` tool: regular-expression search through files.

use crate::walk::{walk, Entry, EntryKind};
use crate::{io_error, resolve};
use spud_sdk::prelude::*;
use std::fs;
use std::ops::ControlFlow;
use std::path::Path;

const DEFAULT_MAX_RESULTS: usize = 100;
/// Files larger than this are skipped: they are rarely text worth grepping.
const MAX_FILE_BYTES: u64 = 16 * 1024 * 1024;
/// Matched lines longer than this are cut, so one minified file cannot flood the result.
const MAX_LINE_CHARS: usize = 500;

/// Input of `search`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SearchInput {
    /// File or directory to search (default `/data`; directories are searched recursively).
    #[serde(default)]
    pub path: String,
    /// Regular expression (Rust `regex` syntax), matched against each line.
    pub pattern: String,
    /// Return at most this many matching lines (default 100).
    #[serde(default)]
    pub max_results: Option<usize>,
}

/// One matching line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct SearchMatch {
    /// Guest path of the file.
    pub file: String,
    /// 1-based line number.
    pub line_number: u64,
    /// The line, without its line break (cut after 500 characters).
    pub line: String,
}

/// Output of `search`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct SearchOutput {
    /// Matching lines, by file path then line number.
    pub matches: Vec<SearchMatch>,
    /// Whether the search stopped at `max_results`.
    pub truncated: bool,
    /// Text files searched; binary files and files over 16 MiB are skipped.
    pub files_searched: u64,
}

/// Searches files for lines matching a regular expression, like `grep -rn`. Binary files
/// and files over 16 MiB are skipped.
#[tool]
pub fn search(input: SearchInput) -> Result<SearchOutput, ToolError> {
    let regex = regex::Regex::new(&input.pattern)
        .map_err(|e| ToolError::new(format!("invalid pattern `{}`: {e}", input.pattern)))?;
    let root = resolve(&input.path);
    let max = input.max_results.unwrap_or(DEFAULT_MAX_RESULTS);
    let mut out = SearchOutput {
        matches: Vec::new(),
        truncated: false,
        files_searched: 0,
    };
    let meta = fs::metadata(&root).map_err(|e| io_error("cannot search", &root, e))?;
    if meta.is_file() {
        // Whether it stopped early is already recorded in `out.truncated`.
        let _flow = search_file(&root, &regex, max, &mut out)?;
        return Ok(out);
    }
    let mut failure = None;
    walk(&root, true, &mut |path, entry: Entry| {
        if entry.kind != EntryKind::File || entry.size > MAX_FILE_BYTES {
            return ControlFlow::Continue(());
        }
        match search_file(path, &regex, max, &mut out) {
            Ok(flow) => flow,
            Err(e) => {
                failure = Some(e);
                ControlFlow::Break(())
            }
        }
    })?;
    match failure {
        Some(e) => Err(e),
        None => Ok(out),
    }
}

fn search_file(
    path: &Path,
    regex: &regex::Regex,
    max: usize,
    out: &mut SearchOutput,
) -> Result<ControlFlow<()>, ToolError> {
    let bytes = fs::read(path).map_err(|e| io_error("cannot read", path, e))?;
    // The same heuristic as grep: a NUL byte near the start means binary.
    if bytes.iter().take(8192).any(|&b| b == 0) {
        return Ok(ControlFlow::Continue(()));
    }
    out.files_searched += 1;
    let text = String::from_utf8_lossy(&bytes);
    for (index, line) in text.lines().enumerate() {
        if !regex.is_match(line) {
            continue;
        }
        if out.matches.len() >= max {
            out.truncated = true;
            return Ok(ControlFlow::Break(()));
        }
        let line = match line.char_indices().nth(MAX_LINE_CHARS) {
            Some((cut, _)) => format!("{}…", &line[..cut]),
            None => line.to_string(),
        };
        out.matches.push(SearchMatch {
            file: path.display().to_string(),
            line_number: index as u64 + 1,
            line,
        });
    }
    Ok(ControlFlow::Continue(()))
}
