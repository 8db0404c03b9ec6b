//! The one scanner for registered secret values, pure: every value is searched for as written
//! and in the encodings a guest could use to smuggle it out, all at once with one Aho-Corasick
//! automaton built once per set of values.
//!
//! | form | needle |
//! | --- | --- |
//! | literal, reversed | the value, and its characters in reverse order |
//! | base64, standard and URL-safe | for each of the three alignments the value can have in a longer stream (it starts at byte 0, 1 or 2 of a 3-byte group), the characters that depend on the value's bytes alone: found with or without padding, whatever comes before or after |
//! | hex | lower or upper case |
//! | JSON-escaped | as `serde_json` writes it, with non-ASCII as `\uXXXX` (`ensure_ascii`), with `/` as `\/` (and both), and every character as `\uXXXX` (lower- or upper-case hex) |
//! | percent-encoded | any mix of `%XX` (any case) and plain bytes: a text with a `%` is also searched once decoded |
//!
//! Not caught: a value split into pieces (across headers, fields or requests), any other
//! transformation (compression, encryption, other encodings, hex in mixed case, case changes
//! of the value itself, base64 with line breaks inside the value), and an encoding of an encoding (the
//! percent-decoded view is searched for every form, but nothing is decoded twice).

use aho_corasick::{AhoCorasick, AhoCorasickBuilder};
use base64::engine::general_purpose::{STANDARD_NO_PAD, URL_SAFE_NO_PAD};
use base64::Engine;
use std::ops::Range;

/// A form a value was found in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Encoding {
    /// As written.
    Literal,
    /// Its characters in reverse order.
    Reversed,
    /// Base64, standard or URL-safe alphabet, any alignment, padded or not.
    Base64,
    /// Hexadecimal, lower or upper case.
    Hex,
    /// JSON-escaped.
    Json,
    /// Percent-encoded (found in the percent-decoded text).
    Percent,
}

impl Encoding {
    /// The form in words, for messages.
    pub fn as_str(self) -> &'static str {
        match self {
            Encoding::Literal => "as written",
            Encoding::Reversed => "reversed",
            Encoding::Base64 => "base64-encoded",
            Encoding::Hex => "hex-encoded",
            Encoding::Json => "JSON-escaped",
            Encoding::Percent => "percent-encoded",
        }
    }
}

/// One value found: which one (its index in the values given to [`Scanner::new`]), in what
/// form, and where in the text (byte offsets, on character boundaries).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hit {
    /// Index of the value.
    pub value: usize,
    /// The form it was found in.
    pub encoding: Encoding,
    /// Where, in the text searched.
    pub span: Range<usize>,
}

/// One automaton and, per pattern, the value and form it stands for.
#[derive(Debug, Clone)]
struct Needles {
    automaton: AhoCorasick,
    owners: Vec<(usize, Encoding)>,
}

impl Needles {
    fn build(needles: Vec<(String, usize, Encoding)>) -> Option<Needles> {
        if needles.is_empty() {
            return None;
        }
        // No prefilter: with needles starting with many different bytes it thrashes on
        // ordinary text (measured 2-5x slower); the automaton alone runs at a steady speed.
        let automaton = AhoCorasickBuilder::new()
            .prefilter(false)
            .build(needles.iter().map(|(n, _, _)| n.as_bytes()))
            .ok()?;
        let owners = needles.into_iter().map(|(_, v, e)| (v, e)).collect();
        Some(Needles { automaton, owners })
    }

    fn hits(&self, text: &[u8], out: &mut Vec<Hit>) {
        for m in self.automaton.find_overlapping_iter(text) {
            let (value, encoding) = self.owners[m.pattern().as_usize()];
            out.push(Hit {
                value,
                encoding,
                span: m.range(),
            });
        }
    }
}

/// Registered secret values and their encoded forms, compiled once.
#[derive(Debug, Clone, Default)]
pub struct Scanner {
    needles: Option<Needles>,
    values: usize,
    longest: usize,
}

