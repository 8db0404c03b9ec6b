//! spud's first-party feed connector: an RSS, Atom or JSON feed — fetched over HTTP from a URL
//! the operator grants, or read from a file in a granted `/data` — as items a model can use:
//! title, link, dates, authors, categories and a short Markdown summary, newest first, with the
//! ones already seen (by id) or older than a date left out, and a ready-made Markdown digest.

mod items;

pub use items::{Item, Summary};
use spud_sdk::http::{Request, Url};
use spud_sdk::prelude::*;

/// The most of a feed read (8 MiB).
const MAX_FEED_BYTES: u64 = 8 << 20;

spud_sdk::export_plugin! {
    name: "feed",
    description: "Read RSS and Atom feeds (over HTTP from granted hosts, or from /data): new items since a date.",
    requests: Requests::new()
        .network("http://*:*")
        .network("https://*:*")
        .file("/data", Access::ReadOnly, "feed files to read (only for `path`)")
        .limits(
            Limits::new()
                .memory_mb(64)
                .fuel(10_000_000_000)
                .timeout_ms(30_000)
                .result_bytes(4 * 1024 * 1024),
        ),
    tools: [read],
}

/// Input of `read`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReadInput {
    /// The feed's `http(s)://` URL (give this or `path`).
    #[serde(default)]
    pub url: Option<String>,
    /// A feed file under `/data` (give this or `url`).
    #[serde(default)]
    pub path: Option<String>,
    /// Only items published or updated after this time: RFC 3339 (`2026-11-30T09:00:00Z`) or a
    /// date (`2026-11-30`, midnight UTC).
    #[serde(default)]
    pub since: Option<String>,
    /// Ids of items already handled (from an earlier `read`): left out.
    #[serde(default)]
    pub exclude_ids: Vec<String>,
    /// Return at most this many items, newest first (default 20).
    #[serde(default)]
    pub max_items: Option<u32>,
    /// Cut each summary at this many characters (default 500).
    #[serde(default)]
    pub max_summary_chars: Option<u32>,
}

/// A feed as read.
#[derive(Debug, Serialize, JsonSchema)]
pub struct ReadOutput {
    /// `rss`, `atom` or `json`.
    pub kind: String,
    /// The feed's title.
    pub title: Option<String>,
    /// The feed's web page.
    pub link: Option<String>,
    /// When the feed says it was last updated (RFC 3339).
    pub updated: Option<String>,
    /// The items left after `since` and `exclude_ids`, newest first, at most `max_items`.
    pub items: Vec<Item>,
    /// Items in the feed.
    pub total_items: u64,
    /// Items left after `since` and `exclude_ids` (more than `items` when cut).
    pub matching_items: u64,
    /// The returned items as a Markdown list (`- [title](link) (date)`), empty when none: ready
    /// to post or mail.
    pub digest: String,
}

/// Reads an RSS, Atom or JSON feed from a URL (granted hosts only) or a file under `/data`; returns its items newest first, leaving out those older than `since` or listed in `exclude_ids`.
#[tool]
pub fn read(input: ReadInput) -> Result<ReadOutput, ToolError> {
    let since = input.since.as_deref().map(items::parse_since).transpose()?;
    let bytes = match (&input.url, &input.path) {
        (Some(url), None) => fetch(url)?,
        (None, Some(path)) => read_file(path)?,
        _ => return Err(ToolError::new("give exactly one of `url` and `path`")),
    };
    let feed = feed_rs::parser::parse(&bytes[..]).map_err(|e| {
        ToolError::new(format!(
            "{} is not an RSS, Atom or JSON feed: {e}",
            input
                .url
                .as_deref()
                .or(input.path.as_deref())
                .unwrap_or("the input")
        ))
    })?;
    let summary = Summary {
        max_chars: input.max_summary_chars.unwrap_or(500) as usize,
    };
    let selected = items::select(&feed, since, &input.exclude_ids, &summary);
    let matching_items = selected.len() as u64;
    let items: Vec<Item> = selected
        .into_iter()
        .take(input.max_items.unwrap_or(20) as usize)
        .collect();
    Ok(ReadOutput {
        kind: items::kind(&feed.feed_type).to_string(),
        title: feed.title.as_ref().map(|t| items::plain(&t.content)),
        link: items::first_link(&feed.links),
        updated: feed.updated.map(|d| d.to_rfc3339()),
        total_items: feed.entries.len() as u64,
        matching_items,
        digest: items::digest(&items),
        items,
    })
}

/// GETs the feed (no redirects: a moved feed is reported with where it went).
fn fetch(url: &str) -> Result<Vec<u8>, ToolError> {
    let url = Url::parse(url).map_err(|e| ToolError::new(format!("bad url: {e}")))?;
    let request = Request::new("GET", url).with_header(
        "accept",
        "application/atom+xml, application/rss+xml, application/feed+json, application/xml;q=0.9, */*;q=0.8",
    );
    let response = spud_sdk::http::send(&request, MAX_FEED_BYTES)
        .map_err(|e| ToolError::new(e.describe(&request.url)))?;
    if let (300..=399, Some(to)) = (response.status, response.header("location")) {
        return Err(ToolError::new(format!(
            "{} moved ({}) to {to}: read that URL instead (its host must be granted too)",
            request.url, response.status
        )));
    }
    if !response.is_success() {
        let body: String = response.text().chars().take(500).collect();
        return Err(ToolError::new(format!(
            "{} answered HTTP {}: {body}",
            request.url, response.status
        )));
    }
    if response.truncated {
        return Err(ToolError::new(format!(
            "{} is over {MAX_FEED_BYTES} bytes; not a feed this tool reads",
            request.url
        )));
    }
    Ok(response.body)
}

/// Reads `path` under `/data` (`..` refused).
fn read_file(path: &str) -> Result<Vec<u8>, ToolError> {
    let p = std::path::Path::new("/data").join(path);
    if p.components()
        .any(|c| matches!(c, std::path::Component::ParentDir))
    {
        return Err(ToolError::new(format!("`{path}` may not contain `..`")));
    }
    std::fs::read(&p).map_err(|e| ToolError::new(format!("{}: {e}", p.display())))
}

#[cfg(test)]
mod tests;
