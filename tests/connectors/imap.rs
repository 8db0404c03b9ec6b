//! The mailbox connector against a real IMAP server (Dovecot, one per test binary, a mailbox
//! per test): messages seeded and the end state read back with Python's imaplib.

use super::{ok, spud_with, tool_error};
use serde_json::{json, Value};
use spud::sandbox::{Capability, Outcome};
use spud_tests::imap::{message, Dovecot, Mailbox};

fn grant(b: &Mailbox, password: &str) -> String {
    let addr = b.addr();
    format!(
        "[tools.imap]\nenv = [\"IMAP_SERVER={addr}\", \"IMAP_USERNAME={}\", \"IMAP_PASSWORD={password}\", \
         \"IMAP_FROM=Corner Shop <shop@corner.example>\"]\n\
         sockets = {{ tcp_connect = [\"{addr}\"] }}\n\n[secrets]\nenv = [\"IMAP_PASSWORD\"]\n",
        b.user
    )
}

const INVOICE: &str = "From: Ann Lee <ann@acme.example>\nTo: shop@corner.example\n\
Subject: =?UTF-8?Q?Rechnung_1001_f=C3=BCr_Schrauben?=\nDate: Tue, 03 Nov 2026 10:00:00 +0000\n\
Message-ID: <inv1001@acme.example>\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"b1\"\n\n\
--b1\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: quoted-printable\n\n\
Please find invoice 1001 attached. Gr=C3=BC=C3=9Fe, Ann\n\
--b1\nContent-Type: application/pdf; name=\"invoice-1001.pdf\"\n\
Content-Disposition: attachment; filename=\"invoice-1001.pdf\"\nContent-Transfer-Encoding: base64\n\n\
JVBERi0xLjQKJSVFT0YK\n--b1--\n";

