//! The message one `send` builds: headers, a plain-text body, attachments read from `/data`.

use lettre::message::header::ContentType;
use lettre::message::{Attachment, Mailbox, MultiPart, SinglePart};
use lettre::Message;
use std::path::{Component, Path, PathBuf};

/// The most all attachments of one message may hold together (10 MiB).
pub const MAX_ATTACHMENT_BYTES: u64 = 10 << 20;

/// The most recipients one message may have (to, cc and bcc together).
pub const MAX_RECIPIENTS: usize = 100;

/// What goes into one message, as the tool was asked.
#[derive(Debug, Default)]
pub struct Draft<'a> {
    /// The sender (from the operator's `SMTP_FROM`).
    pub from: &'a str,
    /// Recipients.
    pub to: &'a [String],
    /// Copies.
    pub cc: &'a [String],
    /// Blind copies (in the envelope only).
    pub bcc: &'a [String],
    /// Where replies go, if not to the sender.
    pub reply_to: Option<&'a str>,
    /// The subject line.
    pub subject: &'a str,
    /// The plain-text body.
    pub text: &'a str,
}

/// A file to attach: its name in the message, its type, its bytes.
#[derive(Debug)]
pub struct File {
    /// The name the recipient sees.
    pub name: String,
    /// Its MIME type, from the extension.
    pub content_type: &'static str,
    /// Its bytes.
    pub bytes: Vec<u8>,
}

/// Parses an address (`a@b.example` or `Name <a@b.example>`), naming the field on error.
pub fn mailbox(field: &str, value: &str) -> Result<Mailbox, String> {
    value
        .trim()
        .parse()
        .map_err(|e| format!("{field}: `{value}` is not an email address: {e}"))
}

/// Builds the message; `files` are the attachments, already read.
pub fn build(draft: &Draft<'_>, files: Vec<File>, message_id: String) -> Result<Message, String> {
    if draft.to.is_empty() {
        return Err("give at least one recipient in `to`".into());
    }
    let count = draft.to.len() + draft.cc.len() + draft.bcc.len();
    if count > MAX_RECIPIENTS {
        return Err(format!(
            "{count} recipients; one message may have at most {MAX_RECIPIENTS}"
        ));
    }
    if draft.subject.contains(['\r', '\n']) {
        return Err("the subject may not contain a line break".into());
    }
    let mut b = Message::builder()
        .from(mailbox("SMTP_FROM", draft.from)?)
        .subject(draft.subject)
        .message_id(Some(message_id));
    for a in draft.to {
        b = b.to(mailbox("to", a)?);
    }
    for a in draft.cc {
        b = b.cc(mailbox("cc", a)?);
    }
    for a in draft.bcc {
        b = b.bcc(mailbox("bcc", a)?);
    }
    if let Some(r) = draft.reply_to {
        b = b.reply_to(mailbox("reply_to", r)?);
    }
    let text = SinglePart::plain(draft.text.to_string());
    let built = if files.is_empty() {
        b.singlepart(text)
    } else {
        let mut parts = MultiPart::mixed().singlepart(text);
        for f in files {
            let ct = ContentType::parse(f.content_type)
                .map_err(|e| format!("content type {}: {e}", f.content_type))?;
            parts = parts.singlepart(Attachment::new(f.name).body(f.bytes, ct));
        }
        b.multipart(parts)
    };
    built.map_err(|e| format!("cannot build the message: {e}"))
}

/// `path` under `/data`, refusing `..` (a leading `/data/` is accepted too).
pub fn data_path(path: &str) -> Result<PathBuf, String> {
    let rel = path.strip_prefix("/data/").unwrap_or(path);
    let rel = rel.trim_start_matches('/');
    let p = Path::new(rel);
    if rel.is_empty()
        || p.components()
            .any(|c| !matches!(c, Component::Normal(_) | Component::CurDir))
    {
        return Err(format!(
            "attachment `{path}` must be a file under /data, without `..`"
        ));
    }
    Ok(Path::new("/data").join(p))
}

/// What an attachment that cannot be read needs: the grant of `/data`.
const DATA_GRANT: &str = "attachments are read from /data: the policy grants it with files = \
     [{ host = \"…\", guest = \"/data\", access = \"read-only\" }] under [tools.smtp]";

