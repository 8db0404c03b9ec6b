//! The IMAP server the mailbox connector's tests, its workflow and its benchmark run against:
//! Debian's Dovecot, started once per test binary on a free port of 127.0.0.1 as an
//! unprivileged process (the `dovecot` system user when the tests run as root) with its own
//! configuration in a temporary folder: passwd-file logins, maildirs under the folder, no TLS.
//! Each test takes a mailbox of its own. Python's imaplib (`tests/servers/imap_box.py`) is the
//! native client that seeds messages and reads the end state back.

use crate::db::{free_port, server_binary};
use crate::workspace;
use std::io::Write;
use std::os::unix::fs::MetadataExt;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

/// How many mailboxes the server has (one per test that asks).
const MAILBOXES: usize = 40;

/// The password of every mailbox.
pub const PASSWORD: &str = "imap-pw-5a6b7c8d";

/// The running server. It stops when the test binary exits: its stdin is a pipe from this
/// process, and the shell that started it stops it when that pipe closes.
pub struct Dovecot {
    /// Where it listens on 127.0.0.1.
    pub port: u16,
    _stdin: Mutex<ChildStdin>,
    _shell: Mutex<Child>,
    _dir: tempfile::TempDir,
    next: AtomicUsize,
}

/// One mailbox on the server.
#[derive(Debug, Clone)]
pub struct Mailbox {
    /// Where the server listens on 127.0.0.1.
    pub port: u16,
    /// The login.
    pub user: String,
    /// Its password.
    pub password: &'static str,
}

/// The user the server runs as: name, uid, gid.
fn run_as() -> (String, u32, u32) {
    let me = std::fs::metadata("/proc/self")
        .map(|m| (m.uid(), m.gid()))
        .unwrap_or((0, 0));
    let name = |uid: u32| {
        let passwd = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
        passwd.lines().find_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            (f.len() > 3 && f[2] == uid.to_string()).then(|| f[0].to_string())
        })
    };
    if me.0 != 0 {
        return (
            name(me.0).expect("the current user in /etc/passwd"),
            me.0,
            me.1,
        );
    }
    let passwd = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
    let entry = passwd
        .lines()
        .map(|l| l.split(':').collect::<Vec<_>>())
        .find(|f| f.len() > 3 && f[0] == "dovecot")
        .expect("the dovecot user (made by the dovecot-core package)");
    (
        "dovecot".into(),
        entry[2].parse().expect("uid"),
        entry[3].parse().expect("gid"),
    )
}

fn config(dir: &Path, port: u16, user: &str, group: &str) -> String {
    let d = dir.display();
    format!(
        "base_dir = {d}/run\nstate_dir = {d}/state\nlog_path = {d}/log\ninfo_log_path = {d}/log\n\
         protocols = imap\nlisten = 127.0.0.1\nssl = no\ndisable_plaintext_auth = no\n\
         auth_mechanisms = plain login\nauth_failure_delay = 0\nmail_fsync = never\n\
         default_login_user = {user}\ndefault_internal_user = {user}\n\
         default_internal_group = {group}\nfirst_valid_uid = 0\nfirst_valid_gid = 0\n\
         mail_location = maildir:{d}/mail/%u\n\
         passdb {{\n  driver = passwd-file\n  args = scheme=PLAIN username_format=%u {d}/users\n}}\n\
         userdb {{\n  driver = passwd-file\n  args = username_format=%u {d}/users\n}}\n\
         service imap-login {{\n  chroot =\n  inet_listener imap {{\n    address = 127.0.0.1\n    port = {port}\n  }}\n\
         \x20 inet_listener imaps {{\n    port = 0\n  }}\n}}\nservice anvil {{\n  chroot =\n}}\n\
         namespace inbox {{\n  inbox = yes\n  separator = /\n  mailbox Drafts {{\n    special_use = \\Drafts\n    auto = subscribe\n  }}\n\
         \x20 mailbox Sent {{\n    special_use = \\Sent\n    auto = subscribe\n  }}\n}}\n"
    )
}

