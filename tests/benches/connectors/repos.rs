//! The rows of the connectors that read files: `git.log` of a 200-commit repository beside the
//! `git` command, `pdf.text` of a receipt beside poppler's `pdftotext`.

use super::{row, time_call, time_native};
use serde_json::json;
use spud::{Spud, SpudOptions};
use spud_tests::{guest, workspace};
use std::path::Path;
use std::process::Command;

/// A spud whose `git` and `pdf` read `dir` (at `/repos` and `/data`).
fn open(rt: &tokio::runtime::Runtime, dir: &Path) -> Spud {
    std::fs::write(
        dir.join("policy.toml"),
        "[tools.git]\nfiles = [{ host = \"repos\", guest = \"/repos\", access = \"read-only\" }]\n\
         [tools.pdf]\nfiles = [{ host = \"data\", guest = \"/data\", access = \"read-only\" }]\n",
    )
    .unwrap();
    let spud = Spud::open(SpudOptions {
        home: Some(dir.join("spud")),
        policy: Some(dir.join("policy.toml")),
        principal: Some("bench".into()),
    })
    .unwrap();
    rt.block_on(async {
        for p in ["git", "pdf"] {
            spud.add(&guest(p), None, None).await.unwrap();
        }
    });
    spud
}

/// Runs `git` in `dir` without user or system configuration.
fn git(dir: &Path, args: &[&str]) -> Vec<u8> {
    let out = Command::new("git")
        .current_dir(dir)
        .args([
            "-c",
            "init.defaultBranch=main",
            "-c",
            "commit.gpgsign=false",
        ])
        .args(args)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_AUTHOR_NAME", "Ana")
        .env("GIT_AUTHOR_EMAIL", "ana@shop.test")
        .env("GIT_COMMITTER_NAME", "Ana")
        .env("GIT_COMMITTER_EMAIL", "ana@shop.test")
        .output()
        .expect("git (scripts/setup-connectors.sh)");
    assert!(out.status.success(), "git {args:?}");
    out.stdout
}

/// `git.log` (20 newest of 200 commits, packed) and `pdf.text` beside their native tools.
pub fn repos_and_pdfs(rt: &tokio::runtime::Runtime, h: &tempfile::TempDir) {
    let dir = h.path().join("repos-bench");
    let repo = dir.join("repos/shop");
    std::fs::create_dir_all(&repo).unwrap();
    std::fs::create_dir_all(dir.join("data")).unwrap();
    git(&repo, &["init", "-q"]);
    for i in 0..200 {
        std::fs::write(repo.join(format!("f{}.txt", i % 10)), format!("line {i}\n")).unwrap();
        git(&repo, &["add", "-A"]);
        git(
            &repo,
            &[
                "commit",
                "-q",
                "-m",
                &format!("Change {i}\n\nDetails of change {i}."),
            ],
        );
    }
    git(&repo, &["gc", "-q"]);
    let spud = open(rt, &dir);

    let ours = time_call(
        rt,
        &spud,
        "git.log",
        json!({"repo": "shop", "max_count": 20}),
    );
    let theirs = time_native(&mut || {
        let out = git(
            &repo,
            &[
                "log",
                "-n",
                "20",
                "--format=%H%x00%an%x00%ae%x00%aI%x00%s%x00%b%x00%P",
            ],
        );
        assert!(out.split(|b| *b == b'\n').count() > 20);
    });
    row(
        "git (git.log, 20 of 200 packed commits)",
        ours,
        theirs,
        "git log -n 20",
    );

    let receipt =
        workspace().join("examples/workflows/expenses/data/receipts/2026-11-21-papeterie-nord.pdf");
    std::fs::copy(&receipt, dir.join("data/receipt.pdf")).unwrap();
    let ours = time_call(rt, &spud, "pdf.text", json!({"path": "receipt.pdf"}));
    let pdf = dir.join("data/receipt.pdf");
    let theirs = time_native(&mut || {
        let out = Command::new("pdftotext")
            .args(["-layout"])
            .arg(&pdf)
            .arg("-")
            .output()
            .expect("pdftotext (poppler-utils, scripts/setup-connectors.sh)");
        assert!(String::from_utf8_lossy(&out.stdout).contains("Printer paper"));
    });
    row(
        "pdf (pdf.text, a one-page receipt)",
        ours,
        theirs,
        "pdftotext -layout",
    );
}
