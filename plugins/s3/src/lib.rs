//! spud's first-party object-storage connector: the S3 API (AWS S3, MinIO, Ceph, Garage, …)
//! — list a bucket's objects under a prefix (ListObjectsV2), get an object (text or base64,
//! bounded, or saved under a granted `/data`), put one (text, base64 or a file from `/data`),
//! delete one. Buckets are named by URL (`https://s3.eu-west-1.amazonaws.com/reports/`, or
//! `https://reports.s3.eu-west-1.amazonaws.com/`), objects by key. It speaks HTTP through the
//! SDK and never holds the secret key: the host signs each request (AWS Signature V4) with a
//! `sigv4` credential.

pub mod api;
pub mod xml;

use api::{send, Bucket, S3Error};
use spud_content::{Encoding, DEFAULT_CONTENT, MAX_CONTENT, MAX_FILE};
use spud_sdk::http::Request;
use spud_sdk::prelude::*;

spud_sdk::export_plugin! {
    name: "s3",
    description: "Objects in S3-compatible storage (AWS S3, MinIO, …): list under a prefix, get, put, delete; the host signs each request.",
    requests: Requests::new()
        .network("http://*:*")
        .network("https://*:*")
        .file("/data", Access::ReadWrite, "local files to upload (`from_file`) or to save objects to (`save_to`)")
        .limits(
            Limits::new()
                .memory_mb(160)
                .fuel(20_000_000_000)
                .timeout_ms(60_000)
                .result_bytes(4 * 1024 * 1024),
        ),
    tools: [list, get, put, delete],
}

/// The plugin's name, for messages.
pub const TOOL: &str = "s3";

/// The most of a listing read (8 MiB).
const MAX_LISTING: u64 = 8 << 20;

fn err(e: S3Error) -> ToolError {
    ToolError::new(e.to_string())
}

/// Input of `list`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListInput {
    /// The bucket's URL, e.g. `https://s3.eu-west-1.amazonaws.com/reports/`.
    pub bucket: String,
    /// Only keys that start with this, e.g. `2026/11/`.
    #[serde(default)]
    pub prefix: Option<String>,
    /// Group keys by this (usually `/`): what lies below the next one comes back once, in
    /// `prefixes`, like folders.
    #[serde(default)]
    pub delimiter: Option<String>,
    /// At most this many objects (default 1000, at most 1000).
    #[serde(default)]
    pub max_keys: Option<u32>,
    /// The `next_token` of an earlier call, for the next page.
    #[serde(default)]
    pub continuation_token: Option<String>,
}

/// One object.
#[derive(Debug, Serialize, JsonSchema)]
pub struct Object {
    /// Its key.
    pub key: String,
    /// Its URL.
    pub url: String,
    /// Its size in bytes.
    pub size: u64,
    /// When it last changed (ISO 8601, UTC).
    pub modified: Option<String>,
    /// Its ETag.
    pub etag: Option<String>,
}

/// A page of a bucket's objects.
#[derive(Debug, Serialize, JsonSchema)]
pub struct ListOutput {
    /// The objects, by key.
    pub objects: Vec<Object>,
    /// With a delimiter: the prefixes below which there is more, like folders.
    pub prefixes: Vec<String>,
    /// Whether there are more: pass `next_token` as `continuation_token`.
    pub truncated: bool,
    /// The token of the next page.
    pub next_token: Option<String>,
}

