//! The SQLite store (`<home>/memory.db`): runs, their steps, and lessons with an FTS5 index.
//! All I/O of the memory lives here.

use super::error::MemoryError;
use super::lessons::{LessonKind, NewLesson, RunDigest};
use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// How long a write waits for another process that holds the database.
pub const BUSY_TIMEOUT: Duration = Duration::from_millis(2000);

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS runs (
    id TEXT PRIMARY KEY,
    goal TEXT NOT NULL,
    plan TEXT NOT NULL,
    status TEXT NOT NULL,
    steps INTEGER NOT NULL,
    retries INTEGER NOT NULL,
    backtracks INTEGER NOT NULL,
    fuel INTEGER NOT NULL,
    wall_ms INTEGER NOT NULL,
    tokens INTEGER NOT NULL,
    exhausted TEXT,
    detail TEXT NOT NULL,
    created INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS lessons (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    run TEXT NOT NULL,
    goal TEXT NOT NULL,
    kind TEXT NOT NULL,
    step TEXT NOT NULL,
    tools TEXT NOT NULL,
    errors TEXT NOT NULL,
    worked INTEGER,
    call TEXT,
    text TEXT NOT NULL,
    created INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS lessons_run ON lessons(run);
CREATE VIRTUAL TABLE IF NOT EXISTS lessons_fts USING fts5(goal, step, tools, errors, text);
";

/// A stored run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunRow {
    /// Run id.
    pub id: String,
    /// Goal.
    pub goal: String,
    /// How it ended.
    pub status: String,
    /// Tool calls.
    pub steps: u64,
    /// Retries.
    pub retries: u64,
    /// Backtracks.
    pub backtracks: u64,
    /// Fuel.
    pub fuel: u64,
    /// Wall time, ms.
    pub wall_ms: u64,
    /// Model tokens.
    pub tokens: u64,
    /// Unix seconds when it was stored.
    pub created: i64,
}

/// A stored lesson.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Lesson {
    /// Id (`spud memory show ID`).
    pub id: i64,
    /// The run it was learned from.
    pub run: String,
    /// That run's goal.
    pub goal: String,
    /// What it is about.
    pub kind: LessonKind,
    /// Step id (empty for run-wide lessons).
    pub step: String,
    /// Tools involved.
    pub tools: String,
    /// Errors involved.
    pub errors: String,
    /// For an alternative lesson: the call that worked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub call: Option<serde_json::Value>,
    /// The lesson.
    pub text: String,
    /// Unix seconds when it was stored.
    pub created: i64,
}

/// What one run stores (already redacted).
#[derive(Debug, Clone)]
pub struct RunRecord {
    /// What the trace says.
    pub digest: RunDigest,
    /// The plan as run, JSON.
    pub plan: String,
    /// Model tokens used.
    pub tokens: u64,
    /// Lessons.
    pub lessons: Vec<NewLesson>,
}

/// An open store.
pub struct Store {
    conn: Connection,
    path: PathBuf,
}

/// Unix seconds now.
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

fn classify(path: &Path, e: rusqlite::Error) -> MemoryError {
    let path = path.to_path_buf();
    match e.sqlite_error_code() {
        Some(rusqlite::ErrorCode::DatabaseBusy) | Some(rusqlite::ErrorCode::DatabaseLocked) => {
            MemoryError::Locked { path }
        }
        Some(rusqlite::ErrorCode::NotADatabase) | Some(rusqlite::ErrorCode::DatabaseCorrupt) => {
            MemoryError::Corrupt { path }
        }
        _ => MemoryError::Sqlite {
            path,
            reason: e.to_string(),
        },
    }
}

const SELECT_LESSON: &str =
    "SELECT id, run, goal, kind, step, tools, errors, call, text, created FROM lessons";

