use super::*;
use proptest::prelude::*;
use serde_json::{json, Value};

fn sig(params: Vec<(&str, WitType)>) -> FuncSig {
    FuncSig {
        name: "f".into(),
        docs: Some("Does f.".into()),
        params: params.into_iter().map(|(n, t)| (n.into(), t)).collect(),
        result: None,
    }
}

fn err_text(t: &WitType, v: Value) -> String {
    json_to_value(t, &v).unwrap_err().to_string()
}

#[test]
fn integers_have_their_real_bounds() {
    assert_eq!(type_schema(&WitType::U8)["maximum"], json!(255));
    assert_eq!(type_schema(&WitType::S64)["minimum"], json!(i64::MIN));
    assert_eq!(type_schema(&WitType::U64)["maximum"], json!(u64::MAX));
    assert_eq!(
        json_to_value(&WitType::U64, &json!(u64::MAX)).unwrap(),
        WitValue::U64(u64::MAX)
    );
    assert_eq!(
        json_to_value(&WitType::S64, &json!(i64::MIN)).unwrap(),
        WitValue::S64(i64::MIN)
    );
    assert_eq!(
        err_text(&WitType::U8, json!(300)),
        "$: expected an integer in 0..=255 (u8), found 300"
    );
    assert!(err_text(&WitType::S8, json!(1.5)).contains("-128..=127"));
    assert!(err_text(&WitType::U32, json!(-1)).contains("0..=4294967295"));
}

#[test]
fn errors_name_the_field_path() {
    let item = WitType::Record(vec![
        ("qty".into(), WitType::U8),
        ("name".into(), WitType::String),
    ]);
    let order = WitType::Record(vec![("items".into(), WitType::List(Box::new(item)))]);
    let s = sig(vec![("order", order)]);
    let input = json!({"order": {"items": [{"qty": 1, "name": "a"}, {"qty": 2, "name": "b"}, {"qty": 300, "name": "c"}]}});
    assert_eq!(
        args_from_json(&s, &input).unwrap_err().to_string(),
        "$.order.items[2].qty: expected an integer in 0..=255 (u8), found 300"
    );
    let e = args_from_json(&s, &json!({"order": {"items": [{"qty": 1}]}}))
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with("$.order.items[0].name: expected") && e.contains("required"),
        "{e}"
    );
    let e = args_from_json(&s, &json!({"order": {"items": []}, "extra": 1}))
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with("$.extra:") && e.contains("known: order"),
        "{e}"
    );
}

#[test]
fn every_kind_of_error() {
    let v = WitType::Variant(vec![
        ("circle".into(), Some(WitType::F64)),
        ("none".into(), None),
    ]);
    assert!(err_text(&v, json!({"square": 1})).contains("one of the cases circle, none"));
    assert!(err_text(&v, json!({"circle": "big"})).starts_with("$.circle: expected a number"));
    assert!(err_text(&v, json!({"none": 1})).contains("no payload"));
    assert_eq!(
        json_to_value(&v, &json!({"none": null})).unwrap(),
        WitValue::Variant("none".into(), None)
    );
    let e = WitType::Enum(vec!["red".into(), "green".into()]);
    assert!(err_text(&e, json!("blue")).contains("one of red, green"));
    let f = WitType::Flags(vec!["read".into(), "write".into()]);
    assert!(err_text(&f, json!(["read", "exec"])).starts_with("$[1]:"));
    assert!(err_text(&f, json!(["read", "read"])).contains("at most once"));
    assert!(err_text(&WitType::Char, json!("ab")).contains("exactly one character"));
    let t = WitType::Tuple(vec![WitType::U8, WitType::String]);
    assert!(err_text(&t, json!([1])).contains("exactly 2 items"));
    assert!(err_text(&WitType::Bool, json!("true")).contains("bool"));
    let r = WitType::Result {
        ok: Some(Box::new(WitType::U8)),
        err: None,
    };
    assert!(err_text(&r, json!({"err": 5})).contains("no payload"));
    assert!(err_text(&r, json!(5)).contains("\"ok\""));
}

#[test]
fn options_are_unambiguous() {
    let oo = WitType::Option(Box::new(WitType::Option(Box::new(WitType::U8))));
    let some_none = WitValue::Option(Some(Box::new(WitValue::Option(None))));
    let j = value_to_json(&oo, &some_none).unwrap();
    assert_eq!(j, json!({"some": null}));
    assert_eq!(json_to_value(&oo, &j).unwrap(), some_none);
    assert_eq!(
        value_to_json(&oo, &WitValue::Option(None)).unwrap(),
        json!(null)
    );
    let rec = WitType::Record(vec![(
        "note".into(),
        WitType::Option(Box::new(WitType::String)),
    )]);
    assert_eq!(
        json_to_value(&rec, &json!({})).unwrap(),
        WitValue::Record(vec![("note".into(), WitValue::Option(None))])
    );
}

