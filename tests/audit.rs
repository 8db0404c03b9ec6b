//! The audit log from outside: keyed checkpoints through `spud audit verify`, the key file's
//! permissions, and `spud audit export` as JSON lines and as OTLP to a receiver started here.

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value as Any;
use opentelemetry_proto::tonic::logs::v1::LogRecord;
use prost::Message;
use serde_json::Value;
use spud_tests::{guest, home, spud_bin, write_policy};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Command, Output};
use std::sync::{Arc, Mutex};

fn spud(home: &Path, args: &[&str]) -> Output {
    Command::new(spud_bin())
        .arg("--home")
        .arg(home)
        .args(args)
        .env_remove("SPUD_POLICY")
        .env_remove("SPUD_AUDIT_KEY")
        .env_remove("SPUD_AUDIT_KEY_FILE")
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

fn json(o: &Output) -> Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(o)))
}

/// A home with the json plugin and `calls` calls to it, made under `policy` if given.
fn home_with_calls(calls: usize, policy: Option<&Path>) -> tempfile::TempDir {
    let h = home();
    let add = spud(h.path(), &["tools", "add", guest("json").to_str().unwrap()]);
    assert_eq!(code(&add), 0, "{}", text(&add));
    let policy = policy.map(|p| p.to_str().unwrap().to_string());
    for i in 0..calls {
        let input = format!(r#"{{"document": [{i}], "path": "$[0]"}}"#);
        let mut args = vec!["call", "json.query", input.as_str()];
        if let Some(p) = &policy {
            args.extend(["--policy", p.as_str()]);
        }
        let o = spud(h.path(), &args);
        assert_eq!(code(&o), 0, "{}", text(&o));
    }
    h
}

#[test]
fn verify_reports_checkpoint_coverage_forged_tails_and_wrong_keys() {
    let h = home_with_calls(2, None);
    let o = spud(h.path(), &["audit", "verify", "--json"]);
    assert_eq!(code(&o), 0, "{}", text(&o));
    let v = json(&o);
    let last = v["coverage"]["log_last_seq"].as_u64().unwrap();
    assert_eq!(v["coverage"]["covered_through"], last);
    assert_eq!(v["coverage"]["uncovered"], 0);
    assert_eq!(v["coverage"]["writers_open"], 0);
    let o = spud(h.path(), &["audit", "verify"]);
    assert!(
        text(&o).contains(&format!("records 0–{last} covered")),
        "{}",
        text(&o)
    );

    // An auditor elsewhere: the public key and a copy of the checkpoints file.
    let key = spud(h.path(), &["audit", "key"]);
    let public = String::from_utf8(key.stdout).unwrap().trim().to_string();
    assert_eq!(public.len(), 64);
    let copy = h.path().join("shipped.checkpoints");
    std::fs::copy(h.path().join("audit/audit.jsonl.checkpoints"), &copy).unwrap();
    let shipped = ["audit", "verify", "--public-key", &public, "--checkpoints"];
    let mut args = shipped.to_vec();
    args.push(copy.to_str().unwrap());
    assert_eq!(code(&spud(h.path(), &args)), 0);

    // Another key: every checkpoint is reported, exit 5.
    let other = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";
    let o = spud(h.path(), &["audit", "verify", "--public-key", other]);
    assert_eq!(code(&o), 5, "{}", text(&o));
    assert!(text(&o).contains("signed by another key"), "{}", text(&o));

    // Someone without the key appends a record with a valid chain: exit 6.
    let log = spud_audit::AuditLog::open(
        &h.path().join("audit/audit.jsonl"),
        spud_audit::Durability::Fsync,
    )
    .unwrap();
    log.append(spud_audit::Event::access("eve", "serve_start", "forged"))
        .unwrap();
    drop(log);
    let o = spud(h.path(), &["audit", "verify"]);
    assert_eq!(code(&o), 6, "{}", text(&o));
    assert!(text(&o).contains("chain intact"), "{}", text(&o));
    assert!(
        text(&o).contains("appended while no writer"),
        "{}",
        text(&o)
    );
    let o = spud(h.path(), &["audit", "verify", "--json"]);
    let problems = &json(&o)["checkpoint_problems"];
    assert_eq!(problems[0]["problem"], "appended_without_writer");
    assert_eq!(problems[0]["from"], last + 1);
}

#[cfg(unix)]
#[test]
fn a_key_file_others_can_read_is_refused() {
    use std::os::unix::fs::PermissionsExt;
    let h = home_with_calls(0, None);
    let key = h.path().join("keys/audit-checkpoint.key");
    let mode = std::fs::metadata(&key).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
    let o = spud(h.path(), &["tools", "list"]);
    assert_eq!(code(&o), 2, "{}", text(&o));
    assert!(text(&o).contains("chmod 600"), "{}", text(&o));
    // A key given by the environment must not be world-readable either.
    let outside = h.path().join("elsewhere.key");
    std::fs::write(&outside, [3u8; 32]).unwrap();
    std::fs::set_permissions(&outside, std::fs::Permissions::from_mode(0o604)).unwrap();
    let o = Command::new(spud_bin())
        .args(["--home", h.path().to_str().unwrap(), "tools", "list"])
        .env("SPUD_AUDIT_KEY_FILE", &outside)
        .output()
        .unwrap();
    assert_eq!(code(&o), 2, "{}", text(&o));
    assert!(text(&o).contains("elsewhere.key"), "{}", text(&o));
}

/// A minimal OTLP/HTTP logs receiver on 127.0.0.1: decodes each request body with the official
/// types and answers 200.
struct Receiver {
    url: String,
    got: Arc<Mutex<Vec<ExportLogsServiceRequest>>>,
}

impl Receiver {
    fn start() -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/v1/logs", listener.local_addr().unwrap());
        let got = Arc::new(Mutex::new(Vec::new()));
        let store = got.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let store = store.clone();
                std::thread::spawn(move || serve(stream, &store));
            }
        });
        Receiver { url, got }
    }

    fn records(&self) -> Vec<LogRecord> {
        let got = self.got.lock().unwrap();
        got.iter()
            .flat_map(|r| &r.resource_logs)
            .flat_map(|r| &r.scope_logs)
            .flat_map(|s| s.log_records.clone())
            .collect()
    }
}

