//! The credentials of the policy (`[credentials.NAME]`), read once when spud opens: values from
//! spud's environment or from files beside the policy, checked, registered as secrets (allowed
//! only to their destinations) and handed to the HTTP gate, never to a component.

use crate::sandbox::HeldCredential;
use spud_policy::{CredentialSource, CredentialValue, LeakGuard, Policy};
use std::path::Path;

/// Reads every credential's value. A file that cannot be read, or a value that cannot go into
/// a request, is an error (a secret spud cannot read is one it cannot protect); a variable that
/// is not set leaves the credential without a value, which each request it would go with
/// records. Values are added to `guard` (allowed to their destinations) and to `values`.
pub(super) fn held_credentials(
    policy: &Policy,
    base: &Path,
    lookup: impl Fn(&str) -> Option<String>,
    mut guard: LeakGuard,
    values: &mut Vec<String>,
) -> anyhow::Result<(LeakGuard, Vec<HeldCredential>)> {
    let mut held = Vec::new();
    for (name, c) in &policy.credentials {
        let raw = match &c.source {
            CredentialSource::Env(var) => lookup(var)
                .ok_or_else(|| format!("{var} is not set in spud's environment (value_env)")),
            CredentialSource::File(file) => {
                let path = base.join(file);
                Ok(std::fs::read_to_string(&path).map_err(|e| {
                    anyhow::anyhow!(
                        "credential {name}: value_file {} (in {}) cannot be read: {e}",
                        path.display(),
                        policy.source_name()
                    )
                })?)
            }
        };
        let value = match raw {
            Ok(raw) => Ok(CredentialValue::new(name, &raw, &c.inject)
                .map_err(|e| anyhow::anyhow!("{e} (in {})", policy.source_name()))?),
            Err(missing) => Err(missing),
        };
        if let Ok(v) = &value {
            guard = guard.with_allowed(name, v.expose().to_string(), c.destinations.clone());
            values.push(v.expose().to_string());
        }
        held.push(HeldCredential {
            name: name.clone(),
            credential: c.clone(),
            value,
        });
    }
    Ok((guard, held))
}
