//! Per connector: p50 of one representative call through spud (fresh sandbox, grant checks,
//! credential injection, audit record) beside the same operation done natively in the same
//! run, as a ratio. Run (debug build, as the figures in docs/src/benchmarks.md were taken) with
//! `cargo test -p spud-tests --bench connectors` after `scripts/build-guests.sh` and
//! `scripts/setup-connectors.sh`.

use serde_json::json;
use spud::{Spud, SpudOptions};
use spud_tests::connectors::{get, start_shop, TOKEN};
use spud_tests::{guest, home, write_policy};
use std::time::{Duration, Instant};

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
}
