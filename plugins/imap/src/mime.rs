//! What the server tells about a message, made readable: the envelope's addresses and subject
//! (RFC 2047 encoded words decoded), the body structure's parts (which one is the text, which
//! are attachments), and a part's bytes decoded from its transfer encoding and charset.

use crate::wire::Value;
use base64::Engine as _;
use spud_sdk::prelude::*;

/// The envelope (RFC 3501 section 7.4.2), readable.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Envelope {
    /// The `Date` header as sent.
    pub date: String,
    /// The subject, decoded.
    pub subject: String,
    /// `From` addresses, as `Name <a@b>` or `a@b`.
    pub from: Vec<String>,
    /// `Reply-To` addresses.
    pub reply_to: Vec<String>,
    /// `To` addresses.
    pub to: Vec<String>,
    /// `Cc` addresses.
    pub cc: Vec<String>,
    /// `In-Reply-To`.
    pub in_reply_to: String,
    /// `Message-ID`.
    pub message_id: String,
}

/// Reads an `ENVELOPE` list.
pub fn envelope(v: &Value) -> Envelope {
    let items = v.items();
    let text = |i: usize| items.get(i).map(words).unwrap_or_default();
    let addrs = |i: usize| items.get(i).map(addresses).unwrap_or_default();
    Envelope {
        date: text(0),
        subject: text(1),
        from: addrs(2),
        reply_to: addrs(4),
        to: addrs(5),
        cc: addrs(6),
        in_reply_to: text(8),
        message_id: text(9),
    }
}

/// A string value with its encoded words decoded; empty for NIL.
pub fn words(v: &Value) -> String {
    match v {
        Value::Str(b) => decode_words(&String::from_utf8_lossy(b)),
        other => other.text().unwrap_or_default(),
    }
}

/// An address list: `((name adl mailbox host) …)`.
fn addresses(v: &Value) -> Vec<String> {
    v.items()
        .iter()
        .filter_map(|a| {
            let f = a.items();
            let part = |i: usize| f.get(i).and_then(Value::text).unwrap_or_default();
            let (mailbox, host) = (part(2), part(3));
            if mailbox.is_empty() {
                return None; // a group's start or end
            }
            let email = if host.is_empty() {
                mailbox
            } else {
                format!("{mailbox}@{host}")
            };
            let name = f.first().map(words).unwrap_or_default();
            Some(if name.is_empty() {
                email
            } else {
                format!("{name} <{email}>")
            })
        })
        .collect()
}

/// Decodes RFC 2047 encoded words (`=?UTF-8?B?…?=`, `=?ISO-8859-1?Q?…?=`); the space between
/// two encoded words is dropped.
pub fn decode_words(s: &str) -> String {
    let mut out = String::new();
    let mut rest = s;
    let mut last_was_word = false;
    while let Some(start) = rest.find("=?") {
        let (before, from) = rest.split_at(start);
        match encoded_word(from) {
            Some((decoded, len)) => {
                if !(last_was_word && before.trim().is_empty()) {
                    out.push_str(before);
                }
                out.push_str(&decoded);
                rest = &from[len..];
                last_was_word = true;
            }
            None => {
                out.push_str(before);
                out.push_str("=?");
                rest = &from[2..];
                last_was_word = false;
            }
        }
    }
    out.push_str(rest);
    out
}

/// One encoded word at the start of `s`: its text and its length.
fn encoded_word(s: &str) -> Option<(String, usize)> {
    let inner = s.strip_prefix("=?")?;
    let (charset, inner) = inner.split_once('?')?;
    let (enc, inner) = inner.split_once('?')?;
    let end = inner.find("?=")?;
    let data = &inner[..end];
    let bytes = match enc {
        "B" | "b" => base64::engine::general_purpose::STANDARD
            .decode(data.trim_end_matches('='))
            .or_else(|_| {
                base64::engine::general_purpose::STANDARD_NO_PAD.decode(data.trim_end_matches('='))
            })
            .ok()?,
        "Q" | "q" => {
            let d = data.replace('_', " ");
            quoted_printable::decode(d, quoted_printable::ParseMode::Robust).ok()?
        }
        _ => return None,
    };
    let len = 2 + charset.len() + 1 + enc.len() + 1 + end + 2;
    Some((
        to_text(&bytes, charset.split('*').next().unwrap_or(charset)),
        len,
    ))
}

/// Bytes in a charset as text (UTF-8 and ASCII as such, Latin-1 and Windows-1252 by byte;
/// anything else read as UTF-8, with replacement characters where it is not).
pub fn to_text(bytes: &[u8], charset: &str) -> String {
    let cs = charset.to_ascii_lowercase();
    let single_byte = [
        "iso-8859-1",
        "latin1",
        "iso-8859-15",
        "windows-1252",
        "cp1252",
    ];
    if single_byte.contains(&cs.as_str()) && std::str::from_utf8(bytes).is_err() {
        return bytes.iter().map(|&b| b as char).collect();
    }
    String::from_utf8_lossy(bytes).into_owned()
}

