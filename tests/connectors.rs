//! First-party connectors over real files: each runs as a sandboxed component under a policy
//! that grants it one directory, and what it wrote is checked on disk.

use serde_json::{json, Value};
use spud::sandbox::{Capability, Outcome};
use spud::{Spud, SpudOptions};
use spud_tests::connectors::{signature, Site};

/// The calendar and contacts connectors against a real CalDAV/CardDAV server.
#[path = "connectors/dav.rs"]
mod dav;
/// The files connector against a real WebDAV server.
#[path = "connectors/files.rs"]
mod files;
/// The Git connector over a repository made by `git`.
#[path = "connectors/git.rs"]
mod git;
/// The mailbox connector against a real IMAP server.
#[path = "connectors/imap.rs"]
mod imap;
/// The email connector against a real SMTP server.
#[path = "connectors/mail.rs"]
mod mail;
/// The PDF connector over real files.
#[path = "connectors/pdf.rs"]
mod pdf;
/// The object-storage connector against a real S3 API server that checks signatures.
#[path = "connectors/s3.rs"]
mod s3;
/// Connectors that speak their protocol over a granted socket: Redis, PostgreSQL.
#[path = "connectors/sockets.rs"]
mod sockets;
use spud_tests::{guest, home, write_policy};

async fn spud_with(policy: &str, plugins: &[&str]) -> (Spud, tempfile::TempDir) {
    let h = home();
    std::fs::create_dir_all(h.path().join("data")).unwrap();
    std::fs::create_dir_all(h.path().join("ro")).unwrap();
    let policy = write_policy(h.path(), policy);
    let spud = Spud::open(SpudOptions {
        home: Some(h.path().join("spud")),
        policy: Some(policy),
        principal: None,
    })
    .unwrap();
    for p in plugins {
        spud.add(&guest(p), None, None).await.unwrap();
    }
    (spud, h)
}

