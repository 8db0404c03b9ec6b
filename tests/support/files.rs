//! The file servers the files connectors' tests, workflows and benchmark start on 127.0.0.1,
//! from the Python venv `scripts/setup-connectors.sh` makes (`target/py-connectors`): WsgiDAV
//! (`tests/servers/webdav_server.py`), one per test binary, serving a temporary folder at `/`
//! and a read-only one at `/archive/`, with a basic-auth login. Each test works in a folder of
//! its own ([`WebDav::folder`]) and checks the end state on the server's disk.

use crate::mail::venv_python;
use crate::workspace;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::OnceLock;

/// WsgiDAV on 127.0.0.1. It stops, and removes its folders, when the test process ends (its
/// standard input closes).
pub struct WebDav {
    _child: Child,
    _stdin: ChildStdin,
    /// Where it listens.
    pub port: u16,
    /// The login's user.
    pub user: &'static str,
    /// Its password.
    pub password: &'static str,
    root: PathBuf,
    archive: PathBuf,
}

impl WebDav {
    /// The test binary's server, started on first use; `None` outside CI when WsgiDAV is not
    /// installed.
    pub fn shared() -> Option<&'static WebDav> {
        static SERVER: OnceLock<Option<WebDav>> = OnceLock::new();
        SERVER.get_or_init(WebDav::start).as_ref()
    }

    fn start() -> Option<WebDav> {
        let python = venv_python("wsgidav")?;
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default();
        let base = std::env::temp_dir().join(format!("spud-webdav-{}-{nanos}", std::process::id()));
        let (root, archive) = (base.join("root"), base.join("archive"));
        std::fs::create_dir_all(&root).expect("the served folder");
        std::fs::create_dir_all(&archive).expect("the read-only folder");
        let (user, password) = ("files", "dav-files-pw-5c6d7e8f");
        let mut child = Command::new(python)
            .arg(workspace().join("tests/servers/webdav_server.py"))
            .arg(&root)
            .arg(&archive)
            .env("WEBDAV_USER", user)
            .env("WEBDAV_PASSWORD", password)
            .env("WEBDAV_CLEANUP", &base)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start WsgiDAV");
        let stdin = child.stdin.take().expect("stdin");
        let stdout = child.stdout.take().expect("stdout");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("WsgiDAV prints its port");
        let port = line.trim().parse().expect("a port number");
        Some(WebDav {
            _child: child,
            _stdin: stdin,
            port,
            user,
            password,
            root,
            archive,
        })
    }

    /// `http://127.0.0.1:PORT`.
    pub fn origin(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// `user:password`, the value of a `basic` credential.
    pub fn login(&self) -> String {
        format!("{}:{}", self.user, self.password)
    }

    /// A fresh folder `/NAME/` for one test (emptied if a test of that name ran before in
    /// this process): its path on the server's disk and its URL.
    pub fn folder(&self, name: &str) -> (PathBuf, String) {
        let dir = self.root.join(name);
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("the test's folder");
        (dir, format!("{}/{name}/", self.origin()))
    }

    /// The read-only share `/archive/` on disk (served at `/archive/`).
    pub fn archive(&self) -> &Path {
        &self.archive
    }

    /// One request as the user (plain HTTP/1.1, its own connection): status and body.
    pub fn request(&self, method: &str, path: &str, headers: &[(&str, &str)]) -> (u16, Vec<u8>) {
        use base64::Engine as _;
        let auth = base64::engine::general_purpose::STANDARD.encode(self.login());
        let mut s = std::net::TcpStream::connect(("127.0.0.1", self.port)).expect("connect");
        let mut head = format!(
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nAuthorization: Basic {auth}\r\n\
             Content-Length: 0\r\nConnection: close\r\n",
            self.port
        );
        for (k, v) in headers {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
        head.push_str("\r\n");
        s.write_all(head.as_bytes()).expect("write");
        let mut raw = Vec::new();
        s.read_to_end(&mut raw).expect("read");
        let split = raw
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .map_or(raw.len(), |i| i + 4);
        let status = String::from_utf8_lossy(&raw[..split])
            .split(' ')
            .nth(1)
            .and_then(|c| c.parse().ok())
            .unwrap_or(0);
        (status, raw[split..].to_vec())
    }
}
