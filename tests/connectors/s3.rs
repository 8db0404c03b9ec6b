//! The s3 connector against moto's S3 server (one for the test binary), which checks the AWS
//! Signature V4 of every request against IAM users: the host signs for the component with a
//! `sigv4` credential the component never sees. The end state is checked with boto3.

use super::{ok, tool_error};
use base64::Engine as _;
use serde_json::{json, Value};
use spud::sandbox::{Capability, Outcome};
use spud::{Spud, SpudOptions};
use spud_tests::files::S3;
use spud_tests::{guest, home, write_policy};

/// spud with the s3 component, granted the server and `/data`; `keys` (`ID:SECRET`) in a
/// file as a `sigv4` credential, or no credential at all.
async fn s3_spud(s3: &S3, keys: Option<&str>) -> (Spud, tempfile::TempDir) {
    let h = home();
    std::fs::create_dir_all(h.path().join("data")).unwrap();
    let o = s3.origin();
    let mut policy = format!(
        "[tools.s3]\nnetwork = [\"{o}\"]\n\
         files = [{{ host = \"data\", guest = \"/data\", access = \"read-write\" }}]\n"
    );
    if let Some(keys) = keys {
        std::fs::write(h.path().join("aws.keys"), keys).unwrap();
        policy.push_str(&format!(
            "\n[credentials.aws]\nvalue_file = \"aws.keys\"\ninject = \"sigv4:us-east-1:s3\"\n\
             destinations = [\"{o}\"]\ntools = [\"s3\"]\n"
        ));
    }
    let policy = write_policy(h.path(), &policy);
    let spud = Spud::open(SpudOptions {
        home: Some(h.path().join("spud")),
        policy: Some(policy),
        principal: None,
    })
    .unwrap();
    spud.add(&guest("s3"), None, None).await.unwrap();
    (spud, h)
}

const BINARY: &[u8] = b"%PDF-1.4\n\0\xff\xfe binary \x80";

