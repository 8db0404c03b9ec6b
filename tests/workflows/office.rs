//! The back-office workflows: chasing overdue invoices (PostgreSQL, Radicale's CalDAV, the
//! SMTP sink), welcoming a new customer (a Redis stream, PostgreSQL, Radicale's CardDAV, the
//! SMTP sink) and backing up the week's reports (moto's S3, WsgiDAV, a webhook receiver); each
//! end state checked on the servers themselves.

use super::files::seed_share;
use super::{add_plugins, copy_workflow, run_plan, spud_cmd};
use base64::Engine as _;
use serde_json::{json, Value};
use spud_tests::connectors::Site;
use spud_tests::db::{Postgres, Redis};
use spud_tests::files::{WebDav, S3};
use spud_tests::home;
use spud_tests::mail::{MailSink, Radicale};
use std::path::Path;

/// Rewrites the addresses the workflow names in its plan and policy to this run's servers.
fn point_at(folder: &Path, addresses: &[(&str, String)]) {
    for f in ["plan.toml", "policy.toml"] {
        let mut text = std::fs::read_to_string(folder.join(f)).unwrap();
        for (from, to) in addresses {
            text = text.replace(from, to);
        }
        std::fs::write(folder.join(f), text).unwrap();
    }
}

/// The words of one `redis-cli` line: split at spaces, except inside double quotes.
fn words(line: &str) -> Vec<String> {
    let (mut words, mut word, mut quoted, mut started) = (Vec::new(), String::new(), false, false);
    for c in line.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                started = true;
            }
            ' ' if !quoted => {
                if started {
                    words.push(std::mem::take(&mut word));
                }
                started = false;
            }
            c => {
                word.push(c);
                started = true;
            }
        }
    }
    if started {
        words.push(word);
    }
    words
}

/// The text of `file` in the workflow's `data/`.
fn seed(folder: &Path, file: &str) -> String {
    std::fs::read_to_string(folder.join("data").join(file)).unwrap()
}

