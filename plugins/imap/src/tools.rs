//! The tools that look — `folders`, `search` (and `fetch` in [`crate::message`]) — and what every tool shares: opening the
//! session, choosing a folder, reading `FETCH` answers, explaining a failure.

use crate::mime;
use crate::names::{decode_folder, encode_folder, search_date};
use crate::session::{Arg, ImapError, Session};
use crate::settings::{Settings, GRANT};
use crate::wire::Value;
use spud_sdk::prelude::*;

/// The most messages one search answers with.
pub const MAX_RESULTS: u32 = 200;

/// Opens a logged-in session with the granted settings.
pub fn open() -> Result<(Settings, Session), ToolError> {
    let settings = Settings::from_env().map_err(ToolError::new)?;
    let session = Session::open(settings.server, &settings.username, &settings.password)
        .map_err(|e| fail(&settings, e))?;
    Ok((settings, session))
}

/// A failure, for the caller: what the server said, or what grant is missing. Never the
/// password: no command that carries it is shown.
pub fn fail(settings: &Settings, e: ImapError) -> ToolError {
    let server = settings.server;
    ToolError::new(match &e {
        ImapError::Connect(_) => format!(
            "cannot reach the IMAP server {server}: {e} (the policy must grant it with {GRANT})"
        ),
        ImapError::Login { .. } => format!(
            "login refused by {server}: {e} (check IMAP_USERNAME and the IMAP_PASSWORD the policy grants)"
        ),
        _ => format!("IMAP server {server}: {e}"),
    })
}

/// Opens `folder` for reading (`EXAMINE`) or writing (`SELECT`); a missing folder is an error
/// that says so.
pub fn choose(s: &mut Session, folder: &str, write: bool) -> Result<(), ImapError> {
    let verb = if write { "SELECT" } else { "EXAMINE" };
    let name = encode_folder(folder);
    match s.run(
        &[Arg::Raw(verb), Arg::Str(name.as_bytes())],
        &format!("{verb} {folder}"),
    ) {
        Err(ImapError::Refused { status, text, .. }) if status == "NO" => Err(ImapError::Refused {
            command: format!("{verb} {folder}"),
            status,
            text: format!("{text} (no folder `{folder}`? imap.folders lists them)"),
        }),
        other => other.map(|_| ()),
    }
}

/// The items of each `FETCH` answer, as (upper-case name, value) pairs.
pub fn fetched(done: &crate::session::Done) -> Result<Vec<Vec<(String, Value)>>, ImapError> {
    let mut out = Vec::new();
    for answer in done.answers("FETCH")? {
        let Some(list) = answer.get(2) else { continue };
        let pairs = list
            .items()
            .chunks(2)
            .filter_map(|kv| Some((kv.first()?.text()?.to_ascii_uppercase(), kv.get(1)?.clone())))
            .collect();
        out.push(pairs);
    }
    Ok(out)
}

/// One item of a `FETCH` answer.
pub fn item<'a>(pairs: &'a [(String, Value)], name: &str) -> Option<&'a Value> {
    pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v)
}

/// The flags of a `FETCH` answer, e.g. `["\\Seen"]` (without `\\Recent`, which only says
/// that this session is the first to see the message).
pub fn flags(pairs: &[(String, Value)]) -> Vec<String> {
    item(pairs, "FLAGS")
        .map(|f| {
            f.items()
                .iter()
                .filter_map(Value::text)
                .filter(|f| !f.eq_ignore_ascii_case("\\Recent"))
                .collect()
        })
        .unwrap_or_default()
}

/// Whether `flags` holds `flag` (any case).
pub fn has_flag(flags: &[String], flag: &str) -> bool {
    flags.iter().any(|f| f.eq_ignore_ascii_case(flag))
}

fn default_inbox() -> String {
    "INBOX".into()
}

/// Input of `folders`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FoldersInput {
    /// Also count each folder's messages and unseen messages (default true).
    #[serde(default)]
    pub counts: Option<bool>,
}

/// One folder.
#[derive(Debug, Serialize, JsonSchema)]
pub struct Folder {
    /// Its name, e.g. `INBOX`, `Archive.2026` (the server's separator between levels).
    pub name: String,
    /// What it is for, if the server says: `drafts`, `sent`, `trash`, `junk`, `archive`.
    pub special_use: Option<String>,
    /// How many messages it holds (with `counts`).
    pub messages: Option<u32>,
    /// How many of them are unseen (with `counts`).
    pub unseen: Option<u32>,
}

/// The folders.
#[derive(Debug, Serialize, JsonSchema)]
pub struct FoldersOutput {
    /// Every folder of the mailbox.
    pub folders: Vec<Folder>,
}

/// Lists the mailbox's folders with what each is for (drafts, sent, trash …) and, by default, how many messages and unseen messages each holds.
#[tool]
pub fn folders(input: FoldersInput) -> Result<FoldersOutput, ToolError> {
    let (settings, mut s) = open()?;
    let out = list_folders(&mut s, input.counts.unwrap_or(true)).map_err(|e| fail(&settings, e))?;
    s.logout();
    Ok(FoldersOutput { folders: out })
}

