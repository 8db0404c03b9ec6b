//! The calendar (CalDAV) and contacts (CardDAV) connectors against a real Radicale started on
//! a free port with an htpasswd login. The host logs in for the components (a `basic`
//! credential read from a file); the end state is checked with plain HTTP requests to Radicale.

use super::{ok, tool_error};
use serde_json::{json, Value};
use spud::sandbox::Capability;
use spud::{Spud, SpudOptions};
use spud_tests::mail::Radicale;
use spud_tests::{guest, home, write_policy};

/// spud with the calendar and contacts components, granted the server, the login in a file.
async fn dav_spud(r: &Radicale, login: &str) -> (Spud, tempfile::TempDir) {
    let h = home();
    std::fs::write(h.path().join("dav.login"), login).unwrap();
    let o = r.origin();
    let policy = format!(
        "[tools.calendar]\nnetwork = [\"{o}\"]\n\n[tools.contacts]\nnetwork = [\"{o}\"]\n\n\
         [credentials.dav]\nvalue_file = \"dav.login\"\ninject = \"basic\"\n\
         destinations = [\"{o}\"]\ntools = [\"calendar\", \"contacts\"]\n"
    );
    let policy = write_policy(h.path(), &policy);
    let spud = Spud::open(SpudOptions {
        home: Some(h.path().join("spud")),
        policy: Some(policy),
        principal: None,
    })
    .unwrap();
    for p in ["calendar", "contacts"] {
        spud.add(&guest(p), None, None).await.unwrap();
    }
    (spud, h)
}

fn event(uid: &str, start: &str, end: &str, summary: &str) -> String {
    format!(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nBEGIN:VEVENT\r\nUID:{uid}\r\n\
         DTSTAMP:20261201T000000Z\r\nDTSTART{start}\r\n{end}\r\nSUMMARY:{summary}\r\nEND:VEVENT\r\n\
         END:VCALENDAR\r\n"
    )
}

fn seed_calendar(r: &Radicale) {
    r.make_calendar("team", "Team");
    r.make_calendar("home", "Home");
    r.make_address_book("contacts", "Contacts");
    let ics = "text/calendar; charset=utf-8";
    r.put(
        "/shop/team/e1.ics",
        ics,
        &event(
            "e1",
            ":20261207T090000Z",
            "DTEND:20261207T103000Z",
            "Team meeting",
        ),
    );
    r.put(
        "/shop/team/e2.ics",
        ics,
        &event(
            "e2",
            ":20261207T120000Z",
            "DURATION:PT1H",
            "Lunch with supplier",
        ),
    );
    r.put(
        "/shop/team/e3.ics",
        ics,
        &event(
            "e3",
            ";VALUE=DATE:20261208",
            "DTEND;VALUE=DATE:20261209",
            "Stocktake",
        ),
    );
    r.put(
        "/shop/home/h1.ics",
        ics,
        &event(
            "h1",
            ":20261207T110000Z",
            "DTEND:20261207T120000Z",
            "Dentist",
        ),
    );
}

