//! Notices tools added or removed while serving (by `spud tools add` / `remove` in other
//! processes, which rewrite the registry file under its lock): the file's size, modification
//! time and inode are polled; on a change the registry is re-read and, if its plugins changed,
//! every session is sent `notifications/tools/list_changed`.

use super::shared::Shared;
use std::sync::Arc;

/// What identifies one version of the registry file.
fn stamp(path: &std::path::Path) -> Option<(std::time::SystemTime, u64, u64)> {
    let m = std::fs::metadata(path).ok()?;
    #[cfg(unix)]
    let ino = std::os::unix::fs::MetadataExt::ino(&m);
    #[cfg(not(unix))]
    let ino = 0;
    Some((m.modified().ok()?, m.len(), ino))
}

/// Stops the watcher when dropped.
pub struct WatchGuard(tokio::task::JoinHandle<()>);

impl Drop for WatchGuard {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Starts watching; the task ends when the guard is dropped.
pub fn spawn(shared: Arc<Shared>) -> WatchGuard {
    WatchGuard(tokio::spawn(async move {
        let file = shared.spud.home().registry_file();
        let mut last = stamp(&file);
        let mut generation = 0u64;
        let mut tick = tokio::time::interval(shared.options.watch_interval);
        loop {
            tick.tick().await;
            let now = stamp(&file);
            if now == last {
                continue;
            }
            last = now;
            match shared.spud.refresh_registry() {
                Ok(true) => {
                    generation += 1;
                    tracing::info!("tool list changed (generation {generation})");
                    let _ = shared.changes.send(generation);
                    shared.notify_list_changed().await;
                }
                Ok(false) => {}
                Err(e) => tracing::warn!("cannot re-read the registry: {e}"),
            }
        }
    }))
}
