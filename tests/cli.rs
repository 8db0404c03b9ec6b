//! The `spud` command as users run it: registration errors, exit codes, policy errors with
//! positions, the precompile cache, `grants`, and audit verification after tampering.

use serde_json::Value;
use spud_tests::{guest, home, spud_bin};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn spud(home: &Path, args: &[&str]) -> Output {
    Command::new(spud_bin())
        .arg("--home")
        .arg(home)
        .args(args)
        .env_remove("SPUD_POLICY")
        .output()
        .expect("run spud")
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn code(o: &Output) -> i32 {
    o.status.code().unwrap_or(-1)
}

fn component_importing(dir: &Path, wit: &str) -> PathBuf {
    let mut resolve = wit_parser::Resolve::default();
    let pkg = resolve.push_str("x.wit", wit).unwrap();
    let world = resolve.select_world(&[pkg], None).unwrap();
    let mut module =
        wit_component::dummy_module(&resolve, world, wit_parser::ManglingAndAbi::Standard32);
    wit_component::embed_component_metadata(
        &mut module,
        &resolve,
        world,
        wit_component::StringEncoding::UTF8,
    )
    .unwrap();
    let bytes = wit_component::ComponentEncoder::default()
        .module(&module)
        .unwrap()
        .validate(true)
        .encode()
        .unwrap();
    let path = dir.join("imports.wasm");
    std::fs::write(&path, bytes).unwrap();
    path
}

#[test]
fn registration_says_what_is_wrong() {
    let h = home();
    let not_wasm = h.path().join("notes.wasm");
    std::fs::write(&not_wasm, "hello").unwrap();
    let o = spud(h.path(), &["tools", "add", not_wasm.to_str().unwrap()]);
    assert_eq!(code(&o), 2);
    assert!(
        text(&o).contains("is not a WebAssembly file"),
        "{}",
        text(&o)
    );

    let core = h.path().join("core.wasm");
    std::fs::write(
        &core,
        wat::parse_str("(module (func (export \"f\")))").unwrap(),
    )
    .unwrap();
    let o = spud(h.path(), &["tools", "add", core.to_str().unwrap()]);
    assert_eq!(code(&o), 2);
    assert!(
        text(&o).contains("core WebAssembly module, not a component"),
        "{}",
        text(&o)
    );

    let imports = component_importing(
        h.path(),
        "package test:imp;\ninterface secret { steal: func() -> string; }\nworld w { import secret; export run: func() -> string; }",
    );
    let o = spud(h.path(), &["tools", "add", imports.to_str().unwrap()]);
    assert_eq!(code(&o), 2);
    assert!(
        text(&o).contains("imports test:imp/secret which spud does not provide"),
        "{}",
        text(&o)
    );

    let o = spud(h.path(), &["tools", "list", "--json"]);
    assert_eq!(
        serde_json::from_slice::<Value>(&o.stdout).unwrap(),
        serde_json::json!([])
    );
}

#[test]
fn exit_codes_and_policy_errors() {
    let h = home();
    let data = h.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    std::fs::write(data.join("a.txt"), "alpha").unwrap();
    for p in ["fs", "json"] {
        let o = spud(h.path(), &["tools", "add", guest(p).to_str().unwrap()]);
        assert_eq!(code(&o), 0, "{}", text(&o));
    }
    let policy = h.path().join("policy.toml");
    std::fs::write(&policy, "[tools.fs]\nfiles = [{ host = \"data\", guest = \"/data\", access = \"read-only\" }]\n[tools.json]\nlimits = { fuel = 20000 }\n").unwrap();
    let p = policy.to_str().unwrap();

    let o = spud(
        h.path(),
        &[
            "--policy",
            p,
            "call",
            "fs.read",
            r#"{"path": "/data/a.txt"}"#,
        ],
    );
    assert_eq!(code(&o), 0, "{}", text(&o));
    assert_eq!(
        serde_json::from_slice::<Value>(&o.stdout).unwrap()["content"],
        "alpha"
    );

    let o = spud(
        h.path(),
        &[
            "--policy",
            p,
            "call",
            "fs.write",
            r#"{"path": "/data/b.txt", "content": "x"}"#,
        ],
    );
    assert_eq!(code(&o), 3, "{}", text(&o));
    assert!(text(&o).contains("read-write"), "{}", text(&o));

    let o = spud(
        h.path(),
        &[
            "--policy",
            p,
            "call",
            "json.query",
            r#"{"document": [1,2,3], "path": "$[*]"}"#,
        ],
    );
    assert_eq!(code(&o), 4, "{}", text(&o));
    assert!(text(&o).contains("fuel"), "{}", text(&o));

    let o = spud(h.path(), &["--policy", p, "call", "fs.read", "{not json"]);
    assert_eq!(code(&o), 2);
    let o = spud(h.path(), &["--policy", p, "call", "fs.raed", "{}"]);
    assert_eq!(code(&o), 2);
    assert!(text(&o).contains("did you mean"), "{}", text(&o));
    let o = spud(
        h.path(),
        &["--policy", p, "call", "fs.read", r#"{"path": 1}"#],
    );
    assert_eq!(code(&o), 2, "{}", text(&o));

    std::fs::write(
        &policy,
        "[tools.fs]\nnetwork = [\n  \"https://ok.example.com\",\n  \"ftp://nope\",\n]\n",
    )
    .unwrap();
    let o = spud(h.path(), &["--policy", p, "grants"]);
    assert_eq!(code(&o), 2);
    assert!(text(&o).contains(&format!("{p}:4:3:")), "{}", text(&o));
}

#[test]
fn grants_show_requested_granted_and_effective() {
    let h = home();
    spud(h.path(), &["tools", "add", guest("fs").to_str().unwrap()]);
    let data = h.path().join("d");
    std::fs::create_dir_all(&data).unwrap();
    let policy = h.path().join("policy.toml");
    std::fs::write(
        &policy,
        "[tools.fs]\nfiles = [{ host = \"d\", guest = \"/data\", access = \"read-only\" }]\n",
    )
    .unwrap();
    let o = spud(
        h.path(),
        &["--policy", policy.to_str().unwrap(), "grants", "--json"],
    );
    assert_eq!(code(&o), 0, "{}", text(&o));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    let fs = &v["plugins"][0];
    assert_eq!(fs["plugin"], "fs");
    assert_eq!(fs["sha256"].as_str().unwrap().len(), 64);
    assert_eq!(fs["requested"]["files"][0]["access"], "read-write");
    assert_eq!(fs["effective"]["files"][0]["access"], "read-only");
    assert_eq!(fs["not_granted"][0]["kind"], "file");
    assert!(fs["effective"]["limits"]["fuel"].as_u64().unwrap() > 0);
}

#[test]
fn precompiled_cache_is_reused_and_a_corrupt_entry_rebuilt() {
    let h = home();
    let o = spud(h.path(), &["tools", "add", guest("json").to_str().unwrap()]);
    assert_eq!(code(&o), 0, "{}", text(&o));
    let cache = h.path().join("cache");
    let artifact = std::fs::read_dir(&cache)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|e| e == "cwasm"))
        .expect("a precompiled artifact");
    let before = std::fs::metadata(&artifact).unwrap().modified().unwrap();
    let call = |h: &Path| {
        spud(
            h,
            &[
                "call",
                "json.query",
                r#"{"document": {"a": 1}, "path": "$.a"}"#,
            ],
        )
    };
    assert_eq!(code(&call(h.path())), 0);
    assert_eq!(
        std::fs::metadata(&artifact).unwrap().modified().unwrap(),
        before,
        "a cache hit must not recompile"
    );

    let mut bytes = std::fs::read(&artifact).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0xff;
    std::fs::write(&artifact, &bytes).unwrap();
    let o = call(h.path());
    assert_eq!(code(&o), 0, "{}", text(&o));
    assert_ne!(
        std::fs::read(&artifact).unwrap(),
        bytes,
        "the corrupt artifact was rebuilt"
    );
}

