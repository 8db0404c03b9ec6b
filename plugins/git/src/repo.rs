//! Opening a repository under the granted root and reading commits as models see them.

use gix::bstr::ByteSlice;
use serde::Serialize;
use spud_sdk::prelude::*;
use std::path::{Component, Path, PathBuf};

/// The guest directory the plugin asks for; `repo` paths resolve under it.
pub const ROOT: &str = "/repos";

/// The repository at `repo` (relative to [`ROOT`]; `.` is the root itself): a working tree
/// with a `.git` directory, or a bare repository. Opened without any global or user
/// configuration, read only.
pub fn open(repo: &str) -> Result<gix::Repository, ToolError> {
    let path = under_root(repo)?;
    if !path.is_dir() {
        return Err(ToolError::new(format!(
            "no directory `{repo}` under {ROOT} (the repositories the operator granted)"
        )));
    }
    gix::open_opts(&path, gix::open::Options::isolated()).map_err(|e| {
        ToolError::new(format!(
            "`{repo}` is not a Git repository (no .git found at {}): {e}",
            path.display()
        ))
    })
}

/// `repo` joined under [`ROOT`], `..` and absolute paths outside it refused.
fn under_root(repo: &str) -> Result<PathBuf, ToolError> {
    let relative = repo.trim_start_matches(ROOT).trim_start_matches('/');
    let rel = Path::new(relative);
    if rel
        .components()
        .any(|c| !matches!(c, Component::Normal(_) | Component::CurDir))
    {
        return Err(ToolError::new(format!(
            "`{repo}` must be a path under {ROOT} without `..`"
        )));
    }
    Ok(Path::new(ROOT).join(rel))
}

/// The commit `rev` names (`HEAD`, a branch, a tag, an id or its prefix, `main~2`, ...).
pub fn commit<'r>(repo: &'r gix::Repository, rev: &str) -> Result<gix::Commit<'r>, ToolError> {
    let id = repo
        .rev_parse_single(rev)
        .map_err(|e| ToolError::new(format!("`{rev}` names no commit here: {e}")))?;
    let object = id
        .object()
        .map_err(|e| ToolError::new(format!("`{rev}`: {e}")))?;
    object
        .peel_to_commit()
        .map_err(|e| ToolError::new(format!("`{rev}` is not a commit (or a tag of one): {e}")))
}

/// The tree of `commit`.
pub fn tree<'r>(commit: &gix::Commit<'r>) -> Result<gix::Tree<'r>, ToolError> {
    commit
        .tree()
        .map_err(|e| ToolError::new(format!("commit {}: no tree: {e}", commit.id())))
}

/// A commit as a model reads it.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct CommitInfo {
    /// Its full id (40 hex digits).
    pub id: String,
    /// Its id's first 7 digits.
    pub short_id: String,
    /// The author's name.
    pub author: String,
    /// The author's email.
    pub email: String,
    /// When it was authored (RFC 3339, with the author's offset).
    pub date: String,
    /// The message's first line.
    pub subject: String,
    /// The rest of the message (may be empty).
    pub body: String,
    /// Its parents' ids (two or more for a merge).
    pub parents: Vec<String>,
}

impl CommitInfo {
    /// What `commit` says of itself.
    pub fn of(commit: &gix::Commit<'_>) -> Result<CommitInfo, ToolError> {
        let id = commit.id().to_string();
        let author = commit
            .author()
            .map_err(|e| ToolError::new(format!("commit {id}: unreadable author: {e}")))?;
        let time = author
            .time()
            .map_err(|e| ToolError::new(format!("commit {id}: unreadable date: {e}")))?;
        let (subject, body) = split_message(commit.message_raw_sloppy().to_str_lossy().as_ref());
        Ok(CommitInfo {
            short_id: id.chars().take(7).collect(),
            author: author.name.trim().to_str_lossy().into_owned(),
            email: author.email.trim().to_str_lossy().into_owned(),
            date: rfc3339(time.seconds, time.offset),
            subject,
            body,
            parents: commit.parent_ids().map(|p| p.to_string()).collect(),
            id,
        })
    }

    /// Seconds since the epoch of `date` (for `since`/`until` filters).
    pub fn timestamp(&self) -> i64 {
        chrono::DateTime::parse_from_rfc3339(&self.date)
            .map(|d| d.timestamp())
            .unwrap_or(0)
    }
}

/// The first line and the rest of a commit message, trimmed.
pub fn split_message(message: &str) -> (String, String) {
    let message = message.trim();
    match message.split_once('\n') {
        Some((subject, rest)) => (subject.trim().to_string(), rest.trim().to_string()),
        None => (message.to_string(), String::new()),
    }
}

/// `seconds` since the epoch at `offset` seconds east of UTC, as RFC 3339.
pub fn rfc3339(seconds: i64, offset: i32) -> String {
    let utc = chrono::DateTime::from_timestamp(seconds, 0).unwrap_or_default();
    match chrono::FixedOffset::east_opt(offset) {
        Some(tz) => utc.with_timezone(&tz).to_rfc3339(),
        None => utc.to_rfc3339(),
    }
}

/// `since` (RFC 3339 or a date, midnight UTC) as seconds since the epoch.
pub fn parse_date(field: &str, value: &str) -> Result<i64, ToolError> {
    if let Ok(d) = chrono::DateTime::parse_from_rfc3339(value) {
        return Ok(d.timestamp());
    }
    chrono::NaiveDate::parse_from_str(value, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|d| d.and_utc().timestamp())
        .ok_or_else(|| {
            ToolError::new(format!(
                "`{field}` must be RFC 3339 (`2026-11-30T09:00:00Z`) or a date (`2026-11-30`), not `{value}`"
            ))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_message_splits_into_subject_and_body() {
        assert_eq!(
            split_message("Fix the total\n\nRounding was off.\n"),
            ("Fix the total".into(), "Rounding was off.".into())
        );
        assert_eq!(
            split_message("One line"),
            ("One line".into(), String::new())
        );
    }

    #[test]
    fn dates_keep_their_offset() {
        assert_eq!(rfc3339(0, 3600), "1970-01-01T01:00:00+01:00");
        assert_eq!(parse_date("since", "1970-01-02").unwrap(), 86_400);
        assert_eq!(parse_date("since", "1970-01-01T01:00:00+01:00").unwrap(), 0);
        assert!(parse_date("since", "yesterday").is_err());
    }

    #[test]
    fn repo_paths_stay_under_the_root() {
        assert_eq!(under_root("shop").unwrap(), Path::new("/repos/shop"));
        assert_eq!(under_root(".").unwrap(), Path::new("/repos/."));
        assert_eq!(under_root("/repos/shop").unwrap(), Path::new("/repos/shop"));
        assert!(under_root("../etc").is_err());
        assert!(under_root("shop/../../x").is_err());
    }
}
