//! Opening a repository under the granted root and reading commits as models see them.

use crate::objects::{Commit, Oid};
use crate::store::Repo;
use serde::Serialize;
use spud_sdk::prelude::*;
use std::path::{Component, Path, PathBuf};

/// The guest directory the plugin asks for; `repo` paths resolve under it.
pub const ROOT: &str = "/repos";

/// The repository at `repo` (relative to [`ROOT`]; `.` is the root itself): a working tree
/// with a `.git` directory, or a bare repository. Read only.
pub fn open(repo: &str) -> Result<Repo, ToolError> {
    let path = under_root(repo)?;
    if !path.is_dir() {
        return Err(ToolError::new(format!(
            "no directory `{repo}` under {ROOT} (the repositories the operator granted)"
        )));
    }
    match Repo::open(&path) {
        Ok(Some(r)) => Ok(r),
        Ok(None) => Err(ToolError::new(format!(
            "`{repo}` is not a Git repository (no .git directory, and not a bare repository)"
        ))),
        Err(e) => Err(ToolError::new(format!("`{repo}`: {e}"))),
    }
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
pub fn commit(repo: &Repo, rev: &str) -> Result<(Oid, Commit), ToolError> {
    let id = repo
        .rev_parse(rev)
        .map_err(|e| ToolError::new(format!("`{rev}` names no commit here: {e}")))?;
    repo.commit(id)
        .map_err(|e| ToolError::new(format!("`{rev}`: {e}")))
}

/// The tree of `commit`.
pub fn tree(commit: &Commit) -> Result<Oid, ToolError> {
    commit
        .tree
        .ok_or_else(|| ToolError::new("a commit without a tree"))
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
    /// What commit `id` says of itself.
    pub fn of(id: Oid, commit: &Commit) -> CommitInfo {
        let id = id.to_string();
        let (subject, body) = split_message(&commit.message);
        let a = &commit.author;
        CommitInfo {
            short_id: id.chars().take(7).collect(),
            author: a.name.clone(),
            email: a.email.clone(),
            date: rfc3339(a.seconds, a.offset),
            subject,
            body,
            parents: commit.parents.iter().map(|p| p.to_string()).collect(),
            id,
        }
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