#[test]
fn audit_verify_reports_tampering() {
    let h = home();
    spud(h.path(), &["tools", "add", guest("json").to_str().unwrap()]);
    for _ in 0..3 {
        spud(
            h.path(),
            &["call", "json.query", r#"{"document": [1], "path": "$[0]"}"#],
        );
    }
    let o = spud(h.path(), &["audit", "verify", "--json"]);
    assert_eq!(code(&o), 0, "{}", text(&o));
    assert_eq!(
        serde_json::from_slice::<Value>(&o.stdout).unwrap()["intact"],
        true
    );
    let log = h.path().join("audit/audit.jsonl");
    let edited = std::fs::read_to_string(&log).unwrap().replacen(
        "\"principal\":\"cli\"",
        "\"principal\":\"eve\"",
        1,
    );
    std::fs::write(&log, edited).unwrap();
    let o = spud(h.path(), &["audit", "verify"]);
    assert_eq!(code(&o), 1);
    assert!(text(&o).contains("was edited"), "{}", text(&o));
}

#[test]
fn run_a_goal_with_the_model_from_the_config_file() {
    let h = home();
    for p in ["fs", "json"] {
        assert_eq!(
            code(&spud(
                h.path(),
                &["tools", "add", guest(p).to_str().unwrap()]
            )),
            0
        );
    }
    let plan = serde_json::json!({"steps": [
        {"id": "q", "tool": "json.query", "args": {"document": {"a": [1, 2]}, "path": "$.a[*]"}, "expect": {"path": "$.matches[*]", "min": 2}}
    ]});
    let server = spud_tests::ScriptedModel::start(vec![(
        200,
        vec![],
        spud_tests::ScriptedModel::chat_answer(&plan, 5, 5),
    )]);
    std::fs::write(
        h.path().join("config.toml"),
        format!(
            "[model]\nprovider = \"openai\"\nmodel = \"local-planner\"\nbase_url = \"{}\"\ninput_price_per_mtok = 2.0\noutput_price_per_mtok = 10.0\n",
            server.base_url()
        ),
    )
    .unwrap();
    let o = spud(h.path(), &["run", "count the items", "--quiet"]);
    assert_eq!(code(&o), 0, "{}", text(&o));
    assert_eq!(
        server.requests.lock().unwrap()[0].body["model"],
        "local-planner"
    );
    let o = spud(h.path(), &["runs", "list", "--json"]);
    let runs: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(runs[0]["status"], "Done");
    // The planning tokens (5 in, 5 out) are the run's cost, priced by the config.
    let o = spud(h.path(), &["report", "last", "--json"]);
    let report: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(report["figures"]["cost"]["tokens"], 10, "{report}");
    let price = report["figures"]["cost"]["model_price"].as_f64().unwrap();
    assert!(
        (price - (5.0 * 2.0 + 5.0 * 10.0) / 1e6).abs() < 1e-12,
        "{price}"
    );

    std::fs::write(
        h.path().join("config.toml"),
        "[model]\nprovider = \"openai\"\nmodle = \"x\"\n",
    )
    .unwrap();
    let o = spud(h.path(), &["run", "count the items"]);
    assert_eq!(code(&o), 2);
    assert!(text(&o).contains("config.toml:3:1:"), "{}", text(&o));
}

#[test]
fn concurrent_registrations_from_several_processes_all_land() {
    let h = home();
    let children: Vec<_> = ["fs", "http", "json"]
        .iter()
        .map(|p| {
            Command::new(spud_bin())
                .arg("--home")
                .arg(h.path())
                .args(["tools", "add", guest(p).to_str().unwrap()])
                .stdout(std::process::Stdio::null())
                .spawn()
                .expect("spawn")
        })
        .collect();
    for mut c in children {
        assert!(c.wait().unwrap().success());
    }
    let o = spud(h.path(), &["tools", "list", "--json"]);
    let tools: Value = serde_json::from_slice(&o.stdout).unwrap();
    let plugins: std::collections::BTreeSet<&str> = tools
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["plugin"].as_str().unwrap())
        .collect();
    assert_eq!(plugins, ["fs", "http", "json"].into_iter().collect());
    let o = spud(h.path(), &["audit", "verify", "--json"]);
    assert_eq!(
        serde_json::from_slice::<Value>(&o.stdout).unwrap()["intact"],
        true
    );
}

