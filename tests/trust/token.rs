//! A registry with bearer-token auth, the way hosted registries run it: the CNCF distribution
//! server configured with `auth: token`, and a token service written here that checks basic
//! credentials and issues ES256 JSON Web Tokens carrying the certificate that signs them
//! (`x5c`), which the registry verifies against its root bundle. Both on 127.0.0.1.

use super::harness::{self, Registry, PASSWORD, USER};
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use p256::ecdsa::signature::Signer;
use p256::ecdsa::{Signature, SigningKey};
use p256::pkcs8::DecodePrivateKey;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

const SERVICE: &str = "spud-test-registry";
const ISSUER: &str = "spud-test-token-service";

/// The token registry, its token service and how many tokens it issued.
pub struct TokenRegistry {
    /// The registry.
    pub registry: Registry,
    /// Tokens issued so far.
    pub issued: Arc<AtomicUsize>,
    key: Arc<SigningKey>,
    x5c: Arc<String>,
}

impl TokenRegistry {
    /// A token for `scope` (e.g. `repository:acme/x:pull`), as the service would issue it.
    pub fn token(&self, scope: &str) -> String {
        jwt(&self.key, &self.x5c, USER, scope)
    }
}

/// The one token registry of this test binary.
pub fn token_registry() -> &'static TokenRegistry {
    static REG: OnceLock<TokenRegistry> = OnceLock::new();
    REG.get_or_init(start)
}

fn start() -> TokenRegistry {
    let dir = tempfile::tempdir().unwrap();
    let (key, cert) = (dir.path().join("key.pem"), dir.path().join("cert.pem"));
    let o = Command::new("openssl")
        .args(["req", "-x509", "-newkey", "ec", "-pkeyopt"])
        .args(["ec_paramgen_curve:prime256v1", "-nodes", "-days", "1"])
        .args(["-subj", "/CN=spud-test-token-service", "-keyout"])
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .unwrap();
    assert!(o.status.success(), "openssl: {}", harness::text(&o));
    let pem = std::fs::read_to_string(&key).unwrap();
    let key = Arc::new(SigningKey::from_pkcs8_pem(&pem).expect("PKCS#8 EC key"));
    let cert_pem = std::fs::read_to_string(&cert).unwrap();
    let der: String = cert_pem
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect();
    let x5c = Arc::new(der);
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let realm = format!("http://{}/token", listener.local_addr().unwrap());
    let issued = Arc::new(AtomicUsize::new(0));
    let (k, x, n) = (key.clone(), x5c.clone(), issued.clone());
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            serve(stream, &k, &x, &n);
        }
    });
    let auth = format!(
        "auth:\n  token:\n    realm: {realm}\n    service: {SERVICE}\n    issuer: {ISSUER}\n    rootcertbundle: {}\n",
        cert.display()
    );
    TokenRegistry {
        registry: harness::start_with(dir, &auth),
        issued,
        key,
        x5c,
    }
}

/// Answers one `GET /token?service=…&scope=…`: a token when the basic credentials are right,
/// 401 otherwise.
fn serve(mut stream: TcpStream, key: &SigningKey, x5c: &str, issued: &AtomicUsize) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut line = String::new();
    if reader.read_line(&mut line).is_err() {
        return;
    }
    let target = line.split_whitespace().nth(1).unwrap_or("").to_string();
    let mut authorized = false;
    let basic = STANDARD.encode(format!("{USER}:{PASSWORD}"));
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h).is_err() || h.trim().is_empty() {
            break;
        }
        let (name, value) = h.split_once(':').unwrap_or(("", ""));
        if name.eq_ignore_ascii_case("authorization") && value.trim() == format!("Basic {basic}") {
            authorized = true;
        }
    }
    let scope = query(&target, "scope").unwrap_or_default();
    let (status, body) = if authorized {
        issued.fetch_add(1, Ordering::SeqCst);
        let t = jwt(key, x5c, USER, &scope);
        (
            "200 OK",
            format!(r#"{{"token":"{t}","access_token":"{t}","expires_in":300}}"#),
        )
    } else {
        (
            "401 Unauthorized",
            r#"{"details":"bad credentials"}"#.to_string(),
        )
    };
    let _ = write!(
        stream,
        "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
}

/// The percent-decoded value of `name` in the query of `target`.
fn query(target: &str, name: &str) -> Option<String> {
    let q = target.split_once('?')?.1;
    q.split('&')
        .filter_map(|kv| kv.split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| decode(v))
}

fn decode(v: &str) -> String {
    let spaced = v.replace('+', " ");
    percent_encoding::percent_decode_str(&spaced)
        .decode_utf8_lossy()
        .into_owned()
}

/// An ES256 JWT granting `scope` (space-separated `repository:NAME:ACTIONS` entries).
fn jwt(key: &SigningKey, x5c: &str, subject: &str, scope: &str) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let access: Vec<serde_json::Value> = scope
        .split(' ')
        .filter_map(|s| {
            let mut parts = s.splitn(3, ':');
            let (kind, name, actions) = (parts.next()?, parts.next()?, parts.next()?);
            Some(serde_json::json!({
                "type": kind, "name": name,
                "actions": actions.split(',').collect::<Vec<_>>(),
            }))
        })
        .collect();
    let header = serde_json::json!({"alg": "ES256", "typ": "JWT", "x5c": [x5c]});
    let claims = serde_json::json!({
        "iss": ISSUER, "sub": subject, "aud": SERVICE,
        "exp": now + 300, "nbf": now - 10, "iat": now,
        "jti": format!("{now}-{}", std::process::id()),
        "access": access,
    });
    let signing_input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let sig: Signature = key.sign(signing_input.as_bytes());
    format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(sig.to_bytes()))
}
