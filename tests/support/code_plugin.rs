//! A code-execution plugin (`python`, `javascript`) registered once in its own home and called
//! through the `spud` binary, as users call it.

use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::Command;

/// A registered code plugin, its home and its two policies.
pub struct CodePlugin {
    /// The plugin's name (`python`, `javascript`); its tool is `NAME.run`.
    pub name: &'static str,
    /// spud's home.
    pub home: tempfile::TempDir,
    /// The host directory mapped at `/scratch` by `policy`.
    pub scratch: tempfile::TempDir,
    /// Maps `/scratch` to `scratch` (read-write).
    pub policy: PathBuf,
    /// Maps nothing: calls get a per-call temporary `/scratch`.
    pub bare_policy: PathBuf,
}

impl CodePlugin {
    /// Registers the guest `name` in a fresh home (precompiling it once).
    pub fn register(name: &'static str) -> CodePlugin {
        let home = tempfile::tempdir().expect("home");
        let scratch = tempfile::tempdir().expect("scratch");
        let policy = home.path().join("policy.toml");
        std::fs::write(
            &policy,
            format!(
                "[tools.{name}]\nfiles = [{{ host = {:?}, guest = \"/scratch\", access = \"read-write\" }}]\n",
                scratch.path().display().to_string()
            ),
        )
        .expect("policy");
        let bare_policy = home.path().join("bare.toml");
        std::fs::write(&bare_policy, "").expect("policy");
        let out = Command::new(crate::spud_bin())
            .arg("--home")
            .arg(home.path())
            .args(["tools", "add"])
            .arg(crate::guest(name))
            .output()
            .expect("run spud");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        CodePlugin {
            name,
            home,
            scratch,
            policy,
            bare_policy,
        }
    }

    /// `spud --home HOME --policy POLICY`, with no policy from the environment.
    pub fn command(&self, policy: &Path) -> Command {
        let mut c = Command::new(crate::spud_bin());
        c.arg("--home")
            .arg(self.home.path())
            .arg("--policy")
            .arg(policy)
            .env_remove("SPUD_POLICY");
        c
    }

    /// `spud call --json NAME.run {code}` under `policy` (with `SECRET_TOKEN` set in spud's
    /// environment, which the guest must not see), temporary files under `tmpdir` when given;
    /// (exit code, report).
    pub fn run_with(&self, policy: &Path, code: &str, tmpdir: Option<&Path>) -> (i32, Value) {
        let mut c = self.command(policy);
        c.args(["call", "--json", &format!("{}.run", self.name)])
            .arg(json!({ "code": code }).to_string())
            .env("SECRET_TOKEN", "hunter2");
        if let Some(t) = tmpdir {
            c.env("TMPDIR", t);
        }
        let out = c.output().expect("run spud");
        let report: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|err| {
            panic!(
                "not JSON ({err}): {}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            )
        });
        (out.status.code().unwrap_or(-1), report)
    }

    /// [`CodePlugin::run_with`] under `policy`.
    pub fn run(&self, code: &str) -> (i32, Value) {
        self.run_with(&self.policy, code, None)
    }

    /// The plugin's own result for a call that ran to completion.
    pub fn value(&self, code: &str) -> Value {
        let (exit, report) = self.run(code);
        assert_eq!(report["outcome"], "ok", "{report}");
        assert_eq!(exit, 0, "{report}");
        report["value"].clone()
    }

    /// `spud exec NAME FILE` under `policy`.
    pub fn exec(&self, file: &Path) -> std::process::Output {
        self.command(&self.policy)
            .args(["exec", self.name])
            .arg(file)
            .output()
            .expect("run spud")
    }
}
