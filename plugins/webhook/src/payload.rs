//! The JSON body of a webhook message, per service (pure).

use serde_json::{json, Value};
use spud_sdk::prelude::*;

/// Which service's message format.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// Slack incoming webhooks (and Slack-compatible ones): `text` plus Block Kit blocks.
    Slack,
    /// Microsoft Teams incoming webhooks / workflows: one Adaptive Card.
    Teams,
    /// Any JSON endpoint: `{title, text, fields}` or `payload` as given.
    #[default]
    Json,
}

/// One name/value fact.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Field {
    /// The name.
    pub name: String,
    /// The value.
    pub value: String,
}

/// Slack shows at most ten fields per section.
const SLACK_FIELDS_PER_SECTION: usize = 10;

/// The body to post: for Slack, `text` (the notification's fallback) and blocks (header,
/// message, fields); for Teams, a message with one Adaptive Card; for JSON, `payload` or
/// `{title, text, fields}`.
pub fn payload(
    format: Format,
    title: Option<&str>,
    text: &str,
    fields: &[Field],
    payload: Option<Value>,
) -> Result<Value, String> {
    if payload.is_some() && format != Format::Json {
        return Err("`payload` goes only with format `json`; for Slack and Teams give `text`, `title` and `fields`".into());
    }
    if payload.is_none() && text.trim().is_empty() && title.is_none() && fields.is_empty() {
        return Err(
            "nothing to post: give `text` (or `title`, `fields`, or a `payload` for json)".into(),
        );
    }
    Ok(match format {
        Format::Slack => slack(title, text, fields),
        Format::Teams => teams(title, text, fields),
        Format::Json => payload.unwrap_or_else(|| {
            let fields: serde_json::Map<String, Value> = fields
                .iter()
                .map(|f| (f.name.clone(), Value::String(f.value.clone())))
                .collect();
            json!({"title": title, "text": text, "fields": fields})
        }),
    })
}

fn slack(title: Option<&str>, text: &str, fields: &[Field]) -> Value {
    let mut blocks = Vec::new();
    if let Some(t) = title {
        blocks.push(json!({"type": "header", "text": {"type": "plain_text", "text": t}}));
    }
    if !text.trim().is_empty() {
        blocks.push(json!({"type": "section", "text": {"type": "mrkdwn", "text": text}}));
    }
    for chunk in fields.chunks(SLACK_FIELDS_PER_SECTION) {
        let f: Vec<Value> = chunk
            .iter()
            .map(|f| json!({"type": "mrkdwn", "text": format!("*{}*\n{}", f.name, f.value)}))
            .collect();
        blocks.push(json!({"type": "section", "fields": f}));
    }
    let fallback = match title {
        Some(t) if !text.trim().is_empty() => format!("{t}: {text}"),
        Some(t) => t.to_string(),
        None => text.to_string(),
    };
    json!({"text": fallback, "blocks": blocks})
}

fn teams(title: Option<&str>, text: &str, fields: &[Field]) -> Value {
    let mut body = Vec::new();
    if let Some(t) = title {
        body.push(json!({"type": "TextBlock", "text": t, "weight": "Bolder", "size": "Medium", "wrap": true}));
    }
    if !text.trim().is_empty() {
        body.push(json!({"type": "TextBlock", "text": text, "wrap": true}));
    }
    if !fields.is_empty() {
        let facts: Vec<Value> = fields
            .iter()
            .map(|f| json!({"title": f.name, "value": f.value}))
            .collect();
        body.push(json!({"type": "FactSet", "facts": facts}));
    }
    json!({
        "type": "message",
        "attachments": [{
            "contentType": "application/vnd.microsoft.card.adaptive",
            "contentUrl": null,
            "content": {
                "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                "type": "AdaptiveCard",
                "version": "1.4",
                "body": body,
            }
        }]
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(n: &str, v: &str) -> Field {
        Field {
            name: n.into(),
            value: v.into(),
        }
    }

    #[test]
    fn slack_gets_a_fallback_text_and_blocks() {
        let fields: Vec<Field> = (0..11).map(|i| field(&format!("k{i}"), "v")).collect();
        let v = payload(Format::Slack, Some("Stock"), "2 items *low*", &fields, None).unwrap();
        assert_eq!(v["text"], "Stock: 2 items *low*");
        let blocks = v["blocks"].as_array().unwrap();
        assert_eq!(blocks[0]["type"], "header");
        assert_eq!(blocks[1]["text"]["type"], "mrkdwn");
        assert_eq!(blocks[2]["fields"].as_array().unwrap().len(), 10);
        assert_eq!(blocks[3]["fields"][0]["text"], "*k10*\nv");
        let v = payload(Format::Slack, None, "hi", &[], None).unwrap();
        assert_eq!(
            v,
            json!({"text": "hi", "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "hi"}}]})
        );
    }

    #[test]
    fn teams_gets_an_adaptive_card() {
        let v = payload(Format::Teams, Some("T"), "body", &[field("a", "1")], None).unwrap();
        assert_eq!(v["type"], "message");
        let card = &v["attachments"][0];
        assert_eq!(
            card["contentType"],
            "application/vnd.microsoft.card.adaptive"
        );
        let body = card["content"]["body"].as_array().unwrap();
        assert_eq!(body[0]["text"], "T");
        assert_eq!(body[1]["text"], "body");
        assert_eq!(body[2]["facts"], json!([{"title": "a", "value": "1"}]));
    }

    #[test]
    fn json_sends_the_payload_or_the_message() {
        let p = json!({"event": "low_stock", "skus": ["B-M8"]});
        assert_eq!(
            payload(Format::Json, None, "", &[], Some(p.clone())).unwrap(),
            p
        );
        assert_eq!(
            payload(Format::Json, Some("t"), "x", &[field("a", "1")], None).unwrap(),
            json!({"title": "t", "text": "x", "fields": {"a": "1"}})
        );
        assert!(payload(Format::Slack, None, "x", &[], Some(p)).is_err());
        assert!(payload(Format::Json, None, " ", &[], None)
            .unwrap_err()
            .contains("nothing to post"));
    }
}
