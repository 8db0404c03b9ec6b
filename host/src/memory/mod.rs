//! Memory of past runs: after each run a reflection stores what happened and the lessons
//! drawn from it (by rules, and by the model in goal mode) in `<home>/memory.db`; before
//! planning the most relevant lessons are retrieved (FTS5, bm25) and given to the planner, or
//! reorder a plan's alternatives. Secrets are redacted before anything is written. A store
//! that cannot be used never fails a run: the caller gets a [`MemoryError`] to warn with.

mod error;
pub mod lessons;
pub mod retrieve;
pub mod store;
pub mod ways;

pub use error::MemoryError;
pub use lessons::{LessonKind, NewLesson, RunDigest};
pub use store::{Lesson, RunRecord, RunRow, Store};

use crate::model::{Provider, Usage};
use crate::plan::Plan;
use crate::plan::TraceLine;
use spud_policy::Secrets;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Default retention, days.
pub const DEFAULT_RETAIN_DAYS: u32 = 90;

/// Lessons retrieved before planning.
pub const RECALL_LIMIT: usize = 8;

/// How a run uses the memory.
#[derive(Debug, Clone)]
pub struct MemoryOptions {
    /// The database file.
    pub path: PathBuf,
    /// Rows older than this many days are deleted when the store opens (0: keep all).
    pub retain_days: u32,
    /// Redacted before anything is written.
    pub secrets: Arc<Secrets>,
    /// Before the run, retrieve lessons and reorder alternatives (plan-file mode).
    pub reorder: bool,
    /// Lessons the planner was already given (goal mode), recorded in the trace.
    pub used: Vec<i64>,
}

impl MemoryOptions {
    /// Memory at `<home>/memory.db` with the policy's secrets.
    pub fn for_spud(spud: &crate::service::Spud, retain_days: u32) -> MemoryOptions {
        MemoryOptions {
            path: spud.home().memory_file(),
            retain_days,
            secrets: spud.secrets(),
            reorder: true,
            used: Vec::new(),
        }
    }

    /// Opens the store.
    pub fn open(&self) -> Result<Store, MemoryError> {
        Store::open(&self.path, self.retain_days)
    }
}

/// Lessons relevant to `goal`, `tools` and `errors`, best first.
pub fn recall(
    store: &Store,
    goal: &str,
    tools: &[&str],
    limit: usize,
) -> Result<Vec<Lesson>, MemoryError> {
    let terms = retrieve::terms(std::iter::once(goal).chain(tools.iter().copied()));
    store.search(&retrieve::fts_query(&terms), limit)
}

/// What was applied before a plan-file run.
#[derive(Debug, Clone, Default)]
pub struct Recalled {
    /// Lessons used.
    pub ids: Vec<i64>,
    /// Their texts.
    pub texts: Vec<String>,
    /// Steps whose alternatives were reordered.
    pub reordered: Vec<String>,
}

/// Retrieves lessons for `plan` (by its goal only, so unrelated goals share nothing) and moves
/// alternatives that worked before to the front.
pub fn prepare(options: &MemoryOptions, plan: &mut Plan) -> Result<Recalled, MemoryError> {
    let store = options.open()?;
    let found = recall(&store, &plan.goal, &[], RECALL_LIMIT * 4)?;
    let worked: Vec<(String, serde_json::Value)> = found
        .iter()
        .filter(|l| l.kind == LessonKind::Alternative)
        .filter_map(|l| l.call.clone().map(|c| (l.step.clone(), c)))
        .collect();
    let reordered = ways::reorder(plan, &worked);
    let used: Vec<&Lesson> = found
        .iter()
        .filter(|l| l.kind != LessonKind::Alternative || reordered.contains(&l.step))
        .take(RECALL_LIMIT)
        .collect();
    Ok(Recalled {
        ids: used.iter().map(|l| l.id).collect(),
        texts: used.iter().map(|l| l.text.clone()).collect(),
        reordered,
    })
}

