//! spud's first-party Git connector: the repositories the operator grants under `/repos`, read
//! only — history (`log`), one commit with its patch (`show`), the changes between two
//! revisions (`diff`), a search of the files at a revision (`grep`) and the branches and tags
//! (`refs`). It reads the object database and refs itself — loose objects, packs and their
//! deltas, packed refs, revision expressions — with positional reads (WASI has no `mmap`,
//! which the `gix` object store needs): no worktree, no index, no hooks, no configuration, no
//! network, nothing written.

mod changes;
mod history;
mod objects;
mod odb;
mod pack;
mod repo;
mod search;
mod store;

pub use changes::FileChange;
pub use history::LogInput;
pub use repo::CommitInfo;
pub use search::Match;
use spud_sdk::prelude::*;

/// The most patch bytes returned unless the caller asks for less.
const MAX_PATCH_BYTES: u32 = 1 << 20;

spud_sdk::export_plugin! {
    name: "git",
    description: "Read Git repositories the operator grants under /repos: log, show, diff, grep, refs (read only).",
    requests: Requests::new()
        .file(repo::ROOT, Access::ReadOnly, "the Git repositories to read")
        .limits(
            Limits::new()
                .memory_mb(256)
                .fuel(50_000_000_000)
                .timeout_ms(30_000)
                .result_bytes(4 * 1024 * 1024),
        ),
    tools: [log, show, diff, grep, refs],
}

fn default_repo() -> String {
    ".".to_string()
}

fn head() -> String {
    "HEAD".to_string()
}

/// History as read.
#[derive(Debug, Serialize, JsonSchema)]
pub struct LogOutput {
    /// The commits that matched, newest first.
    pub commits: Vec<CommitInfo>,
    /// Whether more commits matched than `max_count`.
    pub truncated: bool,
}

/// Lists commits reachable from `rev` (default HEAD), newest first, optionally only those touching a path, by an author, mentioning a word, or in a date range.
#[tool]
pub fn log(input: LogInput) -> Result<LogOutput, ToolError> {
    let repo = repo::open(&input.repo)?;
    let filter = history::Filter::from_input(&input)?;
    let max = input.max_count.unwrap_or(20).clamp(1, 1000) as usize;
    let (commits, truncated) = history::walk(&repo, &input.rev, &filter, max)?;
    Ok(LogOutput { commits, truncated })
}

/// Input of `show`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ShowInput {
    /// The repository, relative to `/repos` (default `.`).
    #[serde(default = "default_repo")]
    pub repo: String,
    /// The commit (default `HEAD`).
    #[serde(default = "head")]
    pub rev: String,
    /// Only changes under this path.
    #[serde(default)]
    pub path: Option<String>,
    /// Include the unified patch (default true).
    #[serde(default)]
    pub patch: Option<bool>,
    /// Cut the patch at this many bytes (default 1 MiB).
    #[serde(default)]
    pub max_patch_bytes: Option<u32>,
}

/// Changes with their patch.
#[derive(Debug, Serialize, JsonSchema)]
pub struct ChangesOutput {
    /// The changed files, by path.
    pub files: Vec<FileChange>,
    /// Lines added in all.
    pub additions: u64,
    /// Lines removed in all.
    pub deletions: u64,
    /// The unified diff (empty when not asked for).
    pub patch: String,
    /// Whether the patch was cut at `max_patch_bytes`.
    pub patch_truncated: bool,
}

/// One commit and what it changed.
#[derive(Debug, Serialize, JsonSchema)]
pub struct ShowOutput {
    /// The commit.
    pub commit: CommitInfo,
    /// What it changed against its first parent (everything, for a first commit).
    pub changes: ChangesOutput,
}

/// Shows one commit (default HEAD): its author, date and message, the files it changed against its first parent with line counts, and the unified patch.
#[tool]
pub fn show(input: ShowInput) -> Result<ShowOutput, ToolError> {
    let repo = repo::open(&input.repo)?;
    let (id, commit) = repo::commit(&repo, &input.rev)?;
    let info = CommitInfo::of(id, &commit);
    let parent = match commit.parents.first() {
        Some(p) => Some(repo::commit(&repo, &p.to_string())?.1),
        None => None,
    };
    let request = request(input.path.as_deref(), input.patch, input.max_patch_bytes);
    let changes = compare(&repo, parent.as_ref(), &commit, &request)?;
    Ok(ShowOutput {
        commit: info,
        changes,
    })
}

/// Input of `diff`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DiffInput {
    /// The repository, relative to `/repos` (default `.`).
    #[serde(default = "default_repo")]
    pub repo: String,
    /// The older revision (a branch, tag, commit id, `HEAD~5`...).
    pub from: String,
    /// The newer revision (default `HEAD`).
    #[serde(default = "head")]
    pub to: String,
    /// Only changes under this path.
    #[serde(default)]
    pub path: Option<String>,
    /// Include the unified patch (default true).
    #[serde(default)]
    pub patch: Option<bool>,
    /// Cut the patch at this many bytes (default 1 MiB).
    #[serde(default)]
    pub max_patch_bytes: Option<u32>,
}

