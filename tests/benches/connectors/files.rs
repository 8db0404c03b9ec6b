//! The file connectors' rows: `webdav.list` of a 20-file folder on WsgiDAV beside the same
//! PROPFIND from Python's `requests`, with its answer parsed; `s3.get` on moto beside boto3.

use super::{row, time_call, N};
use serde_json::json;
use spud::{Spud, SpudOptions};
use spud_tests::files::{WebDav, S3};
use spud_tests::guest;
use std::time::Duration;

/// `webdav.list` beside Python `requests` PROPFIND.
pub fn webdav(rt: &tokio::runtime::Runtime, h: &tempfile::TempDir) {
    let d = WebDav::shared().expect("WsgiDAV (scripts/setup-connectors.sh)");
    let (dir, url) = d.folder("bench");
    for i in 0..20 {
        std::fs::write(
            dir.join(format!("invoice-{i:02}.pdf")),
            vec![b'x'; 1000 + i],
        )
        .unwrap();
    }
    let home = h.path().join("files");
    std::fs::create_dir_all(&home).unwrap();
    std::fs::write(home.join("webdav.login"), d.login()).unwrap();
    let o = d.origin();
    std::fs::write(
        home.join("policy.toml"),
        format!(
            "[tools.webdav]\nnetwork = [\"{o}\"]\n\
             [credentials.files]\nvalue_file = \"webdav.login\"\ninject = \"basic\"\n\
             destinations = [\"{o}\"]\ntools = [\"webdav\"]\n"
        ),
    )
    .unwrap();
    let spud = Spud::open(SpudOptions {
        home: Some(home.join("spud")),
        policy: Some(home.join("policy.toml")),
        principal: Some("bench".into()),
    })
    .unwrap();
    rt.block_on(spud.add(&guest("webdav"), None, None)).unwrap();
    let listed = rt
        .block_on(spud.call("webdav.list", &json!({ "url": url })))
        .unwrap();
    match &listed.outcome {
        spud::sandbox::Outcome::Ok { value } => assert_eq!(value["total"], 20, "{value}"),
        other => panic!("{other:?}"),
    }
    let ours = time_call(rt, &spud, "webdav.list", json!({ "url": url }));
    let python = spud_tests::target_dir().join("py-connectors/bin/python");
    let out = std::process::Command::new(python)
        .arg(spud_tests::workspace().join("tests/servers/webdav_list_p50.py"))
        .args([&url, d.user, d.password, &N.to_string(), "20"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let ms: f64 = String::from_utf8_lossy(&out.stdout).trim().parse().unwrap();
    row(
        "webdav (webdav.list, a 20-file folder over PROPFIND)",
        ours,
        Duration::from_secs_f64(ms / 1e3),
        "Python requests PROPFIND + ElementTree",
    );
}

/// `s3.get` of a 10 KB text object beside boto3's `get_object`, against moto's S3 server
/// with signature checks on.
pub fn s3(rt: &tokio::runtime::Runtime, h: &tempfile::TempDir) {
    let s3 = S3::shared().expect("moto (scripts/setup-connectors.sh)");
    let body = "sku,qty\n".to_string() + &"B-M8,25\n".repeat(1250);
    s3.put("reports", "bench/stock.csv", body.as_bytes());
    let home = h.path().join("s3");
    std::fs::create_dir_all(&home).unwrap();
    std::fs::write(home.join("aws.keys"), s3.writer.value()).unwrap();
    let o = s3.origin();
    std::fs::write(
        home.join("policy.toml"),
        format!(
            "[tools.s3]\nnetwork = [\"{o}\"]\n\
             [credentials.aws]\nvalue_file = \"aws.keys\"\ninject = \"sigv4:us-east-1:s3\"\n\
             destinations = [\"{o}\"]\ntools = [\"s3\"]\n"
        ),
    )
    .unwrap();
    let spud = Spud::open(SpudOptions {
        home: Some(home.join("spud")),
        policy: Some(home.join("policy.toml")),
        principal: Some("bench".into()),
    })
    .unwrap();
    rt.block_on(spud.add(&guest("s3"), None, None)).unwrap();
    let input = json!({"bucket": format!("{o}/reports/"), "key": "bench/stock.csv"});
    let got = rt.block_on(spud.call("s3.get", &input)).unwrap();
    match &got.outcome {
        spud::sandbox::Outcome::Ok { value } => assert_eq!(value["bytes"], body.len()),
        other => panic!("{other:?}"),
    }
    let ours = time_call(rt, &spud, "s3.get", input);
    let python = spud_tests::target_dir().join("py-connectors/bin/python");
    let out = std::process::Command::new(python)
        .arg(spud_tests::workspace().join("tests/servers/s3_get_p50.py"))
        .args([
            &o,
            &s3.writer.key_id,
            &s3.writer.secret,
            "reports",
            "bench/stock.csv",
        ])
        .arg(N.to_string())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let ms: f64 = String::from_utf8_lossy(&out.stdout).trim().parse().unwrap();
    row(
        "s3 (s3.get, a 10 KB object, signed by the host)",
        ours,
        Duration::from_secs_f64(ms / 1e3),
        "boto3 get_object",
    );
}
