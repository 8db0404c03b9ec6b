//! The workflows around a mailbox and a calendar: booking an appointment into a free slot
//! and emailing the confirmation (Radicale, the SMTP sink), triaging an inbox into folders
//! with a drafted reply (Dovecot).

use super::{add_plugins, copy_workflow, run_plan, spud_cmd};
use serde_json::{json, Value};
use spud_tests::imap::Dovecot;
use spud_tests::mail::{MailSink, Radicale};
use spud_tests::{guest, home};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn book_appointment_books_the_slot_and_emails_the_customer() {
    let Some(dav) = Radicale::start() else { return };
    let Some(sink) = MailSink::start() else {
        return;
    };
    let h = home();
    let folder = h.path().join("book-appointment");
    copy_workflow("book-appointment", &folder);
    // The seed data, loaded as the README says: one PUT per collection.
    let seed = |f: &str| std::fs::read_to_string(folder.join("data").join(f)).unwrap();
    dav.put(
        "/shop/appointments/",
        "text/calendar; charset=utf-8",
        &seed("appointments.ics"),
    );
    dav.put(
        "/shop/customers/",
        "text/vcard; charset=utf-8",
        &seed("customers.vcf"),
    );
    for f in ["plan.toml", "policy.toml"] {
        let text = std::fs::read_to_string(folder.join(f)).unwrap();
        let text = text
            .replace("127.0.0.1:5232", &format!("127.0.0.1:{}", dav.port))
            .replace("127.0.0.1:2525", &sink.addr());
        std::fs::write(folder.join(f), text).unwrap();
    }
    let spud_home = h.path().join("spud");
    let login = dav.login();
    let env = [
        ("DAV_LOGIN", login.as_str()),
        ("SMTP_PASSWORD", sink.password),
    ];
    for p in ["calendar", "contacts", "smtp"] {
        let o = spud_cmd(
            &spud_home,
            &env,
            &["tools", "add", guest(p).to_str().unwrap()],
        );
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    }
    let (policy, plan) = (folder.join("policy.toml"), folder.join("plan.toml"));
    let o = spud_cmd(
        &spud_home,
        &env,
        &[
            "--policy",
            policy.to_str().unwrap(),
            "run",
            "--plan",
            plan.to_str().unwrap(),
        ],
    );
    assert!(
        o.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    // The mornings were all taken: the slot came from the afternoons (the alternative).
    let o = spud_cmd(&spud_home, &[], &["report", "last", "--json"]);
    let report: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(
        report["results"]["slot"]["slots"][0],
        json!({"start": "2026-12-08T14:00:00Z", "end": "2026-12-08T15:00:00Z"}),
        "{report}"
    );

    // End state: the event on the CalDAV server, as it serves it.
    let url = report["results"]["book"]["url"].as_str().unwrap();
    let calendar = format!("{}/shop/appointments/", dav.origin());
    assert!(url.starts_with(&calendar), "{url}");
    let (status, ics) = dav.get(&url[dav.origin().len()..]);
    assert_eq!(status, 200, "{ics}");
    for line in [
        "SUMMARY:Fitting: Cara Diaz",
        "DTSTART:20261208T140000Z",
        "DTEND:20261208T150000Z",
        "mailto:cara.diaz@example.org",
    ] {
        assert!(ics.contains(line), "{line} missing from {ics}");
    }
    // ... and the one email the SMTP server received.
    let mail = sink.messages();
    assert_eq!(mail.len(), 1, "{mail:?}");
    let m = &mail[0];
    assert_eq!(m["mail_from"], "shop@corner.example");
    assert_eq!(m["rcpt_tos"], json!(["cara.diaz@example.org"]));
    assert_eq!(m["to"], "Cara Diaz <cara.diaz@example.org>");
    assert_eq!(m["subject"], "Your fitting at Corner Hardware");
    let text = m["text"].as_str().unwrap();
    assert!(
        text.contains("Dear Cara Diaz,")
            && text.contains("booked from 2026-12-08T14:00:00Z to 2026-12-08T15:00:00Z"),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn triage_inbox_sorts_the_mail_and_drafts_the_reply() {
    let Some(dovecot) = Dovecot::shared() else {
        return;
    };
    let Some(sink) = MailSink::start() else {
        return;
    };
    let b = dovecot.mailbox();
    let h = home();
    let folder = h.path().join("triage-inbox");
    copy_workflow("triage-inbox", &folder);
    // The seed mail, loaded as the README says (the read one with \Seen).
    let mut seeds: Vec<_> = std::fs::read_dir(folder.join("data/inbox"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    seeds.sort();
    for f in &seeds {
        let name = f.file_name().unwrap().to_string_lossy().to_string();
        let flags = if name.contains("read") {
            "(\\Seen)"
        } else {
            ""
        };
        b.append("INBOX", flags, &std::fs::read_to_string(f).unwrap());
    }
    let policy = folder.join("policy.toml");
    let text = std::fs::read_to_string(&policy)
        .unwrap()
        .replace("127.0.0.1:1143", &b.addr())
        .replace(
            "IMAP_USERNAME=frontdesk",
            &format!("IMAP_USERNAME={}", b.user),
        )
        .replace("127.0.0.1:2525", &sink.addr());
    std::fs::write(&policy, text).unwrap();
    let spud_home = h.path().join("spud");
    let env = [
        ("IMAP_PASSWORD", b.password),
        ("SMTP_PASSWORD", sink.password),
    ];
    add_plugins(&spud_home, &env, &["imap", "python", "json", "smtp"]);
    let plan = folder.join("plan.toml");
    let report = run_plan(
        &spud_home,
        &env,
        policy.to_str().unwrap(),
        plan.to_str().unwrap(),
    );
    // The strict rules left Boltco's Rechnung over; the alternative sorted it by its subject.
    let sorted = &report["results"]["sorted"]["document"];
    assert_eq!(sorted["unsorted"], json!([]), "{report}");
    assert_eq!(
        sorted["invoices"].as_array().map(Vec::len),
        Some(2),
        "{report}"
    );
    assert!(report["results"]["classify"]["stderr"]
        .as_str()
        .unwrap()
        .contains("every message sorted"));

    // End state: which mail is in which folder, as imaplib reads the mailbox.
    let dump = b.dump();
    let subjects = |f: &str| -> Vec<String> {
        let mut v: Vec<String> = dump[f]
            .as_array()
            .unwrap_or_else(|| panic!("no folder {f}: {dump}"))
            .iter()
            .map(|m| m["subject"].as_str().unwrap().to_string())
            .collect();
        v.sort();
        v
    };
    assert_eq!(subjects("INBOX"), ["Lunch on Friday?"]);
    assert_eq!(
        subjects("Invoices"),
        [
            "Invoice 2026-114 for November",
            "Rechnung RE-5521 über Schrauben M8"
        ]
    );
    assert_eq!(
        subjects("Newsletters"),
        ["Tools Weekly #48: the best cordless drills of 2026"]
    );
    assert_eq!(subjects("Support"), ["Order 4471 arrived damaged"]);
    let support = &dump["Support"][0];
    assert!(
        support["flags"]
            .as_array()
            .unwrap()
            .contains(&json!("\\Flagged")),
        "{support}"
    );
    // Moving left the mail unread: the shop has not read it yet.
    assert!(
        !support["flags"]
            .as_array()
            .unwrap()
            .contains(&json!("\\Seen")),
        "{support}"
    );
    let drafts = dump["Drafts"].as_array().unwrap();
    assert_eq!(drafts.len(), 1, "{dump}");
    let d = &drafts[0];
    assert_eq!(d["to"], "Dana Whitfield <dana.whitfield@example.org>");
    assert_eq!(d["subject"], "Re: Order 4471 arrived damaged");
    assert_eq!(d["in_reply_to"], "<d7f1c2@mail.example.org>");
    assert_eq!(d["from"], "Corner Hardware <shop@corner.example>");
    assert!(
        d["flags"].as_array().unwrap().contains(&json!("\\Draft")),
        "{d}"
    );
    let text = d["text"].as_str().unwrap();
    assert!(
        text.starts_with("Dear Dana Whitfield,") && text.contains("\"Order 4471 arrived damaged\""),
        "{text}"
    );

    // ... and the one summary the SMTP server received.
    let mail = sink.messages();
    assert_eq!(mail.len(), 1, "{mail:?}");
    assert_eq!(mail[0]["rcpt_tos"], json!(["team@corner.example"]));
    let summary = mail[0]["text"].as_str().unwrap();
    for line in [
        "2 invoices -> Invoices: ",
        "1 newsletters -> Newsletters: Tools Weekly #48",
        "1 support -> Support: Order 4471 arrived damaged",
    ] {
        assert!(summary.contains(line), "{line} missing from {summary}");
    }
}
