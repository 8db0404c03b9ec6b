//! The layering of `host/src`, checked against the table in `docs/src/architecture.md`.
//!
//! Run it with `cargo test -p spud --test layers`. It reads no Rust crate, only text: the
//! layers table of the architecture page and every `.rs` file under `host/src`, with comments
//! and string literals blanked out first. It checks
//!
//! - `table_covers_every_module`: every top-level module of `host/src` (`foo.rs` or `foo/`) has
//!   a row in the table, and every module in the table exists, so the page cannot go stale;
//! - `imports_point_down`: a module imports only from modules of a strictly lower layer (or
//!   from itself), and never through the crate root (`crate::Spud`, re-exported by `lib.rs`,
//!   instead of `crate::service::Spud`);
//! - `no_cycles_within_a_module`: the files of one top-level module do not import each other in
//!   a cycle;
//! - the `parser_*` tests: the scanner itself, on small sources held in memory.
//!
//! What counts as an import: every path that starts with `crate::` (in a `use` or anywhere in
//! code, `use crate::{a, b::c}` groups included), `super::` and `self::` (resolved from the
//! file's own module, so `super::x` from `foo/mod.rs` is `crate::x`), a path that starts with a
//! child module's name, and, in the binary's `cli` module, `spud::` (the library seen from the
//! binary). `lib.rs` and `main.rs` are roots and are not checked. Dependencies on the pure crates
//! (`spud_policy`, `spud_schema`, `spud_audit`, `spud_manifest`) are always allowed.
//!
//! The file graph of the cycle check has an edge from a file to the file that defines what it
//! names; a name that a file only re-imports (`use`, `pub use`) is followed to where it comes
//! from, and a `pub use` by itself adds no edge (re-exporting a child is not depending on it).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

// ---------------------------------------------------------------------------------------------
// Blanking comments and literals
// ---------------------------------------------------------------------------------------------

fn is_ident_char(c: char) -> bool {
    c == '_' || c.is_alphanumeric()
}

/// The source with every comment (line, block — nested —, doc) and every string, byte string,
/// raw string and character literal replaced by spaces. Newlines stay, so line numbers hold.
fn strip(src: &str) -> String {
    let c: Vec<char> = src.chars().collect();
    let mut out = String::with_capacity(src.len());
    let blank = |out: &mut String, from: usize, to: usize| {
        for &ch in &c[from..to.min(c.len())] {
            out.push(if ch == '\n' { '\n' } else { ' ' });
        }
    };
    let mut i = 0;
    while i < c.len() {
        let ch = c[i];
        let next = c.get(i + 1).copied();
        // Line comments, `///` and `//!` included.
        if ch == '/' && next == Some('/') {
            let mut j = i;
            while j < c.len() && c[j] != '\n' {
                j += 1;
            }
            blank(&mut out, i, j);
            i = j;
            continue;
        }
        // Block comments, which nest.
        if ch == '/' && next == Some('*') {
            let mut j = i + 2;
            let mut depth = 1;
            while j < c.len() && depth > 0 {
                if c[j] == '/' && c.get(j + 1) == Some(&'*') {
                    depth += 1;
                    j += 2;
                } else if c[j] == '*' && c.get(j + 1) == Some(&'/') {
                    depth -= 1;
                    j += 2;
                } else {
                    j += 1;
                }
            }
            blank(&mut out, i, j);
            i = j;
            continue;
        }
        let after_ident = i > 0 && is_ident_char(c[i - 1]);
        // Raw strings: r"…", r#"…"#, br"…", cr#"…"#. (`r#name` is a raw identifier: no quote.)
        if !after_ident && (ch == 'r' || ((ch == 'b' || ch == 'c') && next == Some('r'))) {
            let mut j = if ch == 'r' { i + 1 } else { i + 2 };
            let mut hashes = 0;
            while c.get(j) == Some(&'#') {
                hashes += 1;
                j += 1;
            }
            if c.get(j) == Some(&'"') {
                j += 1;
                while j < c.len() {
                    if c[j] == '"' && (0..hashes).all(|h| c.get(j + 1 + h) == Some(&'#')) {
                        j += 1 + hashes;
                        break;
                    }
                    j += 1;
                }
                blank(&mut out, i, j);
                i = j;
                continue;
            }
        }
        // Strings (and b"…", c"…": the prefix is left as a harmless letter).
        if ch == '"' {
            let mut j = i + 1;
            while j < c.len() {
                if c[j] == '\\' {
                    j += 2;
                } else if c[j] == '"' {
                    j += 1;
                    break;
                } else {
                    j += 1;
                }
            }
            blank(&mut out, i, j);
            i = j;
            continue;
        }
        // Character literals; a quote that starts a lifetime or a label stays.
        if ch == '\'' {
            if next == Some('\\') {
                let mut j = i + 3; // past the quote, the backslash and the escaped character
                while j < c.len() && c[j] != '\'' && c[j] != '\n' {
                    j += 1;
                }
                blank(&mut out, i, j + 1);
                i = j + 1;
                continue;
            }
            if c.get(i + 2) == Some(&'\'') && next != Some('\'') {
                blank(&mut out, i, i + 3);
                i += 3;
                continue;
            }
        }
        out.push(ch);
        i += 1;
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Tokens and paths
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone)]
struct Tok {
    text: String,
    line: usize,
}

