//! Unit tests of the wire format.

use super::*;
use serde_json::json;

fn full() -> Manifest {
    Manifest {
        spud_manifest: Some(MANIFEST_FORMAT),
        name: Some("fs".into()),
        version: Some("1.2.0".into()),
        description: Some("Files.".into()),
        requests: Requests::new()
            .file("/data", Access::ReadWrite, "the files")
            .network("https://*.example.com")
            .env("LANG")
            .tcp_connect("127.0.0.1:5432")
            .dns()
            .limits(Limits::new().fuel(5).memory_mb(16)),
        wit: Some("wit".into()),
        tools: vec![ToolInfo {
            name: "read".into(),
            description: "Reads.".into(),
            input_schema: json!({"type": "object"}),
            output_schema: Some(json!({"type": "string"})),
        }],
    }
}

#[test]
fn every_field_round_trips_through_json() {
    let m = full();
    let text = serde_json::to_string(&m).unwrap();
    assert_eq!(serde_json::from_str::<Manifest>(&text).unwrap(), m);
    let v = serde_json::to_value(&m).unwrap();
    assert_eq!(
        v["requests"],
        json!({
            "files": [{"guest": "/data", "access": "read-write", "why": "the files"}],
            "network": ["https://*.example.com"],
            "env": ["LANG"],
            "sockets": {"tcp_connect": ["127.0.0.1:5432"], "dns": true},
            "limits": {"memory_mb": 16, "fuel": 5}
        })
    );
}

#[test]
fn empty_parts_are_left_out_and_unknown_fields_refused() {
    let v = serde_json::to_value(Manifest::default()).unwrap();
    assert_eq!(v, json!({"tools": []}));
    assert!(serde_json::from_str::<Manifest>(r#"{"tools":[],"extra":1}"#).is_err());
    assert!(serde_json::from_str::<Limits>(r#"{"fuel":1,"cpu":2}"#).is_err());
}

#[test]
fn limits_are_one_list() {
    assert_eq!(
        Limits::NAMES,
        [
            "memory_mb",
            "fuel",
            "timeout_ms",
            "stdout_bytes",
            "stderr_bytes",
            "result_bytes"
        ]
    );
    let asked = Limits::new().fuel(7);
    let names: Vec<_> = asked.fields().filter(|(_, v)| v.is_some()).collect();
    assert_eq!(names, [("fuel", Some(7))]);
    let decided = asked.map(|_, v| v.unwrap_or(1));
    assert_eq!(decided.fuel, 7);
    assert_eq!(decided.memory_mb, 1);
    assert_eq!(
        serde_json::to_value(Limits::<u64>::DEFAULT).unwrap()["fuel"],
        2_000_000_000u64
    );
    assert_eq!(
        Limits::new()
            .timeout_ms(3)
            .or(Limits::new().timeout_ms(9).fuel(2)),
        Limits::new().timeout_ms(3).fuel(2)
    );
}
