//! Finding and starting Chromium with its traffic pinned to spud's proxy, and measuring the
//! memory of its processes.

use super::error::BrowserError;
use super::limits::BrowserLimits;
use chromiumoxide::browser::{Browser, BrowserConfig};
use chromiumoxide::handler::Handler;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// The Chromium binary: `$SPUD_CHROMIUM`, else `chromium-headless-shell` (Debian's
/// `chromium-headless-shell` package, which `scripts/setup-browser.sh` installs), else
/// `chromium`, on the `PATH`. A short wrapper script that only runs the binary (Debian's
/// `/usr/bin/chromium-headless-shell`) is looked through, so that the process spud starts,
/// measures and kills is the browser itself.
pub fn find() -> Result<PathBuf, BrowserError> {
    if let Some(p) = std::env::var_os("SPUD_CHROMIUM").filter(|p| !p.is_empty()) {
        return Ok(through_wrapper(PathBuf::from(p)));
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    for name in ["chromium-headless-shell", "chromium"] {
        for dir in std::env::split_paths(&path) {
            let candidate = dir.join(name);
            if candidate.is_file() {
                return Ok(through_wrapper(candidate));
            }
        }
    }
    Err(BrowserError::Failed(
        "no Chromium found: install Debian's chromium-headless-shell (scripts/setup-browser.sh) or set SPUD_CHROMIUM".into(),
    ))
}

/// The flags that make every byte the browser sends go through `proxy`: no loopback
/// bypass, no QUIC, no non-proxied WebRTC UDP, no name resolution of its own, no background
/// traffic of Chromium's own (updates, sync, metrics). Each is a switch and its value, if any.
pub fn pinned_flags(proxy: SocketAddr) -> Vec<(&'static str, Option<String>)> {
    let v = |s: &str| Some(s.to_string());
    vec![
        ("proxy-server", Some(format!("http://{proxy}"))),
        // Chromium bypasses a proxy for loopback unless told not to.
        ("proxy-bypass-list", v("<-loopback>")),
        ("disable-quic", None),
        (
            "force-webrtc-ip-handling-policy",
            v("disable_non_proxied_udp"),
        ),
        ("webrtc-ip-handling-policy", v("disable_non_proxied_udp")),
        // Names are resolved by spud (the proxy), never by Chromium.
        // (The proxy's own address, an IP literal, must stay reachable.)
        (
            "host-resolver-rules",
            Some(format!("MAP * ~NOTFOUND , EXCLUDE {}", proxy.ip())),
        ),
        ("dns-prefetch-disable", None),
        ("disable-background-networking", None),
        ("disable-component-update", None),
        ("disable-domain-reliability", None),
        ("disable-sync", None),
        ("metrics-recording-only", None),
        ("no-pings", None),
        ("disable-features", v("NetworkPrediction")),
        ("disable-features", v("OptimizationHints")),
        ("disable-features", v("MediaRouter")),
        ("disable-features", v("HttpsUpgrades")),
        ("disable-gpu", None),
    ]
}

/// Starts Chromium with its profile in `profile` and its traffic pinned to `proxy`.
pub async fn launch(
    profile: &Path,
    proxy: SocketAddr,
    limits: &BrowserLimits,
) -> Result<(Browser, Handler), BrowserError> {
    let exe = find()?;
    let mut builder = BrowserConfig::builder()
        .chrome_executable(exe)
        .user_data_dir(profile)
        .launch_timeout(limits.launch)
        .request_timeout(limits.action)
        .window_size(1280, 800);
    for (switch, value) in pinned_flags(proxy) {
        builder = match value {
            Some(value) => builder.arg((switch, value.as_str())),
            None => builder.arg(switch),
        };
    }
    // Chromium's own sandbox needs user namespaces, which root and many containers lack.
    if is_root() {
        builder = builder.no_sandbox();
    }
    let config = builder.build().map_err(BrowserError::Failed)?;
    Browser::launch(config)
        .await
        .map_err(|e| BrowserError::Failed(format!("the browser did not start: {e}")))
}

/// The binary a short `#!` wrapper script runs (at most 10 lines of code, naming an absolute
/// path to an executable whose name starts with `chrom` that is not itself a script); else
/// `path` itself.
fn through_wrapper(path: PathBuf) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let Ok(text) = std::fs::read(&path) else {
        return path;
    };
    if !text.starts_with(b"#!") || text.len() > 4096 {
        return path;
    }
    let text = String::from_utf8_lossy(&text);
    let code: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect();
    if code.len() > 10 {
        return path;
    }
    let runnable = |p: &Path| {
        p.file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with("chrom"))
            && std::fs::metadata(p)
                .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
            && std::fs::read(p).is_ok_and(|b| !b.starts_with(b"#!"))
    };
    code.iter()
        .flat_map(|l| l.split_whitespace())
        .map(|t| PathBuf::from(t.trim_matches(|c| c == '"' || c == '\'')))
        .find(|p| p.is_absolute() && runnable(p))
        .unwrap_or(path)
}

/// Kills process `pid` and all its descendants (found first, so none is orphaned by its
/// parent dying before it): a browser leaves nothing running.
pub fn kill_tree(pid: u32) {
    for p in tree(pid).into_iter().rev() {
        if let Ok(p) = i32::try_from(p) {
            // SAFETY: kill has no memory-safety preconditions; a gone pid is an error we ignore.
            unsafe {
                libc::kill(p, libc::SIGKILL);
            }
        }
    }
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

/// The peak resident memory of process `pid` and all its descendants, in bytes: the sum of
/// each one's high-water mark (`VmHWM`), read from `/proc` (0 where there is none).
pub fn peak_rss(pid: u32) -> u64 {
    tree(pid)
        .iter()
        .map(|p| status_kb(*p, "VmHWM:") * 1024)
        .sum()
}

/// `pid` and its descendants, from `/proc/*/stat`.
pub fn tree(pid: u32) -> Vec<u32> {
    let mut parents: Vec<(u32, u32)> = Vec::new();
    if let Ok(dir) = std::fs::read_dir("/proc") {
        for e in dir.flatten() {
            let Some(p) = e.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) else {
                continue;
            };
            if let Some(pp) = parent_of(p) {
                parents.push((p, pp));
            }
        }
    }
    let mut out = vec![pid];
    let mut i = 0;
    while i < out.len() {
        let cur = out[i];
        out.extend(parents.iter().filter(|(_, pp)| *pp == cur).map(|(p, _)| *p));
        i += 1;
    }
    out
}

fn parent_of(pid: u32) -> Option<u32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // `pid (comm) state ppid …`; comm may hold spaces and parentheses.
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.split_whitespace().nth(1)?.parse().ok()
}

fn status_kb(pid: u32, key: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(key))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}
