//! A repository: references (loose files and `packed-refs`), HEAD, revision expressions, and
//! its objects read through them.

use crate::objects::{self, Kind, Oid};
use crate::odb::{Object, Odb};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// How many symbolic references may chain (`HEAD` → `refs/heads/main` → …).
const MAX_SYMREF_DEPTH: usize = 5;

/// A repository's git directory and objects.
pub struct Repo {
    /// The git directory (`.git`, or the bare repository itself).
    pub git_dir: PathBuf,
    /// Where the shared refs and objects are: the git directory, or a linked worktree's
    /// common directory.
    common: PathBuf,
    /// Its objects.
    pub odb: Odb,
}

impl Repo {
    /// The repository at `dir`: `dir/.git` (a directory, or a `gitdir:` file), or `dir` itself
    /// when it is bare. `Ok(None)` when it is neither.
    pub fn open(dir: &Path) -> Result<Option<Repo>, String> {
        let dot_git = dir.join(".git");
        let git_dir = if dot_git.is_dir() {
            dot_git
        } else if dot_git.is_file() {
            let text = std::fs::read_to_string(&dot_git).map_err(|e| e.to_string())?;
            let target = text.trim().strip_prefix("gitdir:").map(str::trim);
            match target {
                Some(t) => dir.join(t),
                None => return Ok(None),
            }
        } else {
            dir.to_path_buf()
        };
        if !git_dir.join("HEAD").is_file() {
            return Ok(None);
        }
        let common = common_dir(&git_dir);
        if !common.join("objects").is_dir() {
            return Ok(None);
        }
        let odb = Odb::open(&common.join("objects"))?;
        Ok(Some(Repo {
            git_dir,
            common,
            odb,
        }))
    }

    /// The object `id`, which must exist.
    pub fn object(&self, id: &Oid) -> Result<Object, String> {
        self.odb
            .find(id)?
            .ok_or_else(|| format!("object {id} is missing"))
    }

    /// `id` peeled through annotated tags to a non-tag object.
    pub fn peel(&self, mut id: Oid) -> Result<(Kind, Oid), String> {
        for _ in 0..MAX_SYMREF_DEPTH * 4 {
            let (kind, data) = self.object(&id)?;
            if kind != Kind::Tag {
                return Ok((kind, id));
            }
            id = objects::tag_target(&data).ok_or_else(|| format!("tag {id} is malformed"))?;
        }
        Err(format!("tag {id} points through too many tags"))
    }

    /// What reference `name` (a full name such as `HEAD` or `refs/heads/main`) points to,
    /// following symbolic references; `Ok(None)` when it does not exist (or is unborn).
    pub fn resolve_ref(&self, name: &str) -> Result<Option<Oid>, String> {
        let mut name = name.to_string();
        for _ in 0..MAX_SYMREF_DEPTH {
            match self.read_ref(&name)? {
                None => return Ok(None),
                Some(Target::Id(id)) => return Ok(Some(id)),
                Some(Target::Symbolic(to)) => name = to,
            }
        }
        Err(format!("`{name}`: symbolic references loop"))
    }

    /// The branch `HEAD` is on, if it is on one.
    pub fn head_branch(&self) -> Result<Option<String>, String> {
        Ok(match self.read_ref("HEAD")? {
            Some(Target::Symbolic(to)) => Some(to.trim_start_matches("refs/heads/").to_string()),
            _ => None,
        })
    }

    /// One reference as stored: a loose file, else a `packed-refs` line.
    fn read_ref(&self, name: &str) -> Result<Option<Target>, String> {
        if name
            .split('/')
            .any(|p| p.is_empty() || p == "." || p == "..")
        {
            return Ok(None);
        }
        let loose = std::fs::read_to_string(self.git_dir.join(name))
            .or_else(|_| std::fs::read_to_string(self.common.join(name)));
        if let Ok(text) = loose {
            let text = text.trim();
            if let Some(to) = text.strip_prefix("ref:") {
                return Ok(Some(Target::Symbolic(to.trim().to_string())));
            }
            return Oid::from_hex(text)
                .map(|id| Some(Target::Id(id)))
                .ok_or_else(|| format!("reference `{name}` is malformed"));
        }
        Ok(self.packed_refs()?.remove(name).map(Target::Id))
    }

