//! A sub-agent's narrowed grant holds at call time: a child that asked for less than its parent
//! holds is refused what it did not ask for when it tries, and a child never inherits raw
//! sockets or DNS, also for a plugin its scope does not list.

use serde_json::Value;
use spud::plan::RunStatus;
use spud::{Spud, SpudOptions};
use spud_tests::subagents::{agent_step, run};
use spud_tests::{guest, home, workspace, write_policy};
use std::net::TcpListener;
use std::sync::Arc;

/// spud with the hostile component under `policy`, its manifest also requesting raw TCP to
/// 127.0.0.1 and DNS (the shipped one requests neither, so no policy could grant them).
async fn spud_with_sockets(h: &tempfile::TempDir, policy: &str) -> Arc<Spud> {
    std::fs::create_dir_all(h.path().join("data")).unwrap();
    let wit = workspace().join("tests/components/hostile/wit");
    let sidecar = h.path().join("hostile.spud.toml");
    std::fs::write(
        &sidecar,
        format!(
            r#"name = "hostile"
description = "hostile, asking for sockets"
wit = {wit:?}

[requests]
files = [{{ guest = "/data", access = "read-write", why = "scratch space" }}]
network = ["http://127.0.0.1:*"]

[requests.sockets]
tcp_connect = ["127.0.0.1:*"]
dns = true
"#,
            wit = wit.display().to_string()
        ),
    )
    .unwrap();
    let policy = write_policy(h.path(), policy);
    let spud = Spud::open(SpudOptions {
        home: Some(h.path().to_path_buf()),
        policy: Some(policy),
        principal: Some("root".into()),
    })
    .unwrap();
    spud.add(&guest("hostile"), None, Some(&sidecar))
        .await
        .unwrap();
    Arc::new(spud)
}

/// Every `call` record of the audit log, as JSON.
fn calls(h: &tempfile::TempDir) -> Vec<Value> {
    let audit = std::fs::read_to_string(h.path().join("audit/audit.jsonl")).unwrap();
    audit
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|r| r.to_string().contains("\"call_id\"") && r.to_string().contains("\"outcome\""))
        .collect()
}

/// The call record of `tool` whose principal ends with `who`, as text.
fn call_of(h: &tempfile::TempDir, tool: &str, who: &str) -> String {
    calls(h)
        .into_iter()
        .map(|r| r.to_string())
        .find(|r| r.contains(&format!("\"tool\":\"{tool}\"")) && r.contains(who))
        .unwrap_or_else(|| panic!("no call record of {tool} by {who}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_child_that_asked_for_read_only_cannot_write_where_its_parent_can() {
    let h = home();
    let spud = spud_with_sockets(
        &h,
        r#"
[tools.hostile]
files = [{ host = "data", guest = "/data", access = "read-write" }]
"#,
    )
    .await;
    let plan = [
        "goal = \"narrow at call time\"\n".to_string(),
        // The parent holds read-write /data and uses it.
        "[[steps]]\nid = \"mine\"\ntool = \"hostile.write-file\"\nargs = { path = \"/data/parent.txt\", content = \"p\" }\n".into(),
        // The child asks for read-only /data, which is admitted, then tries to write there.
        agent_step(
            "reader",
            0,
            "tools = [\"hostile.*\"]\nsteps = [{ id = \"w\", tool = \"hostile.write-file\", args = { path = \"/data/child.txt\", content = \"c\" } }]\n[steps.agent.grants.hostile]\nfiles = [{ guest = \"/data\", access = \"read-only\" }]",
        ),
    ]
    .concat();
    let (report, _) = run(spud, &plan).await;
    assert_eq!(report.status, RunStatus::Failed, "{:?}", report.failed);
    assert_eq!(report.results["mine"], 1, "the parent may write");
    assert!(h.path().join("data/parent.txt").exists());
    assert!(
        !h.path().join("data/child.txt").exists(),
        "the read-only child wrote where its parent may"
    );
    assert!(report.failed.contains_key("reader"), "{:?}", report.failed);
    assert_eq!(
        report.figures.refused_subagents, 0,
        "the child was admitted: it asked for less than its parent holds"
    );
    let child = report
        .subagents
        .iter()
        .find(|r| r.step == "reader")
        .unwrap();
    assert_eq!(child.denied_calls, 1);
    let record = call_of(&h, "hostile.write-file", "reader");
    assert!(record.contains("\"outcome\":\"denied\""), "{record}");
    let parent = call_of(&h, "hostile.write-file", "\"principal\":\"root\"");
    assert!(parent.contains("\"outcome\":\"ok\""), "{parent}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn raw_sockets_and_dns_are_never_passed_to_a_sub_agent() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let h = home();
    let spud = spud_with_sockets(
        &h,
        &format!(
            r#"
[tools.hostile]
files = [{{ host = "data", guest = "/data", access = "read-write" }}]
sockets = {{ tcp_connect = ["127.0.0.1:{port}"], dns = true }}
"#
        ),
    )
    .await;
    let connect = format!(
        "{{ id = \"tcp\", tool = \"hostile.tcp-connect\", args = {{ addr = \"127.0.0.1:{port}\" }} }}"
    );
    let dns = "{ id = \"dns\", tool = \"hostile.dns-lookup\", args = { name = \"localhost\" } }";
    let plan = [
        "goal = \"sockets stay with the parent\"\n".to_string(),
        // The parent holds the socket grant and uses it.
        format!("[[steps]]\nid = \"mine\"\ntool = \"hostile.tcp-connect\"\nargs = {{ addr = \"127.0.0.1:{port}\" }}\n"),
        // Children that do not list the plugin (so keep the rest of the parent's grant), one
        // trying a raw TCP connection, one a DNS lookup.
        agent_step("tcp-child", 0, &format!("steps = [{connect}]")),
        agent_step("dns-child", 0, &format!("steps = [{dns}]")),
        // Listing the plugin gives no sockets either.
        agent_step(
            "listed-child",
            0,
            &format!("steps = [{connect}]\n[steps.agent.grants.hostile]\nfiles = [{{ guest = \"/data\", access = \"read-only\" }}]"),
        ),
    ]
    .concat();
    let (report, _) = run(spud, &plan).await;
    assert_eq!(report.status, RunStatus::Failed, "{:?}", report.failed);
    assert!(!report.failed.contains_key("mine"), "{:?}", report.failed);
    for child in ["tcp-child", "dns-child", "listed-child"] {
        assert!(report.failed.contains_key(child), "{:?}", report.failed);
    }
    let tcp = call_of(&h, "hostile.tcp-connect", "tcp-child");
    assert!(tcp.contains("\"outcome\":\"denied\""), "{tcp}");
    assert!(
        tcp.contains("tcp_connect"),
        "the denial names the grant: {tcp}"
    );
    let tcp = call_of(&h, "hostile.tcp-connect", "listed-child");
    assert!(tcp.contains("\"outcome\":\"denied\""), "{tcp}");
    let dns = call_of(&h, "hostile.dns-lookup", "dns-child");
    assert!(dns.contains("\"outcome\":\"denied\""), "{dns}");
    let parent = call_of(&h, "hostile.tcp-connect", "\"principal\":\"root\"");
    assert!(parent.contains("\"outcome\":\"ok\""), "{parent}");
    drop(listener);
}