/// Undoes a part's `Content-Transfer-Encoding`.
pub fn transfer_decode(bytes: &[u8], encoding: &str) -> Vec<u8> {
    match encoding.to_ascii_lowercase().as_str() {
        "base64" => {
            let clean: Vec<u8> = bytes
                .iter()
                .copied()
                .filter(|b| !b.is_ascii_whitespace())
                .collect();
            base64::engine::general_purpose::STANDARD
                .decode(&clean)
                .or_else(|_| {
                    // A bounded fetch may cut the text inside a group of four.
                    let whole = clean.len() / 4 * 4;
                    base64::engine::general_purpose::STANDARD.decode(&clean[..whole])
                })
                .unwrap_or_else(|_| bytes.to_vec())
        }
        "quoted-printable" => quoted_printable::decode(bytes, quoted_printable::ParseMode::Robust)
            .unwrap_or_else(|_| bytes.to_vec()),
        _ => bytes.to_vec(),
    }
}

/// One leaf part of a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part {
    /// Its section number for `BODY[…]`: `1`, `2.1`.
    pub section: String,
    /// `type/subtype`, lower-case.
    pub mime: String,
    /// Its charset parameter (lower-case), if any.
    pub charset: String,
    /// Its transfer encoding, lower-case.
    pub encoding: String,
    /// Its size in bytes, encoded.
    pub size: u64,
    /// Its file name, if it has one.
    pub filename: Option<String>,
    /// Whether its disposition is `attachment`.
    pub attachment: bool,
}

/// An attachment, as the tools report it.
#[derive(Debug, Clone, Serialize, JsonSchema, PartialEq, Eq)]
pub struct Attachment {
    /// Its file name (or `part-N` when it has none).
    pub name: String,
    /// Its type, e.g. `application/pdf`.
    pub content_type: String,
    /// Its size in bytes as stored (base64 makes it about a third larger than the file).
    pub size: u64,
}

/// The leaf parts of a `BODYSTRUCTURE`, in order.
pub fn parts(body: &Value) -> Vec<Part> {
    let mut out = Vec::new();
    walk(body, "", &mut out);
    out
}

fn walk(body: &Value, prefix: &str, out: &mut Vec<Part>) {
    let items = body.items();
    let child = |i: usize| {
        if prefix.is_empty() {
            (i + 1).to_string()
        } else {
            format!("{prefix}.{}", i + 1)
        }
    };
    if items.first().is_some_and(|v| matches!(v, Value::List(_))) {
        for (i, sub) in items
            .iter()
            .take_while(|v| matches!(v, Value::List(_)))
            .enumerate()
        {
            walk(sub, &child(i), out);
        }
        return;
    }
    let lower = |i: usize| {
        items
            .get(i)
            .and_then(Value::text)
            .unwrap_or_default()
            .to_ascii_lowercase()
    };
    let mime = format!("{}/{}", lower(0), lower(1));
    let params = items.get(2).map(pairs).unwrap_or_default();
    // Where the disposition sits depends on the type (RFC 3501 section 7.4.2).
    let disposition_at = match mime.as_str() {
        m if m.starts_with("text/") => 9,
        "message/rfc822" => 11,
        _ => 8,
    };
    let disposition = items
        .get(disposition_at)
        .map(|d| d.items())
        .unwrap_or_default();
    let kind = disposition
        .first()
        .and_then(Value::text)
        .unwrap_or_default();
    let dparams = disposition.get(1).map(pairs).unwrap_or_default();
    let filename = param(&dparams, "filename").or_else(|| param(&params, "name"));
    out.push(Part {
        section: if prefix.is_empty() {
            "1".into()
        } else {
            prefix.to_string()
        },
        mime,
        charset: param(&params, "charset")
            .unwrap_or_default()
            .to_ascii_lowercase(),
        encoding: lower(5),
        size: items.get(6).and_then(Value::num).unwrap_or(0),
        filename,
        attachment: kind.eq_ignore_ascii_case("attachment"),
    });
}

/// A parameter list `("name" "value" …)` as pairs (names lower-case, values decoded).
fn pairs(v: &Value) -> Vec<(String, String)> {
    v.items()
        .chunks(2)
        .filter_map(|kv| Some((kv.first()?.text()?.to_ascii_lowercase(), words(kv.get(1)?))))
        .collect()
}

/// A parameter's value; `name*` (RFC 2231: `utf-8''Gr%C3%BC%C3%9Fe.pdf`) is decoded.
fn param(params: &[(String, String)], name: &str) -> Option<String> {
    if let Some((_, v)) = params.iter().find(|(k, _)| k == name) {
        return Some(v.clone());
    }
    let (_, v) = params.iter().find(|(k, _)| *k == format!("{name}*"))?;
    let mut pieces = v.splitn(3, '\'');
    let (charset, _lang, text) = (pieces.next()?, pieces.next()?, pieces.next()?);
    Some(to_text(&percent_decode(text), charset))
}