#[test]
fn floats_round_trip_non_finite_values() {
    for f in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY, 1.5] {
        let j = value_to_json(&WitType::F64, &WitValue::F64(f)).unwrap();
        match json_to_value(&WitType::F64, &j).unwrap() {
            WitValue::F64(g) => assert!(g == f || (g.is_nan() && f.is_nan())),
            other => panic!("{other:?}"),
        }
    }
}

#[test]
fn callability() {
    let s = sig(vec![("h", WitType::Unsupported("a resource".into()))]);
    assert!(is_callable(&s).unwrap_err().contains("`h`"));
    assert!(is_callable(&sig(vec![("x", WitType::U8)])).is_ok());
    assert_eq!(input_schema(&sig(vec![]))["description"], json!("Does f."));
}

/// A validator for exactly the JSON Schema keywords `type_schema` emits.
fn validates(schema: &Value, v: &Value) -> bool {
    let Value::Object(s) = schema else {
        return true;
    };
    if let Some(Value::Object(not)) = s.get("not") {
        if not.is_empty() {
            return false;
        }
    }
    if let Some(t) = s.get("type").and_then(Value::as_str) {
        let ok = match t {
            "boolean" => v.is_boolean(),
            "integer" => v.is_i64() || v.is_u64(),
            "number" => v.is_number(),
            "string" => v.is_string(),
            "array" => v.is_array(),
            "object" => v.is_object(),
            "null" => v.is_null(),
            _ => false,
        };
        if !ok {
            return false;
        }
    }
    if let Some(min) = s.get("minimum") {
        let below = match (v.as_i64(), v.as_u64(), min.as_i64()) {
            (Some(x), _, Some(m)) => x < m,
            (None, Some(_), Some(_)) => false,
            (_, Some(x), None) => min.as_u64().is_some_and(|m| x < m),
            _ => false,
        };
        if below {
            return false;
        }
    }
    if let Some(max) = s.get("maximum") {
        let above = match (v.as_u64(), v.as_i64()) {
            (Some(x), _) => max.as_u64().is_none_or(|m| x > m),
            (None, Some(x)) => max.as_i64().is_some_and(|m| x > m),
            _ => false,
        };
        if above {
            return false;
        }
    }
    if let Some(Value::Array(options)) = s.get("enum") {
        if !options.contains(v) {
            return false;
        }
    }
    if let Some(Value::Array(any)) = s.get("anyOf") {
        if !any.iter().any(|x| validates(x, v)) {
            return false;
        }
    }
    if let Some(Value::Array(one)) = s.get("oneOf") {
        if one.iter().filter(|x| validates(x, v)).count() != 1 {
            return false;
        }
    }
    if let Value::String(text) = v {
        let n = text.chars().count() as u64;
        if s.get("minLength")
            .and_then(Value::as_u64)
            .is_some_and(|m| n < m)
            || s.get("maxLength")
                .and_then(Value::as_u64)
                .is_some_and(|m| n > m)
        {
            return false;
        }
    }
    if let Value::Array(items) = v {
        let n = items.len() as u64;
        if s.get("minItems")
            .and_then(Value::as_u64)
            .is_some_and(|m| n < m)
            || s.get("maxItems")
                .and_then(Value::as_u64)
                .is_some_and(|m| n > m)
        {
            return false;
        }
        let prefix = s
            .get("prefixItems")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        for (i, x) in items.iter().enumerate() {
            let ok = match prefix.get(i) {
                Some(p) => validates(p, x),
                None => match s.get("items") {
                    Some(Value::Bool(false)) => false,
                    Some(item) => validates(item, x),
                    None => true,
                },
            };
            if !ok {
                return false;
            }
        }
        if s.get("uniqueItems") == Some(&json!(true))
            && items
                .iter()
                .enumerate()
                .any(|(i, x)| items[..i].contains(x))
        {
            return false;
        }
    }
    if let Value::Object(m) = v {
        let props = s.get("properties").and_then(Value::as_object);
        if let Some(Value::Array(req)) = s.get("required") {
            if req
                .iter()
                .any(|r| r.as_str().is_some_and(|r| !m.contains_key(r)))
            {
                return false;
            }
        }
        for (k, x) in m {
            match props.and_then(|p| p.get(k)) {
                Some(p) => {
                    if !validates(p, x) {
                        return false;
                    }
                }
                None => {
                    if s.get("additionalProperties") == Some(&json!(false)) {
                        return false;
                    }
                }
            }
        }
    }
    true
}

