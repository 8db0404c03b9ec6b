use super::*;
use proptest::prelude::*;

fn doc() -> Value {
    json!({
        "openapi": "3.1.0",
        "info": {"title": "shop", "version": "1"},
        "paths": {
            "/items/{item_id}": {
                "parameters": [{"$ref": "#/components/parameters/ItemId"}],
                "get": {
                    "operationId": "get_item",
                    "summary": "Read one item",
                    "parameters": [
                        {"name": "fields", "in": "query", "schema": {"type": "array", "items": {"type": "string"}}},
                        {"name": "session", "in": "cookie", "schema": {"type": "string"}}
                    ]
                },
                "put": {
                    "operationId": "put_item",
                    "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Item"}}}}
                }
            },
            "/items": {
                "get": {"operationId": "list_items", "parameters": [
                    {"name": "limit", "in": "query", "required": false, "description": "at most", "schema": {"type": "integer"}},
                    {"name": "X-Trace", "in": "header", "schema": {"type": "string"}}
                ]}
            }
        },
        "components": {
            "parameters": {"ItemId": {"name": "item_id", "in": "path", "required": true, "schema": {"type": "integer"}}},
            "schemas": {
                "Item": {"type": "object", "required": ["name"], "properties": {
                    "name": {"type": "string"}, "tags": {"type": "array", "items": {"$ref": "#/components/schemas/Tag"}},
                    "parent": {"$ref": "#/components/schemas/Item"}
                }},
                "Tag": {"type": "string"}
            }
        }
    })
}

fn op(id: &str) -> Operation {
    operations(&doc())
        .unwrap()
        .into_iter()
        .find(|o| o.id == id)
        .unwrap()
}

#[test]
fn each_operation_is_a_tool_with_its_schema() {
    let ops = operations(&doc()).unwrap();
    let ids: Vec<&str> = ops.iter().map(|o| o.id.as_str()).collect();
    assert_eq!(ids, ["list_items", "get_item", "put_item"]);
    let get = op("get_item");
    assert_eq!(get.description, "Read one item");
    // The path-level parameter (a $ref) is there; the cookie one is not.
    assert_eq!(
        get.input_schema["properties"]["item_id"],
        json!({"type": "integer"})
    );
    assert_eq!(get.input_schema["required"], json!(["item_id"]));
    assert!(get.input_schema["properties"].get("session").is_none());
    let list = op("list_items");
    assert_eq!(
        list.input_schema["properties"]["limit"]["description"],
        "at most"
    );
    assert_eq!(list.input_schema["required"], json!([]));
    let put = op("put_item");
    assert_eq!(put.body.as_deref(), Some("application/json"));
    let body = &put.input_schema["properties"]["body"];
    assert_eq!(
        body["properties"]["tags"]["items"],
        json!({"type": "string"})
    );
    // A recursive schema is cut to "any value" at a fixed depth: finite.
    assert!(body.to_string().len() < 100_000);
    assert_eq!(put.input_schema["required"], json!(["item_id", "body"]));
    assert_eq!(put.input_schema["additionalProperties"], json!(false));
}

#[test]
fn bad_documents_are_typed_errors() {
    assert!(matches!(parse_document("{"), Err(OpenApiError::Syntax(_))));
    assert!(matches!(
        parse_document(r#"{"swagger": "2.0"}"#),
        Err(OpenApiError::Version(_))
    ));
    let mut d = doc();
    d["paths"]["/items"]["get"]["parameters"][0] = json!({"$ref": "#/components/parameters/Nope"});
    assert!(matches!(operations(&d), Err(OpenApiError::Ref { .. })));
    let mut d = doc();
    d["paths"]["/items"]["get"]
        .as_object_mut()
        .unwrap()
        .remove("operationId");
    let e = operations(&d).unwrap_err().to_string();
    assert!(e.contains("GET /items has no operationId"), "{e}");
    let mut d = doc();
    d["paths"]["/items"]["get"]["operationId"] = json!("get_item");
    assert!(operations(&d)
        .unwrap_err()
        .to_string()
        .contains("used twice"));
    assert_eq!(
        operations(&json!({"openapi": "3.0.0", "paths": {}})),
        Err(OpenApiError::Empty)
    );
}

#[cfg(feature = "yaml")]
#[test]
fn yaml_documents_read_like_json() {
    let y = "openapi: 3.0.3\ninfo: {title: t, version: '1'}\npaths:\n  /ping:\n    get:\n      operationId: ping\n";
    let ops = operations(&parse_document(y).unwrap()).unwrap();
    assert_eq!(ops[0].id, "ping");
    assert_eq!(ops[0].method, "GET");
}

#[test]
fn requests_are_built_from_arguments() {
    let r = build_request(
        &op("get_item"),
        "http://127.0.0.1:9/api/",
        &json!({"item_id": 7, "fields": ["a b", "c"]}),
    )
    .unwrap();
    assert_eq!(r.method, "GET");
    assert_eq!(
        r.url,
        "http://127.0.0.1:9/api/items/7?fields=a%20b&fields=c"
    );
    let r = build_request(
        &op("list_items"),
        "http://h",
        &json!({"limit": 2, "X-Trace": "t1"}),
    )
    .unwrap();
    assert_eq!(r.url, "http://h/items?limit=2");
    assert_eq!(r.headers, [("x-trace".to_string(), "t1".to_string())]);
    let r = build_request(
        &op("put_item"),
        "http://h",
        &json!({"item_id": 1, "body": {"name": "x"}}),
    )
    .unwrap();
    assert_eq!(r.body.as_deref(), Some(&br#"{"name":"x"}"#[..]));
    assert!(r
        .headers
        .contains(&("content-type".into(), "application/json".into())));

    let e = |args: Value| build_request(&op("put_item"), "http://h", &args).unwrap_err();
    assert_eq!(e(json!({"item_id": 1})), BuildError::Missing("body".into()));
    assert_eq!(
        e(json!({"body": {}})),
        BuildError::Missing("item_id".into())
    );
    assert_eq!(
        e(json!({"item_id": 1, "body": {}, "x": 1})),
        BuildError::Unknown("x".into())
    );
    assert_eq!(
        e(json!({"item_id": {"a": 1}, "body": {}})),
        BuildError::NotPlain("item_id".into())
    );
    assert_eq!(e(json!([1])), BuildError::NotAnObject);
    assert!(build_request(&op("list_items"), "ftp://h", &json!({})).is_err());
    assert!(build_request(&op("list_items"), "http://h", &json!({"X-Trace": "a\nb"})).is_err());
}

proptest! {
    /// Whatever a path argument holds, it stays one path segment: no `/`, `?` or `#` of its
    /// own reaches the URL, and it decodes back to itself.
    #[test]
    fn a_path_argument_stays_one_segment(s in "\\PC{0,24}") {
        let r = build_request(&op("get_item"), "http://h", &json!({"item_id": s})).unwrap();
        let seg = r.url.strip_prefix("http://h/items/").unwrap();
        prop_assert!(!seg.contains('/') && !seg.contains('?') && !seg.contains('#'));
        let back = percent_encoding::percent_decode_str(seg).decode_utf8().unwrap();
        prop_assert_eq!(back, s);
    }
}
