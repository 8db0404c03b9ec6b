//! Reading and writing files: a bounded read as text or base64 (or the whole file saved under
//! `/data`, so large or binary files never pass through the model), and writes from text,
//! base64 or a file under `/data`.

use crate::advice::{err, Op};
use base64::Engine as _;
use spud_dav::files::{self, http_date_to_rfc3339, media_type};
use spud_dav::DavError;
use spud_sdk::http::Response;
use spud_sdk::prelude::*;
use std::path::{Component, Path, PathBuf};

/// The most returned as content (2 MiB: base64 makes it 2.7 MiB, under the 4 MiB result).
pub const MAX_CONTENT: u64 = 2 << 20;
/// The most read by default.
pub const DEFAULT_CONTENT: u64 = 256 << 10;
/// The largest file saved to or uploaded from `/data` (32 MiB).
pub const MAX_FILE: u64 = 32 << 20;

/// What a `/data` path needs: the grant.
const DATA_GRANT: &str = "local files are under /data: the policy grants it with files = \
     [{ host = \"…\", guest = \"/data\", access = \"read-write\" }] under [tools.webdav]";

/// `path` under `/data` (relative paths resolve there); `..` and an empty path are refused.
pub fn data_path(field: &str, path: &str) -> Result<PathBuf, ToolError> {
    let rel = path.strip_prefix("/data/").unwrap_or(path);
    let rel = rel.trim_start_matches('/');
    let p = Path::new(rel);
    if rel.is_empty()
        || p.components()
            .any(|c| !matches!(c, Component::Normal(_) | Component::CurDir))
    {
        return Err(ToolError::new(format!(
            "{field}: `{path}` must be a file under /data, without `..`"
        )));
    }
    Ok(Path::new("/data").join(p))
}

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
    r.header("content-length").and_then(|l| l.trim().parse().ok())
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
    let encoding = input.encoding.as_deref().unwrap_or("auto");
    if !["auto", "text", "base64"].contains(&encoding) {
        return Err(ToolError::new(format!(
            "encoding: `{encoding}` is not one of auto, text, base64"
        )));
    }
    let save = input
        .save_to
        .as_deref()
        .map(|p| data_path("save_to", p))
        .transpose()?;
    let max = if save.is_some() {
        MAX_FILE
    } else {
        input.max_bytes.unwrap_or(DEFAULT_CONTENT).clamp(1, MAX_CONTENT)
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
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)
                .map_err(|e| ToolError::new(format!("save_to: {}: {e} ({DATA_GRANT})", dir.display())))?;
        }
        std::fs::write(&path, &response.body)
            .map_err(|e| ToolError::new(format!("save_to: {}: {e} ({DATA_GRANT})", path.display())))?;
        out.saved_to = Some(path.display().to_string());
        return Ok(out);
    }
    let (encoding, content) = encode(&response.body, response.truncated, encoding)
        .map_err(|e| ToolError::new(format!("{url}: {e}")))?;
    out.bytes = content.1;
    out.encoding = Some(encoding.to_string());
    out.content = Some(content.0);
    Ok(out)
}

/// The body as `text` (UTF-8; a character cut at the end of a truncated read is left out) or
/// `base64`, as asked; with `auto`, text when it is UTF-8 without NUL bytes. Returns the
/// encoding and the content with the bytes it holds.
pub fn encode(
    body: &[u8],
    truncated: bool,
    asked: &str,
) -> Result<(&'static str, (String, u64)), String> {
    let text = match std::str::from_utf8(body) {
        Ok(t) => Some(t),
        // A read cut inside a character: keep the whole ones.
        Err(e) if truncated && e.error_len().is_none() => {
            std::str::from_utf8(&body[..e.valid_up_to()]).ok()
        }
        Err(_) => None,
    }
    .filter(|t| asked == "text" || !t.contains('\0'));
    match (asked, text) {
        ("base64", _) | ("auto", None) => Ok((
            "base64",
            (
                base64::engine::general_purpose::STANDARD.encode(body),
                body.len() as u64,
            ),
        )),
        (_, Some(t)) => Ok(("text", (t.to_string(), t.len() as u64))),
        (_, None) => Err("it is not UTF-8 text; read it with encoding: base64, or save it with save_to".into()),
    }
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

/// The bytes to write: exactly one of text, base64, a file under `/data`.
fn content(input: &WriteInput) -> Result<Vec<u8>, ToolError> {
    match (&input.text, &input.base64, &input.from_file) {
        (Some(t), None, None) => Ok(t.clone().into_bytes()),
        (None, Some(b), None) => base64::engine::general_purpose::STANDARD
            .decode(b.trim())
            .map_err(|e| ToolError::new(format!("base64: not base64: {e}"))),
        (None, None, Some(f)) => {
            let path = data_path("from_file", f)?;
            let meta = std::fs::metadata(&path)
                .map_err(|e| ToolError::new(format!("from_file: {}: {e} ({DATA_GRANT})", path.display())))?;
            if meta.len() > MAX_FILE {
                return Err(ToolError::new(format!(
                    "from_file: {} is {} bytes, more than the {MAX_FILE} uploaded at once",
                    path.display(),
                    meta.len()
                )));
            }
            std::fs::read(&path)
                .map_err(|e| ToolError::new(format!("from_file: {}: {e} ({DATA_GRANT})", path.display())))
        }
        _ => Err(ToolError::new(
            "give exactly one of `text`, `base64` or `from_file`",
        )),
    }
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
    let body = content(&input)?;
    let size = body.len() as u64;
    let name = files::name_of(&url.path_and_query);
    let content_type = input
        .content_type
        .clone()
        .unwrap_or_else(|| media_type(&name).to_string());
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_or_base64() {
        assert_eq!(
            encode(b"caf\xc3\xa9", false, "auto").unwrap(),
            ("text", ("café".to_string(), 5))
        );
        // Cut inside the é: the whole characters are kept.
        assert_eq!(
            encode(b"caf\xc3", true, "auto").unwrap(),
            ("text", ("caf".to_string(), 3))
        );
        assert_eq!(
            encode(b"%PDF\0\xff", false, "auto").unwrap(),
            ("base64", ("JVBERgD/".to_string(), 6))
        );
        assert_eq!(encode(b"ab", false, "base64").unwrap().1 .0, "YWI=");
        assert!(encode(b"\xff\xfe", false, "text")
            .unwrap_err()
            .contains("base64"));
    }

    #[test]
    fn local_paths_stay_under_data() {
        assert_eq!(
            data_path("save_to", "inbox/a.pdf").unwrap(),
            Path::new("/data/inbox/a.pdf")
        );
        assert_eq!(
            data_path("save_to", "/data/a.pdf").unwrap(),
            Path::new("/data/a.pdf")
        );
        assert!(data_path("save_to", "../etc/passwd").is_err());
        assert!(data_path("save_to", "").is_err());
    }
}
