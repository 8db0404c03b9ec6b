//! The first-party plugins under real grants: fs read-write, http against a server on
//! 127.0.0.1 with a redirect hop that leaves the grant, json.

use serde_json::json;
use spud::sandbox::{Capability, Outcome};
use spud::{Spud, SpudOptions};
use spud_tests::{guest, home, write_policy, TestServer};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plugins_work_within_their_grants() {
    let h = home();
    let data = h.path().join("work");
    std::fs::create_dir_all(&data).unwrap();
    let allowed = TestServer::start();
    let other = TestServer::start();
    let policy = write_policy(
        h.path(),
        &format!(
            "[tools.fs]\nfiles = [{{ host = \"work\", guest = \"/data\", access = \"read-write\" }}]\n[tools.http]\nnetwork = [\"http://127.0.0.1:{}\"]\n",
            allowed.addr.port()
        ),
    );
    let spud = Spud::open(SpudOptions {
        home: Some(h.path().join("spud")),
        policy: Some(policy),
        principal: None,
    })
    .unwrap();
    for p in ["fs", "http", "json"] {
        spud.add(&guest(p), None, None).await.unwrap();
    }

    // fs: write, then read it back, list and search, all inside the grant.
    let r = spud
        .call(
            "fs.write",
            &json!({"path": "/data/notes/todo.txt", "content": "plant\nharvest spud\n"}),
        )
        .await
        .unwrap();
    assert!(r.outcome.is_ok(), "{:?}", r.outcome);
    // Storage cost: the bytes the call added to its read-write directory.
    assert_eq!(r.storage_bytes, 19);
    assert_eq!(
        std::fs::read_to_string(data.join("notes/todo.txt")).unwrap(),
        "plant\nharvest spud\n"
    );
    let r = spud
        .call("fs.search", &json!({"path": "/data", "pattern": "spud"}))
        .await
        .unwrap();
    match &r.outcome {
        Outcome::Ok { value } => assert_eq!(value["matches"][0]["line_number"], json!(2)),
        other => panic!("{other:?}"),
    }

    // http: the granted server answers; a redirect to a server the grant does not name is
    // stopped at that hop.
    let r = spud
        .call(
            "http.fetch",
            &json!({"url": format!("{}/hello", allowed.url())}),
        )
        .await
        .unwrap();
    match &r.outcome {
        Outcome::Ok { value } => {
            assert_eq!(value["status"], json!(200));
            assert_eq!(value["body"], json!("hello from test server"));
        }
        other => panic!("{other:?}"),
    }
    assert!(r.net_bytes_in > 0);
    let before = other.hits();
    let url = format!("{}/redirect?to={}/secret", allowed.url(), other.url());
    let r = spud
        .call("http.fetch", &json!({ "url": url }))
        .await
        .unwrap();
    match &r.outcome {
        Outcome::Denied { denial } => {
            assert_eq!(denial.capability, Capability::Http);
            assert!(
                denial
                    .target
                    .contains(&format!("127.0.0.1:{}", other.addr.port())),
                "{denial:?}"
            );
        }
        other => panic!("expected the second hop to be denied, got {other:?}"),
    }
    assert_eq!(other.hits(), before, "the denied hop reached its server");
    assert!(
        r.decisions
            .iter()
            .any(|d| d.allowed && d.capability == Capability::Http),
        "the first hop was allowed"
    );

    // json: query and transform.
    let doc = json!({"items": [{"n": "a", "q": 1}, {"n": "b", "q": 5}]});
    let r = spud
        .call(
            "json.query",
            &json!({"document": doc, "path": "$.items[?@.q > 2].n"}),
        )
        .await
        .unwrap();
    match &r.outcome {
        Outcome::Ok { value } => assert_eq!(value["matches"][0]["value"], json!("b")),
        other => panic!("{other:?}"),
    }
}
