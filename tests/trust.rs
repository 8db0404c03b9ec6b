//! The trust chain against a real OCI registry on 127.0.0.1 (basic auth, bcrypt htpasswd):
//! components published by an independent client (oras) and by `spud tools push`, pulled by
//! tag and by digest; a moved tag reported and refused under `--locked`; signatures valid,
//! missing, made with another key and moved onto a swapped artifact; an update that requests
//! more network denied until approved, with the grant diff; a registry down or answering
//! garbage leaving the installed tools untouched.

#[path = "trust/harness.rs"]
mod harness;
#[path = "trust/token.rs"]
mod token;

use harness::{available, code, copy_tag, oras_push, registry, spud_in, text};
use serde_json::Value;
use spud_tests::{guest, home, write_policy};
use std::path::Path;

fn spud(h: &Path, args: &[&str]) -> std::process::Output {
    spud_in(h, h, args)
}

fn oci(repo_tag: &str) -> String {
    format!("oci://{}/{repo_tag}", registry().addr)
}

fn lock(h: &Path) -> String {
    std::fs::read_to_string(h.join("spud.lock")).unwrap_or_default()
}

#[test]
fn pulls_by_tag_and_by_digest_what_a_third_party_published() {
    if !available() {
        return;
    }
    let h = home();
    let digest = oras_push("acme/json:1.0", &guest("json"), None);
    assert!(digest.starts_with("sha256:"), "{digest}");
    let o = spud(h.path(), &["tools", "add", &oci("acme/json:1.0")]);
    assert_eq!(code(&o), 0, "{}", text(&o));
    assert!(text(&o).contains("registered json"), "{}", text(&o));
    let l = lock(h.path());
    assert!(
        l.contains(&format!("manifest_digest = \"{digest}\"")),
        "{l}"
    );
    assert!(
        l.contains(&format!("source = \"{}\"", oci("acme/json:1.0"))),
        "{l}"
    );
    let by_digest = format!("{}@{digest}", oci("acme/json"));
    let o = spud(h.path(), &["tools", "add", &by_digest, "--name", "json2"]);
    assert_eq!(code(&o), 0, "{}", text(&o));
    let o = spud(
        h.path(),
        &[
            "call",
            "json2.query",
            r#"{"document": {"a": [1, 2]}, "path": "$.a[1]"}"#,
        ],
    );
    assert_eq!(code(&o), 0, "{}", text(&o));
    // A digest that is not there is a clear error.
    let missing = format!("{}@sha256:{}", oci("acme/json"), "0".repeat(64));
    let o = spud(h.path(), &["tools", "add", &missing]);
    assert_eq!(code(&o), 2, "{}", text(&o));
    assert!(text(&o).contains("not found"), "{}", text(&o));
}

#[test]
fn spud_pushes_a_plain_component_with_its_sidecar_and_pulls_it_back() {
    if !available() {
        return;
    }
    let h = home();
    let sidecar = h.path().join("typed.spud.toml");
    std::fs::write(
        &sidecar,
        "name = \"typedoci\"\ndescription = \"typed, from a registry\"\n",
    )
    .unwrap();
    let target = oci("acme/typed:2");
    let o = spud(
        h.path(),
        &[
            "tools",
            "push",
            guest("typed").to_str().unwrap(),
            &target,
            "--manifest",
            sidecar.to_str().unwrap(),
        ],
    );
    assert_eq!(code(&o), 0, "{}", text(&o));
    let o = spud(h.path(), &["tools", "add", &target, "--json"]);
    assert_eq!(code(&o), 0, "{}", text(&o));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["entry"]["name"], "typedoci", "the sidecar travelled: {v}");
    // Not a Wasm artifact: a wrong media type is refused.
    let o = spud(
        h.path(),
        &[
            "tools",
            "push",
            guest("typed").to_str().unwrap(),
            &oci("acme/typed@sha256:00"),
        ],
    );
    assert_eq!(code(&o), 2, "{}", text(&o));
}

