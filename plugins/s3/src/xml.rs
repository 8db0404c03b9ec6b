//! The S3 API's XML answers: a `ListBucketResult` (ListObjectsV2) and an `Error` document. Names
//! are matched by their local part, whatever the namespace.

use quick_xml::events::Event;
use quick_xml::Reader;

/// One object of a listing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Object {
    /// Its key.
    pub key: String,
    /// Its size in bytes.
    pub size: u64,
    /// When it last changed, as the server wrote it (ISO 8601).
    pub modified: Option<String>,
    /// Its ETag.
    pub etag: Option<String>,
}

/// A `ListBucketResult`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Listing {
    /// The objects, in key order.
    pub objects: Vec<Object>,
    /// The common prefixes (the "folders" under a delimiter).
    pub prefixes: Vec<String>,
    /// Whether there is more.
    pub truncated: bool,
    /// The token that lists the rest.
    pub next_token: Option<String>,
}

/// An S3 `Error` document's code and message.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ApiError {
    /// e.g. `NoSuchKey`.
    pub code: String,
    /// The server's words.
    pub message: String,
}

/// Calls `on(path, text)` for each element's text, `path` the local names from the root down.
fn walk(xml: &str, mut on: impl FnMut(&[String], &str)) -> Result<(), String> {
    let mut reader = Reader::from_str(xml);
    let mut path: Vec<String> = Vec::new();
    let mut text = String::new();
    loop {
        match reader
            .read_event()
            .map_err(|e| format!("the server's answer is not XML: {e}"))?
        {
            Event::Start(e) => {
                path.push(e.local_name().as_ref().to_string());
                text.clear();
            }
            Event::Empty(e) => {
                path.push(e.local_name().as_ref().to_string());
                on(&path, "");
                path.pop();
            }
            Event::End(_) => {
                on(&path, &text);
                text.clear();
                path.pop();
            }
            Event::Text(t) => text.push_str(&t.xml10_content()),
            Event::CData(t) => text.push_str(&t.xml10_content()),
            Event::GeneralRef(r) => {
                let c = match r.xml10_content().as_ref() {
                    "amp" => Some('&'),
                    "lt" => Some('<'),
                    "gt" => Some('>'),
                    "quot" => Some('"'),
                    "apos" => Some('\''),
                    _ => r.resolve_char_ref().ok().flatten(),
                };
                text.extend(c);
            }
            Event::Eof => return Ok(()),
            _ => {}
        }
    }
}

/// Parses a ListObjectsV2 answer.
pub fn listing(xml: &str) -> Result<Listing, String> {
    let mut out = Listing::default();
    let mut current = Object::default();
    walk(xml, |path, text| {
        let names: Vec<&str> = path.iter().map(String::as_str).collect();
        match names.as_slice() {
            [_, "Contents", "Key"] => current.key = text.to_string(),
            [_, "Contents", "Size"] => current.size = text.trim().parse().unwrap_or_default(),
            [_, "Contents", "LastModified"] => current.modified = Some(text.trim().to_string()),
            [_, "Contents", "ETag"] => current.etag = Some(text.trim().to_string()),
            [_, "Contents"] => out.objects.push(std::mem::take(&mut current)),
            [_, "CommonPrefixes", "Prefix"] => out.prefixes.push(text.to_string()),
            [_, "IsTruncated"] => out.truncated = text.trim() == "true",
            [_, "NextContinuationToken"] => out.next_token = Some(text.trim().to_string()),
            _ => {}
        }
    })?;
    Ok(out)
}

/// Parses an `Error` document; `None` when the body is not one.
pub fn api_error(xml: &str) -> Option<ApiError> {
    let mut out = ApiError::default();
    walk(xml, |path, text| match path {
        [root, code] if root == "Error" && code == "Code" => out.code = text.trim().to_string(),
        [root, m] if root == "Error" && m == "Message" => out.message = text.trim().to_string(),
        _ => {}
    })
    .ok()?;
    (!out.code.is_empty()).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_listing() {
        let xml = r#"<?xml version="1.0" encoding="UTF-8"?>
<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>reports</Name><Prefix>2026/</Prefix>
<KeyCount>2</KeyCount><MaxKeys>1000</MaxKeys><IsTruncated>true</IsTruncated>
<NextContinuationToken>tok-1</NextContinuationToken>
<Contents><Key>2026/a &amp; b.csv</Key><LastModified>2026-12-02T17:00:00.000Z</LastModified><ETag>&quot;e1&quot;</ETag><Size>12</Size><StorageClass>STANDARD</StorageClass></Contents>
<Contents><Key>2026/c.xlsx</Key><Size>7</Size></Contents>
<CommonPrefixes><Prefix>2026/11/</Prefix></CommonPrefixes></ListBucketResult>"#;
        let l = listing(xml).unwrap();
        assert_eq!(l.objects.len(), 2);
        assert_eq!(l.objects[0].key, "2026/a & b.csv");
        assert_eq!(l.objects[0].etag.as_deref(), Some("\"e1\""));
        assert_eq!(l.objects[0].size, 12);
        assert_eq!(l.objects[1].modified, None);
        assert_eq!(l.prefixes, ["2026/11/"]);
        assert!(l.truncated);
        assert_eq!(l.next_token.as_deref(), Some("tok-1"));
    }

    #[test]
    fn reads_an_error() {
        let xml = "<?xml version=\"1.0\"?><Error><Code>NoSuchKey</Code><Message>The specified key does not exist.</Message><Key>x</Key></Error>";
        let e = api_error(xml).unwrap();
        assert_eq!(e.code, "NoSuchKey");
        assert_eq!(e.message, "The specified key does not exist.");
        assert_eq!(api_error("<html>500</html>"), None);
        assert_eq!(api_error(""), None);
    }
}
