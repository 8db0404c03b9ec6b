//! The file servers the files connectors' tests, workflows and benchmark start on 127.0.0.1,
//! from the Python venv `scripts/setup-connectors.sh` makes (`target/py-connectors`): WsgiDAV
//! (`tests/servers/webdav_server.py`), one per test binary, serving a temporary folder at `/`
//! and a read-only one at `/archive/`, with a basic-auth login. Each test works in a folder of
//! its own ([`WebDav::folder`]) and checks the end state on the server's disk; and moto's S3
//! server (`tests/servers/s3_server.py`), which checks each request's AWS signature.

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

/// One IAM user's key pair on the S3 server.
#[derive(Debug, Clone)]
pub struct KeyPair {
    /// The access key id.
    pub key_id: String,
    /// The secret access key.
    pub secret: String,
}

impl KeyPair {
    /// `ACCESS_KEY_ID:SECRET_ACCESS_KEY`, the value of a `sigv4` credential.
    pub fn value(&self) -> String {
        format!("{}:{}", self.key_id, self.secret)
    }
}

/// moto's S3 server on 127.0.0.1, one per test binary, checking every request's signature:
/// the buckets `reports` and `backups`, a user who may do anything in S3 ([`S3::writer`]) and
/// one who may only list and get ([`S3::reader`]). It stops when the test process ends.
pub struct S3 {
    _child: Child,
    _stdin: ChildStdin,
    /// Where it listens.
    pub port: u16,
    /// The key pair allowed everything.
    pub writer: KeyPair,
    /// The key pair allowed to list and get only.
    pub reader: KeyPair,
}

impl S3 {
    /// The test binary's server, started on first use; `None` outside CI when moto is not
    /// installed.
    pub fn shared() -> Option<&'static S3> {
        static SERVER: OnceLock<Option<S3>> = OnceLock::new();
        SERVER.get_or_init(S3::start).as_ref()
    }

    fn start() -> Option<S3> {
        let python = venv_python("moto")?;
        let mut child = Command::new(python)
            .arg(workspace().join("tests/servers/s3_server.py"))
            .args(["reports", "backups"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start the S3 server");
        let stdin = child.stdin.take().expect("stdin");
        let stdout = child.stdout.take().expect("stdout");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("the S3 server prints its port and keys");
        let v: serde_json::Value = serde_json::from_str(&line).expect("a JSON line");
        let pair = |who: &str| KeyPair {
            key_id: v[who]["key_id"].as_str().expect("a key id").to_string(),
            secret: v[who]["secret"].as_str().expect("a secret").to_string(),
        };
        Some(S3 {
            _child: child,
            _stdin: stdin,
            port: v["port"].as_u64().expect("a port") as u16,
            writer: pair("writer"),
            reader: pair("reader"),
        })
    }

    /// `http://127.0.0.1:PORT`.
    pub fn origin(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The object `key` of `bucket` as the server holds it, read with boto3 (the native
    /// client), as the writer; `None` when there is none.
    pub fn object(&self, bucket: &str, key: &str) -> Option<Vec<u8>> {
        let out = self.boto3(&format!(
            "import sys\ntry:\n    body = s3.get_object(Bucket={bucket:?}, Key={key:?})['Body'].read()\n\
             except (s3.exceptions.NoSuchKey, s3.exceptions.NoSuchBucket):\n    sys.exit(3)\nsys.stdout.buffer.write(body)\n"
        ));
        match out.status.code() {
            Some(0) => Some(out.stdout),
            Some(3) => None,
            _ => panic!("boto3: {}", String::from_utf8_lossy(&out.stderr)),
        }
    }

    /// Puts `body` under `key` of `bucket` with boto3, as the writer.
    pub fn put(&self, bucket: &str, key: &str, body: &[u8]) {
        use base64::Engine as _;
        let b64 = base64::engine::general_purpose::STANDARD.encode(body);
        let out = self.boto3(&format!(
            "import base64\ns3.put_object(Bucket={bucket:?}, Key={key:?}, Body=base64.b64decode({b64:?}))\n"
        ));
        assert!(
            out.status.success(),
            "boto3: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Runs `code` in the venv's Python with `s3`, a boto3 client signed as the writer.
    pub fn boto3(&self, code: &str) -> std::process::Output {
        let python = crate::target_dir().join("py-connectors/bin/python");
        let prelude = format!(
            "import boto3\ns3 = boto3.client('s3', endpoint_url={:?}, region_name='us-east-1', \
             aws_access_key_id={:?}, aws_secret_access_key={:?})\n",
            self.origin(),
            self.writer.key_id,
            self.writer.secret
        );
        Command::new(python)
            .args(["-c", &format!("{prelude}{code}")])
            .output()
            .expect("run Python")
    }
}