#[test]
fn a_moved_tag_is_reported_and_refused_under_locked() {
    if !available() {
        return;
    }
    let h = home();
    let first = oras_push("acme/moving:1", &guest("json"), None);
    let src = oci("acme/moving:1");
    assert_eq!(
        code(&spud(h.path(), &["tools", "add", &src, "--name", "moving"])),
        0
    );
    let second = oras_push("acme/moving:1", &guest("http"), None);
    let before = std::fs::read(h.path().join("registry.json")).unwrap();
    let o = spud(
        h.path(),
        &["tools", "add", &src, "--name", "moving", "--locked"],
    );
    assert_eq!(code(&o), 7, "{}", text(&o));
    assert!(text(&o).contains("refused under --locked"), "{}", text(&o));
    assert_eq!(
        std::fs::read(h.path().join("registry.json")).unwrap(),
        before
    );
    let o = spud(h.path(), &["tools", "add", &src, "--name", "moving"]);
    assert_eq!(code(&o), 0, "{}", text(&o));
    assert!(
        text(&o).contains(&format!("moved: {first} -> {second}")),
        "{}",
        text(&o)
    );
    assert!(
        text(&o).contains("pending"),
        "never followed silently: {}",
        text(&o)
    );
}

/// A folder with keys `acme` and `other` and a policy that requires `acme` for `json`.
fn signing_setup(h: &Path) -> std::path::PathBuf {
    for k in ["acme", "other"] {
        let o = spud(h, &["keys", "generate", k]);
        assert_eq!(code(&o), 0, "{}", text(&o));
    }
    let mode = std::fs::metadata(h.join("acme.key")).unwrap();
    assert_eq!(
        std::os::unix::fs::PermissionsExt::mode(&mode.permissions()) & 0o777,
        0o600
    );
    write_policy(
        h,
        "[keys.acme]\npublic_key = \"acme.pub\"\n\n[tools.json]\nsigned_by = [\"acme\"]\n",
    )
}

#[test]
fn signatures_valid_missing_other_key_and_swapped_are_told_apart() {
    if !available() {
        return;
    }
    let h = home();
    let policy = signing_setup(h.path());
    let p = policy.to_str().unwrap();
    let src = oci("acme/signed:1");
    let digest = oras_push("acme/signed:1", &guest("json"), None);
    let o = spud(h.path(), &["--policy", p, "tools", "add", &src]);
    assert_eq!(code(&o), 5, "unsigned: {}", text(&o));
    assert!(
        text(&o).contains("is not signed") && text(&o).contains("key `acme`"),
        "{}",
        text(&o)
    );
    let o = spud(h.path(), &["tools", "sign", &src, "--key", "other.key"]);
    assert_eq!(code(&o), 0, "{}", text(&o));
    let o = spud(h.path(), &["--policy", p, "tools", "add", &src]);
    assert_eq!(code(&o), 6, "other key: {}", text(&o));
    assert!(
        text(&o).contains("does not verify with key `acme`"),
        "{}",
        text(&o)
    );
    let o = spud(h.path(), &["tools", "sign", &src, "--key", "acme.key"]);
    assert_eq!(code(&o), 0, "{}", text(&o));
    let o = spud(h.path(), &["--policy", p, "tools", "add", &src]);
    assert_eq!(code(&o), 0, "signed: {}", text(&o));
    assert!(text(&o).contains("signed by: acme"), "{}", text(&o));
    let g = spud(h.path(), &["--policy", p, "grants", "--json"]);
    let v: Value = serde_json::from_slice(&g.stdout).unwrap();
    assert_eq!(v["plugins"][0]["signer"], "acme", "{v}");
    assert_eq!(v["plugins"][0]["approved"], true, "{v}");
    // Swapped after signing: another artifact at the tag, the valid signature copied beside it.
    let swapped = oras_push("acme/signed:1", &guest("http"), None);
    let sig = |d: &str| format!("{}.sig", d.replacen(':', "-", 1));
    copy_tag("acme/signed", &sig(&digest), &sig(&swapped));
    let o = spud(
        h.path(),
        &["--policy", p, "tools", "add", &src, "--name", "json"],
    );
    assert_eq!(code(&o), 6, "swapped: {}", text(&o));
    assert!(text(&o).contains("swapped after signing"), "{}", text(&o));
}

#[test]
fn a_malformed_key_file_is_a_policy_error_with_file_and_line() {
    let h = home();
    std::fs::write(h.path().join("bad.pub"), "not a key").unwrap();
    let policy = write_policy(
        h.path(),
        "[trust]\nsigned_by = [\"bad\"]\n\n[keys.bad]\npublic_key = \"bad.pub\"\n",
    );
    let o = spud(h.path(), &["--policy", policy.to_str().unwrap(), "grants"]);
    assert_eq!(code(&o), 2, "{}", text(&o));
    assert!(text(&o).contains("policy.toml:5:"), "{}", text(&o));
    assert!(text(&o).contains("malformed"), "{}", text(&o));
    let policy = write_policy(h.path(), "[keys.gone]\npublic_key = \"gone.pub\"\n");
    let o = spud(h.path(), &["--policy", policy.to_str().unwrap(), "grants"]);
    assert!(
        text(&o).contains("policy.toml:2:") && text(&o).contains("cannot be read"),
        "{}",
        text(&o)
    );
}

