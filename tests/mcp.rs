//! `spud serve` driven by a real MCP client: the official MCP Python SDK (`mcp`, installed into
//! `<target>/py-mcp` by `scripts/setup.sh`), running the scenarios in `tests/mcp/scenarios.py`
//! over stdio (the SDK launches `spud serve`) and over Streamable HTTP (a server started here on
//! 127.0.0.1, port 0). Both protocol eras the SDK speaks are covered: `legacy` (the
//! `initialize` handshake, 2025-11-25) and `auto` (discovery, 2026-07-28).

use serde_json::Value;
use spud_tests::{
    guest, home, sidecar, spud_bin, target_dir, workspace, write_policy, ScriptedModel,
};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

const MODES: [&str; 2] = ["legacy", "auto"];

const POLICY: &str = r#"
[tools.hostile]
files = [{ host = "data", guest = "/data", access = "read-only" }]
limits = { fuel = 1_000_000_000_000, timeout_ms = 20000, memory_mb = 32 }

[principals.alice]
token_env = "SPUD_TEST_TOKEN_ALICE"
tools = ["hostile.*", "typed.*", "run_agent"]
max_concurrent = 64

[principals.carol]
token_env = "SPUD_TEST_TOKEN_CAROL"
tools = ["hostile.echo"]
max_concurrent = 64

[principals.dave]
token_env = "SPUD_TEST_TOKEN_DAVE"
tools = ["hostile.echo"]
rate_per_minute = 1
burst = 6

[principals.erin]
token_env = "SPUD_TEST_TOKEN_ERIN"
tools = ["hostile.echo", "run_agent"]

[principals.slow]
token_env = "SPUD_TEST_TOKEN_SLOW"
tools = ["hostile.*"]
max_concurrent = 1
[principals.slow.grants.hostile]
limits = { timeout_ms = 1500 }
"#;

const TOKENS: [(&str, &str); 5] = [
    ("SPUD_TEST_TOKEN_ERIN", "erin-token-7531"),
    ("SPUD_TEST_TOKEN_ALICE", "alice-token-0123"),
    ("SPUD_TEST_TOKEN_CAROL", "carol-token-4567"),
    ("SPUD_TEST_TOKEN_DAVE", "dave-token-89ab"),
    ("SPUD_TEST_TOKEN_SLOW", "slow-token-cdef"),
];

fn token(who: &str) -> &'static str {
    TOKENS
        .iter()
        .find(|(v, _)| v.ends_with(&who.to_uppercase()))
        .map(|(_, t)| *t)
        .expect("known principal")
}

fn python() -> PathBuf {
    let py = target_dir().join("py-mcp/bin/python");
    assert!(
        py.exists(),
        "{} is missing: run scripts/setup.sh (scripts/test.sh does), which installs the MCP Python SDK",
        py.display()
    );
    py
}

/// A home with the hostile test component registered and the test policy.
struct Fixture {
    dir: tempfile::TempDir,
    policy: PathBuf,
}

