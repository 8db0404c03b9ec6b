//! `spud init --workflow NAME` writes every file of each example workflow, byte for byte.

use spud_tests::home;
use std::path::Path;

/// The files under `dir`, relative to it, sorted.
fn files_under(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        if e.path().is_dir() {
            let nested = files_under(&e.path());
            found.extend(
                nested
                    .into_iter()
                    .map(|f| Path::new(&e.file_name()).join(f)),
            );
        } else {
            found.push(e.file_name().into());
        }
    }
    found.sort();
    found
}

#[test]
fn init_writes_every_file_of_every_workflow() {
    let h = home();
    let mut names: Vec<String> =
        std::fs::read_dir(spud_tests::workspace().join("examples/workflows"))
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
    names.sort();
    assert_eq!(names.len(), 15, "{names:?}");
    for name in &names {
        let name = name.as_str();
        let dir = h.path().join(name);
        let o = std::process::Command::new(spud_tests::spud_bin())
            .args(["init", "--workflow", name])
            .arg(&dir)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let example = spud_tests::workspace()
            .join("examples/workflows")
            .join(name);
        let files = files_under(&example);
        assert_eq!(files_under(&dir), files, "{name}");
        for f in files {
            let (ours, theirs) = (dir.join(&f), example.join(&f));
            assert_eq!(
                std::fs::read(ours).unwrap(),
                std::fs::read(theirs).unwrap(),
                "{name}: {f:?}"
            );
        }
    }
}
