//! OpenAPI action groups against a real REST server: a FastAPI app (tests/servers/shop_api.py,
//! installed by scripts/setup-connectors.sh) started on 127.0.0.1 by this test, publishing its
//! own OpenAPI document. The document is fetched, added with `spud tools add openapi:…`, and
//! its operations called through the generic `openapi` component — path and query parameters,
//! a JSON body, and a bearer token the server checks, injected by the host.

use serde_json::{json, Value};
use spud::sandbox::Outcome;
use spud::{Spud, SpudOptions};
use spud_tests::connectors::{get, start_shop, TOKEN};
use spud_tests::{guest, home, spud_bin, write_policy};
use std::process::Command;

const TOKEN_VAR: &str = "SPUD_TEST_SHOP_TOKEN";

fn ok(outcome: &Outcome) -> Value {
    match outcome {
        Outcome::Ok { value } => value.clone(),
        other => panic!("expected ok, got {other:?}"),
    }
}

/// `spud tools add openapi.wasm`, then `spud tools add openapi:SPEC --name shop --base-url URL`
/// (refused without `--base-url`), and the schema `spud tools show` gives.
fn add_through_the_cli(home_dir: &std::path::Path, spec: &std::path::Path, url: &str) {
    // Through the command line: the generic component first, then the document.
    let run = |args: &[&str]| {
        Command::new(spud_bin())
            .arg("--home")
            .arg(home_dir)
            .args(args)
            .env_remove("SPUD_POLICY")
            .output()
            .expect("run spud")
    };
    let out = run(&["tools", "add", guest("openapi").to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let source = format!("openapi:{}", spec.display());
    let out = run(&["tools", "add", &source, "--name", "shop"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--base-url"));
    let out = run(&["tools", "add", &source, "--name", "shop", "--base-url", url]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = run(&["tools", "show", "shop.create_item", "--json"]);
    let shown: Value = serde_json::from_slice(&out.stdout).unwrap();
    let shown = if shown.is_array() {
        shown[0].clone()
    } else {
        shown
    };
    let body = &shown["input_schema"]["properties"]["body"];
    assert_eq!(body["required"], json!(["name", "price"]), "{shown}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_openapi_document_becomes_tools_that_call_the_real_api() {
    let Some(shop) = start_shop() else { return };
    let h = home();
    let url = format!("http://127.0.0.1:{}", shop.port);
    let spec = h.path().join("shop.json");
    std::fs::write(&spec, get(shop.port, "/openapi.json")).unwrap();
    let policy = write_policy(
        h.path(),
        &format!(
            "[tools.shop]\nnetwork = [\"{url}\"]\n\n[credentials.shop]\nvalue_env = \"{TOKEN_VAR}\"\ninject = \"bearer\"\ndestinations = [\"{url}\"]\ntools = [\"shop\"]\n"
        ),
    );
    let home_dir = h.path().join("spud");
    add_through_the_cli(&home_dir, &spec, &url);
    std::env::set_var(TOKEN_VAR, TOKEN);
    let spud = Spud::open(SpudOptions {
        home: Some(home_dir.clone()),
        policy: Some(policy),
        principal: Some("test".into()),
    })
    .unwrap();
    let names: Vec<String> = spud.registry().plugins["shop"]
        .tools
        .iter()
        .map(|t| t.name.clone())
        .collect();
    assert_eq!(
        names,
        ["shop.list_items", "shop.create_item", "shop.get_item"]
    );

    // A JSON body; the server checks the bearer token the host injected.
    let r = spud
        .call(
            "shop.create_item",
            &json!({"body": {"name": "widget", "price": 2.5, "tags": ["blue"]}}),
        )
        .await
        .unwrap();
    let created = ok(&r.outcome);
    assert_eq!(created["status"], 201);
    let id = created["body"]["id"].as_i64().unwrap();
    spud.call(
        "shop.create_item",
        &json!({"body": {"name": "gadget", "price": 9, "tags": ["red"]}}),
    )
    .await
    .unwrap();
    // A path parameter.
    let r = spud
        .call("shop.get_item", &json!({"item_id": id}))
        .await
        .unwrap();
    assert_eq!(ok(&r.outcome)["body"]["name"], "widget");
    // Query parameters.
    let r = spud
        .call("shop.list_items", &json!({"tag": "red", "limit": 5}))
        .await
        .unwrap();
    let listed = ok(&r.outcome);
    assert_eq!(listed["body"].as_array().unwrap().len(), 1, "{listed}");
    assert_eq!(listed["body"][0]["name"], "gadget");
    // The API's own errors are tool errors that say what it answered.
    let r = spud
        .call("shop.get_item", &json!({"item_id": 999}))
        .await
        .unwrap();
    match &r.outcome {
        Outcome::ToolError { error } => {
            let e = error.to_string();
            assert!(e.contains("404") && e.contains("no item 999"), "{e}");
        }
        other => panic!("expected a tool error, got {other:?}"),
    }
    // Arguments that are no parameter of the operation never reach the server.
    let r = spud
        .call("shop.get_item", &json!({"item_id": 1, "evil": "x"}))
        .await
        .unwrap();
    assert!(
        matches!(&r.outcome, Outcome::ToolError { error } if error.to_string().contains("`evil`")),
        "{:?}",
        r.outcome
    );
    let report = serde_json::to_string(&r).unwrap();
    assert!(!report.contains(TOKEN));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_the_credential_or_the_grant_the_api_is_not_reached() {
    let Some(shop) = start_shop() else { return };
    let h = home();
    let url = format!("http://127.0.0.1:{}", shop.port);
    let spec = h.path().join("shop.json");
    std::fs::write(&spec, get(shop.port, "/openapi.json")).unwrap();
    // The grant, but no credential: the server refuses.
    let policy = write_policy(h.path(), &format!("[tools.shop]\nnetwork = [\"{url}\"]\n"));
    let spud = Spud::open(SpudOptions {
        home: Some(h.path().join("spud")),
        policy: Some(policy),
        principal: None,
    })
    .unwrap();
    let e = spud
        .add_openapi(&spec, "shop", &url)
        .expect_err("the generic component is not registered yet")
        .to_string();
    assert!(e.contains("spud tools add openapi.wasm"), "{e}");
    spud.add(&guest("openapi"), None, None).await.unwrap();
    spud.add_openapi(&spec, "shop", &url).unwrap();
    let r = spud.call("shop.list_items", &json!({})).await.unwrap();
    assert!(
        matches!(&r.outcome, Outcome::ToolError { error } if error.to_string().contains("401")),
        "{:?}",
        r.outcome
    );
    // Registered again under a name the policy grants nothing: denied before it leaves.
    spud.add_openapi(&spec, "other", &url).unwrap();
    let r = spud.call("other.list_items", &json!({})).await.unwrap();
    match &r.outcome {
        Outcome::Denied { denial } => {
            assert!(denial.reason.contains("[tools.other]"), "{}", denial.reason)
        }
        other => panic!("expected a denial, got {other:?}"),
    }
    // A document that is not OpenAPI 3 is refused with the file named.
    let bad = h.path().join("bad.json");
    std::fs::write(&bad, r#"{"swagger": "2.0"}"#).unwrap();
    let e = spud.add_openapi(&bad, "bad", &url).unwrap_err().to_string();
    assert!(e.contains("bad.json") && e.contains("OpenAPI 3"), "{e}");
}
