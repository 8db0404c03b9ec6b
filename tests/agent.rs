//! The agent loop offline: the demo plan over the sample data with the first-party plugins and
//! the real sandbox; budgets; failures that are information, not crashes.

use spud::plan::{Plan, RunStatus, TraceEvent};
use spud::{Spud, SpudOptions};
use spud_tests::subagents::run_traced as run;
use spud_tests::{guest, home, workspace, write_policy};
use std::sync::Arc;

async fn spud_with_plugins(h: &tempfile::TempDir) -> Arc<Spud> {
    let policy = workspace().join("examples/policy.toml");
    let spud = Spud::open(SpudOptions {
        home: Some(h.path().to_path_buf()),
        policy: Some(policy),
        principal: Some("agent".into()),
    })
    .unwrap();
    for p in ["fs", "http", "json"] {
        spud.add(&guest(p), None, None).await.unwrap();
    }
    Arc::new(spud)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_plan_runs_in_parallel_backtracks_and_reports() {
    let h = home();
    let spud = spud_with_plugins(&h).await;
    let plan = Plan::load(&workspace().join("examples/demo-plan.toml")).unwrap();
    let (report, lines) = run(spud, plan).await;
    assert_eq!(report.status, RunStatus::Done, "{:?}", report.failed);
    assert_eq!(report.backtracks, 1);
    assert_eq!(report.steps, 6);
    assert_eq!(
        report.results["low-stock"]["matches"][0]["value"]["name"],
        "shallot"
    );
    assert_eq!(
        report.results["note"]["document"]["status"],
        "ready for review"
    );

    // inventory and notes have no dependencies: both start before either finishes.
    let pos = |f: &dyn Fn(&TraceEvent) -> bool| lines.iter().position(|l| f(&l.event)).unwrap();
    let started = |id: &'static str| move |e: &TraceEvent| matches!(e, TraceEvent::StepStarted { step, .. } if step == id);
    let first_finish = pos(&|e| matches!(e, TraceEvent::StepFinished { .. }));
    assert!(pos(&started("inventory")) < first_finish && pos(&started("notes")) < first_finish);

    // The backtrack is recorded with the score before and after.
    assert!(lines.iter().any(
        |l| matches!(&l.event, TraceEvent::Critiqued { step, previous_score: Some(p), critique, .. }
        if step == "low-stock" && *p < 0.7 && critique.score == 1.0)
    ));

    // The trace on disk is the same story, and the report was written.
    let on_disk = spud::plan::read_trace(&report.dir.join("trace.jsonl")).unwrap();
    assert_eq!(on_disk.len(), lines.len());
    let md = std::fs::read_to_string(report.dir.join("report.md")).unwrap();
    assert!(
        md.contains("alternative 1") && md.contains("shallot"),
        "{md}"
    );
    let view = spud::plan::view(&on_disk);
    assert_eq!(
        (
            view.corrections.total,
            view.corrections.improved,
            view.corrections.worsened
        ),
        (1, 1, 0)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn budgets_end_the_run_cleanly() {
    let h = home();
    let spud = spud_with_plugins(&h).await;
    let mut plan = Plan::load(&workspace().join("examples/demo-plan.toml")).unwrap();
    plan.budget.max_steps = 3;
    let (report, lines) = run(spud, plan).await;
    assert_eq!(report.status, RunStatus::BudgetExhausted);
    assert_eq!(report.steps, 3);
    assert!(
        report.results.contains_key("inventory"),
        "partial results are kept"
    );
    assert!(lines.iter().any(
        |l| matches!(&l.event, TraceEvent::BudgetExhausted { budget, .. } if budget == "max_steps")
    ));
    assert!(matches!(
        lines.last().map(|l| &l.event),
        Some(TraceEvent::Finished {
            status: RunStatus::BudgetExhausted,
            ..
        })
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failures_are_information_not_crashes() {
    let h = home();
    let spud = spud_with_plugins(&h).await;
    let plan = Plan::parse(
        r#"
goal = "fail politely"
[[steps]]
id = "denied"
tool = "http.fetch"
args = { url = "https://example.com/" }
[[steps]]
id = "unknown"
tool = "nope.nothing"
[[steps]]
id = "bad-args"
tool = "fs.read"
args = { path = 42 }
[[steps]]
id = "downstream"
after = ["denied"]
tool = "fs.list"
args = { path = "/data" }
"#,
        "inline.toml",
    )
    .unwrap();
    let (report, lines) = run(spud, plan).await;
    assert_eq!(report.status, RunStatus::Failed);
    assert!(
        report.failed["denied"].contains("network = [\"https://example.com\"]"),
        "{}",
        report.failed["denied"]
    );
    assert!(
        report.failed["unknown"].contains("nope.nothing"),
        "{}",
        report.failed["unknown"]
    );
    assert!(
        report.failed["bad-args"].contains("invalid input"),
        "{}",
        report.failed["bad-args"]
    );
    assert_eq!(report.failed["downstream"], "step `denied` failed");
    assert!(lines
        .iter()
        .any(|l| matches!(&l.event, TraceEvent::StepBlocked { step, .. } if step == "downstream")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn independent_steps_overlap_proven_by_a_barrier() {
    // Three steps without dependencies each call a server that answers only when all three
    // are waiting at once: the run succeeds only if the calls overlap.
    let h = home();
    let server = spud_tests::TestServer::start();
    let policy = spud_tests::write_policy(
        h.path(),
        &format!("[tools.http]\nnetwork = [\"{}\"]\n", server.url()),
    );
    let spud = Spud::open(SpudOptions {
        home: Some(h.path().join("spud")),
        policy: Some(policy),
        principal: None,
    })
    .unwrap();
    spud.add(&guest("http"), None, None).await.unwrap();
    let steps: String = (0..3)
        .map(|i| format!("[[steps]]\nid = \"s{i}\"\ntool = \"http.fetch\"\nargs = {{ url = \"{}/barrier/3\" }}\nexpect = {{ contains = \"released\" }}\n", server.url()))
        .collect();
    let plan = Plan::parse(&format!("goal = \"overlap\"\n{steps}"), "barrier.toml").unwrap();
    let (report, _) = run(Arc::new(spud), plan).await;
    assert_eq!(report.status, RunStatus::Done, "{:?}", report.failed);
    assert_eq!(report.steps, 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn critic_rejects_retries_then_backtracks_to_success() {
    let h = home();
    let spud = spud_with_plugins(&h).await;
    let plan = Plan::parse(
        r#"
goal = "find cheap items"
[critic]
max_retries = 1
[[steps]]
id = "cheap"
tool = "json.query"
args = { document = { items = [{ p = 5 }, { p = 50 }] }, path = "$.items[?@.p < 1]" }
expect = { path = "$.matches[*]", min = 1 }
[[steps.alternatives]]
args = { document = { items = [{ p = 5 }, { p = 50 }] }, path = "$.items[?@.p < 10]" }
"#,
        "inline.toml",
    )
    .unwrap();
    let (report, lines) = run(spud, plan).await;
    assert_eq!(report.status, RunStatus::Done);
    assert_eq!((report.retries, report.backtracks, report.steps), (1, 1, 3));
    let verdicts: Vec<String> = lines
        .iter()
        .filter_map(|l| match &l.event {
            TraceEvent::Critiqued {
                verdict, critique, ..
            } => Some(format!("{verdict:?}:{}", critique.score)),
            _ => None,
        })
        .collect();
    assert_eq!(verdicts, ["Retry:0.5", "Backtrack:0.5", "Accept:1"]);
    let view = spud::plan::view(&lines);
    assert_eq!((view.corrections.total, view.corrections.improved), (2, 1));
}

/// spud with the http and json plugins, granted a test server on 127.0.0.1.
async fn http_spud(h: &tempfile::TempDir) -> (Arc<Spud>, spud_tests::TestServer) {
    let server = spud_tests::TestServer::start();
    let policy = spud_tests::write_policy(
        h.path(),
        &format!("[tools.http]\nnetwork = [\"{}\"]\n", server.url()),
    );
    let spud = Arc::new(
        Spud::open(SpudOptions {
            home: Some(h.path().join("spud")),
            policy: Some(policy),
            principal: None,
        })
        .unwrap(),
    );
    for p in ["http", "json"] {
        spud.add(&guest(p), None, None).await.unwrap();
    }
    (spud, server)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_budget_ends_the_run() {
    let h = home();
    let (spud, server) = http_spud(&h).await;
    let two_fetches = |budget: &str, second: &str| {
        Plan::parse(
            &format!(
                "goal = \"b\"\n[budget]\n{budget}\n[[steps]]\nid = \"a\"\ntool = \"http.fetch\"\nargs = {{ url = \"{0}/a\" }}\n[[steps]]\nid = \"b\"\nafter = [\"a\"]\ntool = \"http.fetch\"\nargs = {{ url = \"{0}{second}\" }}\n",
                server.url()
            ),
            "b.toml",
        )
        .unwrap()
    };
    // What one fetch burns and moves: a budget of 1.5 of it lets the first call through and
    // stops the second mid-call (each call gets no more fuel, time and network bytes than the
    // run has left).
    let (one, _) = run(spud.clone(), two_fetches("max_steps = 1", "/b")).await;
    assert!(one.fuel > 0 && one.net_bytes > 0 && one.results.contains_key("a"));
    let (max_fuel, max_net) = (one.fuel * 3 / 2, one.net_bytes * 3 / 2);
    for (budget, second, which) in [
        (format!("max_fuel = {max_fuel}"), "/b", "max_fuel"),
        (format!("max_net_bytes = {max_net}"), "/b", "max_net_bytes"),
        (
            "max_wall_ms = 500".to_string(),
            "/barrier/99",
            "max_wall_ms",
        ),
    ] {
        let (report, lines) = run(spud.clone(), two_fetches(&budget, second)).await;
        assert_eq!(report.status, RunStatus::BudgetExhausted, "{which}");
        if which == "max_fuel" {
            assert!(report.fuel <= max_fuel, "{} > {max_fuel}", report.fuel);
        }
        if which == "max_net_bytes" {
            assert_eq!(report.net_bytes, max_net, "cut exactly at the budget");
            assert_eq!(report.denied, 0, "a budget stop is no permission denial");
        }
        assert!(
            report.results.contains_key("a"),
            "{which}: the first step's result is kept"
        );
        assert!(
            lines.iter().any(|l| matches!(&l.event, TraceEvent::BudgetExhausted { budget, .. } if budget == which)),
            "{which} not reported"
        );
        assert!(report.dir.join("trace.jsonl").exists() && report.dir.join("report.md").exists());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_body_past_the_network_budget_is_not_sent() {
    let h = home();
    let (spud, server) = http_spud(&h).await;
    let body = "x".repeat(20_000);
    let plan = Plan::parse(
        &format!(
            "goal = \"post\"\n[budget]\nmax_net_bytes = 1000\n[[steps]]\nid = \"p\"\ntool = \"http.fetch\"\nargs = {{ url = \"{}/echo\", method = \"POST\", body = \"{body}\" }}\n",
            server.url()
        ),
        "p.toml",
    )
    .unwrap();
    let (report, lines) = run(spud, plan).await;
    assert_eq!(
        report.status,
        RunStatus::BudgetExhausted,
        "{:?}",
        report.failed
    );
    assert!(report.net_bytes <= 1000, "{}", report.net_bytes);
    assert!(lines.iter().any(|l| matches!(&l.event, TraceEvent::BudgetExhausted { budget, .. } if budget == "max_net_bytes")));
    let seen = server.seen.lock().unwrap();
    assert!(
        !seen.iter().any(|r| r.text.contains(&body)),
        "the whole body reached the server"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_storage_budget_stops_a_run_that_writes_too_much() {
    let h = home();
    std::fs::create_dir_all(h.path().join("work")).unwrap();
    let policy = write_policy(
        h.path(),
        "[tools.fs]\nfiles = [{ host = \"work\", guest = \"/data\", access = \"read-write\" }]\n",
    );
    let spud = Arc::new(
        Spud::open(SpudOptions {
            home: Some(h.path().join("spud")),
            policy: Some(policy),
            principal: None,
        })
        .unwrap(),
    );
    spud.add(&guest("fs"), None, None).await.unwrap();
    let plan = Plan::parse(
        "goal = \"write\"\n[budget]\nmax_storage_bytes = 10\n[[steps]]\nid = \"a\"\ntool = \"fs.write\"\nargs = { path = \"/data/a.txt\", content = \"0123456789abcdef\" }\n[[steps]]\nid = \"b\"\nafter = [\"a\"]\ntool = \"fs.write\"\nargs = { path = \"/data/b.txt\", content = \"more\" }\n",
        "s.toml",
    )
    .unwrap();
    let (report, lines) = run(spud, plan).await;
    assert_eq!(report.status, RunStatus::BudgetExhausted);
    assert_eq!(report.data.storage_bytes, 16);
    assert_eq!(report.figures.cost.storage_bytes, 16);
    assert!(!h.path().join("work/b.txt").exists());
    assert!(lines.iter().any(
        |l| matches!(&l.event, TraceEvent::BudgetExhausted { budget, .. } if budget == "max_storage_bytes")
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_in_flight_together_stay_within_the_fuel_budget() {
    let h = home();
    let spud = spud_tests::subagents::spud(&h, 1).await;
    let plan = Plan::parse(
        "goal = \"two spinners\"\n[budget]\nmax_fuel = 1000000000\n[[steps]]\nid = \"a\"\ntool = \"hostile.spin-forever\"\n[[steps]]\nid = \"b\"\ntool = \"hostile.spin-forever\"\n",
        "p.toml",
    )
    .unwrap();
    let (report, lines) = run(spud, plan).await;
    let started = lines
        .iter()
        .filter(|l| matches!(l.event, TraceEvent::StepStarted { .. }))
        .count();
    assert_eq!(started, 2, "both calls ran at once");
    assert_eq!(report.status, RunStatus::BudgetExhausted);
    // Alone, each call may use all the run has (1e9); drawing on one live budget, the two
    // together stop at it (each may pass it by what it burns between two checks, ~10 ms).
    assert!(report.fuel < 1_500_000_000, "{}", report.fuel);
    assert!(report.fuel >= 1_000_000_000, "{}", report.fuel);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trace_event_that_redaction_breaks_is_written_redacted_never_as_it_was() {
    let h = home();
    // The pattern runs to the next space: in an event's compact JSON it swallows the closing
    // quotes and braces, so the redacted event no longer parses.
    let spud = spud_tests::subagents::spud_with(
        &h,
        "[secrets]\npatterns = [\"hunter2[^ ]*\"]\n[tools.hostile]\nlimits = { fuel = 1_000_000_000 }\n",
    )
    .await;
    let plan = Plan::parse(
        "goal = \"echo a secret\"\n[[steps]]\nid = \"e\"\ntool = \"hostile.echo\"\nargs = { s = \"hunter2-swordfish\" }\n",
        "plan.toml",
    )
    .unwrap();
    let (report, lines) = run(spud, plan).await;
    let trace = std::fs::read_to_string(report.dir.join("trace.jsonl")).unwrap();
    assert!(!trace.contains("swordfish"), "{trace}");
    assert!(trace.contains("\"event\":\"redacted\""), "{trace}");
    for line in trace.lines() {
        serde_json::from_str::<serde_json::Value>(line).expect("every line is JSON");
    }
    // What observers are shown is the same redacted event.
    assert!(lines
        .iter()
        .any(|l| matches!(&l.event, TraceEvent::Redacted { text } if text.contains("[REDACTED]"))));
    assert!(!format!("{lines:?}").contains("swordfish"));
}
