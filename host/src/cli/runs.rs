//! `spud runs list|show`: finished runs as plan trees.

use super::{fail, print_json, EXIT_USAGE};
use clap::Subcommand;
use spud::agent::{report, trace, TraceEvent};
use spud::Home;

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
                print!("{}", report::render(&v));
            }
            0
        }
    }
}
