//! spud's first-party HTML connector: a page (HTML text, or a file in a granted `/data`) as
//! Markdown a model can read — scripts, styles and page chrome (navigation, header, footer,
//! forms) left out unless asked for — with its title and its links. It needs no grant for
//! HTML passed in; reading a file needs `/data`.

mod links;

pub use links::{links, Link};
use spud_sdk::prelude::*;

spud_sdk::export_plugin! {
    name: "html",
    description: "HTML to readable Markdown, with the page's title and links.",
    requests: Requests::new()
        .file("/data", Access::ReadOnly, "HTML files to convert (only for `path`)")
        .limits(
            Limits::new()
                .memory_mb(128)
                .fuel(20_000_000_000)
                .timeout_ms(30_000)
                .result_bytes(8 * 1024 * 1024),
        ),
    tools: [to_markdown],
}

/// Tags left out of the readable view: code, styling and page chrome.
const CHROME: [&str; 12] = [
    "script", "style", "noscript", "template", "iframe", "svg", "nav", "header", "footer", "aside",
    "form", "head",
];

/// Input of `to_markdown`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MarkdownInput {
    /// The HTML text (give this or `path`).
    #[serde(default)]
    pub html: Option<String>,
    /// An HTML file under `/data` (give this or `html`).
    #[serde(default)]
    pub path: Option<String>,
    /// Keep navigation, header, footer, aside and forms (default false: the readable part only).
    #[serde(default)]
    pub keep_chrome: bool,
    /// Cut the Markdown at this many characters (default 100000).
    #[serde(default)]
    pub max_chars: Option<u32>,
}

/// A page as Markdown.
#[derive(Debug, Serialize, JsonSchema)]
pub struct MarkdownOutput {
    /// The page's `<title>`, if any.
    pub title: Option<String>,
    /// The page as Markdown.
    pub markdown: String,
    /// Whether it was cut at `max_chars`.
    pub truncated: bool,
    /// The links of the Markdown, in order.
    pub links: Vec<Link>,
}

/// Turns HTML into readable Markdown (scripts, styles and page chrome left out) with its title and links.
#[tool]
pub fn to_markdown(input: MarkdownInput) -> Result<MarkdownOutput, ToolError> {
    let html = match (input.html, input.path) {
        (Some(h), None) => h,
        (None, Some(p)) => std::fs::read_to_string(std::path::Path::new("/data").join(&p))
            .map_err(|e| ToolError::new(format!("{p}: {e}")))?,
        _ => return Err(ToolError::new("give exactly one of `html` and `path`")),
    };
    let skip: Vec<&str> = if input.keep_chrome {
        CHROME[..6].to_vec()
    } else {
        CHROME.to_vec()
    };
    let converter = htmd::HtmlToMarkdown::builder().skip_tags(skip).build();
    let mut markdown = converter
        .convert(&html)
        .map_err(|e| ToolError::new(format!("the HTML cannot be converted: {e}")))?;
    let max = input.max_chars.unwrap_or(100_000) as usize;
    let truncated = markdown.chars().count() > max;
    if truncated {
        markdown = markdown.chars().take(max).collect();
    }
    Ok(MarkdownOutput {
        title: title(&html),
        links: links(&markdown),
        markdown,
        truncated,
    })
}

/// The text of the first `<title>` element, entities for `&`, `<`, `>` and quotes decoded.
pub fn title(html: &str) -> Option<String> {
    let lower = html.to_ascii_lowercase();
    let open = lower.find("<title")?;
    let start = open + lower[open..].find('>')? + 1;
    let end = start + lower[start..].find("</title")?;
    let t = html[start..end]
        .replace("&amp;", "&")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'");
    let t = t.split_whitespace().collect::<Vec<_>>().join(" ");
    (!t.is_empty()).then_some(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_becomes_readable_markdown() {
        let page = r#"<html><head><title>Spring &amp; sale</title><style>p{}</style></head>
<body><nav><a href="/home">Home</a></nav><h1>Sale</h1><p>All <b>bolts</b> 20% off.
<a href="https://shop.test/bolts">Buy</a></p><script>track()</script><footer>(c)</footer></body></html>"#;
        let out = to_markdown(MarkdownInput {
            html: Some(page.into()),
            path: None,
            keep_chrome: false,
            max_chars: None,
        })
        .unwrap();
        assert_eq!(out.title.as_deref(), Some("Spring & sale"));
        assert!(out.markdown.contains("# Sale"), "{}", out.markdown);
        assert!(out.markdown.contains("**bolts**"), "{}", out.markdown);
        assert!(!out.markdown.contains("track()") && !out.markdown.contains("Home"));
        assert_eq!(
            out.links,
            [Link {
                text: "Buy".into(),
                url: "https://shop.test/bolts".into()
            }]
        );
        let all = to_markdown(MarkdownInput {
            html: Some(page.into()),
            path: None,
            keep_chrome: true,
            max_chars: Some(10),
        })
        .unwrap();
        assert!(all.truncated && all.markdown.chars().count() == 10);
        assert!(to_markdown(MarkdownInput {
            html: None,
            path: None,
            keep_chrome: false,
            max_chars: None
        })
        .is_err());
    }
}
