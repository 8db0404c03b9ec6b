//! The real OCI registry (`docker-registry`, the CNCF distribution server) the trust tests
//! run against, on 127.0.0.1 with basic auth (an htpasswd file, bcrypt), one per test binary;
//! the independent `oras` client that publishes like a third party; and `spud` itself.

use spud_tests::{spud_bin, target_dir, workspace};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

pub const USER: &str = "publisher";
pub const PASSWORD: &str = "s3cret-pass";

/// The running registry.
pub struct Registry {
    /// `127.0.0.1:PORT`.
    pub addr: String,
    _dir: tempfile::TempDir,
}

/// Whether the registry and the oras client are installed. In CI (`CI=true`) a missing one
/// fails the test; elsewhere the test says it is skipped.
pub fn available() -> bool {
    let registry = which("docker-registry");
    let htpasswd = which("htpasswd");
    let openssl = which("openssl");
    let oras = oras_python().exists();
    if registry && htpasswd && openssl && oras {
        return true;
    }
    let what = format!(
        "docker-registry: {registry}, htpasswd: {htpasswd}, openssl: {openssl}, oras venv: {oras}; run scripts/setup-registry.sh"
    );
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "missing in CI: {what}"
    );
    eprintln!("SKIPPED (not in CI): {what}");
    false
}

fn which(bin: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|p| std::env::split_paths(&p).any(|d| d.join(bin).is_file()))
}

fn oras_python() -> PathBuf {
    target_dir().join("py-oras/bin/python")
}

/// A free port on 127.0.0.1.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The one registry of this test binary (started on first use; it ends with the process).
pub fn registry() -> &'static Registry {
    static REGISTRY: OnceLock<Registry> = OnceLock::new();
    REGISTRY.get_or_init(start)
}

fn start() -> Registry {
    let dir = tempfile::tempdir().unwrap();
    let htpasswd = Command::new("htpasswd")
        .args(["-Bbn", USER, PASSWORD])
        .output()
        .unwrap();
    assert!(htpasswd.status.success());
    std::fs::write(dir.path().join("htpasswd"), &htpasswd.stdout).unwrap();
    let auth = format!(
        "auth:\n  htpasswd:\n    realm: spud-test\n    path: {}\n",
        dir.path().join("htpasswd").display()
    );
    start_with(dir, &auth)
}

/// Starts a registry in `dir` with the `auth:` section `auth` (YAML, at the top level).
pub fn start_with(dir: tempfile::TempDir, auth: &str) -> Registry {
    let port = free_port();
    let config = format!(
        "version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: {root}\n  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:{port}\n{auth}",
        root = dir.path().join("data").display(),
    );
    let cfg = dir.path().join("config.yml");
    std::fs::write(&cfg, config).unwrap();
    // A watchdog ends the registry when this test process ends.
    let script = format!(
        "docker-registry serve \"$1\" >\"$2\" 2>&1 & r=$!; while kill -0 {} 2>/dev/null && kill -0 $r 2>/dev/null; do sleep 0.5; done; kill $r 2>/dev/null",
        std::process::id()
    );
    // The watchdog outlives this handle on purpose: it reaps the registry when the test ends.
    #[allow(clippy::zombie_processes)]
    Command::new("bash")
        .args(["-c", &script, "watchdog"])
        .arg(&cfg)
        .arg(dir.path().join("registry.log"))
        .stdin(Stdio::null())
        .spawn()
        .unwrap();
    let addr = format!("127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(20);
    while TcpStream::connect(&addr).is_err() {
        assert!(
            Instant::now() < deadline,
            "docker-registry did not start on {addr}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    Registry { addr, _dir: dir }
}

/// Publishes `component` (and a sidecar) at `REPO:TAG` with oras; returns the manifest digest.
pub fn oras_push(repo_tag: &str, component: &Path, sidecar: Option<&Path>) -> String {
    let mut cmd = Command::new(oras_python());
    cmd.arg(workspace().join("tests/trust/oras_push.py"))
        .arg(format!("{}/{repo_tag}", registry().addr))
        .arg(component);
    if let Some(s) = sidecar {
        cmd.arg(s);
    }
    let o = cmd
        .env("ORAS_USER", USER)
        .env("ORAS_PASSWORD", PASSWORD)
        .output()
        .unwrap();
    assert!(o.status.success(), "oras push failed: {}", text(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    out.lines().last().unwrap_or("").trim().to_string()
}

/// Copies `FROM` to tag `TO` in `repo`, as an attacker with push access would.
pub fn copy_tag(repo: &str, from: &str, to: &str) {
    let o = Command::new(oras_python())
        .arg(workspace().join("tests/trust/copy_tag.py"))
        .args([&registry().addr, repo, from, to])
        .env("ORAS_USER", USER)
        .env("ORAS_PASSWORD", PASSWORD)
        .output()
        .unwrap();
    assert!(o.status.success(), "copy failed: {}", text(&o));
}

/// Runs spud in `home` (with the registry's credentials in the environment), from `cwd`.
pub fn spud_in(home: &Path, cwd: &Path, args: &[&str]) -> Output {
    Command::new(spud_bin())
        .arg("--home")
        .arg(home)
        .args(args)
        .current_dir(cwd)
        .env_remove("SPUD_POLICY")
        .env_remove("SPUD_REGISTRY_TOKEN")
        .env("SPUD_REGISTRY_USER", USER)
        .env("SPUD_REGISTRY_PASSWORD", PASSWORD)
        .output()
        .unwrap()
}

/// stdout and stderr.
pub fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// The exit code.
pub fn code(o: &Output) -> i32 {
    o.status.code().unwrap_or(-1)
}

/// A server on 127.0.0.1 that answers every request with a 200 and a body that is no OCI
/// manifest; ends with the process.
pub fn garbage_server() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    std::thread::spawn(move || {
        for stream in listener.incoming().take(64) {
            let Ok(mut s) = stream else { continue };
            let mut buf = [0u8; 4096];
            let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
            let _ = s.read(&mut buf);
            let body = "{\"schemaVersion\": \"garbage\", \"layers\": 7}";
            let _ = write!(
                s,
                "HTTP/1.1 200 OK\r\nContent-Type: application/vnd.oci.image.manifest.v1+json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    addr
}