/// Identifiers (and numbers), `::`, and every other character as a token of its own.
fn tokenize(code: &str) -> Vec<Tok> {
    let c: Vec<char> = code.chars().collect();
    let mut toks = Vec::new();
    let mut line = 1;
    let mut i = 0;
    while i < c.len() {
        let ch = c[i];
        if ch == '\n' {
            line += 1;
            i += 1;
        } else if ch.is_whitespace() {
            i += 1;
        } else if is_ident_char(ch) {
            let start = i;
            while i < c.len() && is_ident_char(c[i]) {
                i += 1;
            }
            toks.push(Tok {
                text: c[start..i].iter().collect(),
                line,
            });
        } else if ch == ':' && c.get(i + 1) == Some(&':') {
            toks.push(Tok {
                text: "::".into(),
                line,
            });
            i += 2;
        } else {
            toks.push(Tok {
                text: ch.to_string(),
                line,
            });
            i += 1;
        }
    }
    toks
}

fn is_ident(s: &str) -> bool {
    s.chars()
        .next()
        .is_some_and(|c| c == '_' || c.is_alphabetic())
        && s.chars().all(is_ident_char)
}

/// One path of a use tree (or of an expression), as written.
#[derive(Debug, Clone)]
struct RawPath {
    segments: Vec<String>,
    /// `use a::b as c`: the name it is known by.
    alias: Option<String>,
    glob: bool,
    line: usize,
}

