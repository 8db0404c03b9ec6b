//! spud's first-party contacts connector, over CardDAV (RFC 6352): search and add contacts in
//! an address book, named by its URL (e.g. `https://dav.example.com/shop/contacts/`). It
//! speaks HTTP through the SDK, so the host checks each request against the network grant and
//! logs in for it: the password is a `basic` credential the component never holds.

mod vcard;

use spud_dav::{client::NS, Client, DavError};
use spud_sdk::prelude::*;
pub use vcard::{contacts as parse_contacts, write_contact, Contact, NewContact};

spud_sdk::export_plugin! {
    name: "contacts",
    description: "CardDAV contacts: search the address book, add a contact.",
    requests: Requests::new()
        .network("http://*:*")
        .network("https://*:*")
        .limits(
            Limits::new()
                .memory_mb(64)
                .fuel(10_000_000_000)
                .timeout_ms(30_000)
                .result_bytes(4 * 1024 * 1024),
        ),
    tools: [search, add],
}

fn client(url: &str) -> Result<Client, ToolError> {
    Client::new(url, "address_book", "contacts").map_err(err)
}

fn err(e: DavError) -> ToolError {
    ToolError::new(e.to_string())
}

/// Input of `search`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SearchInput {
    /// The address book's URL, e.g. `https://dav.example.com/shop/contacts/`.
    pub address_book: String,
    /// Words that must all appear in the name, an email, a phone number, the organization, the
    /// title or the notes (case-insensitive); empty: every contact.
    #[serde(default)]
    pub query: String,
    /// Return at most this many contacts (default 50).
    #[serde(default)]
    pub max_results: Option<u32>,
}

/// Contacts found.
#[derive(Debug, Serialize, JsonSchema)]
pub struct SearchOutput {
    /// The matching contacts, by name.
    pub contacts: Vec<Contact>,
    /// How many matched (more than `contacts` when cut at `max_results`).
    pub matching: u64,
}

/// Searches the address book: contacts whose name, email, phone, organization, title or notes contain every word of `query`.
#[tool]
pub fn search(input: SearchInput) -> Result<SearchOutput, ToolError> {
    let c = client(&input.address_book)?;
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<CR:addressbook-query xmlns:D=\"DAV:\" {NS}>\
         <D:prop><D:getetag/><CR:address-data/></D:prop></CR:addressbook-query>"
    );
    let entries = c.report(&c.base, 1, body).map_err(err)?;
    let mut found: Vec<Contact> = entries
        .iter()
        .filter_map(|e| {
            e.prop("address-data")
                .map(|d| parse_contacts(d, &c.resolve(&e.href)))
        })
        .flatten()
        .filter(|c| c.matches(&input.query))
        .collect();
    found.sort_by_key(|c| c.name.to_lowercase());
    let matching = found.len() as u64;
    found.truncate(input.max_results.unwrap_or(50) as usize);
    Ok(SearchOutput {
        contacts: found,
        matching,
    })
}

/// Input of `add`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AddInput {
    /// The address book's URL, e.g. `https://dav.example.com/shop/contacts/`.
    pub address_book: String,
    /// The full name, e.g. `Cara Diaz`.
    pub name: String,
    /// Given name (default: none; the full name goes in N when no part is given).
    #[serde(default)]
    pub given_name: Option<String>,
    /// Family name.
    #[serde(default)]
    pub family_name: Option<String>,
    /// Email addresses.
    #[serde(default)]
    pub emails: Vec<String>,
    /// Phone numbers.
    #[serde(default)]
    pub phones: Vec<String>,
    /// Organization.
    #[serde(default)]
    pub organization: Option<String>,
    /// Job title.
    #[serde(default)]
    pub title: Option<String>,
    /// Notes.
    #[serde(default)]
    pub note: Option<String>,
}

/// The contact added.
#[derive(Debug, Serialize, JsonSchema)]
pub struct AddOutput {
    /// Its new UID.
    pub uid: String,
    /// Its URL.
    pub url: String,
    /// The server's ETag for it, if given.
    pub etag: Option<String>,
}

/// Adds a contact to the address book (a new vCard; nothing is overwritten).
#[tool]
pub fn add(input: AddInput) -> Result<AddOutput, ToolError> {
    if input.name.trim().is_empty() {
        return Err(ToolError::new("give the contact a `name`"));
    }
    for e in &input.emails {
        if !e.contains('@') || e.trim().contains([' ', '\r', '\n']) {
            return Err(ToolError::new(format!("`{e}` is not an email address")));
        }
    }
    let c = client(&input.address_book)?;
    let uid = spud_dav::new_uid();
    let card = write_contact(&NewContact {
        uid: &uid,
        name: input.name.trim(),
        given: input.given_name.as_deref(),
        family: input.family_name.as_deref(),
        emails: &input.emails,
        phones: &input.phones,
        organization: input.organization.as_deref(),
        title: input.title.as_deref(),
        note: input.note.as_deref(),
    });
    let url = c.child(&format!("{uid}.vcf"));
    let etag = c
        .put(&url, "text/vcard; charset=utf-8", card, true)
        .map_err(err)?;
    Ok(AddOutput {
        url: url.to_string(),
        uid,
        etag,
    })
}
