//! Single tool calls on the cluster: `spud call --nats` gives the local result and lands as one
//! audit record in the chain of the worker that made it; a call the policy denies comes back as
//! the same denial; `spud serve --nats` answers an MCP `tools/call` through a worker.

use super::{records, spud, verify, Env, ACK_WAIT_MS};
use serde_json::{json, Value};
use spud_tests::spud_bin;
use spud_tests::stdio_mcp::StdioMcp;
use std::path::Path;
use std::process::Output;
use std::time::Duration;

/// The cluster flags of every submitting command here.
fn nats_flags(url: &str) -> Vec<&str> {
    vec![
        "--nats",
        url,
        "--replicas",
        "3",
        "--ack-wait-ms",
        ACK_WAIT_MS,
    ]
}

/// `spud call TOOL ARGS --json` from `home`, on the cluster when `url` is given: the exit code
/// and the printed report.
fn call(home: &Path, tool: &str, args: &Value, url: Option<&str>) -> (i32, Value, Output) {
    let text = args.to_string();
    let mut argv = vec!["call", tool, text.as_str(), "--json"];
    if let Some(u) = url {
        argv.extend(nats_flags(u));
    }
    let out = spud(home, &argv);
    let report = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    (out.status.code().unwrap_or(-1), report, out)
}

/// Calls of `tool` recorded in each worker's own log: (worker, count).
fn calls_of(env: &Env, tool: &str) -> Vec<(String, usize)> {
    env.workers
        .iter()
        .map(|w| {
            let n = records(&w.home)
                .iter()
                .filter(|r| r["event"]["kind"] == "call" && r["event"]["tool"] == tool)
                .count();
            (w.name.clone(), n)
        })
        .collect()
}

/// Which workers gained calls of `tool` between `before` and `after`, and how many.
fn gained(before: &[(String, usize)], after: &[(String, usize)]) -> Vec<(String, usize)> {
    before
        .iter()
        .zip(after)
        .filter(|(b, a)| a.1 > b.1)
        .map(|(b, a)| (a.0.clone(), a.1 - b.1))
        .collect()
}