impl Fixture {
    fn new() -> Fixture {
        let dir = home();
        std::fs::create_dir_all(dir.path().join("data")).unwrap();
        std::fs::write(dir.path().join("data/notes.txt"), "hello").unwrap();
        let policy = write_policy(dir.path(), POLICY);
        let f = Fixture { dir, policy };
        let o = f.spud(&[
            "tools",
            "add",
            guest("hostile").to_str().unwrap(),
            "--manifest",
            sidecar("hostile").to_str().unwrap(),
        ]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        f
    }

    fn home(&self) -> &Path {
        self.dir.path()
    }

    fn spud(&self, args: &[&str]) -> std::process::Output {
        Command::new(spud_bin())
            .arg("--home")
            .arg(self.home())
            .arg("--policy")
            .arg(&self.policy)
            .args(args)
            .output()
            .expect("run spud")
    }

    /// `python scenarios.py NAME --spud … --home … --policy … ARGS` (stdio transport).
    fn stdio(&self, name: &str, mode: &str, args: &[&str]) -> Value {
        let mut all = vec![
            "--mode",
            mode,
            "--spud",
            spud_bin().to_str().unwrap(),
            "--home",
            self.home().to_str().unwrap(),
            "--policy",
            self.policy.to_str().unwrap(),
        ]
        .into_iter()
        .map(String::from)
        .collect::<Vec<_>>();
        all.extend(args.iter().map(|s| s.to_string()));
        scenario(name, &all)
    }

    /// `spud tools add typed.wasm` as a JSON argv (for the list_changed scenario).
    fn add_typed_cmd(&self) -> String {
        serde_json::json!([
            spud_bin(),
            "--home",
            self.home(),
            "tools",
            "add",
            guest("typed"),
            "--manifest",
            sidecar("typed")
        ])
        .to_string()
    }

    /// The audit log's records (as JSON).
    fn audit(&self) -> Vec<Value> {
        std::fs::read_to_string(self.home().join("audit/audit.jsonl"))
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    fn audit_text(&self) -> String {
        std::fs::read_to_string(self.home().join("audit/audit.jsonl")).unwrap()
    }

    fn verify_audit(&self) {
        let o = self.spud(&["audit", "verify", "--json"]);
        assert!(
            o.status.success(),
            "audit verify: {}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
    }

    fn start_http(&self, extra: &[&str]) -> Server {
        let mut cmd = Command::new(spud_bin());
        cmd.arg("--home")
            .arg(self.home())
            .arg("--policy")
            .arg(&self.policy);
        cmd.args(["serve", "--http", "127.0.0.1:0"]).args(extra);
        for (var, value) in TOKENS {
            cmd.env(var, value);
        }
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start spud serve");
        let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
        let mut url = None;
        for line in lines.by_ref() {
            let line = line.unwrap();
            if let Some(u) = line.strip_prefix("spud: serving MCP at ") {
                url = Some(u.to_string());
                break;
            }
            eprintln!("spud serve: {line}");
        }
        std::thread::spawn(move || {
            lines
                .map_while(Result::ok)
                .for_each(|l| eprintln!("spud serve: {l}"))
        });
        let url = url.expect("spud serve printed its address");
        Server { child, url }
    }
}

/// A `spud serve --http` process; killed if the test fails.
struct Server {
    child: Child,
    url: String,
}

impl Server {
    fn http(&self, name: &str, mode: &str, who: &str, args: &[&str]) -> Value {
        let mut all: Vec<String> = ["--mode", mode, "--url", &self.url, "--token", token(who)]
            .iter()
            .map(|s| s.to_string())
            .collect();
        all.extend(args.iter().map(|s| s.to_string()));
        scenario(name, &all)
    }

    fn pid(&self) -> String {
        self.child.id().to_string()
    }

    /// SIGTERM, then the exit status.
    fn stop(mut self) -> ExitStatus {
        let _ = Command::new("kill").args(["-TERM", &self.pid()]).status();
        self.wait()
    }

    fn wait(&mut self) -> ExitStatus {
        let until = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                return s;
            }
            assert!(Instant::now() < until, "spud serve did not stop");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs one Python scenario and returns the JSON it printed last.
fn scenario(name: &str, args: &[String]) -> Value {
    let mut child = Command::new(python())
        .arg(workspace().join("tests/mcp/scenarios.py"))
        .arg(name)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run python");
    let (mut out, mut err) = (child.stdout.take().unwrap(), child.stderr.take().unwrap());
    let o = std::thread::spawn(move || {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut out, &mut s).ok();
        s
    });
    let e = std::thread::spawn(move || {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut err, &mut s).ok();
        s
    });
    let until = Instant::now() + Duration::from_secs(180);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if Instant::now() > until {
            let _ = child.kill();
            panic!(
                "scenario {name} did not finish: {}",
                e.join().unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let (stdout, stderr) = (o.join().unwrap_or_default(), e.join().unwrap_or_default());
    assert!(
        status.success(),
        "scenario {name} {args:?} failed:\n{stdout}\n{stderr}"
    );
    let last = stdout.lines().last().unwrap_or_default();
    serde_json::from_str(last)
        .unwrap_or_else(|e| panic!("scenario {name}: {e}: {stdout}\n{stderr}"))
}

fn s(v: &Value) -> &str {
    v.as_str().unwrap_or_default()
}

fn calls<'a>(records: &'a [Value], tool: &str) -> Vec<&'a Value> {
    records
        .iter()
        .map(|r| &r["event"])
        .filter(|e| e["kind"] == "call" && e["tool"] == tool)
        .collect()
}

fn access<'a>(records: &'a [Value], action: &str) -> Vec<&'a Value> {
    records
        .iter()
        .map(|r| &r["event"])
        .filter(|e| e["kind"] == "access" && e["action"] == action)
        .collect()
}

