//! The tools that change the mailbox: `move`, `flag`, `append`.

use crate::compose::{self, Draft};
use crate::names::{encode_folder, uid_set};
use crate::session::{Arg, Done, ImapError, Session};
use crate::tools::{choose, fail, fetched, flags, item, open};
use crate::wire::Value;
use spud_sdk::prelude::*;

fn default_inbox() -> String {
    "INBOX".into()
}

fn default_drafts() -> String {
    "Drafts".into()
}

/// The UIDs of `uids` that are in the selected folder, in the order given.
fn existing(s: &mut Session, uids: &[u32]) -> Result<Vec<u32>, ImapError> {
    let set = uid_set(uids).unwrap_or_default();
    let done = s.run(
        &[
            Arg::Raw("UID"),
            Arg::Raw("SEARCH"),
            Arg::Raw("UID"),
            Arg::Raw(&set),
        ],
        "UID SEARCH",
    )?;
    let found: Vec<u64> = done
        .answers("SEARCH")?
        .iter()
        .flat_map(|a| a[1..].iter().filter_map(Value::num).collect::<Vec<_>>())
        .collect();
    Ok(uids
        .iter()
        .copied()
        .filter(|u| found.contains(&(*u as u64)))
        .collect())
}

/// Whether a folder exists.
fn folder_exists(s: &mut Session, folder: &str) -> Result<bool, ImapError> {
    let name = encode_folder(folder);
    let done = s.run(
        &[
            Arg::Raw("LIST"),
            Arg::Raw("\"\""),
            Arg::Str(name.as_bytes()),
        ],
        "LIST",
    )?;
    Ok(!done.answers("LIST")?.is_empty())
}

/// Input of `move`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MoveInput {
    /// The folder the messages are in (default `INBOX`).
    #[serde(default = "default_inbox")]
    pub folder: String,
    /// Their UIDs (from `search`); an empty list moves nothing.
    pub uids: Vec<u32>,
    /// The folder to move them to, e.g. `Invoices`.
    pub to: String,
    /// Make the folder `to` if it does not exist (default false: a missing folder is an error).
    #[serde(default)]
    pub create: bool,
}

/// What moved.
#[derive(Debug, Serialize, JsonSchema)]
pub struct MoveOutput {
    /// The UIDs that moved.
    pub moved: Vec<u32>,
    /// UIDs that were not in the folder.
    pub missing: Vec<u32>,
    /// The folder they are in now.
    pub to: String,
    /// Their UIDs there, when the server tells (UIDPLUS).
    pub new_uids: Vec<u32>,
    /// Whether the folder was made for them.
    pub created: bool,
}

/// Moves messages (by UID) from one folder to another, making the target folder first if create is true.
#[tool(name = "move")]
pub fn move_messages(input: MoveInput) -> Result<MoveOutput, ToolError> {
    if input.to.trim().is_empty() {
        return Err(ToolError::new("give the folder to move to in `to`"));
    }
    if input.uids.is_empty() {
        // Nothing to move (a plan's group that is empty today): nothing to ask the server.
        return Ok(MoveOutput {
            moved: vec![],
            missing: vec![],
            to: input.to,
            new_uids: vec![],
            created: false,
        });
    }
    uid_set(&input.uids).map_err(ToolError::new)?;
    let (settings, mut s) = open()?;
    let out = run_move(&mut s, &input).map_err(|e| fail(&settings, e))?;
    s.logout();
    out.map_err(ToolError::new)
}

