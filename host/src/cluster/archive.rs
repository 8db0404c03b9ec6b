//! The traces and reports of the runs workers ran, in the object store `spud-runs`: a worker
//! stores a task's run (and the runs of its own sub-agents, `RUN.STEP…`) when it ends, and `spud
//! runs fetch RUN --nats URL` copies a run and its sub-agents' runs into a home, where `spud runs
//! show` and `spud report` read them as they read local ones.

use super::error::ClusterError;
use super::setup::Cluster;
use futures::StreamExt;
use std::path::Path;
use tokio::io::AsyncReadExt;

/// The files of a run directory that are kept.
const FILES: [&str; 2] = ["trace.jsonl", "report.json"];

/// Whether run directory `name` is run `id` or one of its sub-agents'.
fn belongs(name: &str, id: &str) -> bool {
    name == id
        || name
            .strip_prefix(id)
            .is_some_and(|rest| rest.starts_with('.'))
}

/// Stores run `id`'s files (and its sub-agents' run here) from `runs` (a home's `runs/`).
pub(super) async fn store_run(
    cluster: &Cluster,
    runs: &Path,
    id: &str,
) -> Result<usize, ClusterError> {
    let what = format!("store run {id}");
    let dirs = std::fs::read_dir(runs).map_err(|e| ClusterError::data(&what, e))?;
    let mut stored = 0;
    for dir in dirs.flatten() {
        let name = dir.file_name().to_string_lossy().into_owned();
        if !belongs(&name, id) {
            continue;
        }
        for file in FILES {
            let Ok(bytes) = std::fs::read(dir.path().join(file)) else {
                continue;
            };
            cluster
                .runs
                .put(format!("{name}/{file}").as_str(), &mut bytes.as_slice())
                .await
                .map_err(|e| ClusterError::js(&what, e))?;
            stored += 1;
        }
    }
    Ok(stored)
}

/// Copies run `id`'s files and its sub-agents' from the cluster into `runs`; returns the run
/// directories written (none: the cluster has no such run).
pub async fn fetch_run(
    cluster: &Cluster,
    id: &str,
    runs: &Path,
) -> Result<Vec<String>, ClusterError> {
    let what = format!("fetch run {id}");
    let mut list = cluster
        .runs
        .list()
        .await
        .map_err(|e| ClusterError::js(&what, e))?;
    let mut names = Vec::new();
    while let Some(info) = list.next().await {
        let info = info.map_err(|e| ClusterError::js(&what, e))?;
        let belongs_here = info
            .name
            .split_once('/')
            .is_some_and(|(dir, file)| belongs(dir, id) && FILES.contains(&file));
        if belongs_here && !info.deleted {
            names.push(info.name);
        }
    }
    let mut dirs = Vec::new();
    for name in names {
        let mut object = cluster
            .runs
            .get(&name)
            .await
            .map_err(|e| ClusterError::js(&what, e))?;
        let mut bytes = Vec::new();
        object
            .read_to_end(&mut bytes)
            .await
            .map_err(|e| ClusterError::data(&what, e))?;
        let (dir, file) = name.split_once('/').unwrap_or((id, "trace.jsonl"));
        let into = runs.join(dir);
        std::fs::create_dir_all(&into).map_err(|e| ClusterError::data(&what, e))?;
        std::fs::write(into.join(file), bytes).map_err(|e| ClusterError::data(&what, e))?;
        if !dirs.iter().any(|d| d == dir) {
            dirs.push(dir.to_string());
        }
    }
    dirs.sort();
    Ok(dirs)
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_run_owns_its_sub_agents_dirs_only() {
        assert!(super::belongs("r1", "r1"));
        assert!(super::belongs("r1.a0", "r1"));
        assert!(super::belongs("r1.a0.b2~1", "r1"));
        assert!(!super::belongs("r10", "r1"));
        assert!(!super::belongs("r1-x", "r1"));
    }
}
