//! Pack files: the version 2 index (which object is at which offset) and the pack's entries,
//! whole or as deltas against another object. Read with positional reads, never mapped (WASI
//! has no `mmap`).

use crate::objects::{Kind, Oid};
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

/// A pack and its index.
pub struct Pack {
    /// The `.idx` file's bytes.
    idx: Vec<u8>,
    /// Objects in the pack.
    count: usize,
    /// The `.pack` file.
    data: File,
}

/// An entry's raw form: a whole object, or a delta against a base.
pub enum Raw {
    /// A whole object.
    Whole(Kind, Vec<u8>),
    /// A delta against the object at this offset of the same pack.
    OffsetDelta(u64, Vec<u8>),
    /// A delta against the object with this id.
    RefDelta(Oid, Vec<u8>),
}

/// The bytes read at an entry's offset in one go (header and, usually, its compressed body).
const WINDOW: usize = 4096;

/// The most bytes one object may inflate to (guards against a corrupt size).
const MAX_OBJECT: u64 = 512 << 20;

impl Pack {
    /// Opens `path` (`….idx`) and the `.pack` beside it.
    pub fn open(idx_path: &Path) -> Result<Pack, String> {
        let idx = std::fs::read(idx_path).map_err(|e| format!("{}: {e}", idx_path.display()))?;
        if idx.len() < 8 + 256 * 4 || idx[..8] != [0xff, b't', b'O', b'c', 0, 0, 0, 2] {
            return Err(format!(
                "{}: not a version 2 pack index",
                idx_path.display()
            ));
        }
        let count = be32(&idx, 8 + 255 * 4) as usize;
        if idx.len() < 8 + 256 * 4 + count * 28 {
            return Err(format!("{}: truncated pack index", idx_path.display()));
        }
        let pack_path = idx_path.with_extension("pack");
        let data = File::open(&pack_path).map_err(|e| format!("{}: {e}", pack_path.display()))?;
        Ok(Pack { idx, count, data })
    }

    /// The id of the `i`th object in the index.
    fn id_at(&self, i: usize) -> &[u8] {
        let at = 8 + 256 * 4 + i * 20;
        &self.idx[at..at + 20]
    }

    /// The range of index positions whose ids start with `first`.
    fn bucket(&self, first: u8) -> std::ops::Range<usize> {
        let end = be32(&self.idx, 8 + first as usize * 4) as usize;
        let start = match first {
            0 => 0,
            f => be32(&self.idx, 8 + (f as usize - 1) * 4) as usize,
        };
        start..end.min(self.count)
    }

    /// `id`'s position in the index, by binary search within its first byte's bucket.
    fn position(&self, id: &Oid) -> Option<usize> {
        let bucket = self.bucket(id.0[0]);
        let (mut lo, mut hi) = (bucket.start, bucket.end);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            match self.id_at(mid).cmp(&id.0[..]) {
                std::cmp::Ordering::Less => lo = mid + 1,
                std::cmp::Ordering::Greater => hi = mid,
                std::cmp::Ordering::Equal => return Some(mid),
            }
        }
        None
    }

    /// Where `id` is in the pack, if it is.
    pub fn offset_of(&self, id: &Oid) -> Option<u64> {
        let found = self.position(id)?;
        let offsets = 8 + 256 * 4 + self.count * 24;
        let small = be32(&self.idx, offsets + found * 4);
        if small & 0x8000_0000 == 0 {
            return Some(small as u64);
        }
        let large = offsets + self.count * 4 + (small & 0x7fff_ffff) as usize * 8;
        let bytes: [u8; 8] = self.idx.get(large..large + 8)?.try_into().ok()?;
        Some(u64::from_be_bytes(bytes))
    }

    /// The ids in this pack whose hex form starts with `prefix` (at least 2 digits).
    pub fn ids_with_prefix(&self, prefix: &str) -> Vec<Oid> {
        let Ok(first) = u8::from_str_radix(&prefix[..2], 16) else {
            return Vec::new();
        };
        self.bucket(first)
            .map(|i| Oid(self.id_at(i).try_into().unwrap_or([0; 20])))
            .filter(|id| id.to_string().starts_with(prefix))
            .collect()
    }

    /// The entry at `offset`: one read of a small window holds the header and, for most
    /// entries, the whole compressed body; a longer body is read on from there.
    pub fn entry(&mut self, offset: u64) -> Result<Raw, String> {
        self.data
            .seek(SeekFrom::Start(offset))
            .map_err(|e| format!("pack: {e}"))?;
        let mut window = vec![0u8; WINDOW];
        let n = read_up_to(&mut self.data, &mut window)?;
        window.truncate(n);
        let (kind, size, mut at) = entry_header(&window)?;
        if size > MAX_OBJECT {
            return Err(format!("pack: an object of {size} bytes is over the limit"));
        }
        let base = match kind {
            6 => {
                let (distance, used) = offset_distance(&window[at..])?;
                at += used;
                Some(Err(offset
                    .checked_sub(distance)
                    .ok_or("pack: bad delta base")?))
            }
            7 => {
                let id = window.get(at..at + 20).ok_or("pack: bad delta base")?;
                let id = Oid(id.try_into().map_err(|_| "pack: bad delta base")?);
                at += 20;
                Some(Ok(id))
            }
            _ => None,
        };
        let rest = std::io::BufReader::with_capacity(WINDOW, &mut self.data);
        let compressed = (&window[at..]).chain(rest);
        let mut body = Vec::with_capacity(size as usize);
        flate2::bufread::ZlibDecoder::new(compressed)
            .take(size)
            .read_to_end(&mut body)
            .map_err(|e| format!("pack: corrupt compressed data: {e}"))?;
        if body.len() as u64 != size {
            return Err("pack: an entry is shorter than its header says".into());
        }
        Ok(match base {
            Some(Err(base_offset)) => Raw::OffsetDelta(base_offset, body),
            Some(Ok(id)) => Raw::RefDelta(id, body),
            None => Raw::Whole(pack_kind(kind)?, body),
        })
    }
}

