//! The webdav connector against a real WsgiDAV server (one for the test binary, each test in a
//! folder of its own) with a basic-auth login that the host sends for the component. The end
//! state is checked on the server's disk: the files it holds after each call.

use super::{ok, tool_error};
use base64::Engine as _;
use serde_json::{json, Value};
use spud::sandbox::{Capability, Outcome};
use spud::{Spud, SpudOptions};
use spud_tests::files::WebDav;
use spud_tests::{guest, home, write_policy};
use std::path::Path;

/// spud with the webdav component, granted the server and `/data` (read-write), the login in
/// a file.
async fn webdav_spud(d: &WebDav, login: &str) -> (Spud, tempfile::TempDir) {
    let h = home();
    std::fs::create_dir_all(h.path().join("data")).unwrap();
    std::fs::write(h.path().join("webdav.login"), login).unwrap();
    let o = d.origin();
    let policy = format!(
        "[tools.webdav]\nnetwork = [\"{o}\"]\n\
         files = [{{ host = \"data\", guest = \"/data\", access = \"read-write\" }}]\n\n\
         [credentials.files]\nvalue_file = \"webdav.login\"\ninject = \"basic\"\n\
         destinations = [\"{o}\"]\ntools = [\"webdav\"]\n"
    );
    let policy = write_policy(h.path(), &policy);
    let spud = Spud::open(SpudOptions {
        home: Some(h.path().join("spud")),
        policy: Some(policy),
        principal: None,
    })
    .unwrap();
    spud.add(&guest("webdav"), None, None).await.unwrap();
    (spud, h)
}

/// A small binary file: a PDF header, a NUL and bytes that are not UTF-8.
const BINARY: &[u8] = b"%PDF-1.4\n\0\xff\xfe binary \x80\x81";

fn seed(dir: &Path) {
    std::fs::write(dir.join("notes.txt"), "Order 1001: 25 bolts, 30 nuts\n").unwrap();
    std::fs::write(dir.join("scan.pdf"), BINARY).unwrap();
    std::fs::create_dir_all(dir.join("old")).unwrap();
    std::fs::write(dir.join("old/a b.csv"), "k,v\n").unwrap();
}

