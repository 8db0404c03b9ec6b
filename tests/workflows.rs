//! The workflows of `examples/workflows/`, each run offline by `spud run --plan` in a copy of
//! its folder (plan, policy, seed data), and its end state checked on disk.

use serde_json::{json, Value};
use spud::sandbox::Outcome;
use spud::{Spud, SpudOptions};
use spud_tests::connectors::{signature, Site};
use spud_tests::db::Postgres;
use spud_tests::{guest, home, spud_bin, workspace};
use std::path::Path;
use std::process::Command;

/// The bookkeeping workflows: reconcile, margins, carts, timesheets, expenses.
#[path = "workflows/books.rs"]
mod books;
/// The workflows that keep files on a WebDAV share.
#[path = "workflows/files.rs"]
mod files;
/// `spud init` writes each workflow whole.
#[path = "workflows/init.rs"]
mod init;
/// The mailbox and calendar workflows: book-appointment, triage-inbox.
#[path = "workflows/mail.rs"]
mod mail;
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
