//! IMAP4rev1's wire format (RFC 3501, sections 4 and 7): reading one server response — a line,
//! plus every literal `{n}` it announces, read in full — and parsing it into values: atoms,
//! numbers, quoted strings, literals, NIL and parenthesized lists.

use std::io::{self, BufRead, Read};

/// One value of a response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// `NIL`.
    Nil,
    /// A bare word: `FETCH`, `\Seen`, `BODY[1]<0>`.
    Atom(String),
    /// A number.
    Num(u64),
    /// A quoted string or a literal, as bytes.
    Str(Vec<u8>),
    /// `( … )`.
    List(Vec<Value>),
}

impl Value {
    /// The value as text: a string (lossy UTF-8), an atom, a number; `None` for NIL and lists.
    pub fn text(&self) -> Option<String> {
        match self {
            Value::Str(b) => Some(String::from_utf8_lossy(b).into_owned()),
            Value::Atom(a) => Some(a.clone()),
            Value::Num(n) => Some(n.to_string()),
            Value::Nil | Value::List(_) => None,
        }
    }

    /// The items of a list (none for anything else).
    pub fn items(&self) -> &[Value] {
        match self {
            Value::List(v) => v,
            _ => &[],
        }
    }

    /// The number, if this is one.
    pub fn num(&self) -> Option<u64> {
        match self {
            Value::Num(n) => Some(*n),
            _ => None,
        }
    }

    /// Whether this is the atom `word` (any case).
    pub fn is_atom(&self, word: &str) -> bool {
        matches!(self, Value::Atom(a) if a.eq_ignore_ascii_case(word))
    }
}

/// A response that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not an IMAP answer at byte {at}: `{near}`")]
pub struct WireError {
    /// Where parsing stopped.
    pub at: usize,
    /// The text there (at most 80 characters).
    pub near: String,
}

/// Reads one response: its line and each literal it announces, up to `max` bytes in all.
/// Returns the bytes with the final CRLF removed; an empty vector when the server closed.
pub fn read_response<R: BufRead>(r: &mut R, max: usize) -> io::Result<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let start = out.len();
        let n = r
            .by_ref()
            .take((max + 2) as u64)
            .read_until(b'\n', &mut out)?;
        if n == 0 {
            if out.is_empty() {
                return Ok(out);
            }
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the server closed the connection inside an answer",
            ));
        }
        if out.len() > max {
            return Err(too_large(max));
        }
        let line = &out[start..];
        match literal_size(line) {
            Some(size) if out.len() + size <= max => {
                let at = out.len();
                out.resize(at + size, 0);
                r.read_exact(&mut out[at..])?;
            }
            Some(_) => return Err(too_large(max)),
            None => {
                while out.last().is_some_and(|b| *b == b'\n' || *b == b'\r') {
                    out.pop();
                }
                return Ok(out);
            }
        }
    }
}

fn too_large(max: usize) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("an answer of more than {max} bytes, more than this connector reads"),
    )
}

/// The size of the literal a line announces at its end (`{123}` CRLF), if it does.
fn literal_size(line: &[u8]) -> Option<usize> {
    let line = line.strip_suffix(b"\r\n").or(line.strip_suffix(b"\n"))?;
    let body = line.strip_suffix(b"}")?;
    let open = body.iter().rposition(|b| *b == b'{')?;
    let digits = body[open + 1..]
        .strip_suffix(b"+")
        .unwrap_or(&body[open + 1..]);
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(digits).ok()?.parse().ok()
}

/// A parser over one response's bytes.
pub struct Parser<'a> {
    b: &'a [u8],
    i: usize,
}