#[test]
fn an_update_that_asks_for_more_network_waits_for_approval() {
    if !available() {
        return;
    }
    let h = home();
    let policy = write_policy(
        h.path(),
        "[tools.tool]\nnetwork = [\"http://127.0.0.1:*\"]\n",
    );
    let p = policy.to_str().unwrap();
    oras_push("acme/tool:1", &guest("json"), None);
    assert_eq!(
        code(&spud(
            h.path(),
            &[
                "--policy",
                p,
                "tools",
                "add",
                &oci("acme/tool:1"),
                "--name",
                "tool"
            ]
        )),
        0
    );
    oras_push("acme/tool:1", &guest("http"), None);
    let o = spud(h.path(), &["--policy", p, "tools", "update", "tool"]);
    assert_eq!(code(&o), 0, "{}", text(&o));
    assert!(
        text(&o).contains("+ network: http://*:*"),
        "the grant diff: {}",
        text(&o)
    );
    let entry: Value =
        serde_json::from_slice(&std::fs::read(h.path().join("registry.json")).unwrap()).unwrap();
    let digest = format!(
        "sha256:{}",
        entry["plugins"]["tool"]["digest"].as_str().unwrap()
    );
    let fetch = r#"{"url": "http://127.0.0.1:9/"}"#;
    let o = spud(h.path(), &["--policy", p, "call", "tool.fetch", fetch]);
    assert_eq!(code(&o), 3, "{}", text(&o));
    assert!(
        text(&o).contains(&format!("spud tools approve tool {digest}")),
        "{}",
        text(&o)
    );
    let g: Value =
        serde_json::from_slice(&spud(h.path(), &["--policy", p, "grants", "--json"]).stdout)
            .unwrap();
    assert_eq!(g["plugins"][0]["approved"], false, "{g}");
    let o = spud(
        h.path(),
        &["--policy", p, "tools", "approve", "tool", &digest],
    );
    assert_eq!(code(&o), 0, "{}", text(&o));
    let o = spud(h.path(), &["--policy", p, "call", "tool.fetch", fetch]);
    assert_ne!(code(&o), 3, "approved now: {}", text(&o));
    let audit = std::fs::read_to_string(h.path().join("audit/audit.jsonl")).unwrap();
    for action in [
        "\"action\":\"update\"",
        "\"action\":\"approve\"",
        "\"approved\":false",
    ] {
        assert!(audit.contains(action), "{action} in {audit}");
    }
}

#[test]
fn a_registry_down_or_answering_garbage_leaves_the_tools_untouched() {
    let h = home();
    assert_eq!(
        code(&spud(
            h.path(),
            &["tools", "add", guest("json").to_str().unwrap()]
        )),
        0
    );
    let before = std::fs::read(h.path().join("registry.json")).unwrap();
    let down = format!("oci://127.0.0.1:{}/acme/json:1", harness::free_port());
    let o = spud(h.path(), &["tools", "add", &down]);
    assert_eq!(code(&o), 2, "{}", text(&o));
    assert!(text(&o).contains("cannot reach 127.0.0.1"), "{}", text(&o));
    let garbage = format!("oci://{}/acme/json:1", harness::garbage_server());
    let o = spud(h.path(), &["tools", "add", &garbage]);
    assert_eq!(code(&o), 2, "{}", text(&o));
    assert!(text(&o).contains("garbage"), "{}", text(&o));
    assert_eq!(
        std::fs::read(h.path().join("registry.json")).unwrap(),
        before
    );
}

