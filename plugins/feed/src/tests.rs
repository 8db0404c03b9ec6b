//! Native tests over real feed files (the ones the integration test serves).

use super::items::{digest, parse_since, select, Summary};

const RSS: &str = include_str!("../../../tests/servers/feeds/supplier-news.rss");
const ATOM: &str = include_str!("../../../tests/servers/feeds/status.atom");

fn parse(text: &str) -> feed_rs::model::Feed {
    feed_rs::parser::parse(text.as_bytes()).unwrap()
}

const SUMMARY: Summary = Summary { max_chars: 500 };

#[test]
fn rss_items_come_newest_first_with_markdown_summaries() {
    let feed = parse(RSS);
    assert_eq!(super::items::kind(&feed.feed_type), "rss");
    let items = select(&feed, None, &[], &SUMMARY);
    let ids: Vec<&str> = items.iter().map(|i| i.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "fsc-news-2026-118",
            "fsc-news-2026-117",
            "fsc-news-2026-112"
        ]
    );
    let first = &items[0];
    assert_eq!(
        first.title.as_deref(),
        Some("Price rise on stainless M8 bolts from 1 January")
    );
    assert_eq!(
        first.link.as_deref(),
        Some("https://supplier.example/news/m8-price-2027")
    );
    let summary = first.summary.as_deref().unwrap();
    assert!(summary.contains("**M8**"), "{summary}");
    assert!(
        summary.contains("[Price list](https://supplier.example/prices)"),
        "{summary}"
    );
    assert_eq!(first.categories, ["Prices"]);
    assert_eq!(
        first.published.as_deref(),
        Some("2026-12-01T16:30:00+00:00")
    );
}

#[test]
fn since_and_exclude_ids_leave_out_what_was_seen() {
    let feed = parse(RSS);
    let since = parse_since("2026-11-25").unwrap();
    let items = select(&feed, Some(since), &["fsc-news-2026-118".into()], &SUMMARY);
    assert_eq!(items.len(), 1);
    assert_eq!(items[0].id, "fsc-news-2026-117");
    assert_eq!(
        digest(&items),
        "- [Christmas shipping: last orders 18 December](https://supplier.example/news/christmas-shipping) (2026-11-30)\n"
    );
    let later = parse_since("2026-12-01T17:00:00Z").unwrap();
    assert!(select(&feed, Some(later), &[], &SUMMARY).is_empty());
    assert!(parse_since("yesterday").is_err());
}

#[test]
fn atom_titles_and_summaries_lose_their_html() {
    let feed = parse(ATOM);
    assert_eq!(super::items::kind(&feed.feed_type), "atom");
    let items = select(&feed, None, &[], &Summary { max_chars: 20 });
    assert_eq!(
        items[0].title.as_deref(),
        Some("Payments delayed *(resolved)*")
    );
    assert_eq!(items[0].authors, ["Platform team"]);
    assert_eq!(
        items[0].link.as_deref(),
        Some("https://status.shop.example/incidents/4411")
    );
    assert_eq!(items[0].summary.as_deref(), Some("Card payments were d…"));
    // No summary: the content stands in.
    assert!(items[1]
        .summary
        .as_deref()
        .unwrap()
        .starts_with("The shop is"));
}

#[test]
fn neither_or_both_sources_is_an_error() {
    let call = |json: &str| super::__spud_plugin().call("read", json);
    assert!(call("{}")
        .unwrap_err()
        .contains("exactly one of `url` and `path`"));
    assert!(call(r#"{"path": "../x"}"#).unwrap_err().contains("`..`"));
    assert!(call(r#"{"url": "ftp://x/feed"}"#)
        .unwrap_err()
        .contains("bad url"));
}