impl Scanner {
    /// The scanner for `values` (each searched for in every form in the module's table).
    pub fn new<S: AsRef<str>>(values: &[S]) -> Scanner {
        let mut needles = Vec::new();
        for (i, v) in values.iter().enumerate() {
            for (needle, encoding) in forms(v.as_ref()) {
                needles.push((needle, i, encoding));
            }
        }
        // One needle per text and value, named by its plainest form (the order of `Encoding`).
        needles.sort();
        needles.dedup_by(|b, a| a.0 == b.0 && a.1 == b.1);
        let longest = needles.iter().map(|(n, _, _)| n.len()).max().unwrap_or(0);
        Scanner {
            needles: Needles::build(needles),
            values: values.len(),
            longest,
        }
    }

    /// Bytes of the longest form of any value (0 with none): a text that arrives in pieces
    /// can be searched safely up to this many bytes before its end.
    pub fn longest(&self) -> usize {
        self.longest
    }

    /// Whether no value is registered.
    pub fn is_empty(&self) -> bool {
        self.values == 0
    }

    /// Every occurrence of every value in every form, overlapping ones included.
    pub fn hits(&self, text: &str) -> Vec<Hit> {
        let mut out = Vec::new();
        if self.is_empty() {
            return out;
        }
        self.hits_in(text.as_bytes(), &mut out);
        if text.contains('%') {
            let mut inner = Vec::new();
            self.hits_in(&percent_decoded(text.as_bytes()), &mut inner);
            let mut at: Vec<usize> = inner
                .iter()
                .flat_map(|h| [h.span.start, h.span.end])
                .collect();
            at.sort_unstable();
            at.dedup();
            let back = original_offsets(text.as_bytes(), &at);
            let orig = |d: usize| at.binary_search(&d).map_or(text.len(), |i| back[i]);
            out.extend(inner.into_iter().map(|h| Hit {
                value: h.value,
                encoding: Encoding::Percent,
                span: widen(text, orig(h.span.start)..orig(h.span.end)),
            }));
        }
        out
    }

    fn hits_in(&self, text: &[u8], out: &mut Vec<Hit>) {
        if let Some(n) = &self.needles {
            n.hits(text, out);
        }
    }

    /// Whether `text` carries any value in any form.
    pub fn contains(&self, text: &str) -> bool {
        if self.is_empty() {
            return false;
        }
        let any = |t: &[u8]| {
            self.needles
                .as_ref()
                .is_some_and(|n| n.automaton.is_match(t))
        };
        any(text.as_bytes()) || (text.contains('%') && any(&percent_decoded(text.as_bytes())))
    }

    /// The indices of the values `text` carries, in any form, each once, in order.
    pub fn found(&self, text: &str) -> Vec<usize> {
        let mut v: Vec<usize> = self.hits(text).into_iter().map(|h| h.value).collect();
        v.sort_unstable();
        v.dedup();
        v
    }

    /// `text` with every stretch that carries a value, in any form, replaced by `with`
    /// (overlapping stretches become one).
    pub fn redact(&self, text: &str, with: &str) -> String {
        let mut spans: Vec<Range<usize>> = self.hits(text).into_iter().map(|h| h.span).collect();
        if spans.is_empty() {
            return text.to_string();
        }
        spans.sort_by_key(|s| (s.start, s.end));
        let mut merged: Vec<Range<usize>> = Vec::with_capacity(spans.len());
        for s in spans {
            match merged.last_mut() {
                Some(last) if s.start <= last.end => last.end = last.end.max(s.end),
                _ => merged.push(s),
            }
        }
        let mut out = String::with_capacity(text.len());
        let mut at = 0;
        for m in merged {
            out.push_str(&text[at..m.start]);
            out.push_str(with);
            at = m.end;
        }
        out.push_str(&text[at..]);
        out
    }
}

