//! Browser figures: session start, `open` of a local page, `snapshot`, `click` → snapshot,
//! p50/p95 over fresh sessions, and the peak RSS of one session; driven through spud's browser
//! driver directly and through the `browser` plugin (a component call per action). Beside them,
//! when `target/py-browser` holds PyPI `playwright` (`scripts/setup-playwright.sh`), the same
//! actions through Playwright's Python client driving the same Debian Chromium.
//!
//! `cargo bench -p spud-tests --bench browser` (`BROWSER_BENCH_RUNS`, default 15).

#[path = "../browser/site.rs"]
mod site;

use serde_json::json;
use spud::sandbox::browser::{chrome, Action, BrowserLimits, BrowserSlot, Reply};
use spud::sandbox::http::HttpGate;
use spud::sandbox::journal::Journal;
use spud::service::CallOptions;
use std::sync::Arc;
use std::time::{Duration, Instant};

fn pct(v: &[f64], p: f64) -> f64 {
    let mut v = v.to_vec();
    v.sort_by(|a, b| a.total_cmp(b));
    let i = ((v.len() as f64 - 1.0) * p).round() as usize;
    v.get(i).copied().unwrap_or(f64::NAN)
}

fn row(what: &str, v: &[f64]) {
    println!("| {what} | {:.1} | {:.1} |", pct(v, 0.5), pct(v, 0.95));
}

fn ms(t: Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1000.0
}

fn ref_of(snapshot: &str, needle: &str) -> String {
    let line = snapshot
        .lines()
        .find(|l| l.contains(needle) && l.contains("[ref="))
        .expect("ref");
    let start = line.find("[ref=").expect("ref") + 5;
    line[start..start + line[start..].find(']').expect("]")].to_string()
}

async fn direct(url: &str, runs: usize) {
    let gate = HttpGate::new(
        "bench",
        vec![url.parse().expect("pattern")],
        spud::sandbox::system_resolver(),
        Arc::new(Journal::default()),
        Default::default(),
        None,
    );
    let deadline = Duration::from_secs(30);
    let (mut start, mut open, mut snap, mut click, mut rss) =
        (vec![], vec![], vec![], vec![], vec![]);
    for _ in 0..runs {
        let slot = BrowserSlot::new(BrowserLimits::default());
        let t = Instant::now();
        let Ok(Reply::Page(p)) = slot.act(&gate, Action::NewPage, deadline).await else {
            panic!("no page")
        };
        start.push(ms(t));
        let t = Instant::now();
        slot.act(&gate, Action::Navigate(p, format!("{url}/")), deadline)
            .await
            .expect("open");
        open.push(ms(t));
        let t = Instant::now();
        let Ok(Reply::Snapshot(s)) = slot.act(&gate, Action::Snapshot(p, 24_000), deadline).await
        else {
            panic!("snapshot")
        };
        snap.push(ms(t));
        let item = ref_of(&s.text, "Blue teapot");
        let t = Instant::now();
        slot.act(&gate, Action::Click(p, item), deadline)
            .await
            .expect("click");
        let Ok(Reply::Snapshot(s)) = slot.act(&gate, Action::Snapshot(p, 24_000), deadline).await
        else {
            panic!("snapshot")
        };
        click.push(ms(t));
        assert!(s.text.contains("In stock"));
        let stats = slot.close().await.expect("stats");
        rss.push(stats.peak_rss_bytes as f64 / (1 << 20) as f64);
    }
    println!("\nspud's driver, {runs} fresh sessions (ms; RSS MiB)\n\n| what | p50 | p95 |\n|---|---|---|");
    row("session start (Chromium + proxy + first page)", &start);
    row("open a local page", &open);
    row("snapshot", &snap);
    row("click → snapshot", &click);
    row("peak RSS of the session (MiB)", &rss);
}

async fn plugin(url: &str, runs: usize) {
    let h = tempfile::tempdir().expect("tempdir");
    let policy = h.path().join("policy.toml");
    std::fs::write(
        &policy,
        format!("[tools.browser]\nbrowser = true\nnetwork = [\"{url}\"]\n"),
    )
    .expect("policy");
    let spud = spud::Spud::open(spud::SpudOptions {
        home: Some(h.path().join("home")),
        policy: Some(policy),
        principal: None,
    })
    .expect("spud");
    spud.add(&spud_tests::guest("browser"), None, None)
        .await
        .expect("plugin");
    let slot = BrowserSlot::new(BrowserLimits::default());
    let call = |tool: &'static str, input: serde_json::Value| {
        let options = CallOptions {
            browser: Some(slot.clone()),
            ..CallOptions::default()
        };
        let spud = &spud;
        async move {
            spud.call_as(&spud.operator(), tool, &input, options)
                .await
                .expect("call")
        }
    };
    call("browser.open", json!({"url": format!("{url}/")})).await;
    let (mut open, mut snap, mut click) = (vec![], vec![], vec![]);
    for _ in 0..runs {
        let t = Instant::now();
        call("browser.open", json!({"url": format!("{url}/")})).await;
        open.push(ms(t));
        let t = Instant::now();
        let r = call("browser.snapshot", json!({})).await;
        snap.push(ms(t));
        let spud::sandbox::Outcome::Ok { value } = r.outcome else {
            panic!("snapshot failed")
        };
        let item = ref_of(
            value["snapshot"].as_str().unwrap_or_default(),
            "Blue teapot",
        );
        let t = Instant::now();
        call("browser.click", json!({"ref": item})).await;
        click.push(ms(t));
    }
    slot.close().await;
    println!("\nthe `browser` plugin, one component call per action, warm session, {runs} runs (ms)\n\n| what | p50 | p95 |\n|---|---|---|");
    row("browser.open (navigate + snapshot)", &open);
    row("browser.snapshot", &snap);
    row("browser.click (click + snapshot)", &click);
}

fn playwright(url: &str, runs: usize) {
    let python = spud_tests::target_dir().join("py-browser/bin/python");
    if !python.exists() {
        println!("\nPlaywright: not installed (scripts/setup-playwright.sh); skipped");
        return;
    }
    let script = spud_tests::workspace().join("tests/benches/browser_playwright.py");
    let exe = chrome::find().expect("chromium");
    let out = std::process::Command::new(python)
        .arg(script)
        .args([url, &runs.to_string()])
        .arg(exe)
        .output()
        .expect("python runs");
    println!("\nPlaywright (Python client, same Chromium), {runs} fresh sessions (ms; RSS MiB)\n");
    print!("{}", String::from_utf8_lossy(&out.stdout));
    eprint!("{}", String::from_utf8_lossy(&out.stderr));
}

fn main() {
    if chrome::find().is_err() {
        eprintln!("no Chromium (scripts/setup-browser.sh); nothing measured");
        return;
    }
    let runs: usize = std::env::var("BROWSER_BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(15);
    let b = site::Site::start(site::plain());
    let a = site::Site::start(site::pages_of_a(b.url(), b.url()));
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(direct(&a.url(), runs));
    rt.block_on(plugin(&a.url(), runs));
    playwright(&a.url(), runs);
    // Every page measured came from the local site, through the proxy.
    assert!(a.got().iter().any(|g| g.method == "GET" && g.path == "/"));
}
