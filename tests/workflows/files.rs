//! The workflows that keep files on a WebDAV share or in S3-compatible storage, run against
//! the test binary's WsgiDAV server (each in a folder of its own there; the end state checked
//! on the server's disk) and moto's S3 server (checked with boto3).

use super::{add_plugins, copy_workflow, read_sheet, run_plan};
use serde_json::json;
use spud_tests::connectors::Site;
use spud_tests::files::{WebDav, S3};
use spud_tests::home;
use std::path::Path;

/// Copies the workflow's `share/` onto the server's folder `dir` (as a WebDAV client would
/// upload it: the server serves its disk).
pub(super) fn seed_share(from: &Path, dir: &Path) {
    for e in std::fs::read_dir(from).unwrap().flatten() {
        let target = dir.join(e.file_name());
        if e.path().is_dir() {
            std::fs::create_dir_all(&target).unwrap();
            seed_share(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), target).unwrap();
        }
    }
}

/// Rewrites the share's address in the plan and the policy: the workflow names
/// `http://127.0.0.1:8080/shop/`, this run's share is the test's folder on a free port.
fn point_at(folder: &Path, d: &WebDav, url: &str) {
    for f in ["plan.toml", "policy.toml"] {
        let text = std::fs::read_to_string(folder.join(f)).unwrap();
        let text = text
            .replace("http://127.0.0.1:8080/shop/", url)
            .replace("http://127.0.0.1:8080", &d.origin());
        std::fs::write(folder.join(f), text).unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn file_invoices_files_the_pdfs_and_uploads_the_summary() {
    let Some(d) = WebDav::shared() else { return };
    let h = home();
    let folder = h.path().join("file-invoices");
    copy_workflow("file-invoices", &folder);
    let (share, url) = d.folder("wf-file-invoices");
    seed_share(&folder.join("share"), &share);
    point_at(&folder, d, &url);
    let spud_home = h.path().join("spud");
    let login = d.login();
    let env = [("WEBDAV_LOGIN", login.as_str())];
    add_plugins(
        &spud_home,
        &env,
        &["webdav", "pdf", "python", "json", "sheet"],
    );
    let (policy, plan) = (folder.join("policy.toml"), folder.join("plan.toml"));
    let report = run_plan(
        &spud_home,
        &env,
        policy.to_str().unwrap(),
        plan.to_str().unwrap(),
    );
    // The scanner's old folder was gone: the list backtracked to the inbox.
    assert_eq!(
        report["results"]["inbox"]["url"],
        format!("{url}invoices/inbox/"),
        "{report}"
    );

    // End state on the share: the inbox empty, both invoices filed unchanged, the summary.
    let inbox: Vec<_> = std::fs::read_dir(share.join("invoices/inbox"))
        .unwrap()
        .flatten()
        .collect();
    assert!(inbox.is_empty(), "{inbox:?}");
    for f in [
        "2026-11-24-nordic-fasteners.pdf",
        "2026-11-27-harbour-timber.pdf",
    ] {
        assert_eq!(
            std::fs::read(share.join("invoices/done").join(f)).unwrap(),
            std::fs::read(folder.join("share/invoices/inbox").join(f)).unwrap(),
            "{f}"
        );
    }
    let summary =
        std::fs::read_to_string(share.join("invoices/reports/invoices-2026-11.csv")).unwrap();
    assert_eq!(
        summary,
        "file,supplier,invoice,date,due,account,total\n\
         2026-11-27-harbour-timber.pdf,Harbour Timber Ltd,HT-88213,2026-11-27,2026-12-11,4020,560\n\
         2026-11-24-nordic-fasteners.pdf,Nordic Fasteners AB,NF-2026-0412,2026-11-24,2026-12-24,4010,356.25\n"
    );
    // The same sheet locally, as the workflow's own policy lets sheet.read see it.
    let local = read_sheet(&spud_home, policy, "invoices-2026-11.csv").await;
    assert_eq!(local["rows"][1][6], 356.25);
    // No password in the report.
    assert!(!report.to_string().contains(d.password));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn share_report_uploads_the_report_and_posts_the_link() {
    let Some(s3) = S3::shared() else { return };
    let h = home();
    let folder = h.path().join("share-report");
    copy_workflow("share-report", &folder);
    let site = Site::start(&folder.join("data"), "unused");
    for f in ["plan.toml", "policy.toml"] {
        let text = std::fs::read_to_string(folder.join(f)).unwrap();
        let text = text
            .replace("127.0.0.1:8808", &site.addr.to_string())
            .replace("http://127.0.0.1:9000", &s3.origin());
        std::fs::write(folder.join(f), text).unwrap();
    }
    let spud_home = h.path().join("spud");
    let keys = s3.writer.value();
    let env = [("S3_KEYS", keys.as_str())];
    add_plugins(&spud_home, &env, &["sheet", "s3", "webhook"]);
    let (policy, plan) = (folder.join("policy.toml"), folder.join("plan.toml"));
    let report = run_plan(
        &spud_home,
        &env,
        policy.to_str().unwrap(),
        plan.to_str().unwrap(),
    );
    // The old bucket is gone: the upload backtracked to the current one.
    let url = format!("{}/reports/sales/2026-w48.xlsx", s3.origin());
    assert_eq!(report["results"]["upload"]["url"], url, "{report}");

    // End state: the report in the bucket, byte for byte the one written, and the link posted.
    let local = std::fs::read(folder.join("data/sales-w48.xlsx")).unwrap();
    assert_eq!(&local[..2], b"PK");
    assert_eq!(s3.object("reports", "sales/2026-w48.xlsx").unwrap(), local);
    assert_eq!(s3.object("team-reports", "sales/2026-w48.xlsx"), None);
    let sheet = read_sheet(&spud_home, policy, "sales-w48.xlsx").await;
    assert_eq!(sheet["sheets"], json!(["Week 48"]));
    assert_eq!(sheet["rows"][0], json!(["Acme Builders", 4, 1890.4]));
    let posts = site.posts();
    assert_eq!(posts.len(), 1, "{posts:?}");
    assert_eq!(posts[0].path, "/hooks/team");
    let text = posts[0].json()["text"].as_str().unwrap().to_string();
    assert!(text.contains(&url), "{text}");
    assert!(!report.to_string().contains(&s3.writer.secret));
}
