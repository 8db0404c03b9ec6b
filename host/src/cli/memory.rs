//! `spud memory list|show|search|forget|export|trend`: the memory of past runs.
//! Exit codes: 0 ok, 1 not found, 2 bad input or an unusable database.

use super::output::{fail, print_json, EXIT_USAGE};
use clap::{ArgGroup, Subcommand};
use spud::config::Config;
use spud::home::Home;
use spud::memory::{Lesson, MemoryError, RunRow, Store, DEFAULT_RETAIN_DAYS};
use std::path::PathBuf;

#[derive(Subcommand)]
pub enum MemoryCommand {
    /// List lessons, newest first.
    List {
        /// JSON output.
        #[arg(long)]
        json: bool,
    },
    /// Show one lesson.
    Show {
        /// Lesson id (see `spud memory list`).
        id: i64,
        /// JSON output.
        #[arg(long)]
        json: bool,
    },
    /// Lessons that match words (full-text, best first).
    Search {
        /// Words to look for.
        query: String,
        /// At most this many.
        #[arg(long, default_value_t = 20)]
        limit: usize,
        /// JSON output.
        #[arg(long)]
        json: bool,
    },
    /// Forget one lesson, a goal's runs and lessons, everything, or what is past retention.
    #[command(group(ArgGroup::new("what").required(true).args(["id", "goal", "all", "expired"])))]
    Forget {
        /// Lesson id.
        id: Option<i64>,
        /// Every run and lesson of this goal.
        #[arg(long)]
        goal: Option<String>,
        /// Everything.
        #[arg(long)]
        all: bool,
        /// Runs and lessons older than `[memory] retain_days` (or --days).
        #[arg(long)]
        expired: bool,
        /// With --expired: the retention in days instead of the config's.
        #[arg(long, requires = "expired")]
        days: Option<u32>,
    },
    /// Everything stored: runs and lessons (JSON with --json, else text).
    Export {
        /// JSON output.
        #[arg(long)]
        json: bool,
    },
    /// Steps, retries and backtracks of each run of a goal, oldest first.
    Trend {
        /// The goal, exactly as run.
        goal: String,
        /// JSON output.
        #[arg(long)]
        json: bool,
    },
}

fn retain_days(home: &Home) -> Result<u32, String> {
    let path = std::env::var_os("SPUD_CONFIG")
        .map(PathBuf::from)
        .unwrap_or_else(|| home.root().join("config.toml"));
    let config = Config::load(&path, false).map_err(|e| e.to_string())?;
    Ok(config.memory.retain_days.unwrap_or(DEFAULT_RETAIN_DAYS))
}

fn line(l: &Lesson) -> String {
    format!(
        "{:>5}  {:<16}  {}  ({})",
        l.id,
        l.kind.as_str(),
        l.text,
        l.goal
    )
}

fn print_lessons(lessons: &[Lesson], json: bool) {
    if json {
        print_json(&lessons);
    } else if lessons.is_empty() {
        println!("no lessons");
    } else {
        for l in lessons {
            println!("{}", line(l));
        }
    }
}

fn trend_text(rows: &[RunRow]) -> String {
    let mut out = String::from(
        "run                         status            steps  retries  backtracks  tokens\n",
    );
    for r in rows {
        out.push_str(&format!(
            "{:<27} {:<17} {:>5}  {:>7}  {:>10}  {:>6}\n",
            r.id, r.status, r.steps, r.retries, r.backtracks, r.tokens
        ));
    }
    if let (Some(first), Some(last)) = (rows.first(), rows.last()) {
        out.push_str(&format!(
            "change first → last: steps {:+}, retries {:+}, backtracks {:+}\n",
            last.steps as i64 - first.steps as i64,
            last.retries as i64 - first.retries as i64,
            last.backtracks as i64 - first.backtracks as i64
        ));
    }
    out
}