#[test]
fn basic_auth_from_the_environment_or_a_file() {
    if !available() {
        return;
    }
    let h = home();
    oras_push("acme/private:1", &guest("json"), None);
    let src = oci("acme/private:1");
    let anonymous = std::process::Command::new(spud_tests::spud_bin())
        .args(["--home", h.path().to_str().unwrap(), "tools", "add", &src])
        .env_remove("SPUD_REGISTRY_USER")
        .env_remove("SPUD_REGISTRY_PASSWORD")
        .env_remove("SPUD_REGISTRY_TOKEN")
        .output()
        .unwrap();
    assert_eq!(code(&anonymous), 2, "{}", text(&anonymous));
    assert!(
        text(&anonymous).contains("refused access"),
        "{}",
        text(&anonymous)
    );
    let auth = h.path().join("auth.json");
    let wrong = format!(
        r#"{{"auths": {{"{}": {{"username": "{}", "password": "wrong"}}}}}}"#,
        registry().addr,
        harness::USER
    );
    std::fs::write(&auth, wrong).unwrap();
    let o = spud(
        h.path(),
        &[
            "tools",
            "add",
            &src,
            "--registry-auth",
            auth.to_str().unwrap(),
        ],
    );
    assert_eq!(code(&o), 2, "{}", text(&o));
    assert!(
        !text(&o).contains("wrong\""),
        "no credentials in messages: {}",
        text(&o)
    );
    let right = format!(
        r#"{{"auths": {{"{}": {{"username": "{}", "password": "{}"}}}}}}"#,
        registry().addr,
        harness::USER,
        harness::PASSWORD
    );
    std::fs::write(&auth, right).unwrap();
    let o = spud(
        h.path(),
        &[
            "tools",
            "add",
            &src,
            "--registry-auth",
            auth.to_str().unwrap(),
        ],
    );
    assert_eq!(code(&o), 0, "{}", text(&o));
    assert!(!text(&o).contains(harness::PASSWORD));
    assert_eq!(
        code(&spud(h.path(), &["tools", "add", &src])),
        0,
        "from the environment"
    );
}

/// spud with only the given registry credentials in its environment.
fn spud_with(h: &Path, args: &[&str], env: &[(&str, &str)]) -> std::process::Output {
    let mut cmd = std::process::Command::new(spud_tests::spud_bin());
    cmd.arg("--home").arg(h).args(args).current_dir(h);
    for v in [
        "SPUD_POLICY",
        "SPUD_REGISTRY_USER",
        "SPUD_REGISTRY_PASSWORD",
        "SPUD_REGISTRY_TOKEN",
    ] {
        cmd.env_remove(v);
    }
    cmd.envs(env.iter().copied()).output().unwrap()
}

#[test]
fn bearer_tokens_from_a_token_service_or_given_in_the_environment() {
    if !available() {
        return;
    }
    let t = token::token_registry();
    let h = home();
    let src = format!("oci://{}/acme/bearer:1", t.registry.addr);
    let basic = [
        ("SPUD_REGISTRY_USER", harness::USER),
        ("SPUD_REGISTRY_PASSWORD", harness::PASSWORD),
    ];
    // Basic credentials exchanged at the realm for a token, to push and to pull.
    let o = spud_with(
        h.path(),
        &["tools", "push", guest("json").to_str().unwrap(), &src],
        &basic,
    );
    assert_eq!(code(&o), 0, "{}", text(&o));
    let before = t.issued.load(std::sync::atomic::Ordering::SeqCst);
    assert!(before > 0, "the push went through the token service");
    let o = spud_with(h.path(), &["tools", "add", &src], &basic);
    assert_eq!(code(&o), 0, "{}", text(&o));
    assert!(t.issued.load(std::sync::atomic::Ordering::SeqCst) > before);
    // No credentials, or wrong ones: the token service refuses, a clear error, no secret shown.
    let o = spud_with(h.path(), &["tools", "add", &src, "--name", "anon"], &[]);
    assert_eq!(code(&o), 2, "{}", text(&o));
    let wrong = [
        ("SPUD_REGISTRY_USER", harness::USER),
        ("SPUD_REGISTRY_PASSWORD", "not-the-password"),
    ];
    let o = spud_with(h.path(), &["tools", "add", &src, "--name", "wrong"], &wrong);
    assert_eq!(code(&o), 2, "{}", text(&o));
    assert!(!text(&o).contains("not-the-password"), "{}", text(&o));
    // A token issued beforehand, given as SPUD_REGISTRY_TOKEN, is sent as is.
    let token = t.token("repository:acme/bearer:pull");
    let o = spud_with(
        h.path(),
        &["tools", "add", &src, "--name", "bytoken"],
        &[("SPUD_REGISTRY_TOKEN", &token)],
    );
    assert_eq!(code(&o), 0, "{}", text(&o));
    assert!(!text(&o).contains(&token), "the token is never shown");
    // A token for another repository does not open this one.
    let other = t.token("repository:acme/other:pull");
    let o = spud_with(
        h.path(),
        &["tools", "add", &src, "--name", "other"],
        &[("SPUD_REGISTRY_TOKEN", &other)],
    );
    assert_eq!(code(&o), 2, "{}", text(&o));
    let names = spud_with(h.path(), &["tools", "list", "--json"], &[]);
    let list = String::from_utf8_lossy(&names.stdout).to_string();
    assert!(
        list.contains("bytoken") && !list.contains("\"other\"") && !list.contains("anon"),
        "{list}"
    );
}
