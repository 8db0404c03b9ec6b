//! The bookkeeping workflows over sheets, a database and PDFs: reconciling payments, margins,
//! abandoned carts, timesheets, expenses.

use super::{add_plugins, copy_workflow, read_sheet, run_plan, spud_cmd};
use serde_json::json;
use spud::sandbox::Outcome;
use spud::{Spud, SpudOptions};
use spud_tests::connectors::Site;
use spud_tests::db::{Postgres, Redis};
use spud_tests::home;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconcile_matches_payments_and_lists_open_invoices() {
    let h = home();
    let folder = h.path().join("reconcile");
    copy_workflow("reconcile", &folder);
    let spud_home = h.path().join("spud");
    add_plugins(&spud_home, &[], &["sheet", "json", "python"]);
    let policy = folder.join("policy.toml");
    let plan = folder.join("plan.toml");
    let (policy_s, plan_s) = (policy.to_str().unwrap(), plan.to_str().unwrap());
    let report = run_plan(&spud_home, &[], policy_s, plan_s);
    // The strict match left Birch's payment over; the alternative matched it by amount.
    assert!(
        report["results"]["match"]["stderr"]
            .as_str()
            .unwrap()
            .contains("all payments matched"),
        "{report}"
    );

    // End state: the reconciliation as a real XLSX file, and the open invoices as CSV.
    let xlsx = folder.join("data/reconciliation-2026-11.xlsx");
    assert_eq!(&std::fs::read(&xlsx).unwrap()[..2], b"PK");
    let spud = Spud::open(SpudOptions {
        home: Some(spud_home.clone()),
        policy: Some(policy),
        principal: None,
    })
    .unwrap();
    let r = spud
        .call(
            "sheet.read",
            &json!({"path": "reconciliation-2026-11.xlsx"}),
        )
        .await
        .unwrap();
    let Outcome::Ok { value } = &r.outcome else {
        panic!("{:?}", r.outcome)
    };
    assert_eq!(value["sheets"], json!(["Matched"]));
    let rows = value["rows"].as_array().unwrap();
    let invoices: Vec<(&str, &str)> = rows
        .iter()
        .map(|r| (r[3].as_str().unwrap(), r[5].as_str().unwrap()))
        .collect();
    assert_eq!(
        invoices,
        [
            ("INV-1001", "by number"),
            ("INV-1002", "by amount"),
            ("INV-1003", "by number"),
            ("INV-1005", "by number"),
        ]
    );
    let open = std::fs::read_to_string(folder.join("data/open-invoices-2026-11.csv")).unwrap();
    let open: Vec<&str> = open.lines().collect();
    assert_eq!(open.len(), 2, "{open:?}");
    assert!(open[1].starts_with("INV-1004,Dune Bakery,300"), "{open:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn margins_writes_the_sheet_and_names_the_low_items() {
    let h = home();
    let folder = h.path().join("margins");
    copy_workflow("margins", &folder);
    let site = Site::start(&folder.join("data"), "unused-key");
    for f in ["plan.toml", "policy.toml"] {
        let text = std::fs::read_to_string(folder.join(f)).unwrap();
        std::fs::write(
            folder.join(f),
            text.replace("127.0.0.1:8808", &site.addr.to_string()),
        )
        .unwrap();
    }
    let spud_home = h.path().join("spud");
    add_plugins(
        &spud_home,
        &[],
        &["sheet", "http", "html", "json", "python", "webhook"],
    );
    let policy = folder.join("policy.toml");
    let plan = folder.join("plan.toml");
    let (policy_s, plan_s) = (policy.to_str().unwrap(), plan.to_str().unwrap());
    let report = run_plan(&spud_home, &[], policy_s, plan_s);
    // The old address answered 404; the alternative fetched the new one.
    assert!(
        report["results"]["page"]["final_url"]
            .as_str()
            .unwrap()
            .ends_with("/price-list.html"),
        "{report}"
    );

    // End state: every margin in the sheet, and one message naming exactly the low items.
    let value = &read_sheet(&spud_home, policy, "margins-2026-12.xlsx").await;
    assert_eq!(value["sheets"], json!(["Margins"]));
    let margins: Vec<(String, f64)> = value["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r[0].as_str().unwrap().to_string(), r[4].as_f64().unwrap()))
        .collect();
    assert_eq!(
        margins,
        [
            ("B-M8".to_string(), 35.6),
            ("N-M8".to_string(), 22.8),
            ("W-M8".to_string(), 55.1),
            ("S-4X40".to_string(), 20.0),
        ]
    );
    let posts = site.posts();
    assert_eq!(posts.len(), 1, "{posts:?}");
    assert_eq!(posts[0].path, "/hooks/team");
    let text = posts[0].json()["text"].as_str().unwrap().to_string();
    assert!(text.contains("N-M8") && text.contains("S-4X40"), "{text}");
    assert!(!text.contains("B-M8") && !text.contains("W-M8"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn carts_lists_the_reminders_and_marks_the_day_once() {
    let Some(pg) = Postgres::start() else { return };
    let Some(redis) = Redis::start() else { return };
    let h = home();
    let folder = h.path().join("carts");
    copy_workflow("carts", &folder);
    pg.psql(
        "shop",
        &std::fs::read_to_string(folder.join("data/seed.sql")).unwrap(),
    )
    .unwrap();
    let seed = std::fs::read_to_string(folder.join("data/seed.redis")).unwrap();
    for line in seed.lines().filter(|l| !l.trim().is_empty()) {
        let (cmd, rest) = line.split_once(' ').unwrap();
        let (key, value) = rest.split_once(' ').unwrap();
        assert_eq!(redis.cli(&[cmd, key, value]).unwrap(), "OK");
    }
    let site = Site::start(&folder.join("data"), "unused");
    for f in ["plan.toml", "policy.toml"] {
        let text = std::fs::read_to_string(folder.join(f)).unwrap();
        let text = text
            .replace("127.0.0.1:8808", &site.addr.to_string())
            .replace("127.0.0.1:5432", &format!("127.0.0.1:{}", pg.port))
            .replace("127.0.0.1:6379", &format!("127.0.0.1:{}", redis.port));
        std::fs::write(folder.join(f), text).unwrap();
    }
    let spud_home = h.path().join("spud");
    let env = [
        ("PGPASSWORD", pg.password),
        ("REDIS_PASSWORD", redis.password),
    ];
    add_plugins(
        &spud_home,
        &env,
        &["redis", "postgres", "python", "json", "sheet", "webhook"],
    );
    let (policy, plan) = (folder.join("policy.toml"), folder.join("plan.toml"));
    let (policy_s, plan_s) = (policy.to_str().unwrap(), plan.to_str().unwrap());
    let report = run_plan(&spud_home, &env, policy_s, plan_s);
    // The old prefix found no cart; the alternative found three.
    assert_eq!(
        report["results"]["carts"]["keys"].as_array().unwrap().len(),
        3,
        "{report}"
    );

    // End state: the list on disk, the day marked in Redis, one message; no password anywhere.
    let csv = std::fs::read_to_string(folder.join("data/reminders-2026-12-02.csv")).unwrap();
    assert_eq!(
        csv,
        "email,name,items,total\n\
         ada@fernandez.example,Ada Fernandez,\"2 x B-M8, 1 x W-M8\",124.9\n\
         chloe@martin.example,Chloe Martin,3 x S-4X40,36\n"
    );
    assert_eq!(redis.cli(&["GET", "reminders:2026-12-02"]).unwrap(), "2");
    let posts = site.posts();
    assert_eq!(posts.len(), 1, "{posts:?}");
    let text = posts[0].json()["text"].as_str().unwrap().to_string();
    assert!(
        text.contains("2 reminders ready (160.9 in carts)"),
        "{text}"
    );
    let report_text = report.to_string();
    assert!(!report_text.contains(pg.password) && !report_text.contains(redis.password));

    // A second run the same day does not prepare the reminders twice: the mark exists.
    let o = spud_cmd(
        &spud_home,
        &env,
        &["--policy", policy_s, "run", "--plan", plan_s],
    );
    assert!(!o.status.success(), "a second run must not pass");
    assert_eq!(site.posts().len(), 1, "no second message");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timesheets_prices_the_billable_hours() {
    let h = home();
    let folder = h.path().join("timesheets");
    copy_workflow("timesheets", &folder);
    let site = Site::start(&folder.join("data"), "unused");
    for f in ["plan.toml", "policy.toml"] {
        let text = std::fs::read_to_string(folder.join(f)).unwrap();
        std::fs::write(
            folder.join(f),
            text.replace("127.0.0.1:8808", &site.addr.to_string()),
        )
        .unwrap();
    }
    let spud_home = h.path().join("spud");
    add_plugins(&spud_home, &[], &["sheet", "javascript", "json", "webhook"]);
    let policy = folder.join("policy.toml");
    let plan = folder.join("plan.toml");
    let (policy_s, plan_s) = (policy.to_str().unwrap(), plan.to_str().unwrap());
    let report = run_plan(&spud_home, &[], policy_s, plan_s);
    // The XLSX export was missing; the alternative read the CSV.
    assert_eq!(
        report["results"]["hours"]["rows"].as_array().unwrap().len(),
        8,
        "{report}"
    );

    // End state: six priced lines in the sheet, the totals on disk and in the message.
    let value = &read_sheet(&spud_home, policy, "invoice-lines-w48.xlsx").await;
    assert_eq!(value["sheets"], json!(["Week 48"]));
    let rows = value["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 6, "{value}");
    assert!(rows.iter().all(|r| r[0] != "internal"), "{value}");
    assert_eq!(
        rows[0],
        json!(["Harbour Cafe website", "Maya", "2026-11-23", 6.5, 95, 617.5])
    );
    let totals = std::fs::read_to_string(folder.join("data/totals-w48.csv")).unwrap();
    assert_eq!(
        totals,
        "project,amount\nHarbour Cafe website,1562.5\nLindqvist shop,1310\n"
    );
    let posts = site.posts();
    assert_eq!(posts.len(), 1, "{posts:?}");
    let body = String::from_utf8_lossy(&posts[0].body).to_string();
    assert!(
        body.contains("Harbour Cafe website: 1562.5; Lindqvist shop: 1310"),
        "{body}"
    );
    assert!(body.contains("AdaptiveCard"), "a Teams card: {body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expenses_collects_the_receipts_into_the_sheet() {
    let h = home();
    let folder = h.path().join("expenses");
    copy_workflow("expenses", &folder);
    let spud_home = h.path().join("spud");
    add_plugins(&spud_home, &[], &["pdf", "python", "json", "sheet"]);
    let policy = folder.join("policy.toml");
    let plan = folder.join("plan.toml");
    let (policy_s, plan_s) = (policy.to_str().unwrap(), plan.to_str().unwrap());
    let report = run_plan(&spud_home, &[], policy_s, plan_s);
    // The taxi receipt has no table: its step backtracked to the text.
    assert!(
        report["results"]["taxi"]["pages"][0]["text"]
            .as_str()
            .unwrap()
            .contains("Amount paid: 24.60 EUR"),
        "{report}"
    );

    // End state: the sheet with each receipt's total, the totals per category on disk.
    let value = &read_sheet(&spud_home, policy, "expenses-2026-11.xlsx").await;
    assert_eq!(value["sheets"], json!(["November"]));
    let amounts: Vec<(&str, f64)> = value["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r[1].as_str().unwrap(), r[3].as_f64().unwrap()))
        .collect();
    assert_eq!(
        amounts,
        [
            ("Harbour Cafe", 19.3),
            ("Papeterie Nord", 116.5),
            ("City Taxi", 24.6)
        ]
    );
    let csv =
        std::fs::read_to_string(folder.join("data/expenses-2026-11-by-category.csv")).unwrap();
    assert_eq!(
        csv,
        "category,amount\nmeals,19.3\noffice supplies,116.5\ntravel,24.6\ntotal,160.4\n"
    );
}
