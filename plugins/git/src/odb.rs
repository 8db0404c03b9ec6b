//! The object database: loose objects (`objects/xx/…`, zlib) and packs (`objects/pack/*.idx`).

use crate::objects::{Kind, Oid};
use crate::pack::{apply_delta, Pack, Raw};
use std::cell::RefCell;
use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::rc::Rc;

/// How deep a chain of deltas may go.
const MAX_CHAIN: usize = 10_000;

/// Resolved pack entries kept for reuse as delta bases.
const CACHE_ENTRIES: usize = 512;

/// An object: its kind and its bytes (shared, so resolved delta bases are reused).
pub type Object = (Kind, Rc<Vec<u8>>);

/// A repository's objects.
pub struct Odb {
    objects: PathBuf,
    packs: Vec<RefCell<Pack>>,
    /// Resolved entries by (pack, offset).
    cache: RefCell<HashMap<(usize, u64), Object>>,
}

impl Odb {
    /// The database in `objects` (a repository's `objects` directory).
    pub fn open(objects: &Path) -> Result<Odb, String> {
        let mut packs = Vec::new();
        if let Ok(dir) = std::fs::read_dir(objects.join("pack")) {
            let mut idx: Vec<PathBuf> = dir
                .flatten()
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|e| e == "idx"))
                .collect();
            idx.sort();
            for p in idx {
                packs.push(RefCell::new(Pack::open(&p)?));
            }
        }
        Ok(Odb {
            objects: objects.to_path_buf(),
            packs,
            cache: RefCell::default(),
        })
    }

    /// The object `id`: its kind and bytes; `Ok(None)` when there is none.
    pub fn find(&self, id: &Oid) -> Result<Option<Object>, String> {
        for (i, pack) in self.packs.iter().enumerate() {
            let offset = pack.borrow().offset_of(id);
            if let Some(offset) = offset {
                return self.packed(i, offset, 0).map(Some);
            }
        }
        Ok(self.loose(id)?.map(|(kind, data)| (kind, Rc::new(data))))
    }

    /// A loose object, if there is one.
    fn loose(&self, id: &Oid) -> Result<Option<(Kind, Vec<u8>)>, String> {
        let hex = id.to_string();
        let path = self.objects.join(&hex[..2]).join(&hex[2..]);
        let compressed = match std::fs::read(&path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(format!("{}: {e}", path.display())),
        };
        let mut raw = Vec::new();
        flate2::read::ZlibDecoder::new(&compressed[..])
            .read_to_end(&mut raw)
            .map_err(|e| format!("loose object {hex}: corrupt: {e}"))?;
        let nul = raw
            .iter()
            .position(|b| *b == 0)
            .ok_or_else(|| format!("loose object {hex}: no header"))?;
        let kind = raw[..nul]
            .split(|b| *b == b' ')
            .next()
            .and_then(Kind::from_name)
            .ok_or_else(|| format!("loose object {hex}: unknown type"))?;
        raw.drain(..=nul);
        Ok(Some((kind, raw)))
    }

    /// The entry at `offset` of pack `pack`, its deltas applied.
    fn packed(&self, pack: usize, offset: u64, depth: usize) -> Result<Object, String> {
        if let Some(hit) = self.cache.borrow().get(&(pack, offset)) {
            return Ok(hit.clone());
        }
        if depth > MAX_CHAIN {
            return Err("pack: a delta chain is too deep".into());
        }
        let raw = self.packs[pack].borrow_mut().entry(offset)?;
        let (kind, data) = match raw {
            Raw::Whole(kind, data) => (kind, data),
            Raw::OffsetDelta(base, delta) => {
                let (kind, base) = self.packed(pack, base, depth + 1)?;
                (kind, apply_delta(&base, &delta)?)
            }
            Raw::RefDelta(id, delta) => {
                let (kind, base) = self
                    .find(&id)?
                    .ok_or_else(|| format!("pack: the delta base {id} is missing"))?;
                (kind, apply_delta(&base, &delta)?)
            }
        };
        let resolved = (kind, Rc::new(data));
        let mut cache = self.cache.borrow_mut();
        if cache.len() >= CACHE_ENTRIES {
            cache.clear();
        }
        cache.insert((pack, offset), resolved.clone());
        Ok(resolved)
    }

    /// The ids whose hex form starts with `prefix` (4 to 39 hex digits), loose and packed.
    pub fn ids_with_prefix(&self, prefix: &str) -> Vec<Oid> {
        let mut out: Vec<Oid> = Vec::new();
        if let Ok(dir) = std::fs::read_dir(self.objects.join(&prefix[..2])) {
            for e in dir.flatten() {
                let name = e.file_name().to_string_lossy().into_owned();
                if let Some(id) = Oid::from_hex(&format!("{}{name}", &prefix[..2])) {
                    if id.to_string().starts_with(prefix) {
                        out.push(id);
                    }
                }
            }
        }
        for pack in &self.packs {
            out.extend(pack.borrow().ids_with_prefix(prefix));
        }
        out.sort();
        out.dedup();
        out
    }
}
