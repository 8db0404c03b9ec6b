//! The default scratch directory. A plugin that requests a read-write `/scratch` gets one even
//! when the operator maps no host directory there: the host mounts a fresh, empty temporary
//! directory for each call and removes it afterwards. Nothing on the host is exposed by it, and
//! nothing written survives the call. An operator who maps `/scratch` in the policy gets that
//! directory instead (e.g. to keep the files).

use crate::caps::{Access, Grant};
use spud_manifest::Requests;

/// The guest path of the scratch directory.
pub const SCRATCH_DIR: &str = "/scratch";

/// The guest path to back with a per-call temporary directory, if any: the plugin requests
/// read-write access to [`SCRATCH_DIR`] and `grant` (the call's effective grant) maps no host
/// directory there. The mount is always read-write.
pub fn temp_scratch(requests: &Requests, grant: &Grant) -> Option<&'static str> {
    let requested = requests
        .files
        .iter()
        .any(|r| r.guest.trim_end_matches('/') == SCRATCH_DIR && r.access == Access::ReadWrite);
    let mapped = grant
        .files
        .iter()
        .any(|f| f.guest.trim_end_matches('/') == SCRATCH_DIR);
    (requested && !mapped).then_some(SCRATCH_DIR)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::effective::effective;
    use crate::manifest::Manifest;
    use crate::policy::Policy;
    use spud_manifest::FileRequest;
    use std::path::Path;

    fn requests(src: &str) -> Requests {
        Manifest::from_toml(src, "m.toml")
            .unwrap()
            .into_inner()
            .requests
    }

    fn policy(src: &str) -> Policy {
        Policy::parse(src, "p.toml", Path::new("/srv"), false).unwrap()
    }

    const SCRATCH_RW: &str = "[requests]\nfiles=[{guest=\"/scratch\",access=\"read-write\"}]";

    #[test]
    fn unmapped_scratch_gets_a_temporary_directory() {
        let r = requests(SCRATCH_RW);
        let g = effective("python", &r, &Policy::deny_all()).grant;
        assert_eq!(temp_scratch(&r, &g), Some("/scratch"));
        // A trailing slash in the request is the same directory.
        let r = requests("[requests]\nfiles=[{guest=\"/scratch/\",access=\"read-write\"}]");
        assert_eq!(temp_scratch(&r, &g), Some("/scratch"));
    }

    #[test]
    fn a_mapping_in_the_policy_wins() {
        let r = requests(SCRATCH_RW);
        for access in ["read-write", "read-only"] {
            let p = policy(&format!(
                "[tools.python]\nfiles=[{{host=\"s\",guest=\"/scratch\",access=\"{access}\"}}]"
            ));
            let g = effective("python", &r, &p).grant;
            assert_eq!(temp_scratch(&r, &g), None, "{access}");
        }
    }

    #[test]
    fn only_a_requested_read_write_scratch() {
        let g = Grant::none();
        assert_eq!(temp_scratch(&Requests::default(), &g), None);
        let ro = requests("[requests]\nfiles=[{guest=\"/scratch\",access=\"read-only\"}]");
        assert_eq!(temp_scratch(&ro, &g), None);
        let other = Requests {
            files: vec![FileRequest {
                guest: "/data".into(),
                access: Access::ReadWrite,
                why: None,
            }],
            ..Default::default()
        };
        assert_eq!(temp_scratch(&other, &g), None);
    }
}
