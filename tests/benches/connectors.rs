//! Per connector: p50 of one representative call through spud (fresh sandbox, grant checks,
//! credential injection, audit record) beside the same operation done natively in the same
//! run, as a ratio. Run (debug build, as the figures in docs/src/benchmarks.md were taken) with
//! `cargo test -p spud-tests --bench connectors` after `scripts/build-guests.sh` and
//! `scripts/setup-connectors.sh`.

use serde_json::json;
use spud::{Spud, SpudOptions};
use spud_tests::connectors::{get, start_shop, Site, TOKEN};
use spud_tests::db::{Postgres, Redis};
use spud_tests::imap::{message, Dovecot};
use spud_tests::mail::{MailSink, Radicale};
use spud_tests::{guest, home, write_policy};
use std::time::{Duration, Instant};

/// The contacts row.
#[path = "connectors/contacts.rs"]
mod contacts;
/// The files connectors' rows.
#[path = "connectors/files.rs"]
mod files;
/// The git and pdf rows.
#[path = "connectors/repos.rs"]
mod repos;

const N: usize = 60;

fn p50(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn row(what: &str, ours: Duration, native: Duration, native_what: &str) {
    println!(
        "{what}: spud p50 {:.2} ms, {native_what} p50 {:.2} ms, ratio {:.1}x",
        ms(ours),
        ms(native),
        ours.as_secs_f64() / native.as_secs_f64()
    );
}

fn main() {
    let rt = spud_tests::bench_runtime();
    let h = home();
    let data = h.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    let mut csv_text = String::from("sku,name,qty,price\n");
    for i in 0..1000 {
        csv_text.push_str(&format!("S-{i},Item number {i},{},{}.25\n", i % 97, i % 13));
    }
    std::fs::write(data.join("stock.csv"), &csv_text).unwrap();
    let page = format!(
        "<html><head><title>t</title></head><body>{}</body></html>",
        "<h2>Part</h2><p>Some <b>bold</b> text and <a href=\"/x\">a link</a>.</p>".repeat(200)
    );
    let shop = start_shop().expect("the FastAPI app (scripts/setup-connectors.sh)");
    let url = format!("http://127.0.0.1:{}", shop.port);
    let spec = h.path().join("shop.json");
    std::fs::write(&spec, get(shop.port, "/openapi.json")).unwrap();
    std::env::set_var("SPUD_BENCH_SHOP_TOKEN", TOKEN);
    let policy = write_policy(
        h.path(),
        &format!(
            "[tools.sheet]\nfiles = [{{ host = \"data\", guest = \"/data\", access = \"read-write\" }}]\n\
             [tools.shop]\nnetwork = [\"{url}\"]\n\
             [credentials.shop]\nvalue_env = \"SPUD_BENCH_SHOP_TOKEN\"\ninject = \"bearer\"\ndestinations = [\"{url}\"]\ntools = [\"shop\"]\n"
        ),
    );
    let spud = Spud::open(SpudOptions {
        home: Some(h.path().join("spud")),
        policy: Some(policy),
        principal: Some("bench".into()),
    })
    .unwrap();
    rt.block_on(async {
        for p in ["sheet", "html", "openapi"] {
            spud.add(&guest(p), None, None).await.unwrap();
        }
    });
    spud.add_openapi(&spec, "shop", &url).unwrap();
    let time = |tool: &str, input: serde_json::Value| -> Duration {
        rt.block_on(async {
            let mut v = Vec::new();
            for i in 0..N + 5 {
                let t = Instant::now();
                let r = spud.call(tool, &input).await.unwrap();
                assert!(r.outcome.is_ok(), "{:?}", r.outcome);
                if i >= 5 {
                    v.push(t.elapsed());
                }
            }
            p50(v)
        })
    };
    let native = |mut f: Box<dyn FnMut()>| -> Duration {
        let mut v = Vec::new();
        for i in 0..N + 5 {
            let t = Instant::now();
            f();
            if i >= 5 {
                v.push(t.elapsed());
            }
        }
        p50(v)
    };

    // openapi: one GET of an item with its bearer token, through FastAPI.
    rt.block_on(spud.call(
        "shop.create_item",
        &json!({"body": {"name": "w", "price": 1}}),
    ))
    .unwrap();
    let ours = time("shop.get_item", json!({"item_id": 1}));
    let client = reqwest::Client::new();
    let item = format!("{url}/items/1");
    let theirs = native(Box::new(|| {
        rt.block_on(async {
            let r = client.get(&item).bearer_auth(TOKEN).send().await.unwrap();
            assert!(r.status().is_success());
            r.json::<serde_json::Value>().await.unwrap();
        })
    }));
    row("openapi (shop.get_item)", ours, theirs, "reqwest GET");

    // sheet: read a 1,000-row CSV into typed rows.
    let ours = time("sheet.read", json!({"path": "stock.csv"}));
    let path = data.join("stock.csv");
    let theirs = native(Box::new(|| {
        let mut r = csv::Reader::from_path(&path).unwrap();
        let rows: Vec<Vec<serde_json::Value>> = r
            .records()
            .map(|rec| {
                rec.unwrap()
                    .iter()
                    .map(|f| f.parse::<f64>().map_or(json!(f), |n| json!(n)))
                    .collect()
            })
            .collect();
        assert_eq!(rows.len(), 1000);
    }));
    row(
        "sheet (sheet.read, 1,000-row CSV)",
        ours,
        theirs,
        "csv crate in process",
    );

    // html: a 200-section page to Markdown.
    let ours = time("html.to_markdown", json!({"html": page}));
    let theirs = native(Box::new(|| {
        let md = htmd::convert(&page).unwrap();
        assert!(md.contains("## Part"));
    }));
    row(
        "html (html.to_markdown, 27 KB page)",
        ours,
        theirs,
        "htmd in process",
    );
    servers(&rt, &h);
    mail_and_calendar(&rt, &h);
    mailbox(&rt, &h);
    files::webdav(&rt, &h);
    files::s3(&rt, &h);
    contacts::contacts(&rt, &h);
    repos::repos_and_pdfs(&rt, &h);
}

/// The servers of the connectors that have their own: a site on 127.0.0.1 (feeds, webhooks),
/// Redis, PostgreSQL.
struct Servers {
    site: Site,
    redis: Redis,
    pg: Postgres,
}

/// Starts the servers, seeds them, and opens spud with a policy granting each connector its
/// server.
fn start_servers(rt: &tokio::runtime::Runtime, h: &tempfile::TempDir) -> (Servers, Spud) {
    let site = Site::start(
        &spud_tests::workspace().join("tests/servers/feeds"),
        "bench-key",
    );
    let redis = Redis::start().expect("redis-server (scripts/setup-connectors.sh)");
    let pg = Postgres::start().expect("PostgreSQL (scripts/setup-connectors.sh)");
    pg.psql("shop", "CREATE TABLE orders (id serial PRIMARY KEY, customer text, total numeric(10,2)); \
                     INSERT INTO orders (customer, total) SELECT 'c' || (i % 20), i FROM generate_series(1, 200) i")
        .unwrap();
    redis.cli(&["SET", "order:1001", "paid"]).unwrap();
    let url = site.url();
    let policy = write_policy(
        h.path(),
        &format!(
            "[tools.feed]\nnetwork = [\"{url}\"]\n[tools.webhook]\nnetwork = [\"{url}\"]\n\
             [tools.redis]\nenv = [\"REDIS_URL=redis://127.0.0.1:{rp}/0\", \"REDIS_PASSWORD={rpw}\"]\n\
             sockets = {{ tcp_connect = [\"127.0.0.1:{rp}\"] }}\n\
             [tools.postgres]\nenv = [\"POSTGRES_URL=postgresql://{pu}@127.0.0.1:{pp}/shop\", \"PGPASSWORD={ppw}\"]\n\
             sockets = {{ tcp_connect = [\"127.0.0.1:{pp}\"] }}\n",
            rp = redis.port,
            rpw = redis.password,
            pu = pg.user,
            pp = pg.port,
            ppw = pg.password,
        ),
    );
    let spud = Spud::open(SpudOptions {
        home: Some(h.path().join("spud-servers")),
        policy: Some(policy),
        principal: Some("bench".into()),
    })
    .unwrap();
    rt.block_on(async {
        for p in ["feed", "webhook", "redis", "postgres"] {
            spud.add(&guest(p), None, None).await.unwrap();
        }
    });
    (Servers { site, redis, pg }, spud)
}

/// p50 of `N` calls of `tool` (after 5 warm-ups).
fn time_call(
    rt: &tokio::runtime::Runtime,
    spud: &Spud,
    tool: &str,
    input: serde_json::Value,
) -> Duration {
    rt.block_on(async {
        let mut v = Vec::new();
        for i in 0..N + 5 {
            let t = Instant::now();
            let r = spud.call(tool, &input).await.unwrap();
            assert!(r.outcome.is_ok(), "{:?}", r.outcome);
            if i >= 5 {
                v.push(t.elapsed());
            }
        }
        p50(v)
    })
}

/// p50 of `N` runs of `f` (after 5 warm-ups).
fn time_native(f: &mut dyn FnMut()) -> Duration {
    let mut v = Vec::new();
    for i in 0..N + 5 {
        let t = Instant::now();
        f();
        if i >= 5 {
            v.push(t.elapsed());
        }
    }
    p50(v)
}

/// The connectors with servers of their own, each beside its native client.
fn servers(rt: &tokio::runtime::Runtime, h: &tempfile::TempDir) {
    let (s, spud) = start_servers(rt, h);
    let client = reqwest::Client::new();
    let url = s.site.url();

    // feed: an RSS file over HTTP, parsed into items.
    let feed_url = format!("{url}/supplier-news.rss");
    let ours = time_call(rt, &spud, "feed.read", json!({"url": feed_url}));
    let theirs = time_native(&mut || {
        rt.block_on(async {
            let bytes = client
                .get(&feed_url)
                .send()
                .await
                .unwrap()
                .bytes()
                .await
                .unwrap();
            let feed = feed_rs::parser::parse(&bytes[..]).unwrap();
            assert_eq!(feed.entries.len(), 3);
        })
    });
    row(
        "feed (feed.read, 3-item RSS over HTTP)",
        ours,
        theirs,
        "reqwest GET + feed-rs",
    );

    // webhook: a Slack message.
    let hook = format!("{url}/hooks/bench");
    let ours = time_call(
        rt,
        &spud,
        "webhook.post",
        json!({"url": hook, "format": "slack", "text": "Stock is *low*"}),
    );
    let body = json!({"text": "Stock is *low*", "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "Stock is *low*"}}]});
    let theirs = time_native(&mut || {
        rt.block_on(async {
            let r = client.post(&hook).json(&body).send().await.unwrap();
            assert!(r.status().is_success());
        })
    });
    row(
        "webhook (webhook.post, Slack format)",
        ours,
        theirs,
        "reqwest POST",
    );

    // redis: one GET (a connection and AUTH per call on both sides).
    let ours = time_call(rt, &spud, "redis.get", json!({"keys": ["order:1001"]}));
    let theirs =
        time_native(&mut || assert_eq!(s.redis.cli(&["GET", "order:1001"]).unwrap(), "paid"));
    row("redis (redis.get)", ours, theirs, "redis-cli GET");

    // postgres: an aggregate query with a parameter.
    let sql = "SELECT customer, sum(total) FROM orders WHERE total > $1 GROUP BY customer";
    let ours = time_call(
        rt,
        &spud,
        "postgres.query",
        json!({"sql": sql, "params": [10]}),
    );
    let theirs = time_native(&mut || {
        let out =
            s.pg.psql(
                "shop",
                "SELECT customer, sum(total) FROM orders WHERE total > 10 GROUP BY customer",
            )
            .unwrap();
        assert_eq!(out.lines().count(), 20);
    });
    row(
        "postgres (postgres.query, GROUP BY)",
        ours,
        theirs,
        "psql -c",
    );
}

/// `smtp.send` beside Python's smtplib, and a CalDAV query through `calendar.events` beside the
/// same REPORT sent directly with reqwest.
fn mail_and_calendar(rt: &tokio::runtime::Runtime, h: &tempfile::TempDir) {
    let sink = MailSink::start().expect("aiosmtpd (scripts/setup-connectors.sh)");
    let dav = Radicale::start().expect("Radicale (scripts/setup-connectors.sh)");
    dav.make_calendar("team", "Team");
    for day in 7..12 {
        dav.put(
            &format!("/shop/team/e{day}.ics"),
            "text/calendar",
            &format!(
                "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//bench//EN\r\nBEGIN:VEVENT\r\nUID:e{day}\r\n\
                 DTSTAMP:20261201T000000Z\r\nDTSTART:202612{day:02}T100000Z\r\nDTEND:202612{day:02}T110000Z\r\n\
                 SUMMARY:Meeting {day}\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
            ),
        );
    }
    let dir = h.path().join("mail");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("dav.login"), dav.login()).unwrap();
    let (o, addr) = (dav.origin(), sink.addr());
    std::fs::write(
        dir.join("policy.toml"),
        format!(
            "[tools.smtp]\nenv = [\"SMTP_SERVER={addr}\", \"SMTP_FROM=Corner Shop <shop@corner.example>\", \
             \"SMTP_USERNAME={}\", \"SMTP_PASSWORD={}\"]\nsockets = {{ tcp_connect = [\"{addr}\"] }}\n\
             [tools.calendar]\nnetwork = [\"{o}\"]\n\
             [credentials.dav]\nvalue_file = \"dav.login\"\ninject = \"basic\"\ndestinations = [\"{o}\"]\n\
             tools = [\"calendar\"]\n",
            sink.user, sink.password
        ),
    )
    .unwrap();
    let spud = Spud::open(SpudOptions {
        home: Some(dir.join("spud")),
        policy: Some(dir.join("policy.toml")),
        principal: Some("bench".into()),
    })
    .unwrap();
    rt.block_on(async {
        for p in ["smtp", "calendar"] {
            spud.add(&guest(p), None, None).await.unwrap();
        }
    });

    // smtp: one message (a connection, EHLO, AUTH PLAIN and the message on both sides).
    let text = "Please find our order below.\n\nBolt M8: 25\nNut M8: 30\n";
    let ours = time_call(
        rt,
        &spud,
        "smtp.send",
        json!({"to": ["ann@supplier.example"], "subject": "Order 1001", "text": text}),
    );
    let python = spud_tests::target_dir().join("py-connectors/bin/python");
    let out = std::process::Command::new(python)
        .arg(spud_tests::workspace().join("tests/servers/smtp_send_p50.py"))
        .args([
            &sink.port.to_string(),
            sink.user,
            sink.password,
            &N.to_string(),
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let ms: f64 = String::from_utf8_lossy(&out.stdout).trim().parse().unwrap();
    row(
        "smtp (smtp.send, a short text message)",
        ours,
        Duration::from_secs_f64(ms / 1e3),
        "Python smtplib",
    );

    // calendar: the events of one week (a CalDAV time-range REPORT, five events).
    let ours = time_call(
        rt,
        &spud,
        "calendar.events",
        json!({"calendar": format!("{o}/shop/team/"), "start": "2026-12-07", "end": "2026-12-14"}),
    );
    let client = reqwest::Client::new();
    let url = format!("{o}/shop/team/");
    let report = "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<C:calendar-query xmlns:D=\"DAV:\" \
        xmlns:C=\"urn:ietf:params:xml:ns:caldav\"><D:prop><D:getetag/><C:calendar-data/></D:prop><C:filter>\
        <C:comp-filter name=\"VCALENDAR\"><C:comp-filter name=\"VEVENT\"><C:time-range start=\"20261207T000000Z\" \
        end=\"20261214T000000Z\"/></C:comp-filter></C:comp-filter></C:filter></C:calendar-query>";
    let method = reqwest::Method::from_bytes(b"REPORT").unwrap();
    let theirs = time_native(&mut || {
        rt.block_on(async {
            let r = client
                .request(method.clone(), &url)
                .basic_auth(dav.user, Some(dav.password))
                .header("depth", "1")
                .header("content-type", "application/xml")
                .body(report)
                .send()
                .await
                .unwrap();
            assert_eq!(r.status().as_u16(), 207);
            assert_eq!(r.text().await.unwrap().matches("BEGIN:VEVENT").count(), 5);
        })
    });
    row(
        "calendar (calendar.events, a week of 5 events over CalDAV)",
        ours,
        theirs,
        "reqwest REPORT",
    );
}

/// `imap.search` beside Python's imaplib doing the same against the same Dovecot: a session of
/// its own each time (connect, log in, open the folder read-only, search by sender, fetch the
/// matches' envelopes, log out), as one call of the connector does.
fn mailbox(rt: &tokio::runtime::Runtime, h: &tempfile::TempDir) {
    let server = Dovecot::shared().expect("Dovecot (scripts/setup-connectors.sh)");
    let b = server.mailbox();
    for i in 0..20 {
        let from = if i % 4 == 0 {
            "Ann Lee <ann@acme.example>"
        } else {
            "Bob <bob@news.example>"
        };
        b.append(
            "INBOX",
            "",
            &message(from, &format!("Message {i}"), "A short text."),
        );
    }
    let dir = h.path().join("imap");
    std::fs::create_dir_all(&dir).unwrap();
    let addr = b.addr();
    std::fs::write(
        dir.join("policy.toml"),
        format!(
            "[tools.imap]\nenv = [\"IMAP_SERVER={addr}\", \"IMAP_USERNAME={}\", \"IMAP_PASSWORD={}\"]\n\
             sockets = {{ tcp_connect = [\"{addr}\"] }}\n[secrets]\nenv = [\"IMAP_PASSWORD\"]\n",
            b.user, b.password
        ),
    )
    .unwrap();
    let spud = Spud::open(SpudOptions {
        home: Some(dir.join("spud")),
        policy: Some(dir.join("policy.toml")),
        principal: Some("bench".into()),
    })
    .unwrap();
    rt.block_on(async { spud.add(&guest("imap"), None, None).await.unwrap() });
    let ours = time_call(rt, &spud, "imap.search", json!({"from": "acme.example"}));
    let mut theirs: Vec<Duration> = b
        .bench_native(N + 5, "INBOX", "acme.example")
        .into_iter()
        .skip(5)
        .map(|ms| Duration::from_secs_f64(ms / 1e3))
        .collect();
    theirs.truncate(N);
    row(
        "imap (imap.search, 5 of 20 messages by sender, with their envelopes)",
        ours,
        p50(theirs),
        "Python imaplib",
    );
}