pub fn run(cmd: MemoryCommand, home: &Home) -> i32 {
    let days = match retain_days(home) {
        Ok(d) => d,
        Err(e) => return fail(&e, EXIT_USAGE),
    };
    let mut store = match Store::open(&home.memory_file(), days) {
        Ok(s) => s,
        Err(e) => return fail(&e.to_string(), EXIT_USAGE),
    };
    let done = match cmd {
        MemoryCommand::List { json } => store.lessons().map(|l| {
            print_lessons(&l, json);
            0
        }),
        MemoryCommand::Show { id, json } => show(&store, id, json),
        MemoryCommand::Search { query, limit, json } => {
            let terms = spud::memory::retrieve::terms([query.as_str()]);
            store
                .search(&spud::memory::retrieve::fts_query(&terms), limit)
                .map(|l| {
                    print_lessons(&l, json);
                    0
                })
        }
        MemoryCommand::Forget {
            id,
            goal,
            all,
            expired,
            days: keep,
        } => {
            let expire_days = expired.then(|| keep.unwrap_or(days));
            forget(&mut store, id, goal.as_deref(), all, expire_days)
        }
        MemoryCommand::Export { json } => export(&store, json),
        MemoryCommand::Trend { goal, json } => trend(&store, &goal, json),
    };
    done.unwrap_or_else(|e| fail(&e.to_string(), EXIT_USAGE))
}

/// `spud memory show`: one lesson, every field (exit 1 when there is no such lesson).
fn show(store: &Store, id: i64, json: bool) -> Result<i32, MemoryError> {
    store.lesson(id).map(|l| match l {
        Some(l) if json => {
            print_json(&l);
            0
        }
        Some(l) => {
            println!("lesson {}\nkind:   {}\ngoal:   {}\nrun:    {}\nstep:   {}\ntools:  {}\nerrors: {}\ntext:   {}",
                l.id, l.kind.as_str(), l.goal, l.run, l.step, l.tools, l.errors, l.text);
            if let Some(c) = &l.call {
                println!("call:   {c}");
            }
            0
        }
        None => fail(&format!("no lesson {id} (see `spud memory list`)"), 1),
    })
}

/// `spud memory forget`: one lesson (exit 1 when there is no such lesson), a goal's runs and
/// lessons, everything, or — with `expire_days` — what is older than that.
fn forget(
    store: &mut Store,
    id: Option<i64>,
    goal: Option<&str>,
    all: bool,
    expire_days: Option<u32>,
) -> Result<i32, MemoryError> {
    let result = if let Some(id) = id {
        store.forget(id).map(|found| if found { 1 } else { 0 })
    } else if let Some(g) = goal {
        store.forget_goal(g)
    } else if all {
        store.forget_all()
    } else if let Some(days) = expire_days {
        store.expire(days)
    } else {
        Ok(0)
    };
    result.map(|n| {
        if id.is_some() && n == 0 {
            return fail(
                &format!(
                    "no lesson {} (see `spud memory list`)",
                    id.unwrap_or_default()
                ),
                1,
            );
        }
        println!("forgot {n} lessons");
        0
    })
}

/// `spud memory export`: every run and lesson.
fn export(store: &Store, json: bool) -> Result<i32, MemoryError> {
    store.runs(None).and_then(|runs| {
        let lessons = store.lessons()?;
        if json {
            print_json(&serde_json::json!({"runs": runs, "lessons": lessons}));
        } else {
            print!("{}", trend_text(&runs));
            print_lessons(&lessons, false);
        }
        Ok(0)
    })
}

/// `spud memory trend`: the runs of one goal, oldest first (exit 1 when there are none).
fn trend(store: &Store, goal: &str, json: bool) -> Result<i32, MemoryError> {
    store.runs(Some(goal)).map(|rows| {
        if rows.is_empty() {
            return fail(&format!("no runs of goal `{goal}` in memory"), 1);
        }
        if json {
            print_json(&rows);
        } else {
            print!("{}", trend_text(&rows));
        }
        0
    })
}
