//! Native tests: URL handling and the redirect logic over a scripted transport.

use super::*;
use std::collections::HashMap;

/// Answers from a table keyed by URL and records every request.
#[derive(Default)]
struct Script {
    answers: HashMap<String, Result<Response, SendError>>,
    seen: Vec<Request>,
}

impl Script {
    fn answer(mut self, url: &str, status: u16, headers: &[(&str, &str)], body: &str) -> Self {
        let response = Response {
            status,
            headers: headers
                .iter()
                .map(|(n, v)| (n.to_string(), v.to_string()))
                .collect(),
            body: body.as_bytes().to_vec(),
            truncated: false,
        };
        self.answers.insert(url.to_string(), Ok(response));
        self
    }

    fn deny(mut self, url: &str) -> Self {
        self.answers.insert(url.to_string(), Err(SendError::Denied));
        self
    }
}

impl Transport for Script {
    fn send(&mut self, request: &Request, max_bytes: u64) -> Result<Response, SendError> {
        self.seen.push(request.clone());
        let mut response = self
            .answers
            .get(&request.url.to_string())
            .cloned()
            .unwrap_or(Err(SendError::Failed("no script entry".into())))?;
        if response.body.len() as u64 > max_bytes {
            response.body.truncate(max_bytes as usize);
            response.truncated = true;
        }
        Ok(response)
    }
}

fn input(json: serde_json::Value) -> FetchInput {
    serde_json::from_value(json).expect("valid input")
}

#[test]
fn parses_urls() {
    let u = Url::parse("HTTPS://Example.COM:8443/a b?q=1#frag").expect("url");
    assert_eq!(u.host, "example.com");
    assert_eq!(u.port, Some(8443));
    assert_eq!(u.to_string(), "https://example.com:8443/a%20b?q=1");
    assert_eq!(
        Url::parse("http://[::1]:8080").expect("v6").to_string(),
        "http://[::1]:8080/"
    );
    assert_eq!(
        Url::parse("http://h?x").expect("query").path_and_query,
        "/?x"
    );
    assert!(Url::parse("ftp://x")
        .unwrap_err()
        .contains("only http and https"));
    assert!(Url::parse("example.com")
        .unwrap_err()
        .contains("not an absolute URL"));
    assert!(Url::parse("http://u:p@h/")
        .unwrap_err()
        .contains("Authorization"));
    assert!(Url::parse("http://h:99999/")
        .unwrap_err()
        .contains("not a valid port"));
}

#[test]
fn joins_locations() {
    let base = Url::parse("https://a.test/x/y/z?q").expect("url");
    let join = |l: &str| base.join(l).expect("join").to_string();
    assert_eq!(join("http://b.test/p"), "http://b.test/p");
    assert_eq!(join("//c.test/p"), "https://c.test/p");
    assert_eq!(join("/root"), "https://a.test/root");
    assert_eq!(join("sib"), "https://a.test/x/y/sib");
    assert_eq!(join("../up?k=v#f"), "https://a.test/x/up?k=v");
    assert_eq!(join("./"), "https://a.test/x/y/");
    assert_eq!(join("?other"), "https://a.test/x/y/z?other");
    assert_eq!(join("../../../.."), "https://a.test/");
}

#[test]
fn plain_get_returns_status_headers_body() {
    let mut t = Script::default().answer(
        "http://h.test/",
        200,
        &[
            ("content-type", "text/plain"),
            ("set-cookie", "a=1"),
            ("set-cookie", "b=2"),
        ],
        "hello",
    );
    let out = fetch_with(&mut t, input(serde_json::json!({"url": "http://h.test"}))).expect("ok");
    assert_eq!(out.status, 200);
    assert_eq!(out.body, "hello");
    assert_eq!(out.headers["set-cookie"], "a=1, b=2");
    assert_eq!(out.final_url, "http://h.test/");
    assert!(out.redirects.is_empty() && !out.truncated);
    assert_eq!(t.seen[0].method, "GET");
}

#[test]
fn body_is_cut_at_max_bytes() {
    let mut t = Script::default().answer("http://h.test/", 200, &[], "0123456789");
    let out = fetch_with(
        &mut t,
        input(serde_json::json!({"url": "http://h.test/", "max_bytes": 4})),
    )
    .expect("ok");
    assert_eq!((out.body.as_str(), out.truncated), ("0123", true));
}

