//! One manifest format: what the SDK writes is what the host reads, field for field. Both use
//! the `spud-manifest` types; these tests hold the host's parser to every field of them, on a
//! manifest built here with every field set and on the manifests real SDK components embed
//! (the first-party plugins built by `scripts/build-guests.sh`).

use serde_json::{json, Value};
use spud::policy::{asked, Access, Dir, EnvGrant, Manifest};
use spud::sandbox::CallEnv;
use spud::{Spud, SpudOptions};
use spud_sdk::{Limits, Plugin, Requests, Tool, ToolError};
use spud_tests::{guest, home};
use std::path::Path;
use wasmtime::component::Component;
use wasmtime::Engine;

fn echo(input: Value) -> Result<Value, ToolError> {
    Ok(input)
}

/// Every limit set, each to its own value.
fn every_limit() -> Limits {
    let mut n = 1000;
    Limits::new().map(|_, _| {
        n += 1;
        Some(n)
    })
}

/// A plugin whose manifest sets every field the SDK writes.
fn every_field() -> Plugin {
    let requests = Requests::new()
        .file("/data", Access::ReadWrite, "the files")
        .file("/cache/", Access::ReadOnly, "")
        .network("https://*.example.com")
        .network("http://127.0.0.1:8080")
        .env("LANG")
        .env("MODE")
        .tcp_connect("127.0.0.1:5432")
        .tcp_connect("[::1]:*")
        .dns()
        .limits(every_limit());
    Plugin::new("every", "Sets every field.")
        .version("9.8.7")
        .requests(requests)
        .tool(Tool::new("echo", "Echoes its input.", echo))
}

#[test]
fn every_field_the_sdk_writes_is_what_the_host_reads() {
    let plugin = every_field();
    let text = plugin.manifest_json();
    let written: Value = serde_json::from_str(&text).unwrap();
    for key in [
        "spud_manifest",
        "name",
        "version",
        "description",
        "requests",
        "tools",
    ] {
        assert!(written.get(key).is_some(), "the SDK did not write `{key}`");
    }
    for key in ["files", "network", "env", "sockets", "limits"] {
        assert!(written["requests"].get(key).is_some(), "no requests.{key}");
    }
    for name in Limits::NAMES {
        assert!(
            written["requests"]["limits"][name].is_u64(),
            "no limit {name}"
        );
    }
    assert_eq!(written["requests"]["files"][0]["why"], "the files");
    assert!(written["tools"][0]["output_schema"].is_object());

    let read = Manifest::from_json(&text).expect("the host reads what the SDK writes");
    assert_eq!(*read, plugin.manifest(), "a field changed on the way");
    assert_eq!(
        serde_json::to_value(&read).unwrap(),
        written,
        "written again, it differs"
    );

    // And the host's capabilities carry every request.
    let (caps, bad) = asked(&read.requests);
    assert!(bad.is_empty(), "{bad:?}");
    assert_eq!(
        caps.files,
        [
            Dir::unmounted("/data", Access::ReadWrite),
            Dir::unmounted("/cache", Access::ReadOnly)
        ]
    );
    let nets: Vec<String> = caps.network.iter().map(ToString::to_string).collect();
    assert_eq!(nets, ["https://*.example.com", "http://127.0.0.1:8080"]);
    assert_eq!(
        caps.env,
        [EnvGrant::Pass("LANG".into()), EnvGrant::Pass("MODE".into())]
    );
    let tcp: Vec<String> = caps
        .sockets
        .tcp_connect
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(tcp, ["127.0.0.1:5432", "[::1]:*"]);
    assert!(caps.sockets.dns);
    assert_eq!(caps.limits, every_limit());
}

#[test]
fn a_manifest_the_host_refuses_says_where() {
    let plugin = Plugin::new("bad", "").requests(Requests::new().network("ftp://x.org"));
    let e = Manifest::from_json(&plugin.manifest_json())
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("requests.network[0]") && e.contains("ftp"),
        "{e}"
    );
    let plugin = Plugin::new("bad", "").requests(Requests::new().tcp_connect("db.internal:5432"));
    assert!(Manifest::from_json(&plugin.manifest_json()).is_err());
}

/// The JSON the SDK component at `wasm` returns from its `manifest()` export, read the way
/// the registry reads it (in a sandbox with nothing granted).
async fn embedded_manifest(wasm: &Path) -> String {
    let engine = Engine::new(&spud::runtime::config(true)).unwrap();
    let component = Component::from_file(&engine, wasm).unwrap();
    let (_, manifest) = spud::runtime::plugin::sdk_exports(&component).expect("an SDK component");
    let linker = spud::sandbox::linker::build(&engine).unwrap();
    let probe = spud::runtime::Plugin {
        name: "probe".into(),
        digest: String::new(),
        manifest: Manifest::default(),
        tools: Default::default(),
        pre: linker.instantiate_pre(&component).unwrap(),
    };
    let env = CallEnv {
        plugin: "probe",
        resolver: spud::sandbox::system_resolver(),
        guard: Default::default(),
        credentials: Default::default(),
        meter: None,
        browser: None,
    };
    spud::runtime::read_sdk_manifest(&probe, &manifest, &env)
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_components_embed_manifests_the_host_reads_field_for_field() {
    let h = home();
    let spud = Spud::open(SpudOptions {
        home: Some(h.path().join("spud")),
        policy: None,
        principal: None,
    })
    .unwrap();
    for name in ["fs", "http", "json"] {
        let wasm = guest(name);
        let text = embedded_manifest(&wasm).await;
        let written: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(written["spud_manifest"], json!(1), "{name}");
        assert_eq!(written["name"], json!(name));
        assert!(written["version"].is_string() && written["description"].is_string());
        assert!(!written["requests"]["limits"]
            .as_object()
            .unwrap()
            .is_empty());

        let read = Manifest::from_json(&text).unwrap();
        assert_eq!(
            serde_json::to_value(&read).unwrap(),
            written,
            "{name}: a field changed"
        );
        let (caps, bad) = asked(&read.requests);
        assert!(bad.is_empty(), "{name}: {bad:?}");
        assert_eq!(caps.network.len(), read.requests.network.len());
        assert_eq!(caps.files.len(), read.requests.files.len());
        assert_eq!(caps.limits, read.requests.limits);

        // Registering stores that very manifest, and lists its tools with their schemas.
        let entry = spud.add(&wasm, None, None).await.unwrap();
        assert_eq!(entry.manifest, read, "{name}");
        assert_eq!(entry.tools.len(), read.tools.len());
        assert!(!read.tools.is_empty());
        for (listed, info) in entry.tools.iter().zip(&read.tools) {
            assert_eq!(listed.name, format!("{name}.{}", info.name));
            assert_eq!(listed.description, info.description);
            assert_eq!(listed.input_schema, info.input_schema);
            assert_eq!(listed.output_schema, info.output_schema);
            assert!(info.output_schema.as_ref().is_some_and(Value::is_object));
        }
    }
}
