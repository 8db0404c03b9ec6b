//! Retention of run folders, pure: which runs are older than the retention period. Runs are
//! kept whole: a root run and its sub-agent runs (`ROOT.STEP…`) go together, by the root's age.

use std::time::{Duration, SystemTime};

/// The ids among `runs` (id, last modified) to remove at `now` when runs are kept for
/// `retain`; a sub-agent run follows its root.
pub fn expired(runs: &[(String, SystemTime)], now: SystemTime, retain: Duration) -> Vec<String> {
    let cutoff = now.checked_sub(retain).unwrap_or(SystemTime::UNIX_EPOCH);
    let root_of = |id: &str| id.split('.').next().unwrap_or(id).to_string();
    let old_roots: std::collections::BTreeSet<String> = runs
        .iter()
        .filter(|(id, _)| !id.contains('.'))
        .filter(|(_, modified)| *modified < cutoff)
        .map(|(id, _)| id.clone())
        .collect();
    let mut out: Vec<String> = runs
        .iter()
        .filter(|(id, modified)| {
            let root = root_of(id);
            old_roots.contains(&root)
                // An orphaned sub-agent run (its root already gone) goes by its own age.
                || (id.contains('.') && !runs.iter().any(|(r, _)| *r == root) && *modified < cutoff)
        })
        .map(|(id, _)| id.clone())
        .collect();
    out.sort();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn old_roots_go_with_their_sub_agents() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(100 * 86_400);
        let day = |d: u64| SystemTime::UNIX_EPOCH + Duration::from_secs(d * 86_400);
        let runs = vec![
            ("old".to_string(), day(10)),
            ("old.a".to_string(), day(95)), // young, but its root is old
            ("new".to_string(), day(99)),
            ("new.a".to_string(), day(99)),
            ("orphan.x".to_string(), day(1)),
        ];
        let gone = expired(&runs, now, Duration::from_secs(30 * 86_400));
        assert_eq!(gone, ["old", "old.a", "orphan.x"]);
        assert!(expired(&runs, now, Duration::from_secs(1000 * 86_400)).is_empty());
    }
}