/// Parses a use tree (`a::b::{c, d::e as f, g::*}`) or an expression path (`a::b::c(…)`) at
/// `i`, with `prefix` the segments before it. Returns the index after it.
fn parse_tree(toks: &[Tok], mut i: usize, prefix: Vec<String>, out: &mut Vec<RawPath>) -> usize {
    let text = |k: usize| toks.get(k).map(|t| t.text.as_str()).unwrap_or("");
    let line = |k: usize| toks.get(k).or(toks.last()).map(|t| t.line).unwrap_or(0);
    if text(i) == "{" {
        i += 1;
        loop {
            if i >= toks.len() {
                return i;
            }
            if text(i) == "}" {
                return i + 1;
            }
            let before = i;
            i = parse_tree(toks, i, prefix.clone(), out);
            match text(i) {
                "," => i += 1,
                "}" => return i + 1,
                _ if i == before => return i + 1, // not a use tree after all
                _ => {}
            }
        }
    }
    if text(i) == "*" {
        out.push(RawPath {
            segments: prefix,
            alias: None,
            glob: true,
            line: line(i),
        });
        return i + 1;
    }
    if is_ident(text(i)) {
        let mut segments = prefix;
        segments.push(text(i).to_string());
        let at = i;
        i += 1;
        if text(i) == "::" && (is_ident(text(i + 1)) || text(i + 1) == "{" || text(i + 1) == "*") {
            return parse_tree(toks, i + 1, segments, out);
        }
        let mut alias = None;
        if text(i) == "as" && is_ident(text(i + 1)) {
            alias = Some(text(i + 1).to_string());
            i += 2;
        }
        out.push(RawPath {
            segments,
            alias,
            glob: false,
            line: line(at),
        });
        return i;
    }
    if !prefix.is_empty() {
        out.push(RawPath {
            segments: prefix,
            alias: None,
            glob: false,
            line: line(i),
        });
    }
    i
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Krate {
    /// The library, rooted at `lib.rs`.
    Lib,
    /// The binary, rooted at `main.rs` (it holds `cli`).
    Bin,
}

/// A path a file names, resolved from its crate's root.
#[derive(Debug, Clone)]
struct Ref {
    line: usize,
    krate: Krate,
    /// From the crate root; `crate::agent::plan::Budget` is `["agent", "plan", "Budget"]`.
    path: Vec<String>,
    /// How it was written, for messages.
    written: String,
    /// The module (from the crate root) the path was written in: the file's, or an inline one.
    scope: Vec<String>,
    alias: Option<String>,
    glob: bool,
    in_use: bool,
    /// Part of a `pub use` (any visibility): a re-export.
    reexport: bool,
}

/// Resolves a path as written in module `cur` of crate `krate`. `is_module` says whether a
/// path from the crate root names a module, to recognise `child::x`.
fn resolve(
    raw: &[String],
    krate: Krate,
    cur: &[String],
    is_module: &dyn Fn(Krate, &[String]) -> bool,
) -> Option<(Krate, Vec<String>)> {
    let first = raw.first()?.as_str();
    let (k, mut path) = match first {
        "crate" => (krate, raw[1..].to_vec()),
        "spud" if krate == Krate::Bin => (Krate::Lib, raw[1..].to_vec()),
        "self" | "super" => {
            let mut base = cur.to_vec();
            let mut n = 0;
            if first == "self" {
                n = 1;
            }
            while raw.get(n).map(String::as_str) == Some("super") {
                base.pop()?;
                n += 1;
            }
            base.extend_from_slice(&raw[n..]);
            (krate, base)
        }
        other => {
            let mut child = cur.to_vec();
            child.push(other.to_string());
            if !is_module(krate, &child) {
                return None;
            }
            let mut p = cur.to_vec();
            p.extend_from_slice(raw);
            (krate, p)
        }
    };
    while path.last().map(String::as_str) == Some("self") {
        path.pop();
    }
    Some((k, path))
}

/// Every path in `code` (already stripped) that names something of this crate.
fn references(
    code: &str,
    krate: Krate,
    module: &[String],
    is_module: &dyn Fn(Krate, &[String]) -> bool,
) -> Vec<Ref> {
    let toks = tokenize(code);
    let text = |k: usize| toks.get(k).map(|t| t.text.as_str()).unwrap_or("");
    // Inline modules declared in this file (`mod tests { … }`) are modules too.
    let mut inline_names = BTreeSet::new();
    for k in 0..toks.len() {
        if text(k) == "mod" && is_ident(text(k + 1)) && text(k + 2) == "{" {
            inline_names.insert(text(k + 1).to_string());
        }
    }
    let is_module_here = |k: Krate, p: &[String]| {
        is_module(k, p)
            || (k == krate
                && p.len() > module.len()
                && p[..module.len()] == *module
                && inline_names.contains(p.last().unwrap()))
    };
    let mut refs = Vec::new();
    let mut depth = 0usize;
    let mut inline: Vec<(String, usize)> = Vec::new();
    let mut i = 0;
    while i < toks.len() {
        let t = text(i);
        if t == "{" {
            depth += 1;
            i += 1;
            continue;
        }
        if t == "}" {
            depth = depth.saturating_sub(1);
            while inline.last().is_some_and(|&(_, d)| depth < d) {
                inline.pop();
            }
            i += 1;
            continue;
        }
        if t == "mod" && is_ident(text(i + 1)) && text(i + 2) == "{" {
            depth += 1;
            inline.push((text(i + 1).to_string(), depth));
            i += 3;
            continue;
        }
        let prev = if i > 0 { text(i - 1) } else { "" };
        if !(is_ident(t) && prev != "::" && text(i + 1) == "::") {
            i += 1;
            continue;
        }
        let mut raws = Vec::new();
        let next = parse_tree(&toks, i, Vec::new(), &mut raws).max(i + 1);
        let in_use = prev == "use";
        let reexport = in_use && {
            // `pub use`, `pub(crate) use`, `pub(in crate::x) use`
            let mut j = i.saturating_sub(2);
            if text(j) == ")" {
                while j > 0 && text(j) != "(" {
                    j -= 1;
                }
                j = j.saturating_sub(1);
            }
            i >= 2 && text(j) == "pub"
        };
        let mut scope = module.to_vec();
        scope.extend(inline.iter().map(|(n, _)| n.clone()));
        for raw in raws {
            if let Some((k, path)) = resolve(&raw.segments, krate, &scope, &is_module_here) {
                refs.push(Ref {
                    line: raw.line,
                    krate: k,
                    path,
                    written: raw.segments.join("::") + if raw.glob { "::*" } else { "" },
                    scope: scope.clone(),
                    alias: raw.alias,
                    glob: raw.glob,
                    in_use,
                    reexport,
                });
            }
        }
        i = next;
    }
    refs
}

// ---------------------------------------------------------------------------------------------
// The table of the architecture page
// ---------------------------------------------------------------------------------------------

/// The layers table: module → layer, from the table whose header's first cell is `layer`.
/// Rows whose first cell is not a number (`crates`) are skipped; in the second cell, every
/// backticked identifier is a module (`host/src/cli` and other paths are not).
fn parse_table(markdown: &str) -> Result<BTreeMap<String, u32>, String> {
    let mut layers = BTreeMap::new();
    let mut in_table = false;
    let mut found = false;
    for (n, line) in markdown.lines().enumerate() {
        let line = line.trim();
        if !line.starts_with('|') {
            if in_table {
                break;
            }
            continue;
        }
        let cells: Vec<&str> = line.trim_matches('|').split('|').map(str::trim).collect();
        if !in_table {
            if cells.first().map(|c| c.eq_ignore_ascii_case("layer")) == Some(true) {
                in_table = true;
                found = true;
            }
            continue;
        }
        let Ok(layer) = cells[0].trim_matches('*').parse::<u32>() else {
            continue;
        };
        let Some(second) = cells.get(1) else { continue };
        for (k, part) in second.split('`').enumerate() {
            if k % 2 == 1 && is_ident(part) {
                if let Some(old) = layers.insert(part.to_string(), layer) {
                    return Err(format!(
                        "line {}: module `{part}` is in the table twice (layers {old} and {layer})",
                        n + 1
                    ));
                }
            }
        }
    }
    if !found {
        return Err("no table whose header starts with `| layer |`".into());
    }
    Ok(layers)
}

// ---------------------------------------------------------------------------------------------
// The source tree
// ---------------------------------------------------------------------------------------------

struct SourceFile {
    /// Relative to the repository, for messages: `host/src/agent/run.rs`.
    shown: String,
    krate: Krate,
    /// From its crate root: `["agent", "run"]`; empty for `lib.rs` and `main.rs`.
    module: Vec<String>,
    refs: Vec<Ref>,
}

impl SourceFile {
    fn top(&self) -> Option<&str> {
        self.module.first().map(String::as_str)
    }
}

struct Tree {
    files: Vec<SourceFile>,
    /// Top-level modules of `host/src`: `foo.rs` and `foo/`.
    tops: BTreeSet<String>,
    /// Module path → index in `files`.
    by_module: BTreeMap<(Krate, Vec<String>), usize>,
}

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

fn rs_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            rs_files(&p, out);
        } else if p.extension().is_some_and(|e| e == "rs") {
            out.push(p);
        }
    }
}

