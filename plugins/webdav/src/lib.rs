//! spud's first-party files connector over WebDAV (RFC 4918): list a folder, read a file (text
//! or base64, bounded, or saved under a granted `/data`), write one (text, base64 or a file
//! from `/data`; missing folders made when asked), make folders, move and delete. Files and
//! folders are named by URL (`https://dav.example.com/team/invoices/`). It speaks HTTP through
//! the SDK, so the host checks each request against the network grant and logs in for it: the
//! password is a `basic` credential the component never holds. A refusal is a tool error that
//! says what to do next ([`advice`]).

pub mod advice;
mod transfer;

use advice::{err, Op};
use spud_dav::files::{self, target};
use spud_dav::{Client, Resource};
use spud_sdk::prelude::*;
pub use transfer::{read, write, ReadInput, ReadOutput, WriteInput, WriteOutput};

spud_sdk::export_plugin! {
    name: "webdav",
    description: "Files on a WebDAV server (Nextcloud, ownCloud, a NAS, …): list, read, write, make folders, move, delete.",
    requests: Requests::new()
        .network("http://*:*")
        .network("https://*:*")
        .file("/data", Access::ReadWrite, "local files to upload (`from_file`) or to save downloads to (`save_to`)")
        .limits(
            Limits::new()
                .memory_mb(160)
                .fuel(20_000_000_000)
                .timeout_ms(60_000)
                .result_bytes(4 * 1024 * 1024),
        ),
    tools: [list, read, write, mkdir, move_tool, delete],
}

/// The plugin's name, for messages.
pub const TOOL: &str = "webdav";

/// The client for `url` (any URL of its server) and the parsed URL; `field` names the input.
fn open(url: &str, field: &str) -> Result<(Client, spud_sdk::http::Url), ToolError> {
    let parsed = target(url, field).map_err(|e| err(Op::Input, e))?;
    Ok((Client::for_origin(&parsed, TOOL), parsed))
}

/// `url` as a folder's URL (ending in `/`).
fn as_folder(mut url: spud_sdk::http::Url) -> spud_sdk::http::Url {
    if !url.path_and_query.ends_with('/') {
        url.path_and_query.push('/');
    }
    url
}

/// Input of `list`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListInput {
    /// The folder's URL, e.g. `https://dav.example.com/team/invoices/`.
    pub url: String,
    /// Only files whose name ends in this extension, e.g. `pdf` (case-insensitive; folders
    /// are left out then).
    #[serde(default)]
    pub extension: Option<String>,
    /// Return at most this many entries (default 1000).
    #[serde(default)]
    pub max_entries: Option<u32>,
}

/// One entry of a folder.
#[derive(Debug, Serialize, JsonSchema)]
pub struct Entry {
    /// Its name (the last path segment).
    pub name: String,
    /// Its URL, as the other tools take it (a folder's ends in `/`).
    pub url: String,
    /// Whether it is a folder.
    pub is_dir: bool,
    /// A file's size in bytes.
    pub size: Option<u64>,
    /// When it last changed, UTC (`2026-12-02T17:37:04Z`).
    pub modified: Option<String>,
    /// A file's media type.
    pub content_type: Option<String>,
    /// The server's ETag.
    pub etag: Option<String>,
}

impl From<Resource> for Entry {
    fn from(r: Resource) -> Entry {
        Entry {
            name: r.name,
            url: r.url,
            is_dir: r.is_dir,
            size: r.size,
            modified: r.modified,
            content_type: r.content_type,
            etag: r.etag,
        }
    }
}

/// A folder's contents.
#[derive(Debug, Serialize, JsonSchema)]
pub struct ListOutput {
    /// The folder's URL.
    pub url: String,
    /// Its entries: folders first, then files, each by name.
    pub entries: Vec<Entry>,
    /// How many entries matched (more than `entries` when cut at `max_entries`).
    pub total: u64,
    /// Whether `entries` was cut at `max_entries`.
    pub truncated: bool,
}

/// Lists a folder on a WebDAV server: each entry's name, URL, whether it is a folder, size, last change, type.
#[tool]
pub fn list(input: ListInput) -> Result<ListOutput, ToolError> {
    let (client, url) = open(&input.url, "url")?;
    let url = as_folder(url);
    let (this, children) = client.list(&url).map_err(|e| err(Op::List, e))?;
    if !this.is_dir {
        return Err(ToolError::new(format!(
            "{url} is a file, not a folder: read it with webdav.read, or list the folder that holds it"
        )));
    }
    let ext = input
        .extension
        .as_deref()
        .map(|e| format!(".{}", e.trim_start_matches('.').to_ascii_lowercase()));
    let mut entries: Vec<Entry> = children
        .into_iter()
        .filter(|r| match &ext {
            Some(ext) => !r.is_dir && r.name.to_ascii_lowercase().ends_with(ext.as_str()),
            None => true,
        })
        .map(Entry::from)
        .collect();
    entries.sort_by(|a, b| b.is_dir.cmp(&a.is_dir).then_with(|| a.name.cmp(&b.name)));
    let total = entries.len() as u64;
    let max = input.max_entries.unwrap_or(1000) as usize;
    let truncated = entries.len() > max;
    entries.truncate(max);
    Ok(ListOutput {
        url: this.url,
        entries,
        total,
        truncated,
    })
}

