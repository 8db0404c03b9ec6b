//! The first-party `python` plugin through the `spud` binary: normal code works, hostile code
//! is contained with a typed outcome or a Python exception, and the host keeps serving.

use serde_json::Value;
use spud_tests::code_plugin::CodePlugin;
use std::sync::OnceLock;

/// One home for every test: registering precompiles the 19 MB component once.
fn env() -> &'static CodePlugin {
    static ENV: OnceLock<CodePlugin> = OnceLock::new();
    ENV.get_or_init(|| CodePlugin::register("python"))
}

fn run(code: &str) -> (i32, Value) {
    env().run(code)
}

fn value(code: &str) -> Value {
    env().value(code)
}

/// The Python exception type a contained call raised.
fn raised(code: &str) -> String {
    let v = value(code);
    v["error"]["type"]
        .as_str()
        .unwrap_or_else(|| panic!("no exception: {v}"))
        .to_string()
}

#[test]
fn normal_code_works() {
    let v = value("print(sum(range(10**6)))\n6 * 7");
    assert_eq!(v["stdout"], "499999500000\n");
    assert_eq!(v["value"], "42");
    assert_eq!(v["error"], Value::Null);
    let v = value(
        "import json, re, math, datetime, collections\n\
         c = collections.Counter('abracadabra')\n\
         d = datetime.date(2024, 2, 28) + datetime.timedelta(days=1)\n\
         (json.dumps({'a': [1, 2]}), re.findall(r'\\d+', 'a1b22'), math.isqrt(17), str(d), c['a'])",
    );
    assert_eq!(
        v["value"],
        "('{\"a\": [1, 2]}', ['1', '22'], 4, '2024-02-29', 5)"
    );
}

#[test]
fn exceptions_come_back_with_tracebacks() {
    let v = value("def f():\n    raise ValueError('boom')\nf()");
    assert_eq!(v["error"]["type"], "ValueError");
    assert_eq!(v["error"]["message"], "boom");
    assert!(
        v["error"]["traceback"]
            .as_str()
            .unwrap_or("")
            .contains("line 2, in f"),
        "{v}"
    );
}

#[test]
fn scratch_directory_is_read_write() {
    let v = value("open('/scratch/note.txt', 'w').write('hi')\nopen('/scratch/note.txt').read()");
    assert_eq!(v["value"], "'hi'");
    let host = std::fs::read_to_string(env().scratch.path().join("note.txt")).expect("on host");
    assert_eq!(host, "hi");
}

#[test]
fn infinite_loop_hits_fuel() {
    let (exit, report) = run("while True: pass");
    assert_eq!(report["outcome"], "fuel_exhausted", "{report}");
    assert_eq!(exit, 4);
    // The host keeps serving.
    assert_eq!(value("1 + 1")["value"], "2");
}

#[test]
fn memory_bomb_hits_the_memory_limit() {
    // The guest survives the refused growth (a MemoryError, even a caught one), but the call's
    // outcome says the sandbox refused memory.
    for code in [
        "x = bytearray(1 << 30)",
        "b = []\nwhile True: b.append(bytearray(1 << 20))",
        "try:\n    x = bytearray(1 << 30)\nexcept MemoryError:\n    pass\n'survived'",
    ] {
        let (exit, report) = run(code);
        assert_eq!(report["outcome"], "memory_limit", "{code}: {report}");
        assert_eq!(report["limit_mb"], 64, "{report}");
        assert_eq!(exit, 4);
        assert_eq!(value("1 + 1")["value"], "2");
    }
}

#[test]
fn files_outside_scratch_are_unreachable() {
    assert_eq!(raised("open('/etc/passwd').read()"), "FileNotFoundError");
    assert_eq!(
        raised("open('/tmp/x', 'w').write('a')"),
        "FileNotFoundError"
    );
    assert_eq!(
        raised("open('/scratch/../etc/passwd').read()"),
        "PermissionError"
    );
}

#[test]
fn no_sockets_processes_or_ctypes() {
    assert_eq!(raised("import socket"), "ModuleNotFoundError");
    assert_eq!(raised("import subprocess"), "ModuleNotFoundError");
    assert_eq!(raised("import os; os.system('ls')"), "AttributeError");
    assert_eq!(raised("import ctypes"), "ModuleNotFoundError");
}

#[test]
fn deep_recursion_is_a_recursion_error() {
    assert_eq!(raised("def f(n): return f(n + 1)\nf(0)"), "RecursionError");
}

#[test]
fn huge_output_is_truncated() {
    let v = value("for _ in range(20000): print('x' * 100)");
    let out = v["stdout"].as_str().unwrap_or("");
    assert!(out.len() < 70_000, "{}", out.len());
    assert!(out.contains("characters of stdout dropped"));
}

#[test]
fn environment_is_not_inherited() {
    assert_eq!(
        value("import os; os.environ.get('SECRET_TOKEN')")["value"],
        Value::Null
    );
    assert_eq!(value("import os; len(os.environ)")["value"], "0");
}

#[test]
fn spud_exec_runs_a_file_and_reports_exceptions() {
    let e = env();
    let file = e.home.path().join("prog.py");
    std::fs::write(&file, "print('hello')\n2 ** 10\n").expect("write");
    let exec = |path: &std::path::Path| e.exec(path);
    let out = exec(&file);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "hello\n1024\n");
    std::fs::write(&file, "raise KeyError('k')\n").expect("write");
    let out = exec(&file);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("KeyError: 'k'"));
    let out = exec(&e.home.path().join("missing.py"));
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn default_scratch_is_a_fresh_temporary_directory_per_call() {
    let e = env();
    let tmp = tempfile::tempdir().expect("tmp");
    let call = |code: &str| -> Value { e.run_with(&e.bare_policy, code, Some(tmp.path())).1 };
    let report = call("open('/scratch/a.txt', 'w').write('one')\nopen('/scratch/a.txt').read()");
    assert_eq!(report["outcome"], "ok", "{report}");
    assert_eq!(report["value"]["value"], "'one'", "{report}");
    let decision = report["decisions"]
        .as_array()
        .and_then(|d| d.iter().find(|d| d["capability"] == "file"))
        .cloned()
        .unwrap_or(Value::Null);
    assert_eq!(decision["allowed"], true, "{report}");
    assert_eq!(decision["target"], "/scratch (read-write)", "{report}");
    // The directory was created under TMPDIR and removed after the call.
    let left: Vec<_> = std::fs::read_dir(tmp.path()).expect("tmp").collect();
    assert!(left.is_empty(), "{left:?}");
    // The next call starts empty.
    let report = call("import os\nos.listdir('/scratch')");
    assert_eq!(report["value"]["value"], "[]", "{report}");
    // The audit log records it.
    let audit =
        std::fs::read_to_string(e.home.path().join("audit/audit.jsonl")).unwrap_or_default();
    assert!(audit.contains("a fresh temporary directory"), "{audit}");
}
