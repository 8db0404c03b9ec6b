use super::*;
use base64::engine::general_purpose::{STANDARD, URL_SAFE};
use proptest::prelude::*;

/// Encodes `bytes` in the `form`-th of the forms the scanner promises to catch.
fn encode(form: usize, secret: &str, before: &[u8], after: &[u8]) -> String {
    let stream = [before, secret.as_bytes(), after].concat();
    let percent = |keep: fn(u8) -> bool, upper: bool| {
        secret
            .bytes()
            .map(|b| match (keep(b), upper) {
                (true, _) => (b as char).to_string(),
                (false, true) => format!("%{b:02X}"),
                (false, false) => format!("%{b:02x}"),
            })
            .collect::<String>()
    };
    match form {
        0 => secret.to_string(),
        1 => secret.chars().rev().collect(),
        2 => STANDARD.encode(&stream),
        3 => STANDARD_NO_PAD.encode(&stream),
        4 => URL_SAFE.encode(&stream),
        5 => URL_SAFE_NO_PAD.encode(&stream),
        6 => hex::encode(secret),
        7 => hex::encode_upper(secret),
        8 => percent(|_| false, true),
        9 => percent(|b| b.is_ascii_alphanumeric(), false),
        10 => percent(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b), true),
        11 => serde_json::to_string(secret).unwrap_or_default(),
        12 => secret
            .encode_utf16()
            .map(|u| format!("\\u{u:04X}"))
            .collect(),
        _ => serde_json::to_string(secret)
            .unwrap_or_default()
            .replace('/', "\\/"),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn a_secret_in_any_listed_form_is_caught(
        secret in prop_oneof!["[ -~]{4,40}", "\\PC{4,16}"],
        other in "[ -~]{4,20}",
        form in 0usize..14,
        before in proptest::collection::vec(any::<u8>(), 0..8),
        after in proptest::collection::vec(any::<u8>(), 0..8),
        left in "\\PC{0,40}",
        right in "\\PC{0,40}",
    ) {
        let scanner = Scanner::new(&[other, secret.clone()]);
        let encoded = encode(form, &secret, &before, &after);
        // A `%` just before a percent-encoded value could take its first bytes into an escape.
        let (left, right) = (left.replace('%', ""), right.replace('%', ""));
        let text = format!("{left}{encoded}{right}");
        prop_assert!(scanner.found(&text).contains(&1), "form {form}: {text:?}");
        prop_assert!(scanner.contains(&text));
        let clean = scanner.redact(&text, "[REDACTED]");
        prop_assert!(!scanner.found(&clean).contains(&1) || form >= 2, "{clean:?}");
    }

    #[test]
    fn redaction_never_panics_and_removes_literals(
        secret in "\\PC{4,12}",
        text in "\\PC{0,60}",
        at in 0usize..60,
    ) {
        let scanner = Scanner::new(std::slice::from_ref(&secret));
        let cut = text.char_indices().map(|(i, _)| i).find(|i| *i >= at).unwrap_or(text.len());
        let text = format!("{}{secret}{}", &text[..cut], &text[cut..]);
        let clean = scanner.redact(&text, "[REDACTED]");
        prop_assert!(!clean.contains(&secret), "{clean:?}");
    }
}

#[test]
fn every_form_of_one_value() {
    let s = Scanner::new(&["tok-123456/é"]);
    let hits = |t: &str| {
        let mut e: Vec<Encoding> = s.hits(t).into_iter().map(|h| h.encoding).collect();
        e.sort();
        e.dedup();
        e
    };
    assert_eq!(hits("x tok-123456/é y"), [Encoding::Literal]);
    assert_eq!(hits("é/654321-kot"), [Encoding::Reversed]);
    assert_eq!(hits(&hex::encode_upper("tok-123456/é")), [Encoding::Hex]);
    assert_eq!(hits("tok-123456\\/\\u00e9"), [Encoding::Json]);
    assert_eq!(hits("q=tok-123456%2F%C3%A9&x=1"), [Encoding::Percent]);
    assert_eq!(hits(&STANDARD.encode("xxtok-123456/é")), [Encoding::Base64]);
    assert!(
        s.hits("tok-12345 6").is_empty(),
        "a split value is not caught"
    );
    assert!(Scanner::new::<&str>(&[]).hits("anything").is_empty());
}

#[test]
fn redaction_covers_overlaps_and_maps_percent_back() {
    let s = Scanner::new(&["abcdef", "cdefgh"]);
    assert_eq!(
        s.found("..abcdefgh.."),
        [0, 1],
        "overlapping values are both found"
    );
    assert_eq!(s.redact("..abcdefgh..", "[R]"), "..[R]..");
    let s = Scanner::new(&["secret"]);
    assert_eq!(s.redact("a=%73ecr%65t&b=2", "[R]"), "a=[R]&b=2");
    assert_eq!(s.redact("secret", "[R]"), "[R]");
    assert_eq!(s.redact("no%zzthing%", "[R]"), "no%zzthing%");
}
