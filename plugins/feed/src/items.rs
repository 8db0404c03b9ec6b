//! A parsed feed's entries as the items `read` returns: filtered, ordered, summarised.

use chrono::{DateTime, NaiveDate, Utc};
use feed_rs::model::{Entry, Feed, FeedType, Link};
use spud_sdk::prelude::*;

/// One item of a feed.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct Item {
    /// The item's id (its guid or Atom id; a stable hash when the feed gives none): pass it
    /// back in `exclude_ids` to skip it next time.
    pub id: String,
    /// The title, as text.
    pub title: Option<String>,
    /// The item's web page.
    pub link: Option<String>,
    /// When it was published (RFC 3339).
    pub published: Option<String>,
    /// When it was last updated (RFC 3339).
    pub updated: Option<String>,
    /// The summary (or the content, when there is no summary) as Markdown, cut at
    /// `max_summary_chars`.
    pub summary: Option<String>,
    /// Author names.
    pub authors: Vec<String>,
    /// Category labels (or terms).
    pub categories: Vec<String>,
}

/// How summaries are made.
#[derive(Debug, Clone, Copy)]
pub struct Summary {
    /// Characters kept at most.
    pub max_chars: usize,
}

/// `rss`, `atom` or `json`.
pub fn kind(t: &FeedType) -> &'static str {
    match t {
        FeedType::Atom => "atom",
        FeedType::JSON => "json",
        FeedType::RSS0 | FeedType::RSS1 | FeedType::RSS2 => "rss",
    }
}

/// A `since` argument: RFC 3339, or a date at midnight UTC.
pub fn parse_since(s: &str) -> Result<DateTime<Utc>, ToolError> {
    if let Ok(t) = DateTime::parse_from_rfc3339(s.trim()) {
        return Ok(t.with_timezone(&Utc));
    }
    NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc())
        .ok_or_else(|| {
            ToolError::new(format!(
                "since `{s}` is neither RFC 3339 (2026-11-30T09:00:00Z) nor a date (2026-11-30)"
            ))
        })
}

/// The entries after `since` (by their latest date; an entry without any date is kept) and not
/// in `exclude`, newest first (undated ones last, in feed order).
pub fn select(
    feed: &Feed,
    since: Option<DateTime<Utc>>,
    exclude: &[String],
    summary: &Summary,
) -> Vec<Item> {
    let mut kept: Vec<(Option<DateTime<Utc>>, &Entry)> = feed
        .entries
        .iter()
        .filter(|e| !exclude.contains(&e.id))
        .map(|e| (latest(e), e))
        .filter(|(when, _)| match (since, when) {
            (Some(s), Some(w)) => *w > s,
            _ => true,
        })
        .collect();
    // Stable: equal dates (and undated entries) keep the feed's order.
    kept.sort_by(|a, b| match (a.0, b.0) {
        (Some(x), Some(y)) => y.cmp(&x),
        (Some(_), None) => std::cmp::Ordering::Less,
        (None, Some(_)) => std::cmp::Ordering::Greater,
        (None, None) => std::cmp::Ordering::Equal,
    });
    kept.into_iter().map(|(_, e)| item(e, summary)).collect()
}

fn latest(e: &Entry) -> Option<DateTime<Utc>> {
    match (e.published, e.updated) {
        (Some(p), Some(u)) => Some(p.max(u)),
        (p, u) => p.or(u),
    }
}

fn item(e: &Entry, summary: &Summary) -> Item {
    let text = e
        .summary
        .as_ref()
        .map(|t| t.content.clone())
        .or_else(|| e.content.as_ref().and_then(|c| c.body.clone()));
    Item {
        id: e.id.clone(),
        title: e.title.as_ref().map(|t| plain(&t.content)),
        link: first_link(&e.links),
        published: e.published.map(|d| d.to_rfc3339()),
        updated: e.updated.map(|d| d.to_rfc3339()),
        summary: text.map(|t| cut(&plain(&t), summary.max_chars)),
        authors: e.authors.iter().filter_map(|p| p.name.clone()).collect(),
        categories: e
            .categories
            .iter()
            .map(|c| c.label.clone().unwrap_or_else(|| c.term.clone()))
            .collect(),
    }
}

/// The `alternate` link (or the first one without a `rel`, or the first one).
pub fn first_link(links: &[Link]) -> Option<String> {
    links
        .iter()
        .find(|l| l.rel.as_deref() == Some("alternate"))
        .or_else(|| links.iter().find(|l| l.rel.is_none()))
        .or_else(|| links.first())
        .map(|l| l.href.clone())
}

/// Text that may hold HTML, as Markdown (plain text stays as it is), whitespace trimmed.
pub fn plain(text: &str) -> String {
    let looks_html = text.contains('<') && text.contains('>');
    let out = if looks_html {
        htmd::HtmlToMarkdown::builder()
            .skip_tags(vec!["script", "style", "iframe", "form"])
            .build()
            .convert(text)
            .unwrap_or_else(|_| text.to_string())
    } else {
        text.to_string()
    };
    out.trim().to_string()
}

fn cut(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let mut out: String = text.chars().take(max).collect();
    out.push('…');
    out
}

/// `- [title](link) (date)` per item.
pub fn digest(items: &[Item]) -> String {
    let mut out = String::new();
    for i in items {
        let title = i.title.as_deref().unwrap_or("(untitled)");
        match &i.link {
            Some(l) => out.push_str(&format!("- [{title}]({l})")),
            None => out.push_str(&format!("- {title}")),
        }
        if let Some(d) = i.published.as_deref().or(i.updated.as_deref()) {
            out.push_str(&format!(" ({})", d.get(..10).unwrap_or(d)));
        }
        out.push('\n');
    }
    out
}
