//! The files connector's rows: `webdav.list` of a 20-file folder on WsgiDAV beside the same
//! PROPFIND from Python's `requests`, with its answer parsed, against the same server.

use super::{row, time_call, N};
use serde_json::json;
use spud::{Spud, SpudOptions};
use spud_tests::files::WebDav;
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