/// An entry's type number, inflated size and header length.
fn entry_header(bytes: &[u8]) -> Result<(u8, u64, usize), String> {
    let mut at = 0;
    let mut byte = *bytes.first().ok_or("pack: entry past the end")?;
    let kind = (byte >> 4) & 7;
    let mut size = (byte & 0x0f) as u64;
    let mut shift = 4;
    while byte & 0x80 != 0 {
        at += 1;
        byte = *bytes.get(at).ok_or("pack: bad entry header")?;
        if shift > 57 {
            return Err("pack: bad entry header".into());
        }
        size |= ((byte & 0x7f) as u64) << shift;
        shift += 7;
    }
    Ok((kind, size, at + 1))
}

/// A pack's type number as a kind.
fn pack_kind(n: u8) -> Result<Kind, String> {
    match n {
        1 => Ok(Kind::Commit),
        2 => Ok(Kind::Tree),
        3 => Ok(Kind::Blob),
        4 => Ok(Kind::Tag),
        n => Err(format!("pack: unknown entry type {n}")),
    }
}

/// An offset delta's distance back to its base, and the bytes it took.
fn offset_distance(bytes: &[u8]) -> Result<(u64, usize), String> {
    let mut i = 0;
    let mut byte = *bytes.first().ok_or("pack: bad delta offset")?;
    let mut distance = (byte & 0x7f) as u64;
    while byte & 0x80 != 0 {
        i += 1;
        byte = *bytes.get(i).ok_or("pack: bad delta offset")?;
        distance = ((distance + 1) << 7) | (byte & 0x7f) as u64;
    }
    Ok((distance, i + 1))
}

/// Applies a delta to `base`.
pub fn apply_delta(base: &[u8], delta: &[u8]) -> Result<Vec<u8>, String> {
    let bad = || "pack: corrupt delta".to_string();
    let mut at = 0;
    let varint = |at: &mut usize| -> Result<u64, String> {
        let (mut value, mut shift) = (0u64, 0);
        loop {
            let b = *delta.get(*at).ok_or_else(bad)?;
            *at += 1;
            value |= ((b & 0x7f) as u64) << shift;
            shift += 7;
            if b & 0x80 == 0 || shift > 63 {
                return Ok(value);
            }
        }
    };
    if varint(&mut at)? != base.len() as u64 {
        return Err(bad());
    }
    let size = varint(&mut at)?;
    if size > MAX_OBJECT {
        return Err(bad());
    }
    let mut out = Vec::with_capacity(size as usize);
    while at < delta.len() {
        let op = delta[at];
        at += 1;
        if op & 0x80 != 0 {
            let (mut offset, mut len) = (0usize, 0usize);
            for bit in 0..4 {
                if op & (1 << bit) != 0 {
                    offset |= (*delta.get(at).ok_or_else(bad)? as usize) << (8 * bit);
                    at += 1;
                }
            }
            for bit in 0..3 {
                if op & (0x10 << bit) != 0 {
                    len |= (*delta.get(at).ok_or_else(bad)? as usize) << (8 * bit);
                    at += 1;
                }
            }
            if len == 0 {
                len = 0x10000;
            }
            out.extend_from_slice(base.get(offset..offset + len).ok_or_else(bad)?);
        } else if op != 0 {
            out.extend_from_slice(delta.get(at..at + op as usize).ok_or_else(bad)?);
            at += op as usize;
        } else {
            return Err(bad());
        }
    }
    if out.len() as u64 != size {
        return Err(bad());
    }
    Ok(out)
}

/// A big-endian u32 at `at`.
fn be32(bytes: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]])
}

/// Reads as much of `buf` as the file has.
fn read_up_to(file: &mut File, buf: &mut [u8]) -> Result<usize, String> {
    let mut n = 0;
    while n < buf.len() {
        match file.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) => return Err(format!("pack: {e}")),
        }
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_delta_copies_and_inserts() {
        let base = b"hello world";
        // Sizes 11 and 11; copy 6 bytes from offset 0 (no offset bytes); insert "there".
        let delta = [11, 11, 0x80 | 0x10, 6, 5, b't', b'h', b'e', b'r', b'e'];
        assert_eq!(apply_delta(base, &delta).unwrap(), b"hello there");
        assert!(apply_delta(b"short", &delta).is_err());
        assert!(apply_delta(base, &[11, 11, 0]).is_err());
    }

    #[test]
    fn offset_distances_decode() {
        assert_eq!(offset_distance(&[0x05]).unwrap(), (5, 1));
        // 0x81 0x00 → ((1 + 1) << 7) | 0 = 256.
        assert_eq!(offset_distance(&[0x81, 0x00]).unwrap(), (256, 2));
        assert!(offset_distance(&[0x81]).is_err());
    }
}
