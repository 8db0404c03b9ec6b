//! First-party connectors over real files: each runs as a sandboxed component under a policy
//! that grants it one directory, and what it wrote is checked on disk.

use serde_json::{json, Value};
use spud::sandbox::{Capability, Outcome};
use spud::{Spud, SpudOptions};
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
    assert_eq!(names, ["openapi", "http", "sheet", "html"]);
    for c in list.as_array().unwrap() {
        for key in ["grants", "credentials", "server", "example"] {
            assert!(!c[key].as_str().unwrap().is_empty(), "{c}");
        }
        // Every listed component is one the build makes.
        let wasm = c["component"].as_str().unwrap().trim_end_matches(".wasm");
        assert!(spud_tests::guest(wasm).exists());
    }
}
