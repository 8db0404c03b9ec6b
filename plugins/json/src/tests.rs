//! Native tests of `query` and `transform`.

use super::*;
use serde_json::json;

fn doc() -> Value {
    json!({
        "store": {
            "book": [
                {"title": "A", "price": 8, "tags": ["x"]},
                {"title": "B", "price": 12},
                {"title": "C", "price": 5}
            ],
            "owner": "kim"
        }
    })
}

fn run(operations: Value) -> Result<TransformOutput, ToolError> {
    let input = json!({"document": doc(), "operations": operations});
    transform(serde_json::from_value(input).expect("valid input"))
}

#[test]
fn query_returns_nodes_with_normalized_paths() {
    let out = query(QueryInput {
        document: doc(),
        path: "$.store.book[?@.price < 10].title".into(),
    })
    .expect("query");
    assert_eq!(
        out.matches,
        vec![
            Match {
                path: "$['store']['book'][0]['title']".into(),
                value: json!("A")
            },
            Match {
                path: "$['store']['book'][2]['title']".into(),
                value: json!("C")
            },
        ]
    );
}

#[test]
fn bad_paths_are_named() {
    let err = query(QueryInput {
        document: doc(),
        path: "$.store[".into(),
    })
    .unwrap_err();
    assert!(
        err.message().starts_with("invalid JSONPath `$.store[`"),
        "{err}"
    );
    let err =
        run(json!([{"op": "delete", "path": "$.a"}, {"op": "pick", "path": "store"}])).unwrap_err();
    assert!(
        err.message()
            .starts_with("operation 2 (pick `store`): invalid JSONPath `store`"),
        "{err}"
    );
}

#[test]
fn set_replaces_matches_and_creates_plain_paths() {
    let out = run(json!([
        {"op": "set", "path": "$.store.book[*].price", "value": 1},
        {"op": "set", "path": "$.store.manager.name", "value": "lee"},
        {"op": "set", "path": "$.store.book[0].tags[1]", "value": "y"},
        {"op": "set", "path": "$['store']['note']", "value": null}
    ]))
    .expect("transform");
    let d = &out.document;
    assert_eq!(d["store"]["book"][1]["price"], 1);
    assert_eq!(d["store"]["manager"], json!({"name": "lee"}));
    assert_eq!(d["store"]["book"][0]["tags"], json!(["x", "y"]));
    assert!(d["store"]
        .as_object()
        .is_some_and(|m| m.contains_key("note")));
    assert_eq!(out.matched, vec![3, 1, 1, 1]);
}

#[test]
fn set_refuses_what_it_cannot_create() {
    let err = run(json!([{"op": "set", "path": "$..missing", "value": 1}])).unwrap_err();
    assert!(err.message().contains("only plain paths"), "{err}");
    let err = run(json!([{"op": "set", "path": "$.store.owner.first", "value": 1}])).unwrap_err();
    assert!(
        err.message()
            .contains("`$[\"store\"][\"owner\"]` is a string, not an object"),
        "{err}"
    );
    let err = run(json!([{"op": "set", "path": "$.store.book[7]", "value": 1}])).unwrap_err();
    assert!(err.message().contains("has 3 elements"), "{err}");
    let input = json!({"document": {}, "operations": [{"op": "set", "path": "$.a"}]});
    let err = __spud_plugin()
        .call("transform", &input.to_string())
        .unwrap_err();
    assert!(
        err.starts_with("invalid input for tool `transform`"),
        "{err}"
    );
    assert!(err.contains("missing field `value`"), "{err}");
}

#[test]
fn delete_removes_every_match() {
    let out = run(json!([{"op": "delete", "path": "$.store.book[?@.price > 6]"}])).expect("ok");
    assert_eq!(
        out.document["store"]["book"],
        json!([{"title": "C", "price": 5}])
    );
    assert_eq!(out.matched, vec![2]);
    let out =
        run(json!([{"op": "delete", "path": "$..price"}, {"op": "delete", "path": "$.nope"}]))
            .expect("ok");
    assert_eq!(out.document["store"]["book"][1], json!({"title": "B"}));
    assert_eq!(out.matched, vec![3, 0]);
    let err = run(json!([{"op": "delete", "path": "$"}])).unwrap_err();
    assert!(err.message().contains("whole document"), "{err}");
}

#[test]
fn pick_keeps_only_matches_and_their_parents() {
    let out = run(json!([{"op": "pick", "path": "$.store.book[0,2].title"}])).expect("ok");
    assert_eq!(
        out.document,
        json!({"store": {"book": [{"title": "A"}, {"title": "C"}]}})
    );
    let out = run(json!([{"op": "pick", "path": "$.store.owner"}, {"op": "pick", "path": "$.x"}]))
        .expect("ok");
    assert_eq!(out.document, json!({}));
    assert_eq!(out.matched, vec![1, 0]);
    // A selected ancestor keeps its whole subtree.
    let out =
        run(json!([{"op": "pick", "path": "$.store.book[0]"}, {"op": "pick", "path": "$..title"}]))
            .expect("ok");
    assert_eq!(out.document, json!({"store": {"book": [{"title": "A"}]}}));
}

#[test]
fn plain_path_parser() {
    use crate::singular::parse;
    assert_eq!(
        parse("$.a['b c'][2][\"d\\\"\"]"),
        Some(vec![
            Step::Name("a".into()),
            Step::Name("b c".into()),
            Step::Index(2),
            Step::Name("d\"".into())
        ])
    );
    assert_eq!(parse("$"), Some(vec![]));
    for not_plain in ["$.*", "$..a", "$[-1]", "$[0:2]", "$[?@.a]", "a.b", "$[01]"] {
        assert_eq!(parse(not_plain), None, "{not_plain}");
    }
}

#[test]
fn manifest_lists_both_tools() {
    let m = __spud_plugin().manifest();
    let names: Vec<&str> = m.tools.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, ["query", "transform"]);
    assert!(m.requests.files.is_empty() && m.requests.network.is_empty());
}