/// Serves requests on one connection until it closes.
fn serve(stream: std::net::TcpStream, store: &Mutex<Vec<ExportLogsServiceRequest>>) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut out = stream;
    loop {
        let mut length = None;
        let mut content_type = String::new();
        let mut path = String::new();
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                return;
            }
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            let lower = line.to_ascii_lowercase();
            if let Some(v) = lower.strip_prefix("content-length:") {
                length = v.trim().parse::<usize>().ok();
            } else if let Some(v) = lower.strip_prefix("content-type:") {
                content_type = v.trim().to_string();
            } else if path.is_empty() {
                path = line.split(' ').nth(1).unwrap_or("").to_string();
            }
        }
        let mut body = vec![0; length.unwrap_or(0)];
        reader.read_exact(&mut body).unwrap();
        let ok = path == "/v1/logs" && content_type == "application/x-protobuf";
        let decoded = ExportLogsServiceRequest::decode(body.as_slice());
        let status = match (ok, decoded) {
            (true, Ok(req)) => {
                store.lock().unwrap().push(req);
                "200 OK"
            }
            _ => "400 Bad Request",
        };
        let reply = format!(
            "HTTP/1.1 {status}\r\ncontent-type: application/x-protobuf\r\ncontent-length: 0\r\n\r\n"
        );
        if out.write_all(reply.as_bytes()).is_err() {
            return;
        }
    }
}

fn attr<'a>(r: &'a LogRecord, key: &str) -> Option<&'a Any> {
    r.attributes
        .iter()
        .find(|a| a.key == key)
        .and_then(|a| a.value.as_ref())
        .and_then(|v| v.value.as_ref())
}