#[test]
fn follows_redirects_hop_by_hop() {
    let mut t = Script::default()
        .answer("https://a.test/start", 302, &[("location", "/next")], "")
        .answer(
            "https://a.test/next",
            301,
            &[("location", "https://b.test/end")],
            "",
        )
        .answer("https://b.test/end", 200, &[], "done");
    let out = fetch_with(
        &mut t,
        input(serde_json::json!({
            "url": "https://a.test/start",
            "headers": {"Authorization": "secret", "Accept": "text/plain"}
        })),
    )
    .expect("ok");
    assert_eq!(out.body, "done");
    assert_eq!(out.final_url, "https://b.test/end");
    assert_eq!(out.redirects.len(), 2);
    assert_eq!(out.redirects[0].to, "https://a.test/next");
    // Same origin keeps credentials; another origin does not get them.
    assert!(t.seen[1].headers.iter().any(|(n, _)| n == "authorization"));
    assert_eq!(
        t.seen[2].headers,
        vec![("accept".to_string(), "text/plain".to_string())]
    );
}

#[test]
fn see_other_turns_post_into_get() {
    let mut t = Script::default()
        .answer("http://h.test/form", 303, &[("location", "/result")], "")
        .answer("http://h.test/result", 200, &[], "ok");
    let req = serde_json::json!({"url": "http://h.test/form", "method": "post", "body": "x=1",
        "headers": {"content-type": "application/x-www-form-urlencoded"}});
    fetch_with(&mut t, input(req)).expect("ok");
    assert_eq!(t.seen[0].method, "POST");
    assert!(t.seen[0]
        .headers
        .contains(&("content-length".to_string(), "3".to_string())));
    assert_eq!(t.seen[1].method, "GET");
    assert_eq!(t.seen[1].body, None);
    assert!(t.seen[1].headers.is_empty());
}

#[test]
fn redirects_can_be_left_alone() {
    let mut t = Script::default().answer("http://h.test/", 307, &[("location", "/x")], "");
    let out = fetch_with(
        &mut t,
        input(serde_json::json!({"url": "http://h.test/", "follow_redirects": false})),
    )
    .expect("ok");
    assert_eq!(out.status, 307);
    assert_eq!(t.seen.len(), 1);
}

#[test]
fn gives_up_after_five_redirects() {
    let mut t = Script::default();
    for i in 0..7 {
        t = t.answer(
            &format!("http://h.test/{i}"),
            302,
            &[("location", &format!("/{}", i + 1))],
            "",
        );
    }
    let err = fetch_with(&mut t, input(serde_json::json!({"url": "http://h.test/0"}))).unwrap_err();
    assert!(
        err.message().starts_with("gave up after 5 redirects"),
        "{err}"
    );
    assert_eq!(t.seen.len(), 6);
}

#[test]
fn denial_is_reported_as_such() {
    let mut t = Script::default().deny("https://x.test/");
    let err = fetch_with(&mut t, input(serde_json::json!({"url": "https://x.test/"}))).unwrap_err();
    assert_eq!(
        err.message(),
        "request to https://x.test/ was denied by the sandbox: no network grant allows it \
         (`network = [\"https://x.test\"]` under this tool's [tools.NAME] in the policy would)"
    );
    let mut t = Script::default()
        .answer(
            "https://ok.test/",
            302,
            &[("location", "https://x.test/")],
            "",
        )
        .deny("https://x.test/");
    let err = fetch_with(
        &mut t,
        input(serde_json::json!({"url": "https://ok.test/"})),
    )
    .unwrap_err();
    assert!(
        err.message()
            .ends_with("(reached by a 302 redirect from https://ok.test/)"),
        "{err}"
    );
}

#[test]
fn rejects_bad_methods_and_unknown_fields() {
    let mut t = Script::default();
    let err = fetch_with(
        &mut t,
        input(serde_json::json!({"url": "http://h/", "method": "GE T"})),
    )
    .unwrap_err();
    assert!(err.message().contains("not a valid HTTP method"), "{err}");
    let err = __spud_plugin()
        .call("fetch", r#"{"url": "http://h/", "follow": true}"#)
        .unwrap_err();
    assert!(err.contains("unknown field `follow`"), "{err}");
}