/// The module path of a file under `src`: `agent/run.rs` → `agent::run`, `agent/mod.rs` →
/// `agent`, `lib.rs` and `main.rs` → the root.
fn module_of(rel: &Path) -> Vec<String> {
    let mut parts: Vec<String> = rel
        .iter()
        .map(|s| s.to_string_lossy().into_owned())
        .collect();
    let last = parts.pop().unwrap();
    let stem = last.trim_end_matches(".rs");
    if !(parts.is_empty() && (stem == "lib" || stem == "main")) && stem != "mod" {
        parts.push(stem.to_string());
    }
    parts
}

fn load_tree() -> Tree {
    let root = repo_root();
    let src = root.join("host/src");
    let mut paths = Vec::new();
    rs_files(&src, &mut paths);
    let mut files = Vec::new();
    let mut tops = BTreeSet::new();
    let mut sources = Vec::new();
    for p in &paths {
        let rel = p.strip_prefix(&src).unwrap();
        let module = module_of(rel);
        let krate =
            if rel == Path::new("main.rs") || module.first().map(String::as_str) == Some("cli") {
                Krate::Bin
            } else {
                Krate::Lib
            };
        if let Some(top) = module.first() {
            tops.insert(top.clone());
        }
        let shown = p
            .strip_prefix(&root)
            .unwrap()
            .to_string_lossy()
            .into_owned();
        sources.push(std::fs::read_to_string(p).unwrap_or_else(|e| panic!("reading {shown}: {e}")));
        files.push(SourceFile {
            shown,
            krate,
            module,
            refs: Vec::new(),
        });
    }
    let by_module: BTreeMap<(Krate, Vec<String>), usize> = files
        .iter()
        .enumerate()
        .map(|(k, f)| ((f.krate, f.module.clone()), k))
        .collect();
    let is_module = |k: Krate, p: &[String]| by_module.contains_key(&(k, p.to_vec()));
    for (f, source) in files.iter_mut().zip(&sources) {
        f.refs = references(&strip(source), f.krate, &f.module, &is_module);
    }
    Tree {
        files,
        tops,
        by_module,
    }
}