fn lesson(r: &rusqlite::Row<'_>) -> rusqlite::Result<Lesson> {
    let kind: String = r.get(3)?;
    let call: Option<String> = r.get(7)?;
    Ok(Lesson {
        id: r.get(0)?,
        run: r.get(1)?,
        goal: r.get(2)?,
        kind: LessonKind::parse(&kind).unwrap_or(LessonKind::Model),
        step: r.get(4)?,
        tools: r.get(5)?,
        errors: r.get(6)?,
        call: call.and_then(|c| serde_json::from_str(&c).ok()),
        text: r.get(8)?,
        created: r.get(9)?,
    })
}

fn run_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<RunRow> {
    Ok(RunRow {
        id: r.get(0)?,
        goal: r.get(1)?,
        status: r.get(2)?,
        steps: r.get::<_, i64>(3)? as u64,
        retries: r.get::<_, i64>(4)? as u64,
        backtracks: r.get::<_, i64>(5)? as u64,
        fuel: r.get::<_, i64>(6)? as u64,
        wall_ms: r.get::<_, i64>(7)? as u64,
        tokens: r.get::<_, i64>(8)? as u64,
        created: r.get(9)?,
    })
}

const SELECT_RUN: &str =
    "SELECT id, goal, status, steps, retries, backtracks, fuel, wall_ms, tokens, created FROM runs";

fn insert_lessons(
    tx: &rusqlite::Transaction<'_>,
    run: &str,
    goal: &str,
    lessons: &[NewLesson],
    created: i64,
) -> rusqlite::Result<Vec<i64>> {
    let mut ids = Vec::new();
    for l in lessons {
        let call = l.call.as_ref().map(|c| c.to_string());
        tx.execute(
            "INSERT INTO lessons (run, goal, kind, step, tools, errors, worked, call, text, created)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            params![
                run, goal, l.kind.as_str(), l.step, l.tools, l.errors,
                l.worked.map(|w| w as i64), call, l.text, created
            ],
        )?;
        let id = tx.last_insert_rowid();
        tx.execute(
            "INSERT INTO lessons_fts (rowid, goal, step, tools, errors, text) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![id, goal, l.step, l.tools, l.errors, l.text],
        )?;
        ids.push(id);
    }
    Ok(ids)
}