fn names(v: &Value) -> Vec<String> {
    v["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["name"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webdav_lists_reads_and_writes_files_on_wsgidav() {
    let Some(d) = WebDav::shared() else { return };
    let (dir, url) = d.folder("rw");
    seed(&dir);
    let (spud, h) = webdav_spud(d, &d.login()).await;
    let call = |tool: &'static str, input: Value| {
        let spud = &spud;
        async move { spud.call(tool, &input).await.unwrap() }
    };

    let rep = call("webdav.list", json!({ "url": url })).await;
    let listed = ok(&rep.outcome);
    assert_eq!(names(&listed), ["old", "notes.txt", "scan.pdf"]);
    let notes = &listed["entries"][1];
    assert_eq!(notes["url"], format!("{url}notes.txt"));
    assert_eq!(notes["size"], 30);
    assert_eq!(notes["is_dir"], false);
    assert!(
        notes["modified"].as_str().unwrap().ends_with('Z'),
        "{notes}"
    );
    assert_eq!(listed["entries"][0]["is_dir"], true);
    assert_eq!(listed["entries"][0]["url"], format!("{url}old/"));
    // The host logged in: a credential decision, the password never in the report.
    assert!(rep
        .decisions
        .iter()
        .any(|x| x.capability == Capability::Credential && x.allowed));
    assert!(!serde_json::to_string(&rep).unwrap().contains(d.password));
    let rep = call("webdav.list", json!({"url": url, "extension": "PDF"})).await;
    assert_eq!(names(&ok(&rep.outcome)), ["scan.pdf"]);
    // A name with a space comes back decoded, its URL encoded.
    let rep = call("webdav.list", json!({"url": format!("{url}old")})).await;
    let old = ok(&rep.outcome);
    assert_eq!(names(&old), ["a b.csv"]);
    assert_eq!(old["entries"][0]["url"], format!("{url}old/a%20b.csv"));

    // Text as text, binary as base64, a bounded read says it was cut.
    let rep = call("webdav.read", json!({"url": format!("{url}notes.txt")})).await;
    let read = ok(&rep.outcome);
    assert_eq!(read["encoding"], "text");
    assert_eq!(read["content"], "Order 1001: 25 bolts, 30 nuts\n");
    assert_eq!(read["truncated"], false);
    let rep = call("webdav.read", json!({"url": format!("{url}scan.pdf")})).await;
    let read = ok(&rep.outcome);
    assert_eq!(read["encoding"], "base64");
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(read["content"].as_str().unwrap())
        .unwrap();
    assert_eq!(bytes, BINARY);
    let rep = call(
        "webdav.read",
        json!({"url": format!("{url}notes.txt"), "max_bytes": 10}),
    )
    .await;
    let read = ok(&rep.outcome);
    assert_eq!(read["content"], "Order 1001");
    assert_eq!(read["truncated"], true);
    assert_eq!(read["size"], 30);
    // Saved whole under /data, for other tools.
    let rep = call(
        "webdav.read",
        json!({"url": format!("{url}scan.pdf"), "save_to": "inbox/scan.pdf"}),
    )
    .await;
    assert_eq!(ok(&rep.outcome)["saved_to"], "/data/inbox/scan.pdf");
    assert_eq!(
        std::fs::read(h.path().join("data/inbox/scan.pdf")).unwrap(),
        BINARY
    );

    // A write into a folder that is not there: 409, and what to do.
    let report = format!("{url}reports/2026/summary.csv");
    let rep = call("webdav.write", json!({"url": report, "text": "a,b\n1,2\n"})).await;
    let e = tool_error(&rep.outcome);
    assert!(
        e.contains("HTTP 409") && e.contains("create_parents: true"),
        "{e}"
    );
    let rep = call(
        "webdav.write",
        json!({"url": report, "text": "a,b\n1,2\n", "create_parents": true}),
    )
    .await;
    let wrote = ok(&rep.outcome);
    assert_eq!(
        wrote["created_folders"],
        json!([format!("{url}reports/"), format!("{url}reports/2026/")])
    );
    assert_eq!(wrote["replaced"], false);
    let on_disk = dir.join("reports/2026/summary.csv");
    assert_eq!(std::fs::read_to_string(&on_disk).unwrap(), "a,b\n1,2\n");
    // Never replaced unless asked.
    let rep = call("webdav.write", json!({"url": report, "text": "x"})).await;
    let e = tool_error(&rep.outcome);
    assert!(
        e.contains("exists already") && e.contains("overwrite: true"),
        "{e}"
    );
    assert_eq!(std::fs::read_to_string(&on_disk).unwrap(), "a,b\n1,2\n");
    let rep = call(
        "webdav.write",
        json!({"url": report, "text": "a,b\n3,4\n", "overwrite": true}),
    )
    .await;
    assert_eq!(ok(&rep.outcome)["replaced"], true);
    assert_eq!(std::fs::read_to_string(&on_disk).unwrap(), "a,b\n3,4\n");
    // Binary from base64 and from a file under /data.
    let b64 = base64::engine::general_purpose::STANDARD.encode(BINARY);
    let rep = call(
        "webdav.write",
        json!({"url": format!("{url}copy.pdf"), "base64": b64}),
    )
    .await;
    assert_eq!(ok(&rep.outcome)["size"], BINARY.len());
    assert_eq!(std::fs::read(dir.join("copy.pdf")).unwrap(), BINARY);
    std::fs::write(h.path().join("data/local.xlsx"), b"PK\x03\x04 sheet").unwrap();
    let rep = call(
        "webdav.write",
        json!({"url": format!("{url}up/local.xlsx"), "from_file": "local.xlsx", "create_parents": true}),
    )
    .await;
    ok(&rep.outcome);
    assert_eq!(
        std::fs::read(dir.join("up/local.xlsx")).unwrap(),
        b"PK\x03\x04 sheet"
    );
    let rep = call(
        "webdav.write",
        json!({"url": format!("{url}both.txt"), "text": "a", "base64": "YQ=="}),
    )
    .await;
    assert!(tool_error(&rep.outcome).contains("exactly one"));
    assert!(!dir.join("both.txt").exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webdav_makes_folders_moves_and_deletes_on_wsgidav() {
    let Some(d) = WebDav::shared() else { return };
    let (dir, url) = d.folder("mv");
    seed(&dir);
    let (spud, _h) = webdav_spud(d, &d.login()).await;
    let call = |tool: &'static str, input: Value| {
        let spud = &spud;
        async move { spud.call(tool, &input).await.unwrap() }
    };

    let rep = call("webdav.mkdir", json!({"url": format!("{url}a/b")})).await;
    assert!(tool_error(&rep.outcome).contains("parents: true"));
    let rep = call(
        "webdav.mkdir",
        json!({"url": format!("{url}a/b"), "parents": true}),
    )
    .await;
    assert_eq!(
        ok(&rep.outcome)["created"],
        json!([format!("{url}a/"), format!("{url}a/b/")])
    );
    assert!(dir.join("a/b").is_dir());
    let rep = call("webdav.mkdir", json!({"url": format!("{url}a/b/")})).await;
    assert_eq!(ok(&rep.outcome)["created"], json!([]));
    let rep = call("webdav.mkdir", json!({"url": format!("{url}notes.txt")})).await;
    assert!(tool_error(&rep.outcome).contains("a file of that name"));

    // Into a folder that is not there: 409; then with create_parents.
    let (from, to) = (format!("{url}notes.txt"), format!("{url}done/notes.txt"));
    let rep = call("webdav.move", json!({"from": from, "to": to})).await;
    let e = tool_error(&rep.outcome);
    assert!(
        e.contains("HTTP 409") && e.contains("create_parents"),
        "{e}"
    );
    assert!(dir.join("notes.txt").exists());
    let rep = call(
        "webdav.move",
        json!({"from": from, "to": to, "create_parents": true}),
    )
    .await;
    let moved = ok(&rep.outcome);
    assert_eq!(moved["created"], json!([format!("{url}done/")]));
    assert!(!dir.join("notes.txt").exists());
    assert_eq!(
        std::fs::read_to_string(dir.join("done/notes.txt")).unwrap(),
        "Order 1001: 25 bolts, 30 nuts\n"
    );
    // Onto an existing file: 412 unless overwrite.
    let rep = call(
        "webdav.move",
        json!({"from": format!("{url}scan.pdf"), "to": to}),
    )
    .await;
    let e = tool_error(&rep.outcome);
    assert!(
        e.contains("HTTP 412") && e.contains("overwrite: true"),
        "{e}"
    );
    assert!(dir.join("scan.pdf").exists());
    let rep = call(
        "webdav.move",
        json!({"from": format!("{url}scan.pdf"), "to": to, "overwrite": true}),
    )
    .await;
    assert_eq!(ok(&rep.outcome)["replaced"], true);
    assert_eq!(std::fs::read(dir.join("done/notes.txt")).unwrap(), BINARY);
    let rep = call(
        "webdav.move",
        json!({"from": format!("{url}nothing.txt"), "to": format!("{url}x.txt")}),
    )
    .await;
    let e = tool_error(&rep.outcome);
    assert!(e.contains("HTTP 404") && e.contains("webdav.list"), "{e}");
    let rep = call(
        "webdav.move",
        json!({"from": to, "to": "http://127.0.0.1:9/x.txt"}),
    )
    .await;
    assert!(tool_error(&rep.outcome).contains("another server"));

    // A folder that holds files goes only with `recursive`.
    let rep = call("webdav.delete", json!({"url": format!("{url}old/")})).await;
    let e = tool_error(&rep.outcome);
    assert!(
        e.contains("holding 1 entries") && e.contains("recursive: true"),
        "{e}"
    );
    assert!(dir.join("old/a b.csv").exists());
    let rep = call(
        "webdav.delete",
        json!({"url": format!("{url}old"), "recursive": true}),
    )
    .await;
    let deleted = ok(&rep.outcome);
    assert_eq!(deleted["was_dir"], true);
    assert!(!dir.join("old").exists());
    let rep = call("webdav.delete", json!({"url": to})).await;
    assert_eq!(ok(&rep.outcome)["was_dir"], false);
    assert!(!dir.join("done/notes.txt").exists());
    let rep = call("webdav.delete", json!({"url": to})).await;
    assert!(tool_error(&rep.outcome).contains("HTTP 404"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webdav_refusals_are_typed_errors() {
    let Some(d) = WebDav::shared() else { return };
    std::fs::write(d.archive().join("2025.csv"), "year,total\n2025,10\n").unwrap();
    let (spud, _h) = webdav_spud(d, &d.login()).await;
    let o = d.origin();

    // The read-only share: readable, but a write is 403 with what to do; nothing changes.
    let rep = spud
        .call(
            "webdav.read",
            &json!({"url": format!("{o}/archive/2025.csv")}),
        )
        .await
        .unwrap();
    assert_eq!(ok(&rep.outcome)["content"], "year,total\n2025,10\n");
    let rep = spud
        .call(
            "webdav.write",
            &json!({"url": format!("{o}/archive/2025.csv"), "text": "x", "overwrite": true}),
        )
        .await
        .unwrap();
    let e = tool_error(&rep.outcome);
    assert!(e.contains("HTTP 403") && e.contains("read-only"), "{e}");
    assert_eq!(
        std::fs::read_to_string(d.archive().join("2025.csv")).unwrap(),
        "year,total\n2025,10\n"
    );
    let rep = spud
        .call(
            "webdav.read",
            &json!({"url": format!("{o}/no-such-file.txt")}),
        )
        .await
        .unwrap();
    let e = tool_error(&rep.outcome);
    assert!(e.contains("HTTP 404") && e.contains("webdav.list"), "{e}");

    // Bad input is an error before any request.
    let rep = spud
        .call("webdav.read", &json!({"url": "notes.txt"}))
        .await
        .unwrap();
    assert!(tool_error(&rep.outcome).contains("url: `notes.txt` is not an absolute URL"));
    let rep = spud
        .call(
            "webdav.read",
            &json!({"url": format!("{o}/a.txt"), "save_to": "../etc/passwd"}),
        )
        .await
        .unwrap();
    assert!(tool_error(&rep.outcome).contains("without `..`"));
    // Another server is not granted: a denial, not a request.
    let rep = spud
        .call("webdav.list", &json!({"url": "http://127.0.0.1:9/"}))
        .await
        .unwrap();
    match &rep.outcome {
        Outcome::Denied { denial } => assert_eq!(denial.capability, Capability::Http),
        other => panic!("expected an HTTP denial, got {other:?}"),
    }

    // A wrong login: 401, and the error names the grant that logs in.
    let (bad, _h2) = webdav_spud(d, "files:wrong-password").await;
    let rep = bad
        .call("webdav.list", &json!({"url": format!("{o}/")}))
        .await
        .unwrap();
    let e = tool_error(&rep.outcome);
    assert!(
        e.contains("HTTP 401") && e.contains("inject = ") && e.contains("basic"),
        "{e}"
    );
}
