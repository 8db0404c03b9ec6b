//! Unit tests of credentials: parsing, injection, values.

use super::*;

fn cred(inject: &str) -> Credential {
    Credential {
        source: CredentialSource::Env("T".into()),
        inject: inject.parse().unwrap(),
        destinations: vec!["https://api.example.com".parse().unwrap()],
        tools: vec!["http".into()],
    }
}

#[test]
fn injects_each_way() {
    let v = |raw: &str, c: &Credential| CredentialValue::new("t", raw, &c.inject).unwrap();
    let b = cred("bearer");
    assert_eq!(
        b.injection(&v("tok-1\n", &b)),
        Injection::Header("authorization".into(), "Bearer tok-1".into())
    );
    let basic = cred("basic");
    assert_eq!(
        basic.injection(&v("user:pw", &basic)),
        Injection::Header("authorization".into(), "Basic dXNlcjpwdw==".into())
    );
    let h = cred("header:X-Api-Key");
    assert_eq!(
        h.injection(&v("k", &h)),
        Injection::Header("x-api-key".into(), "k".into())
    );
    let q = cred("query:api_key");
    assert_eq!(
        q.injection(&v("a b", &q)),
        Injection::Query("api_key".into(), "a b".into())
    );
    let s = cred("hmac-sha256:X-Signature-256");
    assert_eq!(
        s.injection(&v("k", &s)),
        Injection::SignBody("x-signature-256".into())
    );
    assert_eq!(s.inject.to_string(), "hmac-sha256:x-signature-256");
    let aws = cred("sigv4:eu-west-1:s3");
    assert_eq!(
        aws.injection(&v("AKID:secret/1", &aws)),
        Injection::SigV4 {
            region: "eu-west-1".into(),
            service: "s3".into()
        }
    );
    assert_eq!(aws.inject.to_string(), "sigv4:eu-west-1:s3");
    assert_eq!(
        v("AKID:secret/1", &aws).key_pair(),
        Some(("AKID", "secret/1"))
    );
    // RFC 4231 test case 2.
    let key = CredentialValue::new("t", "Jefe", &s.inject).unwrap();
    assert_eq!(
        body_signature(&key, b"what do ya want for nothing?").unwrap(),
        "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
    );
    assert!(!format!("{:?}", v("tok-1", &b)).contains("tok-1"));
    assert!(!format!("{:?}", b.injection(&v("tok-1", &b))).contains("tok-1"));
}

#[test]
fn bad_values_and_injects_are_typed_errors() {
    assert!("header:".parse::<Inject>().is_err());
    assert!("header:a b".parse::<Inject>().is_err());
    assert!("cookie".parse::<Inject>().is_err());
    assert!("hmac-sha256:".parse::<Inject>().is_err());
    assert!("hmac-md5:X-Sig".parse::<Inject>().is_err());
    assert!("sigv4:us-east-1".parse::<Inject>().is_err());
    assert!("sigv4:US:s3".parse::<Inject>().is_err());
    let aws = "sigv4:us-east-1:s3".parse::<Inject>().unwrap();
    let e = CredentialValue::new("s3", "AKIDONLY", &aws).unwrap_err();
    assert_eq!(e, CredentialValueError::NotKeyPair("s3".into()));
    assert!(CredentialValue::new("s3", "AKID:", &aws).is_err());
    let e = CredentialValue::new("gh", "a\nb", &Inject::Bearer).unwrap_err();
    assert_eq!(e, CredentialValueError::Control("gh".into()));
    let e = CredentialValue::new("gh", "\n", &Inject::Bearer).unwrap_err();
    assert_eq!(e, CredentialValueError::Empty("gh".into()));
    let e = CredentialValue::new("gh", "nocolon", &Inject::Basic).unwrap_err();
    assert_eq!(e, CredentialValueError::NotUserPassword("gh".into()));
}

#[test]
fn applies_only_to_listed_tools_and_destinations() {
    let c = cred("bearer");
    assert!(c.applies("http", Scheme::Https, "api.example.com", 443));
    assert!(!c.applies("http", Scheme::Https, "evil.example.com", 443));
    assert!(!c.applies("http", Scheme::Http, "api.example.com", 80));
    assert!(!c.applies("http", Scheme::Https, "api.example.com", 8443));
    assert!(!c.applies("fs", Scheme::Https, "api.example.com", 443));
}

#[test]
fn query_parameter_replaces_the_guests() {
    assert_eq!(with_query_param("/a", "k", "v/1"), "/a?k=v%2F1");
    assert_eq!(
        with_query_param("/a?x=1&k=guess&y", "k", "s"),
        "/a?x=1&y&k=s"
    );
    assert_eq!(with_query_param("/?kk=1", "k", "s"), "/?kk=1&k=s");
}

#[test]
fn the_policy_section_parses_and_errors_name_the_line() {
    let parse = |src: &str| {
        crate::Policy::parse(src, "p.toml", std::path::Path::new("."), false)
            .map_err(|e| e.to_string())
    };
    let p = parse("[credentials.gh]\nvalue_env = \"GH\"\ninject = \"bearer\"\ndestinations = [\"https://api.github.com\"]\ntools = [\"http\"]\n").unwrap();
    let gh = &p.credentials["gh"];
    assert_eq!(gh.source, CredentialSource::Env("GH".into()));
    assert!(gh.applies("http", Scheme::Https, "api.github.com", 443));
    // Registered as a secret that may go only to its destinations.
    let s = p.secrets(|n| (n == "GH").then(|| "ghp-secret-1".to_string()));
    assert_eq!(s.redact("x ghp-secret-1"), "x [REDACTED]");
    let g = crate::LeakGuard::new(&p, |n| (n == "GH").then(|| "ghp-secret-1".to_string()));
    assert!(g
        .leaks("ghp-secret-1", Scheme::Https, "api.github.com", 443)
        .is_empty());
    assert_eq!(
        g.leaks("ghp-secret-1", Scheme::Https, "evil.test", 443)[0].secret,
        "gh"
    );

    let e = parse("[credentials.gh]\nvalue_env = \"GH\"\ninject = \"cookie\"\ndestinations = [\"https://a.b\"]\n").unwrap_err();
    assert!(
        e.starts_with("p.toml:3:10:") && e.contains("header:NAME"),
        "{e}"
    );
    let e = parse("[credentials.gh]\nvalue_env = \"GH\"\ninject = \"bearer\"\ndestinations = [\"https://a.b\",\n \"ftp://x\"]\n").unwrap_err();
    assert!(e.starts_with("p.toml:5:2:"), "{e}");
    let e = parse("[credentials.gh]\ninject = \"bearer\"\ndestinations = [\"https://a.b\"]\n")
        .unwrap_err();
    assert!(e.contains("value_env"), "{e}");
    let e = parse("[credentials.gh]\nvalue_env = \"A\"\nvalue_file = \"f\"\ninject = \"bearer\"\ndestinations = [\"https://a.b\"]\n").unwrap_err();
    assert!(e.starts_with("p.toml:2:") && e.contains("both"), "{e}");
    let e = parse("[credentials.gh]\nvalue_env = \"A\"\ninject = \"bearer\"\ndestinations = []\n")
        .unwrap_err();
    assert!(e.contains("no destinations"), "{e}");
    let e = parse("[credentials.gh]\nvalue_env = \"A\"\ninject = \"bearer\"\ndestinations = [\"https://a.b\"]\nsecret = \"x\"\n").unwrap_err();
    assert!(e.starts_with("p.toml:5:") && e.contains("secret"), "{e}");
}