/// Everything a reflection writes, with secrets redacted.
pub fn redact_record(secrets: &Secrets, mut r: RunRecord) -> RunRecord {
    if secrets.is_empty() {
        return r;
    }
    let d = &mut r.digest;
    d.goal = secrets.redact(&d.goal);
    for s in &mut d.steps {
        if let Some(b) = &mut s.blocked {
            *b = secrets.redact(b);
        }
        for a in &mut s.attempts {
            a.output = secrets.redact(&a.output);
            a.feedback = secrets.redact(&a.feedback);
        }
    }
    r.plan = secrets.redact(&r.plan);
    for l in &mut r.lessons {
        l.text = secrets.redact(&l.text);
        l.errors = secrets.redact(&l.errors);
        l.step = secrets.redact(&l.step);
        if let Some(c) = &mut l.call {
            let text = secrets.redact(&c.to_string());
            *c = serde_json::from_str(&text).unwrap_or(serde_json::Value::Null);
        }
    }
    r
}

/// The reflection after a run: digests the trace at `trace`, draws the rule lessons (plus
/// `extra` ones, e.g. the model's), redacts, and stores. Returns the new lesson ids.
pub fn reflect(
    options: &MemoryOptions,
    plan: &Plan,
    trace: &Path,
    tokens: u64,
    extra: Vec<NewLesson>,
) -> Result<Vec<i64>, MemoryError> {
    let lines = crate::plan::read_trace(trace).map_err(|e| MemoryError::Trace {
        path: trace.to_path_buf(),
        reason: e.to_string(),
    })?;
    let record = record_of(&lines, plan, tokens, extra);
    let record = redact_record(&options.secrets, record);
    options.open()?.record(&record)
}

/// The record of a run from its trace lines (pure).
pub fn record_of(
    lines: &[TraceLine],
    plan: &Plan,
    tokens: u64,
    extra: Vec<NewLesson>,
) -> RunRecord {
    let digest = lessons::digest(lines);
    let mut found = lessons::rules(&digest);
    ways::attach_calls(&mut found, plan);
    found.extend(extra);
    RunRecord {
        digest,
        plan: serde_json::to_string(plan).unwrap_or_default(),
        tokens,
        lessons: found,
    }
}

/// Asks `provider` for a few short lessons about a finished run (goal mode). Returns them and
/// the tokens spent; a failing model yields no lessons.
pub async fn model_lessons(
    provider: &dyn Provider,
    trace: &Path,
) -> (Result<Vec<NewLesson>, String>, Usage) {
    let lines = match crate::plan::read_trace(trace) {
        Ok(l) => l,
        Err(e) => return (Err(e.to_string()), Usage::default()),
    };
    let d = lessons::digest(&lines);
    let summary = lessons::cut(&serde_json::to_string(&d).unwrap_or_default(), 6000);
    let schema = serde_json::json!({
        "type": "object",
        "properties": {"lessons": {"type": "array", "items": {"type": "string"}}},
        "required": ["lessons"],
        "additionalProperties": false
    });
    let system = "You review a finished agent run and write at most 3 short, reusable lessons \
                  (one sentence each) that would make the next run of a similar goal cheaper or \
                  more likely to succeed. Answer with {\"lessons\": [..]}.";
    match provider
        .complete_json(system, &summary, "lessons", &schema)
        .await
    {
        Ok((v, usage)) => {
            let texts = v
                .get("lessons")
                .and_then(|l| l.as_array())
                .map(|a| {
                    a.iter()
                        .filter_map(|t| t.as_str())
                        .filter(|t| !t.trim().is_empty())
                        .take(3)
                        .map(|t| NewLesson {
                            kind: LessonKind::Model,
                            step: String::new(),
                            tools: String::new(),
                            errors: String::new(),
                            worked: None,
                            call: None,
                            text: lessons::cut(t.trim(), 300),
                        })
                        .collect()
                })
                .unwrap_or_default();
            (Ok(texts), usage)
        }
        Err(e) => (Err(e.to_string()), Usage::default()),
    }
}
