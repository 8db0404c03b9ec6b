//! Precompiled component cache. Compiling a component costs ~150 ms; loading a precompiled
//! artifact with `deserialize_file` ~0.2 ms, so every component is compiled once.
//!
//! Entries are keyed by the component's sha256 and the engine's compatibility key, so a new
//! wasmtime or different settings miss the cache instead of loading a stale artifact. Each entry
//! has a sidecar with the artifact's own sha256: a corrupted artifact is detected before wasmtime
//! sees it, and rebuilt.

use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use wasmtime::component::Component;

/// What loading from the cache did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheOutcome {
    /// Loaded a valid artifact.
    Hit,
    /// No artifact: compiled and stored.
    Compiled,
    /// An artifact existed but was corrupt or unloadable: compiled again and replaced.
    Rebuilt,
}

/// The precompiled-artifact cache in a folder.
#[derive(Debug, Clone)]
pub struct ArtifactCache {
    dir: PathBuf,
    engine_key: String,
}

impl ArtifactCache {
    /// A cache in `dir` for an engine with compatibility key `engine_key`.
    pub fn new(dir: impl Into<PathBuf>, engine_key: impl Into<String>) -> ArtifactCache {
        ArtifactCache {
            dir: dir.into(),
            engine_key: engine_key.into(),
        }
    }

    /// Path of the artifact for a component digest.
    pub fn artifact_path(&self, digest: &str) -> PathBuf {
        self.dir.join(format!("{digest}-{}.cwasm", self.engine_key))
    }

    fn checksum_path(artifact: &Path) -> PathBuf {
        artifact.with_extension("cwasm.sha256")
    }

    /// Loads the component for `digest`, compiling `wasm` (read lazily) on a miss.
    pub fn load(
        &self,
        engine: &wasmtime::Engine,
        digest: &str,
        wasm: impl FnOnce() -> std::io::Result<Vec<u8>>,
    ) -> anyhow::Result<(Component, CacheOutcome)> {
        let path = self.artifact_path(digest);
        let had_entry = path.exists();
        if had_entry {
            match self.try_load(engine, &path) {
                Ok(c) => return Ok((c, CacheOutcome::Hit)),
                Err(e) => tracing::warn!(
                    "cache entry {} is unusable ({e:#}); rebuilding",
                    path.display()
                ),
            }
        }
        let bytes = wasm()?;
        let component = self.compile_and_store(engine, &bytes, &path)?;
        Ok((
            component,
            if had_entry {
                CacheOutcome::Rebuilt
            } else {
                CacheOutcome::Compiled
            },
        ))
    }

    fn try_load(&self, engine: &wasmtime::Engine, path: &Path) -> anyhow::Result<Component> {
        let expected = std::fs::read_to_string(Self::checksum_path(path))?;
        let bytes = std::fs::read(path)?;
        let actual = hex::encode(Sha256::digest(&bytes));
        anyhow::ensure!(expected.trim() == actual, "artifact checksum mismatch");
        // SAFETY: the artifact was produced by `precompile_component` of an engine with the same
        // compatibility key, and its checksum matches what we wrote, so it is our own output.
        let component = unsafe { Component::deserialize(engine, &bytes)? };
        Ok(component)
    }

    fn compile_and_store(
        &self,
        engine: &wasmtime::Engine,
        wasm: &[u8],
        path: &Path,
    ) -> anyhow::Result<Component> {
        std::fs::create_dir_all(&self.dir)?;
        let artifact = engine.precompile_component(wasm)?;
        let sum = hex::encode(Sha256::digest(&artifact));
        // Write to temporary names, then rename: a crash never leaves a half-written entry.
        let tmp = path.with_extension(format!("tmp{}", std::process::id()));
        std::fs::write(&tmp, &artifact)?;
        let tmp_sum = tmp.with_extension("sum");
        std::fs::write(&tmp_sum, &sum)?;
        std::fs::rename(&tmp_sum, Self::checksum_path(path))?;
        std::fs::rename(&tmp, path)?;
        // SAFETY: produced just now by this engine.
        let component = unsafe { Component::deserialize(engine, &artifact)? };
        Ok(component)
    }

    /// Removes every artifact of `digest`.
    pub fn evict(&self, digest: &str) {
        if let Ok(entries) = std::fs::read_dir(&self.dir) {
            for e in entries.flatten() {
                if e.file_name().to_string_lossy().starts_with(digest) {
                    let _ = std::fs::remove_file(e.path());
                }
            }
        }
    }
}

/// Hex sha256 of bytes.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}
