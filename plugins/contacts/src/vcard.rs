//! Contacts as vCard (RFC 6350; versions 3.0 and 4.0 read, 3.0 written).

use spud_dav::lines::{self, Line, Writer};
use spud_sdk::prelude::*;

/// One contact, as the tools return it.
#[derive(Debug, Clone, Serialize, JsonSchema, PartialEq, Eq)]
pub struct Contact {
    /// Its UID.
    pub uid: String,
    /// The full name (FN).
    pub name: String,
    /// Email addresses, in order.
    pub emails: Vec<String>,
    /// Phone numbers, in order.
    pub phones: Vec<String>,
    /// The organization.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub organization: Option<String>,
    /// The job title.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Notes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// The URL of the vCard object.
    pub url: String,
}

impl Contact {
    /// Whether every word of `query` is in the name, an email, a phone number, the
    /// organization, the title or the notes (case-insensitive).
    pub fn matches(&self, query: &str) -> bool {
        let hay = [
            self.name.as_str(),
            self.organization.as_deref().unwrap_or(""),
            self.title.as_deref().unwrap_or(""),
            self.note.as_deref().unwrap_or(""),
        ]
        .into_iter()
        .chain(self.emails.iter().map(String::as_str))
        .chain(self.phones.iter().map(String::as_str))
        .collect::<Vec<_>>()
        .join("\n")
        .to_lowercase();
        query
            .split_whitespace()
            .all(|w| hay.contains(&w.to_lowercase()))
    }
}

/// The vCards of one address book object (`href` is where it lives).
pub fn contacts(text: &str, href: &str) -> Vec<Contact> {
    let all = lines::parse(text);
    lines::components(&all, "VCARD")
        .iter()
        .map(|card| contact(card, href))
        .collect()
}

fn contact(card: &[Line], href: &str) -> Contact {
    let text = |n: &str| {
        card.iter()
            .find(|l| l.name == n)
            .map(Line::text)
            .filter(|t| !t.trim().is_empty())
    };
    let all = |n: &str| -> Vec<String> {
        card.iter()
            .filter(|l| l.name == n)
            .map(|l| {
                let v = l.text();
                v.strip_prefix("mailto:")
                    .or_else(|| v.strip_prefix("tel:"))
                    .unwrap_or(&v)
                    .trim()
                    .to_string()
            })
            .filter(|v| !v.is_empty())
            .collect()
    };
    // N is `family;given;additional;prefix;suffix`: a name when FN is missing.
    let from_n = || {
        card.iter().find(|l| l.name == "N").map(|l| {
            let parts: Vec<String> = l.value.split(';').map(lines::unescape).collect();
            let order = [3, 1, 2, 0, 4];
            order
                .iter()
                .filter_map(|&i| parts.get(i))
                .filter(|p| !p.is_empty())
                .cloned()
                .collect::<Vec<_>>()
                .join(" ")
        })
    };
    Contact {
        uid: text("UID").unwrap_or_default(),
        name: text("FN").or_else(from_n).unwrap_or_default(),
        emails: all("EMAIL"),
        phones: all("TEL"),
        organization: card
            .iter()
            .find(|l| l.name == "ORG")
            .map(|l| {
                l.value
                    .split(';')
                    .map(lines::unescape)
                    .filter(|p| !p.is_empty())
                    .collect::<Vec<_>>()
                    .join(", ")
            })
            .filter(|o| !o.is_empty()),
        title: text("TITLE"),
        note: text("NOTE"),
        url: href.to_string(),
    }
}

/// What a new contact holds.
#[derive(Debug, Default)]
pub struct NewContact<'a> {
    /// Its UID.
    pub uid: &'a str,
    /// Full name.
    pub name: &'a str,
    /// Given name, if known (for N).
    pub given: Option<&'a str>,
    /// Family name, if known (for N).
    pub family: Option<&'a str>,
    /// Email addresses.
    pub emails: &'a [String],
    /// Phone numbers.
    pub phones: &'a [String],
    /// Organization.
    pub organization: Option<&'a str>,
    /// Job title.
    pub title: Option<&'a str>,
    /// Notes.
    pub note: Option<&'a str>,
}

/// The vCard 3.0 object for a new contact.
pub fn write_contact(c: &NewContact<'_>) -> String {
    let esc = lines::escape;
    let mut w = Writer::new();
    w.line("BEGIN", "VCARD")
        .line("VERSION", "3.0")
        .line("PRODID", "-//spud//contacts connector//EN")
        .text("UID", c.uid)
        .text("FN", c.name)
        .line(
            "N",
            &format!(
                "{};{};;;",
                esc(c.family.unwrap_or("")),
                esc(c
                    .given
                    .unwrap_or(if c.family.is_none() { c.name } else { "" }))
            ),
        );
    for e in c.emails {
        w.text("EMAIL;TYPE=INTERNET", e.trim());
    }
    for p in c.phones {
        w.text("TEL", p.trim());
    }
    if let Some(o) = c.organization {
        w.text("ORG", o);
    }
    if let Some(t) = c.title {
        w.text("TITLE", t);
    }
    if let Some(n) = c.note {
        w.text("NOTE", n);
    }
    w.line("END", "VCARD");
    w.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_cards_and_matches_words() {
        let text = "BEGIN:VCARD\nVERSION:3.0\nUID:c1\nEMAIL;TYPE=work:ann@acme.example\nFN:Ann Lee\n\
                    N:Lee;Ann;;;\nORG:Acme Builders;Sales\nTEL:+44 20 1234\nEND:VCARD\n\
                    BEGIN:VCARD\nVERSION:4.0\nUID:c2\nN:Stone;Bob;;Dr.;\nEMAIL:mailto:bob@x.example\nEND:VCARD\n";
        let cs = contacts(text, "/shop/contacts/c.vcf");
        assert_eq!(cs[0].name, "Ann Lee");
        assert_eq!(cs[0].organization.as_deref(), Some("Acme Builders, Sales"));
        assert_eq!(cs[0].phones, ["+44 20 1234"]);
        assert_eq!(cs[1].name, "Dr. Bob Stone");
        assert_eq!(cs[1].emails, ["bob@x.example"]);
        assert!(cs[0].matches("acme ann"));
        assert!(cs[0].matches("ANN@ACME"));
        assert!(!cs[0].matches("acme bob"));
    }

    #[test]
    fn a_new_contact_reads_back() {
        let card = write_contact(&NewContact {
            uid: "u1",
            name: "Cara Diaz",
            given: Some("Cara"),
            family: Some("Diaz"),
            emails: &["cara@corner.example".into()],
            phones: &["+34 600 000 000".into()],
            organization: Some("Corner, Hardware"),
            note: Some("prefers mornings\nno calls on Fridays"),
            ..NewContact::default()
        });
        let c = &contacts(&card, "/a/u1.vcf")[0];
        assert_eq!(c.name, "Cara Diaz");
        assert_eq!(c.emails, ["cara@corner.example"]);
        assert_eq!(c.organization.as_deref(), Some("Corner, Hardware"));
        assert_eq!(
            c.note.as_deref(),
            Some("prefers mornings\nno calls on Fridays")
        );
    }
}
