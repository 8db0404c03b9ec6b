//! Content lines, the syntax iCalendar (RFC 5545) and vCard (RFC 6350) share:
//! `NAME;PARAM=VALUE:VALUE`, folded at 75 octets, text values escaped with `\`.

/// One unfolded content line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    /// The property name, upper-case (`DTSTART`, `EMAIL`); a vCard group prefix is dropped.
    pub name: String,
    /// Parameters: upper-case name and value, quotes removed (`TZID`, `Europe/Berlin`).
    pub params: Vec<(String, String)>,
    /// The value as written (text values still escaped: see [`Line::text`]).
    pub value: String,
}

impl Line {
    /// The value of parameter `name` (upper-case), if any.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The value as text, unescaped.
    pub fn text(&self) -> String {
        unescape(&self.value)
    }
}

/// Joins folded lines (a line starting with a space or tab continues the one before).
pub fn unfold(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for raw in text.split('\n') {
        let raw = raw.strip_suffix('\r').unwrap_or(raw);
        if let (Some(rest), Some(last)) = (raw.strip_prefix([' ', '\t']), out.last_mut()) {
            last.push_str(rest);
        } else if !raw.is_empty() {
            out.push(raw.to_string());
        }
    }
    out
}

/// Parses one unfolded line; `None` when it has no `:`.
pub fn parse_line(line: &str) -> Option<Line> {
    let mut in_quotes = false;
    let mut colon = None;
    for (i, c) in line.char_indices() {
        match c {
            '"' => in_quotes = !in_quotes,
            ':' if !in_quotes => {
                colon = Some(i);
                break;
            }
            _ => {}
        }
    }
    let colon = colon?;
    let (head, value) = (&line[..colon], &line[colon + 1..]);
    let mut parts = split_unquoted(head, ';').into_iter();
    let name = parts.next()?;
    let name = name
        .rsplit('.')
        .next()
        .unwrap_or(&name)
        .to_ascii_uppercase();
    let params = parts
        .map(|p| match p.split_once('=') {
            Some((n, v)) => (n.to_ascii_uppercase(), v.trim_matches('"').to_string()),
            None => (p.to_ascii_uppercase(), String::new()),
        })
        .collect();
    Some(Line {
        name,
        params,
        value: value.to_string(),
    })
}

/// Splits `s` at `sep` outside double quotes.
fn split_unquoted(s: &str, sep: char) -> Vec<String> {
    let mut out = vec![String::new()];
    let mut in_quotes = false;
    for c in s.chars() {
        if c == '"' {
            in_quotes = !in_quotes;
        }
        if c == sep && !in_quotes {
            out.push(String::new());
        } else if let Some(last) = out.last_mut() {
            last.push(c);
        }
    }
    out
}

/// Every line of `text`, unfolded and parsed (lines without `:` skipped).
pub fn parse(text: &str) -> Vec<Line> {
    unfold(text).iter().filter_map(|l| parse_line(l)).collect()
}

/// The lines directly inside each `BEGIN:KIND` … `END:KIND` block (nested blocks such as a
/// `VALARM` inside a `VEVENT` left out).
pub fn components(lines: &[Line], kind: &str) -> Vec<Vec<Line>> {
    let mut out = Vec::new();
    let mut current: Option<Vec<Line>> = None;
    let mut nested = 0usize;
    for l in lines {
        let v = l.value.trim().to_ascii_uppercase();
        match (l.name.as_str(), current.as_mut()) {
            ("BEGIN", None) if v == kind => current = Some(Vec::new()),
            ("BEGIN", Some(_)) => nested += 1,
            ("END", Some(_)) if nested > 0 => nested -= 1,
            ("END", Some(_)) if v == kind => out.extend(current.take()),
            (_, Some(c)) if nested == 0 => c.push(l.clone()),
            _ => {}
        }
    }
    out
}

/// Escapes a text value: `\`, `;`, `,` and line breaks.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let text = text.replace("\r\n", "\n");
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            ';' => out.push_str("\\;"),
            ',' => out.push_str("\\,"),
            '\n' | '\r' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

/// Undoes [`escape`].
pub fn unescape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let mut chars = value.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n' | 'N') => out.push('\n'),
            Some(other) => out.push(other),
            None => out.push('\\'),
        }
    }
    out
}

/// Writes content lines: each folded at 75 octets (never inside a character), ended by CRLF.
#[derive(Debug, Default)]
pub struct Writer {
    out: String,
}

impl Writer {
    /// An empty document.
    pub fn new() -> Writer {
        Writer::default()
    }

    /// Adds `NAME:VALUE`, the value written as given (escape text values first).
    pub fn line(&mut self, name: &str, value: &str) -> &mut Writer {
        let full = format!("{name}:{value}");
        let mut width = 0;
        for c in full.chars() {
            if width + c.len_utf8() > 75 {
                self.out.push_str("\r\n ");
                width = 1;
            }
            self.out.push(c);
            width += c.len_utf8();
        }
        self.out.push_str("\r\n");
        self
    }

    /// Adds `NAME:TEXT`, the text escaped.
    pub fn text(&mut self, name: &str, text: &str) -> &mut Writer {
        self.line(name, &escape(text))
    }

    /// The document.
    pub fn finish(&mut self) -> String {
        std::mem::take(&mut self.out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_folded_lines_with_params() {
        let text = "BEGIN:VEVENT\r\nSUMMARY:Fit\r\n ting\\, M8\r\nDTSTART;TZID=\"Europe/Berlin\":20261207T100000\r\n\
                    item1.EMAIL;TYPE=work:ann@x.example\r\nBEGIN:VALARM\r\nACTION:DISPLAY\r\nEND:VALARM\r\nEND:VEVENT\r\n";
        let lines = parse(text);
        let events = components(&lines, "VEVENT");
        assert_eq!(events.len(), 1);
        let ev = &events[0];
        assert_eq!(ev[0].name, "SUMMARY");
        assert_eq!(ev[0].text(), "Fitting, M8");
        assert_eq!(ev[1].param("TZID"), Some("Europe/Berlin"));
        assert_eq!(ev[2].name, "EMAIL");
        assert!(
            ev.iter().all(|l| l.name != "ACTION"),
            "nested VALARM left out"
        );
    }

    #[test]
    fn writes_escaped_folded_lines() {
        let long = "é".repeat(50);
        let doc = Writer::new()
            .text("SUMMARY", "a;b,c\nd")
            .text("DESCRIPTION", &long)
            .finish();
        assert!(doc.starts_with("SUMMARY:a\\;b\\,c\\nd\r\n"), "{doc}");
        assert!(doc.lines().all(|l| l.len() <= 75), "{doc}");
        let back = parse(&doc);
        assert_eq!(back[0].text(), "a;b,c\nd");
        assert_eq!(back[1].text(), long);
    }
}