#[test]
fn export_as_json_lines_and_as_otlp_with_digests_unless_the_policy_keeps_raw() {
    let dir = home();
    let raw = write_policy(dir.path(), "[audit]\npayloads = \"raw\"\n");
    let h = home_with_calls(3, Some(&raw));
    let lines = |o: &Output| -> Vec<Value> {
        assert_eq!(code(o), 0, "{}", text(o));
        String::from_utf8_lossy(&o.stdout)
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    };
    // Without the policy: digests only.
    let calls = lines(&spud(h.path(), &["audit", "export", "--kind", "call"]));
    assert_eq!(calls.len(), 3);
    for c in &calls {
        assert_eq!(c["event"]["kind"], "call");
        assert!(c["event"]["args"]["sha256"].is_string());
        assert!(c["event"]["args"].get("raw").is_none(), "{c}");
    }
    // The policy that asked for raw payloads keeps them.
    let policy = raw.to_str().unwrap();
    let kept = lines(&spud(
        h.path(),
        &["--policy", policy, "audit", "export", "--kind", "call"],
    ));
    assert_eq!(kept[0]["event"]["args"]["raw"]["document"][0], 0);
    // --from-seq and --since select.
    let from = calls[1]["seq"].as_u64().unwrap().to_string();
    let tail = lines(&spud(h.path(), &["audit", "export", "--from-seq", &from]));
    assert_eq!(tail[0]["seq"], calls[1]["seq"]);
    let none = lines(&spud(
        h.path(),
        &["audit", "export", "--since", "2999-01-01T00:00:00Z"],
    ));
    assert!(none.is_empty());
    let o = spud(h.path(), &["audit", "export", "--since", "yesterday-ish"]);
    assert_eq!(code(&o), 2, "{}", text(&o));

    // OTLP to a receiver started here.
    let receiver = Receiver::start();
    let o = spud(
        h.path(),
        &[
            "--policy",
            policy,
            "audit",
            "export",
            "--otlp",
            &receiver.url,
            "--batch",
            "2",
        ],
    );
    assert_eq!(code(&o), 0, "{}", text(&o));
    let all = lines(&spud(h.path(), &["audit", "export"]));
    let got = receiver.records();
    assert_eq!(got.len(), all.len());
    assert_eq!(receiver.got.lock().unwrap().len(), all.len().div_ceil(2));
    let call = got
        .iter()
        .find(|r| r.event_name == "spud.audit.call")
        .unwrap();
    assert_eq!(
        attr(call, "spud.tool"),
        Some(&Any::StringValue("json.query".into()))
    );
    assert!(matches!(
        attr(call, "spud.args.sha256"),
        Some(Any::StringValue(_))
    ));
    assert!(
        attr(call, "spud.args.raw").is_some(),
        "the policy keeps raw payloads"
    );
    assert!(call.time_unix_nano > 0);
    assert!(matches!(
        attr(call, "spud.audit.seq"),
        Some(Any::IntValue(_))
    ));

    // --digests-only overrides the policy.
    let receiver = Receiver::start();
    let args = [
        "--policy",
        policy,
        "audit",
        "export",
        "--otlp",
        &receiver.url,
        "--digests-only",
    ];
    assert_eq!(code(&spud(h.path(), &args)), 0);
    assert!(receiver
        .records()
        .iter()
        .all(|r| attr(r, "spud.args.raw").is_none() && attr(r, "spud.result.raw").is_none()));

    // A collector that is not there: exit 1, says so.
    let gone = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/v1/logs", gone.local_addr().unwrap());
    drop(gone);
    let o = spud(h.path(), &["audit", "export", "--otlp", &url]);
    assert_eq!(code(&o), 1, "{}", text(&o));
    assert!(text(&o).contains("unreachable"), "{}", text(&o));
}

#[test]
fn registry_records_say_who_added_and_removed_what_from_where() {
    let h = home_with_calls(0, None);
    let o = spud(h.path(), &["tools", "remove", "json"]);
    assert_eq!(code(&o), 0, "{}", text(&o));
    let log = std::fs::read_to_string(h.path().join("audit/audit.jsonl")).unwrap();
    let registry: Vec<Value> = log
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|r| r.to_string().contains("\"kind\":\"registry\""))
        .collect();
    for action in ["add", "remove"] {
        let rec = registry
            .iter()
            .map(|r| r.to_string())
            .find(|r| r.contains(&format!("\"action\":\"{action}\"")))
            .unwrap_or_else(|| panic!("no {action} record in {log}"));
        assert!(rec.contains("\"by\":\"cli\""), "{action}: {rec}");
        assert!(
            rec.contains("\"source\":\"") && rec.contains("json.wasm"),
            "{action}: {rec}"
        );
    }
}