fn list_folders(s: &mut Session, counts: bool) -> Result<Vec<Folder>, ImapError> {
    let done = s.run(
        &[Arg::Raw("LIST"), Arg::Raw("\"\""), Arg::Raw("\"*\"")],
        "LIST",
    )?;
    let mut out = Vec::new();
    for answer in done.answers("LIST")? {
        let attrs: Vec<String> = answer
            .get(1)
            .map(|a| a.items().iter().filter_map(Value::text).collect())
            .unwrap_or_default();
        let Some(raw) = answer.get(3).and_then(Value::text) else {
            continue;
        };
        let special = ["drafts", "sent", "trash", "junk", "archive"]
            .into_iter()
            .find(|u| {
                attrs
                    .iter()
                    .any(|a| a.eq_ignore_ascii_case(&format!("\\{u}")))
            });
        let selectable = !attrs.iter().any(|a| {
            a.eq_ignore_ascii_case("\\Noselect") || a.eq_ignore_ascii_case("\\NonExistent")
        });
        let (mut messages, mut unseen) = (None, None);
        if counts && selectable {
            let st = s.run(
                &[
                    Arg::Raw("STATUS"),
                    Arg::Str(raw.as_bytes()),
                    Arg::Raw("(MESSAGES UNSEEN)"),
                ],
                "STATUS",
            )?;
            for a in st.answers("STATUS")? {
                let kv = a.get(2).map(Value::items).unwrap_or_default();
                for pair in kv.chunks(2) {
                    let n = pair.get(1).and_then(Value::num).map(|n| n as u32);
                    match pair[0]
                        .text()
                        .unwrap_or_default()
                        .to_ascii_uppercase()
                        .as_str()
                    {
                        "MESSAGES" => messages = n,
                        "UNSEEN" => unseen = n,
                        _ => {}
                    }
                }
            }
        }
        out.push(Folder {
            name: decode_folder(&raw),
            special_use: special.map(str::to_string),
            messages,
            unseen,
        });
    }
    out.sort_by(|a, b| (a.name != "INBOX", &a.name).cmp(&(b.name != "INBOX", &b.name)));
    Ok(out)
}

/// Input of `search`: every criterion given must hold.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SearchInput {
    /// The folder (default `INBOX`).
    #[serde(default = "default_inbox")]
    pub folder: String,
    /// Words in the From header, e.g. `acme.example`.
    #[serde(default)]
    pub from: Option<String>,
    /// Words in the To header.
    #[serde(default)]
    pub to: Option<String>,
    /// Words in the subject.
    #[serde(default)]
    pub subject: Option<String>,
    /// Words anywhere in the message, headers or body.
    #[serde(default)]
    pub text: Option<String>,
    /// Received on or after this day, `2026-11-02`.
    #[serde(default)]
    pub since: Option<String>,
    /// Received before this day, `2026-11-30`.
    #[serde(default)]
    pub before: Option<String>,
    /// true: only unseen (unread) messages; false: only seen ones.
    #[serde(default)]
    pub unseen: Option<bool>,
    /// true: only flagged (starred) messages; false: only unflagged ones.
    #[serde(default)]
    pub flagged: Option<bool>,
    /// The most messages to describe, newest first (default 20, at most 200).
    #[serde(default)]
    pub max: Option<u32>,
}

/// One message, in short.
#[derive(Debug, Serialize, JsonSchema)]
pub struct Summary {
    /// Its UID in the folder: what `fetch`, `move` and `flag` take.
    pub uid: u32,
    /// Its `Date` header.
    pub date: String,
    /// The sender(s).
    pub from: Vec<String>,
    /// The recipients.
    pub to: Vec<String>,
    /// The subject.
    pub subject: String,
    /// Its `Message-ID` (what a reply's `in_reply_to` names).
    pub message_id: String,
    /// Whether it was read.
    pub seen: bool,
    /// Whether it is flagged.
    pub flagged: bool,
    /// Its size in bytes.
    pub size: u64,
}

/// What a search found.
#[derive(Debug, Serialize, JsonSchema)]
pub struct SearchOutput {
    /// The folder searched.
    pub folder: String,
    /// How many messages match.
    pub total: u32,
    /// The newest of them (at most `max`), newest first.
    pub messages: Vec<Summary>,
    /// Whether more matched than are described.
    pub truncated: bool,
}

/// Finds messages in a folder by sender, recipient, subject, words, dates, unseen or flagged; answers their UIDs with sender, subject and date, newest first.
#[tool]
pub fn search(input: SearchInput) -> Result<SearchOutput, ToolError> {
    let criteria = criteria(&input).map_err(ToolError::new)?;
    let max = input.max.unwrap_or(20).clamp(1, MAX_RESULTS) as usize;
    let (settings, mut s) = open()?;
    let out = run_search(&mut s, &input.folder, &criteria, max).map_err(|e| fail(&settings, e))?;
    s.logout();
    Ok(out)
}

