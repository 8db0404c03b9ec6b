//! Native tests of the file tools against a temporary directory (absolute paths).

use super::*;
use serde_json::{json, Value};

fn call(tool: &str, input: Value) -> Result<Value, String> {
    let out = __spud_plugin().call(tool, &input.to_string())?;
    Ok(serde_json::from_str(&out).expect("tool output is JSON"))
}

fn tree() -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().expect("temp dir");
    let root = dir.path().display().to_string();
    fs::create_dir_all(dir.path().join("sub/deeper")).expect("mkdir");
    fs::write(dir.path().join("a.txt"), "alpha\nbeta\ngamma\n").expect("write");
    fs::write(dir.path().join("sub/b.txt"), "beta two\n").expect("write");
    fs::write(dir.path().join("sub/deeper/c.bin"), b"beta\0\x01").expect("write");
    (dir, root)
}

#[test]
fn relative_paths_resolve_under_data() {
    assert_eq!(resolve("notes.txt"), PathBuf::from("/data/notes.txt"));
    assert_eq!(resolve(""), PathBuf::from("/data"));
    assert_eq!(resolve("/data/x"), PathBuf::from("/data/x"));
    assert_eq!(resolve("./a/../b/"), PathBuf::from("/data/b"));
    assert_eq!(resolve("../../etc/passwd"), PathBuf::from("/etc/passwd"));
    assert_eq!(resolve("/.."), PathBuf::from("/"));
}

#[test]
fn write_then_read_with_truncation() {
    let (_dir, root) = tree();
    let path = format!("{root}/new/dir/out.txt");
    let w = call("write", json!({"path": path, "content": "hello"})).expect("write");
    assert_eq!(w, json!({"bytes_written": 5}));
    call(
        "write",
        json!({"path": path, "content": " world", "append": true}),
    )
    .expect("append");
    let r = call("read", json!({"path": path})).expect("read");
    assert_eq!(
        r,
        json!({"content": "hello world", "size": 11, "truncated": false})
    );
    let r = call("read", json!({"path": path, "max_bytes": 4})).expect("read");
    assert_eq!(r, json!({"content": "hell", "size": 11, "truncated": true}));
    call("write", json!({"path": path, "content": "x"})).expect("overwrite");
    assert_eq!(
        call("read", json!({"path": path})).expect("read")["content"],
        "x"
    );
}

#[test]
fn read_errors_are_actionable() {
    let (_dir, root) = tree();
    let err = call("read", json!({"path": format!("{root}/missing")})).expect_err("missing");
    assert!(err.contains("no such file or directory"), "{err}");
    assert!(err.contains("only /data is available"), "{err}");
    let err = call("read", json!({"path": format!("{root}/sub")})).expect_err("dir");
    assert!(err.contains("is a directory; use the `list` tool"), "{err}");
    let err = call("read", json!({"path": "a", "max_byte": 3})).expect_err("typo");
    assert!(err.contains("unknown field `max_byte`"), "{err}");
}

#[test]
fn list_flat_and_recursive() {
    let (_dir, root) = tree();
    let flat = call("list", json!({"path": root})).expect("list");
    assert_eq!(
        flat,
        json!({"entries": [
            {"name": "a.txt", "kind": "file", "size": 17},
            {"name": "sub", "kind": "dir", "size": 0}
        ], "truncated": false})
    );
    let deep = call("list", json!({"path": root, "recursive": true})).expect("list");
    let names: Vec<&str> = deep["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .filter_map(|e| e["name"].as_str())
        .collect();
    assert_eq!(
        names,
        [
            "a.txt",
            "sub",
            "sub/b.txt",
            "sub/deeper",
            "sub/deeper/c.bin"
        ]
    );
    let capped = call(
        "list",
        json!({"path": root, "recursive": true, "max_entries": 2}),
    )
    .expect("list");
    assert_eq!(capped["entries"].as_array().map(Vec::len), Some(2));
    assert_eq!(capped["truncated"], true);
}

#[test]
fn search_finds_lines_and_skips_binary() {
    let (_dir, root) = tree();
    let out = call("search", json!({"path": root, "pattern": "^beta"})).expect("search");
    assert_eq!(
        out["matches"],
        json!([
            {"file": format!("{root}/a.txt"), "line_number": 2, "line": "beta"},
            {"file": format!("{root}/sub/b.txt"), "line_number": 1, "line": "beta two"}
        ])
    );
    assert_eq!(out["files_searched"], 2);
    let one = call(
        "search",
        json!({"path": root, "pattern": "a", "max_results": 1}),
    )
    .expect("search");
    assert_eq!(one["truncated"], true);
    let err = call("search", json!({"path": root, "pattern": "("})).expect_err("bad regex");
    assert!(err.starts_with("invalid pattern `(`"), "{err}");
}