/// Lists the objects of an S3 bucket whose keys start with a prefix (one page; `next_token` gives the next).
#[tool]
pub fn list(input: ListInput) -> Result<ListOutput, ToolError> {
    let bucket = Bucket::new(&input.bucket, "bucket").map_err(err)?;
    let max = input.max_keys.unwrap_or(1000).clamp(1, 1000).to_string();
    let mut query = vec![("list-type", "2"), ("max-keys", max.as_str())];
    for (name, value) in [
        ("prefix", &input.prefix),
        ("delimiter", &input.delimiter),
        ("continuation-token", &input.continuation_token),
    ] {
        if let Some(v) = value.as_deref().filter(|v| !v.is_empty()) {
            query.push((name, v));
        }
    }
    let url = bucket.with_query(&query);
    let response = send(&Request::new("GET", url.clone()), MAX_LISTING).map_err(err)?;
    if response.truncated {
        return Err(ToolError::new(format!(
            "{url}: the listing is over {MAX_LISTING} bytes; ask for fewer with max_keys"
        )));
    }
    let listing =
        xml::listing(&response.text()).map_err(|e| ToolError::new(format!("{url}: {e}")))?;
    let mut objects = Vec::new();
    for o in listing.objects {
        objects.push(Object {
            url: bucket.object(&o.key).map_err(err)?.to_string(),
            key: o.key,
            size: o.size,
            modified: o.modified,
            etag: o.etag,
        });
    }
    Ok(ListOutput {
        objects,
        prefixes: listing.prefixes,
        truncated: listing.truncated,
        next_token: listing.next_token,
    })
}

/// Input of `get`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GetInput {
    /// The bucket's URL, e.g. `https://s3.eu-west-1.amazonaws.com/reports/`.
    pub bucket: String,
    /// The object's key, e.g. `2026/11/summary.csv`.
    pub key: String,
    /// `auto` (default: text when it is UTF-8, else base64), `text` or `base64`.
    #[serde(default)]
    pub encoding: Option<String>,
    /// Return at most this many bytes (default 262144, at most 2097152).
    #[serde(default)]
    pub max_bytes: Option<u64>,
    /// Save the whole object (up to 32 MiB) to this path under `/data` instead of returning
    /// it, for other tools to read.
    #[serde(default)]
    pub save_to: Option<String>,
}

/// An object read.
#[derive(Debug, Serialize, JsonSchema)]
pub struct GetOutput {
    /// Its URL.
    pub url: String,
    /// Its size in bytes, when known.
    pub size: Option<u64>,
    /// Its media type.
    pub content_type: Option<String>,
    /// Its ETag.
    pub etag: Option<String>,
    /// `text` or `base64` (none when saved).
    pub encoding: Option<String>,
    /// The content (none when saved).
    pub content: Option<String>,
    /// Whether the content stops before the object's end.
    pub truncated: bool,
    /// Where it was saved, with `save_to`.
    pub saved_to: Option<String>,
    /// The bytes returned or saved.
    pub bytes: u64,
}

/// Gets an object from an S3 bucket: as text or base64 (bounded), or saved whole under /data for other tools.
#[tool]
pub fn get(input: GetInput) -> Result<GetOutput, ToolError> {
    let bucket = Bucket::new(&input.bucket, "bucket").map_err(err)?;
    let url = bucket.object(&input.key).map_err(err)?;
    let encoding = Encoding::parse(input.encoding.as_deref()).map_err(ToolError::new)?;
    let save = input
        .save_to
        .as_deref()
        .map(|p| spud_content::data_path("save_to", p))
        .transpose()
        .map_err(ToolError::new)?;
    let max = match save {
        Some(_) => MAX_FILE,
        None => input
            .max_bytes
            .unwrap_or(DEFAULT_CONTENT)
            .clamp(1, MAX_CONTENT),
    };
    let r = send(&Request::new("GET", url.clone()), max).map_err(err)?;
    let mut out = GetOutput {
        url: url.to_string(),
        size: r
            .header("content-length")
            .and_then(|l| l.trim().parse().ok())
            .or((!r.truncated).then_some(r.body.len() as u64)),
        content_type: r.header("content-type").map(str::to_string),
        etag: r.header("etag").map(str::to_string),
        encoding: None,
        content: None,
        truncated: r.truncated,
        saved_to: None,
        bytes: r.body.len() as u64,
    };
    if let Some(path) = save {
        if r.truncated {
            return Err(ToolError::new(format!(
                "{url} is larger than {MAX_FILE} bytes, the most saved at once; nothing was saved"
            )));
        }
        out.saved_to = Some(spud_content::save(&path, &r.body, TOOL).map_err(ToolError::new)?);
        return Ok(out);
    }
    let e = spud_content::encode(&r.body, r.truncated, encoding)
        .map_err(|e| ToolError::new(format!("{url}: {e}")))?;
    out.bytes = e.bytes;
    out.encoding = Some(e.encoding.to_string());
    out.content = Some(e.content);
    Ok(out)
}