fn check_basics(r: &Value, mode: &str, principal: &str) {
    let expected = if mode == "legacy" {
        "2025-11-25"
    } else {
        "2026-07-28"
    };
    assert_eq!(r["protocol"], expected, "{r}");
    assert_eq!(r["server"], "spud");
    let echo = &r["tools"]["hostile.echo"];
    assert_eq!(echo["description"], "Returns its input.", "{r}");
    assert_eq!(
        echo["input_schema"]["properties"]["s"]["type"], "string",
        "{r}"
    );
    assert_eq!(echo["input_schema"]["required"], serde_json::json!(["s"]));
    assert!(
        r["tools"].get("run_agent").is_some(),
        "{principal} sees run_agent"
    );
    assert_eq!(
        r["echo"],
        serde_json::json!({"error": false, "text": "hello"})
    );
    assert_eq!(r["denied"]["error"], true);
    let denied = s(&r["denied"]["text"]);
    assert!(
        denied.starts_with("denied:")
            && denied.contains("access = \"read-write\"")
            && denied.contains("/data (read-only)"),
        "{denied}"
    );
    assert_eq!(r["limit"]["error"], true);
    assert!(s(&r["limit"]["text"]).contains("`limits.memory_mb`"), "{r}");
    assert_eq!(r["invalid"]["error"], true);
    assert!(
        s(&r["invalid"]["text"]).contains("$.s: expected a value of type string"),
        "{r}"
    );
    assert!(
        s(&r["unknown"]).contains("unknown tool `hostile.nope`"),
        "{r}"
    );
}

#[test]
fn stdio_initialize_list_call_deny_limit() {
    let f = Fixture::new();
    for mode in MODES {
        check_basics(&f.stdio("basics", mode, &[]), mode, "the operator");
    }
    let records = f.audit();
    let echoes = calls(&records, "hostile.echo");
    assert!(echoes.iter().all(|e| e["principal"] == "stdio"));
    assert_eq!(echoes.iter().filter(|e| e["outcome"] == "ok").count(), 2);
    assert_eq!(
        echoes
            .iter()
            .filter(|e| e["outcome"] == "invalid_input")
            .count(),
        2
    );
    assert_eq!(
        calls(&records, "hostile.write-file")
            .iter()
            .filter(|e| e["outcome"] == "denied")
            .count(),
        2
    );
    assert_eq!(
        calls(&records, "hostile.alloc-mb")
            .iter()
            .filter(|e| e["outcome"] == "memory_limit")
            .count(),
        2
    );
    f.verify_audit();
}

#[test]
fn http_initialize_list_call_deny_limit() {
    let f = Fixture::new();
    let server = f.start_http(&[]);
    for mode in MODES {
        check_basics(&server.http("basics", mode, "alice", &[]), mode, "alice");
    }
    assert!(server.stop().success());
    let records = f.audit();
    let echoes = calls(&records, "hostile.echo");
    assert_eq!(echoes.len(), 4);
    assert!(
        echoes.iter().all(|e| e["principal"] == "alice"),
        "{echoes:?}"
    );
    assert_eq!(access(&records, "serve_start").len(), 1);
    assert_eq!(access(&records, "serve_stop").len(), 1);
    f.verify_audit();
}

#[test]
fn http_authentication_failures_and_request_size_limit() {
    let f = Fixture::new();
    let server = f.start_http(&["--max-body-bytes", "65536"]);
    let r = server.http("auth", "auto", "alice", &["--max-body", "65536"]);
    for case in ["wrong", "none"] {
        assert_ne!(r[case], "connected", "{r}");
    }
    assert_eq!(r["status"], 401, "{r}");
    assert!(s(&r["www_authenticate"]).starts_with("Bearer"), "{r}");
    assert_eq!(r["oversized_status"], 413, "{r}");
    // Without a Content-Length the limit holds while reading: a 4xx, or the connection closed.
    let chunked = &r["chunked_oversized"];
    assert!(
        chunked.as_u64().is_some_and(|c| (400..500).contains(&c))
            || chunked.as_str().is_some_and(|t| t.starts_with("closed")),
        "{r}"
    );
    assert!(server.stop().success());
    let records = f.audit();
    let failed = access(&records, "auth_failed");
    assert!(failed.len() >= 3, "{failed:?}");
    assert!(failed.iter().all(|e| e["principal"] == "anonymous"));
    let text = f.audit_text();
    for (_, t) in TOKENS {
        assert!(!text.contains(t), "a token leaked into the audit log");
    }
    assert!(
        !text.contains("not-a-token"),
        "a presented token leaked into the audit log"
    );
    f.verify_audit();
}

