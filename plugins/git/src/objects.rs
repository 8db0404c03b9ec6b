//! Git's object formats: ids, and commits, trees and tags parsed from their bytes.

use std::fmt;

/// A SHA-1 object id.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Oid(pub [u8; 20]);

impl Oid {
    /// The id written as 40 hex digits, if `hex` is one.
    pub fn from_hex(hex: &str) -> Option<Oid> {
        if hex.len() != 40 {
            return None;
        }
        let mut out = [0u8; 20];
        for (i, byte) in out.iter_mut().enumerate() {
            *byte = u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok()?;
        }
        Some(Oid(out))
    }
}

impl fmt::Display for Oid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in self.0 {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Oid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// The four kinds of object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A commit.
    Commit,
    /// A tree (a directory listing).
    Tree,
    /// A blob (a file's content).
    Blob,
    /// An annotated tag.
    Tag,
}

impl Kind {
    /// The kind named in a loose object's header.
    pub fn from_name(name: &[u8]) -> Option<Kind> {
        match name {
            b"commit" => Some(Kind::Commit),
            b"tree" => Some(Kind::Tree),
            b"blob" => Some(Kind::Blob),
            b"tag" => Some(Kind::Tag),
            _ => None,
        }
    }
}

/// Who made a commit, and when.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Signature {
    /// The name.
    pub name: String,
    /// The email.
    pub email: String,
    /// Seconds since the epoch.
    pub seconds: i64,
    /// Offset east of UTC, in seconds.
    pub offset: i32,
}

/// A parsed commit.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Commit {
    /// Its tree.
    pub tree: Option<Oid>,
    /// Its parents, in order.
    pub parents: Vec<Oid>,
    /// The author.
    pub author: Signature,
    /// The committer.
    pub committer: Signature,
    /// The message (after the headers).
    pub message: String,
}

/// Parses a commit's bytes; `None` when they are not one.
pub fn commit(data: &[u8]) -> Option<Commit> {
    let text = String::from_utf8_lossy(data);
    let (headers, message) = text.split_once("\n\n").unwrap_or((&text, ""));
    let mut c = Commit {
        message: message.to_string(),
        ..Commit::default()
    };
    for line in headers.lines() {
        let Some((key, value)) = line.split_once(' ') else {
            continue;
        };
        match key {
            "tree" => c.tree = Some(Oid::from_hex(value)?),
            "parent" => c.parents.push(Oid::from_hex(value)?),
            "author" => c.author = signature(value)?,
            "committer" => c.committer = signature(value)?,
            _ => {}
        }
    }
    c.tree?;
    Some(c)
}

/// `Name <email> 1700000000 +0100`.
fn signature(value: &str) -> Option<Signature> {
    let open = value.find('<')?;
    let close = value.rfind('>')?;
    let mut when = value.get(close + 1..)?.split_whitespace();
    let seconds = when.next()?.parse().ok()?;
    let tz = when.next().unwrap_or("+0000");
    let sign = if tz.starts_with('-') { -1 } else { 1 };
    let digits = tz.trim_start_matches(['+', '-']);
    let hours: i32 = digits.get(..2)?.parse().ok()?;
    let minutes: i32 = digits.get(2..4)?.parse().ok()?;
    Some(Signature {
        name: value[..open].trim().to_string(),
        email: value.get(open + 1..close)?.trim().to_string(),
        seconds,
        offset: sign * (hours * 3600 + minutes * 60),
    })
}

/// One entry of a tree.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// Its mode (`100644`, `100755`, `120000` a link, `40000` a tree, `160000` a submodule).
    pub mode: u32,
    /// Its name within the tree.
    pub name: String,
    /// The object.
    pub id: Oid,
}

impl Entry {
    /// Whether it is a subtree.
    pub fn is_tree(&self) -> bool {
        self.mode == 0o40000
    }

    /// Whether it is a file or a symbolic link (not a tree, not a submodule).
    pub fn is_file(&self) -> bool {
        self.mode & 0o170000 == 0o100000 || self.mode == 0o120000
    }
}

/// Parses a tree's bytes; `None` when they are not one.
pub fn tree(mut data: &[u8]) -> Option<Vec<Entry>> {
    let mut out = Vec::new();
    while !data.is_empty() {
        let space = data.iter().position(|b| *b == b' ')?;
        let mode = u32::from_str_radix(std::str::from_utf8(&data[..space]).ok()?, 8).ok()?;
        let nul = space + 1 + data[space + 1..].iter().position(|b| *b == 0)?;
        let name = String::from_utf8_lossy(&data[space + 1..nul]).into_owned();
        let id: [u8; 20] = data.get(nul + 1..nul + 21)?.try_into().ok()?;
        out.push(Entry {
            mode,
            name,
            id: Oid(id),
        });
        data = &data[nul + 21..];
    }
    Some(out)
}

/// The object an annotated tag points to; `None` when the bytes are not a tag.
pub fn tag_target(data: &[u8]) -> Option<Oid> {
    let text = std::str::from_utf8(data.get(..data.len().min(100))?).ok()?;
    Oid::from_hex(text.strip_prefix("object ")?.get(..40)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "1311b233b4876a0ac7a1a8670ad1d41187483068";

    #[test]
    fn ids_read_and_write_hex() {
        assert_eq!(Oid::from_hex(ID).unwrap().to_string(), ID);
        assert!(Oid::from_hex("13").is_none());
        assert!(Oid::from_hex(&"z".repeat(40)).is_none());
    }

    #[test]
    fn a_commit_parses_with_its_offsets() {
        let raw = format!(
            "tree {ID}\nparent {ID}\nauthor Bo Chen <bo@shop.test> 1763670600 -0500\n\
             committer Ana <ana@shop.test> 1763670601 +0130\ngpgsig -----BEGIN\n  x\n\nSell cups\n\nBody.\n"
        );
        let c = commit(raw.as_bytes()).unwrap();
        assert_eq!(c.parents.len(), 1);
        assert_eq!(c.author.name, "Bo Chen");
        assert_eq!(c.author.email, "bo@shop.test");
        assert_eq!(c.author.offset, -5 * 3600);
        assert_eq!(c.committer.offset, 5400);
        assert_eq!(c.message, "Sell cups\n\nBody.\n");
        assert!(commit(b"not a commit").is_none());
    }

    #[test]
    fn a_tree_parses_its_entries() {
        let mut raw = b"100644 a.txt\0".to_vec();
        raw.extend([1u8; 20]);
        raw.extend(b"40000 src\0");
        raw.extend([2u8; 20]);
        let t = tree(&raw).unwrap();
        assert_eq!(t.len(), 2);
        assert!(t[0].is_file() && !t[0].is_tree());
        assert!(t[1].is_tree());
        assert_eq!(t[1].name, "src");
        assert!(tree(&raw[..raw.len() - 1]).is_none());
    }
}