fn names() -> impl Strategy<Value = Vec<String>> {
    prop::collection::btree_set("[a-z][a-z0-9-]{0,6}", 1..4).prop_map(|s| s.into_iter().collect())
}

fn arb_type() -> impl Strategy<Value = WitType> {
    let leaf = prop_oneof![
        Just(WitType::Bool),
        Just(WitType::S8),
        Just(WitType::S16),
        Just(WitType::S32),
        Just(WitType::S64),
        Just(WitType::U8),
        Just(WitType::U16),
        Just(WitType::U32),
        Just(WitType::U64),
        Just(WitType::F32),
        Just(WitType::F64),
        Just(WitType::Char),
        Just(WitType::String),
        names().prop_map(WitType::Enum),
        names().prop_map(WitType::Flags),
    ];
    leaf.prop_recursive(4, 32, 4, |inner| {
        prop_oneof![
            inner.clone().prop_map(|t| WitType::List(Box::new(t))),
            inner.clone().prop_map(|t| WitType::Option(Box::new(t))),
            prop::collection::vec(inner.clone(), 1..4).prop_map(WitType::Tuple),
            (names(), prop::collection::vec(inner.clone(), 4))
                .prop_map(|(n, ts)| WitType::Record(n.into_iter().zip(ts).collect())),
            (
                names(),
                prop::collection::vec(prop::option::of(inner.clone()), 4)
            )
                .prop_map(|(n, ts)| WitType::Variant(n.into_iter().zip(ts).collect())),
            (prop::option::of(inner.clone()), prop::option::of(inner)).prop_map(|(ok, err)| {
                WitType::Result {
                    ok: ok.map(Box::new),
                    err: err.map(Box::new),
                }
            }),
        ]
    })
}

fn arb_value(t: &WitType) -> BoxedStrategy<WitValue> {
    match t.clone() {
        WitType::Bool => any::<bool>().prop_map(WitValue::Bool).boxed(),
        WitType::S8 => any::<i8>().prop_map(WitValue::S8).boxed(),
        WitType::S16 => any::<i16>().prop_map(WitValue::S16).boxed(),
        WitType::S32 => any::<i32>().prop_map(WitValue::S32).boxed(),
        WitType::S64 => any::<i64>().prop_map(WitValue::S64).boxed(),
        WitType::U8 => any::<u8>().prop_map(WitValue::U8).boxed(),
        WitType::U16 => any::<u16>().prop_map(WitValue::U16).boxed(),
        WitType::U32 => any::<u32>().prop_map(WitValue::U32).boxed(),
        WitType::U64 => any::<u64>().prop_map(WitValue::U64).boxed(),
        WitType::F32 => any::<f32>().prop_map(WitValue::F32).boxed(),
        WitType::F64 => any::<f64>().prop_map(WitValue::F64).boxed(),
        WitType::Char => any::<char>().prop_map(WitValue::Char).boxed(),
        WitType::String => any::<String>().prop_map(WitValue::String).boxed(),
        WitType::Enum(n) => prop::sample::select(n).prop_map(WitValue::Enum).boxed(),
        WitType::Flags(n) => prop::sample::subsequence(n.clone(), 0..=n.len())
            .prop_map(WitValue::Flags)
            .boxed(),
        WitType::List(inner) => prop::collection::vec(arb_value(&inner), 0..3)
            .prop_map(WitValue::List)
            .boxed(),
        WitType::Option(inner) => prop::option::of(arb_value(&inner))
            .prop_map(|v| WitValue::Option(v.map(Box::new)))
            .boxed(),
        WitType::Tuple(ts) => ts
            .iter()
            .map(arb_value)
            .collect::<Vec<_>>()
            .prop_map(WitValue::Tuple)
            .boxed(),
        WitType::Record(fields) => {
            let names: Vec<String> = fields.iter().map(|(n, _)| n.clone()).collect();
            fields
                .iter()
                .map(|(_, t)| arb_value(t))
                .collect::<Vec<_>>()
                .prop_map(move |vs| WitValue::Record(names.iter().cloned().zip(vs).collect()))
                .boxed()
        }
        WitType::Variant(cases) => prop::sample::select(cases)
            .prop_flat_map(|(name, t)| match t {
                Some(t) => arb_value(&t)
                    .prop_map(move |v| WitValue::Variant(name.clone(), Some(Box::new(v))))
                    .boxed(),
                None => Just(WitValue::Variant(name, None)).boxed(),
            })
            .boxed(),
        WitType::Result { ok, err } => {
            let side = |t: Option<Box<WitType>>| match t {
                Some(t) => arb_value(&t).prop_map(|v| Some(Box::new(v))).boxed(),
                None => Just(None).boxed(),
            };
            prop_oneof![
                side(ok).prop_map(|v| WitValue::Result(Ok(v))),
                side(err).prop_map(|v| WitValue::Result(Err(v)))
            ]
            .boxed()
        }
        WitType::Unsupported(_) => Just(WitValue::Bool(false)).boxed(),
    }
}

