//! Unit tests of network patterns.

use super::*;

fn p(s: &str) -> NetPattern {
    s.parse().unwrap()
}

#[test]
fn parses_and_displays() {
    assert_eq!(p("https://Example.COM").to_string(), "https://example.com");
    assert_eq!(p("http://127.0.0.1:*").to_string(), "http://127.0.0.1:*");
    assert_eq!(
        p("https://*.example.com:8443").to_string(),
        "https://*.example.com:8443"
    );
    assert_eq!(p("http://[::1]:8080").to_string(), "http://[::1]:8080");
    for bad in [
        "example.com",
        "ftp://x",
        "https://",
        "https://a/b",
        "https://*x.com",
        "http://a:0",
        "http://a:99999",
        "https://a.*.com",
    ] {
        assert!(bad.parse::<NetPattern>().is_err(), "{bad} should not parse");
    }
}

#[test]
fn scheme_host_and_port_are_all_enforced() {
    let pat = p("https://api.example.com");
    assert!(pat.matches(Scheme::Https, "api.example.com", 443));
    assert!(pat.matches(Scheme::Https, "API.example.com.", 443));
    assert!(!pat.matches(Scheme::Http, "api.example.com", 443));
    assert!(!pat.matches(Scheme::Https, "api.example.com", 8443));
    assert!(!pat.matches(Scheme::Https, "evil.com", 443));
    assert!(!pat.matches(Scheme::Https, "api.example.com.evil.com", 443));
}

#[test]
fn subdomain_wildcards() {
    let pat = p("https://*.example.com");
    assert!(pat.matches(Scheme::Https, "a.example.com", 443));
    assert!(pat.matches(Scheme::Https, "a.b.example.com", 443));
    assert!(!pat.matches(Scheme::Https, "example.com", 443));
    assert!(!pat.matches(Scheme::Https, "badexample.com", 443));
    assert!(!pat.matches(Scheme::Https, "127.0.0.1", 443));
}

#[test]
fn resolved_addresses() {
    let public = p("http://*.example.com:*");
    assert!(!public.permits_address("127.0.0.1".parse().unwrap()));
    assert!(!public.permits_address("10.1.2.3".parse().unwrap()));
    assert!(!public.permits_address("169.254.169.254".parse().unwrap()));
    assert!(!public.permits_address("::ffff:127.0.0.1".parse().unwrap()));
    assert!(!public.permits_address("fe80::1".parse().unwrap()));
    assert!(public.permits_address("93.184.216.34".parse().unwrap()));
    assert!(p("http://127.0.0.1:*").permits_address("127.0.0.1".parse().unwrap()));
    assert!(p("http://localhost:*").permits_address("::1".parse().unwrap()));
    assert!(!p("http://localhost:*").permits_address("10.0.0.1".parse().unwrap()));
}

#[test]
fn intersection() {
    let i = |a: &str, b: &str| p(a).intersect(&p(b)).map(|x| x.to_string());
    assert_eq!(
        i("https://*.example.com", "https://api.example.com").as_deref(),
        Some("https://api.example.com")
    );
    assert_eq!(
        i("https://*.example.com", "https://*.a.example.com").as_deref(),
        Some("https://*.a.example.com")
    );
    assert_eq!(
        i("http://h:*", "http://h:8080").as_deref(),
        Some("http://h:8080")
    );
    assert_eq!(i("http://h", "https://h"), None);
    assert_eq!(i("http://h:1", "http://h:2"), None);
    assert_eq!(i("https://*.example.com", "https://example.com"), None);
    assert_eq!(
        i("https://*:*", "https://api.example.com").as_deref(),
        Some("https://api.example.com")
    );
    assert_eq!(
        i("http://*:*", "http://127.0.0.1:8080").as_deref(),
        Some("http://127.0.0.1:8080")
    );
    assert!(!p("http://*:*").permits_address("127.0.0.1".parse().unwrap()));
}

#[test]
fn socket_patterns() {
    let s: SocketPattern = "127.0.0.1:5432".parse().unwrap();
    assert!(s.matches("127.0.0.1".parse().unwrap(), 5432));
    assert!(!s.matches("127.0.0.1".parse().unwrap(), 5433));
    assert!("db.local:5432".parse::<SocketPattern>().is_err());
    assert_eq!(
        "[::1]:*".parse::<SocketPattern>().unwrap().to_string(),
        "[::1]:*"
    );
    // `*` is any address: what a generic client requests; meeting a grant gives the grant.
    let any: SocketPattern = "*:*".parse().unwrap();
    assert_eq!(any.to_string(), "*:*");
    assert!(any.matches("10.1.2.3".parse().unwrap(), 6379));
    assert_eq!(any.intersect(&s), Some(s.clone()));
    assert_eq!(s.intersect(&any), Some(s.clone()));
    let any_pg: SocketPattern = "*:5432".parse().unwrap();
    assert_eq!(
        any_pg.intersect(&"127.0.0.1:*".parse().unwrap()),
        Some(s.clone())
    );
    assert!(any_pg
        .intersect(&"127.0.0.1:6379".parse().unwrap())
        .is_none());
}

proptest::proptest! {
    #[test]
    fn intersection_allows_only_what_both_allow(
        a in 0usize..6, b in 0usize..6, host in 0usize..5, port in 0usize..4, https in proptest::bool::ANY
    ) {
        let pats = ["http://*.example.com:*", "http://a.example.com", "https://*.example.com",
                    "http://*.a.example.com:8080", "http://example.com:*", "https://*:*"];
        let hosts = ["a.example.com", "example.com", "b.a.example.com", "x.org", "a.b.example.com"];
        let ports = [80u16, 443, 8080, 9];
        let (pa, pb) = (p(pats[a]), p(pats[b]));
        let scheme = if https { Scheme::Https } else { Scheme::Http };
        let both = pa.matches(scheme, hosts[host], ports[port]) && pb.matches(scheme, hosts[host], ports[port]);
        let inter = pa.intersect(&pb).map(|i| i.matches(scheme, hosts[host], ports[port])).unwrap_or(false);
        proptest::prop_assert_eq!(both, inter);
    }
}
