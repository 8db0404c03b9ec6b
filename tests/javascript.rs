//! The first-party `javascript` plugin through the `spud` binary: normal code works, hostile
//! code is contained with a typed outcome or a JavaScript exception, and the host keeps serving.

use serde_json::Value;
use spud_tests::code_plugin::CodePlugin;
use std::path::Path;
use std::sync::OnceLock;

/// One home for every test: registering precompiles the component once.
fn env() -> &'static CodePlugin {
    static ENV: OnceLock<CodePlugin> = OnceLock::new();
    ENV.get_or_init(|| CodePlugin::register("javascript"))
}

fn run_with(policy: &Path, code: &str) -> (i32, Value) {
    env().run_with(policy, code, None)
}

fn run(code: &str) -> (i32, Value) {
    env().run(code)
}

fn value(code: &str) -> Value {
    env().value(code)
}

/// The exception a contained call threw: (type, message).
fn thrown(code: &str) -> (String, String) {
    let v = value(code);
    let field = |k: &str| {
        v["error"][k]
            .as_str()
            .unwrap_or_else(|| panic!("no exception: {v}"))
            .to_string()
    };
    (field("type"), field("message"))
}

/// The host keeps serving after a hostile call.
fn still_serves() {
    assert_eq!(value("1 + 1")["value"], "2");
}

#[test]
fn normal_code_works() {
    let v = value("let s = 0; for (let i = 0; i < 1e6; i++) s += i; console.log(s); 6 * 7");
    assert_eq!(v["stdout"], "499999500000\n");
    assert_eq!(v["value"], "42");
    assert_eq!(v["error"], Value::Null);
    let v = value(
        "const m = new Map([['a', 1]]); const s = new Set('abracadabra');\n\
         const d = new Date(Date.UTC(2024, 1, 28) + 864e5);\n\
         [JSON.stringify({ a: [1, 2] }), 'a1b22'.match(/\\d+/g).join(','), Math.hypot(3, 4),\n\
          d.toISOString().slice(0, 10), m.get('a'), s.size].join(' | ')",
    );
    assert_eq!(
        v["value"],
        "\"{\\\"a\\\":[1,2]} | 1,22 | 5 | 2024-02-29 | 1 | 5\""
    );
    // console.error goes to stderr; a program ending in a statement has no value.
    let v = value("console.error('oops', { n: 1 }); let x = 1;");
    assert_eq!(v["stderr"], "oops { n: 1 }\n");
    assert_eq!(v["value"], Value::Null);
}

#[test]
fn exceptions_come_back_with_stacks() {
    let (exit, report) = run("function f() {\n  throw new TypeError('boom');\n}\nf()");
    assert_eq!(exit, 0);
    let e = &report["value"]["error"];
    assert_eq!(e["type"], "TypeError", "{report}");
    assert_eq!(e["message"], "boom");
    let stack = e["traceback"].as_str().unwrap_or("");
    assert!(stack.starts_with("TypeError: boom"), "{stack}");
    assert!(stack.contains("f@"), "{stack}");
    let (ty, _) = thrown("let = ;");
    assert_eq!(ty, "SyntaxError");
}

#[test]
fn scratch_directory_is_read_write() {
    let v = value(
        "fs.writeFileSync('/scratch/note.txt', 'hi');\n\
         fs.appendFileSync('/scratch/note.txt', ' there');\n\
         [fs.readFileSync('/scratch/note.txt', 'utf8'), fs.readdirSync('/scratch').includes('note.txt'),\n\
          require('fs').existsSync('/scratch/none')].join(',')",
    );
    assert_eq!(v["value"], "\"hi there,true,false\"");
    let host = std::fs::read_to_string(env().scratch.path().join("note.txt")).expect("on host");
    assert_eq!(host, "hi there");
}

#[test]
fn infinite_loop_hits_fuel() {
    let (exit, report) = run("for (;;) {}");
    assert_eq!(report["outcome"], "fuel_exhausted", "{report}");
    assert_eq!(exit, 4);
    still_serves();
}

#[test]
fn memory_bomb_hits_the_memory_limit() {
    for code in [
        "new ArrayBuffer(1 << 30).byteLength",
        "const b = []; for (;;) b.push(new Float64Array(1 << 20));",
        // Flattening the rope each time makes every doubling a real allocation.
        "let s = 'x'; for (;;) { s += s; s.indexOf('z'); }",
    ] {
        let (exit, report) = run(code);
        assert_eq!(report["outcome"], "memory_limit", "{code}: {report}");
        assert_eq!(exit, 4, "{code}");
        still_serves();
    }
}

