//! `spud report RUN [--json | --prometheus]`: a finished run's measured figures — cost,
//! coordination, scheduling, allocation, permission-violation and compliance — and one row per
//! sub-agent.

use super::output::{fail, print_json, EXIT_USAGE};
use spud::home::Home;
use spud::orchestrator::SubAgentRecord;
use spud::orchestrator::{figures::Figures, prometheus::prometheus};
use spud::plan::{read_trace, view, Corrections, REFERENCE_WORSE_SHARE};

#[derive(clap::Args)]
#[command(after_help = "Formulas: see the book, docs/src/figures.md (Figures).")]
pub struct ReportArgs {
    /// Run id (see `spud runs list`); `last` for the newest; `all` for the self-corrections
    /// of every run in the home.
    run: String,
    /// The whole report as JSON.
    #[arg(long, conflicts_with = "prometheus")]
    json: bool,
    /// The figures in Prometheus text format.
    #[arg(long)]
    prometheus: bool,
}

pub fn run(args: ReportArgs, home: &Home) -> i32 {
    let dir = home.root().join("runs");
    if args.run == "all" {
        return across(&dir, args.json);
    }
    let id = if args.run == "last" {
        let mut ids: Vec<String> = std::fs::read_dir(&dir)
            .map(|d| {
                d.flatten()
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .filter(|id| !id.contains('.') && dir.join(id).join("report.json").exists())
                    .collect()
            })
            .unwrap_or_default();
        ids.sort();
        ids.pop().unwrap_or_default()
    } else {
        args.run.clone()
    };
    let path = dir.join(&id).join("report.json");
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(_) => {
            return fail(
                &format!(
                    "no finished run `{}` in {} (no report.json)",
                    args.run,
                    dir.display()
                ),
                EXIT_USAGE,
            )
        }
    };
    let report: serde_json::Value = match serde_json::from_str(&text) {
        Ok(v) => v,
        Err(e) => return fail(&format!("{}: {e}", path.display()), 1),
    };
    let figures: Figures = serde_json::from_value(report["figures"].clone()).unwrap_or_default();
    let records: Vec<SubAgentRecord> =
        serde_json::from_value(report["subagents"].clone()).unwrap_or_default();
    if args.json {
        print_json(&report);
    } else if args.prometheus {
        print!("{}", prometheus(&id, &figures, &records));
    } else {
        print_human(&id, &report);
    }
    0
}

/// The self-corrections of every run (sub-agents' included), read from their traces: how many
/// made their step worse, beside the reference design's share.
fn across(dir: &std::path::Path, json: bool) -> i32 {
    let mut total = Corrections::default();
    let mut runs = 0u64;
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let Ok(lines) = read_trace(&entry.path().join("trace.jsonl")) else {
            continue;
        };
        total.add(&view(&lines).corrections);
        runs += 1;
    }
    if json {
        print_json(
            &serde_json::json!({"runs": runs, "corrections": total, "reference_worse_share": REFERENCE_WORSE_SHARE}),
        );
    } else {
        println!(
            "{runs} runs: {} self-corrections, {} improved their step, {} made it worse ({:.1} %; the reference design: {:.0} %)",
            total.total,
            total.improved,
            total.worsened,
            total.worse_share * 100.0,
            REFERENCE_WORSE_SHARE * 100.0
        );
    }
    0
}

fn print_human(id: &str, r: &serde_json::Value) {
    let f = &r["figures"];
    let n = |v: &serde_json::Value| v.as_f64().unwrap_or(0.0);
    let pct = |v: &serde_json::Value| {
        v.as_f64()
            .map_or("—".to_string(), |x| format!("{:.1} %", x * 100.0))
    };
    println!("run {id}: {}", r["status"].as_str().unwrap_or("?"));
    let c = &f["cost"];
    let price = c["model_price"]
        .as_f64()
        .map_or(String::new(), |p| format!(" (price {p:.4})"));
    println!(
        "cost: {} tool calls, fuel {}, {} model tokens{price}; {} bytes in, {} bytes out; {} bytes stored",
        r["steps"], c["fuel"], c["tokens"], c["bytes_in"], c["bytes_out"], c["storage_bytes"]
    );
    println!(
        "sub-agents: {} ({} refused), peak parallelism {}",
        f["subagents"], f["refused_subagents"], f["peak_parallel"]
    );
    println!(
        "coordination efficiency:   {}",
        pct(&f["coordination_efficiency"])
    );
    println!(
        "scheduling efficiency:     {} (mean queue wait {:.1} ms, {} priority inversions)",
        pct(&f["scheduling_efficiency"]),
        n(&f["mean_queue_ms"]),
        f["priority_inversions"]
    );
    let a = &f["allocation_efficiency"];
    println!(
        "allocation efficiency:     steps {}, fuel {}, network {}, tokens {}, storage {}",
        pct(&a["steps"]),
        pct(&a["fuel"]),
        pct(&a["net_bytes"]),
        pct(&a["tokens"]),
        pct(&a["storage_bytes"])
    );
    println!(
        "permission-violation rate: {}",
        pct(&f["permission_violation_rate"])
    );
    println!(
        "data-leakage rate:         {} of {} outbound transfers ({} leaks prevented, {} outputs redacted)",
        pct(&f["data_leakage_rate"]),
        f["outbound_transfers"],
        f["leaks_prevented"],
        f["outputs_redacted"]
    );
    println!("compliance rate:           {}", pct(&f["compliance_rate"]));
    let c = &r["corrections"];
    println!(
        "self-corrections:          {} ({} made their step worse: {}; the reference design: {:.0} %)",
        c["total"].as_u64().unwrap_or(0),
        c["worsened"].as_u64().unwrap_or(0),
        pct(&c["worse_share"]),
        REFERENCE_WORSE_SHARE * 100.0
    );
    if let Some(subs) = r["subagents"].as_array() {
        for s in subs {
            println!(
                "  {:<40} p{:<3} {:<16} queued {:>6} ms  busy {:>6} ms  calls {}/{}",
                s["run"].as_str().unwrap_or(""),
                s["priority"],
                s["status"].as_str().unwrap_or("refused"),
                s["queued_ms"],
                s["busy_ms"],
                s["used"]["max_steps"],
                s["allocated"]["max_steps"]
            );
        }
    }
}