pub(super) fn a_tool_call_gives_the_local_result_and_one_record_on_its_worker(env: &Env) {
    let url = env.cluster.url();
    let args = json!({ "s": "through the cluster" });
    let (code, local, out) = call(&env.submitter, "hostile.echo", &args, None);
    assert_eq!(code, 0, "{}", String::from_utf8_lossy(&out.stderr));
    let before = calls_of(env, "hostile.echo");
    let (code, remote, out) = call(&env.submitter, "hostile.echo", &args, Some(&url));
    assert_eq!(code, 0, "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(remote["outcome"], "ok", "{remote}");
    assert_eq!(remote["value"], local["value"], "{remote}");
    assert_eq!(remote["value"], "through the cluster");
    assert_eq!(remote["possibly_repeated"], false);
    // Exactly one record, in the chain of the worker that answered.
    let worker = remote["worker"].as_str().unwrap_or_default().to_string();
    let landed = gained(&before, &calls_of(env, "hostile.echo"));
    assert_eq!(landed, vec![(worker.clone(), 1)], "{remote}");
    let w = env.workers.iter().find(|w| w.name == worker).unwrap();
    let record = records(&w.home)
        .into_iter()
        .rev()
        .find(|r| r["event"]["kind"] == "call")
        .unwrap();
    assert_eq!(record["event"]["principal"], "cli", "{record}");
    assert_eq!(record["event"]["outcome"], "ok", "{record}");
    assert_eq!(record["event"]["policy_sha256"], remote["policy_sha256"]);
    // The record reached the cluster's audit stream before the task was acked.
    let out = std::process::Command::new(spud_bin())
        .args(["audit", "verify", "--nats", &url, "--json"])
        .output()
        .unwrap();
    let chains: Value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    let chain = chains
        .as_array()
        .and_then(|c| c.iter().find(|c| c["worker"] == worker.as_str()))
        .cloned()
        .unwrap_or(Value::Null);
    assert_eq!(
        chain["records"].as_u64(),
        Some(records(&w.home).len() as u64),
        "{chains}"
    );
    assert_eq!(verify(&url), 0);
}

pub(super) fn a_denied_call_comes_back_as_the_local_denial(env: &Env) {
    let url = env.cluster.url();
    // The policy grants the component no network: the request is denied, naming the grant.
    let args = json!({ "url": "http://127.0.0.1:9/" });
    let (local_code, local, _) = call(&env.submitter, "hostile.http-get", &args, None);
    let (code, remote, out) = call(&env.submitter, "hostile.http-get", &args, Some(&url));
    assert_eq!(local_code, 3, "{local}");
    assert_eq!(code, 3, "{remote} {}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(remote["outcome"], "denied", "{remote}");
    assert_eq!(remote["denial"], local["denial"], "{remote}");
    assert!(remote["worker"].is_string(), "{remote}");
    // Without --json: the same sentence on stderr.
    let text = args.to_string();
    let plain = |extra: &[&str]| {
        let mut argv = vec!["call", "hostile.http-get", text.as_str()];
        argv.extend(extra);
        String::from_utf8_lossy(&spud(&env.submitter, &argv).stderr).to_string()
    };
    let local_text = plain(&[]);
    assert!(local_text.contains("denied"), "{local_text}");
    assert_eq!(plain(&nats_flags(&url)), local_text);
    // A tool nobody registered is refused here, before the cluster, as locally.
    let (code, _, out) = call(&env.submitter, "hostile.nope", &json!({}), Some(&url));
    let (local_code, _, local_out) = call(&env.submitter, "hostile.nope", &json!({}), None);
    assert_eq!((code, out.stderr), (local_code, local_out.stderr));
}

pub(super) fn serve_nats_answers_tools_call_through_a_worker(env: &Env) {
    let url = env.cluster.url();
    let home = &env.submitter;
    let mine = |tool: &str| {
        records(home)
            .iter()
            .filter(|r| r["event"]["kind"] == "call" && r["event"]["tool"] == tool)
            .count()
    };
    let (here, before) = (mine("hostile.echo"), calls_of(env, "hostile.echo"));
    let mcp = StdioMcp::start_with(
        &spud_bin(),
        home,
        &home.join("policy.toml"),
        &nats_flags(&url),
    );
    let listed = mcp
        .request("tools/list", json!({}))
        .recv_timeout(Duration::from_secs(60))
        .expect("tools/list answered");
    let names: Vec<&str> = listed.response["result"]["tools"]
        .as_array()
        .map(|t| t.iter().filter_map(|t| t["name"].as_str()).collect())
        .unwrap_or_default();
    assert!(names.contains(&"hostile.echo"), "{names:?}");
    let answer = mcp
        .call_wait(
            "hostile.echo",
            json!({ "s": "over mcp" }),
            Duration::from_secs(120),
        )
        .expect("tools/call answered");
    assert!(!answer.is_error(), "{}", answer.response);
    assert_eq!(answer.text(), "over mcp", "{}", answer.response);
    // A denial comes back as the tool error a local server gives.
    let denied = mcp
        .call_wait(
            "hostile.http-get",
            json!({ "url": "http://127.0.0.1:9/" }),
            Duration::from_secs(120),
        )
        .expect("tools/call answered");
    assert!(denied.is_error(), "{}", denied.response);
    assert!(denied.text().starts_with("denied:"), "{}", denied.response);
    run_agent_hands_its_sub_agents_to_the_workers(env, &mcp);
    mcp.kill();
    a_refusal_on_the_worker_comes_back_typed(env);
    // Made by a worker: one record there (three with run_agent's sub-agents), none here.
    let landed = gained(&before, &calls_of(env, "hostile.echo"));
    assert_eq!(
        landed.iter().map(|(_, n)| n).sum::<usize>(),
        3,
        "{landed:?}"
    );
    assert_eq!(mine("hostile.echo"), here);
}

/// A principal this host lets call `hostile.echo` but the workers' policies do not: the
/// worker's `Spud` refuses the call before any sandbox (recorded in its chain), and the
/// refusal comes back as the same typed error, with its message, that a local host gives.
fn a_refusal_on_the_worker_comes_back_typed(env: &Env) {
    let url = env.cluster.url();
    let home = &env.submitter;
    let mut flags = vec!["--principal", "ci"];
    flags.extend(nats_flags(&url));
    let mcp = StdioMcp::start_with(&spud_bin(), home, &home.join("policy.toml"), &flags);
    let answer = mcp
        .call_wait(
            "hostile.echo",
            json!({ "s": "no" }),
            Duration::from_secs(120),
        )
        .expect("tools/call answered");
    mcp.kill();
    assert!(answer.is_error(), "{}", answer.response);
    assert_eq!(
        answer.text(),
        "principal `ci` may not call `hostile.echo`: add it to `tools` under [principals.ci] in the policy",
        "{}",
        answer.response
    );
    let recorded = env.workers.iter().any(|w| {
        records(&w.home).iter().any(|r| {
            r["event"]["kind"] == "access"
                && r["event"]["action"] == "tool_denied"
                && r["event"]["principal"] == "ci"
        })
    });
    assert!(recorded, "no worker recorded the refusal");
}

/// `run_agent` on `serve --nats`: the root run is the server's, its two sub-agents run on the
/// workers (their calls recorded there as `stdio/STEP`), and the report has their results.
fn run_agent_hands_its_sub_agents_to_the_workers(env: &Env, mcp: &StdioMcp) {
    let agent = |i: usize| {
        json!({"id": format!("m{i}"), "agent": {"goal": format!("part {i}"),
            "steps": [{"id": "echo", "tool": "hostile.echo", "args": {"s": format!("mcp-{i}")}}]}})
    };
    let plan = json!({"goal": "fan out over mcp", "steps": [agent(0), agent(1)]});
    let answer = mcp
        .call_wait(
            "run_agent",
            json!({ "plan": plan }),
            Duration::from_secs(120),
        )
        .expect("run_agent answered");
    assert!(!answer.is_error(), "{}", answer.response);
    let report: Value = serde_json::from_str(answer.text()).unwrap_or(Value::Null);
    for i in 0..2 {
        assert_eq!(
            report["results"][format!("m{i}")]["results"]["echo"],
            format!("mcp-{i}"),
            "{report}"
        );
    }
    for i in 0..2 {
        let principal = format!("stdio/m{i}");
        let on_workers = env.workers.iter().any(|w| {
            records(&w.home).iter().any(|r| {
                r["event"]["kind"] == "call" && r["event"]["principal"] == principal.as_str()
            })
        });
        assert!(on_workers, "{principal}'s call is not in a worker's log");
    }
}
