//! The hostile component attempts every escape; each attempt must be contained with the right
//! typed outcome and an audit record, and the same host must then serve a normal call.

use serde_json::json;
use spud::runtime::CallReport;
use spud::sandbox::{Capability, Outcome, StaticResolver};
use spud::{Spud, SpudOptions};
use spud_tests::{guest, home, sidecar, write_policy, TestServer};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

struct Fixture {
    spud: Spud,
    data: PathBuf,
    server: TestServer,
    _home: tempfile::TempDir,
}

async fn fixture() -> Fixture {
    let home = home();
    let data = home.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    std::fs::write(data.join("ok.txt"), "fine").unwrap();
    // A symlink planted inside the granted directory, pointing out of it.
    std::os::unix::fs::symlink("/etc", data.join("link-to-etc")).unwrap();
    let server = TestServer::start();
    let port = server.addr.port();
    let policy = write_policy(
        home.path(),
        &format!(
            r#"
[tools.hostile]
files = [{{ host = "data", guest = "/data", access = "read-only" }}]
network = ["http://127.0.0.1:{port}", "http://*.localtest.me:*"]
env = ["GRANTED_VAR=yes"]
limits = {{ fuel = 300_000_000, memory_mb = 32, timeout_ms = 5000, stdout_bytes = 4096, stderr_bytes = 2048, result_bytes = 65536 }}

[tools.slowpoke]
limits = {{ fuel = 1_000_000_000_000, timeout_ms = 300 }}
"#
        ),
    );
    let resolver = StaticResolver(HashMap::from([(
        "evil.localtest.me".to_string(),
        vec!["127.0.0.1".parse().unwrap()],
    )]));
    let spud = Spud::open(SpudOptions {
        home: Some(home.path().join("spud")),
        policy: Some(policy),
        principal: Some("test".into()),
    })
    .unwrap()
    .with_resolver(Arc::new(resolver));
    spud.add(&guest("hostile"), None, Some(&sidecar("hostile")))
        .await
        .unwrap();
    spud.add(
        &guest("hostile"),
        Some("slowpoke"),
        Some(&sidecar("hostile")),
    )
    .await
    .unwrap();
    Fixture {
        spud,
        data,
        server,
        _home: home,
    }
}

impl Fixture {
    async fn call(&self, tool: &str, input: serde_json::Value) -> CallReport {
        let r = self.spud.call(tool, &input).await.unwrap();
        // Whatever happened, the same host serves a normal call next.
        let echo = self
            .spud
            .call("hostile.echo", &json!({"s": "still here"}))
            .await
            .unwrap();
        assert_eq!(
            echo.outcome,
            Outcome::Ok {
                value: json!("still here")
            },
            "host stopped serving after {tool}"
        );
        r
    }
}

fn tool_error_text(r: &CallReport) -> String {
    match &r.outcome {
        Outcome::ToolError { error } => error.to_string(),
        other => panic!("expected a tool error, got {other:?}"),
    }
}

