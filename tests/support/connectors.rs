//! Servers the connector tests and benchmarks start on 127.0.0.1.

use crate::{target_dir, workspace};
use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, Command, Stdio};

/// The bearer token the shop API checks.
pub const TOKEN: &str = "shop-token-5e4d3c2b1a";

/// The FastAPI app, killed when dropped.
pub struct ShopApi {
    child: Child,
    /// Where it listens on 127.0.0.1.
    pub port: u16,
}

impl Drop for ShopApi {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts the app, or `None` outside CI when scripts/setup-connectors.sh has not run (in CI a
/// missing server fails the test).
pub fn start_shop() -> Option<ShopApi> {
    let python = target_dir().join("py-connectors/bin/python");
    if !python.exists() {
        let msg = format!(
            "{} is missing: run scripts/setup-connectors.sh (scripts/setup.sh does)",
            python.display()
        );
        assert!(std::env::var("CI").as_deref() != Ok("true"), "{msg}");
        eprintln!("skipped: {msg}");
        return None;
    }
    let mut child = Command::new(python)
        .arg(workspace().join("tests/servers/shop_api.py"))
        .env("SHOP_API_TOKEN", TOKEN)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start the FastAPI app");
    let mut line = String::new();
    let stdout = child.stdout.take().expect("stdout");
    BufReader::new(stdout)
        .read_line(&mut line)
        .expect("the app prints its port");
    let port = line.trim().parse().expect("a port number");
    let shop = ShopApi { child, port };
    // Ready once it answers.
    for _ in 0..100 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Some(shop);
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    panic!("the FastAPI app did not start listening on {port}");
}

/// GET `path` from the app (no token: the document is public).
pub fn get(port: u16, path: &str) -> String {
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut text = String::new();
    s.read_to_string(&mut text).unwrap();
    text.split_once("\r\n\r\n").unwrap().1.to_string()
}

/// One webhook post the [`Site`] received.
#[derive(Debug, Clone)]
pub struct Post {
    /// The request path, e.g. `/hooks/team`.
    pub path: String,
    /// Header names (lowercase) and values.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
}

impl Post {
    /// The first value of header `name` (lowercase).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The body as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).expect("a JSON body")
    }
}

/// The HMAC-SHA256 signature, `sha256=HEX`, of `body` under `key`, as a signed webhook's
/// receiver computes it (with the `hmac` crate: independent of spud's own code).
pub fn signature(key: &str, body: &[u8]) -> String {
    use hmac::{Hmac, Mac};
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(key.as_bytes()).expect("any key length");
    mac.update(body);
    let bytes = mac.finalize().into_bytes();
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256={hex}")
}

/// A web site and webhook receiver on 127.0.0.1 for the feed and webhook connectors and their
/// workflows. `GET /NAME` serves the file `NAME` of its folder — or, when `NAME.moved` is there,
/// answers 301 to the path that file holds — and 404 for anything else; `POST /hooks/NAME`
/// records the post and answers `ok`, except `POST /hooks/signed`, which answers 401 unless
/// `x-signature-256` is the body's signature under the site's key.
pub struct Site {
    /// Where it listens.
    pub addr: std::net::SocketAddr,
    /// Posts received, in order.
    pub posts: std::sync::Arc<std::sync::Mutex<Vec<Post>>>,
}

impl Site {
    /// Starts the site on a free port, serving `dir`; `key` checks `/hooks/signed`.
    pub fn start(dir: &std::path::Path, key: &str) -> Site {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
        let addr = listener.local_addr().expect("local addr");
        let posts: std::sync::Arc<std::sync::Mutex<Vec<Post>>> = Default::default();
        let (p, key, dir) = (posts.clone(), key.to_string(), dir.to_path_buf());
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (p, key, dir) = (p.clone(), key.clone(), dir.clone());
                std::thread::spawn(move || site_answer(stream, &p, &key, &dir));
            }
        });
        Site { addr, posts }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The posts received so far.
    pub fn posts(&self) -> Vec<Post> {
        self.posts.lock().expect("lock").clone()
    }
}

/// One request as read: method, path, headers, body.
type Incoming = (String, String, Vec<(String, String)>, Vec<u8>);

/// Reads one request (`content-length` bodies only).
fn read_request(reader: &mut impl BufRead) -> Option<Incoming> {
    let mut line = String::new();
    if reader.read_line(&mut line).ok()? == 0 {
        return None;
    }
    let mut headers = Vec::new();
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h).ok()? == 0 {
            return None;
        }
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            headers.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
        }
    }
    let length: usize = headers
        .iter()
        .find(|(k, _)| k == "content-length")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; length];
    reader.read_exact(&mut body).ok()?;
    let mut parts = line.split(' ');
    let method = parts.next().unwrap_or("").to_string();
    let path = parts.next().unwrap_or("/").to_string();
    Some((method, path, headers, body))
}

/// A file of the site's folder: status, extra header, content type, body.
fn site_file(dir: &std::path::Path, path: &str) -> (&'static str, String, Vec<u8>) {
    let name = path.trim_start_matches('/');
    let safe = !name.is_empty()
        && !name.contains("..")
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._".contains(&b));
    if !safe {
        return ("404 Not Found", String::new(), b"not found".to_vec());
    }
    if let Ok(to) = std::fs::read_to_string(dir.join(format!("{name}.moved"))) {
        return (
            "301 Moved Permanently",
            format!("Location: {}\r\n", to.trim()),
            Vec::new(),
        );
    }
    match std::fs::read(dir.join(name)) {
        Ok(bytes) => ("200 OK", String::new(), bytes),
        Err(_) => ("404 Not Found", String::new(), b"not found".to_vec()),
    }
}

/// Reads one request and answers it; the connection is closed after.
fn site_answer(
    stream: std::net::TcpStream,
    posts: &std::sync::Mutex<Vec<Post>>,
    key: &str,
    dir: &std::path::Path,
) {
    let Ok(clone) = stream.try_clone() else {
        return;
    };
    let Some((method, path, headers, body)) = read_request(&mut BufReader::new(clone)) else {
        return;
    };
    let mut stream = stream;
    let (status, extra, answer) = match method.as_str() {
        "GET" => site_file(dir, &path),
        "POST" if path.starts_with("/hooks/") => {
            let post = Post {
                path: path.clone(),
                headers,
                body,
            };
            let signed = post.header("x-signature-256") == Some(&signature(key, &post.body));
            posts.lock().expect("lock").push(post);
            if path == "/hooks/signed" && !signed {
                ("401 Unauthorized", String::new(), b"bad signature".to_vec())
            } else {
                ("200 OK", String::new(), b"ok".to_vec())
            }
        }
        _ => ("405 Method Not Allowed", String::new(), Vec::new()),
    };
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Length: {}\r\n{extra}Connection: close\r\n\r\n",
        answer.len()
    );
    let _ = stream.write_all(head.as_bytes());
    let _ = stream.write_all(&answer);
}
