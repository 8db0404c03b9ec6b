//! Export selection and the payload rule.

use super::export::{kind_of, strip_raw, Selection};
use super::*;
use crate::tests::{call_with, ev};

fn record(seq: u64, time: &str, event: Event) -> Record {
    Record {
        seq,
        time: time.into(),
        prev: GENESIS.into(),
        event,
        hash: GENESIS.into(),
    }
}

#[test]
fn selection_by_seq_time_and_kind() {
    let call = record(
        3,
        "2026-12-02T01:00:00.000000Z",
        call_with(Payload::digest_of(b"{}")),
    );
    let reg = record(4, "2026-12-02T02:00:00.000000Z", ev(1));
    assert_eq!(kind_of(&call.event), "call");
    let all = Selection::default();
    assert!(all.matches(&call) && all.matches(&reg));
    let calls = Selection {
        kinds: vec!["call".into()],
        ..Selection::default()
    };
    assert!(calls.matches(&call) && !calls.matches(&reg));
    let late = Selection {
        since: Some("2026-12-02T01:30:00.000000Z".into()),
        ..Selection::default()
    };
    assert!(!late.matches(&call) && late.matches(&reg));
    let from = Selection {
        from_seq: Some(4),
        ..Selection::default()
    };
    assert!(!from.matches(&call) && from.matches(&reg));
}

#[test]
fn raw_payloads_leave_only_where_allowed() {
    let raw = Payload::with_raw(serde_json::json!({"secret": "s3cr3t"}));
    let mut r = record(0, "t", call_with(raw.clone()));
    assert!(!strip_raw(&mut r, |tool| tool == "t.f"));
    let Event::Call(c) = &r.event else { panic!() };
    assert!(c.args.raw.is_some());
    assert!(strip_raw(&mut r, |_| false));
    let Event::Call(c) = &r.event else { panic!() };
    assert_eq!(c.args.raw, None);
    assert_eq!(c.args.sha256, raw.sha256);
    assert!(!serde_json::to_string(&r).unwrap().contains("s3cr3t"));
}

#[cfg(feature = "otlp")]
#[test]
fn a_record_as_an_otlp_log_record() {
    let r = record(
        7,
        "2026-12-02T01:00:00.000001Z",
        call_with(Payload::digest_of(b"{}")),
    );
    let lr = export::to_log_record(&r);
    assert_eq!(lr.event_name, "spud.audit.call");
    assert_eq!(lr.time_unix_nano % 1_000_000_000, 1_000);
    assert!(lr.attributes.iter().any(|a| a.key == "spud.args.sha256"));
    assert!(!lr.attributes.iter().any(|a| a.key == "spud.args.raw"));
    assert!(!export::encode_request(&[r], "spud").is_empty());
}
