//! A WebDAV `multistatus` answer (RFC 4918) as entries: each response's href, the text of the
//! properties the server found (status 200), and its resource types. Names are matched by
//! their local part (`displayname`, `calendar-data`), whatever the namespace prefix.

use quick_xml::events::Event;
use quick_xml::Reader;
use std::collections::BTreeMap;

/// One `response` of a multistatus.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Entry {
    /// The resource's href, as the server wrote it (usually an absolute path).
    pub href: String,
    /// Property (local name) → its text, for the properties found.
    pub props: BTreeMap<String, String>,
    /// The local names inside `resourcetype`, e.g. `collection`, `calendar`, `addressbook`.
    pub types: Vec<String>,
}

impl Entry {
    /// The text of property `name` (local name), if found.
    pub fn prop(&self, name: &str) -> Option<&str> {
        self.props.get(name).map(String::as_str)
    }

    /// Whether `resourcetype` holds `name`.
    pub fn is(&self, name: &str) -> bool {
        self.types.iter().any(|t| t == name)
    }
}

/// What the parser is inside of.
#[derive(Default)]
struct State {
    entry: Option<Entry>,
    /// Props of the current propstat, kept only if its status is 200.
    props: BTreeMap<String, String>,
    types: Vec<String>,
    status_ok: bool,
    /// Element names from the root down.
    path: Vec<String>,
    text: String,
}

/// Parses a multistatus document.
pub fn parse(xml: &str) -> Result<Vec<Entry>, String> {
    let mut reader = Reader::from_str(xml);
    let mut s = State::default();
    let mut out = Vec::new();
    loop {
        let event = reader
            .read_event()
            .map_err(|e| format!("the server's multistatus is not XML: {e}"))?;
        match event {
            Event::Start(e) => {
                let name = e.local_name().as_ref().to_string();
                s.start(&name);
                s.path.push(name);
            }
            Event::Empty(e) => {
                let name = e.local_name().as_ref().to_string();
                s.start(&name);
                s.path.push(name.clone());
                s.end(&name, &mut out);
                s.path.pop();
            }
            Event::End(e) => {
                let name = e.local_name().as_ref().to_string();
                s.end(&name, &mut out);
                s.path.pop();
            }
            Event::Text(t) => s.text.push_str(&t.xml10_content()),
            Event::CData(t) => s.text.push_str(&t.xml10_content()),
            Event::GeneralRef(r) => {
                let name = r.xml10_content();
                let c = match name.as_ref() {
                    "amp" => Some('&'),
                    "lt" => Some('<'),
                    "gt" => Some('>'),
                    "quot" => Some('"'),
                    "apos" => Some('\''),
                    _ => r.resolve_char_ref().ok().flatten(),
                };
                if let Some(c) = c {
                    s.text.push(c);
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    Ok(out)
}

impl State {
    fn parent(&self) -> Option<&str> {
        self.path.last().map(String::as_str)
    }

    fn start(&mut self, name: &str) {
        match name {
            "response" => self.entry = Some(Entry::default()),
            "propstat" => {
                self.props.clear();
                self.types.clear();
                self.status_ok = false;
            }
            _ => {}
        }
        if self.parent() == Some("resourcetype") {
            self.types.push(name.to_string());
        }
        self.text.clear();
    }

    fn end(&mut self, name: &str, out: &mut Vec<Entry>) {
        let text = std::mem::take(&mut self.text);
        match name {
            "href" if self.parent_is("response", 1) => {
                if let Some(e) = &mut self.entry {
                    e.href = text.trim().to_string();
                }
            }
            "status" if self.parent_is("propstat", 1) => {
                self.status_ok = text.split_whitespace().nth(1) == Some("200");
            }
            "propstat" => {
                if let (true, Some(e)) = (self.status_ok, &mut self.entry) {
                    e.props.append(&mut self.props);
                    e.types.append(&mut self.types);
                }
            }
            "response" => {
                if let Some(e) = self.entry.take() {
                    out.push(e);
                }
            }
            _ if self.parent_is("prop", 1) => {
                self.props.insert(name.to_string(), text);
            }
            _ => {}
        }
    }

    /// Whether the element `up` levels above the one closing is `name`.
    fn parent_is(&self, name: &str, up: usize) -> bool {
        self.path
            .len()
            .checked_sub(1 + up)
            .is_some_and(|i| self.path[i] == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PROPFIND: &str = r#"<?xml version='1.0' encoding='utf-8'?>
<multistatus xmlns="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><response><href>/shop/</href><propstat><prop><displayname /></prop><status>HTTP/1.1 404 Not Found</status></propstat><propstat><prop><resourcetype><principal /><collection /></resourcetype></prop><status>HTTP/1.1 200 OK</status></propstat></response><response><href>/shop/team/</href><propstat><prop><displayname>Work &amp; more</displayname><resourcetype><C:calendar /><collection /></resourcetype></prop><status>HTTP/1.1 200 OK</status></propstat></response></multistatus>"#;

    #[test]
    fn reads_responses_props_and_types() {
        let entries = parse(PROPFIND).unwrap();
        assert_eq!(entries.len(), 2);
        assert_eq!(entries[0].href, "/shop/");
        assert_eq!(
            entries[0].prop("displayname"),
            None,
            "404 props are left out"
        );
        assert!(entries[0].is("principal"));
        assert_eq!(entries[1].prop("displayname"), Some("Work & more"));
        assert_eq!(entries[1].types, ["calendar", "collection"]);
    }

    #[test]
    fn keeps_calendar_data_text() {
        let xml = "<D:multistatus xmlns:D=\"DAV:\" xmlns:C=\"urn:ietf:params:xml:ns:caldav\"><D:response>\
                   <D:href>/a/e1.ics</D:href><D:propstat><D:prop><D:getetag>\"x\"</D:getetag>\
                   <C:calendar-data>BEGIN:VCALENDAR\nSUMMARY:a &lt; b\nEND:VCALENDAR\n</C:calendar-data>\
                   </D:prop><D:status>HTTP/1.1 200 OK</D:status></D:propstat></D:response></D:multistatus>";
        let e = &parse(xml).unwrap()[0];
        assert_eq!(e.prop("getetag"), Some("\"x\""));
        assert_eq!(
            e.prop("calendar-data"),
            Some("BEGIN:VCALENDAR\nSUMMARY:a < b\nEND:VCALENDAR\n")
        );
        assert!(parse("<a><b></a>").is_err());
    }
}