fn run_move(s: &mut Session, input: &MoveInput) -> Result<Result<MoveOutput, String>, ImapError> {
    let mut created = false;
    if !folder_exists(s, &input.to)? {
        if !input.create {
            return Ok(Err(format!(
                "no folder `{}`: pass \"create\": true to make it, or pick one imap.folders lists",
                input.to
            )));
        }
        let name = encode_folder(&input.to);
        s.run(
            &[Arg::Raw("CREATE"), Arg::Str(name.as_bytes())],
            &format!("CREATE {}", input.to),
        )?;
        let _ = s.run(
            &[Arg::Raw("SUBSCRIBE"), Arg::Str(name.as_bytes())],
            "SUBSCRIBE",
        );
        created = true;
    }
    choose(s, &input.folder, true)?;
    let moved = existing(s, &input.uids)?;
    let missing: Vec<u32> = input
        .uids
        .iter()
        .copied()
        .filter(|u| !moved.contains(u))
        .collect();
    if moved.is_empty() {
        return Ok(Err(format!(
            "none of the uids {:?} is in `{}`",
            input.uids, input.folder
        )));
    }
    let set = uid_set(&moved).unwrap_or_default();
    let target = encode_folder(&input.to);
    let Some(done) = transfer(s, &set, &target)? else {
        return Ok(Err("the server has neither MOVE nor UIDPLUS: moving would expunge other deleted messages too".into()));
    };
    let new_uids = done
        .code("COPYUID")
        .and_then(|w| w.get(3).map(|set| crate::names::expand_set(set.as_str())))
        .unwrap_or_default();
    Ok(Ok(MoveOutput {
        moved,
        missing,
        to: input.to.clone(),
        new_uids,
        created,
    }))
}

/// Moves messages `set` of the selected folder to `target` (encoded): `UID MOVE`, else `UID
/// COPY` + `\Deleted` + `UID EXPUNGE` of exactly those with UIDPLUS; `None` with neither.
fn transfer(s: &mut Session, set: &str, target: &str) -> Result<Option<Done>, ImapError> {
    if s.has("MOVE") {
        let moved = s.run(
            &[
                Arg::Raw("UID"),
                Arg::Raw("MOVE"),
                Arg::Raw(set),
                Arg::Str(target.as_bytes()),
            ],
            "UID MOVE",
        )?;
        return Ok(Some(moved));
    }
    if !s.has("UIDPLUS") {
        return Ok(None);
    }
    let copied = s.run(
        &[
            Arg::Raw("UID"),
            Arg::Raw("COPY"),
            Arg::Raw(set),
            Arg::Str(target.as_bytes()),
        ],
        "UID COPY",
    )?;
    s.run(
        &[
            Arg::Raw("UID"),
            Arg::Raw("STORE"),
            Arg::Raw(set),
            Arg::Raw("+FLAGS.SILENT (\\Deleted)"),
        ],
        "UID STORE",
    )?;
    s.run(
        &[Arg::Raw("UID"), Arg::Raw("EXPUNGE"), Arg::Raw(set)],
        "UID EXPUNGE",
    )?;
    Ok(Some(copied))
}

/// Input of `flag`: each flag given is set (true) or cleared (false).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FlagInput {
    /// The folder (default `INBOX`).
    #[serde(default = "default_inbox")]
    pub folder: String,
    /// The messages' UIDs; an empty list changes nothing.
    pub uids: Vec<u32>,
    /// Read (true) or unread (false).
    #[serde(default)]
    pub seen: Option<bool>,
    /// Flagged / starred.
    #[serde(default)]
    pub flagged: Option<bool>,
    /// Answered.
    #[serde(default)]
    pub answered: Option<bool>,
}

/// One message's flags after the change.
#[derive(Debug, Serialize, JsonSchema)]
pub struct Flags {
    /// Its UID.
    pub uid: u32,
    /// Its flags now, e.g. `["\\Seen"]`.
    pub flags: Vec<String>,
}

/// The flags after the change.
#[derive(Debug, Serialize, JsonSchema)]
pub struct FlagOutput {
    /// Each message found, with its flags now.
    pub messages: Vec<Flags>,
    /// UIDs that were not in the folder.
    pub missing: Vec<u32>,
}

/// Marks messages (by UID) read or unread, flagged or not, answered or not; answers their flags afterwards.
#[tool]
pub fn flag(input: FlagInput) -> Result<FlagOutput, ToolError> {
    let changes = [
        ("\\Seen", input.seen),
        ("\\Flagged", input.flagged),
        ("\\Answered", input.answered),
    ];
    let add: Vec<&str> = changes
        .iter()
        .filter(|c| c.1 == Some(true))
        .map(|c| c.0)
        .collect();
    let remove: Vec<&str> = changes
        .iter()
        .filter(|c| c.1 == Some(false))
        .map(|c| c.0)
        .collect();
    if add.is_empty() && remove.is_empty() {
        return Err(ToolError::new(
            "give at least one of seen, flagged, answered (true or false)",
        ));
    }
    if input.uids.is_empty() {
        return Ok(FlagOutput {
            messages: vec![],
            missing: vec![],
        });
    }
    let set = uid_set(&input.uids).map_err(ToolError::new)?;
    let (settings, mut s) = open()?;
    let out = run_flag(&mut s, &input, &set, [add.as_slice(), remove.as_slice()])
        .map_err(|e| fail(&settings, e))?;
    s.logout();
    Ok(out)
}