    /// The `packed-refs` file's references.
    fn packed_refs(&self) -> Result<BTreeMap<String, Oid>, String> {
        let text = match std::fs::read_to_string(self.common.join("packed-refs")) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(BTreeMap::new()),
            Err(e) => return Err(format!("packed-refs: {e}")),
        };
        Ok(text
            .lines()
            .filter(|l| !l.starts_with('#') && !l.starts_with('^'))
            .filter_map(|l| l.split_once(' '))
            .filter_map(|(id, name)| Some((name.to_string(), Oid::from_hex(id)?)))
            .collect())
    }

    /// Every reference under `prefix` (`refs/heads/`, `refs/tags/`) by full name.
    pub fn refs_under(&self, prefix: &str) -> Result<BTreeMap<String, Oid>, String> {
        let mut out: BTreeMap<String, Oid> = self
            .packed_refs()?
            .into_iter()
            .filter(|(n, _)| n.starts_with(prefix))
            .collect();
        let mut stack = vec![prefix.trim_end_matches('/').to_string()];
        while let Some(dir) = stack.pop() {
            let Ok(entries) = std::fs::read_dir(self.common.join(&dir)) else {
                continue;
            };
            for e in entries.flatten() {
                let name = format!("{dir}/{}", e.file_name().to_string_lossy());
                if e.path().is_dir() {
                    stack.push(name);
                } else if let Some(id) = self.resolve_ref(&name)? {
                    out.insert(name, id);
                }
            }
        }
        Ok(out)
    }

    /// The object a revision names: `HEAD`/`@`, a branch, tag or full ref name, a hex id or a
    /// unique prefix of 4+ digits, each followed by any of `~N`, `^N`, `^{commit}`/`^{}`.
    pub fn rev_parse(&self, rev: &str) -> Result<Oid, String> {
        let split = rev.find(['~', '^']).unwrap_or(rev.len());
        let (base, mut ops) = rev.split_at(split);
        let mut id = self.base(base)?;
        while !ops.is_empty() {
            let op = ops.as_bytes()[0];
            ops = &ops[1..];
            if op == b'^' && ops.starts_with('{') {
                let close = ops
                    .find('}')
                    .ok_or_else(|| format!("`{rev}`: unclosed `{{`"))?;
                id = self.peel(id)?.1;
                ops = &ops[close + 1..];
                continue;
            }
            let digits = ops.find(|c: char| !c.is_ascii_digit()).unwrap_or(ops.len());
            let n: usize = if digits == 0 {
                1
            } else {
                ops[..digits]
                    .parse()
                    .map_err(|_| format!("`{rev}`: bad number"))?
            };
            ops = &ops[digits..];
            id = if op == b'~' {
                self.ancestor(id, n, rev)?
            } else {
                self.parent(id, n, rev)?
            };
        }
        Ok(id)
    }

    /// The object a revision's base names.
    fn base(&self, base: &str) -> Result<Oid, String> {
        let base = if base == "@" || base.is_empty() {
            "HEAD"
        } else {
            base
        };
        for name in [
            base.to_string(),
            format!("refs/heads/{base}"),
            format!("refs/tags/{base}"),
            format!("refs/remotes/{base}"),
            format!("refs/{base}"),
        ] {
            if let Some(id) = self.resolve_ref(&name)? {
                return Ok(id);
            }
        }
        if base.len() >= 4 && base.len() <= 40 && base.bytes().all(|b| b.is_ascii_hexdigit()) {
            let ids = self.odb.ids_with_prefix(&base.to_ascii_lowercase());
            match ids.len() {
                1 => return Ok(ids[0]),
                0 => {}
                n => return Err(format!("`{base}` is ambiguous: {n} objects start with it")),
            }
        }
        Err(format!("no branch, tag or object `{base}`"))
    }

    /// The commit `id` peels to, parsed.
    pub fn commit(&self, id: Oid) -> Result<(Oid, objects::Commit), String> {
        let (kind, id) = self.peel(id)?;
        if kind != Kind::Commit {
            return Err(format!("{id} is a {kind:?}, not a commit"));
        }
        let (_, data) = self.object(&id)?;
        let commit = objects::commit(&data).ok_or_else(|| format!("commit {id} is malformed"))?;
        Ok((id, commit))
    }

    /// The `n`th first-parent ancestor.
    fn ancestor(&self, mut id: Oid, n: usize, rev: &str) -> Result<Oid, String> {
        for _ in 0..n {
            id = self.parent(id, 1, rev)?;
        }
        Ok(id)
    }

    /// The `n`th parent (`0`: the commit itself).
    fn parent(&self, id: Oid, n: usize, rev: &str) -> Result<Oid, String> {
        let (id, commit) = self.commit(id)?;
        if n == 0 {
            return Ok(id);
        }
        commit
            .parents
            .get(n - 1)
            .copied()
            .ok_or_else(|| format!("`{rev}`: commit {id} has no parent {n}"))
    }

    /// The entries of tree `id`.
    pub fn tree(&self, id: &Oid) -> Result<Vec<objects::Entry>, String> {
        let (kind, data) = self.object(id)?;
        if kind != Kind::Tree {
            return Err(format!("{id} is not a tree"));
        }
        objects::tree(&data).ok_or_else(|| format!("tree {id} is malformed"))
    }
}

/// What a reference file holds.
enum Target {
    Id(Oid),
    Symbolic(String),
}

/// The common directory of `git_dir` (a linked worktree's names it in `commondir`).
fn common_dir(git_dir: &Path) -> PathBuf {
    match std::fs::read_to_string(git_dir.join("commondir")) {
        Ok(common) => git_dir.join(common.trim()),
        Err(_) => git_dir.to_path_buf(),
    }
}
