//! The mail and groupware servers the email, calendar and contacts connectors' tests start on
//! 127.0.0.1, from the Python venv `scripts/setup-connectors.sh` makes (`target/py-connectors`):
//! an SMTP server (`aiosmtpd`, `tests/servers/mail_sink.py`) that writes each message it
//! accepts into a folder, and Radicale (CalDAV and CardDAV) with htpasswd logins.

use crate::{db::free_port, target_dir, workspace};
use std::io::{BufRead, BufReader, Read, Write};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The venv's Python with `module` importable, or `None` outside CI when the setup script has
/// not run (in CI a missing server fails the test).
pub fn venv_python(module: &str) -> Option<PathBuf> {
    let python = target_dir().join("py-connectors/bin/python");
    let ok = python.exists()
        && Command::new(&python)
            .args(["-c", &format!("import {module}")])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
    if ok {
        return Some(python);
    }
    let msg = format!(
        "{module} is missing from {}: run scripts/setup-connectors.sh (scripts/setup-tests.sh does)",
        python.display()
    );
    assert!(std::env::var("CI").as_deref() != Ok("true"), "{msg}");
    eprintln!("skipped: {msg}");
    None
}

/// A child process killed when dropped.
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The SMTP server: a login required, every accepted message written to `dir`.
pub struct MailSink {
    _child: Killed,
    /// Where it listens on 127.0.0.1.
    pub port: u16,
    /// The login it accepts.
    pub user: &'static str,
    /// Its password.
    pub password: &'static str,
    dir: tempfile::TempDir,
}

impl MailSink {
    /// Starts it on a free port, or `None` outside CI when aiosmtpd is not installed.
    pub fn start() -> Option<MailSink> {
        let python = venv_python("aiosmtpd")?;
        let dir = tempfile::tempdir().expect("a temporary folder");
        let (user, password) = ("mailer", "smtp-pw-9f8e7d6c");
        let mut child = Command::new(python)
            .arg(workspace().join("tests/servers/mail_sink.py"))
            .arg(dir.path())
            .env("SMTP_SINK_USER", user)
            .env("SMTP_SINK_PASSWORD", password)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start the SMTP server");
        let stdout = child.stdout.take().expect("stdout");
        let child = Killed(child);
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("the SMTP server prints its port");
        let port = line.trim().parse().expect("a port number");
        Some(MailSink {
            _child: child,
            port,
            user,
            password,
            dir,
        })
    }

    /// `127.0.0.1:PORT`.
    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// The messages received so far, in order, as the server's Python read them: `mail_from`,
    /// `rcpt_tos`, `from`, `to`, `cc`, `bcc`, `subject`, `message_id`, `text`, `attachments`
    /// (`filename`, `content_type`, `data` in base64).
    pub fn messages(&self) -> Vec<serde_json::Value> {
        let mut names: Vec<PathBuf> = std::fs::read_dir(self.dir.path())
            .expect("the sink's folder")
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "json"))
            .collect();
        names.sort();
        names
            .iter()
            .map(|p| serde_json::from_slice(&std::fs::read(p).expect("a message")).expect("JSON"))
            .collect()
    }

    /// The raw bytes of message `n` (from 1), as received.
    pub fn raw(&self, n: usize) -> Vec<u8> {
        std::fs::read(self.dir.path().join(format!("{n:04}.eml"))).expect("the message")
    }
}

/// Radicale on 127.0.0.1 with one htpasswd user and a temporary storage folder.
pub struct Radicale {
    _child: Killed,
    /// Where it listens.
    pub port: u16,
    /// The user.
    pub user: &'static str,
    /// The user's password.
    pub password: &'static str,
    _dir: tempfile::TempDir,
}

