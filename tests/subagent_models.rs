//! Sub-agents with their own model: a plan-file run (no model of its own) delegates a goal to
//! a sub-agent that names a model from spud's config, which plans it; a name nobody configured
//! refuses the sub-agent with the reason.

use serde_json::json;
use spud::agent::RunOptions;
use spud::config::Config;
use spud::model::ModelCatalog;
use spud::plan::{Plan, RunStatus};
use spud_tests::subagents::spud;
use spud_tests::{home, ScriptedModel};
use std::sync::Arc;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sub_agent_plans_with_the_model_it_names() {
    let h = home();
    let spud = spud(&h, 1).await;
    let child = json!({"steps": [{"id": "hello", "tool": "hostile.echo", "args": {"s": "planned by the cheap model"}}]});
    let model = ScriptedModel::start(vec![(
        200,
        vec![],
        ScriptedModel::chat_call("plan", &child, 40, 20),
    )]);
    let config = Config::parse(
        &format!(
            "[models.cheap]\nprovider = \"openai\"\nmodel = \"cheap-planner\"\nbase_url = \"{}\"\n",
            model.base_url()
        ),
        "config.toml",
    )
    .unwrap();
    let text = "goal = \"delegate\"\n[[steps]]\nid = \"d\"\n[steps.agent]\ngoal = \"say hello\"\nmodel = \"cheap\"\ntools = [\"hostile.echo\"]\n\
                [[steps]]\nid = \"x\"\n[steps.agent]\ngoal = \"nobody configured this\"\nmodel = \"missing\"\n";
    let plan = Plan::parse(text, "plan.toml").unwrap();
    let options = RunOptions {
        models: Some(Arc::new(ModelCatalog::from_config(&config))),
        ..RunOptions::default()
    };
    let report = spud::agent::run_with(spud.clone(), plan.clone(), options, |_| {})
        .await
        .unwrap();
    assert_eq!(
        report.results["d"]["results"]["hello"],
        "planned by the cheap model"
    );
    let asked = model.requests.lock().unwrap().clone();
    assert_eq!(asked.len(), 1);
    assert_eq!(asked[0].body["model"], "cheap-planner");
    assert!(asked[0].body.to_string().contains("say hello"));
    // Its planning is the sub-agent's spending, and the tree's.
    let d = report.subagents.iter().find(|r| r.step == "d").unwrap();
    assert_eq!(d.used.max_tokens, 60);
    assert_eq!(report.usage.input_tokens + report.usage.output_tokens, 60);
    let why = &report.failed["x"];
    assert!(
        why.contains("no model `missing`") && why.contains("known: cheap"),
        "{why}"
    );
    assert_eq!(report.status, RunStatus::Failed);

    // Without models configured at all, naming one is refused with the reason.
    let report = spud::agent::run_with(spud, plan, RunOptions::default(), |_| {})
        .await
        .unwrap();
    assert!(
        report.failed["d"].contains("no models are configured"),
        "{:?}",
        report.failed
    );
}
