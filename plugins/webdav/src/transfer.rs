//! Reading and writing files: a bounded read as text or base64 (or the whole file saved under
//! `/data`, so large or binary files never pass through the model), and writes from text,
//! base64 or a file under `/data`.

use crate::advice::{err, Op};
use spud_content::{Encoding, DEFAULT_CONTENT, MAX_CONTENT, MAX_FILE};
use spud_dav::files::{self, http_date_to_rfc3339};
use spud_dav::DavError;
use spud_sdk::http::Response;
use spud_sdk::prelude::*;

/// Input of `read`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReadInput {
    /// The file's URL, e.g. `https://dav.example.com/team/notes.txt`.
    pub url: String,
    /// `auto` (default: text when it is UTF-8, else base64), `text` or `base64`.
    #[serde(default)]
    pub encoding: Option<String>,
    /// Return at most this many bytes (default 262144, at most 2097152); `truncated` says when
    /// there was more.
    #[serde(default)]
    pub max_bytes: Option<u64>,
    /// Save the whole file (up to 32 MiB) to this path under `/data` instead of returning it,
    /// e.g. `inbox/a.pdf`, for other tools to read.
    #[serde(default)]
    pub save_to: Option<String>,
}

/// A file read.
#[derive(Debug, Serialize, JsonSchema)]
pub struct ReadOutput {
    /// Its URL.
    pub url: String,
    /// Its size in bytes, when known.
    pub size: Option<u64>,
    /// Its media type, as the server says.
    pub content_type: Option<String>,
    /// When it last changed, UTC.
    pub modified: Option<String>,
    /// The server's ETag.
    pub etag: Option<String>,
    /// `text` or `base64` (none when saved).
    pub encoding: Option<String>,
    /// The content (none when saved).
    pub content: Option<String>,
    /// Whether the content stops before the file's end.
    pub truncated: bool,
    /// Where it was saved, with `save_to`.
    pub saved_to: Option<String>,
    /// The bytes returned or saved.
    pub bytes: u64,
}

/// The total size an answer tells: `Content-Range: bytes 0-N/TOTAL`, else its length.
fn total_size(r: &Response) -> Option<u64> {
    if let Some(range) = r.header("content-range") {
        return range.rsplit('/').next().and_then(|t| t.trim().parse().ok());
    }
    if !r.truncated {
        return Some(r.body.len() as u64);
    }
    r.header("content-length")
        .and_then(|l| l.trim().parse().ok())
}

/// Reads a file from a WebDAV server: as text or base64 (bounded), or saved whole under /data for other tools.
#[tool]
pub fn read(input: ReadInput) -> Result<ReadOutput, ToolError> {
    let (client, url) = crate::open(&input.url, "url")?;
    if url.path_and_query.ends_with('/') {
        return Err(ToolError::new(format!(
            "{url} is a folder: list it with webdav.list"
        )));
    }
    let encoding = Encoding::parse(input.encoding.as_deref()).map_err(ToolError::new)?;
    let save = input
        .save_to
        .as_deref()
        .map(|p| spud_content::data_path("save_to", p))
        .transpose()
        .map_err(ToolError::new)?;
    let max = if save.is_some() {
        MAX_FILE
    } else {
        input
            .max_bytes
            .unwrap_or(DEFAULT_CONTENT)
            .clamp(1, MAX_CONTENT)
    };
    let response = match client.get(&url, max) {
        // 416: an empty file has no byte 0; ask again without a range.
        Err(DavError::Status { status: 416, .. }) => client.get_whole(&url, max),
        other => other,
    }
    .map_err(|e| err(Op::Read, e))?;
    let mut out = ReadOutput {
        url: url.to_string(),
        size: total_size(&response),
        content_type: response.header("content-type").map(str::to_string),
        modified: response.header("last-modified").map(http_date_to_rfc3339),
        etag: response.header("etag").map(str::to_string),
        encoding: None,
        content: None,
        truncated: response.truncated,
        saved_to: None,
        bytes: response.body.len() as u64,
    };
    if let Some(path) = save {
        if response.truncated {
            return Err(ToolError::new(format!(
                "{url} is larger than {MAX_FILE} bytes, the most saved at once; nothing was saved"
            )));
        }
        let saved =
            spud_content::save(&path, &response.body, crate::TOOL).map_err(ToolError::new)?;
        out.saved_to = Some(saved);
        return Ok(out);
    }
    let encoded = spud_content::encode(&response.body, response.truncated, encoding)
        .map_err(|e| ToolError::new(format!("{url}: {e}")))?;
    out.bytes = encoded.bytes;
    out.encoding = Some(encoded.encoding.to_string());
    out.content = Some(encoded.content);
    Ok(out)
}

/// Input of `write`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WriteInput {
    /// The file's URL, e.g. `https://dav.example.com/team/reports/november.csv`.
    pub url: String,
    /// The content as text (UTF-8). Give exactly one of `text`, `base64`, `from_file`.
    #[serde(default)]
    pub text: Option<String>,
    /// The content as base64, for binary files.
    #[serde(default)]
    pub base64: Option<String>,
    /// Upload this file under `/data` (up to 32 MiB), e.g. `reports/november.xlsx`.
    #[serde(default)]
    pub from_file: Option<String>,
    /// Its media type (default: from the name's extension).
    #[serde(default)]
    pub content_type: Option<String>,
    /// Replace an existing file (default false: an existing file is an error, nothing changed).
    #[serde(default)]
    pub overwrite: bool,
    /// Make the missing folders above it first (default false).
    #[serde(default)]
    pub create_parents: bool,
}

/// The file written.
#[derive(Debug, Serialize, JsonSchema)]
pub struct WriteOutput {
    /// Its URL.
    pub url: String,
    /// Its size in bytes.
    pub size: u64,
    /// Whether it replaced a file (false: a new file).
    pub replaced: bool,
    /// The server's ETag for it, if given.
    pub etag: Option<String>,
    /// The folders made above it, topmost first.
    pub created_folders: Vec<String>,
}

/// Writes a file to a WebDAV server from text, base64 or a file under /data; never replaces one unless `overwrite`; makes missing folders with `create_parents`.
#[tool]
pub fn write(input: WriteInput) -> Result<WriteOutput, ToolError> {
    let (client, url) = crate::open(&input.url, "url")?;
    if url.path_and_query.ends_with('/') {
        return Err(ToolError::new(format!(
            "url: {url} names a folder; give the file's URL, e.g. {url}report.csv"
        )));
    }
    let body = spud_content::upload_bytes(
        input.text.as_deref(),
        input.base64.as_deref(),
        input.from_file.as_deref(),
        crate::TOOL,
    )
    .map_err(ToolError::new)?;
    let size = body.len() as u64;
    let name = files::name_of(&url.path_and_query);
    let content_type = input
        .content_type
        .clone()
        .unwrap_or_else(|| spud_content::media_type(&name).to_string());
    let mut created_folders = Vec::new();
    if input.create_parents {
        if let Some(up) = files::parent(&url) {
            created_folders = client.make_folders(&up).map_err(|e| err(Op::Write, e))?;
        }
    }
    let (replaced, etag) = client
        .put_bytes(&url, &content_type, body, !input.overwrite)
        .map_err(|e| err(Op::Write, e))?;
    Ok(WriteOutput {
        url: url.to_string(),
        size,
        replaced,
        etag,
        created_folders,
    })
}
