//! Reading one message: `fetch`.

use crate::mime::{self, Attachment};
use crate::session::{Arg, ImapError, Session};
use crate::tools::{choose, fail, fetched, flags, has_flag, item, open};
use crate::wire::Value;
use spud_sdk::prelude::*;

/// The most characters of text one fetch answers with.
pub const MAX_CHARS: u32 = 200_000;

fn default_inbox() -> String {
    "INBOX".into()
}

/// Input of `fetch`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FetchInput {
    /// The folder (default `INBOX`).
    #[serde(default = "default_inbox")]
    pub folder: String,
    /// The message's UID (from `search`).
    pub uid: u32,
    /// The most characters of text to answer with (default 20000, at most 200000).
    #[serde(default)]
    pub max_chars: Option<u32>,
    /// Mark the message as read (default false: reading leaves it unseen).
    #[serde(default)]
    pub mark_seen: bool,
}

/// One message, read.
#[derive(Debug, Serialize, JsonSchema)]
pub struct FetchOutput {
    /// Its UID.
    pub uid: u32,
    /// The folder.
    pub folder: String,
    /// Its `Date` header.
    pub date: String,
    /// The sender(s).
    pub from: Vec<String>,
    /// Where replies should go, if not to the sender.
    pub reply_to: Vec<String>,
    /// The recipients.
    pub to: Vec<String>,
    /// The copies.
    pub cc: Vec<String>,
    /// The subject.
    pub subject: String,
    /// Its `Message-ID`.
    pub message_id: String,
    /// The `Message-ID` it answers, if any.
    pub in_reply_to: String,
    /// Its flags, e.g. `["\\Seen", "\\Flagged"]`.
    pub flags: Vec<String>,
    /// Its text (the plain-text part, else the HTML part's text), at most `max_chars`.
    pub text: String,
    /// Whether the text was cut at `max_chars`.
    pub truncated: bool,
    /// The type the text came from: `text/plain`, `text/html`, or empty when it has none.
    pub text_type: String,
    /// The attached files (names, types, sizes; not their content).
    pub attachments: Vec<Attachment>,
    /// Its size in bytes.
    pub size: u64,
}

/// Reads one message by UID: headers, its text (bounded by max_chars), the names of its attachments; leaves it unseen unless mark_seen.
#[tool]
pub fn fetch(input: FetchInput) -> Result<FetchOutput, ToolError> {
    let max_chars = input.max_chars.unwrap_or(20_000).clamp(1, MAX_CHARS) as usize;
    if input.uid == 0 {
        return Err(ToolError::new("uids start at 1; 0 is no message"));
    }
    let (settings, mut s) = open()?;
    let out = read_message(&mut s, &input, max_chars).map_err(|e| fail(&settings, e))?;
    s.logout();
    out.ok_or_else(|| {
        ToolError::new(format!(
            "no message with uid {} in `{}`",
            input.uid, input.folder
        ))
    })
}

fn read_message(
    s: &mut Session,
    input: &FetchInput,
    max_chars: usize,
) -> Result<Option<FetchOutput>, ImapError> {
    choose(s, &input.folder, input.mark_seen)?;
    let uid = input.uid.to_string();
    let done = s.run(
        &[
            Arg::Raw("UID"),
            Arg::Raw("FETCH"),
            Arg::Raw(&uid),
            Arg::Raw("(UID FLAGS ENVELOPE BODYSTRUCTURE RFC822.SIZE)"),
        ],
        "UID FETCH",
    )?;
    let all = fetched(&done)?;
    let Some(pairs) = all
        .into_iter()
        .find(|p| item(p, "UID").and_then(Value::num) == Some(input.uid as u64))
    else {
        return Ok(None);
    };
    let parts = item(&pairs, "BODYSTRUCTURE")
        .map(mime::parts)
        .unwrap_or_default();
    let (text, truncated, text_type) = match mime::text_part(&parts) {
        Some(part) => fetch_text(s, &uid, part, max_chars)?,
        None => (String::new(), false, String::new()),
    };
    if input.mark_seen {
        s.run(
            &[
                Arg::Raw("UID"),
                Arg::Raw("STORE"),
                Arg::Raw(&uid),
                Arg::Raw("+FLAGS.SILENT (\\Seen)"),
            ],
            "UID STORE",
        )?;
    }
    let env = item(&pairs, "ENVELOPE")
        .map(mime::envelope)
        .unwrap_or_default();
    let mut f = flags(&pairs);
    if input.mark_seen && !has_flag(&f, "\\Seen") {
        f.push("\\Seen".into());
    }
    Ok(Some(FetchOutput {
        uid: input.uid,
        folder: input.folder.clone(),
        date: env.date,
        from: env.from,
        reply_to: env.reply_to,
        to: env.to,
        cc: env.cc,
        subject: env.subject,
        message_id: env.message_id,
        in_reply_to: env.in_reply_to,
        flags: f,
        text,
        truncated,
        text_type,
        attachments: parts
            .iter()
            .filter(|p| p.is_attachment())
            .map(mime::Part::to_attachment)
            .collect(),
        size: item(&pairs, "RFC822.SIZE")
            .and_then(Value::num)
            .unwrap_or(0),
    }))
}

/// The first `max_chars` characters of message `uid`'s text `part` (decoded, HTML as text),
/// whether they were cut, and the part's type. Only about as many bytes as needed are fetched.
fn fetch_text(
    s: &mut Session,
    uid: &str,
    part: &mime::Part,
    max_chars: usize,
) -> Result<(String, bool, String), ImapError> {
    // Encoded text is at most about 4 bytes a character (base64 of 3-byte UTF-8).
    let limit = (max_chars as u64 * 4 + 16).min(part.size.max(1));
    let section = format!("(BODY.PEEK[{}]<0.{limit}>)", part.section);
    let body = s.run(
        &[
            Arg::Raw("UID"),
            Arg::Raw("FETCH"),
            Arg::Raw(uid),
            Arg::Raw(&section),
        ],
        "UID FETCH",
    )?;
    let bytes = fetched(&body)?
        .iter()
        .flat_map(|p| {
            p.iter()
                .filter(|(k, _)| k.starts_with("BODY["))
                .filter_map(|(_, v)| match v {
                    Value::Str(b) => Some(b.clone()),
                    _ => None,
                })
        })
        .next()
        .unwrap_or_default();
    let mut decoded = mime::to_text(
        &mime::transfer_decode(&bytes, &part.encoding),
        &part.charset,
    );
    if part.mime == "text/html" {
        decoded = mime::html_text(&decoded);
    }
    let truncated = part.size > limit || decoded.chars().count() > max_chars;
    Ok((
        decoded.chars().take(max_chars).collect(),
        truncated,
        part.mime.clone(),
    ))
}