/// The forms a value is searched for in.
fn forms(v: &str) -> Vec<(String, Encoding)> {
    let mut out = vec![
        (v.to_string(), Encoding::Literal),
        (v.chars().rev().collect(), Encoding::Reversed),
    ];
    for core in base64_cores(v.as_bytes()) {
        out.push((core, Encoding::Base64));
    }
    let json = serde_json::to_string(v).unwrap_or_default();
    let json = json
        .strip_prefix('"')
        .and_then(|j| j.strip_suffix('"'))
        .unwrap_or_default()
        .to_string();
    let ascii = ensure_ascii(&json);
    // Slashes escaped too, as PHP's `json_encode` does by default.
    out.push((ascii.replace('/', "\\/"), Encoding::Json));
    out.push((json.replace('/', "\\/"), Encoding::Json));
    out.push((ascii, Encoding::Json));
    out.push((json, Encoding::Json));
    let escaped: String = v.encode_utf16().map(|u| format!("\\u{u:04x}")).collect();
    out.push((
        escaped.to_ascii_uppercase().replace("\\U", "\\u"),
        Encoding::Json,
    ));
    out.push((escaped, Encoding::Json));
    out.push((hex::encode_upper(v.as_bytes()), Encoding::Hex));
    out.push((hex::encode(v.as_bytes()), Encoding::Hex));
    out.retain(|(n, _)| !n.is_empty());
    out
}

/// JSON text with every non-ASCII character as `\uXXXX` (UTF-16, surrogate pairs for the rest).
fn ensure_ascii(json: &str) -> String {
    let mut out = String::with_capacity(json.len());
    for c in json.chars() {
        if c.is_ascii() {
            out.push(c);
        } else {
            let mut units = [0u16; 2];
            for u in c.encode_utf16(&mut units) {
                out.push_str(&format!("\\u{u:04x}"));
            }
        }
    }
    out
}

/// For a value starting at byte 0, 1 or 2 of a 3-byte group of a longer stream, the base64
/// characters (both alphabets) that depend on the value's bytes alone.
fn base64_cores(v: &[u8]) -> Vec<String> {
    let mut out = Vec::new();
    for k in 0..3usize {
        let mut stream = vec![0u8; k];
        stream.extend_from_slice(v);
        let first = (8 * k).div_ceil(6);
        let end = 8 * (k + v.len()) / 6;
        if end <= first {
            continue;
        }
        for engine in [STANDARD_NO_PAD, URL_SAFE_NO_PAD] {
            let encoded = engine.encode(&stream);
            if let Some(core) = encoded.get(first..end) {
                out.push(core.to_string());
            }
        }
    }
    out
}

/// The byte a `%XX` escape at `i` stands for, if there is one.
fn escape_at(text: &[u8], i: usize) -> Option<u8> {
    let hex = |b: u8| (b as char).to_digit(16);
    match text.get(i..i + 3) {
        Some([b'%', h, l]) => Some((hex(*h)? * 16 + hex(*l)?) as u8),
        _ => None,
    }
}

/// `text` with every `%XX` decoded.
fn percent_decoded(text: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len());
    let mut i = 0;
    while i < text.len() {
        match escape_at(text, i) {
            Some(b) => {
                out.push(b);
                i += 3;
            }
            None => {
                out.push(text[i]);
                i += 1;
            }
        }
    }
    out
}

/// For each offset into [`percent_decoded`]`(text)` in `wanted` (sorted), where that byte
/// starts in `text` (`text.len()` for the end).
fn original_offsets(text: &[u8], wanted: &[usize]) -> Vec<usize> {
    let mut out = Vec::with_capacity(wanted.len());
    let (mut i, mut d) = (0, 0);
    for &w in wanted {
        while d < w && i < text.len() {
            i += if escape_at(text, i).is_some() { 3 } else { 1 };
            d += 1;
        }
        out.push(i.min(text.len()));
    }
    out
}

/// `span` widened to character boundaries of `text`.
fn widen(text: &str, span: Range<usize>) -> Range<usize> {
    let (mut s, mut e) = (span.start.min(text.len()), span.end.min(text.len()));
    while !text.is_char_boundary(s) {
        s -= 1;
    }
    while !text.is_char_boundary(e) {
        e += 1;
    }
    s..e
}

#[cfg(test)]
mod tests;