/// The messages the sink received, by first recipient.
fn mail_by_recipient(sink: &MailSink) -> Vec<Value> {
    let mut mail = sink.messages();
    mail.sort_by_key(|m| m["rcpt_tos"][0].as_str().unwrap_or_default().to_string());
    mail
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invoice_reminders_email_the_customers_and_book_the_call() {
    let Some(pg) = Postgres::start() else { return };
    let Some(dav) = Radicale::start() else { return };
    let Some(sink) = MailSink::start() else {
        return;
    };
    let h = home();
    let folder = h.path().join("invoice-reminders");
    copy_workflow("invoice-reminders", &folder);
    // The seed data, loaded as the README says.
    pg.psql("shop", &seed(&folder, "seed.sql")).unwrap();
    let alter = format!("ALTER ROLE billing PASSWORD '{}'", pg.password);
    pg.psql("shop", &alter).unwrap();
    let ics = seed(&folder, "accounts.ics");
    dav.put("/shop/accounts/", "text/calendar; charset=utf-8", &ics);
    point_at(
        &folder,
        &[
            ("127.0.0.1:5432", format!("127.0.0.1:{}", pg.port)),
            ("127.0.0.1:5232", format!("127.0.0.1:{}", dav.port)),
            ("127.0.0.1:2525", sink.addr()),
        ],
    );
    let spud_home = h.path().join("spud");
    let login = dav.login();
    let env = [
        ("PGPASSWORD", pg.password),
        ("DAV_LOGIN", login.as_str()),
        ("SMTP_PASSWORD", sink.password),
    ];
    add_plugins(&spud_home, &env, &["postgres", "calendar", "smtp", "sheet"]);
    let (policy, plan) = (folder.join("policy.toml"), folder.join("plan.toml"));
    let policy_s = policy.to_str().unwrap();
    let report = run_plan(&spud_home, &env, policy_s, plan.to_str().unwrap());
    // One step backtracked to its alternative; no call was denied a grant.
    assert_eq!(
        (&report["backtracks"], &report["denied"]),
        (&json!(1), &json!(0)),
        "{report}"
    );
    // Tomorrow is the month-end close: the slot came from the rest of the week.
    assert_eq!(
        report["results"]["slot"]["slots"][0],
        json!({"start": "2026-12-04T10:30:00Z", "end": "2026-12-04T11:00:00Z"}),
        "{report}"
    );

    // End state: one reminder to each customer with an invoice due for one, and no other.
    let mail = mail_by_recipient(&sink);
    assert_eq!(mail.len(), 2, "{mail:?}");
    let expected = [
        (
            "accounts@acme.example",
            "Ana Kowalski",
            "INV-2026-0412",
            "32",
            "1250.00",
            "2026-10-31",
        ),
        (
            "maya@harbourcafe.example",
            "Maya Lindgren",
            "INV-2026-0431",
            "19",
            "310.50",
            "2026-11-13",
        ),
    ];
    for (m, (email, contact, number, days, amount, due)) in mail.iter().zip(expected) {
        assert_eq!(m["mail_from"], "accounts@corner.example");
        assert_eq!(m["rcpt_tos"], json!([email]));
        assert_eq!(m["to"], format!("{contact} <{email}>"));
        let subject = format!("Reminder: invoice {number} is {days} days overdue");
        assert_eq!(m["subject"], subject);
        let text = m["text"].as_str().unwrap();
        assert!(
            text.starts_with(&format!("Dear {contact},"))
                && text.contains(&format!("for {amount} GBP was due on {due}")),
            "{text}"
        );
    }
    // ... both marked as reminded, nothing else changed ...
    let marks = pg
        .psql(
            "shop",
            "SELECT number || ' ' || coalesce(reminded_on::text, '-') FROM invoices ORDER BY number",
        )
        .unwrap();
    assert_eq!(
        marks,
        "INV-2026-0412 2026-12-02\nINV-2026-0418 -\nINV-2026-0425 2026-11-25\n\
         INV-2026-0431 2026-12-02\nINV-2026-0440 -\nINV-2026-0450 -"
    );
    // ... the call in the calendar, as the CalDAV server serves it ...
    let url = report["results"]["call"]["url"].as_str().unwrap();
    assert!(
        url.starts_with(&format!("{}/shop/accounts/", dav.origin())),
        "{url}"
    );
    let (status, event) = dav.get(&url[dav.origin().len()..]);
    assert_eq!(status, 200, "{event}");
    for line in [
        "SUMMARY:Call Acme Builders about INV-2026-0412",
        "DTSTART:20261204T103000Z",
        "DTEND:20261204T110000Z",
        "+44 20 7946 0311",
    ] {
        assert!(event.contains(line), "{line} missing from {event}");
    }
    // ... the list and the log on disk.
    let list = seed(&folder, "overdue-2026-12-02.csv");
    assert_eq!(
        list,
        "number,customer,contact,email,phone,amount,due,days_overdue\n\
         INV-2026-0412,Acme Builders,Ana Kowalski,accounts@acme.example,+44 20 7946 0311,1250.00,2026-10-31,32\n\
         INV-2026-0431,Harbour Cafe,Maya Lindgren,maya@harbourcafe.example,+44 20 7946 0488,310.50,2026-11-13,19\n"
    );
    let log = seed(&folder, "reminder-log.csv");
    assert_eq!(
        log.lines().last(),
        Some("2026-12-02,2,INV-2026-0412 INV-2026-0431,4,1740.49,2026-12-04T10:30:00Z"),
        "{log}"
    );
    let text = report.to_string();
    assert!(
        !text.contains(pg.password)
            && !text.contains(sink.password)
            && !text.contains(dav.password)
    );

    // The workflow's database role may mark invoices, not change what they are worth.
    let o = spud_cmd(
        &spud_home,
        &env,
        &[
            "--policy",
            policy_s,
            "call",
            "postgres.execute",
            r#"{"sql": "UPDATE invoices SET amount = 0"}"#,
        ],
    );
    let out = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(
        !o.status.success() && out.contains("permission denied"),
        "{out}"
    );
    assert_eq!(
        pg.psql("shop", "SELECT sum(amount) FROM invoices").unwrap(),
        "2835.49"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn new_customer_adds_the_contact_and_the_row_and_sends_the_welcome() {
    let Some(pg) = Postgres::start() else { return };
    let Some(redis) = Redis::start() else { return };
    let Some(dav) = Radicale::start() else { return };
    let Some(sink) = MailSink::start() else {
        return;
    };
    let h = home();
    let folder = h.path().join("new-customer");
    copy_workflow("new-customer", &folder);
    // The seed data, loaded as the README says.
    for line in seed(&folder, "seed.redis")
        .lines()
        .filter(|l| !l.trim().is_empty())
    {
        let args = words(line);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        redis.cli(&args).unwrap();
    }
    pg.psql("shop", &seed(&folder, "seed.sql")).unwrap();
    let alter = format!("ALTER ROLE crm PASSWORD '{}'", pg.password);
    pg.psql("shop", &alter).unwrap();
    let vcf = seed(&folder, "customers.vcf");
    dav.put("/shop/customers/", "text/vcard; charset=utf-8", &vcf);
    point_at(
        &folder,
        &[
            ("127.0.0.1:5432", format!("127.0.0.1:{}", pg.port)),
            ("127.0.0.1:6379", format!("127.0.0.1:{}", redis.port)),
            ("127.0.0.1:5232", format!("127.0.0.1:{}", dav.port)),
            ("127.0.0.1:2525", sink.addr()),
        ],
    );
    let spud_home = h.path().join("spud");
    let login = dav.login();
    let env = [
        ("REDIS_PASSWORD", redis.password),
        ("PGPASSWORD", pg.password),
        ("DAV_LOGIN", login.as_str()),
        ("SMTP_PASSWORD", sink.password),
    ];
    let plugins = ["redis", "python", "json", "postgres", "contacts", "smtp"];
    add_plugins(&spud_home, &env, &plugins);
    let (policy, plan) = (folder.join("policy.toml"), folder.join("plan.toml"));
    let report = run_plan(
        &spud_home,
        &env,
        policy.to_str().unwrap(),
        plan.to_str().unwrap(),
    );
    // One step backtracked to its alternative; no call was denied a grant.
    assert_eq!(
        (&report["backtracks"], &report["denied"]),
        (&json!(1), &json!(0)),
        "{report}"
    );
    // Nothing was pending: the signup came from the alternative, the oldest new one.
    assert_eq!(
        report["results"]["signup"]["reply"][0][1][0][0], "1796149205000-0",
        "{report}"
    );

    // End state: the row in the CRM, with its number ...
    let row = pg
        .psql(
            "shop",
            "SELECT id, name, company, email, phone, plan, signup_id FROM customers ORDER BY id DESC LIMIT 1",
        )
        .unwrap();
    assert_eq!(
        row,
        "1043|Ines Moreau|Atelier Moreau|ines.moreau@atelier-moreau.example|+33 4 91 55 20 18|trade|1796149205000-0"
    );
    assert_eq!(
        pg.psql("shop", "SELECT count(*) FROM customers").unwrap(),
        "3"
    );
    // ... the contact, as the CardDAV server serves it ...
    let url = report["results"]["contact"]["url"].as_str().unwrap();
    assert!(
        url.starts_with(&format!("{}/shop/customers/", dav.origin())),
        "{url}"
    );
    let (status, card) = dav.get(&url[dav.origin().len()..]);
    assert_eq!(status, 200, "{card}");
    for line in [
        "FN:Ines Moreau",
        "N:Moreau;Ines;",
        "ines.moreau@atelier-moreau.example",
        "+33 4 91 55 20 18",
        "ORG:Atelier Moreau",
    ] {
        assert!(card.contains(line), "{line} missing from {card}");
    }
    // ... the one welcome, with the number and the price list ...
    let mail = sink.messages();
    assert_eq!(mail.len(), 1, "{mail:?}");
    let m = &mail[0];
    assert_eq!(m["rcpt_tos"], json!(["ines.moreau@atelier-moreau.example"]));
    assert_eq!(m["subject"], "Welcome to Corner Hardware, Ines");
    let text = m["text"].as_str().unwrap();
    assert!(
        text.starts_with("Dear Ines,") && text.contains("customer number is C-1043"),
        "{text}"
    );
    let file = &m["attachments"][0];
    assert_eq!(file["filename"], "trade-price-list.csv", "{m}");
    let data = base64::engine::general_purpose::STANDARD
        .decode(file["data"].as_str().unwrap())
        .unwrap();
    // A text attachment travels with MIME's canonical CRLF line ends.
    let data = String::from_utf8(data).unwrap().replace("\r\n", "\n");
    assert_eq!(data, seed(&folder, "trade-price-list.csv"));
    // ... and the signup acknowledged, the next one still waiting for its run.
    let pending = redis.cli(&["XPENDING", "signups", "crm"]).unwrap();
    assert!(pending.starts_with('0'), "{pending}");
    let groups = redis.cli(&["XINFO", "GROUPS", "signups"]).unwrap();
    assert!(groups.contains("1796149205000-0"), "{groups}");
    let text = report.to_string();
    assert!(
        !text.contains(pg.password)
            && !text.contains(redis.password)
            && !text.contains(sink.password)
    );

    // The next signup is someone the shop had entered by hand: the run stops at the CRM check,
    // adds and sends nothing, and leaves the signup pending for a person to look at.
    let by_hand = "INSERT INTO customers (name, company, email, plan) \
                   VALUES ('Jonas Berg', 'Berg Bygg AB', 'jonas@bergbygg.example', 'retail')";
    pg.psql("shop", by_hand).unwrap();
    let (policy_s, plan_s) = (policy.to_str().unwrap(), plan.to_str().unwrap());
    let o = spud_cmd(
        &spud_home,
        &env,
        &["--policy", policy_s, "run", "--plan", plan_s],
    );
    assert!(!o.status.success(), "a known customer must stop the run");
    let o = spud_cmd(&spud_home, &env, &["report", "last", "--json"]);
    let second: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(
        second["results"]["signup"]["reply"][0][1][0][0], "1796197272000-0",
        "{second}"
    );
    for step in ["contact", "customer", "welcome", "ack"] {
        assert!(
            second["results"].get(step).is_none(),
            "{step} ran: {second}"
        );
    }
    assert_eq!(sink.messages().len(), 1, "no second welcome");
    assert_eq!(
        pg.psql("shop", "SELECT count(*) FROM customers").unwrap(),
        "4"
    );
    let pending = redis.cli(&["XPENDING", "signups", "crm"]).unwrap();
    assert!(pending.starts_with("1\n1796197272000-0"), "{pending}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backup_reports_copies_the_files_to_the_bucket_and_the_share() {
    let Some(s3) = S3::shared() else { return };
    let Some(d) = WebDav::shared() else { return };
    let h = home();
    let folder = h.path().join("backup-reports");
    copy_workflow("backup-reports", &folder);
    let (share, url) = d.folder("wf-backup-reports");
    seed_share(&folder.join("share"), &share);
    let site = Site::start(&folder.join("data"), "unused");
    point_at(
        &folder,
        &[
            ("http://127.0.0.1:8080/shop/", url.clone()),
            ("http://127.0.0.1:8080", d.origin()),
            ("http://127.0.0.1:9000", s3.origin()),
            ("127.0.0.1:8808", site.addr.to_string()),
        ],
    );
    let spud_home = h.path().join("spud");
    let (keys, login) = (s3.writer.value(), d.login());
    let env = [("S3_KEYS", keys.as_str()), ("WEBDAV_LOGIN", login.as_str())];
    add_plugins(&spud_home, &env, &["fs", "s3", "webdav", "webhook"]);
    let (policy, plan) = (folder.join("policy.toml"), folder.join("plan.toml"));
    let report = run_plan(
        &spud_home,
        &env,
        policy.to_str().unwrap(),
        plan.to_str().unwrap(),
    );
    // One step backtracked to its alternative; no call was denied a grant.
    assert_eq!(
        (&report["backtracks"], &report["denied"]),
        (&json!(1), &json!(0)),
        "{report}"
    );
    // `Backups/` is gone: the target backtracked to `Archive/`.
    assert_eq!(
        report["results"]["target"]["url"],
        format!("{url}Archive/"),
        "{report}"
    );

    // End state: each report, byte for byte, in the bucket and on the share.
    let week = folder.join("data/reports/2026-w48");
    let files = [
        "sales-w48.xlsx",
        "stock-2026-11-29.csv",
        "timesheets-w48.csv",
    ];
    for f in files {
        let local = std::fs::read(week.join(f)).unwrap();
        let key = format!("reports/2026-w48/{f}");
        assert_eq!(s3.object("backups", &key).as_ref(), Some(&local), "{f}");
        let copy = std::fs::read(share.join("Archive/2026-w48").join(f)).unwrap();
        assert_eq!(copy, local, "{f}");
    }
    assert!(!share.join("Backups").exists());
    // The channel got one message listing the three objects.
    let posts = site.posts();
    assert_eq!(posts.len(), 1, "{posts:?}");
    assert_eq!(posts[0].path, "/hooks/team");
    let body = String::from_utf8_lossy(&posts[0].body).to_string();
    for f in files {
        let size = std::fs::metadata(week.join(f)).unwrap().len();
        assert!(
            body.contains(&format!("reports/2026-w48/{f}")),
            "{f}: {body}"
        );
        assert!(body.contains(&format!("{size} bytes")), "{f}: {body}");
    }
    let text = report.to_string();
    assert!(!text.contains(&s3.writer.secret) && !text.contains(d.password));
}