fn keys(v: &Value) -> Vec<&str> {
    v["objects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["key"].as_str().unwrap())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_puts_lists_gets_and_deletes_with_host_signatures() {
    let Some(s3) = S3::shared() else { return };
    let (spud, h) = s3_spud(s3, Some(&s3.writer.value())).await;
    let bucket = format!("{}/reports/", s3.origin());
    let call = |tool: &'static str, input: Value| {
        let spud = &spud;
        async move { spud.call(tool, &input).await.unwrap() }
    };

    let rep = call(
        "s3.put",
        json!({"bucket": bucket, "key": "t1/notes.txt", "text": "Order 1001: 25 bolts\n"}),
    )
    .await;
    assert_eq!(ok(&rep.outcome)["size"], 21);
    // The host signed: a credential decision, the secret never in the report.
    assert!(rep
        .decisions
        .iter()
        .any(|d| d.capability == Capability::Credential && d.allowed));
    assert!(!serde_json::to_string(&rep)
        .unwrap()
        .contains(&s3.writer.secret));
    assert_eq!(
        s3.object("reports", "t1/notes.txt").unwrap(),
        b"Order 1001: 25 bolts\n"
    );
    let b64 = base64::engine::general_purpose::STANDARD.encode(BINARY);
    ok(&call(
        "s3.put",
        json!({"bucket": bucket, "key": "t1/scan.pdf", "base64": b64}),
    )
    .await
    .outcome);
    std::fs::write(h.path().join("data/local.xlsx"), b"PK\x03\x04 sheet").unwrap();
    ok(&call(
        "s3.put",
        json!({"bucket": bucket, "key": "t1/dir/a b+c.xlsx", "from_file": "local.xlsx"}),
    )
    .await
    .outcome);
    assert_eq!(
        s3.object("reports", "t1/dir/a b+c.xlsx").unwrap(),
        b"PK\x03\x04 sheet"
    );

    let rep = call("s3.list", json!({"bucket": bucket, "prefix": "t1/"})).await;
    let listed = ok(&rep.outcome);
    assert_eq!(
        keys(&listed),
        ["t1/dir/a b+c.xlsx", "t1/notes.txt", "t1/scan.pdf"]
    );
    assert_eq!(listed["objects"][1]["size"], 21);
    assert_eq!(
        listed["objects"][0]["url"],
        format!("{bucket}t1/dir/a%20b%2Bc.xlsx")
    );
    let rep = call(
        "s3.list",
        json!({"bucket": bucket, "prefix": "t1/", "delimiter": "/"}),
    )
    .await;
    let folders = ok(&rep.outcome);
    assert_eq!(keys(&folders), ["t1/notes.txt", "t1/scan.pdf"]);
    assert_eq!(folders["prefixes"], json!(["t1/dir/"]));
    let rep = call(
        "s3.list",
        json!({"bucket": bucket, "prefix": "t1/", "max_keys": 2}),
    )
    .await;
    let page = ok(&rep.outcome);
    assert_eq!(page["truncated"], true);
    let rep = call(
        "s3.list",
        json!({"bucket": bucket, "prefix": "t1/", "continuation_token": page["next_token"]}),
    )
    .await;
    assert_eq!(keys(&ok(&rep.outcome)), ["t1/scan.pdf"]);

    let rep = call("s3.get", json!({"bucket": bucket, "key": "t1/notes.txt"})).await;
    let got = ok(&rep.outcome);
    assert_eq!(got["encoding"], "text");
    assert_eq!(got["content"], "Order 1001: 25 bolts\n");
    let rep = call("s3.get", json!({"bucket": bucket, "key": "t1/scan.pdf"})).await;
    let got = ok(&rep.outcome);
    assert_eq!(got["encoding"], "base64");
    assert_eq!(got["content"], b64);
    let rep = call(
        "s3.get",
        json!({"bucket": bucket, "key": "t1/notes.txt", "max_bytes": 10}),
    )
    .await;
    let got = ok(&rep.outcome);
    assert_eq!(got["content"], "Order 1001");
    assert_eq!(got["truncated"], true);
    let rep = call(
        "s3.get",
        json!({"bucket": bucket, "key": "t1/scan.pdf", "save_to": "in/scan.pdf"}),
    )
    .await;
    assert_eq!(ok(&rep.outcome)["saved_to"], "/data/in/scan.pdf");
    assert_eq!(
        std::fs::read(h.path().join("data/in/scan.pdf")).unwrap(),
        BINARY
    );

    let rep = call(
        "s3.delete",
        json!({"bucket": bucket, "key": "t1/notes.txt"}),
    )
    .await;
    assert_eq!(ok(&rep.outcome)["existed"], true);
    assert_eq!(s3.object("reports", "t1/notes.txt"), None);
    let rep = call(
        "s3.delete",
        json!({"bucket": bucket, "key": "t1/notes.txt"}),
    )
    .await;
    assert_eq!(ok(&rep.outcome)["existed"], false);
    let rep = call("s3.get", json!({"bucket": bucket, "key": "t1/notes.txt"})).await;
    let e = tool_error(&rep.outcome);
    assert!(e.contains("NoSuchKey") && e.contains("s3.list"), "{e}");
    let rep = call(
        "s3.list",
        json!({"bucket": format!("{}/no-such-bucket/", s3.origin())}),
    )
    .await;
    assert!(tool_error(&rep.outcome).contains("NoSuchBucket"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_refusals_are_typed_errors() {
    let Some(s3) = S3::shared() else { return };
    let bucket = format!("{}/backups/", s3.origin());
    s3.put("backups", "t2/kept.txt", b"kept");
    let put = json!({"bucket": bucket, "key": "t2/new.txt", "text": "x"});

    // A key pair that may only read: the list works, the put is AccessDenied.
    let (reader, _h1) = s3_spud(s3, Some(&s3.reader.value())).await;
    let rep = reader
        .call("s3.list", &json!({"bucket": bucket, "prefix": "t2/"}))
        .await
        .unwrap();
    assert_eq!(keys(&ok(&rep.outcome)), ["t2/kept.txt"]);
    let rep = reader.call("s3.put", &put).await.unwrap();
    let e = tool_error(&rep.outcome);
    assert!(e.contains("HTTP 403") && e.contains("no right"), "{e}");
    assert_eq!(s3.object("backups", "t2/new.txt"), None);

    // A wrong secret: the server's signature check refuses it, and the error names the grant.
    let wrong = format!("{}:not-the-secret", s3.writer.key_id);
    let (bad, _h2) = s3_spud(s3, Some(&wrong)).await;
    let rep = bad.call("s3.put", &put).await.unwrap();
    let e = tool_error(&rep.outcome);
    assert!(
        e.contains("SignatureDoesNotMatch") && e.contains("sigv4:REGION:s3"),
        "{e}"
    );
    assert_eq!(s3.object("backups", "t2/new.txt"), None);

    // No credential: the request goes unsigned and is refused.
    let (unsigned, _h3) = s3_spud(s3, None).await;
    let rep = unsigned
        .call("s3.get", &json!({"bucket": bucket, "key": "t2/kept.txt"}))
        .await
        .unwrap();
    assert!(tool_error(&rep.outcome).contains("HTTP 403"));

    // Another server is not granted: a denial, not a request; bad keys before any request.
    let rep = unsigned
        .call("s3.list", &json!({"bucket": "http://127.0.0.1:9/b/"}))
        .await
        .unwrap();
    match &rep.outcome {
        Outcome::Denied { denial } => assert_eq!(denial.capability, Capability::Http),
        other => panic!("expected an HTTP denial, got {other:?}"),
    }
    let rep = unsigned
        .call("s3.get", &json!({"bucket": bucket, "key": "/abs"}))
        .await
        .unwrap();
    assert!(tool_error(&rep.outcome).contains("no leading `/`"));
}