fn summaries(v: &Value) -> Vec<String> {
    v["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["summary"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calendar_lists_finds_free_slots_and_books_on_radicale() {
    let Some(r) = Radicale::start() else { return };
    seed_calendar(&r);
    let (spud, _h) = dav_spud(&r, &r.login()).await;
    let call = |tool: &'static str, input: Value| {
        let spud = &spud;
        async move { spud.call(tool, &input).await.unwrap() }
    };

    let o = r.origin();
    let rep = call("calendar.calendars", json!({"url": format!("{o}/shop/")})).await;
    let cals = ok(&rep.outcome);
    assert_eq!(
        cals["calendars"],
        json!([
            {"url": format!("{o}/shop/home/"), "name": "home", "display_name": "Home", "description": null},
            {"url": format!("{o}/shop/team/"), "name": "team", "display_name": "Team", "description": null}
        ])
    );
    let work = format!("{o}/shop/team/");
    // The host logged in: a credential decision, the value never in the report.
    assert!(rep
        .decisions
        .iter()
        .any(|d| d.capability == Capability::Credential && d.allowed));
    assert!(!serde_json::to_string(&rep).unwrap().contains(r.password));

    let range = json!({"calendar": work, "start": "2026-12-07", "end": "2026-12-09"});
    let rep = call("calendar.events", range.clone()).await;
    let evs = ok(&rep.outcome);
    assert_eq!(
        summaries(&evs),
        ["Team meeting", "Lunch with supplier", "Stocktake"]
    );
    assert_eq!(evs["events"][1]["end"], "2026-12-07T13:00:00Z");
    assert_eq!(evs["events"][2]["all_day"], true);

    let rep = call(
        "calendar.free_slots",
        json!({"calendar": work, "start": "2026-12-07T09:00:00Z", "end": "2026-12-09T00:00:00Z",
               "minutes": 60, "max_slots": 3}),
    )
    .await;
    let slots = ok(&rep.outcome);
    assert_eq!(
        slots["slots"],
        json!([
            {"start": "2026-12-07T10:30:00Z", "end": "2026-12-07T11:30:00Z"},
            {"start": "2026-12-07T13:00:00Z", "end": "2026-12-07T14:00:00Z"},
            {"start": "2026-12-07T14:00:00Z", "end": "2026-12-07T15:00:00Z"}
        ])
    );

    let booking = json!({"calendar": work, "summary": "Fitting: Cara Diaz",
        "start": "2026-12-07T10:30:00Z", "end": "2026-12-07T11:30:00+00:00",
        "location": "Corner Hardware, counter 2", "attendees": ["cara@example.org"],
        "only_if_free": true});
    let rep = call("calendar.create_event", booking.clone()).await;
    let made = ok(&rep.outcome);
    let url = made["url"].as_str().unwrap().to_string();
    assert!(url.starts_with(&work) && url.ends_with(".ics"), "{url}");
    // End state: the object on the server, as Radicale serves it.
    let (status, ics) = r.get(&url[o.len()..]);
    assert_eq!(status, 200, "{ics}");
    for line in [
        "SUMMARY:Fitting: Cara Diaz",
        "DTSTART:20261207T103000Z",
        "DTEND:20261207T113000Z",
        "LOCATION:Corner Hardware\\, counter 2",
        "mailto:cara@example.org",
    ] {
        assert!(ics.contains(line), "{line} missing from {ics}");
    }
    // The slot is taken now: booking it again changes nothing.
    let rep = call("calendar.create_event", booking).await;
    let e = tool_error(&rep.outcome);
    assert!(e.contains("taken by: Fitting: Cara Diaz"), "{e}");
    let rep = call("calendar.events", range).await;
    assert_eq!(ok(&rep.outcome)["events"].as_array().unwrap().len(), 4);

    // Bad input is a clear error before any request.
    let rep = call(
        "calendar.events",
        json!({"calendar": "../other", "start": "2026-12-07", "end": "2026-12-08"}),
    )
    .await;
    let e = tool_error(&rep.outcome);
    assert!(
        e.contains("calendar: `../other` is not an absolute URL"),
        "{e}"
    );
    let rep = call(
        "calendar.free_slots",
        json!({"calendar": work, "start": "next week", "end": "2026-12-08", "minutes": 30}),
    )
    .await;
    assert!(tool_error(&rep.outcome).contains("start: `next week` is not a time"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn contacts_search_and_add_on_radicale() {
    let Some(r) = Radicale::start() else { return };
    r.make_address_book("contacts", "Contacts");
    r.put(
        "/shop/contacts/c1.vcf",
        "text/vcard; charset=utf-8",
        "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:c1\r\nFN:Ann Lee\r\nN:Lee;Ann;;;\r\n\
         EMAIL;TYPE=work:ann@acme.example\r\nORG:Acme Builders\r\nTEL:+44 20 7946 0001\r\nEND:VCARD\r\n",
    );
    let (spud, _h) = dav_spud(&r, &r.login()).await;
    let o = r.origin();
    let book = format!("{o}/shop/contacts/");
    let rep = spud
        .call(
            "contacts.search",
            &json!({"address_book": book, "query": "acme"}),
        )
        .await
        .unwrap();
    let found = ok(&rep.outcome);
    assert_eq!(found["matching"], 1);
    assert_eq!(found["contacts"][0]["name"], "Ann Lee");
    assert_eq!(found["contacts"][0]["emails"], json!(["ann@acme.example"]));

    let rep = spud
        .call(
            "contacts.add",
            &json!({"address_book": book, "name": "Cara Diaz", "given_name": "Cara", "family_name": "Diaz",
                    "emails": ["cara@example.org"], "phones": ["+34 600 000 000"],
                    "organization": "Diaz Joinery", "note": "prefers mornings"}),
        )
        .await
        .unwrap();
    let added = ok(&rep.outcome);
    let url = added["url"].as_str().unwrap();
    assert!(url.starts_with(&book), "{url}");
    let (status, card) = r.get(&url[o.len()..]);
    assert_eq!(status, 200, "{card}");
    assert!(
        card.contains("FN:Cara Diaz") && card.contains("cara@example.org"),
        "{card}"
    );
    let rep = spud
        .call(
            "contacts.search",
            &json!({"address_book": book, "query": "joinery CARA"}),
        )
        .await
        .unwrap();
    let found = ok(&rep.outcome);
    assert_eq!(found["contacts"][0]["uid"], added["uid"]);
    let rep = spud
        .call("contacts.search", &json!({"address_book": book}))
        .await
        .unwrap();
    assert_eq!(ok(&rep.outcome)["matching"], 2);

    // A wrong login: the server refuses, and the error says which grant logs in.
    let (bad, _h2) = dav_spud(&r, "shop:wrong-password").await;
    let rep = bad
        .call(
            "contacts.search",
            &json!({"address_book": book, "query": "ann"}),
        )
        .await
        .unwrap();
    let e = tool_error(&rep.outcome);
    assert!(
        e.contains("HTTP 401") && e.contains("inject = ") && e.contains("basic"),
        "{e}"
    );
}