/// Reads the attachments, at most [`MAX_ATTACHMENT_BYTES`] together.
pub fn read_files(paths: &[String]) -> Result<Vec<File>, String> {
    let mut files = Vec::new();
    let mut total = 0u64;
    for path in paths {
        let p = data_path(path)?;
        let meta = std::fs::metadata(&p)
            .map_err(|e| format!("attachment {}: {e} ({DATA_GRANT})", p.display()))?;
        total += meta.len();
        if total > MAX_ATTACHMENT_BYTES {
            return Err(format!(
                "attachments over {MAX_ATTACHMENT_BYTES} bytes together (at {})",
                p.display()
            ));
        }
        let bytes = std::fs::read(&p).map_err(|e| format!("attachment {}: {e}", p.display()))?;
        let name = p
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "attachment".into());
        files.push(File {
            content_type: content_type(&name),
            name,
            bytes,
        });
    }
    Ok(files)
}

/// The MIME type for a file name's extension (`application/octet-stream` when unknown).
pub fn content_type(name: &str) -> &'static str {
    let ext = name
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    match ext.as_str() {
        "txt" | "md" => "text/plain; charset=utf-8",
        "csv" => "text/csv; charset=utf-8",
        "html" | "htm" => "text/html; charset=utf-8",
        "ics" => "text/calendar; charset=utf-8",
        "vcf" => "text/vcard; charset=utf-8",
        "json" => "application/json",
        "pdf" => "application/pdf",
        "xlsx" => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "zip" => "application/zip",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        _ => "application/octet-stream",
    }
}

/// A fresh `<…@domain>` Message-ID, the domain taken from the sender's address.
pub fn message_id(from: &Mailbox) -> String {
    use std::hash::{BuildHasher, Hasher};
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(nanos);
    format!("<{nanos:x}.{:016x}@{}>", h.finish(), from.email.domain())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn draft<'a>(to: &'a [String], subject: &'a str) -> Draft<'a> {
        Draft {
            from: "Shop <shop@example.com>",
            to,
            subject,
            text: "Hello,\n.\nbye",
            ..Draft::default()
        }
    }

    #[test]
    fn builds_a_text_message_with_an_attachment() {
        let to = vec!["Ann <ann@example.org>".to_string()];
        let files = vec![File {
            name: "order.csv".into(),
            content_type: content_type("order.csv"),
            bytes: b"a,b\n1,2\n".to_vec(),
        }];
        let m = build(&draft(&to, "Your order"), files, "<1@example.com>".into()).unwrap();
        let text = String::from_utf8(m.formatted()).unwrap();
        assert!(text.contains("Subject: Your order"), "{text}");
        assert!(text.contains("Message-ID: <1@example.com>"), "{text}");
        assert!(text.contains("multipart/mixed"), "{text}");
        assert!(text.contains("filename=\"order.csv\""), "{text}");
        assert_eq!(m.envelope().to().len(), 1);
    }

    #[test]
    fn bad_input_is_a_clear_error() {
        let none: Vec<String> = vec![];
        assert!(build(&draft(&none, "x"), vec![], "<1@x>".into())
            .unwrap_err()
            .contains("at least one"));
        let bad = vec!["not an address".to_string()];
        assert!(build(&draft(&bad, "x"), vec![], "<1@x>".into())
            .unwrap_err()
            .starts_with("to: `not an address`"));
        let to = vec!["a@b.example".to_string()];
        assert!(
            build(&draft(&to, "x\r\nBcc: evil@x"), vec![], "<1@x>".into())
                .unwrap_err()
                .contains("line break")
        );
    }

    #[test]
    fn attachments_stay_under_data() {
        assert_eq!(
            data_path("/data/receipts/r1.pdf").unwrap(),
            Path::new("/data/receipts/r1.pdf")
        );
        assert_eq!(data_path("r1.pdf").unwrap(), Path::new("/data/r1.pdf"));
        assert!(data_path("../etc/passwd").is_err());
        assert!(data_path("/data/a/../../x").is_err());
        assert_eq!(content_type("A.PDF"), "application/pdf");
        assert_eq!(content_type("blob"), "application/octet-stream");
    }
}
