//! What the layout needs of a page's fonts: how to turn shown bytes into text and how wide each
//! shown code is (in thousandths of the font size), so a text run's end is known.

use lopdf::{Dictionary, Document, Encoding, Object};
use std::collections::BTreeMap;

/// Width used when a font says nothing about a code (a typical glyph, half an em).
const DEFAULT_WIDTH: f32 = 500.0;

/// One font of a page: its decoder and its glyph widths.
pub struct Font<'a> {
    encoding: Option<Encoding<'a>>,
    /// Whether codes are two bytes (Type0 / CID fonts).
    two_byte: bool,
    widths: BTreeMap<u32, f32>,
    default_width: f32,
}

impl<'a> Font<'a> {
    /// Reads a font dictionary of `doc`.
    pub fn new(doc: &'a Document, dict: &'a Dictionary) -> Font<'a> {
        let two_byte = dict
            .get(b"Subtype")
            .and_then(Object::as_name)
            .is_ok_and(|s| s == b"Type0");
        let mut font = Font {
            encoding: dict.get_font_encoding(doc).ok(),
            two_byte,
            widths: BTreeMap::new(),
            default_width: DEFAULT_WIDTH,
        };
        if two_byte {
            font.read_cid_widths(doc, dict);
        } else {
            font.read_simple_widths(doc, dict);
        }
        font
    }

    /// `/FirstChar` and `/Widths` of a simple font.
    fn read_simple_widths(&mut self, doc: &Document, dict: &Dictionary) {
        let first = dict.get(b"FirstChar").and_then(Object::as_i64).unwrap_or(0);
        if let Ok(widths) = deref(doc, dict.get(b"Widths")).and_then(Object::as_array) {
            for (i, w) in widths.iter().enumerate() {
                if let Some(w) = number(doc, w) {
                    self.widths.insert((first + i as i64) as u32, w);
                }
            }
        }
    }

    /// `/DW` and `/W` of a Type0 font's descendant: `c [w1 w2 …]` or `first last w`.
    fn read_cid_widths(&mut self, doc: &Document, dict: &Dictionary) {
        let Some(descendant) = deref(doc, dict.get(b"DescendantFonts"))
            .and_then(Object::as_array)
            .ok()
            .and_then(|a| a.first())
            .and_then(|d| deref(doc, Ok(d)).and_then(Object::as_dict).ok())
        else {
            return;
        };
        if let Some(dw) = descendant.get(b"DW").ok().and_then(|o| number(doc, o)) {
            self.default_width = dw;
        }
        let Ok(w) = deref(doc, descendant.get(b"W")).and_then(Object::as_array) else {
            return;
        };
        let mut i = 0;
        while i < w.len() {
            let Some(first) = number(doc, &w[i]) else {
                return;
            };
            match w.get(i + 1).map(|o| deref(doc, Ok(o))) {
                Some(Ok(Object::Array(list))) => {
                    for (k, v) in list.iter().enumerate() {
                        if let Some(v) = number(doc, v) {
                            self.widths.insert(first as u32 + k as u32, v);
                        }
                    }
                    i += 2;
                }
                Some(Ok(last)) => {
                    let (Some(last), Some(v)) =
                        (number(doc, last), w.get(i + 2).and_then(|o| number(doc, o)))
                    else {
                        return;
                    };
                    for c in first as u32..=last as u32 {
                        self.widths.insert(c, v);
                    }
                    i += 3;
                }
                _ => return,
            }
        }
    }

    /// The text of shown bytes (empty when the font cannot be decoded).
    pub fn decode(&self, bytes: &[u8]) -> String {
        self.encoding
            .as_ref()
            .and_then(|e| Document::decode_text(e, bytes).ok())
            .unwrap_or_default()
            .replace('\u{0}', "")
    }

    /// The codes of shown bytes and each one's width in thousandths of the font size.
    pub fn widths(&self, bytes: &[u8]) -> impl Iterator<Item = (u32, f32)> + '_ {
        let step = if self.two_byte { 2 } else { 1 };
        let codes: Vec<u32> = bytes
            .chunks(step)
            .map(|c| c.iter().fold(0u32, |acc, b| (acc << 8) | u32::from(*b)))
            .collect();
        codes.into_iter().map(move |c| {
            let w = self.widths.get(&c).copied().unwrap_or(self.default_width);
            (c, w)
        })
    }
}

/// An object, following one reference.
fn deref<'a>(doc: &'a Document, o: lopdf::Result<&'a Object>) -> lopdf::Result<&'a Object> {
    match o? {
        Object::Reference(id) => doc.get_object(*id),
        other => Ok(other),
    }
}

/// An integer or real, following one reference.
pub fn number(doc: &Document, o: &Object) -> Option<f32> {
    match deref(doc, Ok(o)).ok()? {
        Object::Integer(i) => Some(*i as f32),
        Object::Real(r) => Some(*r),
        _ => None,
    }
}