/// A search criterion: a keyword, or a keyword and its string.
type Criterion = (&'static str, Option<String>);

fn criteria(input: &SearchInput) -> Result<Vec<Criterion>, String> {
    let mut c: Vec<Criterion> = Vec::new();
    let words = [
        ("FROM", &input.from),
        ("TO", &input.to),
        ("SUBJECT", &input.subject),
        ("TEXT", &input.text),
    ];
    for (key, value) in words {
        if let Some(v) = value.as_deref().map(str::trim).filter(|v| !v.is_empty()) {
            c.push((key, Some(v.to_string())));
        }
    }
    if let Some(d) = &input.since {
        c.push(("SINCE", Some(search_date("since", d)?)));
    }
    if let Some(d) = &input.before {
        c.push(("BEFORE", Some(search_date("before", d)?)));
    }
    match input.unseen {
        Some(true) => c.push(("UNSEEN", None)),
        Some(false) => c.push(("SEEN", None)),
        None => {}
    }
    match input.flagged {
        Some(true) => c.push(("FLAGGED", None)),
        Some(false) => c.push(("UNFLAGGED", None)),
        None => {}
    }
    if c.is_empty() {
        c.push(("ALL", None));
    }
    Ok(c)
}

fn run_search(
    s: &mut Session,
    folder: &str,
    criteria: &[Criterion],
    max: usize,
) -> Result<SearchOutput, ImapError> {
    choose(s, folder, false)?;
    let mut args = vec![Arg::Raw("UID"), Arg::Raw("SEARCH")];
    if criteria
        .iter()
        .any(|(_, v)| v.as_deref().is_some_and(|v| !v.is_ascii()))
    {
        args.extend([Arg::Raw("CHARSET"), Arg::Raw("UTF-8")]);
    }
    for (key, value) in criteria {
        args.push(Arg::Raw(key));
        if let Some(v) = value {
            args.push(if key.ends_with("SINCE") || *key == "BEFORE" {
                Arg::Raw(v)
            } else {
                Arg::Str(v.as_bytes())
            });
        }
    }
    let done = s.run(&args, "UID SEARCH")?;
    let mut uids: Vec<u32> = done
        .answers("SEARCH")?
        .iter()
        .flat_map(|a| {
            a[1..]
                .iter()
                .filter_map(Value::num)
                .map(|n| n as u32)
                .collect::<Vec<_>>()
        })
        .collect();
    uids.sort_unstable();
    uids.dedup();
    uids.reverse();
    let total = uids.len() as u32;
    let chosen: Vec<u32> = uids.iter().copied().take(max).collect();
    let messages = summaries(s, &chosen)?;
    Ok(SearchOutput {
        folder: folder.to_string(),
        total,
        truncated: total as usize > messages.len(),
        messages,
    })
}

/// The envelopes, flags and sizes of messages `uids` in the selected folder, newest first.
fn summaries(s: &mut Session, uids: &[u32]) -> Result<Vec<Summary>, ImapError> {
    let mut messages = Vec::new();
    if uids.is_empty() {
        return Ok(messages);
    }
    let set = uids
        .iter()
        .map(u32::to_string)
        .collect::<Vec<_>>()
        .join(",");
    let done = s.run(
        &[
            Arg::Raw("UID"),
            Arg::Raw("FETCH"),
            Arg::Raw(&set),
            Arg::Raw("(UID FLAGS ENVELOPE RFC822.SIZE)"),
        ],
        "UID FETCH",
    )?;
    for pairs in fetched(&done)? {
        let Some(uid) = item(&pairs, "UID").and_then(Value::num) else {
            continue;
        };
        let env = item(&pairs, "ENVELOPE")
            .map(mime::envelope)
            .unwrap_or_default();
        let f = flags(&pairs);
        messages.push(Summary {
            uid: uid as u32,
            date: env.date,
            from: env.from,
            to: env.to,
            subject: env.subject,
            message_id: env.message_id,
            seen: has_flag(&f, "\\Seen"),
            flagged: has_flag(&f, "\\Flagged"),
            size: item(&pairs, "RFC822.SIZE")
                .and_then(Value::num)
                .unwrap_or(0),
        });
    }
    messages.sort_by_key(|m| std::cmp::Reverse(m.uid));
    Ok(messages)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn criteria_are_keywords_and_strings() {
        let input: SearchInput = serde_json::from_value(serde_json::json!({
            "from": "acme", "since": "2026-11-02", "unseen": true, "flagged": false
        }))
        .unwrap();
        let c = criteria(&input).unwrap();
        assert_eq!(c[0], ("FROM", Some("acme".into())));
        assert_eq!(c[1], ("SINCE", Some("2-Nov-2026".into())));
        assert_eq!(c[2], ("UNSEEN", None));
        assert_eq!(c[3], ("UNFLAGGED", None));
        let empty: SearchInput = serde_json::from_value(serde_json::json!({})).unwrap();
        assert_eq!(criteria(&empty).unwrap(), [("ALL", None)]);
        let bad: SearchInput =
            serde_json::from_value(serde_json::json!({"before": "soon"})).unwrap();
        assert!(criteria(&bad).unwrap_err().contains("before"));
    }
}
