//! Records prepared for the tools enterprises already run: selection (`--since`, `--kind`,
//! `--from-seq`), raw payloads removed unless allowed, and (feature `otlp`) OpenTelemetry log
//! records.

use crate::{Event, Payload, Record};

/// Which records to export.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    /// Only records at or after this RFC 3339 UTC time (compared as the log writes times).
    pub since: Option<String>,
    /// Only these kinds (`call`, `capability`, `registry`, `access`); empty: all.
    pub kinds: Vec<String>,
    /// Only records with this seq or later.
    pub from_seq: Option<u64>,
}

impl Selection {
    /// Whether `record` is selected.
    pub fn matches(&self, record: &Record) -> bool {
        self.from_seq.is_none_or(|s| record.seq >= s)
            && self
                .since
                .as_deref()
                .is_none_or(|t| record.time.as_str() >= t)
            && (self.kinds.is_empty() || self.kinds.iter().any(|k| k == kind_of(&record.event)))
    }
}

/// The kinds of records, as `--kind` names them.
pub const KINDS: [&str; 5] = ["call", "capability", "registry", "access", "cache"];

/// A record's kind.
pub fn kind_of(event: &Event) -> &'static str {
    match event {
        Event::Call(_) => "call",
        Event::Capability(_) => "capability",
        Event::Registry(_) => "registry",
        Event::Access(_) => "access",
        Event::Cache(_) => "cache",
    }
}

/// The tool a record is about, if any.
pub fn tool_of(event: &Event) -> Option<&str> {
    match event {
        Event::Call(c) => Some(&c.tool),
        Event::Capability(c) => Some(&c.tool),
        Event::Registry(_) | Event::Access(_) | Event::Cache(_) => None,
    }
}

/// Removes raw arguments and results (keeping digest and size) unless `keep_raw` allows them
/// for the record's tool. Returns whether something was removed.
pub fn strip_raw(record: &mut Record, keep_raw: impl Fn(&str) -> bool) -> bool {
    let Event::Call(call) = &mut record.event else {
        return false;
    };
    if keep_raw(&call.tool) {
        return false;
    }
    let strip = |p: &mut Payload| p.raw.take().is_some();
    let a = strip(&mut call.args);
    let r = strip(&mut call.result);
    a || r
}

#[cfg(feature = "otlp")]
pub use otlp::{encode_request, to_log_record};

#[cfg(feature = "otlp")]
mod otlp {
    use super::kind_of;
    use crate::{Event, Record};
    use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
    use opentelemetry_proto::tonic::common::v1::{
        any_value::Value, AnyValue, InstrumentationScope, KeyValue,
    };
    use opentelemetry_proto::tonic::logs::v1::{
        LogRecord, ResourceLogs, ScopeLogs, SeverityNumber,
    };
    use opentelemetry_proto::tonic::resource::v1::Resource;
    use prost::Message;

    fn kv(key: &str, value: Value) -> KeyValue {
        KeyValue {
            key: key.to_string(),
            value: Some(AnyValue { value: Some(value) }),
            ..Default::default()
        }
    }

    /// The event's fields as `spud.<field>` attributes; a payload becomes
    /// `spud.<field>.sha256`, `spud.<field>.bytes` (and its raw JSON text when kept).
    fn attributes(prefix: &str, value: &serde_json::Value, out: &mut Vec<KeyValue>) {
        use serde_json::Value as J;
        match value {
            J::Object(map) => {
                for (k, v) in map {
                    if k == "raw" {
                        out.push(kv(
                            &format!("{prefix}.raw"),
                            Value::StringValue(v.to_string()),
                        ));
                    } else {
                        attributes(&format!("{prefix}.{k}"), v, out);
                    }
                }
            }
            J::String(s) => out.push(kv(prefix, Value::StringValue(s.clone()))),
            J::Bool(b) => out.push(kv(prefix, Value::BoolValue(*b))),
            J::Number(n) => match n.as_i64() {
                Some(i) => out.push(kv(prefix, Value::IntValue(i))),
                None => out.push(kv(prefix, Value::StringValue(n.to_string()))),
            },
            J::Null | J::Array(_) => out.push(kv(prefix, Value::StringValue(value.to_string()))),
        }
    }

    /// Whether the record is about something refused or failed.
    fn is_warning(event: &Event) -> bool {
        match event {
            Event::Call(c) => c.outcome != "ok",
            Event::Capability(c) => c.decision != "allowed",
            Event::Access(a) => !a.action.starts_with("serve_"),
            Event::Registry(_) => false,
            Event::Cache(_) => true,
        }
    }

    /// One record as an OpenTelemetry log record: its time, a severity (WARN for denials and
    /// failed calls), `event_name` `spud.audit.<kind>`, the event's JSON as the body and its
    /// fields plus `spud.audit.seq`/`hash`/`prev` as attributes.
    pub fn to_log_record(record: &Record) -> LogRecord {
        let nanos = humantime::parse_rfc3339(&record.time)
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX));
        let event = serde_json::to_value(&record.event).unwrap_or_default();
        let mut attrs = vec![
            kv("spud.audit.seq", Value::IntValue(record.seq as i64)),
            kv("spud.audit.hash", Value::StringValue(record.hash.clone())),
            kv("spud.audit.prev", Value::StringValue(record.prev.clone())),
        ];
        attributes("spud", &event, &mut attrs);
        let (severity, text) = if is_warning(&record.event) {
            (SeverityNumber::Warn, "WARN")
        } else {
            (SeverityNumber::Info, "INFO")
        };
        LogRecord {
            time_unix_nano: nanos,
            observed_time_unix_nano: nanos,
            severity_number: severity as i32,
            severity_text: text.into(),
            body: Some(AnyValue {
                value: Some(Value::StringValue(event.to_string())),
            }),
            attributes: attrs,
            event_name: format!("spud.audit.{}", kind_of(&record.event)),
            ..Default::default()
        }
    }

    /// The protobuf body of one OTLP/HTTP `POST /v1/logs` carrying `records`, under resource
    /// `service.name` = `service` and scope `spud.audit`.
    pub fn encode_request(records: &[Record], service: &str) -> Vec<u8> {
        let request = ExportLogsServiceRequest {
            resource_logs: vec![ResourceLogs {
                resource: Some(Resource {
                    attributes: vec![kv("service.name", Value::StringValue(service.into()))],
                    ..Default::default()
                }),
                scope_logs: vec![ScopeLogs {
                    scope: Some(InstrumentationScope {
                        name: "spud.audit".into(),
                        version: env!("CARGO_PKG_VERSION").into(),
                        ..Default::default()
                    }),
                    log_records: records.iter().map(to_log_record).collect(),
                    ..Default::default()
                }],
                ..Default::default()
            }],
        };
        request.encode_to_vec()
    }
}
