//! A draft as a message (RFC 5322): headers, a plain-text body, built with lettre.

use lettre::message::header::ContentType;
use lettre::message::Mailbox;
use lettre::Message;

/// The most recipients one draft may have.
pub const MAX_RECIPIENTS: usize = 100;

/// What goes into a draft.
#[derive(Debug, Default)]
pub struct Draft<'a> {
    /// The sender.
    pub from: &'a str,
    /// Recipients.
    pub to: &'a [String],
    /// Copies.
    pub cc: &'a [String],
    /// The subject line.
    pub subject: &'a str,
    /// The plain-text body.
    pub text: &'a str,
    /// The `Message-ID` of the message this answers, e.g. `<1@acme.example>`.
    pub in_reply_to: Option<&'a str>,
}

/// Parses an address (`a@b.example` or `Name <a@b.example>`), naming the field on error.
pub fn mailbox(field: &str, value: &str) -> Result<Mailbox, String> {
    value
        .trim()
        .parse()
        .map_err(|e| format!("{field}: `{value}` is not an email address: {e}"))
}

/// A new `Message-ID` at the sender's domain.
pub fn message_id(from: &Mailbox) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!("<draft.{nanos:x}@{}>", from.email.domain())
}

/// The formatted draft and its `Message-ID`.
pub fn build(draft: &Draft<'_>) -> Result<(Vec<u8>, String), String> {
    let count = draft.to.len() + draft.cc.len();
    if count > MAX_RECIPIENTS {
        return Err(format!(
            "{count} recipients; one draft may have at most {MAX_RECIPIENTS}"
        ));
    }
    if draft.subject.contains(['\r', '\n']) {
        return Err("the subject may not contain a line break".into());
    }
    let from = mailbox("IMAP_FROM", draft.from)?;
    let id = message_id(&from);
    let mut b = Message::builder()
        .from(from)
        .subject(draft.subject)
        .message_id(Some(id.clone()));
    for a in draft.to {
        b = b.to(mailbox("to", a)?);
    }
    for a in draft.cc {
        b = b.cc(mailbox("cc", a)?);
    }
    if let Some(parent) = draft.in_reply_to {
        let parent = parent.trim();
        if !(parent.starts_with('<') && parent.ends_with('>')) || parent.contains(['\r', '\n']) {
            return Err(format!(
                "in_reply_to: `{parent}` is not a Message-ID like <123@example.com>"
            ));
        }
        b = b
            .in_reply_to(parent.to_string())
            .references(parent.to_string());
    }
    let message = b
        .header(ContentType::TEXT_PLAIN)
        .body(draft.text.to_string())
        .map_err(|e| format!("cannot build the draft: {e}"))?;
    Ok((message.formatted(), id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_a_reply_draft() {
        let to = vec!["Ann Lee <ann@acme.example>".to_string()];
        let (bytes, id) = build(&Draft {
            from: "Shop <shop@corner.example>",
            to: &to,
            subject: "Re: Bestellung",
            text: "Grüße,\nthe shop",
            in_reply_to: Some("<1@acme.example>"),
            ..Draft::default()
        })
        .unwrap();
        let text = String::from_utf8(bytes).unwrap();
        assert!(id.ends_with("@corner.example>"), "{id}");
        assert!(text.contains("In-Reply-To: <1@acme.example>"), "{text}");
        assert!(
            text.contains("To: \"Ann Lee\" <ann@acme.example>")
                || text.contains("To: Ann Lee <ann@acme.example>"),
            "{text}"
        );
        let e = build(&Draft {
            from: "nobody",
            ..Draft::default()
        })
        .unwrap_err();
        assert!(e.contains("IMAP_FROM"), "{e}");
    }
}