fn run_flag(
    s: &mut Session,
    input: &FlagInput,
    set: &str,
    [add, remove]: [&[&str]; 2],
) -> Result<FlagOutput, ImapError> {
    choose(s, &input.folder, true)?;
    for (sign, list) in [("+", add), ("-", remove)] {
        if !list.is_empty() {
            let what = format!("{sign}FLAGS.SILENT ({})", list.join(" "));
            s.run(
                &[
                    Arg::Raw("UID"),
                    Arg::Raw("STORE"),
                    Arg::Raw(set),
                    Arg::Raw(&what),
                ],
                "UID STORE",
            )?;
        }
    }
    let done = s.run(
        &[
            Arg::Raw("UID"),
            Arg::Raw("FETCH"),
            Arg::Raw(set),
            Arg::Raw("(UID FLAGS)"),
        ],
        "UID FETCH",
    )?;
    let mut messages: Vec<Flags> = fetched(&done)?
        .iter()
        .filter_map(|p| {
            Some(Flags {
                uid: item(p, "UID")?.num()? as u32,
                flags: flags(p),
            })
        })
        .collect();
    messages.sort_by_key(|m| m.uid);
    let missing = input
        .uids
        .iter()
        .copied()
        .filter(|u| !messages.iter().any(|m| m.uid == *u))
        .collect();
    Ok(FlagOutput { messages, missing })
}

/// Input of `append`: a draft saved into a folder (it is not sent).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AppendInput {
    /// The folder (default `Drafts`).
    #[serde(default = "default_drafts")]
    pub folder: String,
    /// Recipients: `ann@example.org` or `Ann Lee <ann@example.org>`.
    pub to: Vec<String>,
    /// Copies.
    #[serde(default)]
    pub cc: Vec<String>,
    /// The subject line.
    pub subject: String,
    /// The message, plain text.
    pub text: String,
    /// The `Message-ID` of the message this answers (from `search` or `fetch`), e.g. `<1@acme.example>`.
    #[serde(default)]
    pub in_reply_to: Option<String>,
}

/// The saved draft.
#[derive(Debug, Serialize, JsonSchema)]
pub struct AppendOutput {
    /// The folder it is in.
    pub folder: String,
    /// Its UID there, when the server tells (UIDPLUS).
    pub uid: Option<u32>,
    /// Its `Message-ID`.
    pub message_id: String,
    /// Its size in bytes.
    pub size: usize,
}

/// Saves a plain-text draft (to, cc, subject, text, optionally answering a Message-ID) into the Drafts folder, marked as a draft; nothing is sent.
#[tool]
pub fn append(input: AppendInput) -> Result<AppendOutput, ToolError> {
    let settings = crate::Settings::from_env().map_err(ToolError::new)?;
    let from = settings
        .from
        .clone()
        .unwrap_or_else(|| settings.username.clone());
    let (bytes, message_id) = compose::build(&Draft {
        from: &from,
        to: &input.to,
        cc: &input.cc,
        subject: &input.subject,
        text: &input.text,
        in_reply_to: input.in_reply_to.as_deref(),
    })
    .map_err(ToolError::new)?;
    let (settings, mut s) = open()?;
    let name = encode_folder(&input.folder);
    let done = s
        .run(
            &[
                Arg::Raw("APPEND"),
                Arg::Str(name.as_bytes()),
                Arg::Raw("(\\Draft \\Seen)"),
                Arg::Str(&bytes),
            ],
            &format!("APPEND {}", input.folder),
        )
        .map_err(|e| match e {
            ImapError::Refused { text, .. } if text.contains("TRYCREATE") => {
                ToolError::new(format!(
                    "no folder `{}` to save the draft in: imap.folders lists them",
                    input.folder
                ))
            }
            e => fail(&settings, e),
        })?;
    s.logout();
    let uid = done.code("APPENDUID").and_then(|w| w.get(2)?.parse().ok());
    Ok(AppendOutput {
        folder: input.folder,
        uid,
        message_id,
        size: bytes.len(),
    })
}
