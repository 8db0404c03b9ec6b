//! Walking history with filters, and the branches and tags.

use crate::objects::{Commit, Oid};
use crate::repo::{self, CommitInfo};
use crate::store::Repo;
use serde::{Deserialize, Serialize};
use spud_sdk::prelude::*;
use std::collections::{BinaryHeap, HashMap, HashSet};

/// Input of `log`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LogInput {
    /// The repository, relative to `/repos` (default `.`: `/repos` itself).
    #[serde(default = "crate::default_repo")]
    pub repo: String,
    /// Where history starts: a branch, tag, commit id or expression like `main~3` (default `HEAD`).
    #[serde(default = "crate::head")]
    pub rev: String,
    /// Only commits that changed a file under this path (`src/`, `README.md`).
    #[serde(default)]
    pub path: Option<String>,
    /// Only commits whose author name or email contains this (any case).
    #[serde(default)]
    pub author: Option<String>,
    /// Only commits whose message contains this (any case).
    #[serde(default)]
    pub message: Option<String>,
    /// Only commits authored at or after this time: RFC 3339 or a date (`2026-11-30`).
    #[serde(default)]
    pub since: Option<String>,
    /// Only commits authored before this time: RFC 3339 or a date.
    #[serde(default)]
    pub until: Option<String>,
    /// Return at most this many commits, newest first (default 20, at most 1000).
    #[serde(default)]
    pub max_count: Option<u32>,
}

/// Which commits `log` keeps.
#[derive(Debug, Default)]
pub struct Filter {
    path: Option<String>,
    author: Option<String>,
    message: Option<String>,
    since: Option<i64>,
    until: Option<i64>,
}

impl Filter {
    /// The filter `log`'s input asks for.
    pub fn from_input(input: &LogInput) -> Result<Filter, ToolError> {
        let lower = |s: &Option<String>| s.as_ref().map(|s| s.to_lowercase());
        Ok(Filter {
            path: input
                .path
                .as_ref()
                .map(|p| p.trim_start_matches("./").trim_end_matches('/').to_string())
                .filter(|p| !p.is_empty()),
            author: lower(&input.author),
            message: lower(&input.message),
            since: input
                .since
                .as_deref()
                .map(|s| repo::parse_date("since", s))
                .transpose()?,
            until: input
                .until
                .as_deref()
                .map(|s| repo::parse_date("until", s))
                .transpose()?,
        })
    }

    /// Whether `info` (authored at `when`) passes the filters that need no tree.
    fn keeps(&self, info: &CommitInfo, when: i64) -> bool {
        let text = |s: &str| s.to_lowercase();
        self.since.is_none_or(|s| when >= s)
            && self.until.is_none_or(|u| when < u)
            && self
                .author
                .as_ref()
                .is_none_or(|a| text(&info.author).contains(a) || text(&info.email).contains(a))
            && self
                .message
                .as_ref()
                .is_none_or(|m| text(&info.subject).contains(m) || text(&info.body).contains(m))
    }
}

/// Up to `max` commits reachable from `rev` that pass `filter`, newest first (by commit
/// time), and whether more passed.
pub fn walk(
    repo: &Repo,
    rev: &str,
    filter: &Filter,
    max: usize,
) -> Result<(Vec<CommitInfo>, bool), ToolError> {
    let (tip, _) = repo::commit(repo, rev)?;
    let fail = |e: String| ToolError::new(format!("walking history from `{rev}`: {e}"));
    // Commits queued by commit time, parsed once.
    let mut queue = BinaryHeap::new();
    let mut pending = HashMap::new();
    let mut seen = HashSet::new();
    let (_, first) = repo.commit(tip).map_err(fail)?;
    queue.push((first.committer.seconds, tip));
    pending.insert(tip, first);
    seen.insert(tip);
    let mut out = Vec::new();
    while let Some((_, id)) = queue.pop() {
        let Some(commit) = pending.remove(&id) else {
            continue;
        };
        for parent in &commit.parents {
            if seen.insert(*parent) {
                let (_, p) = repo.commit(*parent).map_err(fail)?;
                queue.push((p.committer.seconds, *parent));
                pending.insert(*parent, p);
            }
        }
        let info = CommitInfo::of(id, &commit);
        if !filter.keeps(&info, commit.author.seconds) {
            continue;
        }
        if let Some(path) = &filter.path {
            if !touches(repo, &commit, path).map_err(fail)? {
                continue;
            }
        }
        if out.len() == max {
            return Ok((out, true));
        }
        out.push(info);
    }
    Ok((out, false))
}

/// Whether `commit` changed what is at `path`: it differs from every parent's (a first
/// commit touches a path it has). A merge that took the path from one parent unchanged does
/// not touch it.
fn touches(repo: &Repo, commit: &Commit, path: &str) -> Result<bool, String> {
    let mine = entry_at(repo, commit, path)?;
    if commit.parents.is_empty() {
        return Ok(mine.is_some());
    }
    for parent in &commit.parents {
        let (_, parent) = repo.commit(*parent)?;
        if entry_at(repo, &parent, path)? == mine {
            return Ok(false);
        }
    }
    Ok(true)
}

/// The id of what `commit` has at `path` (a blob or a tree), if anything.
fn entry_at(repo: &Repo, commit: &Commit, path: &str) -> Result<Option<Oid>, String> {
    let Some(mut id) = commit.tree else {
        return Ok(None);
    };
    for part in path.split('/').filter(|p| !p.is_empty()) {
        let entries = match repo.tree(&id) {
            Ok(e) => e,
            Err(_) => return Ok(None),
        };
        match entries.into_iter().find(|e| e.name == part) {
            Some(e) => id = e.id,
            None => return Ok(None),
        }
    }
    Ok(Some(id))
}

/// A branch or tag and the commit it points to.
#[derive(Debug, Serialize, JsonSchema)]
pub struct Tip {
    /// Its short name (`main`, `v1.2`).
    pub name: String,
    /// The commit's id (a tag is peeled to its commit).
    pub id: String,
    /// The commit's first line.
    pub subject: String,
}

/// The repository's refs.
#[derive(Debug, Serialize, JsonSchema)]
pub struct RefsOutput {
    /// The branch HEAD is on (none when detached or unborn).
    pub head_branch: Option<String>,
    /// The commit HEAD points to (none in an empty repository).
    pub head: Option<String>,
    /// Local branches, by name.
    pub branches: Vec<Tip>,
    /// Tags, by name.
    pub tags: Vec<Tip>,
}

/// The branches, the tags and HEAD of `repo`.
pub fn refs(repo: &Repo) -> Result<RefsOutput, ToolError> {
    let fail = |e: String| ToolError::new(format!("reading refs: {e}"));
    let tips = |prefix: &str| -> Result<Vec<Tip>, ToolError> {
        let mut out = Vec::new();
        for (name, id) in repo.refs_under(prefix).map_err(fail)? {
            let Ok((id, commit)) = repo.commit(id) else {
                continue;
            };
            out.push(Tip {
                name: name.trim_start_matches(prefix).to_string(),
                id: id.to_string(),
                subject: repo::split_message(&commit.message).0,
            });
        }
        Ok(out)
    };
    Ok(RefsOutput {
        head_branch: repo.head_branch().map_err(fail)?,
        head: repo
            .resolve_ref("HEAD")
            .map_err(fail)?
            .map(|id| id.to_string()),
        branches: tips("refs/heads/")?,
        tags: tips("refs/tags/")?,
    })
}