fn messages<'a>(dump: &'a Value, folder: &str) -> &'a Vec<Value> {
    dump[folder]
        .as_array()
        .unwrap_or_else(|| panic!("no folder {folder} in {dump}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn imap_lists_searches_and_reads_the_granted_mailbox() {
    let Some(server) = Dovecot::shared() else {
        return;
    };
    let b = server.mailbox();
    b.append(
        "INBOX",
        "(\\Seen)",
        &message("Bob <bob@news.example>", "Weekly news", "Old news."),
    );
    b.append("INBOX", "", INVOICE);
    let long = "All work and no play. ".repeat(200);
    b.append(
        "INBOX",
        "",
        &message("Cy <cy@client.example>", "Help: order 77 is late", &long),
    );
    b.append(
        "INBOX",
        "(\\Flagged)",
        &message(
            "Ann Lee <ann@acme.example>",
            "Price list",
            "Prices attached.",
        ),
    );
    let (spud, _h) = spud_with(&grant(&b, b.password), &["imap"]).await;
    let call = |tool: &'static str, input: Value| {
        let spud = &spud;
        async move { spud.call(tool, &input).await.unwrap() }
    };

    let r = call("imap.folders", json!({})).await;
    let folders = ok(&r.outcome)["folders"].clone();
    assert_eq!(
        folders[0],
        json!({"name": "INBOX", "special_use": null, "messages": 4, "unseen": 3})
    );
    assert!(
        folders
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["name"] == "Drafts" && f["special_use"] == "drafts"),
        "{folders}"
    );

    let r = call("imap.search", json!({"from": "acme.example"})).await;
    let found = ok(&r.outcome);
    assert_eq!(found["total"], 2, "{found}");
    assert_eq!(found["messages"][0]["subject"], "Price list");
    assert_eq!(found["messages"][0]["flagged"], true);
    assert_eq!(
        found["messages"][1]["subject"],
        "Rechnung 1001 für Schrauben"
    );
    assert_eq!(
        found["messages"][1]["from"],
        json!(["Ann Lee <ann@acme.example>"])
    );
    assert_eq!(found["messages"][1]["message_id"], "<inv1001@acme.example>");
    let invoice_uid = found["messages"][1]["uid"].as_u64().unwrap();

    let r = call("imap.search", json!({"unseen": true, "max": 2})).await;
    let unseen = ok(&r.outcome);
    assert_eq!(
        (unseen["total"].as_u64(), unseen["truncated"].as_bool()),
        (Some(3), Some(true))
    );
    assert_eq!(unseen["messages"].as_array().unwrap().len(), 2);
    let r = call(
        "imap.search",
        json!({"subject": "für", "since": "2026-01-01"}),
    )
    .await;
    assert_eq!(
        ok(&r.outcome)["messages"][0]["uid"].as_u64(),
        Some(invoice_uid)
    );
    let r = call("imap.search", json!({"text": "no play", "flagged": false})).await;
    assert_eq!(
        ok(&r.outcome)["messages"][0]["subject"],
        "Help: order 77 is late"
    );
    let r = call("imap.search", json!({"before": "2000-01-01"})).await;
    assert_eq!(ok(&r.outcome)["total"], 0);
    let r = call("imap.search", json!({"since": "last week"})).await;
    assert!(tool_error(&r.outcome).contains("since"), "{:?}", r.outcome);

    let r = call("imap.fetch", json!({"uid": invoice_uid})).await;
    let mail = ok(&r.outcome);
    assert_eq!(
        mail["text"].as_str().unwrap().trim(),
        "Please find invoice 1001 attached. Grüße, Ann"
    );
    assert_eq!(mail["attachments"][0]["name"], "invoice-1001.pdf");
    assert_eq!(mail["attachments"][0]["content_type"], "application/pdf");
    assert_eq!(mail["truncated"], false);
    let r = call("imap.search", json!({"text": "no play"})).await;
    let help_uid = ok(&r.outcome)["messages"][0]["uid"].clone();
    let r = call("imap.fetch", json!({"uid": help_uid, "max_chars": 100})).await;
    let mail = ok(&r.outcome);
    assert_eq!(mail["text"].as_str().unwrap().chars().count(), 100);
    assert!(mail["text"]
        .as_str()
        .unwrap()
        .starts_with("All work and no play."));
    assert_eq!(mail["truncated"], true);
    let r = call("imap.fetch", json!({"uid": 999})).await;
    assert!(
        tool_error(&r.outcome).contains("no message with uid 999"),
        "{:?}",
        r.outcome
    );
    let r = call("imap.search", json!({"folder": "Nowhere"})).await;
    assert!(
        tool_error(&r.outcome).contains("no folder `Nowhere`"),
        "{:?}",
        r.outcome
    );

    // Reading left every message as it was: still three unseen, as imaplib sees them.
    let dump = b.dump();
    let unseen = messages(&dump, "INBOX")
        .iter()
        .filter(|m| !m["flags"].to_string().contains("Seen"))
        .count();
    assert_eq!(unseen, 3, "{dump}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn imap_moves_flags_and_saves_drafts() {
    let Some(server) = Dovecot::shared() else {
        return;
    };
    let b = server.mailbox();
    b.append("INBOX", "", INVOICE);
    b.append(
        "INBOX",
        "",
        &message(
            "Cy <cy@client.example>",
            "Help: order 77 is late",
            "Where is it?",
        ),
    );
    let (spud, _h) = spud_with(&grant(&b, b.password), &["imap"]).await;
    let call = |tool: &'static str, input: Value| {
        let spud = &spud;
        async move { spud.call(tool, &input).await.unwrap() }
    };

    let r = call("imap.move", json!({"uids": [1], "to": "Invoices/2026"})).await;
    assert!(
        tool_error(&r.outcome).contains("no folder `Invoices/2026`: pass"),
        "{:?}",
        r.outcome
    );
    let r = call(
        "imap.move",
        json!({"uids": [1, 42], "to": "Invoices/2026", "create": true}),
    )
    .await;
    let moved = ok(&r.outcome);
    assert_eq!(moved["moved"], json!([1]));
    assert_eq!(moved["missing"], json!([42]));
    assert_eq!(
        (moved["created"].as_bool(), moved["new_uids"].clone()),
        (Some(true), json!([1]))
    );

    let r = call(
        "imap.flag",
        json!({"uids": [2], "seen": true, "flagged": true}),
    )
    .await;
    assert_eq!(ok(&r.outcome)["messages"][0]["uid"], 2);
    let r = call(
        "imap.flag",
        json!({"uids": [2], "flagged": false, "answered": true}),
    )
    .await;
    assert_eq!(
        ok(&r.outcome)["messages"][0]["flags"],
        json!(["\\Answered", "\\Seen"])
    );
    let r = call("imap.flag", json!({"uids": [2]})).await;
    assert!(
        tool_error(&r.outcome).contains("at least one"),
        "{:?}",
        r.outcome
    );

    let text = "Hello Cy,\n\nyour order 77 left our store today.\n\nCorner Shop";
    let r = call(
        "imap.append",
        json!({"to": ["Cy <cy@client.example>"], "subject": "Re: Help: order 77 is late",
               "text": text, "in_reply_to": "<2@test.example>"}),
    )
    .await;
    let draft = ok(&r.outcome);
    assert_eq!(
        (draft["folder"].as_str(), draft["uid"].as_u64()),
        (Some("Drafts"), Some(1))
    );
    let r = call(
        "imap.append",
        json!({"folder": "Nope", "to": ["a@b.example"], "subject": "x", "text": "x"}),
    )
    .await;
    assert!(
        tool_error(&r.outcome).contains("no folder `Nope`"),
        "{:?}",
        r.outcome
    );

    // End state, as imaplib reads it.
    let dump = b.dump();
    let inbox = messages(&dump, "INBOX");
    assert_eq!(inbox.len(), 1, "{dump}");
    assert_eq!(inbox[0]["subject"], "Help: order 77 is late");
    assert_eq!(inbox[0]["flags"], json!(["\\Answered", "\\Seen"]));
    let invoices = messages(&dump, "Invoices/2026");
    assert_eq!(invoices[0]["message_id"], "<inv1001@acme.example>");
    let drafts = messages(&dump, "Drafts");
    assert_eq!(drafts.len(), 1);
    let d = &drafts[0];
    assert_eq!(d["flags"], json!(["\\Draft", "\\Seen"]));
    assert_eq!(d["from"], "Corner Shop <shop@corner.example>");
    assert_eq!(d["to"], "Cy <cy@client.example>");
    assert_eq!(d["subject"], "Re: Help: order 77 is late");
    assert_eq!(d["in_reply_to"], "<2@test.example>");
    assert_eq!(d["message_id"], draft["message_id"]);
    assert_eq!(
        d["text"].as_str().unwrap().replace("\r\n", "\n").trim_end(),
        text
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn imap_without_the_socket_grant_or_with_a_wrong_password_is_refused() {
    let Some(server) = Dovecot::shared() else {
        return;
    };
    let b = server.mailbox();
    b.append(
        "INBOX",
        "",
        &message("Bob <bob@news.example>", "Weekly news", "News."),
    );

    // The env grant without the socket grant: a socket denial that names the grant.
    let policy = grant(&b, b.password).replace(
        &format!("sockets = {{ tcp_connect = [\"{}\"] }}\n", b.addr()),
        "",
    );
    let (spud, _h) = spud_with(&policy, &["imap"]).await;
    let r = spud.call("imap.search", &json!({})).await.unwrap();
    match &r.outcome {
        Outcome::Denied { denial } => {
            assert_eq!(denial.capability, Capability::Socket);
            assert!(denial.reason.contains("tcp_connect"), "{}", denial.reason);
        }
        other => panic!("expected a socket denial, got {other:?}"),
    }
    assert!(!serde_json::to_string(&r).unwrap().contains(b.password));

    // The server refuses the login: a login error, and the password shows nowhere.
    let wrong = "wrong-pw-0f1e2d3c";
    let (spud, h) = spud_with(&grant(&b, wrong), &["imap"]).await;
    let r = spud.call("imap.folders", &json!({})).await.unwrap();
    let e = tool_error(&r.outcome);
    assert!(e.contains("login refused by"), "{e}");
    assert!(e.contains("AUTHENTICATIONFAILED"), "{e}");
    let report = serde_json::to_string(&r).unwrap();
    assert!(!report.contains(wrong), "{report}");
    let leaked = files_under(&h.path().join("spud"))
        .into_iter()
        .filter(|p| !p.extension().is_some_and(|e| e == "wasm" || e == "cwasm"))
        .find(|p| String::from_utf8_lossy(&std::fs::read(p).unwrap_or_default()).contains(wrong));
    assert!(leaked.is_none(), "the password is in {leaked:?}");
    // Nothing changed in the mailbox.
    assert_eq!(messages(&b.dump(), "INBOX").len(), 1);
}

/// Every file under `dir` (the audit log, the precompile cache …).
fn files_under(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = entry.path();
        if p.is_dir() {
            out.extend(files_under(&p));
        } else {
            out.push(p);
        }
    }
    out
}
