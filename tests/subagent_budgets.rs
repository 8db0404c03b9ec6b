//! Sub-agent budgets and endings with the real sandbox: what a child leaves returns to its
//! parent, no child spends past its share, a failed child is run again, and a sub-agent or a
//! call stopped from outside is still recorded.

use spud::agent::{run_plan, RunOptions};
use spud::plan::{Plan, RunStatus, TraceEvent};
use spud_tests::home;
use spud_tests::subagents::{agent_step, run, spud, spud_with};
use std::sync::Arc;
use std::time::Duration;

const ECHO: &str = "steps = [{ id = \"e\", tool = \"hostile.echo\", args = { s = \"x\" } }]";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn budget_a_child_leaves_returns_to_its_parent_for_later_siblings() {
    let h = home();
    let spud = spud(&h, 1).await;
    let plan = format!(
        "goal = \"returns\"\n[budget]\nmax_steps = 10\n{}[[steps]]\nid = \"second\"\nafter = [\"first\"]\n[steps.agent]\ngoal = \"second\"\nbudget = {{ max_steps = 8 }}\n{ECHO}\n",
        agent_step("first", 0, &format!("budget = {{ max_steps = 8 }}\n{ECHO}"))
    );
    let (report, _) = run(spud, &plan).await;
    assert_eq!(report.status, RunStatus::Done, "{:?}", report.failed);
    let by = |step: &str| report.subagents.iter().find(|r| r.step == step).unwrap();
    assert_eq!(by("first").allocated.max_steps, 8);
    assert_eq!(by("first").used.max_steps, 1);
    // 10 − 1 used: the 7 `first` did not use came back, so `second` gets all it asked for
    // (without the return it could get at most 10 − 8 − 1 = 1).
    assert_eq!(by("second").allocated.max_steps, 8);
    assert_eq!(report.steps, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_child_cannot_burn_more_fuel_than_its_share() {
    let h = home();
    let spud = spud(&h, 1).await;
    let plan = [
        "goal = \"fuel\"\n".to_string(),
        agent_step(
            "burner",
            0,
            "budget = { max_fuel = 5000000 }\nsteps = [{ id = \"spin\", tool = \"hostile.spin-forever\" }]",
        ),
        agent_step("sibling", 0, ECHO),
    ]
    .concat();
    let (report, _) = run(spud, &plan).await;
    let burner = report
        .subagents
        .iter()
        .find(|r| r.step == "burner")
        .unwrap();
    assert_eq!(burner.status, Some(RunStatus::BudgetExhausted));
    assert_eq!(burner.allocated.max_fuel, 5_000_000);
    assert!(
        burner.used.max_fuel > 0 && burner.used.max_fuel <= 5_000_000,
        "used {} of 5000000",
        burner.used.max_fuel
    );
    assert_eq!(report.results["sibling"]["results"]["e"], "x");
    // The audit log says which budget stopped the call, not a policy limit.
    let audit = std::fs::read_to_string(h.path().join("audit/audit.jsonl")).unwrap();
    assert!(
        audit
            .contains("the fuel its run had left ran out: raise `max_fuel` in the plan's [budget]"),
        "{audit}"
    );
    assert_eq!(
        report.fuel,
        burner.used.max_fuel + report.subagents[1].used.max_fuel
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_sub_agent_is_run_again_then_the_parent_backtracks() {
    let h = home();
    let spud = spud(&h, 1).await;
    let plan = [
        "goal = \"retry\"\n[critic]\nmax_retries = 1\n".to_string(),
        agent_step(
            "stuck",
            0,
            "deadline_ms = 300\nsteps = [{ id = \"spin\", tool = \"hostile.spin-forever\" }]",
        ),
        "[[steps.alternatives]]\ntool = \"hostile.echo\"\nargs = { s = \"fallback\" }\n".into(),
    ]
    .concat();
    let (report, lines) = run(spud, &plan).await;
    assert_eq!(report.status, RunStatus::Done, "{:?}", report.failed);
    assert_eq!(report.results["stuck"], "fallback");
    let runs: Vec<&str> = report.subagents.iter().map(|r| r.run.as_str()).collect();
    assert_eq!(runs.len(), 2, "{runs:?}");
    assert!(
        runs[0].ends_with(".stuck") && runs[1].ends_with(".stuck~2"),
        "{runs:?}"
    );
    assert!(report
        .subagents
        .iter()
        .all(|r| r.status == Some(RunStatus::BudgetExhausted)));
    assert!(lines.iter().any(|l| matches!(&l.event, TraceEvent::StepBlocked { reason, .. } if reason.contains("running it again"))));
    assert_eq!((report.retries, report.backtracks), (1, 1));
}

/// Never answers.
struct Silent;

#[async_trait::async_trait]
impl spud::orchestrator::approval::Approver for Silent {
    async fn approve(&self, _: &spud::orchestrator::approval::ApprovalRequest) -> bool {
        std::future::pending().await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sub_agent_stopped_with_its_parent_is_recorded_as_cancelled() {
    let h = home();
    let spud = spud_with(&h, "[tools.hostile]\napproval = true\n").await;
    let text = [
        "goal = \"cancel\"\n[budget]\nmax_wall_ms = 300\n".to_string(),
        agent_step("waiting", 0, ECHO),
    ]
    .concat();
    let options = RunOptions {
        approver: Some(Arc::new(Silent)),
        ..Default::default()
    };
    let plan = Plan::parse(&text, "plan.toml").unwrap();
    let report = spud::agent::run_with(spud, plan, options, |_| {})
        .await
        .unwrap();
    // The root ran out of time while its sub-agent waited for an answer that never came.
    assert_eq!(report.status, RunStatus::BudgetExhausted);
    assert_eq!(
        report.subagents.len(),
        1,
        "the stopped sub-agent is not lost"
    );
    let r = &report.subagents[0];
    assert_eq!(r.status, Some(RunStatus::Cancelled));
    assert!(r.queued_ms >= 250, "{r:?}");
    assert_eq!(report.figures.subagents, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_dropped_in_flight_is_audited_as_cancelled() {
    let h = home();
    let spud = spud(&h, 1).await;
    let plan = Plan::parse(
        "goal = \"drop\"\n[[steps]]\nid = \"spin\"\ntool = \"hostile.spin-forever\"\n",
        "plan.toml",
    )
    .unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let tx = std::sync::Mutex::new(tx);
    let task = tokio::spawn(run_plan(spud, plan, move |l| {
        if matches!(l.event, TraceEvent::StepStarted { .. }) {
            let _ = tx.lock().unwrap().send(());
        }
    }));
    tokio::task::spawn_blocking(move || rx.recv_timeout(Duration::from_secs(30)))
        .await
        .unwrap()
        .expect("the call started");
    tokio::time::sleep(Duration::from_millis(200)).await;
    // Like a client going away: the whole run is dropped mid-call.
    task.abort();
    assert!(task.await.unwrap_err().is_cancelled());
    // The run's step tasks are aborted with it, each as the runtime gets to it.
    let mut call = None;
    for _ in 0..100 {
        let audit = std::fs::read_to_string(h.path().join("audit/audit.jsonl")).unwrap();
        call = audit
            .lines()
            .find(|l| l.contains("hostile.spin-forever"))
            .map(str::to_string);
        if call.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let call = call.expect("the dropped call is in the audit log");
    assert!(call.contains("\"outcome\":\"cancelled\""), "{call}");
}