impl Store {
    /// Opens (creating) the store at `path`, and deletes what is older than `retain_days`
    /// (0 keeps everything).
    pub fn open(path: &Path, retain_days: u32) -> Result<Store, MemoryError> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| MemoryError::Io {
                path: path.to_path_buf(),
                reason: e.to_string(),
            })?;
        }
        let conn = Connection::open(path).map_err(|e| classify(path, e))?;
        conn.busy_timeout(BUSY_TIMEOUT)
            .map_err(|e| classify(path, e))?;
        let store = Store {
            conn,
            path: path.to_path_buf(),
        };
        store
            .conn
            .execute_batch(SCHEMA)
            .map_err(|e| classify(path, e))?;
        store.expire(retain_days)?;
        Ok(store)
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn err(&self, e: rusqlite::Error) -> MemoryError {
        classify(&self.path, e)
    }

    /// Stores a run and its lessons in one transaction; returns the new lesson ids.
    pub fn record(&mut self, r: &RunRecord) -> Result<Vec<i64>, MemoryError> {
        let path = self.path.clone();
        let tx = self.conn.transaction().map_err(|e| classify(&path, e))?;
        let d = &r.digest;
        let created = now();
        let detail = serde_json::to_string(&d.steps).unwrap_or_default();
        let exhausted = d
            .exhausted
            .as_ref()
            .map(|(b, u, l)| format!("{b}: {u} of {l}"));
        tx.execute(
            "INSERT OR REPLACE INTO runs (id, goal, plan, status, steps, retries, backtracks, fuel, wall_ms, tokens, exhausted, detail, created)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
            params![
                d.run, d.goal, r.plan, d.status, d.calls as i64, d.retries as i64,
                d.backtracks as i64, d.fuel as i64, d.wall_ms as i64, r.tokens as i64,
                exhausted, detail, created
            ],
        )
        .map_err(|e| classify(&path, e))?;
        let ids = insert_lessons(&tx, &d.run, &d.goal, &r.lessons, created)
            .map_err(|e| classify(&path, e))?;
        tx.commit().map_err(|e| classify(&path, e))?;
        Ok(ids)
    }

    /// Adds lessons learned about stored run `run` (e.g. the model's); returns their ids.
    pub fn add_lessons(
        &mut self,
        run: &str,
        goal: &str,
        lessons: &[NewLesson],
    ) -> Result<Vec<i64>, MemoryError> {
        let path = self.path.clone();
        let tx = self.conn.transaction().map_err(|e| classify(&path, e))?;
        let ids = insert_lessons(&tx, run, goal, lessons, now()).map_err(|e| classify(&path, e))?;
        tx.commit().map_err(|e| classify(&path, e))?;
        Ok(ids)
    }

    /// Adds a lesson learned elsewhere (another host of a cluster), with its run, goal and
    /// time, unless the store has it already (the same run, kind, step and text). Returns
    /// whether it was added.
    pub fn import(&mut self, l: &Lesson) -> Result<bool, MemoryError> {
        let known: bool = self
            .conn
            .query_row(
                "SELECT EXISTS(SELECT 1 FROM lessons WHERE run = ?1 AND kind = ?2 AND step = ?3 AND text = ?4)",
                params![l.run, l.kind.as_str(), l.step, l.text],
                |r| r.get(0),
            )
            .map_err(|e| self.err(e))?;
        if known {
            return Ok(false);
        }
        let new = NewLesson {
            kind: l.kind,
            step: l.step.clone(),
            tools: l.tools.clone(),
            errors: l.errors.clone(),
            worked: None,
            call: l.call.clone(),
            text: l.text.clone(),
        };
        let path = self.path.clone();
        let tx = self.conn.transaction().map_err(|e| classify(&path, e))?;
        insert_lessons(&tx, &l.run, &l.goal, &[new], l.created).map_err(|e| classify(&path, e))?;
        tx.commit().map_err(|e| classify(&path, e))?;
        Ok(true)
    }

    /// Lessons matching the FTS5 `query`, best (lowest bm25) first.
    pub fn search(&self, query: &str, limit: usize) -> Result<Vec<Lesson>, MemoryError> {
        if query.trim().is_empty() {
            return Ok(Vec::new());
        }
        let sql = "SELECT l.id, l.run, l.goal, l.kind, l.step, l.tools, l.errors, l.call, l.text, l.created
             FROM lessons_fts JOIN lessons l ON l.id = lessons_fts.rowid
             WHERE lessons_fts MATCH ?1 ORDER BY bm25(lessons_fts), l.id DESC LIMIT ?2";
        let mut st = self.conn.prepare(sql).map_err(|e| self.err(e))?;
        let rows = st
            .query_map(params![query, limit as i64], lesson)
            .map_err(|e| self.err(e))?;
        rows.collect::<Result<_, _>>().map_err(|e| self.err(e))
    }

    /// All lessons, newest first.
    pub fn lessons(&self) -> Result<Vec<Lesson>, MemoryError> {
        let mut st = self
            .conn
            .prepare(&format!("{SELECT_LESSON} ORDER BY id DESC"))
            .map_err(|e| self.err(e))?;
        let rows = st.query_map([], lesson).map_err(|e| self.err(e))?;
        rows.collect::<Result<_, _>>().map_err(|e| self.err(e))
    }

    /// One lesson.
    pub fn lesson(&self, id: i64) -> Result<Option<Lesson>, MemoryError> {
        self.conn
            .query_row(&format!("{SELECT_LESSON} WHERE id = ?1"), [id], lesson)
            .optional()
            .map_err(|e| self.err(e))
    }

    /// Stored runs, oldest first; only those with goal `goal` when given.
    pub fn runs(&self, goal: Option<&str>) -> Result<Vec<RunRow>, MemoryError> {
        let mut st = self
            .conn
            .prepare(&format!(
                "{SELECT_RUN} WHERE ?1 IS NULL OR goal = ?1 ORDER BY created, rowid"
            ))
            .map_err(|e| self.err(e))?;
        let rows = st.query_map([goal], run_row).map_err(|e| self.err(e))?;
        rows.collect::<Result<_, _>>().map_err(|e| self.err(e))
    }

    fn delete_where(
        &mut self,
        cond: &str,
        arg: rusqlite::types::Value,
    ) -> Result<usize, MemoryError> {
        let path = self.path.clone();
        let tx = self.conn.transaction().map_err(|e| classify(&path, e))?;
        tx.execute(
            &format!(
                "DELETE FROM lessons_fts WHERE rowid IN (SELECT id FROM lessons WHERE {cond})"
            ),
            [&arg],
        )
        .map_err(|e| classify(&path, e))?;
        let n = tx
            .execute(&format!("DELETE FROM lessons WHERE {cond}"), [&arg])
            .map_err(|e| classify(&path, e))?;
        tx.commit().map_err(|e| classify(&path, e))?;
        Ok(n)
    }

    /// Forgets one lesson; false if there was none.
    pub fn forget(&mut self, id: i64) -> Result<bool, MemoryError> {
        Ok(self.delete_where("id = ?1", id.into())? > 0)
    }

    /// Forgets every run and lesson of `goal`; returns the lessons removed.
    pub fn forget_goal(&mut self, goal: &str) -> Result<usize, MemoryError> {
        let n = self.delete_where("goal = ?1", goal.to_string().into())?;
        self.conn
            .execute("DELETE FROM runs WHERE goal = ?1", [goal])
            .map_err(|e| self.err(e))?;
        Ok(n)
    }

    /// Forgets everything; returns the lessons removed.
    pub fn forget_all(&mut self) -> Result<usize, MemoryError> {
        let n = self.delete_where("1 = 1 OR ?1 IS NULL", rusqlite::types::Value::Null)?;
        self.conn
            .execute("DELETE FROM runs", [])
            .map_err(|e| self.err(e))?;
        Ok(n)
    }

    /// Forgets runs and lessons older than `days` (0: keep everything); returns the lessons
    /// removed.
    pub fn expire(&self, days: u32) -> Result<usize, MemoryError> {
        self.expire_before(if days == 0 {
            i64::MIN
        } else {
            now() - i64::from(days) * 86_400
        })
    }

    /// Forgets runs and lessons stored before unix second `cutoff`.
    pub fn expire_before(&self, cutoff: i64) -> Result<usize, MemoryError> {
        let c = &self.conn;
        c.execute(
            "DELETE FROM lessons_fts WHERE rowid IN (SELECT id FROM lessons WHERE created < ?1)",
            [cutoff],
        )
        .map_err(|e| self.err(e))?;
        let n = c
            .execute("DELETE FROM lessons WHERE created < ?1", [cutoff])
            .map_err(|e| self.err(e))?;
        c.execute("DELETE FROM runs WHERE created < ?1", [cutoff])
            .map_err(|e| self.err(e))?;
        Ok(n)
    }

    /// Sets when rows were stored (tests and imports): every row of `run`.
    pub fn set_created(&self, run: &str, created: i64) -> Result<(), MemoryError> {
        self.conn
            .execute(
                "UPDATE lessons SET created = ?2 WHERE run = ?1",
                params![run, created],
            )
            .map_err(|e| self.err(e))?;
        self.conn
            .execute(
                "UPDATE runs SET created = ?2 WHERE id = ?1",
                params![run, created],
            )
            .map_err(|e| self.err(e))?;
        Ok(())
    }
}