/// Input of `put`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PutInput {
    /// The bucket's URL.
    pub bucket: String,
    /// The object's key, e.g. `2026/11/summary.csv` (an object under it is replaced).
    pub key: String,
    /// The content as text (UTF-8). Give exactly one of `text`, `base64`, `from_file`.
    #[serde(default)]
    pub text: Option<String>,
    /// The content as base64, for binary objects.
    #[serde(default)]
    pub base64: Option<String>,
    /// Upload this file under `/data` (up to 32 MiB), e.g. `reports/november.xlsx`.
    #[serde(default)]
    pub from_file: Option<String>,
    /// Its media type (default: from the key's extension).
    #[serde(default)]
    pub content_type: Option<String>,
}

/// The object stored.
#[derive(Debug, Serialize, JsonSchema)]
pub struct PutOutput {
    /// Its URL.
    pub url: String,
    /// Its key.
    pub key: String,
    /// Its size in bytes.
    pub size: u64,
    /// The server's ETag for it.
    pub etag: Option<String>,
}

/// Puts an object into an S3 bucket (replacing one under the same key) from text, base64 or a file under /data.
#[tool]
pub fn put(input: PutInput) -> Result<PutOutput, ToolError> {
    let bucket = Bucket::new(&input.bucket, "bucket").map_err(err)?;
    let url = bucket.object(&input.key).map_err(err)?;
    let body = spud_content::upload_bytes(
        input.text.as_deref(),
        input.base64.as_deref(),
        input.from_file.as_deref(),
        TOOL,
    )
    .map_err(ToolError::new)?;
    let size = body.len() as u64;
    let content_type = input
        .content_type
        .clone()
        .unwrap_or_else(|| spud_content::media_type(&input.key).to_string());
    let request = Request::new("PUT", url.clone())
        .with_header("content-type", content_type)
        .with_body(body);
    let r = send(&request, 64 << 10).map_err(err)?;
    Ok(PutOutput {
        url: url.to_string(),
        key: input.key,
        size,
        etag: r.header("etag").map(str::to_string),
    })
}

/// Input of `delete`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DeleteInput {
    /// The bucket's URL.
    pub bucket: String,
    /// The object's key.
    pub key: String,
}

/// What was deleted.
#[derive(Debug, Serialize, JsonSchema)]
pub struct DeleteOutput {
    /// Its URL.
    pub url: String,
    /// Whether an object was there (false: nothing to delete, nothing changed).
    pub existed: bool,
}

/// Deletes an object from an S3 bucket.
#[tool]
pub fn delete(input: DeleteInput) -> Result<DeleteOutput, ToolError> {
    let bucket = Bucket::new(&input.bucket, "bucket").map_err(err)?;
    let url = bucket.object(&input.key).map_err(err)?;
    // S3 answers a DELETE of nothing with success: ask first, to say so.
    let existed = match send(&Request::new("HEAD", url.clone()), 0) {
        Ok(_) => true,
        Err(S3Error::NoSuchKey { .. }) => false,
        Err(e) => return Err(err(e)),
    };
    if existed {
        send(&Request::new("DELETE", url.clone()), 64 << 10).map_err(err)?;
    }
    Ok(DeleteOutput {
        url: url.to_string(),
        existed,
    })
}