fn denial(r: &CallReport, capability: Capability) -> String {
    match &r.outcome {
        Outcome::Denied { denial } => {
            assert_eq!(denial.capability, capability, "{denial:?}");
            assert!(!denial.allowed);
            denial.reason.clone()
        }
        other => panic!("expected a denial of {capability:?}, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_escape_is_contained() {
    let f = fixture().await;
    let port = f.server.addr.port();

    // Files: only /data, read-only, no escape by absolute path, `..` or a planted symlink.
    let ok = f
        .call("hostile.read-file", json!({"path": "/data/ok.txt"}))
        .await;
    assert_eq!(
        ok.outcome,
        Outcome::Ok {
            value: json!("fine")
        }
    );
    // Paths outside every preopen never reach the host: the guest's libc finds no directory
    // for them. Escapes from inside a granted directory reach the host and are refused there.
    for path in ["/etc/passwd", "../etc/passwd"] {
        let r = f.call("hostile.read-file", json!({ "path": path })).await;
        let text = tool_error_text(&r);
        assert!(!text.contains("root:"), "{path} leaked: {text}");
    }
    for path in ["/data/../../etc/passwd", "/data/link-to-etc/passwd"] {
        let r = f.call("hostile.read-file", json!({ "path": path })).await;
        let reason = denial(&r, Capability::File);
        assert!(
            reason.contains("leaves the granted directories"),
            "{path}: {reason}"
        );
    }
    let r = f
        .call(
            "hostile.write-file",
            json!({"path": "/data/new.txt", "content": "x"}),
        )
        .await;
    let reason = denial(&r, Capability::File);
    assert!(reason.contains("read-write"), "{reason}");
    assert!(
        !f.data.join("new.txt").exists(),
        "a read-only grant was written to"
    );
    let r = f.call("hostile.list-dir", json!({"path": "/"})).await;
    tool_error_text(&r);

    // Nothing inherited: only the granted variable, no args, empty stdin.
    let r = f.call("hostile.get-env", json!({"name": "HOME"})).await;
    assert_eq!(r.outcome, Outcome::Ok { value: json!(null) });
    let r = f
        .call("hostile.get-env", json!({"name": "GRANTED_VAR"}))
        .await;
    assert_eq!(
        r.outcome,
        Outcome::Ok {
            value: json!("yes")
        }
    );
    assert_eq!(
        f.call("hostile.env-count", json!({})).await.outcome,
        Outcome::Ok { value: json!(1) }
    );
    assert_eq!(
        f.call("hostile.args-count", json!({})).await.outcome,
        Outcome::Ok { value: json!(0) }
    );

    // HTTP: the granted destination works; host, port, scheme and resolved address are enforced.
    let r = f
        .call(
            "hostile.http-get",
            json!({"url": format!("http://127.0.0.1:{port}/ok")}),
        )
        .await;
    assert_eq!(r.outcome, Outcome::Ok { value: json!(200) });
    let hits = f.server.hits();
    let reason = denial(
        &f.call("hostile.http-get", json!({"url": "http://10.1.2.3/"}))
            .await,
        Capability::Http,
    );
    assert!(
        reason.contains("network = [\"http://10.1.2.3\"]") && reason.contains("[tools.hostile]"),
        "{reason}"
    );
    denial(
        &f.call(
            "hostile.http-get",
            json!({"url": format!("http://127.0.0.1:{}/", port + 1)}),
        )
        .await,
        Capability::Http,
    );
    denial(
        &f.call(
            "hostile.http-get",
            json!({"url": format!("https://127.0.0.1:{port}/")}),
        )
        .await,
        Capability::Http,
    );
    let reason = denial(
        &f.call(
            "hostile.http-get",
            json!({"url": format!("http://evil.localtest.me:{port}/")}),
        )
        .await,
        Capability::Http,
    );
    assert!(reason.contains("not a public address"), "{reason}");
    assert_eq!(f.server.hits(), hits, "a denied request reached the server");

    // Raw sockets and DNS are denied unless granted.
    let reason = denial(
        &f.call(
            "hostile.tcp-connect",
            json!({"addr": format!("127.0.0.1:{port}")}),
        )
        .await,
        Capability::Socket,
    );
    assert!(reason.contains("tcp_connect"), "{reason}");
    denial(
        &f.call("hostile.dns-lookup", json!({"name": "example.com"}))
            .await,
        Capability::Dns,
    );

    // Compute and memory limits.
    let r = f.call("hostile.spin-forever", json!({})).await;
    assert_eq!(r.outcome, Outcome::FuelExhausted { fuel: 300_000_000 });
    let r = f.call("slowpoke.spin-forever", json!({})).await;
    assert_eq!(r.outcome, Outcome::Deadline { timeout_ms: 300 });
    let r = f.call("hostile.alloc-mb", json!({"mb": 100})).await;
    assert!(
        matches!(r.outcome, Outcome::MemoryLimit { limit_mb: 32, .. }),
        "{:?}",
        r.outcome
    );
    let r = f
        .call("hostile.recurse", json!({"depth": 100_000_000u32}))
        .await;
    assert!(
        matches!(&r.outcome, Outcome::Trap { message } if message.contains("stack overflow")),
        "{:?}",
        r.outcome
    );

    // Output limits: stdout truncated and flagged, an oversized result refused.
    let r = f
        .call("hostile.flood-stdout", json!({"bytes": 1_000_000}))
        .await;
    assert!(r.outcome.is_ok(), "{:?}", r.outcome);
    assert_eq!(r.stdout.len(), 4096);
    assert!(r.stdout_dropped > 900_000);
    assert!(r
        .decisions
        .iter()
        .any(|d| d.capability == Capability::Limit));
    // stderr is captured and cut at its own limit, never the host's.
    let r = f
        .call("hostile.flood-stderr", json!({"bytes": 1_000_000}))
        .await;
    // The guest writes whole chunks, so it reports at least the bytes asked for.
    let written = match &r.outcome {
        Outcome::Ok { value } => value.as_u64().unwrap_or(0),
        other => panic!("flood-stderr: {other:?}"),
    };
    assert!(written >= 1_000_000, "{:?}", r.outcome);
    assert_eq!(r.stderr.len(), 2048);
    assert!(
        r.stderr.bytes().all(|b| b == b'e' || b == b'\n'),
        "only the guest's bytes"
    );
    assert_eq!(r.stderr_dropped, written - 2048);
    assert!(r.stdout.is_empty());
    assert!(r
        .decisions
        .iter()
        .any(|d| d.capability == Capability::Limit && d.target.contains("stderr")));
    // stdin is empty: the guest never reads the host's (under `spud serve` over stdio that
    // is the MCP connection itself).
    let r = f.call("hostile.read-stdin", json!({})).await;
    assert_eq!(r.outcome, Outcome::Ok { value: json!("") });
    let r = f
        .call("hostile.huge-result", json!({"bytes": 1_000_000}))
        .await;
    assert!(
        matches!(
            r.outcome,
            Outcome::OutputLimit {
                limit_bytes: 65536,
                ..
            }
        ),
        "{:?}",
        r.outcome
    );

    // No state survives between calls.
    for _ in 0..3 {
        assert_eq!(
            f.call("hostile.counter", json!({})).await.outcome,
            Outcome::Ok { value: json!(1) }
        );
    }

    // Every decision is in the audit log, and the chain is intact.
    f.spud.audit().flush().unwrap();
    let path = f.spud.home().audit_file();
    let report = spud::audit::verify(&path).unwrap();
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    let log = std::fs::read_to_string(&path).unwrap();
    for needle in [
        "\"decision\":\"denied\"",
        "\"capability\":\"file\"",
        "\"capability\":\"http\"",
        "\"capability\":\"socket\"",
        "\"capability\":\"dns\"",
        "fuel_exhausted",
        "memory_limit",
        "output_limit",
        "\"deadline\"",
    ] {
        assert!(log.contains(needle), "audit log lacks {needle}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_input_names_the_field() {
    let f = fixture().await;
    let r = f
        .spud
        .call("hostile.alloc-mb", &json!({"mb": -1}))
        .await
        .unwrap();
    match r.outcome {
        Outcome::InvalidInput { message } => assert!(message.contains("mb"), "{message}"),
        other => panic!("{other:?}"),
    }
    let r = f.spud.call("hostile.echo", &json!({})).await.unwrap();
    assert!(
        matches!(r.outcome, Outcome::InvalidInput { .. }),
        "{:?}",
        r.outcome
    );
    assert!(f.spud.call("hostile.nope", &json!({})).await.is_err());
}