#[test]
fn files_outside_scratch_are_unreachable() {
    let (_, msg) = thrown("fs.readFileSync('/etc/passwd', 'utf8')");
    assert!(msg.starts_with("ENOENT"), "{msg}");
    let (_, msg) = thrown("fs.writeFileSync('/tmp/x', 'a')");
    assert!(msg.starts_with("ENOENT"), "{msg}");
    let (_, msg) = thrown("fs.readFileSync('/scratch/../etc/passwd', 'utf8')");
    assert!(
        msg.starts_with("EPERM") || msg.starts_with("EACCES"),
        "{msg}"
    );
    assert!(!Path::new("/tmp/x").exists() || std::fs::read("/tmp/x").ok() != Some(b"a".to_vec()));
    still_serves();
}

#[test]
fn no_network_without_a_grant() {
    // No wasi:http in the build: `fetch` cannot reach anything.
    let v = value(
        "let r; try { r = fetch('http://127.0.0.1:9/'); r = 'returned ' + typeof r; }\n\
         catch (e) { r = e.name; } r",
    );
    let r = v["value"].as_str().unwrap_or("");
    assert!(
        r.contains("ReferenceError") || r.contains("TypeError") || r.contains("returned object"),
        "{v}"
    );
    // No Node globals to reach sockets or processes either.
    assert_eq!(
        value("[typeof process, typeof XMLHttpRequest, typeof WebSocket].join()")["value"],
        "\"undefined,undefined,undefined\""
    );
    let (_, msg) = thrown("require('child_process')");
    assert!(msg.contains("Cannot find module"), "{msg}");
}

#[test]
fn deep_recursion_is_contained() {
    let (exit, report) = run("function f(n) { return f(n + 1) + 1; } f(0)");
    match report["outcome"].as_str() {
        Some("ok") => {
            let e = &report["value"]["error"];
            assert_eq!(e["type"], "InternalError", "{report}");
        }
        _ => assert_eq!(report["outcome"], "trap", "{report}"),
    }
    assert!(exit == 0 || exit == 1);
    still_serves();
}

#[test]
fn huge_output_is_truncated() {
    let v = value("for (let i = 0; i < 20000; i++) console.log('x'.repeat(100));");
    let out = v["stdout"].as_str().unwrap_or("");
    assert!(out.len() < 70_000, "{}", out.len());
    assert!(out.contains("characters of stdout dropped"));
}

#[test]
fn environment_is_not_inherited() {
    assert_eq!(
        value("typeof process === 'undefined' ? 'none' : String(process.env.SECRET_TOKEN)")
            ["value"],
        "\"none\""
    );
    let (exit, report) = run("console.log('SECRET_TOKEN')");
    assert_eq!(exit, 0);
    assert!(!report.to_string().contains("hunter2"));
}

#[test]
fn default_scratch_is_a_fresh_temporary_directory_per_call() {
    let bare = &env().bare_policy;
    let (exit, report) = run_with(
        bare,
        "fs.writeFileSync('/scratch/a.txt', 'one'); fs.readFileSync('/scratch/a.txt', 'utf8')",
    );
    assert_eq!(exit, 0, "{report}");
    assert_eq!(report["value"]["value"], "\"one\"", "{report}");
    let temp = report["decisions"]
        .as_array()
        .and_then(|d| d.iter().find(|d| d["capability"] == "file"))
        .cloned()
        .unwrap_or(Value::Null);
    assert_eq!(temp["allowed"], true, "{report}");
    assert!(
        temp["reason"]
            .as_str()
            .unwrap_or("")
            .contains("temporary directory"),
        "{report}"
    );
    // The next call starts empty.
    let (_, report) = run_with(bare, "fs.existsSync('/scratch/a.txt')");
    assert_eq!(report["value"]["value"], "false", "{report}");
}

#[test]
fn spud_exec_runs_a_file_and_reports_exceptions() {
    let e = env();
    let file = e.home.path().join("prog.js");
    std::fs::write(&file, "console.log('hello');\n2 ** 10\n").expect("write");
    let exec = |path: &Path| e.exec(path);
    let out = exec(&file);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "hello\n1024\n");
    std::fs::write(&file, "throw new RangeError('r');\n").expect("write");
    let out = exec(&file);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("RangeError: r"));
    let out = exec(&e.home.path().join("missing.js"));
    assert_eq!(out.status.code(), Some(2));
}