/// Two revisions and what changed between them.
#[derive(Debug, Serialize, JsonSchema)]
pub struct DiffOutput {
    /// The older commit's id.
    pub from: String,
    /// The newer commit's id.
    pub to: String,
    /// What changed from `from` to `to`.
    pub changes: ChangesOutput,
}

/// Compares two revisions (`from` to `to`, default HEAD): the files that differ with line counts, and the unified patch.
#[tool]
pub fn diff(input: DiffInput) -> Result<DiffOutput, ToolError> {
    let repo = repo::open(&input.repo)?;
    let (from_id, from) = repo::commit(&repo, &input.from)?;
    let (to_id, to) = repo::commit(&repo, &input.to)?;
    let request = request(input.path.as_deref(), input.patch, input.max_patch_bytes);
    let changes = compare(&repo, Some(&from), &to, &request)?;
    Ok(DiffOutput {
        from: from_id.to_string(),
        to: to_id.to_string(),
        changes,
    })
}

/// The diff request for a tool's options.
fn request(path: Option<&str>, patch: Option<bool>, max: Option<u32>) -> changes::Request<'_> {
    changes::Request {
        path: path.map(|p| p.trim_start_matches("./")),
        with_patch: patch.unwrap_or(true),
        max_patch_bytes: max.unwrap_or(MAX_PATCH_BYTES).min(MAX_PATCH_BYTES) as usize,
    }
}

/// The changes from `old`'s tree (none: empty) to `new`'s.
fn compare(
    repo: &store::Repo,
    old: Option<&objects::Commit>,
    new: &objects::Commit,
    request: &changes::Request<'_>,
) -> Result<ChangesOutput, ToolError> {
    let old_tree = old.map(repo::tree).transpose()?;
    let c = changes::between(repo, old_tree, repo::tree(new)?, request)?;
    Ok(ChangesOutput {
        additions: c.files.iter().map(|f| f.additions).sum(),
        deletions: c.files.iter().map(|f| f.deletions).sum(),
        files: c.files,
        patch: c.patch,
        patch_truncated: c.patch_truncated,
    })
}

/// Input of `grep`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GrepInput {
    /// The repository, relative to `/repos` (default `.`).
    #[serde(default = "default_repo")]
    pub repo: String,
    /// A regular expression (Rust `regex` syntax), matched per line.
    pub pattern: String,
    /// Search the files as they are at this revision (default `HEAD`).
    #[serde(default = "head")]
    pub rev: String,
    /// Only files under this path.
    #[serde(default)]
    pub path: Option<String>,
    /// Match regardless of case.
    #[serde(default)]
    pub ignore_case: bool,
    /// Return at most this many matching lines (default 100, at most 10000).
    #[serde(default)]
    pub max_matches: Option<u32>,
}

/// Lines found.
#[derive(Debug, Serialize, JsonSchema)]
pub struct GrepOutput {
    /// The commit searched.
    pub commit: String,
    /// The matching lines, by path and line.
    pub matches: Vec<Match>,
    /// Text files searched.
    pub files_searched: u64,
    /// Whether more lines matched than `max_matches`.
    pub truncated: bool,
}

/// Searches the text files of a revision (default HEAD) for lines matching a regular expression; returns path, line number and line.
#[tool]
pub fn grep(input: GrepInput) -> Result<GrepOutput, ToolError> {
    let pattern = regex::RegexBuilder::new(&input.pattern)
        .case_insensitive(input.ignore_case)
        .size_limit(1 << 20)
        .build()
        .map_err(|e| ToolError::new(format!("bad pattern: {e}")))?;
    let repo = repo::open(&input.repo)?;
    let (id, commit) = repo::commit(&repo, &input.rev)?;
    let tree = repo::tree(&commit)?;
    let max = input.max_matches.unwrap_or(100).clamp(1, 10_000) as usize;
    let prefix = input.path.as_deref().map(|p| p.trim_start_matches("./"));
    let found = search::grep(&repo, tree, &pattern, prefix, max)?;
    Ok(GrepOutput {
        commit: id.to_string(),
        matches: found.matches,
        files_searched: found.files_searched,
        truncated: found.truncated,
    })
}

/// Input of `refs`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RefsInput {
    /// The repository, relative to `/repos` (default `.`).
    #[serde(default = "default_repo")]
    pub repo: String,
}

pub use history::{RefsOutput, Tip};

/// Lists the repository's branches and tags with the commit each points to, and which branch HEAD is on.
#[tool]
pub fn refs(input: RefsInput) -> Result<RefsOutput, ToolError> {
    let repo = repo::open(&input.repo)?;
    history::refs(&repo)
}
