//! Sub-agents with the real sandbox: parallelism proven by a barrier, priority order, narrowing
//! permissions, budget shares, deadlines, and the run's figures.

use serde_json::json;
use spud::agent::run_plan;
use spud::agent::{run_goal, GoalOptions};
use spud::plan::{Plan, ReviseWhen, RunStatus, TraceEvent};
use spud::{Spud, SpudOptions};
use spud_tests::subagents::{agent_step, run, spud, spud_with};
use spud_tests::{guest, home, write_policy, ScriptedModel, TestServer};
use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// An HTTP server on 127.0.0.1 that answers no request until `n` are waiting, then all with
/// 200; if they do not all arrive within 30 s, with 504.
fn barrier(n: usize) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    listener.set_nonblocking(true).unwrap();
    std::thread::spawn(move || {
        let mut waiting = Vec::new();
        let until = std::time::Instant::now() + Duration::from_secs(30);
        while waiting.len() < n && std::time::Instant::now() < until {
            match listener.accept() {
                Ok((mut s, _)) => {
                    s.set_nonblocking(false).unwrap();
                    let mut buf = [0u8; 4096];
                    let _ = s.read(&mut buf);
                    waiting.push(s);
                }
                Err(_) => std::thread::sleep(Duration::from_millis(5)),
            }
        }
        let status = if waiting.len() == n {
            "200 OK"
        } else {
            "504 Gateway Timeout"
        };
        for mut s in waiting {
            let _ = write!(
                s,
                "HTTP/1.1 {status}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            );
        }
    });
    port
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_sub_agents_run_at_once() {
    let port = barrier(20);
    let h = home();
    let spud = spud(&h, port).await;
    let mut plan = "goal = \"twenty at once\"\n".to_string();
    for i in 0..20 {
        plan += &agent_step(
            &format!("a{i}"),
            0,
            &format!("steps = [{{ id = \"get\", tool = \"hostile.http-get\", args = {{ url = \"http://127.0.0.1:{port}/\" }}, expect = {{ contains = \"200\" }} }}]"),
        );
    }
    let (report, _) = run(spud, &plan).await;
    assert_eq!(report.status, RunStatus::Done, "{:?}", report.failed);
    assert_eq!(report.subagents.len(), 20);
    assert_eq!(report.figures.peak_parallel, 20);
    assert_eq!(report.steps, 20, "the children's calls count in the root's");
    for i in 0..20 {
        assert_eq!(report.results[&format!("a{i}")]["results"]["get"], 200);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_parallelism_one_sub_agents_start_in_priority_order() {
    let h = home();
    let spud = spud(&h, 1).await;
    let mut plan = "goal = \"in order\"\n[agents]\nmax_parallel = 1\n".to_string();
    for (id, p) in [
        ("p1", 1),
        ("p5", 5),
        ("p3", 3),
        ("p4", 4),
        ("p2", 2),
        ("p5b", 5),
    ] {
        plan += &agent_step(
            id,
            p,
            "steps = [{ id = \"e\", tool = \"hostile.echo\", args = { s = \"x\" } }]",
        );
    }
    let (report, lines) = run(spud, &plan).await;
    assert_eq!(report.status, RunStatus::Done, "{:?}", report.failed);
    let order: Vec<&str> = lines
        .iter()
        .filter_map(|l| match &l.event {
            TraceEvent::SubAgentStarted { step, .. } => Some(step.as_str()),
            _ => None,
        })
        .collect();
    // Highest first; equal priorities first-come (plan order).
    assert_eq!(order, ["p5", "p5b", "p4", "p3", "p2", "p1"]);
    assert_eq!(report.figures.peak_parallel, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_child_asking_for_more_than_its_parent_is_refused_and_counted() {
    let h = home();
    let spud = spud(&h, 1).await;
    let plan = [
        "goal = \"narrowing\"\n".to_string(),
        // Narrower: read-only /data and one port of the parent's network grant.
        agent_step("narrow", 0, "tools = [\"hostile.echo\", \"hostile.read-file\"]\nsteps = [{ id = \"e\", tool = \"hostile.echo\", args = { s = \"ok\" } }]\n[steps.agent.grants.hostile]\nfiles = [{ guest = \"/data\", access = \"read-only\" }]\nnetwork = [\"http://127.0.0.1:1\"]"),
        // Wider: read-write /data (the parent has read-only) and another host.
        agent_step("wider", 0, "steps = [{ id = \"e\", tool = \"hostile.echo\", args = { s = \"no\" } }]\n[steps.agent.grants.hostile]\nfiles = [{ guest = \"/data\", access = \"read-write\" }]\nnetwork = [\"https://example.com\"]"),
        // A child that may not call a tool tries it: denied by its scope.
        agent_step("scoped", 0, "tools = [\"hostile.echo\"]\nsteps = [{ id = \"r\", tool = \"hostile.read-file\", args = { path = \"/data/x\" } }]"),
        // Higher limits than the parent's grant, and more calls than the parent's whole budget.
        agent_step("greedy", 0, "budget = { max_steps = 1000 }\nsteps = [{ id = \"e\", tool = \"hostile.echo\", args = { s = \"no\" } }]\n[steps.agent.grants.hostile]\nlimits = { fuel = 200_000_000_000 }"),
    ]
    .concat();
    let (report, lines) = run(spud.clone(), &plan).await;
    assert_eq!(report.status, RunStatus::Failed);
    assert_eq!(report.results["narrow"]["results"]["e"], "ok");
    let why = &report.failed["wider"];
    assert!(
        why.contains("read-write access to /data") && why.contains("https://example.com"),
        "{why}"
    );
    assert!(lines.iter().any(|l| matches!(&l.event, TraceEvent::SubAgentDenied { step, missing } if step == "wider" && missing.len() == 2)));
    assert!(report.failed.contains_key("scoped"), "{:?}", report.failed);
    let why = &report.failed["greedy"];
    assert!(
        why.contains("limit fuel = 200000000000 (at most 100000000000 is held)")
            && why.contains("budget max_steps = 1000 (the parent's whole budget is 50)"),
        "{why}"
    );
    assert_eq!(report.figures.refused_subagents, 2);
    // The scoped child's refused call is a denied call, its own and the tree's, and audited.
    let scoped = report
        .subagents
        .iter()
        .find(|r| r.step == "scoped")
        .unwrap();
    assert_eq!(scoped.denied_calls, 1);
    let mine = report
        .figures
        .per_subagent
        .iter()
        .find(|f| f.run == scoped.run)
        .unwrap();
    // (0 refused items + 1 denied call) ÷ (1 tool pattern + 1 call)
    assert_eq!(mine.permission_violation_rate, 0.5);
    assert_eq!(mine.compliance_rate, 0.5);
    assert!(report.figures.permission_violation_rate > 0.0);
    assert!(report.figures.compliance_rate < 1.0);
    // The violation is in the audit log, under the parent's principal.
    let audit = std::fs::read_to_string(h.path().join("audit/audit.jsonl")).unwrap();
    let violation = audit
        .lines()
        .find(|l| l.contains("permission_violation") && l.contains(".wider"))
        .expect("a permission_violation record");
    assert!(
        violation.contains("read-write access to /data"),
        "{violation}"
    );
    assert!(
        audit
            .lines()
            .any(|l| l.contains("tool_denied") && l.contains("hostile.read-file")),
        "the scoped call is audited"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_child_exhausting_its_budget_does_not_sink_its_siblings() {
    let h = home();
    let spud = spud(&h, 1).await;
    let echo = |n: usize| {
        let steps: Vec<String> = (0..n)
            .map(|i| {
                let after = if i == 0 {
                    String::new()
                } else {
                    format!(", after = [\"s{}\"]", i - 1)
                };
                format!(
                    "{{ id = \"s{i}\", tool = \"hostile.echo\", args = {{ s = \"{i}\" }}{after} }}"
                )
            })
            .collect();
        format!("steps = [{}]", steps.join(", "))
    };
    let plan = [
        "goal = \"budgets\"\n[budget]\nmax_steps = 10\n".to_string(),
        agent_step("greedy", 0, &echo(8)),
        agent_step("modest", 0, &echo(2)),
        "[[steps]]\nid = \"last\"\nafter = [\"modest\"]\ntool = \"hostile.echo\"\nargs = { s = \"done\" }\n".into(),
    ]
    .concat();
    let (report, _) = run(spud, &plan).await;
    // Equal split in three (two sub-agents, and the root keeps a share for its own `last`):
    // 3 calls each. The greedy child stops at 3; its sibling finishes with 2 and the 1 it left
    // comes back to the root, which spends 1 on `last`.
    assert!(
        report.failed["greedy"].contains("BudgetExhausted"),
        "{:?}",
        report.failed
    );
    assert_eq!(report.results["modest"]["results"]["s1"], "1");
    assert_eq!(report.results["last"], "done");
    assert_eq!(report.steps, 3 + 2 + 1);
    let by = |step: &str| report.subagents.iter().find(|r| r.step == step).unwrap();
    assert_eq!(
        (
            by("greedy").allocated.max_steps,
            by("greedy").used.max_steps
        ),
        (3, 3)
    );
    assert_eq!(
        (
            by("modest").allocated.max_steps,
            by("modest").used.max_steps
        ),
        (3, 2)
    );
    assert_eq!(report.figures.allocation_efficiency.steps, Some(5.0 / 6.0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hung_child_hits_its_deadline_and_the_parent_backtracks() {
    let h = home();
    let spud = spud(&h, 1).await;
    let plan = [
        "goal = \"deadline\"\n".to_string(),
        agent_step(
            "stuck",
            0,
            "deadline_ms = 400\nsteps = [{ id = \"spin\", tool = \"hostile.spin-forever\" }]",
        ),
        "[[steps.alternatives]]\ntool = \"hostile.echo\"\nargs = { s = \"fallback\" }\n".into(),
    ]
    .concat();
    let started = std::time::Instant::now();
    let (report, lines) = run(spud, &plan).await;
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "nothing hangs the run"
    );
    assert_eq!(report.status, RunStatus::Done, "{:?}", report.failed);
    assert_eq!(report.results["stuck"], "fallback");
    assert!(lines.iter().any(|l| matches!(&l.event, TraceEvent::StepBlocked { step, reason } if step == "stuck" && reason.contains("deadline"))));
    assert_eq!(report.backtracks, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nested_sub_agents_do_not_deadlock_and_depth_is_limited() {
    let h = home();
    let spud = spud(&h, 1).await;
    let inner = "steps = [{ id = \"e\", tool = \"hostile.echo\", args = { s = \"deep\" } }]";
    let plan = format!(
        "goal = \"nest\"\n[agents]\nmax_parallel = 1\nmax_depth = 2\n[[steps]]\nid = \"outer\"\n[steps.agent]\ngoal = \"outer\"\nsteps = [{{ id = \"mid\", agent = {{ goal = \"mid\", {inner} }} }}, {{ id = \"too-deep\", agent = {{ goal = \"x\", steps = [{{ id = \"d\", agent = {{ goal = \"y\", {inner} }} }}] }} }}]\n"
    );
    let (report, _) = run(spud, &plan).await;
    // outer → mid ran with one slot (outer gave its slot back while waiting); the third level
    // is refused.
    let outer = &report.subagents.iter().find(|r| r.step == "outer").unwrap();
    assert_eq!(outer.status, Some(RunStatus::Failed));
    let mid = report.subagents.iter().find(|r| r.step == "mid").unwrap();
    assert_eq!(mid.status, Some(RunStatus::Done));
    assert!(
        report.failed["outer"].contains("nest 2 deep"),
        "{:?}",
        report.failed
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hung_child_hits_its_deadline_and_the_model_re_plans() {
    let h = home();
    let spud = spud(&h, 1).await;
    let plan = json!({"steps": [{"id": "stuck", "agent": {"goal": "spin", "deadline_ms": 400,
        "steps": [{"id": "spin", "tool": "hostile.spin-forever"}]}}]});
    let revision = json!({"revise": true, "reason": "the sub-agent hung; answer directly",
        "steps": [{"id": "direct", "tool": "hostile.echo", "args": {"s": "re-planned"}}]});
    let model = ScriptedModel::start(vec![
        (
            200,
            vec![],
            ScriptedModel::chat_call("plan", &plan, 100, 50),
        ),
        (
            200,
            vec![],
            ScriptedModel::chat_call("revision", &revision, 200, 40),
        ),
    ]);
    let provider = model.provider();
    let options = GoalOptions {
        max_replans: 0,
        max_retries: 0,
        revise: ReviseWhen::OnSurprise,
        ..GoalOptions::default()
    };
    let started = std::time::Instant::now();
    let report = run_goal(spud, provider, "say something", options, |_| {})
        .await
        .unwrap();
    assert!(started.elapsed() < Duration::from_secs(10));
    assert_eq!(report.status, RunStatus::Done, "{:?}", report.runs);
    let run = &report.runs[0];
    assert!(run.failed["stuck"].contains("deadline"), "{:?}", run.failed);
    assert!(run.superseded.contains("stuck"));
    assert_eq!(run.results["direct"], "re-planned");
    // The model was told the sub-agent missed its deadline.
    let asked = model.requests.lock().unwrap()[1].body.to_string();
    assert!(asked.contains("deadline"), "{asked}");
}

/// Approves what its list allows and remembers every request.
struct ListApprover(Vec<String>, Mutex<Vec<String>>);

#[async_trait::async_trait]
impl spud::orchestrator::approval::Approver for ListApprover {
    async fn approve(&self, r: &spud::orchestrator::approval::ApprovalRequest) -> bool {
        self.1.lock().unwrap().push(r.to_string());
        self.0.iter().any(|s| r.sub_agent.ends_with(s.as_str()))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sub_agents_using_a_plugin_marked_for_approval_wait_for_it() {
    let h = home();
    let spud = spud_with(&h, "[tools.hostile]\napproval = true\n").await;
    let text = [
        "goal = \"approval\"\n".to_string(),
        agent_step(
            "yes",
            0,
            "steps = [{ id = \"e\", tool = \"hostile.echo\", args = { s = \"approved\" } }]",
        ),
        agent_step(
            "no",
            0,
            "steps = [{ id = \"e\", tool = \"hostile.echo\", args = { s = \"x\" } }]",
        ),
    ]
    .concat();
    let plan = Plan::parse(&text, "plan.toml").unwrap();

    // Nobody to ask (not interactive): both refused, recorded, counted.
    let report = run_plan(spud.clone(), plan.clone(), |_| {}).await.unwrap();
    assert!(
        report.failed["yes"].contains("not interactive"),
        "{:?}",
        report.failed
    );
    assert_eq!(report.figures.refused_subagents, 2);

    // An approver that says yes to one of them.
    let approver = Arc::new(ListApprover(vec![".yes".into()], Mutex::new(Vec::new())));
    let options = spud::agent::RunOptions {
        approver: Some(approver.clone()),
        ..Default::default()
    };
    let report = spud::agent::run_with(spud, plan, options, |_| {})
        .await
        .unwrap();
    assert_eq!(report.results["yes"]["results"]["e"], "approved");
    assert!(
        report.failed["no"].contains("denied at the terminal"),
        "{:?}",
        report.failed
    );
    let asked = approver.1.lock().unwrap().clone();
    assert_eq!(asked.len(), 2);
    assert!(
        asked.iter().all(|a| a.contains("may use hostile")),
        "{asked:?}"
    );
    let audit = std::fs::read_to_string(h.path().join("audit/audit.jsonl")).unwrap();
    assert_eq!(audit.matches("approval_denied").count(), 3);
    assert_eq!(audit.matches("approval_granted").count(), 1);
}

/// spud with the first-party http plugin granted two loopback servers, a registered secret
/// (`API_TOKEN`, allowed only to `allowed`), a secret file allowed nowhere and a secret
/// pattern; `on_leak` as given.
async fn leaky_spud(h: &tempfile::TempDir, allowed: u16, other: u16, on_leak: &str) -> Arc<Spud> {
    std::fs::write(h.path().join("deploy.key"), "key-file-contents-77\n").unwrap();
    let policy = write_policy(
        h.path(),
        &format!(
            r#"
[secrets]
patterns = ["sk-live-[a-z0-9]{{12}}"]
files = ["deploy.key"]
on_leak = "{on_leak}"
max_scan_bytes = 4096
[secrets.allow]
API_TOKEN = ["http://127.0.0.1:{allowed}"]

[tools.http]
network = ["http://127.0.0.1:{allowed}", "http://127.0.0.1:{other}"]
env = ["API_TOKEN=tok-0123456789"]
"#
        ),
    );
    let spud = Spud::open(SpudOptions {
        home: Some(h.path().join("home")),
        policy: Some(policy),
        principal: Some("root".into()),
    })
    .unwrap();
    spud.add(&guest("http"), None, None).await.unwrap();
    Arc::new(spud)
}

/// A sub-agent sends the registered token to the host allowed for it, to another granted host,
/// and a pattern secret in a body; the root has the allowed host echo the token back, sends
/// the secret file's contents there, and a body too large to scan.
fn leak_plan(allowed: u16, other: u16) -> String {
    format!(
        r#"
goal = "call out with a token"
[budget]
max_steps = 10
max_wall_ms = 30000
[critic]
max_retries = 0
[[steps]]
id = "calls"
[steps.agent]
goal = "make the calls"
tools = ["http.fetch"]
budget = {{ max_steps = 4 }}
[[steps.agent.steps]]
id = "good"
tool = "http.fetch"
args = {{ url = "http://127.0.0.1:{allowed}/hello", headers = {{ authorization = "Bearer tok-0123456789" }} }}
[[steps.agent.steps]]
id = "bad"
tool = "http.fetch"
args = {{ url = "http://127.0.0.1:{other}/collect?t=tok-0123456789" }}
[[steps.agent.steps]]
id = "pattern"
tool = "http.fetch"
args = {{ url = "http://127.0.0.1:{allowed}/hello", method = "POST", body = "key sk-live-abcdef012345" }}
[[steps]]
id = "echo"
tool = "http.fetch"
args = {{ url = "http://127.0.0.1:{allowed}/echo", method = "POST", body = "token tok-0123456789" }}
[[steps]]
id = "keyfile"
tool = "http.fetch"
args = {{ url = "http://127.0.0.1:{allowed}/hello", headers = {{ x-key = "key-file-contents-77" }} }}
[[steps]]
id = "large"
tool = "http.fetch"
args = {{ url = "http://127.0.0.1:{allowed}/hello", method = "POST", body = "{large}" }}
"#,
        large = "x".repeat(5000)
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_secret_sent_where_it_may_not_go_is_blocked_and_counted() {
    let h = home();
    let (allowed, other) = (TestServer::start(), TestServer::start());
    let (a, o) = (allowed.addr.port(), other.addr.port());
    let spud = leaky_spud(&h, a, o, "block").await;
    let (report, lines) = run(spud.clone(), &leak_plan(a, o)).await;

    // The allowed destination still works and got the token; the other host got nothing, and
    // the pattern secret never left.
    let seen = allowed.seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 2, "{seen:?}");
    assert!(
        seen.iter()
            .any(|r| r.text.contains("Bearer tok-0123456789")),
        "{seen:?}"
    );
    assert_eq!(other.hits(), 0, "the blocked request reached its host");
    assert!(seen
        .iter()
        .all(|r| !r.text.contains("sk-live-") && !r.text.contains("key-file")));

    let f = &report.figures;
    assert_eq!(f.leaks_prevented, 3, "{f:?} {:?}", report.failed);
    assert_eq!(f.outbound_transfers, 2);
    assert_eq!(f.data_leakage_rate, 0.0);
    assert_eq!(report.data.leaks_reached, 0);
    // The echoed token came back in a result: redacted before it left the run.
    assert_eq!(f.outputs_redacted, 1, "{:?}", report.results);
    let results = serde_json::to_string(&report.results).unwrap();
    assert!(!results.contains("tok-0123456789"), "{results}");
    assert!(results.contains("[REDACTED]"), "{results}");
    // A body over `max_scan_bytes` cannot be scanned, so it is refused (not a leak).
    assert!(
        report.failed["large"].contains("too large to scan"),
        "{:?}",
        report.failed
    );
    // 6 calls + 1 sub-agent; the three blocked leaks and the unscannable body are violations.
    assert_eq!(f.compliance_rate, 3.0 / 7.0);

    // The denial (in the sub-agent's trace) says which secret and what would allow it; nothing
    // stored carries the value.
    let child = report.dir.parent().unwrap().join(&report.subagents[0].run);
    let child_trace = std::fs::read_to_string(child.join("trace.jsonl")).unwrap();
    assert!(
        child_trace.contains("registered secret API_TOKEN")
            && child_trace.contains("[secrets.allow] API_TOKEN"),
        "{child_trace}"
    );
    let audit = std::fs::read_to_string(h.path().join("home/audit/audit.jsonl")).unwrap();
    assert_eq!(
        audit.matches(r#""capability":"secret""#).count(),
        4,
        "{audit}"
    );
    let root_trace = std::fs::read_to_string(report.dir.join("trace.jsonl")).unwrap();
    assert!(lines
        .iter()
        .any(|l| matches!(&l.event, TraceEvent::OutputRedacted { step } if step == "echo")));
    for stored in [audit, child_trace, root_trace] {
        assert!(
            !stored.contains("tok-0123456789"),
            "a secret was stored: {stored}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_leak_record_lets_a_leak_through_and_counts_it() {
    let h = home();
    let (allowed, other) = (TestServer::start(), TestServer::start());
    let (a, o) = (allowed.addr.port(), other.addr.port());
    let spud = leaky_spud(&h, a, o, "record").await;
    let (report, _) = run(spud, &leak_plan(a, o)).await;
    assert_eq!(other.hits(), 1);
    let f = &report.figures;
    // Three leaks reached their destination (the token to `other`, the pattern and the key
    // file to `allowed`) over five transfers.
    assert_eq!(report.data.leaks_reached, 3, "{:?}", report.data);
    assert_eq!(f.outbound_transfers, 5);
    assert_eq!(f.data_leakage_rate, 0.6);
    assert_eq!(f.leaks_prevented, 0);
    // The unscannable body is refused in either mode.
    assert!(report.failed.contains_key("large"));
    assert_eq!(f.compliance_rate, 3.0 / 7.0);
    assert_eq!(report.status, RunStatus::Failed);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_model_spawns_a_goal_only_sub_agent_and_plans_it_with_its_tools() {
    let h = home();
    let spud = spud(&h, 1).await;
    let root = json!({"steps": [{"id": "delegate", "tool": "spawn_agent",
        "args": {"goal": "say hello", "tools": ["hostile.echo"], "priority": 3}}]});
    let child = json!({"steps": [{"id": "hello", "tool": "hostile.echo", "args": {"s": "hello from the child"}}]});
    let model = ScriptedModel::start(vec![
        (
            200,
            vec![],
            ScriptedModel::chat_call("plan", &root, 100, 50),
        ),
        (
            200,
            vec![],
            ScriptedModel::chat_call("plan", &child, 70, 30),
        ),
    ]);
    let provider = model.provider();
    let options = GoalOptions {
        max_replans: 0,
        revise: ReviseWhen::Never,
        ..GoalOptions::default()
    };
    let report = run_goal(spud.clone(), provider, "greet", options, |_| {})
        .await
        .unwrap();
    assert_eq!(report.status, RunStatus::Done, "{:?}", report.runs);
    let first = &report.runs[0];
    assert_eq!(
        first.results["delegate"]["results"]["hello"],
        "hello from the child"
    );
    assert_eq!(first.subagents.len(), 1);
    assert_eq!(first.subagents[0].priority, 3);
    // The child's planning was charged to it, and the model saw only the child's tools.
    assert_eq!(first.subagents[0].used.max_tokens, 100);
    let asked = model.requests.lock().unwrap()[1].body.to_string();
    assert!(
        asked.contains("hostile.echo") && !asked.contains("hostile.spin-forever"),
        "{asked}"
    );
    assert_eq!(report.usage.input_tokens + report.usage.output_tokens, 250);

    // Without a model, a goal-only sub-agent fails with a reason, and nothing hangs.
    let (report, _) = run(
        spud,
        "goal = \"g\"\n[[steps]]\nid = \"d\"\ntool = \"spawn_agent\"\nargs = { goal = \"anything\" }\n",
    )
    .await;
    assert_eq!(report.status, RunStatus::Failed);
    assert!(
        report.failed["d"].contains("no model"),
        "{:?}",
        report.failed
    );
}