#[test]
fn a_principal_sees_and_calls_only_its_tools() {
    let f = Fixture::new();
    let server = f.start_http(&[]);
    let over_http = server.http("hidden", "auto", "carol", &[]);
    let over_stdio = f.stdio("hidden", "legacy", &["--principal", "carol"]);
    for r in [&over_http, &over_stdio] {
        assert_eq!(r["tools"], serde_json::json!(["hostile.echo"]), "{r}");
        assert_eq!(
            r["echo"],
            serde_json::json!({"error": false, "text": "visible"})
        );
        assert!(
            s(&r["refused"]).contains("unknown tool `hostile.spin`"),
            "{r}"
        );
    }
    assert!(server.stop().success());
    let records = f.audit();
    assert!(
        calls(&records, "hostile.spin").is_empty(),
        "a hidden tool ran"
    );
    let hidden = access(&records, "not_visible");
    assert_eq!(hidden.len(), 2);
    assert!(hidden
        .iter()
        .all(|e| e["principal"] == "carol" && e["detail"] == "hostile.spin"));
    let o = f.spud(&["serve", "--principal", "nobody"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("no principal `nobody`"));
}

#[test]
fn list_changed_after_adding_a_tool() {
    let f = Fixture::new();
    let server = f.start_http(&["--watch-ms", "50"]);
    let add = f.add_typed_cmd();
    let mut runs = Vec::new();
    for mode in MODES {
        runs.push(f.stdio("list_changed", mode, &["--add-cmd", &add]));
        assert!(f.spud(&["tools", "remove", "typed"]).status.success());
        runs.push(server.http("list_changed", mode, "alice", &["--add-cmd", &add]));
        assert!(f.spud(&["tools", "remove", "typed"]).status.success());
    }
    for (r, how) in runs.iter().zip([
        "notification",
        "notification",
        "subscription",
        "subscription",
    ]) {
        assert_eq!(r["how"], how, "{r}");
        let (before, after) = (
            r["before"].as_array().unwrap(),
            r["after"].as_array().unwrap(),
        );
        assert!(!before.iter().any(|t| s(t).starts_with("typed.")), "{r}");
        assert!(after.iter().any(|t| s(t).starts_with("typed.")), "{r}");
        assert!(after.len() > before.len());
    }
    assert!(server.stop().success());
}

#[test]
fn many_concurrent_calls_from_several_clients() {
    let f = Fixture::new();
    let server = f.start_http(&[]);
    let tokens = format!("{},{}", token("alice"), token("carol"));
    let url = server.url.clone();
    let http = std::thread::spawn(move || {
        let args: Vec<String> = [
            "--mode",
            "auto",
            "--url",
            &url,
            "--tokens",
            &tokens,
            "--clients",
            "4",
            "--calls",
            "25",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        scenario("concurrent", &args)
    });
    let stdio = f.stdio(
        "concurrent",
        "legacy",
        &["--principals", ",carol", "--clients", "3", "--calls", "20"],
    );
    let http = http.join().unwrap();
    assert_eq!(http["calls"], 100, "{http}");
    assert_eq!(http["wrong_count"], 0, "{http}");
    assert_eq!(stdio["calls"], 60, "{stdio}");
    assert_eq!(stdio["wrong_count"], 0, "{stdio}");
    assert!(server.stop().success());
    let records = f.audit();
    let echoes = calls(&records, "hostile.echo");
    assert!(echoes.iter().all(|e| e["outcome"] == "ok"));
    let by = |p: &str| echoes.iter().filter(|e| e["principal"] == p).count();
    assert_eq!((by("alice"), by("carol"), by("stdio")), (50, 70, 40));
    // One chain, in order, across the server and the stdio processes.
    for (i, r) in records.iter().enumerate() {
        assert_eq!(r["seq"], i as u64 + records[0]["seq"].as_u64().unwrap());
    }
    f.verify_audit();
}

#[test]
fn concurrency_and_rate_limits_per_principal() {
    let f = Fixture::new();
    let server = f.start_http(&[]);
    for r in [
        server.http("busy", "auto", "slow", &[]),
        f.stdio("busy", "legacy", &["--principal", "slow"]),
    ] {
        assert_eq!(r["second"]["error"], true, "{r}");
        assert!(
            s(&r["second"]["text"]).contains("`max_concurrent = 1` under [principals.slow]"),
            "{r}"
        );
        assert!(
            s(&r["slow"]["text"]).starts_with("deadline: the call ran longer than 1500 ms"),
            "{r}"
        );
        assert_eq!(
            r["after"],
            serde_json::json!({"error": false, "text": "after"})
        );
    }
    let r = server.http("rate", "auto", "dave", &["--calls", "20"]);
    let done = r["calls"].as_array().unwrap().len();
    assert!(done < 20, "the rate limit never hit: {r}");
    assert!(!r["error"].is_null(), "{r}");
    assert_eq!(r["status"], 429, "{r}");
    assert!(s(&r["retry_after"]).parse::<u64>().unwrap() >= 1, "{r}");
    assert!(
        s(&r["body"]).contains("principal `dave` may send 1 requests per minute"),
        "{r}"
    );
    assert!(server.stop().success());
    let records = f.audit();
    assert_eq!(access(&records, "busy").len(), 2);
    assert!(access(&records, "rate_limited")
        .iter()
        .all(|e| e["principal"] == "dave"));
    assert!(!access(&records, "rate_limited").is_empty());
    assert_eq!(
        calls(&records, "hostile.echo")
            .iter()
            .filter(|e| e["principal"] == "dave")
            .count(),
        done
    );
}

#[test]
fn progress_and_cancellation_of_a_call_in_flight() {
    let f = Fixture::new();
    let server = f.start_http(&[]);
    let mut results = vec![
        server.http("cancel", "auto", "alice", &[]),
        server.http("cancel", "legacy", "alice", &[]),
    ];
    for mode in MODES {
        results.push(f.stdio("cancel", mode, &[]));
    }
    for r in &results {
        assert_eq!(r["cancelled"], true, "{r}");
        assert!(
            s(&r["progress"][0]).starts_with("hostile.spin-forever: running for"),
            "{r}"
        );
        assert!(s(&r["progress"][0]).contains("(deadline 20000 ms)"), "{r}");
        assert_eq!(
            r["after"],
            serde_json::json!({"error": false, "text": "still here"})
        );
    }
    assert!(server.stop().success());
    let records = f.audit();
    let spins = calls(&records, "hostile.spin-forever");
    assert_eq!(spins.len(), 4, "{spins:?}");
    assert!(
        spins.iter().all(|e| e["outcome"] == "cancelled"),
        "{spins:?}"
    );
    f.verify_audit();
}

#[test]
fn run_agent_with_the_callers_grants() {
    let f = Fixture::new();
    let server = f.start_http(&[]);
    let results = [
        server.http("agent", "auto", "alice", &[]),
        f.stdio("agent", "legacy", &["--principal", "alice"]),
    ];
    for r in &results {
        assert_eq!(r["ok"]["error"], false, "{r}");
        let report: Value = serde_json::from_str(s(&r["ok"]["text"])).unwrap();
        assert_eq!(report["status"], "done");
        assert_eq!(report["results"]["two"], "got first");
        assert!(
            report.get("dir").is_none(),
            "server paths stay on the server"
        );
        let progress: Vec<&str> = r["progress"].as_array().unwrap().iter().map(s).collect();
        assert!(
            progress
                .iter()
                .any(|p| p.starts_with("one: calling hostile.echo")),
            "{progress:?}"
        );
        assert_eq!(
            progress.last().copied(),
            Some("finished: Done after 2 tool calls")
        );
        assert_eq!(r["refused"]["error"], true);
        assert!(
            s(&r["refused"]["text"]).contains("principal `alice` may not call `json.query`"),
            "{r}"
        );
        assert_eq!(r["bad"]["error"], true);
        assert!(
            s(&r["bad"]["text"]).starts_with("invalid input: plan:1:"),
            "{r}"
        );
    }
    assert!(server.stop().success());
    let records = f.audit();
    let echoes = calls(&records, "hostile.echo");
    assert_eq!(echoes.len(), 4);
    assert!(echoes.iter().all(|e| e["principal"] == "alice"));
    let hidden = server_hidden_from_carol(&f);
    assert!(!hidden, "carol must not see run_agent");
}

/// Whether carol (who may use only hostile.echo) sees `run_agent`.
fn server_hidden_from_carol(f: &Fixture) -> bool {
    let r = f.stdio("hidden", "auto", &["--principal", "carol"]);
    r["tools"]
        .as_array()
        .unwrap()
        .iter()
        .any(|t| t == "run_agent")
}

#[test]
fn graceful_shutdown_finishes_calls_in_flight() {
    let f = Fixture::new();
    let mut server = f.start_http(&[]);
    let pid = server.pid();
    let r = server.http("shutdown", "auto", "slow", &["--server-pid", &pid]);
    assert!(
        s(&r["slow"]["text"]).starts_with("deadline: the call ran longer than 1500 ms"),
        "{r}"
    );
    assert!(server.wait().success());
    let records = f.audit();
    let last = &records.last().unwrap()["event"];
    assert_eq!(
        (last["kind"].as_str(), last["action"].as_str()),
        (Some("access"), Some("serve_stop"))
    );
    assert_eq!(calls(&records, "hostile.spin-forever").len(), 1);
    f.verify_audit();
}

#[test]
fn serve_refuses_bad_configuration() {
    let f = Fixture::new();
    // HTTP without the principals' tokens in the environment.
    let o = f.spud(&["serve", "--http", "127.0.0.1:0"]);
    assert_eq!(o.status.code(), Some(2));
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(
        e.contains("SPUD_TEST_TOKEN_ALICE") && e.contains("not set"),
        "{e}"
    );
    // A principal without a token is a policy error with its position.
    std::fs::write(&f.policy, "[principals.x]\ntools = [\"*\"]\n").unwrap();
    let o = f.spud(&["serve"]);
    assert_eq!(o.status.code(), Some(2));
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(
        e.contains("policy.toml:") && e.contains("has no token"),
        "{e}"
    );
    // HTTP with no principal at all: nobody could connect.
    std::fs::write(&f.policy, "").unwrap();
    let o = f.spud(&["serve", "--http", "127.0.0.1:0"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("at least one principal"));
}

#[test]
fn run_agent_plans_a_goal_with_the_servers_model() {
    let f = Fixture::new();
    std::fs::write(
        f.home().join("config.toml"),
        "[agent]\nrevise = \"never\"\n",
    )
    .unwrap();
    let plan = serde_json::json!({"goal": "say hi", "steps": [
        {"id": "hi", "tool": "hostile.echo", "args": {"s": "hi there"}, "expect": {"contains": "hi"}}
    ]});
    let model = ScriptedModel::start(vec![(
        200,
        vec![],
        ScriptedModel::chat_call("plan", &plan, 40, 20),
    )]);
    let url = model.base_url();
    let r = f.stdio(
        "agent_goal",
        "legacy",
        &[
            "--principal",
            "erin",
            "--serve-arg=--model",
            "--serve-arg=openai:test-model",
            "--serve-arg=--base-url",
            &format!("--serve-arg={url}"),
        ],
    );
    assert_eq!(r["goal"]["error"], false, "{r}");
    let report: Value = serde_json::from_str(s(&r["goal"]["text"])).unwrap();
    assert_eq!(report["status"], "done", "{report}");
    assert_eq!(report["runs"][0]["results"]["hi"], "hi there");
    assert!(
        report["runs"][0].get("dir").is_none(),
        "server paths stay on the server"
    );
    let progress: Vec<&str> = r["progress"].as_array().unwrap().iter().map(s).collect();
    assert!(
        progress
            .iter()
            .any(|p| p.starts_with("hi: calling hostile.echo")),
        "{progress:?}"
    );
    // The model was shown only what erin may use.
    let requests = model.requests.lock().unwrap().clone();
    assert_eq!(requests.len(), 1);
    let prompt = requests[0].body.to_string();
    assert!(
        prompt.contains("hostile.echo") && !prompt.contains("hostile.spin"),
        "{prompt}"
    );
    // The step ran as erin.
    let records = f.audit();
    let echoes = calls(&records, "hostile.echo");
    assert_eq!(echoes.len(), 1);
    assert_eq!(echoes[0]["principal"], "erin");

    // Without a model, a goal is refused with what would work.
    let r = f.stdio("agent_goal", "legacy", &["--principal", "erin"]);
    assert_eq!(r["goal"]["error"], true, "{r}");
    assert!(s(&r["goal"]["text"]).contains("spud serve --model"), "{r}");
}

#[test]
fn a_guest_reading_stdin_or_flooding_stderr_is_contained() {
    let f = Fixture::new();
    let server = f.start_http(&[]);
    let mut results = vec![server.http("hostile_io", "auto", "alice", &[])];
    for mode in MODES {
        // Over stdio, stdin is the MCP connection: a guest reading it must see nothing.
        results.push(f.stdio("hostile_io", mode, &[]));
    }
    for r in &results {
        assert_eq!(r["stdin"]["error"], false, "{r}");
        let got = s(&r["stdin"]["text"]);
        assert!(
            !got.contains("jsonrpc") && !got.contains("tools/call"),
            "the guest read the connection: {r}"
        );
        assert_eq!(
            r["after_stdin"],
            serde_json::json!({"error": false, "text": "after stdin"})
        );
        assert_eq!(r["flood"]["error"], false, "{r}");
        // The guest writes whole chunks, so it reports at least the bytes asked for.
        let written: u64 = s(&r["flood"]["text"]).trim().parse().unwrap_or(0);
        assert!(written >= 1_000_000, "{r}");
        assert_eq!(
            r["after_flood"],
            serde_json::json!({"error": false, "text": "after flood"})
        );
    }
    assert!(server.stop().success());
    let records = f.audit();
    assert_eq!(calls(&records, "hostile.read-stdin").len(), 3);
    let floods = calls(&records, "hostile.flood-stderr");
    assert!(floods.iter().all(|e| e["outcome"] == "ok"), "{floods:?}");
    let limits: Vec<&Value> = records
        .iter()
        .filter(|r| r["event"]["capability"] == "limit")
        .filter(|r| s(&r["event"]["target"]).starts_with("stderr:"))
        .collect();
    assert_eq!(limits.len(), 3, "each flood is cut at the stderr limit");
    f.verify_audit();
}

/// The status code `spud serve --http` answers a POST `initialize` with `host` as its `Host`
/// header (and a valid token, so only the host differs).
fn status_for_host(url: &str, host: &str) -> u16 {
    use std::io::{Read, Write};
    let rest = url.strip_prefix("http://").unwrap();
    let (authority, path) = rest.split_at(rest.find('/').unwrap());
    let mut stream = std::net::TcpStream::connect(authority).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let body = r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"host-check","version":"1"}}}"#;
    write!(
        stream,
        "POST {path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {}\r\nContent-Type: application/json\r\nAccept: application/json, text/event-stream\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        token("alice"),
        body.len()
    )
    .unwrap();
    let mut head = [0u8; 12];
    stream.read_exact(&mut head).unwrap();
    let line = String::from_utf8_lossy(&head).to_string();
    line[9..12].parse().unwrap_or_else(|_| panic!("{line}"))
}

