//! What an outsider can check: a precompiled cache entry written by someone else is never
//! loaded (it is rebuilt and the rebuild is audited), and every call record names the policy
//! it ran under by its sha256.

use serde_json::Value;
use spud::policy::DENY_ALL_DIGEST;
use spud::runtime::sha256_hex;
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

fn ok(o: Output) -> Output {
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    o
}

const QUERY: &str = r#"{"document": {"a": 1}, "path": "$.a"}"#;

fn records(home: &Path) -> Vec<Value> {
    let o = ok(spud(home, &["audit", "tail", "-n", "1000", "--json"]));
    serde_json::from_slice(&o.stdout).expect("audit tail --json is JSON")
}

fn of_kind<'a>(records: &'a [Value], kind: &str) -> Vec<&'a Value> {
    records
        .iter()
        .filter(|r| r["event"]["kind"] == kind)
        .collect()
}

fn artifact(home: &Path) -> PathBuf {
    std::fs::read_dir(home.join("cache"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|e| e == "cwasm"))
        .expect("a precompiled artifact")
}

#[test]
fn a_tampered_cache_entry_is_rebuilt_and_audited() {
    let h = home();
    ok(spud(
        h.path(),
        &["tools", "add", guest("json").to_str().unwrap()],
    ));
    ok(spud(h.path(), &["call", "json.query", QUERY]));
    assert!(
        of_kind(&records(h.path()), "cache").is_empty(),
        "a hit is not a rebuild"
    );

    // What the old checksum sidecar let through: new bytes with a matching sha256 beside them.
    let path = artifact(h.path());
    let mut forged = std::fs::read(&path).unwrap();
    let mid = forged.len() / 2;
    forged[mid] ^= 0xff;
    std::fs::write(&path, &forged).unwrap();
    std::fs::write(path.with_extension("cwasm.sha256"), sha256_hex(&forged)).unwrap();
    std::fs::write(path.with_extension("cwasm.mac"), sha256_hex(&forged)).unwrap();

    let o = ok(spud(h.path(), &["call", "json.query", QUERY]));
    assert!(
        String::from_utf8_lossy(&o.stdout).contains('1'),
        "{}",
        text(&o)
    );
    assert_ne!(
        std::fs::read(&path).unwrap(),
        forged,
        "the entry was rebuilt"
    );
    let all = records(h.path());
    let cache = of_kind(&all, "cache");
    assert_eq!(cache.len(), 1, "{cache:?}");
    assert_eq!(cache[0]["event"]["action"], "rebuilt");
    assert_eq!(cache[0]["event"]["plugin"], "json");
    assert_eq!(cache[0]["event"]["reason"], "bad_mac");
    ok(spud(h.path(), &["audit", "verify"]));

    // Signed by the rebuild: the next call is a hit, with no new record.
    ok(spud(h.path(), &["call", "json.query", QUERY]));
    assert_eq!(of_kind(&records(h.path()), "cache").len(), 1);
}

#[test]
fn an_entry_without_its_mac_is_rebuilt_and_audited() {
    let h = home();
    ok(spud(
        h.path(),
        &["tools", "add", guest("json").to_str().unwrap()],
    ));
    std::fs::remove_file(artifact(h.path()).with_extension("cwasm.mac")).unwrap();
    ok(spud(h.path(), &["call", "json.query", QUERY]));
    let all = records(h.path());
    let cache = of_kind(&all, "cache");
    assert_eq!(cache.len(), 1, "{cache:?}");
    assert_eq!(cache[0]["event"]["reason"], "missing_mac");
}

#[cfg(unix)]
#[test]
fn a_cache_key_open_to_others_is_refused() {
    use std::os::unix::fs::PermissionsExt;
    let h = home();
    ok(spud(
        h.path(),
        &["tools", "add", guest("json").to_str().unwrap()],
    ));
    let key = h.path().join("keys").join("cache.key");
    let mode = std::fs::metadata(&key).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
    let o = spud(h.path(), &["call", "json.query", QUERY]);
    assert_ne!(o.status.code(), Some(0), "{}", text(&o));
    assert!(text(&o).contains("chmod 600"), "{}", text(&o));
}

fn last_call(home: &Path) -> Value {
    let all = records(home);
    of_kind(&all, "call")
        .last()
        .map(|r| r["event"].clone())
        .expect("a call record")
}

#[test]
fn every_call_record_names_the_policy_in_force() {
    let h = home();
    ok(spud(
        h.path(),
        &["tools", "add", guest("json").to_str().unwrap()],
    ));
    ok(spud(h.path(), &["call", "json.query", QUERY]));
    assert_eq!(last_call(h.path())["policy_sha256"], DENY_ALL_DIGEST);

    let policy = h.path().join("policy.toml");
    let v1 = "[defaults]\ntimeout_ms = 5000\n";
    std::fs::write(&policy, v1).unwrap();
    let p = policy.to_str().unwrap();
    let o = ok(spud(
        h.path(),
        &["--policy", p, "call", "--json", "json.query", QUERY],
    ));
    let report: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(report["policy_sha256"], sha256_hex(v1.as_bytes()));
    assert_eq!(
        last_call(h.path())["policy_sha256"],
        sha256_hex(v1.as_bytes())
    );

    let v2 = "[defaults]\ntimeout_ms = 6000\n";
    std::fs::write(&policy, v2).unwrap();
    ok(spud(
        h.path(),
        &["--policy", p, "call", "json.query", QUERY],
    ));
    assert_eq!(
        last_call(h.path())["policy_sha256"],
        sha256_hex(v2.as_bytes())
    );
    // A denied call carries it too.
    let o = spud(h.path(), &["--policy", p, "call", "json.query", "{}"]);
    assert_ne!(o.status.code(), Some(0));
    assert_eq!(
        last_call(h.path())["policy_sha256"],
        sha256_hex(v2.as_bytes())
    );
    let tail = ok(spud(h.path(), &["audit", "tail", "-n", "1"]));
    assert!(
        text(&tail).contains(&sha256_hex(v2.as_bytes())[..12]),
        "{}",
        text(&tail)
    );
    ok(spud(h.path(), &["audit", "verify"]));
}
