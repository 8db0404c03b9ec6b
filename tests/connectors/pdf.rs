//! The PDF connector over real files: receipts printed to PDF by Chromium (Type0 fonts with
//! `/W` widths and ToUnicode maps, y-flipped transforms) and a statement with the standard
//! fonts, no widths and two pages; and what it refuses.

use super::{ok, spud_with, tool_error};
use serde_json::json;
use spud::sandbox::{Capability, Outcome};
use spud_tests::workspace;

const POLICY: &str =
    "[tools.pdf]\nfiles = [{ host = \"data\", guest = \"/data\", access = \"read-only\" }]\n";

/// Copies a receipt of the expenses workflow and the statement into `data`.
fn seed(data: &std::path::Path) {
    let receipts = workspace().join("examples/workflows/expenses/data/receipts");
    for name in ["2026-11-21-papeterie-nord.pdf", "2026-11-26-city-taxi.pdf"] {
        std::fs::copy(receipts.join(name), data.join(name)).unwrap();
    }
    std::fs::copy(
        workspace().join("tests/files/statement.pdf"),
        data.join("statement.pdf"),
    )
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pdf_reads_text_tables_and_metadata() {
    let (spud, h) = spud_with(POLICY, &["pdf"]).await;
    seed(&h.path().join("data"));

    // A table with an empty cell keeps its values in their columns.
    let r = spud
        .call(
            "pdf.tables",
            &json!({"path": "2026-11-21-papeterie-nord.pdf"}),
        )
        .await
        .unwrap();
    let v = ok(&r.outcome);
    assert_eq!(v["tables"].as_array().unwrap().len(), 1, "{v}");
    let rows = &v["tables"][0]["rows"];
    assert_eq!(rows[0], json!(["Article", "Qty", "Unit", "Amount"]));
    assert_eq!(
        rows[1],
        json!(["Printer paper A4, 5 reams", "2", "21.90", "43.80"])
    );
    assert_eq!(rows[4], json!(["Total", "", "", "116.50"]));

    // No table on a receipt written as sentences; its text in reading order.
    let r = spud
        .call("pdf.tables", &json!({"path": "2026-11-26-city-taxi.pdf"}))
        .await
        .unwrap();
    assert_eq!(ok(&r.outcome)["tables"], json!([]));
    let r = spud
        .call("pdf.text", &json!({"path": "2026-11-26-city-taxi.pdf"}))
        .await
        .unwrap();
    let text = ok(&r.outcome)["pages"][0]["text"]
        .as_str()
        .unwrap()
        .to_string();
    let first = text.find("City Taxi").unwrap();
    let paid = text.find("Amount paid: 24.60 EUR (card).").unwrap();
    assert!(first < paid, "{text}");

    // Standard fonts, two pages: a right-aligned column, one page asked for, metadata.
    let r = spud
        .call(
            "pdf.tables",
            &json!({"path": "statement.pdf", "pages": [1]}),
        )
        .await
        .unwrap();
    let v = ok(&r.outcome);
    assert_eq!(v["page_count"], 2);
    assert_eq!(
        v["tables"][0]["rows"],
        json!([
            ["Month", "Orders", "Revenue"],
            ["October", "41", "8,120.00"],
            ["November", "57", "11,404.50"]
        ])
    );
    let r = spud
        .call("pdf.text", &json!({"path": "statement.pdf", "pages": [2]}))
        .await
        .unwrap();
    assert_eq!(
        ok(&r.outcome)["pages"],
        json!([{"page": 2, "text": "Page two: notes on the quarter.\nOrders grew by 39% month on month.\n"}])
    );
    let r = spud
        .call("pdf.info", &json!({"path": "statement.pdf"}))
        .await
        .unwrap();
    let v = ok(&r.outcome);
    assert_eq!(v["metadata"]["Title"], "Quarterly statement");
    assert_eq!(v["metadata"]["Author"], "Birch Ltd");
    let r = spud
        .call(
            "pdf.text",
            &json!({"path": "statement.pdf", "max_chars": 10}),
        )
        .await
        .unwrap();
    let v = ok(&r.outcome);
    assert_eq!(v["truncated"], true);
    assert_eq!(v["pages"][0]["text"], "Quarterly ");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pdf_refuses_what_is_not_a_pdf_or_not_granted() {
    let (spud, h) = spud_with(POLICY, &["pdf"]).await;
    seed(&h.path().join("data"));
    std::fs::write(h.path().join("data/notes.pdf"), "just text").unwrap();
    let r = spud
        .call("pdf.text", &json!({"path": "notes.pdf"}))
        .await
        .unwrap();
    assert!(tool_error(&r.outcome).contains("not a PDF file"));
    let mut cut = std::fs::read(h.path().join("data/statement.pdf")).unwrap();
    cut.truncate(600);
    std::fs::write(h.path().join("data/cut.pdf"), cut).unwrap();
    let r = spud
        .call("pdf.text", &json!({"path": "cut.pdf"}))
        .await
        .unwrap();
    assert!(tool_error(&r.outcome).contains("not a readable PDF"));
    let r = spud
        .call("pdf.text", &json!({"path": "statement.pdf", "pages": [3]}))
        .await
        .unwrap();
    assert!(tool_error(&r.outcome).contains("page 3 does not exist: the PDF has 2 pages"));
    let r = spud
        .call("pdf.info", &json!({"path": "../spud/audit.log"}))
        .await
        .unwrap();
    assert!(tool_error(&r.outcome).contains("may not contain `..`"));
    // Outside the grant: the sandbox's file rule, not the plugin, refuses.
    let r = spud
        .call("pdf.info", &json!({"path": "/etc/hostname"}))
        .await
        .unwrap();
    match &r.outcome {
        Outcome::Denied { denial } => assert_eq!(denial.capability, Capability::File),
        Outcome::ToolError { error } => assert!(error.to_string().contains("/etc/hostname")),
        other => panic!("expected a refusal, got {other:?}"),
    }
}