fn ok(outcome: &Outcome) -> Value {
    match outcome {
        Outcome::Ok { value } => value.clone(),
        other => panic!("expected ok, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sheet_reads_writes_and_appends_csv_and_xlsx() {
    let (spud, h) = spud_with(
        "[tools.sheet]\nfiles = [{ host = \"data\", guest = \"/data\", access = \"read-write\" }]\n",
        &["sheet"],
    )
    .await;
    std::fs::write(
        h.path().join("data/bank.csv"),
        "date,description,amount\n2026-11-02,ACME invoice 1001,1200.50\n2026-11-05,\"Fees, monthly\",-12\n",
    )
    .unwrap();
    let r = spud
        .call("sheet.read", &json!({"path": "bank.csv"}))
        .await
        .unwrap();
    let read = ok(&r.outcome);
    assert_eq!(read["columns"], json!(["date", "description", "amount"]));
    assert_eq!(
        read["rows"][0],
        json!(["2026-11-02", "ACME invoice 1001", 1200.5])
    );
    assert_eq!(read["rows"][1], json!(["2026-11-05", "Fees, monthly", -12]));

    let r = spud
        .call(
            "sheet.write",
            &json!({"path": "/data/report.xlsx", "sheet": "Sales",
                    "columns": ["region", "total"], "rows": [["north", 10], ["south", 2.5]]}),
        )
        .await
        .unwrap();
    assert_eq!(ok(&r.outcome)["rows"], 2);
    // A real XLSX file (a zip archive) is on disk.
    let bytes = std::fs::read(h.path().join("data/report.xlsx")).unwrap();
    assert_eq!(&bytes[..2], b"PK");
    let r = spud
        .call(
            "sheet.append",
            &json!({"path": "report.xlsx", "rows": [["east", null]]}),
        )
        .await
        .unwrap();
    assert_eq!(ok(&r.outcome)["rows"], 3);
    let r = spud
        .call("sheet.read", &json!({"path": "report.xlsx", "max_rows": 2}))
        .await
        .unwrap();
    let read = ok(&r.outcome);
    assert_eq!(read["sheets"], json!(["Sales"]));
    assert_eq!(read["total_rows"], 3);
    assert_eq!(read["rows"], json!([["north", 10], ["south", 2.5]]));

    let r = spud
        .call(
            "sheet.append",
            &json!({"path": "bank.csv", "rows": [["2026-11-09", "Refund", 30]]}),
        )
        .await
        .unwrap();
    assert_eq!(ok(&r.outcome)["rows"], 3);
    let text = std::fs::read_to_string(h.path().join("data/bank.csv")).unwrap();
    assert!(text.ends_with("2026-11-09,Refund,30\n"), "{text}");
    assert!(text.contains("\"Fees, monthly\""), "{text}");

    // A row longer than the header is refused before anything is written.
    let r = spud
        .call(
            "sheet.write",
            &json!({"path": "x.csv", "columns": ["a"], "rows": [[1, 2]]}),
        )
        .await
        .unwrap();
    assert!(
        matches!(&r.outcome, Outcome::ToolError { error } if error.to_string().contains("row 1"))
    );
    assert!(!h.path().join("data/x.csv").exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sheet_cannot_write_where_the_grant_is_read_only() {
    let (spud, h) = spud_with(
        "[tools.sheet]\nfiles = [{ host = \"ro\", guest = \"/data\", access = \"read-only\" }]\n",
        &["sheet"],
    )
    .await;
    std::fs::write(h.path().join("ro/a.csv"), "k,v\na,1\n").unwrap();
    let r = spud
        .call(
            "sheet.append",
            &json!({"path": "a.csv", "rows": [["b", 2]]}),
        )
        .await
        .unwrap();
    match &r.outcome {
        Outcome::Denied { denial } => assert_eq!(denial.capability, Capability::File),
        other => panic!("expected a file denial, got {other:?}"),
    }
    assert_eq!(
        std::fs::read_to_string(h.path().join("ro/a.csv")).unwrap(),
        "k,v\na,1\n"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn html_turns_a_page_into_readable_markdown() {
    let (spud, h) = spud_with(
        "[tools.html]\nfiles = [{ host = \"ro\", guest = \"/data\", access = \"read-only\" }]\n",
        &["html"],
    )
    .await;
    std::fs::write(
        h.path().join("ro/page.html"),
        "<html><head><title>Supplier &amp; Co</title><script>x()</script></head><body><nav>Menu</nav>\
         <h2>Bolts</h2><ul><li>M6: 0.25</li><li>M8: 0.40</li></ul>\
         <p><a href=\"https://supplier.test/order\">Order form</a></p></body></html>",
    )
    .unwrap();
    let r = spud
        .call("html.to_markdown", &json!({"path": "page.html"}))
        .await
        .unwrap();
    let out = ok(&r.outcome);
    assert_eq!(out["title"], "Supplier & Co");
    let md = out["markdown"].as_str().unwrap();
    assert!(md.contains("## Bolts") && md.contains("M8: 0.40"), "{md}");
    assert!(!md.contains("Menu") && !md.contains("x()"), "{md}");
    assert_eq!(
        out["links"],
        json!([{"text": "Order form", "url": "https://supplier.test/order"}])
    );
    // HTML passed in needs no grant at all.
    let r = spud
        .call("html.to_markdown", &json!({"html": "<p>a <i>b</i></p>"}))
        .await
        .unwrap();
    assert_eq!(ok(&r.outcome)["markdown"], "a *b*");
}

fn tool_error(outcome: &Outcome) -> String {
    match outcome {
        Outcome::ToolError { error } => error.to_string(),
        other => panic!("expected a tool error, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn feed_reads_rss_and_atom_over_http_and_from_files() {
    let feeds = spud_tests::workspace().join("tests/servers/feeds");
    let site = Site::start(&feeds, "unused");
    let url = site.url();
    let (spud, h) = spud_with(
        &format!(
            "[tools.feed]\nnetwork = [\"{url}\"]\n\
             files = [{{ host = \"ro\", guest = \"/data\", access = \"read-only\" }}]\n"
        ),
        &["feed"],
    )
    .await;
    let r = spud
        .call(
            "feed.read",
            &json!({"url": format!("{url}/supplier-news.rss"), "since": "2026-11-25"}),
        )
        .await
        .unwrap();
    let out = ok(&r.outcome);
    assert_eq!(out["kind"], "rss");
    assert_eq!(out["title"], "Fastener Supply Co. — News");
    assert_eq!(
        (out["total_items"].as_u64(), out["matching_items"].as_u64()),
        (Some(3), Some(2))
    );
    let ids: Vec<&str> = out["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["fsc-news-2026-118", "fsc-news-2026-117"]);
    assert!(out["items"][0]["summary"]
        .as_str()
        .unwrap()
        .contains("**M8**"));
    assert!(out["digest"].as_str().unwrap().starts_with(
        "- [Price rise on stainless M8 bolts from 1 January](https://supplier.example/news/m8-price-2027) (2026-12-01)\n"
    ));

    // Atom, with an item already handled left out.
    let r = spud
        .call(
            "feed.read",
            &json!({"url": format!("{url}/status.atom"),
                    "exclude_ids": ["tag:status.shop.example,2026:incident-4411"]}),
        )
        .await
        .unwrap();
    let out = ok(&r.outcome);
    assert_eq!(out["kind"], "atom");
    assert_eq!(
        out["items"][0]["title"],
        "Scheduled maintenance on 6 December"
    );
    assert_eq!(out["items"].as_array().unwrap().len(), 1);

    // From a file in the granted folder.
    std::fs::copy(
        spud_tests::workspace().join("tests/servers/feeds/status.atom"),
        h.path().join("ro/status.atom"),
    )
    .unwrap();
    let r = spud
        .call("feed.read", &json!({"path": "status.atom", "max_items": 1}))
        .await
        .unwrap();
    let out = ok(&r.outcome);
    assert_eq!(
        (
            out["total_items"].as_u64(),
            out["items"].as_array().unwrap().len()
        ),
        (Some(2), 1)
    );

    // A moved feed says where it went; a feed on a host not granted is denied.
    let r = spud
        .call("feed.read", &json!({"url": format!("{url}/status.rss")}))
        .await
        .unwrap();
    assert!(tool_error(&r.outcome).contains("moved (301) to /status.atom"));
    let r = spud
        .call("feed.read", &json!({"url": "http://127.0.0.1:9/feed.rss"}))
        .await
        .unwrap();
    match &r.outcome {
        Outcome::Denied { denial } => assert_eq!(denial.capability, Capability::Http),
        other => panic!("expected an HTTP denial, got {other:?}"),
    }
    let r = spud
        .call("feed.read", &json!({"url": format!("{url}/nope.rss")}))
        .await
        .unwrap();
    assert!(tool_error(&r.outcome).contains("answered HTTP 404"));
}

const HOOK_KEY_VAR: &str = "SPUD_TEST_WEBHOOK_KEY";
const HOOK_KEY: &str = "whsec-4c1d9e8f7a6b";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhook_posts_slack_teams_and_host_signed_json() {
    // Set once, before any call; no other test in this binary reads it.
    std::env::set_var(HOOK_KEY_VAR, HOOK_KEY);
    let site = Site::start(
        &spud_tests::workspace().join("tests/servers/feeds"),
        HOOK_KEY,
    );
    let url = site.url();
    let (spud, _h) = spud_with(
        &format!(
            "[tools.webhook]\nnetwork = [\"{url}\"]\n\
             [credentials.hook]\nvalue_env = \"{HOOK_KEY_VAR}\"\ninject = \"hmac-sha256:X-Signature-256\"\n\
             destinations = [\"{url}\"]\ntools = [\"webhook\"]\n"
        ),
        &["webhook"],
    )
    .await;
    let r = spud
        .call(
            "webhook.post",
            &json!({"url": format!("{url}/hooks/team"), "format": "slack", "title": "Stock",
                    "text": "2 items are *low*", "fields": [{"name": "B-M8", "value": "12 left"}]}),
        )
        .await
        .unwrap();
    let out = ok(&r.outcome);
    assert_eq!(
        (out["status"].as_u64(), out["answer"].as_str()),
        (Some(200), Some("ok"))
    );
    let slack = site.posts()[0].json();
    assert_eq!(slack["text"], "Stock: 2 items are *low*");
    assert_eq!(slack["blocks"][2]["fields"][0]["text"], "*B-M8*\n12 left");
    assert_eq!(
        site.posts()[0].header("content-type"),
        Some("application/json")
    );

    let r = spud
        .call(
            "webhook.post",
            &json!({"url": format!("{url}/hooks/teams"), "format": "teams", "text": "Backup done"}),
        )
        .await
        .unwrap();
    ok(&r.outcome);
    let teams = site.posts()[1].json();
    assert_eq!(
        teams["attachments"][0]["content"]["body"][0]["text"],
        "Backup done"
    );

    // A signed webhook: the host signs the body with the key the component never sees, and
    // the receiver (checking with its own HMAC code) accepts it.
    let payload = json!({"event": "low_stock", "skus": ["B-M8", "N-M8"]});
    let r = spud
        .call(
            "webhook.post",
            &json!({"url": format!("{url}/hooks/signed"), "payload": payload}),
        )
        .await
        .unwrap();
    ok(&r.outcome);
    let signed = site.posts()[2].clone();
    assert_eq!(signed.json(), payload);
    assert_eq!(
        signed.header("x-signature-256"),
        Some(signature(HOOK_KEY, &signed.body).as_str())
    );
    assert!(r
        .decisions
        .iter()
        .any(|d| d.capability == Capability::Credential
            && d.allowed
            && d.reason
                .contains("credential hook injected (hmac-sha256:x-signature-256)")));

    // Without the credential the receiver refuses the post, and the tool says what it answered.
    let (unsigned, _h2) = spud_with(
        &format!("[tools.webhook]\nnetwork = [\"{url}\"]\n"),
        &["webhook"],
    )
    .await;
    let r = unsigned
        .call(
            "webhook.post",
            &json!({"url": format!("{url}/hooks/signed"), "text": "x"}),
        )
        .await
        .unwrap();
    assert!(tool_error(&r.outcome).contains("answered HTTP 401: bad signature"));
}

#[test]
fn connectors_list_names_what_each_needs() {
    let out = std::process::Command::new(spud_tests::spud_bin())
        .args(["connectors", "list", "--json"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let list: Value = serde_json::from_slice(&out.stdout).unwrap();
    let names: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "openapi", "http", "sheet", "html", "pdf", "git", "feed", "webhook", "redis",
            "postgres", "smtp", "imap", "calendar", "contacts", "webdav", "s3"
        ]
    );
    for c in list.as_array().unwrap() {
        for key in ["grants", "credentials", "server", "example"] {
            assert!(!c[key].as_str().unwrap().is_empty(), "{c}");
        }
        // Every listed component is one the build makes.
        let wasm = c["component"].as_str().unwrap().trim_end_matches(".wasm");
        assert!(spud_tests::guest(wasm).exists());
    }
}
