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
