//! Storage measured for the cost figures: the bytes a directory holds, by a bounded walk.
//! wasi:filesystem offers no write hook, so storage is measured as growth: around each call
//! for its read-write directories, and at the end of a call for its temporary `/scratch`.

use std::path::Path;

/// Directories with more entries than this are not measured (the walk would cost more than
/// the figure is worth); their growth counts as 0.
pub const MAX_ENTRIES: usize = 10_000;

/// Total size of the regular files under `dir` (symlinks not followed), or `None` when it has
/// more than [`MAX_ENTRIES`] entries or cannot be read.
pub fn dir_bytes(dir: &Path) -> Option<u64> {
    let mut total = 0u64;
    let mut seen = 0usize;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).ok()? {
            let entry = entry.ok()?;
            seen += 1;
            if seen > MAX_ENTRIES {
                return None;
            }
            let meta = entry.metadata().ok()?;
            if meta.is_dir() {
                stack.push(entry.path());
            } else if meta.is_file() {
                total = total.saturating_add(meta.len());
            }
        }
    }
    Some(total)
}

/// Sizes of `dirs` now, to compare after a call with [`growth`].
pub fn snapshot<'a>(dirs: impl IntoIterator<Item = &'a Path>) -> Vec<Option<u64>> {
    dirs.into_iter().map(dir_bytes).collect()
}

/// Bytes added to `dirs` since `before` (shrinking counts as 0; unmeasured ones are skipped).
pub fn growth<'a>(dirs: impl IntoIterator<Item = &'a Path>, before: &[Option<u64>]) -> u64 {
    dirs.into_iter()
        .zip(before)
        .filter_map(|(d, b)| Some(dir_bytes(d)?.saturating_sub((*b)?)))
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn measures_nested_files_and_growth() {
        let dir = std::env::temp_dir().join(format!("spud-storage-test-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("a/b")).unwrap();
        std::fs::write(dir.join("x"), [0u8; 10]).unwrap();
        let before = snapshot([dir.as_path()]);
        assert_eq!(before, [Some(10)]);
        std::fs::write(dir.join("a/b/y"), [0u8; 32]).unwrap();
        assert_eq!(growth([dir.as_path()], &before), 32);
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(dir_bytes(&dir), None);
    }
}
