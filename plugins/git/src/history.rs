//! Walking history with filters, and the branches and tags.

use crate::repo::{self, CommitInfo};
use crate::LogInput;
use gix::bstr::ByteSlice;
use serde::Serialize;
use spud_sdk::prelude::*;

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

    /// Whether `info` passes the filters that need no tree.
    fn keeps(&self, info: &CommitInfo) -> bool {
        let when = info.timestamp();
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

/// Up to `max` commits reachable from `rev` that pass `filter`, newest first, and whether
/// more passed.
pub fn walk(
    repo: &gix::Repository,
    rev: &str,
    filter: &Filter,
    max: usize,
) -> Result<(Vec<CommitInfo>, bool), ToolError> {
    let tip = repo::commit(repo, rev)?;
    let walk = repo
        .rev_walk([tip.id])
        .sorting(gix::revision::walk::Sorting::ByCommitTime(
            Default::default(),
        ))
        .all()
        .map_err(|e| ToolError::new(format!("walking history from `{rev}`: {e}")))?;
    let mut out = Vec::new();
    for step in walk {
        let step = step.map_err(|e| ToolError::new(format!("walking history: {e}")))?;
        let commit = step
            .object()
            .map_err(|e| ToolError::new(format!("reading commit {}: {e}", step.id)))?;
        let info = CommitInfo::of(&commit)?;
        if !filter.keeps(&info) {
            continue;
        }
        if let Some(path) = &filter.path {
            if !touches(repo, &commit, path)? {
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
fn touches(
    repo: &gix::Repository,
    commit: &gix::Commit<'_>,
    path: &str,
) -> Result<bool, ToolError> {
    let mine = entry_at(commit, path)?;
    let mut parents = commit.parent_ids().peekable();
    if parents.peek().is_none() {
        return Ok(mine.is_some());
    }
    for parent in parents {
        let parent = repo::commit(repo, &parent.to_string())?;
        if entry_at(&parent, path)? == mine {
            return Ok(false);
        }
    }
    Ok(true)
}

/// The id of what `commit` has at `path` (a blob or a tree), if anything.
fn entry_at(commit: &gix::Commit<'_>, path: &str) -> Result<Option<gix::ObjectId>, ToolError> {
    let tree = repo::tree(commit)?;
    let entry = tree
        .lookup_entry_by_path(path)
        .map_err(|e| ToolError::new(format!("looking up `{path}`: {e}")))?;
    Ok(entry.map(|e| e.object_id()))
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
pub fn refs(repo: &gix::Repository) -> Result<RefsOutput, ToolError> {
    let fail = |e: &dyn std::fmt::Display| ToolError::new(format!("reading refs: {e}"));
    let platform = repo.references().map_err(|e| fail(&e))?;
    let tips = |iter: gix::reference::iter::Iter<'_, '_>| -> Result<Vec<Tip>, ToolError> {
        let mut out = Vec::new();
        for r in iter {
            let mut r = r.map_err(|e| fail(&e))?;
            let name = r.name().shorten().to_str_lossy().into_owned();
            let Ok(commit) = r.peel_to_commit() else {
                continue;
            };
            let info = CommitInfo::of(&commit)?;
            out.push(Tip {
                name,
                id: info.id,
                subject: info.subject,
            });
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    };
    let branches = tips(platform.local_branches().map_err(|e| fail(&e))?)?;
    let tags = tips(platform.tags().map_err(|e| fail(&e))?)?;
    let head_branch = repo
        .head_name()
        .map_err(|e| fail(&e))?
        .map(|n| n.shorten().to_str_lossy().into_owned());
    let head = repo.head_id().ok().map(|id| id.to_string());
    Ok(RefsOutput {
        head_branch,
        head,
        branches,
        tags,
    })
}