impl<'a> Parser<'a> {
    /// Starts at the beginning of `bytes`.
    pub fn new(bytes: &'a [u8]) -> Parser<'a> {
        Parser { b: bytes, i: 0 }
    }

    fn error(&self) -> WireError {
        let end = (self.i + 80).min(self.b.len());
        WireError {
            at: self.i,
            near: String::from_utf8_lossy(&self.b[self.i.min(end)..end]).into_owned(),
        }
    }

    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    fn skip_spaces(&mut self) {
        while self.peek() == Some(b' ') {
            self.i += 1;
        }
    }

    /// Whether only spaces are left.
    pub fn at_end(&mut self) -> bool {
        self.skip_spaces();
        self.i >= self.b.len()
    }

    /// The rest of the response as text.
    pub fn rest(&mut self) -> String {
        self.skip_spaces();
        let s = String::from_utf8_lossy(&self.b[self.i..]).into_owned();
        self.i = self.b.len();
        s
    }

    /// The next value.
    pub fn value(&mut self) -> Result<Value, WireError> {
        self.skip_spaces();
        match self.peek() {
            None => Err(self.error()),
            Some(b'(') => {
                self.i += 1;
                let mut items = Vec::new();
                loop {
                    self.skip_spaces();
                    match self.peek() {
                        Some(b')') => {
                            self.i += 1;
                            return Ok(Value::List(items));
                        }
                        None => return Err(self.error()),
                        _ => items.push(self.value()?),
                    }
                }
            }
            Some(b'"') => self.quoted(),
            Some(b'{') => self.literal(),
            Some(b'~') if self.b.get(self.i + 1) == Some(&b'{') => {
                self.i += 1;
                self.literal()
            }
            Some(_) => self.atom(),
        }
    }

    fn quoted(&mut self) -> Result<Value, WireError> {
        self.i += 1;
        let mut out = Vec::new();
        while let Some(c) = self.peek() {
            self.i += 1;
            match c {
                b'"' => return Ok(Value::Str(out)),
                b'\\' => {
                    let Some(next) = self.peek() else { break };
                    out.push(next);
                    self.i += 1;
                }
                _ => out.push(c),
            }
        }
        Err(self.error())
    }

    fn literal(&mut self) -> Result<Value, WireError> {
        let close = self.b[self.i..]
            .iter()
            .position(|b| *b == b'}')
            .ok_or_else(|| self.error())?;
        let head = &self.b[self.i + 1..self.i + close];
        let digits = head.strip_suffix(b"+").unwrap_or(head);
        let size: usize = std::str::from_utf8(digits)
            .ok()
            .and_then(|d| d.parse().ok())
            .ok_or_else(|| self.error())?;
        self.i += close + 1;
        if self.b[self.i..].starts_with(b"\r\n") {
            self.i += 2;
        } else if self.b[self.i..].starts_with(b"\n") {
            self.i += 1;
        } else {
            return Err(self.error());
        }
        let end = self.i.checked_add(size).filter(|e| *e <= self.b.len());
        let end = end.ok_or_else(|| self.error())?;
        let bytes = self.b[self.i..end].to_vec();
        self.i = end;
        Ok(Value::Str(bytes))
    }

    /// An atom; `[…]` inside it (as in `BODY[HEADER.FIELDS (FROM)]`) and a `<…>` after that are
    /// part of it.
    fn atom(&mut self) -> Result<Value, WireError> {
        let start = self.i;
        let mut depth = 0usize;
        while let Some(c) = self.peek() {
            match c {
                b'[' => depth += 1,
                b']' => depth = depth.saturating_sub(1),
                b' ' | b'(' | b')' | b'\r' | b'\n' if depth == 0 => break,
                _ => {}
            }
            self.i += 1;
        }
        if self.i == start {
            return Err(self.error());
        }
        let word = String::from_utf8_lossy(&self.b[start..self.i]).into_owned();
        if word.eq_ignore_ascii_case("NIL") {
            return Ok(Value::Nil);
        }
        if word.bytes().all(|b| b.is_ascii_digit()) {
            if let Ok(n) = word.parse() {
                return Ok(Value::Num(n));
            }
        }
        Ok(Value::Atom(word))
    }
}

/// Parses a whole response into its values.
pub fn values(bytes: &[u8]) -> Result<Vec<Value>, WireError> {
    let mut p = Parser::new(bytes);
    let mut out = Vec::new();
    while !p.at_end() {
        out.push(p.value()?);
    }
    Ok(out)
}

/// A string as the command line carries it: a quoted string when it is short plain ASCII,
/// else `None` (send it as a literal).
pub fn quoted(s: &[u8]) -> Option<String> {
    if s.len() > 1000 || s.iter().any(|b| !(0x20..0x7f).contains(b)) {
        return None;
    }
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for &b in s {
        if b == b'"' || b == b'\\' {
            out.push('\\');
        }
        out.push(b as char);
    }
    out.push('"');
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(t: &str) -> Value {
        Value::Str(t.as_bytes().to_vec())
    }

    #[test]
    fn reads_a_response_with_its_literals() {
        let mut input: &[u8] = b"* 1 FETCH (BODY[] {5}\r\nab\r\nc UID 7)\r\n* OK x\r\n";
        let one = read_response(&mut input, 1000).unwrap();
        assert_eq!(one, b"* 1 FETCH (BODY[] {5}\r\nab\r\nc UID 7)");
        assert_eq!(read_response(&mut input, 1000).unwrap(), b"* OK x");
        assert!(read_response(&mut input, 1000).unwrap().is_empty());
        let mut big: &[u8] = b"* 1 FETCH (BODY[] {500}\r\n";
        assert!(read_response(&mut big, 100).is_err());
    }

    #[test]
    fn parses_lists_strings_literals_and_section_atoms() {
        let v = values(
            b"1 FETCH (UID 7 FLAGS (\\Seen) BODY[HEADER.FIELDS (FROM)]<0> {3}\r\nabc \"q\\\"x\" NIL)",
        )
        .unwrap();
        assert_eq!(v[0], Value::Num(1));
        assert!(v[1].is_atom("fetch"));
        let items = v[2].items();
        assert_eq!(items[1], Value::Num(7));
        assert_eq!(items[3], Value::List(vec![Value::Atom("\\Seen".into())]));
        assert_eq!(
            items[4],
            Value::Atom("BODY[HEADER.FIELDS (FROM)]<0>".into())
        );
        assert_eq!(items[5], s("abc"));
        assert_eq!(items[6], s("q\"x"));
        assert_eq!(items[7], Value::Nil);
        assert!(values(b"(unclosed").is_err());
        assert!(values(b"\"open").is_err());
    }

    #[test]
    fn quotes_plain_ascii_only() {
        assert_eq!(quoted(b"a \"b\"\\").unwrap(), "\"a \\\"b\\\"\\\\\"");
        assert!(quoted("Grüße".as_bytes()).is_none());
        assert!(quoted(b"two\r\nlines").is_none());
    }
}