#[test]
fn sub_agent_plan_and_its_report_as_json_and_prometheus() {
    let h = home();
    for p in ["fs", "json"] {
        let o = spud(h.path(), &["tools", "add", guest(p).to_str().unwrap()]);
        assert_eq!(code(&o), 0, "{}", text(&o));
    }
    let root = spud_tests::workspace();
    let policy = root.join("examples/policy.toml");
    let plan = root.join("examples/subagents-plan.toml");
    let o = spud(
        h.path(),
        &[
            "--policy",
            policy.to_str().unwrap(),
            "run",
            "--plan",
            plan.to_str().unwrap(),
            "--json",
        ],
    );
    // The third sub-agent asks for read-write /data, which the root holds read-only: refused,
    // so the run fails while its siblings succeed.
    assert_eq!(code(&o), 1, "{}", text(&o));
    let o = spud(h.path(), &["report", "last", "--json"]);
    assert_eq!(code(&o), 0, "{}", text(&o));
    let r: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(
        r["results"]["stock"]["results"]["low"]["matches"][0]["value"],
        "shallot"
    );
    assert!(r["results"]["todos"]["results"]["search"]["matches"]
        .as_array()
        .is_some_and(|m| !m.is_empty()));
    assert!(r["failed"]["cleanup"]
        .as_str()
        .unwrap()
        .contains("read-write access to /data"));
    let f = &r["figures"];
    assert_eq!(f["subagents"], 3);
    assert_eq!(f["refused_subagents"], 1);
    // By hand: 3 tool calls, none denied; capability items asked: stock 2 tools + 1 file + its
    // deadline, todos 1 tool, cleanup 1 tool + 1 file (refused) = 7; actions = 3 calls + 3
    // sub-agents.
    assert_eq!(f["cost"]["tool_calls"], 3);
    assert_eq!(f["permission_violation_rate"].as_f64().unwrap(), 1.0 / 10.0);
    assert_eq!(f["compliance_rate"].as_f64().unwrap(), 5.0 / 6.0);
    // Allocation: priority weights 3, 2, 1 of 6 over 20 steps → 10 and 6 given; 2 + 1 used.
    let subs = r["subagents"].as_array().unwrap();
    let by = |s: &str| subs.iter().find(|x| x["step"] == s).unwrap();
    assert_eq!(by("stock")["allocated"]["max_steps"], 10);
    assert_eq!(by("todos")["allocated"]["max_steps"], 6);
    assert_eq!(
        f["allocation_efficiency"]["steps"].as_f64().unwrap(),
        3.0 / 16.0
    );
    let busy: f64 = subs.iter().map(|x| x["busy_ms"].as_f64().unwrap()).sum();
    let coordination =
        busy / (r["wall_ms"].as_f64().unwrap() * f["peak_parallel"].as_f64().unwrap());
    assert!((f["coordination_efficiency"].as_f64().unwrap() - coordination).abs() < 1e-9);

    let o = spud(h.path(), &["report", "last", "--prometheus"]);
    assert_eq!(code(&o), 0);
    let prom = String::from_utf8_lossy(&o.stdout);
    assert!(prom.contains("# TYPE spud_compliance_rate gauge"), "{prom}");
    assert_eq!(prom.matches("spud_subagent_busy_ms{").count(), 3);
    let o = spud(h.path(), &["report", "nope"]);
    assert_eq!(code(&o), 2);
    assert!(text(&o).contains("no finished run `nope`"));
    // Sub-agent runs are listed only on request.
    let o = spud(h.path(), &["runs", "list", "--json"]);
    assert_eq!(
        serde_json::from_slice::<Value>(&o.stdout)
            .unwrap()
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let o = spud(h.path(), &["runs", "list", "--all", "--json"]);
    assert_eq!(
        serde_json::from_slice::<Value>(&o.stdout)
            .unwrap()
            .as_array()
            .unwrap()
            .len(),
        3
    );

    // Retention: nothing is a day old yet; with 0 days everything goes, sub-agent runs included.
    let removed = |o: &Output| {
        serde_json::from_slice::<Value>(&o.stdout).unwrap()["removed"]
            .as_array()
            .unwrap()
            .len()
    };
    let o = spud(h.path(), &["runs", "prune"]);
    assert_eq!(code(&o), 2, "no retention period given: {}", text(&o));
    assert!(text(&o).contains("retain_days"));
    let o = spud(h.path(), &["runs", "prune", "--older-than", "1", "--json"]);
    assert_eq!(removed(&o), 0);
    std::fs::write(h.path().join("config.toml"), "[runs]\nretain_days = 0\n").unwrap();
    let o = spud(h.path(), &["runs", "prune", "--dry-run", "--json"]);
    assert_eq!(removed(&o), 3);
    let left = || std::fs::read_dir(h.path().join("runs")).unwrap().count();
    assert_eq!(left(), 3, "a dry run removes nothing");
    let o = spud(h.path(), &["runs", "prune"]);
    assert_eq!(code(&o), 0, "{}", text(&o));
    assert_eq!(left(), 0);
}