/// Equality where NaN equals NaN and f32 values compare after their JSON round trip.
fn same(a: &WitValue, b: &WitValue) -> bool {
    match (a, b) {
        (WitValue::F32(x), WitValue::F32(y)) => x == y || (x.is_nan() && y.is_nan()),
        (WitValue::F64(x), WitValue::F64(y)) => x == y || (x.is_nan() && y.is_nan()),
        (WitValue::List(x), WitValue::List(y)) | (WitValue::Tuple(x), WitValue::Tuple(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| same(a, b))
        }
        (WitValue::Record(x), WitValue::Record(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| a.0 == b.0 && same(&a.1, &b.1))
        }
        (WitValue::Variant(n, x), WitValue::Variant(m, y)) => n == m && same_opt(x, y),
        (WitValue::Option(x), WitValue::Option(y)) => same_opt(x, y),
        (WitValue::Result(Ok(x)), WitValue::Result(Ok(y)))
        | (WitValue::Result(Err(x)), WitValue::Result(Err(y))) => same_opt(x, y),
        _ => a == b,
    }
}

fn same_opt(a: &Option<Box<WitValue>>, b: &Option<Box<WitValue>>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => same(a, b),
        (None, None) => true,
        _ => false,
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]
    #[test]
    fn json_round_trip_and_schema_agree((t, v) in arb_type().prop_flat_map(|t| { let s = arb_value(&t); (Just(t), s) })) {
        let j = value_to_json(&t, &v).unwrap();
        let back = json_to_value(&t, &j).unwrap();
        prop_assert!(same(&v, &back), "{v:?} -> {j} -> {back:?}");
        let schema = type_schema(&t);
        prop_assert!(validates(&schema, &j), "{j} does not validate against {schema}");
    }

    #[test]
    fn what_the_schema_rejects_the_converter_rejects(t in arb_type(), j in any::<i64>().prop_map(|n| json!(n))) {
        // A random integer: accepted by the converter exactly when the schema accepts it.
        prop_assert_eq!(json_to_value(&t, &j).is_ok(), validates(&type_schema(&t), &j));
    }
}

#[cfg(feature = "component")]
#[test]
fn docs_come_from_the_component() {
    let wit = r#"
package example:docs@0.1.0;
interface shapes {
    /// A circle.
    record circle { radius: f64 }
    /// The area of a circle.
    area: func(c: circle) -> f64;
}
world tools {
    export shapes;
    /// Greets someone.
    export greet: func(name: string) -> string;
}
"#;
    let mut resolve = wit_parser::Resolve::default();
    let pkg = resolve.push_str("docs.wit", wit).unwrap();
    let world = resolve.select_world(&[pkg], Some("tools")).unwrap();
    let mut module =
        wit_component::dummy_module(&resolve, world, wit_parser::ManglingAndAbi::Standard32);
    wit_component::embed_component_metadata(
        &mut module,
        &resolve,
        world,
        wit_component::StringEncoding::UTF8,
    )
    .unwrap();
    let component = wit_component::ComponentEncoder::default()
        .module(&module)
        .unwrap()
        .validate(true)
        .encode()
        .unwrap();
    let funcs = exported_functions(&component).unwrap();
    let greet = funcs.iter().find(|f| f.sig.name == "greet").unwrap();
    assert_eq!(greet.interface, None);
    let area = funcs.iter().find(|f| f.sig.name == "area").unwrap();
    assert_eq!(area.interface.as_deref(), Some("example:docs/shapes@0.1.0"));
    assert_eq!(
        area.sig.params[0].1,
        WitType::Record(vec![("radius".into(), WitType::F64)])
    );

    // Toolchains do not embed docs; they come from the WIT source.
    let dir = std::env::temp_dir().join(format!("spud-schema-docs-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("docs.wit"), wit).unwrap();
    let docs = docs_from_wit(&dir).unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(docs[&(None, "greet".to_string())], "Greets someone.");
    assert_eq!(
        docs[&(
            Some("example:docs/shapes@0.1.0".to_string()),
            "area".to_string()
        )],
        "The area of a circle."
    );
}
