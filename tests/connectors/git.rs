//! The Git connector over a real repository made by the `git` command: history with authors
//! and dates, a branch, tags, a binary file, packed objects (after `git gc`) and loose ones;
//! every answer is checked against what `git` itself says.

use super::{ok, spud_with, tool_error};
use serde_json::{json, Value};
use std::path::Path;
use std::process::Command;

const POLICY: &str =
    "[tools.git]\nfiles = [{ host = \"ro\", guest = \"/repos\", access = \"read-only\" }]\n";

/// Runs `git` in `dir` with no user or system configuration; returns its stdout.
fn git(dir: &Path, args: &[&str], date: &str, author: (&str, &str)) -> String {
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
        .env("GIT_AUTHOR_NAME", author.0)
        .env("GIT_AUTHOR_EMAIL", author.1)
        .env("GIT_COMMITTER_NAME", author.0)
        .env("GIT_COMMITTER_EMAIL", author.1)
        .env("GIT_AUTHOR_DATE", date)
        .env("GIT_COMMITTER_DATE", date)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

const ANA: (&str, &str) = ("Ana Lima", "ana@shop.test");
const BO: (&str, &str) = ("Bo Chen", "bo@shop.test");

/// A shop's repository: five commits on `main` (the first three packed by `git gc`, the rest
/// loose), a `v1.0` tag, a `pricing` branch, a binary file.
fn make_repo(dir: &Path) {
    std::fs::create_dir_all(dir.join("src")).unwrap();
    let commit = |msg: &str, date: &str, who| {
        git(dir, &["add", "-A"], date, who);
        git(dir, &["commit", "-q", "-m", msg], date, who);
    };
    git(dir, &["init", "-q"], "2026-11-01T09:00:00+01:00", ANA);
    std::fs::write(dir.join("README.md"), "# Shop\n\nSells tea.\n").unwrap();
    std::fs::write(dir.join("src/price.txt"), "green 4.50\nblack 3.90\n").unwrap();
    commit("Start the shop", "2026-11-01T09:00:00+01:00", ANA);
    std::fs::write(
        dir.join("src/price.txt"),
        "green 4.80\nblack 3.90\noolong 6.10\n",
    )
    .unwrap();
    commit(
        "Raise green tea, add oolong\n\nSupplier costs went up.",
        "2026-11-10T10:00:00+01:00",
        BO,
    );
    std::fs::write(dir.join("logo.png"), [0x89u8, b'P', b'N', b'G', 0, 1, 2, 3]).unwrap();
    commit("Add the logo", "2026-11-12T11:00:00+01:00", ANA);
    git(
        dir,
        &["tag", "-a", "v1.0", "-m", "First price list"],
        "2026-11-12T11:00:00+01:00",
        ANA,
    );
    git(dir, &["gc", "-q"], "2026-11-12T11:00:00+01:00", ANA);
    git(
        dir,
        &["branch", "pricing"],
        "2026-11-12T11:00:00+01:00",
        ANA,
    );
    std::fs::write(dir.join("README.md"), "# Shop\n\nSells tea and cups.\n").unwrap();
    commit("Sell cups too", "2026-11-20T15:30:00-05:00", BO);
    std::fs::remove_file(dir.join("logo.png")).unwrap();
    std::fs::write(dir.join("src/cups.txt"), "mug 9.00\n").unwrap();
    commit(
        "Cups price list; drop the logo",
        "2026-11-25T08:00:00+00:00",
        ANA,
    );
}

fn subjects(v: &Value) -> Vec<&str> {
    v["commits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["subject"].as_str().unwrap())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn git_reads_history_changes_and_files_as_git_does() {
    let (spud, h) = spud_with(POLICY, &["git"]).await;
    let repo = h.path().join("ro/shop");
    make_repo(&repo);
    let call = |args: Value| {
        let spud = &spud;
        async move { spud.call("git.log", &args).await.unwrap() }
    };

    // History, newest first, the same ids as `git log`, dates with their offsets.
    let v = ok(&call(json!({"repo": "shop"})).await.outcome);
    let ids: Vec<&str> = v["commits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    let native = git(&repo, &["log", "--format=%H"], "2026-12-01T00:00:00Z", ANA);
    assert_eq!(ids, native.lines().collect::<Vec<_>>());
    assert_eq!(v["commits"][1]["date"], "2026-11-20T15:30:00-05:00");
    assert_eq!(v["commits"][3]["body"], "Supplier costs went up.");
    assert_eq!(v["commits"][3]["author"], "Bo Chen");
    assert_eq!(v["truncated"], false);

    // Filters: a path, an author, a word, dates, a count.
    let v = ok(&call(json!({"repo": "shop", "path": "src/price.txt"}))
        .await
        .outcome);
    assert_eq!(
        subjects(&v),
        ["Raise green tea, add oolong", "Start the shop"]
    );
    let v = ok(&call(json!({"repo": "shop", "author": "BO@shop"}))
        .await
        .outcome);
    assert_eq!(
        subjects(&v),
        ["Sell cups too", "Raise green tea, add oolong"]
    );
    let v = ok(&call(json!({"repo": "shop", "message": "SUPPLIER"}))
        .await
        .outcome);
    assert_eq!(subjects(&v), ["Raise green tea, add oolong"]);
    let v = ok(
        &call(json!({"repo": "shop", "since": "2026-11-12", "until": "2026-11-25"}))
            .await
            .outcome,
    );
    assert_eq!(subjects(&v), ["Sell cups too", "Add the logo"]);
    let v = ok(
        &call(json!({"repo": "shop", "rev": "pricing", "max_count": 2}))
            .await
            .outcome,
    );
    assert_eq!(
        subjects(&v),
        ["Add the logo", "Raise green tea, add oolong"]
    );
    assert_eq!(v["truncated"], true);

    // One commit with its patch: an added file, a deleted binary.
    let r = spud
        .call("git.show", &json!({"repo": "shop"}))
        .await
        .unwrap();
    let v = ok(&r.outcome);
    assert_eq!(v["commit"]["subject"], "Cups price list; drop the logo");
    let files = &v["changes"]["files"];
    assert_eq!(files[0]["path"], "logo.png");
    assert_eq!(files[0]["status"], "deleted");
    assert_eq!(files[0]["binary"], true);
    assert_eq!(files[1]["path"], "src/cups.txt");
    assert_eq!(files[1]["status"], "added");
    assert_eq!(files[1]["additions"], 1);
    let patch = v["changes"]["patch"].as_str().unwrap();
    assert!(
        patch.contains("--- /dev/null\n+++ b/src/cups.txt\n"),
        "{patch}"
    );
    assert!(patch.contains("+mug 9.00\n"), "{patch}");

    // A packed commit, against its parent, and the same counts as `git show --numstat`.
    let r = spud
        .call("git.show", &json!({"repo": "shop", "rev": "v1.0~1"}))
        .await
        .unwrap();
    let v = ok(&r.outcome);
    let native = git(
        &repo,
        &["show", "--format=", "--numstat", "v1.0~1"],
        "2026-12-01T00:00:00Z",
        ANA,
    );
    assert_eq!(native.trim(), "2\t1\tsrc/price.txt");
    assert_eq!(v["changes"]["additions"], 2);
    assert_eq!(v["changes"]["deletions"], 1);
    assert!(v["changes"]["patch"]
        .as_str()
        .unwrap()
        .contains("-green 4.50\n+green 4.80\n"));

    // Between a tag and HEAD, only one path, the patch cut where asked.
    let r = spud
        .call(
            "git.diff",
            &json!({"repo": "shop", "from": "v1.0", "path": "README.md", "max_patch_bytes": 40}),
        )
        .await
        .unwrap();
    let v = ok(&r.outcome);
    assert_eq!(v["changes"]["files"].as_array().unwrap().len(), 1);
    assert_eq!(v["changes"]["files"][0]["status"], "modified");
    assert_eq!(v["changes"]["patch_truncated"], true);
    assert!(v["changes"]["patch"].as_str().unwrap().len() <= 40);

    // Lines matching a pattern in the files at a revision.
    let r = spud
        .call(
            "git.grep",
            &json!({"repo": "shop", "pattern": "^GREEN", "ignore_case": true, "rev": "v1.0"}),
        )
        .await
        .unwrap();
    let v = ok(&r.outcome);
    assert_eq!(
        v["matches"],
        json!([{"path": "src/price.txt", "line": 1, "text": "green 4.80"}])
    );
    let r = spud
        .call(
            "git.grep",
            &json!({"repo": "shop", "pattern": "\\d+\\.\\d0$"}),
        )
        .await
        .unwrap();
    let v = ok(&r.outcome);
    assert_eq!(v["matches"].as_array().unwrap().len(), 4, "{v}");

    // Branches, tags, HEAD.
    let r = spud
        .call("git.refs", &json!({"repo": "shop"}))
        .await
        .unwrap();
    let v = ok(&r.outcome);
    assert_eq!(v["head_branch"], "main");
    let names = |k: &str| {
        v[k].as_array()
            .unwrap()
            .iter()
            .map(|t| t["name"].as_str().unwrap().to_string())
            .collect::<Vec<_>>()
    };
    assert_eq!(names("branches"), ["main", "pricing"]);
    assert_eq!(names("tags"), ["v1.0"]);
    assert_eq!(v["tags"][0]["subject"], "Add the logo");

    // Revision expressions resolve as `git rev-parse` resolves them; a bare clone reads alike.
    for rev in ["HEAD~2", "main^", "v1.0^{}", "v1.0~1^1", "@"] {
        let native = git(
            &repo,
            &["rev-parse", &format!("{rev}^{{commit}}")],
            "2026-12-01T00:00:00Z",
            ANA,
        );
        let r = spud
            .call(
                "git.show",
                &json!({"repo": "shop", "rev": rev, "patch": false}),
            )
            .await
            .unwrap();
        assert_eq!(ok(&r.outcome)["commit"]["id"], native.trim(), "{rev}");
    }
    let short = &native_head(&repo)[..7];
    let r = spud
        .call(
            "git.log",
            &json!({"repo": "shop", "rev": short, "max_count": 1}),
        )
        .await
        .unwrap();
    assert_eq!(ok(&r.outcome)["commits"][0]["id"], native_head(&repo));
    git(
        h.path().join("ro").as_path(),
        &["clone", "-q", "--bare", "shop", "shop.git"],
        "2026-12-01T00:00:00Z",
        ANA,
    );
    let r = spud
        .call("git.log", &json!({"repo": "shop.git"}))
        .await
        .unwrap();
    assert_eq!(ok(&r.outcome)["commits"].as_array().unwrap().len(), 5);
}

/// HEAD's id as `git` says.
fn native_head(repo: &Path) -> String {
    git(repo, &["rev-parse", "HEAD"], "2026-12-01T00:00:00Z", ANA)
        .trim()
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn git_refuses_what_is_not_a_granted_repository() {
    let (spud, h) = spud_with(POLICY, &["git"]).await;
    make_repo(&h.path().join("ro/shop"));
    std::fs::create_dir_all(h.path().join("ro/plain")).unwrap();
    // The repository the host keeps beside the grant is out of reach.
    make_repo(&h.path().join("data/secret"));

    let r = spud
        .call("git.log", &json!({"repo": "../data/secret"}))
        .await
        .unwrap();
    assert!(tool_error(&r.outcome).contains("without `..`"));
    let r = spud
        .call("git.log", &json!({"repo": "plain"}))
        .await
        .unwrap();
    assert!(tool_error(&r.outcome).contains("is not a Git repository"));
    let r = spud
        .call("git.log", &json!({"repo": "shop", "rev": "nope"}))
        .await
        .unwrap();
    assert!(tool_error(&r.outcome).contains("`nope` names no commit"));
    let r = spud
        .call("git.grep", &json!({"repo": "shop", "pattern": "("}))
        .await
        .unwrap();
    assert!(tool_error(&r.outcome).contains("bad pattern"));
    let r = spud
        .call("git.log", &json!({"repo": "shop", "since": "last week"}))
        .await
        .unwrap();
    assert!(tool_error(&r.outcome).contains("`since` must be RFC 3339"));

    // Without the grant there is no /repos at all.
    let (spud, h) = spud_with("", &["git"]).await;
    make_repo(&h.path().join("ro/shop"));
    let r = spud
        .call("git.log", &json!({"repo": "shop"}))
        .await
        .unwrap();
    assert!(
        tool_error(&r.outcome).contains("no directory `shop` under /repos"),
        "{:?}",
        r.outcome
    );
}