fn load_table() -> BTreeMap<String, u32> {
    let path = repo_root().join("docs/src/architecture.md");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    parse_table(&text).unwrap_or_else(|e| panic!("docs/src/architecture.md: {e}"))
}

/// What `lib.rs` re-exports: name → where it comes from (`Spud` → `service::Spud`).
fn root_reexports(tree: &Tree) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    if let Some(&k) = tree.by_module.get(&(Krate::Lib, Vec::new())) {
        for r in &tree.files[k].refs {
            if r.in_use && !r.glob {
                if let Some(name) = r.alias.clone().or_else(|| r.path.last().cloned()) {
                    out.insert(name, r.path.join("::"));
                }
            }
        }
    }
    // `pub use spud_policy as policy;`: an external crate, which the resolver does not keep.
    let lib = repo_root().join("host/src/lib.rs");
    if let Ok(text) = std::fs::read_to_string(lib) {
        let toks = tokenize(&strip(&text));
        for w in toks.windows(4) {
            if w[0].text == "use" && w[2].text == "as" && is_ident(&w[3].text) {
                out.insert(w[3].text.clone(), w[1].text.clone());
            }
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// The checks
// ---------------------------------------------------------------------------------------------

fn table_problems(tree: &Tree, table: &BTreeMap<String, u32>) -> Vec<String> {
    let mut problems = Vec::new();
    for top in &tree.tops {
        if !table.contains_key(top) {
            problems.push(format!(
                "module `{top}` (host/src/{top}.rs or host/src/{top}/) has no row in the layers table \
                 of docs/src/architecture.md: add it to the layer it belongs to"
            ));
        }
    }
    for name in table.keys() {
        if !tree.tops.contains(name) {
            problems.push(format!(
                "the layers table of docs/src/architecture.md lists module `{name}`, but host/src has \
                 neither {name}.rs nor {name}/: remove or rename the row"
            ));
        }
    }
    problems
}

/// Upward or sideways imports, and imports through the crate root.
fn import_problems(
    tree: &Tree,
    table: &BTreeMap<String, u32>,
) -> (Vec<String>, Vec<String>, BTreeSet<String>) {
    let reexports = root_reexports(tree);
    // (file, line, message): sorted by file, then by line number
    let mut upward: BTreeSet<(String, usize, String)> = BTreeSet::new();
    let mut via_root: BTreeSet<(String, usize, String)> = BTreeSet::new();
    let mut unplaced = BTreeSet::new();
    for f in &tree.files {
        let Some(a) = f.top() else { continue }; // lib.rs, main.rs
        let Some(&la) = table.get(a) else {
            unplaced.insert(a.to_string());
            continue;
        };
        for r in &f.refs {
            let Some(first) = r.path.first() else {
                continue;
            };
            let b = match r.krate {
                Krate::Bin if first == "cli" => first.as_str(),
                Krate::Bin => continue, // an item of main.rs
                Krate::Lib if tree.tops.contains(first) => first.as_str(),
                Krate::Lib => {
                    let root = if f.krate == Krate::Bin {
                        "spud"
                    } else {
                        "crate"
                    };
                    let hint = match reexports.get(first) {
                        Some(from) if from.starts_with("spud_") => {
                            format!("lib.rs re-exports it from the crate `{from}`: use `{from}` directly")
                        }
                        Some(from) => format!(
                            "lib.rs re-exports it from `{from}`: import `{root}::{from}` instead"
                        ),
                        None => "an item of lib.rs: move it into the module it belongs to".into(),
                    };
                    via_root.insert((f.shown.clone(), r.line, format!(
                        "{}:{}: module {a} (layer {la}) imports `{root}::{first}` through the crate root ({hint})",
                        f.shown, r.line
                    )));
                    // The module it really comes from must be lower too.
                    match reexports
                        .get(first)
                        .and_then(|from| from.split("::").next())
                    {
                        Some(m) if tree.tops.contains(m) => {
                            let m = m.to_string();
                            if let Some(&lb) = table.get(&m) {
                                if m != a && lb >= la {
                                    upward.insert((f.shown.clone(), r.line, format!(
                                        "{}:{}: module {a} (layer {la}) imports module {m} (layer {lb}) — `{}` via the crate root",
                                        f.shown, r.line, r.written
                                    )));
                                }
                            }
                        }
                        _ => {}
                    }
                    continue;
                }
            };
            if b == a {
                continue;
            }
            let Some(&lb) = table.get(b) else { continue }; // reported by table_covers_every_module
            if lb >= la {
                upward.insert((
                    f.shown.clone(),
                    r.line,
                    format!(
                        "{}:{}: module {a} (layer {la}) imports module {b} (layer {lb}) — `{}`",
                        f.shown, r.line, r.written
                    ),
                ));
            }
        }
    }
    let messages =
        |set: BTreeSet<(String, usize, String)>| set.into_iter().map(|(_, _, m)| m).collect();
    (messages(upward), messages(via_root), unplaced)
}

/// The file a path from the crate root lands in, following `use` items of the file it names
/// (`super::Budget` where `mod.rs` has `pub use plan::Budget` lands in `plan.rs`). `None` when it
/// leaves module `top` (or cannot be placed).
fn defining_file(
    tree: &Tree,
    uses: &UseMap,
    krate: Krate,
    path: &[String],
    top: &str,
) -> Option<usize> {
    let mut path = path.to_vec();
    for _ in 0..16 {
        if path.first().map(String::as_str) != Some(top) {
            return None;
        }
        let (file, covered) = (1..=path.len()).rev().find_map(|k| {
            tree.by_module
                .get(&(krate, path[..k].to_vec()))
                .map(|&f| (f, k))
        })?;
        let Some(name) = path.get(covered) else {
            return Some(file);
        };
        let module = path[..covered].to_vec();
        match uses.get(&(krate, module)).and_then(|m| m.get(name)) {
            Some(target) => {
                let mut next = target.clone();
                next.extend_from_slice(&path[covered + 1..]);
                if next == path {
                    return Some(file);
                }
                path = next;
            }
            None => return Some(file),
        }
    }
    None
}

/// For each module: the names its `use` items bring in, and where they come from.
type UseMap = BTreeMap<(Krate, Vec<String>), BTreeMap<String, Vec<String>>>;

fn use_map(tree: &Tree) -> UseMap {
    let mut map = UseMap::new();
    for f in &tree.files {
        for r in f
            .refs
            .iter()
            .filter(|r| r.in_use && !r.glob && r.krate == f.krate)
        {
            if let Some(name) = r.alias.clone().or_else(|| r.path.last().cloned()) {
                if name != "_" {
                    map.entry((f.krate, r.scope.clone()))
                        .or_default()
                        .insert(name, r.path.clone());
                }
            }
        }
    }
    map
}

/// Cycles among the files of each top-level module, each as a readable block.
fn cycles(tree: &Tree) -> Vec<String> {
    let uses = use_map(tree);
    // edges[from] = to → first line in `from` that makes the edge
    let mut edges: BTreeMap<usize, BTreeMap<usize, usize>> = BTreeMap::new();
    for (k, f) in tree.files.iter().enumerate() {
        let Some(top) = f.top() else { continue };
        for r in f.refs.iter().filter(|r| !r.reexport && r.krate == f.krate) {
            if let Some(to) = defining_file(tree, &uses, r.krate, &r.path, top) {
                if to != k {
                    let e = edges.entry(k).or_default().entry(to).or_insert(r.line);
                    *e = (*e).min(r.line);
                }
            }
        }
    }
    let n = tree.files.len();
    let adjacency: Vec<Vec<usize>> = (0..n)
        .map(|k| {
            edges
                .get(&k)
                .map(|m| m.keys().copied().collect())
                .unwrap_or_default()
        })
        .collect();
    let mut out = Vec::new();
    for scc in strongly_connected(&adjacency) {
        if scc.len() < 2 {
            continue;
        }
        let members: BTreeSet<usize> = scc.iter().copied().collect();
        let mut text = format!(
            "cycle among {} files of module {}: {}\n",
            scc.len(),
            tree.files[scc[0]].top().unwrap_or("?"),
            scc.iter()
                .map(|&k| tree.files[k].shown.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        );
        for &from in &members {
            for (&to, &line) in edges.get(&from).into_iter().flatten() {
                if members.contains(&to) {
                    let _ = writeln!(
                        text,
                        "    {}:{line} → {}",
                        tree.files[from].shown, tree.files[to].shown
                    );
                }
            }
        }
        out.push(text);
    }
    out.sort();
    out
}

/// Tarjan's algorithm, iterative; each component sorted.
fn strongly_connected(adj: &[Vec<usize>]) -> Vec<Vec<usize>> {
    let n = adj.len();
    let mut index = vec![usize::MAX; n];
    let mut low = vec![0; n];
    let mut on_stack = vec![false; n];
    let mut stack = Vec::new();
    let mut next = 0;
    let mut out = Vec::new();
    for start in 0..n {
        if index[start] != usize::MAX {
            continue;
        }
        let mut work = vec![(start, 0usize)];
        while let Some(&mut (v, ref mut child)) = work.last_mut() {
            if *child == 0 && index[v] == usize::MAX {
                index[v] = next;
                low[v] = next;
                next += 1;
                stack.push(v);
                on_stack[v] = true;
            }
            if let Some(&w) = adj[v].get(*child) {
                *child += 1;
                if index[w] == usize::MAX {
                    work.push((w, 0));
                } else if on_stack[w] {
                    low[v] = low[v].min(index[w]);
                }
                continue;
            }
            work.pop();
            if let Some(&(parent, _)) = work.last() {
                low[parent] = low[parent].min(low[v]);
            }
            if low[v] == index[v] {
                let mut component = Vec::new();
                while let Some(w) = stack.pop() {
                    on_stack[w] = false;
                    component.push(w);
                    if w == v {
                        break;
                    }
                }
                component.sort();
                out.push(component);
            }
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// The tests
// ---------------------------------------------------------------------------------------------

const RULE: &str =
    "An import from module A to module B is allowed only if layer(B) < layer(A), or A == B.";

#[test]
fn table_covers_every_module() {
    let tree = load_tree();
    let table = load_table();
    let problems = table_problems(&tree, &table);
    assert!(
        problems.is_empty(),
        "\n{} problem(s) between host/src and the layers table of docs/src/architecture.md:\n\n{}\n",
        problems.len(),
        problems.join("\n")
    );
}

#[test]
fn imports_point_down() {
    let tree = load_tree();
    let table = load_table();
    let (upward, via_root, unplaced) = import_problems(&tree, &table);
    if upward.is_empty() && via_root.is_empty() {
        return;
    }
    let mut msg = String::new();
    let _ = writeln!(
        msg,
        "\nThe layering of docs/src/architecture.md does not hold. {RULE}\n"
    );
    if !upward.is_empty() {
        let _ = writeln!(
            msg,
            "{} import(s) at or above the importing module's layer:\n",
            upward.len()
        );
        for line in &upward {
            let _ = writeln!(msg, "{line}");
        }
        let mut pairs: BTreeMap<String, usize> = BTreeMap::new();
        for line in &upward {
            let pair = line
                .split(": module ")
                .nth(1)
                .unwrap_or("")
                .split(" — ")
                .next()
                .unwrap_or("");
            *pairs
                .entry(pair.replace(" imports module ", " → "))
                .or_default() += 1;
        }
        let _ = writeln!(msg, "\nby pair of modules:");
        for (pair, count) in &pairs {
            let _ = writeln!(msg, "    {count:4}  {pair}");
        }
        msg.push('\n');
    }
    if !via_root.is_empty() {
        let _ = writeln!(
            msg,
            "{} import(s) through the crate root (a module imports from the module that defines the item):\n",
            via_root.len()
        );
        for line in &via_root {
            let _ = writeln!(msg, "{line}");
        }
        msg.push('\n');
    }
    if !unplaced.is_empty() {
        let _ = writeln!(
            msg,
            "Not checked, because the table gives them no layer (see table_covers_every_module): {}\n",
            unplaced.into_iter().collect::<Vec<_>>().join(", ")
        );
    }
    let _ = writeln!(
        msg,
        "To fix one: move the item to a lower layer (or to the module that uses it), pass it in from \
         above (a trait or a value), or import it from its defining module. If the table itself is \
         wrong, change docs/src/architecture.md and say why in the commit."
    );
    panic!(
        "{msg}\n{} violation(s) in all: {} upward or sideways, {} through the crate root",
        upward.len() + via_root.len(),
        upward.len(),
        via_root.len()
    );
}

#[test]
fn no_cycles_within_a_module() {
    let tree = load_tree();
    let found = cycles(&tree);
    assert!(
        found.is_empty(),
        "\n{} cycle(s) between files within a top-level module of host/src (an edge is a file naming \
         what another file defines; `file:line → file` shows the first such line):\n\n{}\nBreak each \
         by moving what both sides need into a file that neither imports from.\n",
        found.len(),
        found.join("\n")
    );
}

// ---- the scanner itself -------------------------------------------------------------------------

fn refs_in(
    src: &str,
    krate: Krate,
    module: &[&str],
    modules: &[&[&str]],
) -> Vec<(usize, Vec<String>)> {
    let module: Vec<String> = module.iter().map(|s| s.to_string()).collect();
    let known: BTreeSet<Vec<String>> = modules
        .iter()
        .map(|m| m.iter().map(|s| s.to_string()).collect())
        .collect();
    let is_module = |_: Krate, p: &[String]| known.contains(p);
    references(&strip(src), krate, &module, &is_module)
        .into_iter()
        .map(|r| (r.line, r.path))
        .collect()
}

fn paths(list: &[(usize, &[&str])]) -> Vec<(usize, Vec<String>)> {
    list.iter()
        .map(|(l, p)| (*l, p.iter().map(|s| s.to_string()).collect()))
        .collect()
}

#[test]
fn parser_ignores_comments_and_literals() {
    let src = r####"
// use crate::x::A;
/// Uses `crate::doc::B` in a doc comment.
//! crate::inner::C
/* use crate::block::D; /* nested crate::nested::E */ still crate::comment::F */
fn f<'a>(s: &'a str) -> char {
    let _ = "use crate::string::G";
    let _ = r#"crate::raw::H "quoted" "#;
    let _ = b"crate::bytes::I";
    let _ = "escaped \" crate::escaped::J";
    let _ = '"'; let _ = '\''; let _ = b'x';
    crate::real::K::new(s)
}
"####;
    assert_eq!(
        refs_in(src, Krate::Lib, &["m"], &[]),
        paths(&[(12, &["real", "K", "new"])])
    );
}

#[test]
fn parser_reads_use_groups_and_relative_paths() {
    let src = "
use crate::{agent, model::{Provider, Usage as U}, service::Spud};
use super::plan::{self, Budget};
use child::Thing;
fn f() { super::super::top::g(); self::child::h(); }
mod tests {
    use super::*;
}
";
    let got = refs_in(
        src,
        Krate::Lib,
        &["agent", "run"],
        &[&["agent", "run", "child"]],
    );
    let want = paths(&[
        (2, &["agent"]),
        (2, &["model", "Provider"]),
        (2, &["model", "Usage"]),
        (2, &["service", "Spud"]),
        (3, &["agent", "plan"]),
        (3, &["agent", "plan", "Budget"]),
        (4, &["agent", "run", "child", "Thing"]),
        (5, &["top", "g"]),
        (5, &["agent", "run", "child", "h"]),
        (7, &["agent", "run"]),
    ]);
    assert_eq!(got, want);
}

#[test]
fn parser_reads_the_binary_view_of_the_library() {
    let src = "use spud::runtime::RegistryError;\nuse spud::{Spud, SpudError};\nfn f() { spud_policy::x(); crate::cli::g(); }\n";
    let got: Vec<_> = references(
        &strip(src),
        Krate::Bin,
        &["cli".to_string(), "call".to_string()],
        &|_, _| false,
    )
    .into_iter()
    .map(|r| (r.line, r.krate, r.path.join("::")))
    .collect();
    assert_eq!(
        got,
        vec![
            (1, Krate::Lib, "runtime::RegistryError".to_string()),
            (2, Krate::Lib, "Spud".to_string()),
            (2, Krate::Lib, "SpudError".to_string()),
            (3, Krate::Bin, "cli::g".to_string()),
        ]
    );
}

#[test]
fn parser_marks_reexports() {
    let toks = strip("pub(crate) use crate::a::B;\npub use self::c::D;\nuse crate::e::F;\n");
    let refs = references(&toks, Krate::Lib, &["m".to_string()], &|_, _| true);
    let flags: Vec<_> = refs.iter().map(|r| (r.in_use, r.reexport)).collect();
    assert_eq!(flags, vec![(true, true), (true, true), (true, false)]);
}

#[test]
fn parser_reads_the_layers_table() {
    let md = "
Text with `agent` in it.

| layer | module(s) of host/src | holds |
|---|---|---|
| 9 | `cli` (in the binary: `host/src/cli`, `host/src/main.rs`) | thin commands |
| 4 | `memory`, `orchestrator` | lessons |
| crates | `spud-policy` | pure |

| layer | ignored | second table |
|---|---|---|
| 1 | `later` | |
";
    let table = parse_table(md).unwrap();
    let want: BTreeMap<String, u32> = [("cli", 9), ("memory", 4), ("orchestrator", 4)]
        .iter()
        .map(|(m, l)| (m.to_string(), *l))
        .collect();
    assert_eq!(table, want);
    assert!(parse_table("| 1 | `a` |").is_err());
    assert!(parse_table("| layer | m |\n|--|--|\n| 1 | `a` |\n| 2 | `a` |").is_err());
}

#[test]
fn cycle_finder_finds_cycles() {
    let adj = vec![vec![1], vec![2], vec![0], vec![0], vec![]];
    let mut sccs = strongly_connected(&adj);
    sccs.sort();
    assert_eq!(sccs, vec![vec![0, 1, 2], vec![3], vec![4]]);
}
