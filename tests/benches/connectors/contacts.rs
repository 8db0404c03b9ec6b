//! The `contacts` row: `contacts.search` of a 50-card address book on Radicale beside the same
//! CardDAV REPORT sent with `reqwest`, the cards filtered the same way.

use super::{row, time_call, time_native};
use serde_json::json;
use spud::{Spud, SpudOptions};
use spud_tests::guest;
use spud_tests::mail::Radicale;

/// `contacts.search` for one organization's people beside a `reqwest` addressbook-query.
pub fn contacts(rt: &tokio::runtime::Runtime, h: &tempfile::TempDir) {
    let dav = Radicale::start().expect("Radicale (scripts/setup-connectors.sh)");
    dav.make_address_book("people", "People");
    for i in 0..50 {
        let org = if i % 10 == 0 {
            "Acme Supplies"
        } else {
            "Corner Café"
        };
        dav.put(
            &format!("/shop/people/c{i}.vcf"),
            "text/vcard",
            &format!(
                "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:c{i}\r\nFN:Person {i}\r\nN:{i};Person;;;\r\n\
                 EMAIL:p{i}@shop.example\r\nORG:{org}\r\nEND:VCARD\r\n"
            ),
        );
    }
    let dir = h.path().join("contacts");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("dav.login"), dav.login()).unwrap();
    let o = dav.origin();
    std::fs::write(
        dir.join("policy.toml"),
        format!(
            "[tools.contacts]\nnetwork = [\"{o}\"]\n\
             [credentials.dav]\nvalue_file = \"dav.login\"\ninject = \"basic\"\ndestinations = [\"{o}\"]\n\
             tools = [\"contacts\"]\n"
        ),
    )
    .unwrap();
    let spud = Spud::open(SpudOptions {
        home: Some(dir.join("spud")),
        policy: Some(dir.join("policy.toml")),
        principal: Some("bench".into()),
    })
    .unwrap();
    rt.block_on(spud.add(&guest("contacts"), None, None))
        .unwrap();

    let url = format!("{o}/shop/people/");
    let ours = time_call(
        rt,
        &spud,
        "contacts.search",
        json!({"address_book": url, "query": "acme"}),
    );
    let client = reqwest::Client::new();
    let report =
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<CR:addressbook-query xmlns:D=\"DAV:\" \
        xmlns:CR=\"urn:ietf:params:xml:ns:carddav\"><D:prop><D:getetag/><CR:address-data/></D:prop>\
        </CR:addressbook-query>";
    let method = reqwest::Method::from_bytes(b"REPORT").unwrap();
    let theirs = time_native(&mut || {
        rt.block_on(async {
            let r = client
                .request(method.clone(), &url)
                .basic_auth(dav.user, Some(dav.password))
                .header("depth", "1")
                .header("content-type", "application/xml")
                .body(report)
                .send()
                .await
                .unwrap();
            assert_eq!(r.status().as_u16(), 207);
            let text = r.text().await.unwrap();
            let found = text
                .split("BEGIN:VCARD")
                .filter(|card| card.to_lowercase().contains("acme"))
                .count();
            assert_eq!(found, 5);
        })
    });
    row(
        "contacts (contacts.search, 5 of 50 cards over CardDAV)",
        ours,
        theirs,
        "reqwest REPORT + filter",
    );
}
