//! Time to retrieve the lessons for a goal (FTS5 bm25 over goal, step, tools, errors and text)
//! from a memory holding 10,000 lessons of 1,000 runs with varied goals: the query spud runs
//! before planning. 500 retrievals; prints the median and p95 in µs.
//! `cargo bench -p spud-tests --bench memory_recall`.

use spud::memory::lessons::{LessonKind, NewLesson, RunDigest};
use spud::memory::{self, RunRecord, Store};
use std::time::Instant;

const WORDS: &[&str] = &[
    "restock",
    "inventory",
    "invoice",
    "report",
    "weather",
    "translate",
    "summarize",
    "backup",
    "deploy",
    "notes",
    "calendar",
    "budget",
    "shipping",
    "payroll",
    "forecast",
    "audit",
    "catalog",
    "emails",
    "metrics",
    "tickets",
];

fn main() {
    let dir = spud_tests::home();
    let path = dir.path().join("memory.db");
    let mut store = Store::open(&path, 0).expect("store");
    let build = Instant::now();
    for run in 0..1000usize {
        let goal = format!(
            "{} the {} for store {run}",
            WORDS[run % WORDS.len()],
            WORDS[(run * 7 + 3) % WORDS.len()]
        );
        let lessons = (0..10usize)
            .map(|i| NewLesson {
                kind: LessonKind::Alternative,
                step: format!("step-{i}"),
                tools: format!("fs.read json.{}", WORDS[(run + i) % WORDS.len()]),
                errors: "tool_error (no such file)".into(),
                worked: Some(1),
                call: None,
                text: format!(
                    "step `step-{i}`: tool fs.read failed with tool_error; alternative 1 (tool json.{}) succeeded",
                    WORDS[(run + i) % WORDS.len()]
                ),
            })
            .collect();
        store
            .record(&RunRecord {
                digest: RunDigest {
                    run: format!("run-{run}"),
                    goal,
                    status: "done".into(),
                    ..RunDigest::default()
                },
                plan: "{}".into(),
                tokens: 0,
                lessons,
            })
            .expect("record");
    }
    assert_eq!(store.lessons().expect("lessons").len(), 10_000);
    println!("built 10,000 lessons in {:?}", build.elapsed());
    let goals = [
        "Prepare a restocking note for the north store",
        "summarize the weather forecast",
        "deploy the catalog",
        "translate a poem into French",
    ];
    let mut times = Vec::new();
    let mut found = 0;
    for i in 0..500 {
        let t = Instant::now();
        let l = memory::recall(
            &store,
            goals[i % goals.len()],
            &["fs.read", "json.query"],
            memory::RECALL_LIMIT,
        )
        .expect("recall");
        times.push(t.elapsed().as_micros());
        found += l.len();
    }
    times.sort_unstable();
    println!(
        "memory_recall: 10,000 lessons, {} retrievals ({found} lessons returned): median {} µs, p95 {} µs",
        times.len(),
        times[times.len() / 2],
        times[times.len() * 95 / 100]
    );
}