impl Dovecot {
    /// The test binary's server, started on first use; `None` outside CI when Dovecot is not
    /// installed (in CI a missing server fails the test).
    pub fn shared() -> Option<&'static Dovecot> {
        static SERVER: OnceLock<Option<Dovecot>> = OnceLock::new();
        SERVER.get_or_init(Dovecot::start).as_ref()
    }

    fn start() -> Option<Dovecot> {
        // Debian puts it in /usr/sbin, which not every PATH has.
        let debian = Path::new("/usr/sbin/dovecot");
        let bin = if debian.is_file() {
            debian.to_path_buf()
        } else {
            server_binary("dovecot")?
        };
        let dir = tempfile::tempdir().expect("a temporary folder");
        let (user, uid, gid) = run_as();
        let group = std::fs::read_to_string("/etc/group")
            .unwrap_or_default()
            .lines()
            .find_map(|l| {
                let f: Vec<&str> = l.split(':').collect();
                (f.len() > 2 && f[2] == gid.to_string()).then(|| f[0].to_string())
            })
            .unwrap_or_else(|| user.clone());
        let port = free_port();
        let conf = dir.path().join("dovecot.conf");
        std::fs::write(&conf, config(dir.path(), port, &user, &group)).expect("the config");
        let users: String = (1..=MAILBOXES)
            .map(|n| {
                format!(
                    "box{n}:{{PLAIN}}{PASSWORD}:{uid}:{gid}::{}/mail/box{n}::\n",
                    dir.path().display()
                )
            })
            .collect();
        std::fs::write(dir.path().join("users"), users).expect("the users file");
        for p in [
            dir.path().to_path_buf(),
            conf.clone(),
            dir.path().join("users"),
        ] {
            std::os::unix::fs::chown(&p, Some(uid), Some(gid)).expect("chown the server's folder");
        }
        // `read` returns when this process's end of the pipe closes (the test binary exited):
        // the server stops with it, and its folder goes.
        let mut child = Command::new("sh")
            .arg("-c")
            .arg("\"$0\" -F -c \"$1\" & pid=$!; read _ignored; kill $pid; wait $pid; rm -rf \"$2\"")
            .arg(&bin)
            .arg(&conf)
            .arg(dir.path())
            .uid(uid)
            .gid(gid)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start dovecot");
        let stdin = child.stdin.take().expect("stdin");
        let server = Dovecot {
            port,
            _stdin: Mutex::new(stdin),
            _shell: Mutex::new(child),
            _dir: dir,
            next: AtomicUsize::new(1),
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return Some(server);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let log = std::fs::read_to_string(server._dir.path().join("log")).unwrap_or_default();
        panic!("dovecot did not start listening on {port}: {log}");
    }

    /// A mailbox of its own for one test (INBOX, Drafts and Sent, empty).
    pub fn mailbox(&self) -> Mailbox {
        let n = self.next.fetch_add(1, Ordering::SeqCst);
        assert!(
            n <= MAILBOXES,
            "more than {MAILBOXES} mailboxes asked for: raise MAILBOXES"
        );
        Mailbox {
            port: self.port,
            user: format!("box{n}"),
            password: PASSWORD,
        }
    }
}

impl Mailbox {
    /// `127.0.0.1:PORT`.
    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    fn script(&self, args: &[&str], stdin: &[u8]) -> String {
        let mut child = Command::new("python3")
            .arg(workspace().join("tests/servers/imap_box.py"))
            .args([&self.port.to_string(), &self.user, self.password])
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("python3");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(stdin)
            .expect("write");
        let out = child.wait_with_output().expect("imap_box.py");
        assert!(
            out.status.success(),
            "imap_box.py {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Adds a message (RFC 5322 text) to `folder` with imaplib, with `flags` such as `(\Seen)`.
    pub fn append(&self, folder: &str, flags: &str, message: &str) {
        let message = message.replace("\r\n", "\n").replace('\n', "\r\n");
        let mut args = vec!["append", folder];
        if !flags.is_empty() {
            args.push(flags);
        }
        self.script(&args, message.as_bytes());
    }

    /// Every folder's messages, read with imaplib: `{"INBOX": [{"uid", "flags", "from", "to",
    /// "subject", "message_id", "in_reply_to", "text"}, …], …}`.
    pub fn dump(&self) -> serde_json::Value {
        serde_json::from_str(&self.script(&["dump"], b"")).expect("JSON from imap_box.py")
    }

    /// imaplib doing what one `imap.search` call does, `n` times: milliseconds each.
    pub fn bench_native(&self, n: usize, folder: &str, from: &str) -> Vec<f64> {
        serde_json::from_str(&self.script(&["bench", &n.to_string(), folder, from], b""))
            .expect("JSON from imap_box.py")
    }
}

static SEQUENCE: AtomicUsize = AtomicUsize::new(1);

/// A small message from `from` with `subject` and `text`, dated 2 November 2026.
pub fn message(from: &str, subject: &str, text: &str) -> String {
    format!(
        "From: {from}\nTo: Corner Shop <shop@corner.example>\nSubject: {subject}\n\
         Date: Mon, 02 Nov 2026 09:00:00 +0000\nMessage-ID: <{}@test.example>\n\
         Content-Type: text/plain; charset=utf-8\n\n{text}\n",
        SEQUENCE.fetch_add(1, Ordering::SeqCst)
    )
}
