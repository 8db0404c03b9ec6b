//! The inline links `[text](url)` of Markdown, in order.

use spud_sdk::prelude::*;

/// One link.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct Link {
    /// Its text.
    pub text: String,
    /// Where it points.
    pub url: String,
}

/// Every `[text](url)` in `md` (images, `![…](…)`, left out).
pub fn links(md: &str) -> Vec<Link> {
    let mut out = Vec::new();
    let b = md.as_bytes();
    let mut i = 0;
    while let Some(off) = md[i..].find("](") {
        let close = i + off;
        let Some(open) = md[..close].rfind('[') else {
            i = close + 2;
            continue;
        };
        let url_start = close + 2;
        let Some(url_len) = md[url_start..].find(')') else {
            break;
        };
        let image = open > 0 && b[open - 1] == b'!';
        let url = md[url_start..url_start + url_len]
            .split_whitespace()
            .next()
            .unwrap_or("")
            .to_string();
        if !image && !url.is_empty() {
            out.push(Link {
                text: md[open + 1..close].to_string(),
                url,
            });
        }
        i = url_start + url_len;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_inline_links_not_images() {
        let l = links("See [the docs](https://x.test/d \"t\") and ![logo](l.png), [a](/b).");
        assert_eq!(
            l,
            [
                Link {
                    text: "the docs".into(),
                    url: "https://x.test/d".into()
                },
                Link {
                    text: "a".into(),
                    url: "/b".into()
                }
            ]
        );
        assert!(links("no links ] ( here").is_empty());
    }
}