#[test]
fn a_foreign_host_header_is_refused() {
    let f = Fixture::new();
    let server = f.start_http(&[]);
    let authority = server
        .url
        .strip_prefix("http://")
        .and_then(|r| r.split('/').next())
        .unwrap()
        .to_string();
    let port = authority.rsplit(':').next().unwrap();
    // The address it is bound to and loopback names are served…
    assert_eq!(status_for_host(&server.url, &authority), 200);
    assert_eq!(
        status_for_host(&server.url, &format!("localhost:{port}")),
        200
    );
    // …a name a DNS-rebinding page would send is not.
    for host in [
        format!("evil.example:{port}"),
        "evil.example".to_string(),
        format!("127.0.0.1.nip.io:{port}"),
    ] {
        assert_eq!(status_for_host(&server.url, &host), 403, "{host}");
    }
    assert!(server.stop().success());
    assert!(
        calls(&f.audit(), "hostile.echo").is_empty(),
        "nothing was called"
    );
}

#[test]
fn calls_still_running_when_the_grace_period_ends_are_cancelled() {
    let f = Fixture::new();
    // alice's calls may run 20 s; the server gives them 300 ms once asked to stop.
    let mut server = f.start_http(&["--grace-ms", "300"]);
    let pid = server.pid();
    let r = server.http("grace", "auto", "alice", &["--server-pid", &pid]);
    assert!(server.wait().success(), "{r}");
    let records = f.audit();
    let spins = calls(&records, "hostile.spin-forever");
    assert_eq!(spins.len(), 1, "{spins:?}");
    assert_eq!(spins[0]["outcome"], "cancelled", "{spins:?} {r}");
    let last = &records.last().unwrap()["event"];
    assert_eq!(
        (last["kind"].as_str(), last["action"].as_str()),
        (Some("access"), Some("serve_stop"))
    );
    f.verify_audit();
}
