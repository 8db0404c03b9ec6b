//! What spud's file connectors (`webdav`, `s3`) share: a file's bytes as text or base64 for a
//! model ([`encode`]), the local files they save to or upload from under the granted `/data`
//! ([`data_path`]), and a media type from a file's name ([`media_type`]).

use base64::Engine as _;
use std::path::{Component, Path, PathBuf};

/// The most returned as content (2 MiB: base64 makes it 2.7 MiB, under a 4 MiB result).
pub const MAX_CONTENT: u64 = 2 << 20;
/// The most read by default.
pub const DEFAULT_CONTENT: u64 = 256 << 10;
/// The largest file saved to or uploaded from `/data` (32 MiB).
pub const MAX_FILE: u64 = 32 << 20;

/// What a `/data` path of plugin `tool` needs: the grant, as the policy writes it.
pub fn data_grant(tool: &str) -> String {
    format!(
        "local files are under /data: the policy grants it with files = \
         [{{ host = \"…\", guest = \"/data\", access = \"read-write\" }}] under [tools.{tool}]"
    )
}

/// `path` under `/data` (relative paths resolve there); `..` and an empty path are refused.
/// `field` names the input, for the message.
pub fn data_path(field: &str, path: &str) -> Result<PathBuf, String> {
    let rel = path.strip_prefix("/data/").unwrap_or(path);
    let rel = rel.trim_start_matches('/');
    let p = Path::new(rel);
    if rel.is_empty()
        || p.components()
            .any(|c| !matches!(c, Component::Normal(_) | Component::CurDir))
    {
        return Err(format!(
            "{field}: `{path}` must be a file under /data, without `..`"
        ));
    }
    Ok(Path::new("/data").join(p))
}

/// How content is handed to the model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// Text when the bytes are UTF-8 without NUL, else base64.
    Auto,
    /// UTF-8 text (an error when it is not).
    Text,
    /// Base64.
    Base64,
}

impl Encoding {
    /// `auto` (the default, `None`), `text` or `base64`.
    pub fn parse(asked: Option<&str>) -> Result<Encoding, String> {
        match asked.unwrap_or("auto") {
            "auto" => Ok(Encoding::Auto),
            "text" => Ok(Encoding::Text),
            "base64" => Ok(Encoding::Base64),
            other => Err(format!(
                "encoding: `{other}` is not one of auto, text, base64"
            )),
        }
    }
}

/// Content ready for the model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Encoded {
    /// `text` or `base64`.
    pub encoding: &'static str,
    /// The content.
    pub content: String,
    /// The bytes of the body it holds.
    pub bytes: u64,
}

/// The body as `text` (UTF-8; a character cut at the end of a truncated read is left out) or
/// `base64`, as asked.
pub fn encode(body: &[u8], truncated: bool, asked: Encoding) -> Result<Encoded, String> {
    let text = match std::str::from_utf8(body) {
        Ok(t) => Some(t),
        // A read cut inside a character: keep the whole ones.
        Err(e) if truncated && e.error_len().is_none() => {
            std::str::from_utf8(&body[..e.valid_up_to()]).ok()
        }
        Err(_) => None,
    }
    .filter(|t| asked == Encoding::Text || !t.contains('\0'));
    match (asked, text) {
        (Encoding::Base64, _) | (Encoding::Auto, None) => Ok(Encoded {
            encoding: "base64",
            content: base64::engine::general_purpose::STANDARD.encode(body),
            bytes: body.len() as u64,
        }),
        (_, Some(t)) => Ok(Encoded {
            encoding: "text",
            content: t.to_string(),
            bytes: t.len() as u64,
        }),
        (Encoding::Text, None) => Err(
            "it is not UTF-8 text; read it with encoding: base64, or save it with save_to".into(),
        ),
    }
}

/// The bytes to upload: exactly one of `text`, `base64` or `from_file` (a file under `/data`
/// of at most [`MAX_FILE`] bytes; `tool` names the plugin whose grant it needs).
pub fn upload_bytes(
    text: Option<&str>,
    base64: Option<&str>,
    from_file: Option<&str>,
    tool: &str,
) -> Result<Vec<u8>, String> {
    match (text, base64, from_file) {
        (Some(t), None, None) => Ok(t.as_bytes().to_vec()),
        (None, Some(b), None) => base64::engine::general_purpose::STANDARD
            .decode(b.trim())
            .map_err(|e| format!("base64: not base64: {e}")),
        (None, None, Some(f)) => {
            let path = data_path("from_file", f)?;
            let fail = |e: std::io::Error| {
                format!("from_file: {}: {e} ({})", path.display(), data_grant(tool))
            };
            let meta = std::fs::metadata(&path).map_err(fail)?;
            if meta.len() > MAX_FILE {
                return Err(format!(
                    "from_file: {} is {} bytes, more than the {MAX_FILE} uploaded at once",
                    path.display(),
                    meta.len()
                ));
            }
            std::fs::read(&path).map_err(fail)
        }
        _ => Err("give exactly one of `text`, `base64` or `from_file`".into()),
    }
}

/// Saves `body` at `path` (made by [`data_path`]), its folders made as needed; returns the
/// path as the guest sees it.
pub fn save(path: &Path, body: &[u8], tool: &str) -> Result<String, String> {
    let fail = |p: &Path, e: std::io::Error| {
        format!("save_to: {}: {e} ({})", p.display(), data_grant(tool))
    };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| fail(dir, e))?;
    }
    std::fs::write(path, body).map_err(|e| fail(path, e))?;
    Ok(path.display().to_string())
}

/// The media type of a file named `name`, from its extension.
pub fn media_type(name: &str) -> &'static str {
    let ext = name
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    match ext.as_str() {
        "txt" | "md" => "text/plain; charset=utf-8",
        "csv" => "text/csv; charset=utf-8",
        "html" | "htm" => "text/html; charset=utf-8",
        "json" => "application/json",
        "xml" => "application/xml",
        "ics" => "text/calendar; charset=utf-8",
        "vcf" => "text/vcard; charset=utf-8",
        "pdf" => "application/pdf",
        "xlsx" => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "docx" => "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "zip" => "application/zip",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_or_base64() {
        let e = |b: &[u8], t, a| encode(b, t, a).map(|x| (x.encoding, x.content, x.bytes));
        assert_eq!(
            e(b"caf\xc3\xa9", false, Encoding::Auto).unwrap(),
            ("text", "café".to_string(), 5)
        );
        // Cut inside the é: the whole characters are kept.
        assert_eq!(
            e(b"caf\xc3", true, Encoding::Auto).unwrap(),
            ("text", "caf".to_string(), 3)
        );
        assert_eq!(
            e(b"%PDF\0\xff", false, Encoding::Auto).unwrap(),
            ("base64", "JVBERgD/".to_string(), 6)
        );
        assert_eq!(e(b"ab", false, Encoding::Base64).unwrap().1, "YWI=");
        assert!(e(b"\xff\xfe", false, Encoding::Text)
            .unwrap_err()
            .contains("base64"));
        assert!(Encoding::parse(Some("hex")).is_err());
        assert_eq!(Encoding::parse(None), Ok(Encoding::Auto));
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
        assert_eq!(upload_bytes(Some("a"), None, None, "s3").unwrap(), b"a");
        assert_eq!(upload_bytes(None, Some("YQ=="), None, "s3").unwrap(), b"a");
        assert!(upload_bytes(Some("a"), Some("YQ=="), None, "s3")
            .unwrap_err()
            .contains("exactly one"));
        assert_eq!(media_type("Report.PDF"), "application/pdf");
    }
}
