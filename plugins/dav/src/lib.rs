//! WebDAV as spud's calendar (CalDAV), contacts (CardDAV) and files (`webdav`) connectors
//! speak it: one [`Client`] per call, rooted at the collection URL the tool was given, whose
//! requests go through the SDK's HTTP — so the host checks each against the network grant and
//! logs in for the component (a `basic` credential); the [`multistatus`] answers of PROPFIND
//! and REPORT; [`files`] and folders (GET, PUT, MKCOL, MOVE, DELETE, a folder's listing); and
//! the [`lines`] of iCalendar and vCard (RFC 5545, RFC 6350).

pub mod client;
pub mod files;
pub mod lines;
pub mod multistatus;

pub use client::{Client, DavError};
pub use files::Resource;
pub use multistatus::Entry;

/// A fresh unique id for a new event or contact: time and randomness, hex.
pub fn new_uid() -> String {
    use std::hash::{BuildHasher, Hasher};
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(nanos);
    format!("{nanos:x}-{:016x}", h.finish())
}

/// Escapes text for an XML element or attribute.
pub fn xml_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn uids_differ_and_xml_is_escaped() {
        assert_ne!(super::new_uid(), super::new_uid());
        assert_eq!(
            super::xml_escape("a<b & \"c\""),
            "a&lt;b &amp; &quot;c&quot;"
        );
    }
}
