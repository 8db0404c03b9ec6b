//! Any component is a tool: the typed test component (plain wit-bindgen, no SDK) exports every
//! WIT value kind; spud derives its tools, schemas and descriptions, converts arguments with
//! precise errors and returns results as JSON, through the real sandbox.

use serde_json::{json, Value};
use spud::sandbox::Outcome;
use spud::{Spud, SpudOptions};
use spud_tests::{guest, home, sidecar};

async fn typed() -> (Spud, tempfile::TempDir) {
    let h = home();
    let spud = Spud::open(SpudOptions {
        home: Some(h.path().to_path_buf()),
        policy: None,
        principal: None,
    })
    .unwrap();
    spud.add(&guest("typed"), None, Some(&sidecar("typed")))
        .await
        .unwrap();
    (spud, h)
}

fn ok(o: &Outcome) -> &Value {
    match o {
        Outcome::Ok { value } => value,
        other => panic!("expected ok, got {other:?}"),
    }
}

#[tokio::test]
async fn every_export_is_a_documented_tool() {
    let (spud, _h) = typed().await;
    let reg = spud.registry();
    let entry = reg.get("typed").unwrap();
    let names: Vec<&str> = entry.tools.iter().map(|t| t.name.as_str()).collect();
    for n in [
        "typed.area",
        "typed.echo-everything",
        "typed.describe-flags",
        "typed.first-char",
        "typed.checked-div",
        "typed.max-ints",
        "typed.min-ints",
        "typed.bounds",
    ] {
        assert!(names.contains(&n), "{n} missing from {names:?}");
    }
    let (_, area) = reg.find_tool("typed.area").unwrap();
    assert_eq!(area.description, "The area of a shape.");
    assert_eq!(area.function, "example:typed/shapes@0.1.0#area");
    let (_, everything) = reg.find_tool("typed.echo-everything").unwrap();
    let props = &everything.input_schema["properties"]["x"]["properties"];
    assert_eq!(props["a"]["maximum"], json!(255));
    assert_eq!(props["h"]["minimum"], json!(i64::MIN));
    assert_eq!(props["g"]["maximum"], json!(u64::MAX));
    assert_eq!(props["color"]["enum"], json!(["red", "green", "blue"]));
    assert_eq!(props["letter"]["maxLength"], json!(1));
    let required = everything.input_schema["properties"]["x"]["required"]
        .as_array()
        .unwrap();
    assert!(
        !required.contains(&json!("note")),
        "option fields are optional"
    );
}

#[tokio::test]
async fn values_round_trip_through_the_component() {
    let (spud, _h) = typed().await;
    let everything = json!({
        "flag": true, "a": 255, "b": -128, "c": 65535, "d": -32768, "e": 4294967295u64, "f": -2147483648i64,
        "g": u64::MAX, "h": i64::MIN, "x": 1.5, "y": "-Infinity", "letter": "🥔", "name": "spud",
        "bytes": [0, 1, 255], "points": [{"x": 0.0, "y": 1.0}], "pair": [7, "seven"],
        "shape": {"rectangle": [{"x": 0.0, "y": 0.0}, {"x": 2.0, "y": 3.0}]}, "color": "green",
        "perms": ["read", "execute"], "note": null, "maybe-maybe": {"some": null},
        "outcome": {"err": "nope"}, "ok-only": {"ok": "fine"}, "err-only": {"ok": null}, "neither": {"err": null}
    });
    let r = spud
        .call("typed.echo-everything", &json!({"x": everything}))
        .await
        .unwrap();
    assert_eq!(ok(&r.outcome), &everything);

    let r = spud
        .call("typed.area", &json!({"s": {"circle": 1.0}}))
        .await
        .unwrap();
    assert!((ok(&r.outcome).as_f64().unwrap() - std::f64::consts::PI).abs() < 1e-12);
    let r = spud
        .call("typed.area", &json!({"s": {"empty": null}}))
        .await
        .unwrap();
    assert_eq!(ok(&r.outcome), &json!(0.0));
    let r = spud
        .call("typed.describe-flags", &json!({"p": ["write", "read"]}))
        .await
        .unwrap();
    assert_eq!(ok(&r.outcome), &json!(["read", "write"]));
    let r = spud
        .call("typed.first-char", &json!({"s": ""}))
        .await
        .unwrap();
    assert_eq!(ok(&r.outcome), &json!(null));
    let r = spud.call("typed.max-ints", &json!({})).await.unwrap();
    assert_eq!(
        ok(&r.outcome),
        &json!([
            255,
            127,
            65535,
            32767,
            4294967295u64,
            2147483647,
            u64::MAX,
            i64::MAX
        ])
    );
    // A record of records inside an option, built from a list of records.
    let r = spud
        .call(
            "typed.bounds",
            &json!({"points": [{"x": 1.0, "y": -2.0}, {"x": -3.0, "y": 4.5}]}),
        )
        .await
        .unwrap();
    assert_eq!(
        ok(&r.outcome),
        &json!({"min": {"x": -3.0, "y": -2.0}, "max": {"x": 1.0, "y": 4.5}})
    );
    let r = spud
        .call("typed.bounds", &json!({"points": []}))
        .await
        .unwrap();
    assert_eq!(ok(&r.outcome), &json!(null));
    let r = spud.call("typed.min-ints", &json!({})).await.unwrap();
    assert_eq!(
        ok(&r.outcome),
        &json!([0, -128, 0, -32768, 0, -2147483648i64, 0, i64::MIN])
    );
}

#[tokio::test]
async fn errors_are_typed() {
    let (spud, _h) = typed().await;
    let r = spud
        .call("typed.checked-div", &json!({"a": 7, "b": 2}))
        .await
        .unwrap();
    assert_eq!(ok(&r.outcome), &json!(3));
    let r = spud
        .call("typed.checked-div", &json!({"a": 7, "b": 0}))
        .await
        .unwrap();
    assert_eq!(
        r.outcome,
        Outcome::ToolError {
            error: json!("cannot divide 7 by 0")
        }
    );

    let bad = |input: Value| {
        let spud = &spud;
        async move {
            match spud.call("typed.area", &input).await.unwrap().outcome {
                Outcome::InvalidInput { message } => message,
                other => panic!("expected invalid input, got {other:?}"),
            }
        }
    };
    assert!(bad(json!({"s": {"circle": "big"}}))
        .await
        .starts_with("$.s.circle: expected a number"));
    assert!(bad(json!({"s": {"hexagon": 1}}))
        .await
        .contains("one of the cases circle, rectangle, empty"));
    assert!(bad(json!({"s": {"rectangle": [{"x": 0, "y": 0}]}}))
        .await
        .starts_with("$.s.rectangle: expected an array of exactly 2 items"));
    assert!(bad(json!({})).await.starts_with("$.s: expected"));
    let r = spud
        .call("typed.checked-div", &json!({"a": 2147483648u64, "b": 1}))
        .await
        .unwrap();
    assert!(
        matches!(r.outcome, Outcome::InvalidInput { ref message } if message.starts_with("$.a: expected an integer in -2147483648..=2147483647"))
    );
}
