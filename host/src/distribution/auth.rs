//! Registry credentials: anonymous, basic or bearer, from the environment
//! (`SPUD_REGISTRY_USER` + `SPUD_REGISTRY_PASSWORD`, or `SPUD_REGISTRY_TOKEN`) or from a file in
//! the `config.json` shape container tools write (`{"auths": {"HOST:PORT": {"auth": base64
//! of "user:password"}}}`, or `username`/`password`, or `registrytoken`). Never logged: the
//! `Debug` form names the kind only.

use super::error::DistError;
use base64::Engine;
use oci_client::secrets::RegistryAuth;
use std::path::Path;

/// Credentials for one registry.
#[derive(Clone)]
pub struct Credentials(pub(super) RegistryAuth);

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self.0 {
            RegistryAuth::Anonymous => "Credentials(anonymous)",
            RegistryAuth::Basic(..) => "Credentials(basic, redacted)",
            RegistryAuth::Bearer(_) => "Credentials(bearer, redacted)",
        })
    }
}

impl Credentials {
    /// No credentials.
    pub fn anonymous() -> Credentials {
        Credentials(RegistryAuth::Anonymous)
    }
}

#[derive(serde::Deserialize)]
struct AuthFile {
    #[serde(default)]
    auths: std::collections::BTreeMap<String, AuthEntry>,
}

#[derive(serde::Deserialize)]
struct AuthEntry {
    auth: Option<String>,
    username: Option<String>,
    password: Option<String>,
    registrytoken: Option<String>,
}

/// The credentials for `registry` (`HOST[:PORT]`): from `file` when given (a registry it does
/// not name is anonymous), else from the environment, else anonymous.
pub fn credentials(registry: &str, file: Option<&Path>) -> Result<Credentials, DistError> {
    if let Some(file) = file {
        return from_file(registry, file);
    }
    let var = |n: &str| std::env::var(n).ok().filter(|v| !v.is_empty());
    if let Some(token) = var("SPUD_REGISTRY_TOKEN") {
        return Ok(Credentials(RegistryAuth::Bearer(token)));
    }
    match (var("SPUD_REGISTRY_USER"), var("SPUD_REGISTRY_PASSWORD")) {
        (Some(u), Some(p)) => Ok(Credentials(RegistryAuth::Basic(u, p))),
        _ => Ok(Credentials::anonymous()),
    }
}

fn from_file(registry: &str, file: &Path) -> Result<Credentials, DistError> {
    let bad = |reason: String| DistError::AuthFile {
        file: file.display().to_string(),
        reason,
    };
    let text = std::fs::read_to_string(file).map_err(|e| bad(e.to_string()))?;
    // The parser's message may quote the file; keep only its position.
    let parsed: AuthFile = serde_json::from_str(&text).map_err(|e| {
        bad(format!(
            "not JSON of the shape {{\"auths\": {{\"HOST:PORT\": {{\"auth\": \"…\"}}}}}} (line {}, column {})",
            e.line(),
            e.column()
        ))
    })?;
    let Some(entry) = parsed.auths.get(registry) else {
        return Ok(Credentials::anonymous());
    };
    if let Some(token) = &entry.registrytoken {
        return Ok(Credentials(RegistryAuth::Bearer(token.clone())));
    }
    if let (Some(u), Some(p)) = (&entry.username, &entry.password) {
        return Ok(Credentials(RegistryAuth::Basic(u.clone(), p.clone())));
    }
    let Some(auth) = &entry.auth else {
        return Err(bad(format!(
            "the entry for {registry} has no auth, username/password or registrytoken"
        )));
    };
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(auth.trim())
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .ok_or_else(|| {
            bad(format!(
                "the auth of {registry} is not base64 of \"user:password\""
            ))
        })?;
    let (u, p) = decoded.split_once(':').ok_or_else(|| {
        bad(format!(
            "the auth of {registry} is not base64 of \"user:password\""
        ))
    })?;
    Ok(Credentials(RegistryAuth::Basic(
        u.to_string(),
        p.to_string(),
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_config_json_and_never_shows_secrets() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("auth.json");
        let auth = base64::engine::general_purpose::STANDARD.encode("ann:s3cret");
        std::fs::write(&f, format!(r#"{{"auths": {{"127.0.0.1:5000": {{"auth": "{auth}"}}, "h:1": {{"registrytoken": "t0k"}}}}}}"#)).unwrap();
        let c = credentials("127.0.0.1:5000", Some(&f)).unwrap();
        assert!(matches!(&c.0, RegistryAuth::Basic(u, p) if u == "ann" && p == "s3cret"));
        assert!(!format!("{c:?}").contains("s3cret"));
        assert!(matches!(
            credentials("h:1", Some(&f)).unwrap().0,
            RegistryAuth::Bearer(_)
        ));
        assert!(matches!(
            credentials("other:1", Some(&f)).unwrap().0,
            RegistryAuth::Anonymous
        ));
        std::fs::write(&f, "{nope").unwrap();
        assert!(matches!(
            credentials("h:1", Some(&f)),
            Err(DistError::AuthFile { .. })
        ));
    }
}