fn percent_decode(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = b
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok());
        match (b[i], hex.and_then(|h| u8::from_str_radix(h, 16).ok())) {
            (b'%', Some(v)) => {
                out.push(v);
                i += 3;
            }
            (c, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    out
}

impl Part {
    /// Whether this is an attachment rather than the message's own text.
    pub fn is_attachment(&self) -> bool {
        self.attachment
            || self.filename.is_some()
            || !(self.mime.starts_with("text/") || self.mime.starts_with("multipart/"))
    }

    /// As the tools report it.
    pub fn to_attachment(&self) -> Attachment {
        Attachment {
            name: self
                .filename
                .clone()
                .unwrap_or_else(|| format!("part-{}", self.section)),
            content_type: self.mime.clone(),
            size: self.size,
        }
    }
}

/// The part to read as the message's text: the first plain-text part that is no attachment,
/// else the first HTML one.
pub fn text_part(parts: &[Part]) -> Option<&Part> {
    let text = |m: &str| parts.iter().find(|p| p.mime == m && !p.is_attachment());
    text("text/plain").or_else(|| text("text/html"))
}

/// Readable text from HTML: scripts and styles dropped, tags removed, breaks kept, the common
/// entities replaced.
pub fn html_text(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut rest = html;
    while let Some(open) = rest.find('<') {
        out.push_str(&rest[..open]);
        let tag_end = rest[open..].find('>').map_or(rest.len(), |e| open + e + 1);
        let tag = rest[open..tag_end].to_ascii_lowercase();
        let name: String = tag
            .trim_start_matches(['<', '/'])
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect();
        rest = &rest[tag_end..];
        if (name == "script" || name == "style") && !tag.starts_with("</") {
            let close = format!("</{name}");
            let lower = rest.to_ascii_lowercase();
            let end = lower.find(&close).unwrap_or(rest.len());
            rest = &rest[end..];
            continue;
        }
        if ["br", "p", "div", "tr", "li", "h1", "h2", "h3", "table"].contains(&name.as_str()) {
            out.push('\n');
        }
    }
    out.push_str(rest);
    let out = out
        .replace("&nbsp;", " ")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&");
    let lines: Vec<&str> = out.lines().map(str::trim).collect();
    lines.join("\n").trim().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::values;

    #[test]
    fn decodes_encoded_words() {
        assert_eq!(
            decode_words("=?UTF-8?B?R3LDvMOfZQ==?= =?UTF-8?Q?_aus_K=C3=B6ln?="),
            "Grüße aus Köln"
        );
        assert_eq!(
            decode_words("Re: =?ISO-8859-1?Q?M=FCller?= ok"),
            "Re: Müller ok"
        );
        assert_eq!(decode_words("plain =? text"), "plain =? text");
    }

    #[test]
    fn reads_the_envelope() {
        let v = values(
            b"(\"Mon, 2 Nov 2026 09:00:00 +0000\" \"=?UTF-8?Q?Rechnung_Nr._1001?=\" ((\"Ann Lee\" NIL \"ann\" \"acme.example\")) NIL NIL ((NIL NIL \"shop\" \"corner.example\")) NIL NIL NIL \"<1@acme.example>\")",
        )
        .unwrap();
        let e = envelope(&v[0]);
        assert_eq!(e.subject, "Rechnung Nr. 1001");
        assert_eq!(e.from, ["Ann Lee <ann@acme.example>"]);
        assert_eq!(e.to, ["shop@corner.example"]);
        assert_eq!(e.message_id, "<1@acme.example>");
    }

    #[test]
    fn finds_the_text_and_the_attachments() {
        let v = values(
            b"((\"text\" \"plain\" (\"charset\" \"utf-8\") NIL NIL \"quoted-printable\" 120 4 NIL NIL NIL NIL)(\"application\" \"pdf\" (\"name\" \"x.pdf\") NIL NIL \"base64\" 3000 NIL (\"attachment\" (\"filename*\" \"utf-8''Gr%C3%BC%C3%9Fe.pdf\")) NIL NIL) \"mixed\" (\"boundary\" \"b\") NIL NIL NIL)",
        )
        .unwrap();
        let p = parts(&v[0]);
        assert_eq!(p.len(), 2);
        let t = text_part(&p).unwrap();
        assert_eq!((t.section.as_str(), t.charset.as_str()), ("1", "utf-8"));
        assert_eq!(p[1].section, "2");
        assert_eq!(p[1].to_attachment().name, "Grüße.pdf");
        let single =
            values(b"(\"text\" \"html\" NIL NIL NIL \"7bit\" 10 1 NIL NIL NIL NIL)").unwrap();
        assert_eq!(text_part(&parts(&single[0])).unwrap().section, "1");
    }

    #[test]
    fn decodes_bodies_and_html() {
        assert_eq!(
            transfer_decode(b"Gr=C3=BC=C3=9Fe=\r\n!", "quoted-printable"),
            "Grüße!".as_bytes()
        );
        assert_eq!(
            transfer_decode(b"aGVsbG8g\r\nd29ybGQ=", "BASE64"),
            b"hello world"
        );
        assert_eq!(to_text(&[0x4d, 0xfc], "ISO-8859-1"), "Mü");
        assert_eq!(
            html_text("<style>p{}</style><p>Hi &amp; bye</p><br>x"),
            "Hi & bye\n\nx"
        );
    }
}