/// Input of `mkdir`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MkdirInput {
    /// The new folder's URL, e.g. `https://dav.example.com/team/invoices/2026/`.
    pub url: String,
    /// Also make the folders above it that are missing (default false).
    #[serde(default)]
    pub parents: bool,
}

/// The folder.
#[derive(Debug, Serialize, JsonSchema)]
pub struct MkdirOutput {
    /// Its URL.
    pub url: String,
    /// The folders made, topmost first (empty when it was there already).
    pub created: Vec<String>,
}

/// Makes a folder on a WebDAV server (with `parents`, the missing ones above it too); a folder that is there already is fine.
#[tool]
pub fn mkdir(input: MkdirInput) -> Result<MkdirOutput, ToolError> {
    let (client, url) = open(&input.url, "url")?;
    let url = as_folder(url);
    let created = if input.parents {
        client.make_folders(&url)
    } else {
        client
            .mkcol(&url)
            .map(|made| if made { vec![url.to_string()] } else { vec![] })
    }
    .map_err(|e| err(Op::Mkdir, e))?;
    if created.is_empty() {
        // 405: something is there; it must be a folder.
        let there = client.stat(&url).map_err(|e| err(Op::Mkdir, e))?;
        if !there.is_dir {
            return Err(ToolError::new(format!(
                "{url}: a file of that name is there already; pick another name, or move or delete the file first"
            )));
        }
    }
    Ok(MkdirOutput {
        url: url.to_string(),
        created,
    })
}

/// Input of `move`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MoveInput {
    /// The file's or folder's URL.
    pub from: String,
    /// Where it goes, on the same server, e.g. `https://dav.example.com/team/invoices/done/a.pdf`.
    pub to: String,
    /// Replace what is at `to` (default false: an existing destination is an error).
    #[serde(default)]
    pub overwrite: bool,
    /// Make the missing folders above `to` first (default false).
    #[serde(default)]
    pub create_parents: bool,
}

/// What was moved.
#[derive(Debug, Serialize, JsonSchema)]
pub struct MoveOutput {
    /// Where it was.
    pub from: String,
    /// Where it is now.
    pub to: String,
    /// Whether something at `to` was replaced.
    pub replaced: bool,
    /// The folders made above `to`, topmost first.
    pub created: Vec<String>,
}

/// Moves or renames a file or folder on a WebDAV server (never across servers); refuses to replace an existing destination unless `overwrite`.
#[tool(name = "move")]
pub fn move_tool(input: MoveInput) -> Result<MoveOutput, ToolError> {
    let (client, from) = open(&input.from, "from")?;
    let (_, mut to) = open(&input.to, "to")?;
    if to.origin() != from.origin() {
        return Err(ToolError::new(format!(
            "to: {to} is on another server than {from}; a move stays on one server (read the file and write it there instead)"
        )));
    }
    if from.path_and_query.ends_with('/') {
        to = as_folder(to);
    }
    let mut created = Vec::new();
    if input.create_parents {
        if let Some(up) = files::parent(&to) {
            created = client.make_folders(&up).map_err(|e| err(Op::Move, e))?;
        }
    }
    let replaced = client
        .move_to(&from, &to, input.overwrite)
        .map_err(|e| err(Op::Move, e))?;
    Ok(MoveOutput {
        from: from.to_string(),
        to: to.to_string(),
        replaced,
        created,
    })
}

/// Input of `delete`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DeleteInput {
    /// The file's or folder's URL.
    pub url: String,
    /// Allow deleting a folder that is not empty, with everything in it (default false).
    #[serde(default)]
    pub recursive: bool,
}

/// What was deleted.
#[derive(Debug, Serialize, JsonSchema)]
pub struct DeleteOutput {
    /// Its URL.
    pub url: String,
    /// Whether it was a folder.
    pub was_dir: bool,
    /// For a folder, how many entries it held.
    pub entries: u64,
}

/// Deletes a file, or a folder (one that is not empty only with `recursive`), on a WebDAV server.
#[tool]
pub fn delete(input: DeleteInput) -> Result<DeleteOutput, ToolError> {
    let (client, url) = open(&input.url, "url")?;
    let this = client.stat(&url).map_err(|e| err(Op::Delete, e))?;
    let mut entries = 0;
    let mut url = url;
    if this.is_dir {
        url = as_folder(url);
        let (_, children) = client.list(&url).map_err(|e| err(Op::Delete, e))?;
        entries = children.len() as u64;
        if entries > 0 && !input.recursive {
            let names: Vec<&str> = children.iter().take(5).map(|c| c.name.as_str()).collect();
            return Err(ToolError::new(format!(
                "{url} is a folder holding {entries} entries ({}{}); nothing was deleted. Pass recursive: true to delete it with everything in it",
                names.join(", "),
                if entries > 5 { ", …" } else { "" }
            )));
        }
    }
    client.delete(&url).map_err(|e| err(Op::Delete, e))?;
    Ok(DeleteOutput {
        url: url.to_string(),
        was_dir: this.is_dir,
        entries,
    })
}
