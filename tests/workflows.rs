//! The workflows of `examples/workflows/`, each run offline by `spud run --plan` in a copy of
//! its folder (plan, policy, seed data), and its end state checked on disk.

use serde_json::{json, Value};
use spud::sandbox::Outcome;
use spud::{Spud, SpudOptions};
use spud_tests::connectors::{signature, Site};
use spud_tests::db::{Postgres, Redis};
use spud_tests::imap::Dovecot;
use spud_tests::mail::{MailSink, Radicale};
use spud_tests::{guest, home, spud_bin, workspace};
use std::path::Path;
use std::process::Command;

/// The workflows that keep files on a WebDAV share.
#[path = "workflows/files.rs"]
mod files;
/// `spud init` writes each workflow whole.
#[path = "workflows/init.rs"]
mod init;
/// The back-office workflows: invoice reminders, new customers, backups.
#[path = "workflows/office.rs"]
mod office;

/// Copies `examples/workflows/NAME` into `to`.
fn copy_workflow(name: &str, to: &Path) {
    fn copy(from: &Path, to: &Path) {
        std::fs::create_dir_all(to).unwrap();
        for e in std::fs::read_dir(from).unwrap().flatten() {
            let target = to.join(e.file_name());
            if e.path().is_dir() {
                copy(&e.path(), &target);
            } else {
                std::fs::copy(e.path(), target).unwrap();
            }
        }
    }
    copy(&workspace().join("examples/workflows").join(name), to);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restock_writes_the_purchase_order() {
    let h = home();
    let folder = h.path().join("restock");
    copy_workflow("restock", &folder);
    let spud_home = h.path().join("spud");
    let run = |args: &[&str]| {
        Command::new(spud_bin())
            .arg("--home")
            .arg(&spud_home)
            .args(args)
            .env_remove("SPUD_POLICY")
            .output()
            .unwrap()
    };
    for p in ["sheet", "html", "json"] {
        let o = run(&["tools", "add", guest(p).to_str().unwrap()]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    }
    let policy = folder.join("policy.toml");
    let plan = folder.join("plan.toml");
    let o = run(&[
        "--policy",
        policy.to_str().unwrap(),
        "run",
        "--plan",
        plan.to_str().unwrap(),
        "--json",
    ]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success(),
        "{out}\n{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let o = run(&["report", "last", "--json"]);
    let report: Value = serde_json::from_slice(&o.stdout).unwrap();
    // The step that found nothing backtracked to its alternative.
    assert_eq!(
        report["results"]["low"]["document"]
            .as_array()
            .unwrap()
            .len(),
        2,
        "{report}"
    );

    // End state: the order, as a real XLSX file, holds exactly the two low items.
    let xlsx = folder.join("data/purchase-order.xlsx");
    assert_eq!(&std::fs::read(&xlsx).unwrap()[..2], b"PK");
    let spud = Spud::open(SpudOptions {
        home: Some(spud_home.clone()),
        policy: Some(policy),
        principal: None,
    })
    .unwrap();
    let r = spud
        .call("sheet.read", &json!({"path": "purchase-order.xlsx"}))
        .await
        .unwrap();
    let Outcome::Ok { value } = &r.outcome else {
        panic!("{:?}", r.outcome)
    };
    assert_eq!(value["sheets"], json!(["Order"]));
    assert_eq!(
        value["rows"],
        json!([["B-M8", "Bolt M8", 12, 25], ["N-M8", "Nut M8", 8, 30]])
    );
}

#[test]
fn monitor_posts_the_digest_and_a_signed_event() {
    const KEY: &str = "ops-key-7e6d5c4b3a29";
    let h = home();
    let folder = h.path().join("monitor");
    copy_workflow("monitor", &folder);
    let site = Site::start(&folder.join("data"), KEY);
    // The workflow's URLs name 127.0.0.1:8808; this run's site is on a free port.
    for f in ["plan.toml", "policy.toml"] {
        let text = std::fs::read_to_string(folder.join(f)).unwrap();
        std::fs::write(
            folder.join(f),
            text.replace("127.0.0.1:8808", &site.addr.to_string()),
        )
        .unwrap();
    }
    let spud_home = h.path().join("spud");
    let run = |args: &[&str]| {
        Command::new(spud_bin())
            .arg("--home")
            .arg(&spud_home)
            .args(args)
            .env_remove("SPUD_POLICY")
            .env("OPS_WEBHOOK_KEY", KEY)
            .output()
            .unwrap()
    };
    for p in ["feed", "webhook"] {
        let o = run(&["tools", "add", guest(p).to_str().unwrap()]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    }
    let (policy, plan) = (folder.join("policy.toml"), folder.join("plan.toml"));
    let o = run(&[
        "--policy",
        policy.to_str().unwrap(),
        "run",
        "--plan",
        plan.to_str().unwrap(),
    ]);
    assert!(
        o.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    // The status step backtracked from the RSS URL to the Atom one.
    let o = run(&["report", "last", "--json"]);
    let report: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(report["results"]["status"]["kind"], "atom", "{report}");

    // End state: what the two receivers got.
    let posts = site.posts();
    assert_eq!(posts.len(), 2, "{posts:?}");
    let team = posts
        .iter()
        .find(|p| p.path == "/hooks/team")
        .expect("the team post");
    let text = team.json()["text"].as_str().unwrap().to_string();
    for title in [
        "Price rise on stainless M8 bolts from 1 January",
        "Christmas shipping: last orders 18 December",
        "Payments delayed *(resolved)*",
        "Scheduled maintenance on 6 December",
    ] {
        assert!(text.contains(title), "{title} missing from {text}");
    }
    assert!(
        !text.contains("Nylon lock nuts"),
        "older than `since`: {text}"
    );
    let ops = posts
        .iter()
        .find(|p| p.path == "/hooks/signed")
        .expect("the ops event");
    assert_eq!(
        ops.header("x-signature-256"),
        Some(signature(KEY, &ops.body).as_str())
    );
    let event = ops.json();
    assert_eq!(event["event"], "platform_status");
    assert_eq!(
        event["items"][0]["id"],
        "tag:status.shop.example,2026:incident-4411"
    );
}

/// `spud` with `home`, no policy from the environment, and `env` set.
fn spud_cmd(home: &Path, env: &[(&str, &str)], args: &[&str]) -> std::process::Output {
    let mut c = Command::new(spud_bin());
    c.arg("--home")
        .arg(home)
        .args(args)
        .env_remove("SPUD_POLICY");
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sales_report_writes_the_sheets_and_tells_the_team() {
    let Some(pg) = Postgres::start() else { return };
    let h = home();
    let folder = h.path().join("sales-report");
    copy_workflow("sales-report", &folder);
    let seed = std::fs::read_to_string(folder.join("data/seed.sql")).unwrap();
    pg.psql("shop", &seed).unwrap();
    let site = Site::start(&folder.join("data"), "unused");
    for f in ["plan.toml", "policy.toml"] {
        let text = std::fs::read_to_string(folder.join(f)).unwrap();
        let text = text
            .replace("127.0.0.1:8808", &site.addr.to_string())
            .replace("127.0.0.1:5432", &format!("127.0.0.1:{}", pg.port));
        std::fs::write(folder.join(f), text).unwrap();
    }
    let spud_home = h.path().join("spud");
    let env = [("PGPASSWORD", pg.password)];
    for p in ["postgres", "sheet", "webhook"] {
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

    // End state: the two sheets on disk, the message the channel got.
    let spud = Spud::open(SpudOptions {
        home: Some(spud_home.clone()),
        policy: Some(policy),
        principal: None,
    })
    .unwrap();
    let r = spud
        .call(
            "sheet.read",
            &json!({"path": "weekly-sales-2026-11-23.xlsx"}),
        )
        .await
        .unwrap();
    let Outcome::Ok { value } = &r.outcome else {
        panic!("{:?}", r.outcome)
    };
    assert_eq!(value["sheets"], json!(["Sales"]));
    assert_eq!(value["columns"], json!(["customer", "orders", "total"]));
    assert_eq!(
        value["rows"],
        json!([
            ["Acme Builders", 2, 1300.49],
            ["Bolt & Co", 1, 80],
            ["Corner Hardware", 2, 58]
        ])
    );
    let csv = std::fs::read_to_string(folder.join("data/unpaid-2026-11-29.csv")).unwrap();
    assert_eq!(
        csv,
        "id,customer,email,placed,total\n3,Bolt & Co,pay@bolt.example,2026-11-24,80\n\
         5,Acme Builders,accounts@acme.example,2026-11-27,99.99\n"
    );
    let posts = site.posts();
    assert_eq!(posts.len(), 1, "{posts:?}");
    assert!(
        posts[0].json()["text"].as_str().unwrap().contains(
            "5 orders, 1438.49 in total, from Acme Builders, Bolt & Co, Corner Hardware."
        ),
        "{}",
        posts[0].json()
    );
    // Read-only: the report changed nothing in the database.
    assert_eq!(pg.psql("shop", "SELECT count(*) FROM orders").unwrap(), "7");
}

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

#[test]
fn init_writes_a_workflow_folder_and_never_overwrites() {
    let h = home();
    let dir = h.path().join("mine");
    let init = |args: &[&str]| {
        Command::new(spud_bin())
            .arg("init")
            .args(args)
            .output()
            .unwrap()
    };
    let o = init(&["--workflow", "restock", dir.to_str().unwrap()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    for f in [
        "README.md",
        "plan.toml",
        "policy.toml",
        "data/inventory.csv",
        "data/supplier.html",
    ] {
        let ours = std::fs::read(dir.join(f)).unwrap();
        let example =
            std::fs::read(workspace().join("examples/workflows/restock").join(f)).unwrap();
        assert_eq!(ours, example, "{f}");
    }
    std::fs::write(dir.join("plan.toml"), "edited").unwrap();
    let o = init(&["--workflow", "restock", dir.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("exists already"));
    assert_eq!(
        std::fs::read_to_string(dir.join("plan.toml")).unwrap(),
        "edited"
    );
    let o = init(&["--workflow", "nope"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("restock"));
}

/// Adds the workflow's plugins to `home`.
fn add_plugins(home: &Path, env: &[(&str, &str)], plugins: &[&str]) {
    for p in plugins {
        let o = spud_cmd(home, env, &["tools", "add", guest(p).to_str().unwrap()]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    }
}

/// Runs `plan` under `policy` (it must succeed) and returns the run's report.
fn run_plan(home: &Path, env: &[(&str, &str)], policy: &str, plan: &str) -> Value {
    let o = spud_cmd(home, env, &["--policy", policy, "run", "--plan", plan]);
    assert!(
        o.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    let o = spud_cmd(home, env, &["report", "last", "--json"]);
    serde_json::from_slice(&o.stdout).unwrap()
}

/// The sheet at `path` as the workflow's own policy lets `sheet.read` see it.
async fn read_sheet(home: &Path, policy: std::path::PathBuf, path: &str) -> Value {
    let spud = Spud::open(SpudOptions {
        home: Some(home.to_path_buf()),
        policy: Some(policy),
        principal: None,
    })
    .unwrap();
    let r = spud
        .call("sheet.read", &json!({ "path": path }))
        .await
        .unwrap();
    match r.outcome {
        Outcome::Ok { value } => value,
        other => panic!("{other:?}"),
    }
}

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