impl Radicale {
    /// Starts it on a free port, or `None` outside CI when Radicale is not installed.
    pub fn start() -> Option<Radicale> {
        let python = venv_python("radicale")?;
        let dir = tempfile::tempdir().expect("a temporary folder");
        let (user, password) = ("shop", "dav-pw-1a2b3c4d");
        let users = dir.path().join("users");
        std::fs::write(&users, format!("{user}:{password}\n")).expect("the htpasswd file");
        let port = free_port();
        let config = dir.path().join("config");
        std::fs::write(
            &config,
            format!(
                "[server]\nhosts = 127.0.0.1:{port}\n\n[auth]\ntype = htpasswd\nhtpasswd_filename = {}\n\
                 htpasswd_encryption = plain\ndelay = 0\n\n[storage]\nfilesystem_folder = {}\n\n\
                 [logging]\nlevel = warning\n",
                users.display(),
                dir.path().join("collections").display()
            ),
        )
        .expect("the config file");
        let child = Command::new(python)
            .args(["-m", "radicale", "--config"])
            .arg(&config)
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start Radicale");
        let radicale = Radicale {
            _child: Killed(child),
            port,
            user,
            password,
            _dir: dir,
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return Some(radicale);
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("Radicale did not start listening on {port}");
    }

    /// `http://127.0.0.1:PORT`.
    pub fn origin(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// `user:password`, the value of a `basic` credential.
    pub fn login(&self) -> String {
        format!("{}:{}", self.user, self.password)
    }

    /// One request as the user (plain HTTP/1.1, its own connection): status and body.
    pub fn request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &str,
    ) -> (u16, String) {
        use base64::Engine as _;
        let auth = base64::engine::general_purpose::STANDARD.encode(self.login());
        let mut s = std::net::TcpStream::connect(("127.0.0.1", self.port)).expect("connect");
        let mut head = format!(
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nAuthorization: Basic {auth}\r\n\
             Content-Length: {}\r\nConnection: close\r\n",
            self.port,
            body.len()
        );
        for (k, v) in headers {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
        head.push_str("\r\n");
        s.write_all(head.as_bytes()).expect("write");
        s.write_all(body.as_bytes()).expect("write");
        let mut text = String::new();
        s.read_to_string(&mut text).expect("read");
        let status = text
            .split(' ')
            .nth(1)
            .and_then(|c| c.parse().ok())
            .unwrap_or(0);
        let body = text
            .split_once("\r\n\r\n")
            .map(|(_, b)| b.to_string())
            .unwrap_or_default();
        (status, body)
    }

    /// Makes a calendar collection `/USER/NAME/`.
    pub fn make_calendar(&self, name: &str, display: &str) {
        let body = format!(
            "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<C:mkcalendar xmlns:D=\"DAV:\" \
             xmlns:C=\"urn:ietf:params:xml:ns:caldav\"><D:set><D:prop><D:displayname>{display}\
             </D:displayname></D:prop></D:set></C:mkcalendar>"
        );
        let path = format!("/{}/{name}/", self.user);
        let (status, text) = self.request(
            "MKCALENDAR",
            &path,
            &[("Content-Type", "application/xml")],
            &body,
        );
        assert_eq!(status, 201, "MKCALENDAR {path}: {text}");
    }

    /// Makes an address book collection `/USER/NAME/`.
    pub fn make_address_book(&self, name: &str, display: &str) {
        let body = format!(
            "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<D:mkcol xmlns:D=\"DAV:\" \
             xmlns:CR=\"urn:ietf:params:xml:ns:carddav\"><D:set><D:prop><D:resourcetype>\
             <D:collection/><CR:addressbook/></D:resourcetype><D:displayname>{display}\
             </D:displayname></D:prop></D:set></D:mkcol>"
        );
        let path = format!("/{}/{name}/", self.user);
        let (status, text) = self.request(
            "MKCOL",
            &path,
            &[("Content-Type", "application/xml")],
            &body,
        );
        assert_eq!(status, 201, "MKCOL {path}: {text}");
    }

    /// PUTs an object (an `.ics` or `.vcf`) at `path`.
    pub fn put(&self, path: &str, content_type: &str, body: &str) {
        let (status, text) = self.request("PUT", path, &[("Content-Type", content_type)], body);
        assert!(
            status == 201 || status == 204,
            "PUT {path}: {status} {text}"
        );
    }

    /// GETs `path`: status and body.
    pub fn get(&self, path: &str) -> (u16, String) {
        self.request("GET", path, &[], "")
    }
}
