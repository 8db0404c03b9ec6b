//! Sub-agent test helpers: spud with the hostile component, a plan run with its trace, and a
//! sub-agent step in plan-file form.

use crate::{guest, sidecar, write_policy};
use spud::agent::{run_plan, RunReport};
use spud::plan::{Plan, TraceLine};
use spud::{Spud, SpudOptions};
use std::sync::{Arc, Mutex};

/// spud with the hostile test component, granted loopback HTTP on `port` (read-only /data).
pub async fn spud(h: &tempfile::TempDir, port: u16) -> Arc<Spud> {
    spud_with(
        h,
        &format!(
            r#"
[tools.hostile]
files = [{{ host = "data", guest = "/data", access = "read-only" }}]
network = ["http://127.0.0.1:{port}"]
limits = {{ timeout_ms = 60000, fuel = 100_000_000_000 }}
"#
        ),
    )
    .await
}

/// spud with the hostile test component (principal `root`) under `policy`; `data/` exists.
pub async fn spud_with(h: &tempfile::TempDir, policy: &str) -> Arc<Spud> {
    std::fs::create_dir_all(h.path().join("data")).unwrap();
    let policy = write_policy(h.path(), policy);
    let spud = Spud::open(SpudOptions {
        home: Some(h.path().to_path_buf()),
        policy: Some(policy),
        principal: Some("root".into()),
    })
    .unwrap();
    spud.add(&guest("hostile"), None, Some(&sidecar("hostile")))
        .await
        .unwrap();
    Arc::new(spud)
}

/// Runs the plan text; its report and every trace line of the root run.
pub async fn run(spud: Arc<Spud>, plan: &str) -> (RunReport, Vec<TraceLine>) {
    run_traced(spud, Plan::parse(plan, "plan.toml").unwrap()).await
}

/// Runs `plan`; its report and every trace line of the root run.
pub async fn run_traced(spud: Arc<Spud>, plan: Plan) -> (RunReport, Vec<TraceLine>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let s = seen.clone();
    let report = run_plan(spud, plan, move |l| s.lock().unwrap().push(l.clone()))
        .await
        .unwrap();
    let lines = seen.lock().unwrap().clone();
    (report, lines)
}

/// A sub-agent step `id` at `priority`; `body` is more of its `[steps.agent]` table.
pub fn agent_step(id: &str, priority: i64, body: &str) -> String {
    format!(
        "[[steps]]\nid = \"{id}\"\n[steps.agent]\ngoal = \"{id}\"\npriority = {priority}\n{body}\n"
    )
}
