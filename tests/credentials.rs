//! Credentials the guest never holds (`[credentials.NAME]`): the host's HTTP gate adds them to
//! requests to their destinations only; the component never sees the value and cannot send it
//! anywhere else. Real components, a real HTTP server on 127.0.0.1.

use serde_json::json;
use spud::runtime::CallReport;
use spud::sandbox::{Capability, Outcome};
use spud::{Spud, SpudOptions};
use spud_tests::{guest, home, sidecar, write_policy, TestServer};

const TOKEN_VAR: &str = "SPUD_TEST_CREDENTIAL_TOKEN";
const TOKEN: &str = "tok-9f8e7d6c5b4a";
const FILE_KEY: &str = "filekey-0a1b2c3d";

struct Fixture {
    spud: Spud,
    listed: TestServer,
    other: TestServer,
    home: tempfile::TempDir,
}

async fn fixture() -> Fixture {
    // Set once, before any call; no other test in this binary reads it.
    std::env::set_var(TOKEN_VAR, TOKEN);
    let home = home();
    let listed = TestServer::start();
    let other = TestServer::start();
    std::fs::write(home.path().join("key.txt"), format!("{FILE_KEY}\n")).unwrap();
    let (a, b) = (listed.url(), other.url());
    let policy = write_policy(
        home.path(),
        &format!(
            r#"
[tools.http]
network = ["{a}", "{b}"]

[tools.hostile]
network = ["{a}"]
env = ["GRANTED_VAR=yes"]

[credentials.api]
value_env = "{TOKEN_VAR}"
inject = "bearer"
destinations = ["{a}"]
tools = ["http"]

[credentials.key]
value_file = "key.txt"
inject = "query:api_key"
destinations = ["{a}"]
tools = ["http"]

[credentials.unset]
value_env = "SPUD_TEST_CREDENTIAL_NEVER_SET"
inject = "header:x-unset"
destinations = ["{b}"]
tools = ["http"]
"#
        ),
    );
    let spud = Spud::open(SpudOptions {
        home: Some(home.path().join("spud")),
        policy: Some(policy),
        principal: Some("test".into()),
    })
    .unwrap();
    spud.add(&guest("http"), None, None).await.unwrap();
    spud.add(&guest("hostile"), None, Some(&sidecar("hostile")))
        .await
        .unwrap();
    Fixture {
        spud,
        listed,
        other,
        home,
    }
}

fn last_seen(server: &TestServer) -> (String, String) {
    let seen = server.seen.lock().unwrap();
    let r = seen.last().expect("the server saw a request");
    (r.line.clone(), r.text.to_ascii_lowercase())
}

