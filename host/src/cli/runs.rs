//! `spud runs list|show`: finished runs as plan trees.

use super::output::{fail, print_json, EXIT_USAGE};
use clap::Subcommand;
use spud::home::Home;
use spud::plan::view as report;
use spud::plan::{trace, TraceEvent};

#[derive(Subcommand)]
pub enum RunsCommand {
    /// List runs, newest last (sub-agent runs, `PARENT.STEP`, only with --all).
    List {
        /// JSON output.
        #[arg(long)]
        json: bool,
        /// Include sub-agent runs.
        #[arg(long)]
        all: bool,
    },
    /// Remove runs (traces, reports, tool outputs) older than the retention period.
    Prune {
        /// Keep this many days (default: `[runs] retain_days` in <home>/config.toml).
        #[arg(long, value_name = "DAYS")]
        older_than: Option<u64>,
        /// Only list what would be removed.
        #[arg(long)]
        dry_run: bool,
        /// JSON output.
        #[arg(long)]
        json: bool,
    },
    /// Copy a run that workers of a NATS JetStream cluster ran — its trace and report, and
    /// those of its sub-agents — into this home, where `runs show` and `report` read it.
    Fetch {
        /// Run id (a root run's, or a sub-agent's `ROOT.STEP`).
        run: String,
        /// The cluster's NATS server(s) (`nats://127.0.0.1:4222`, comma-separated).
        #[arg(long, env = "SPUD_NATS")]
        nats: String,
        /// JSON output.
        #[arg(long)]
        json: bool,
    },
    /// Show one run as its plan tree: each step's calls, outputs, critic scores and decisions.
    Show {
        /// Run id (see `spud runs list`); `last` for the newest.
        run: String,
        /// JSON output.
        #[arg(long)]
        json: bool,
    },
}

pub fn run(cmd: RunsCommand, home: &Home) -> i32 {
    let dir = home.root().join("runs");
    let mut ids: Vec<String> = std::fs::read_dir(&dir)
        .map(|d| {
            d.flatten()
                .filter(|e| e.path().join("trace.jsonl").exists())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    ids.sort();
    match cmd {
        RunsCommand::Fetch { .. } => fail("`runs fetch` is handled before this point", 1),
        RunsCommand::Prune {
            older_than,
            dry_run,
            json,
        } => prune(home, &dir, &ids, older_than, dry_run, json),
        RunsCommand::List { json, all } => {
            let rows: Vec<_> = ids
                .iter()
                .filter(|id| all || !id.contains('.'))
                .map(|id| {
                    let v = report::view(&trace::read(&dir.join(id).join("trace.jsonl")).unwrap_or_default());
                    let (status, steps) = match &v.finished {
                        Some(TraceEvent::Finished { status, steps, .. }) => (format!("{status:?}"), *steps),
                        _ => ("unfinished".to_string(), 0),
                    };
                    serde_json::json!({"run": id, "goal": v.goal, "status": status, "tool_calls": steps})
                })
                .collect();
            if json {
                print_json(&rows);
            } else if rows.is_empty() {
                println!("no runs yet; start one with `spud run --plan FILE`");
            } else {
                for r in rows {
                    println!(
                        "{}  {:<16} {:>3} calls  {}",
                        r["run"].as_str().unwrap_or(""),
                        r["status"].as_str().unwrap_or(""),
                        r["tool_calls"],
                        r["goal"].as_str().unwrap_or("")
                    );
                }
            }
            0
        }
        RunsCommand::Show { run, json } => {
            let id = if run == "last" {
                ids.last().cloned().unwrap_or_default()
            } else {
                run.clone()
            };
            let path = dir.join(&id).join("trace.jsonl");
            let lines = match trace::read(&path) {
                Ok(l) => l,
                Err(_) => return fail(&format!("no run `{run}` in {}", dir.display()), EXIT_USAGE),
            };
            let v = report::view(&lines);
            if json {
                print_json(&v);
            } else {
                print!("{}", spud::plan::show::render(&v));
            }
            0
        }
    }
}

fn prune(
    home: &Home,
    dir: &std::path::Path,
    ids: &[String],
    days: Option<u64>,
    dry_run: bool,
    json: bool,
) -> i32 {
    let days = match days {
        Some(d) => d,
        None => match spud::config::Config::load(&home.root().join("config.toml"), false) {
            Ok(c) => match c.runs.retain_days {
                Some(d) => d,
                None => {
                    return fail(
                        "how long to keep runs? give --older-than DAYS or set `retain_days` under [runs] in <home>/config.toml",
                        EXIT_USAGE,
                    )
                }
            },
            Err(e) => return fail(&e.to_string(), EXIT_USAGE),
        },
    };
    let runs: Vec<(String, std::time::SystemTime)> = ids
        .iter()
        .filter_map(|id| {
            let modified = std::fs::metadata(dir.join(id).join("trace.jsonl"))
                .and_then(|m| m.modified())
                .ok()?;
            Some((id.clone(), modified))
        })
        .collect();
    let retain = std::time::Duration::from_secs(days.saturating_mul(86_400));
    let gone = spud::retention::expired(&runs, std::time::SystemTime::now(), retain);
    let mut removed = Vec::new();
    for id in &gone {
        if dry_run {
            removed.push(id.clone());
            continue;
        }
        match std::fs::remove_dir_all(dir.join(id)) {
            Ok(()) => removed.push(id.clone()),
            Err(e) => eprintln!("spud: cannot remove run {id}: {e}"),
        }
    }
    if json {
        print_json(
            &serde_json::json!({"removed": removed, "dry_run": dry_run, "older_than_days": days}),
        );
    } else {
        let verb = if dry_run { "would remove" } else { "removed" };
        println!("{verb} {} runs older than {days} days", removed.len());
        for id in &removed {
            println!("  {id}");
        }
    }
    i32::from(removed.len() != gone.len())
}
