//! The email connector against a real SMTP server (aiosmtpd) started on a free port: what the
//! server received — envelope, headers, body, attachment — read back by Python's email package.

use super::{ok, spud_with, tool_error};
use base64::Engine as _;
use serde_json::json;
use spud::sandbox::{Capability, Outcome};
use spud_tests::mail::MailSink;

fn grant(addr: &str, password: &str) -> String {
    format!(
        "[tools.smtp]\nenv = [\"SMTP_SERVER={addr}\", \"SMTP_FROM=Corner Shop <shop@corner.example>\", \
         \"SMTP_USERNAME=mailer\", \"SMTP_PASSWORD={password}\"]\n\
         sockets = {{ tcp_connect = [\"{addr}\"] }}\n\
         files = [{{ host = \"data\", guest = \"/data\", access = \"read-only\" }}]\n\n\
         [secrets]\nenv = [\"SMTP_PASSWORD\"]\n"
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn smtp_sends_to_the_one_granted_server() {
    let Some(sink) = MailSink::start() else {
        return;
    };
    let (spud, h) = spud_with(&grant(&sink.addr(), sink.password), &["smtp"]).await;
    let csv = "item,qty\nBolt M8,25\nNut M8,30\n";
    std::fs::create_dir_all(h.path().join("data/orders")).unwrap();
    std::fs::write(h.path().join("data/orders/po-1001.csv"), csv).unwrap();
    let text = "Hello Ann,\n\nplease find our order attached.\n.\nA line with only a dot above.\n\nCorner Shop";
    let r = spud
        .call(
            "smtp.send",
            &json!({
                "to": ["Ann Lee <ann@supplier.example>"],
                "cc": ["stock@corner.example"],
                "bcc": ["audit@corner.example"],
                "subject": "Bestellung Nr. 1001 – Schrauben",
                "text": text,
                "attachments": ["orders/po-1001.csv"]
            }),
        )
        .await
        .unwrap();
    let out = ok(&r.outcome);
    assert_eq!(
        out["recipients"],
        json!([
            "ann@supplier.example",
            "stock@corner.example",
            "audit@corner.example"
        ])
    );
    assert_eq!(out["attachments"], json!(["po-1001.csv"]));
    assert!(
        out["server_reply"].as_str().unwrap().starts_with("250"),
        "{out}"
    );
    let id = out["message_id"].as_str().unwrap();
    assert!(id.ends_with("@corner.example>"), "{id}");
    // The password never shows in what the caller gets back.
    assert!(!serde_json::to_string(&r).unwrap().contains(sink.password));

    // End state: the one message the server received, as Python's email package reads it.
    let messages = sink.messages();
    assert_eq!(messages.len(), 1, "{messages:?}");
    let m = &messages[0];
    assert_eq!(m["mail_from"], "shop@corner.example");
    assert_eq!(
        m["rcpt_tos"],
        json!([
            "ann@supplier.example",
            "stock@corner.example",
            "audit@corner.example"
        ])
    );
    assert_eq!(m["from"], "Corner Shop <shop@corner.example>");
    assert_eq!(m["to"], "Ann Lee <ann@supplier.example>");
    assert_eq!(m["cc"], "stock@corner.example");
    assert_eq!(m["bcc"], "", "a blind copy is in the envelope only");
    assert_eq!(m["subject"], "Bestellung Nr. 1001 – Schrauben");
    assert_eq!(m["message_id"], id);
    let body = m["text"].as_str().unwrap().replace("\r\n", "\n");
    assert_eq!(body.trim_end(), text);
    let a = &m["attachments"][0];
    assert_eq!(
        (a["filename"].as_str(), a["content_type"].as_str()),
        (Some("po-1001.csv"), Some("text/csv"))
    );
    let data = base64::engine::general_purpose::STANDARD
        .decode(a["data"].as_str().unwrap())
        .unwrap();
    // A text attachment travels in MIME's canonical form: CRLF line ends.
    assert_eq!(String::from_utf8(data).unwrap().replace("\r\n", "\n"), csv);
    assert!(String::from_utf8_lossy(&sink.raw(1)).contains("multipart/mixed"));

    // An attachment outside /data is refused before anything is sent.
    let r = spud
        .call(
            "smtp.send",
            &json!({"to": ["ann@supplier.example"], "subject": "x", "text": "x",
                    "attachments": ["../secret.txt"]}),
        )
        .await
        .unwrap();
    assert!(
        tool_error(&r.outcome).contains("under /data"),
        "{:?}",
        r.outcome
    );
    assert_eq!(sink.messages().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn smtp_wrong_password_and_ungranted_server_are_refused() {
    let Some(sink) = MailSink::start() else {
        return;
    };
    let input = json!({"to": ["ann@supplier.example"], "subject": "Hi", "text": "Hi"});
    // The server refuses the login.
    let (spud, _h) = spud_with(&grant(&sink.addr(), "wrong-password"), &["smtp"]).await;
    let r = spud.call("smtp.send", &input).await.unwrap();
    let e = tool_error(&r.outcome);
    assert!(e.contains("535"), "{e}");
    assert!(!e.contains("wrong-password"), "{e}");

    // A server other than the granted one is a socket denial.
    let other = format!("127.0.0.1:{}", sink.port.wrapping_add(1));
    let policy = grant(&other, sink.password).replacen(
        &format!("tcp_connect = [\"{other}\"]"),
        &format!("tcp_connect = [\"{}\"]", sink.addr()),
        1,
    );
    let (spud, _h2) = spud_with(&policy, &["smtp"]).await;
    let r = spud.call("smtp.send", &input).await.unwrap();
    match &r.outcome {
        Outcome::Denied { denial } => {
            assert_eq!(denial.capability, Capability::Socket);
            assert!(denial.reason.contains("tcp_connect"), "{}", denial.reason);
        }
        other => panic!("expected a socket denial, got {other:?}"),
    }
    assert!(sink.messages().is_empty());
}