fn credential_decisions(r: &CallReport) -> Vec<String> {
    r.decisions
        .iter()
        .filter(|d| d.capability == Capability::Credential)
        .map(|d| format!("{} {}", d.allowed, d.reason))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_host_injects_credentials_only_where_they_may_go() {
    let f = fixture().await;

    // To the listed destination: the host's bearer token replaces the guest's guess, and the
    // file credential is the `api_key` query parameter (the guest's own one dropped).
    let r = f
        .spud
        .call(
            "http.fetch",
            &json!({"url": format!("{}/items?api_key=guess&x=1", f.listed.url()),
                    "headers": {"authorization": "Bearer guess"}}),
        )
        .await
        .unwrap();
    assert!(matches!(r.outcome, Outcome::Ok { .. }), "{:?}", r.outcome);
    let (line, text) = last_seen(&f.listed);
    assert!(
        text.contains(&format!("authorization: bearer {TOKEN}")),
        "{text}"
    );
    assert!(!text.contains("guess"), "{text}");
    assert_eq!(line, format!("GET /items?x=1&api_key={FILE_KEY} HTTP/1.1"));
    let decisions = credential_decisions(&r);
    assert_eq!(decisions.len(), 2, "{decisions:?}");
    assert!(decisions.iter().all(|d| d.starts_with("true credential ")));
    // What the guest got back, and what was recorded, never holds the values.
    let report = serde_json::to_string(&r).unwrap();
    assert!(!report.contains(TOKEN) && !report.contains(FILE_KEY));

    // Elsewhere (granted by the network grant, not listed by the credential): sent as the
    // guest wrote it; the credential whose variable is unset is recorded as not injected.
    let r = f
        .spud
        .call(
            "http.fetch",
            &json!({"url": format!("{}/other", f.other.url()),
                    "headers": {"authorization": "Bearer guess"}}),
        )
        .await
        .unwrap();
    assert!(matches!(r.outcome, Outcome::Ok { .. }), "{:?}", r.outcome);
    let (line, text) = last_seen(&f.other);
    assert_eq!(line, "GET /other HTTP/1.1");
    assert!(text.contains("authorization: bearer guess"), "{text}");
    assert!(!text.contains(TOKEN) && !text.contains(FILE_KEY) && !text.contains("x-unset"));
    let decisions = credential_decisions(&r);
    assert_eq!(decisions.len(), 1, "{decisions:?}");
    assert!(
        decisions[0].starts_with("false credential unset not injected")
            && decisions[0].contains("SPUD_TEST_CREDENTIAL_NEVER_SET is not set"),
        "{decisions:?}"
    );

    // Another plugin's request to the listed destination gets nothing: credentials go to the
    // tools they name.
    let before = f.listed.hits();
    let r = f
        .spud
        .call("hostile.http-get", &json!({"url": f.listed.url()}))
        .await
        .unwrap();
    assert!(matches!(r.outcome, Outcome::Ok { .. }), "{:?}", r.outcome);
    assert_eq!(f.listed.hits(), before + 1);
    let (_, text) = last_seen(&f.listed);
    assert!(!text.contains(TOKEN) && !text.contains(FILE_KEY), "{text}");
    assert!(credential_decisions(&r).is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_guest_never_holds_the_value_and_cannot_send_it_elsewhere() {
    let f = fixture().await;
    // The component's environment has only what its env grant gives.
    let r = f
        .spud
        .call("hostile.get-env", &json!({"name": TOKEN_VAR}))
        .await
        .unwrap();
    assert_eq!(r.outcome, Outcome::Ok { value: json!(null) });
    let r = f.spud.call("hostile.env-count", &json!({})).await.unwrap();
    assert_eq!(r.outcome, Outcome::Ok { value: json!(1) });

    // A value that came to the guest some other way is a registered secret, allowed only to
    // the credential's destinations: sending it elsewhere is refused before anything leaves.
    let before = f.other.hits();
    let r = f
        .spud
        .call(
            "http.fetch",
            &json!({"url": format!("{}/echo", f.other.url()), "method": "POST", "body": TOKEN}),
        )
        .await
        .unwrap();
    match &r.outcome {
        Outcome::Denied { denial } => {
            assert_eq!(denial.capability, Capability::Secret);
            assert!(denial.reason.contains("api"), "{}", denial.reason);
            assert!(!denial.reason.contains(TOKEN));
            // What would allow it is the credential's destinations, not `[secrets.allow]`.
            assert!(
                denial
                    .reason
                    .contains("`destinations` under [credentials.api]")
                    && !denial.reason.contains("[secrets.allow]"),
                "{}",
                denial.reason
            );
        }
        other => panic!("expected a secret denial, got {other:?}"),
    }
    assert_eq!(f.other.hits(), before);
    // The tools' outputs are redacted for the caller too.
    assert_eq!(
        f.spud.secrets().redact(&format!("{TOKEN} {FILE_KEY}")),
        "[REDACTED] [REDACTED]"
    );

    // No file under spud's home (audit log, registry, cache) holds either value.
    for entry in walk(&f.home.path().join("spud")) {
        let bytes = std::fs::read(&entry).unwrap_or_default();
        let text = String::from_utf8_lossy(&bytes);
        assert!(
            !text.contains(TOKEN) && !text.contains(FILE_KEY),
            "{} holds a credential",
            entry.display()
        );
    }
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreadable_value_file_stops_spud_with_the_file_named() {
    let home = home();
    let policy = write_policy(
        home.path(),
        "[credentials.k]\nvalue_file = \"missing.key\"\ninject = \"bearer\"\ndestinations = [\"https://api.example.com\"]\ntools = [\"http\"]\n",
    );
    let e = Spud::open(SpudOptions {
        home: Some(home.path().join("spud")),
        policy: Some(policy),
        principal: None,
    })
    .err()
    .expect("spud refuses to open")
    .to_string();
    assert!(
        e.contains("credential k") && e.contains("missing.key"),
        "{e}"
    );
}

#[test]
fn grants_show_each_plugins_credentials_never_their_values() {
    let home = home();
    let spud_home = home.path().join("spud");
    let run = |args: &[&str]| {
        std::process::Command::new(spud_tests::spud_bin())
            .arg("--home")
            .arg(&spud_home)
            .args(args)
            .env("SPUD_TEST_GRANTS_TOKEN", "tok-grants-1a2b3c")
            .output()
            .unwrap()
    };
    let o = run(&["tools", "add", guest("http").to_str().unwrap()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let policy = write_policy(
        home.path(),
        "[tools.http]\nnetwork = [\"https://api.example.com\"]\n\
         [credentials.api]\nvalue_env = \"SPUD_TEST_GRANTS_TOKEN\"\ninject = \"bearer\"\n\
         destinations = [\"https://api.example.com\"]\ntools = [\"http\"]\n\
         [credentials.other]\nvalue_env = \"X\"\ninject = \"bearer\"\n\
         destinations = [\"https://x.example.com\"]\ntools = [\"fs\"]\n",
    );
    let p = policy.to_str().unwrap();
    let o = run(&["--policy", p, "grants"]);
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{text}");
    assert!(
        text.contains("credential: api (bearer), injected by the host into requests to https://api.example.com; value from env SPUD_TEST_GRANTS_TOKEN"),
        "{text}"
    );
    assert!(!text.contains("credential: other") && !text.contains("tok-grants-1a2b3c"));
    let o = run(&["--policy", p, "grants", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(
        v["plugins"][0]["credentials"],
        json!([{"name": "api", "inject": "bearer",
                "destinations": ["https://api.example.com"],
                "value_from": "env SPUD_TEST_GRANTS_TOKEN"}])
    );
}
