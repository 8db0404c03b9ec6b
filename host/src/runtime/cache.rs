//! Precompiled component cache. Compiling a component costs ~150 ms; loading a precompiled
//! artifact ~0.2 ms, so every component is compiled once.
//!
//! Entries are keyed by the component's sha256 and the engine's compatibility key, so a new
//! wasmtime or different settings miss the cache instead of loading a stale artifact. Loading an
//! artifact is `unsafe`: wasmtime runs it as its own machine code. So each entry has a sidecar
//! with an HMAC-SHA256 ([`CacheKey`]) over the digest, the engine key and the artifact, under a
//! key kept in the home: an artifact that is tampered with, unsigned, moved from another digest
//! or signed with another key is never deserialized. It is rebuilt from the verified component,
//! with a warning, and the rebuild is listed in [`ArtifactCache::take_rebuilds`] for the audit
//! log.

use super::cache_key::CacheKey;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use wasmtime::component::Component;

/// Why a cache entry was not used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RebuildReason {
    /// The artifact or its MAC could not be read.
    Unreadable,
    /// The entry has no MAC (written by an older spud, or its MAC was removed).
    MissingMac,
    /// The MAC does not match: the artifact was changed, moved from another digest or engine,
    /// or signed with another key.
    BadMac,
    /// The MAC matched but wasmtime could not load the artifact.
    Unloadable,
}

impl RebuildReason {
    /// The reason as a word for logs and the audit record.
    pub fn as_str(self) -> &'static str {
        match self {
            RebuildReason::Unreadable => "unreadable",
            RebuildReason::MissingMac => "missing_mac",
            RebuildReason::BadMac => "bad_mac",
            RebuildReason::Unloadable => "unloadable",
        }
    }
}

impl std::fmt::Display for RebuildReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What loading from the cache did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheOutcome {
    /// Loaded an authenticated artifact.
    Hit,
    /// No artifact: compiled and stored.
    Compiled,
    /// An artifact existed but was not used: compiled again and replaced.
    Rebuilt(RebuildReason),
}

/// A rebuilt entry, for the audit log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rebuild {
    /// The component digest.
    pub digest: String,
    /// Why the old entry was not used.
    pub reason: RebuildReason,
}

/// The precompiled-artifact cache in a folder.
#[derive(Debug)]
pub struct ArtifactCache {
    dir: PathBuf,
    engine_key: String,
    key: CacheKey,
    rebuilds: Mutex<Vec<Rebuild>>,
}

impl ArtifactCache {
    /// A cache in `dir` for an engine with compatibility key `engine_key`, its entries
    /// authenticated with `key`.
    pub fn new(dir: impl Into<PathBuf>, engine_key: impl Into<String>, key: CacheKey) -> Self {
        ArtifactCache {
            dir: dir.into(),
            engine_key: engine_key.into(),
            key,
            rebuilds: Mutex::new(Vec::new()),
        }
    }

    /// Path of the artifact for a component digest.
    pub fn artifact_path(&self, digest: &str) -> PathBuf {
        self.dir.join(format!("{digest}-{}.cwasm", self.engine_key))
    }

    /// Path of the MAC beside an artifact.
    pub fn mac_path(artifact: &Path) -> PathBuf {
        artifact.with_extension("cwasm.mac")
    }

    /// The entries rebuilt since the last call, oldest first (the caller audits them).
    pub fn take_rebuilds(&self) -> Vec<Rebuild> {
        self.rebuilds
            .lock()
            .map(|mut r| std::mem::take(&mut *r))
            .unwrap_or_default()
    }

    /// Loads the component for `digest`, compiling `wasm` (read lazily) on a miss or when the
    /// entry cannot be authenticated.
    pub fn load(
        &self,
        engine: &wasmtime::Engine,
        digest: &str,
        wasm: impl FnOnce() -> std::io::Result<Vec<u8>>,
    ) -> anyhow::Result<(Component, CacheOutcome)> {
        let path = self.artifact_path(digest);
        let mut outcome = CacheOutcome::Compiled;
        if path.exists() {
            match self.try_load(engine, digest, &path) {
                Ok(c) => return Ok((c, CacheOutcome::Hit)),
                Err(reason) => {
                    tracing::warn!(
                        "cache entry {} not used ({reason}); rebuilding it from the component",
                        path.display()
                    );
                    outcome = CacheOutcome::Rebuilt(reason);
                }
            }
        }
        let bytes = wasm()?;
        anyhow::ensure!(
            sha256_hex(&bytes) == digest,
            "component for {digest} does not match its digest; not compiling it"
        );
        let component = self.compile_and_store(engine, digest, &bytes, &path)?;
        if let CacheOutcome::Rebuilt(reason) = outcome {
            if let Ok(mut r) = self.rebuilds.lock() {
                r.push(Rebuild {
                    digest: digest.to_string(),
                    reason,
                });
            }
        }
        Ok((component, outcome))
    }

    fn try_load(
        &self,
        engine: &wasmtime::Engine,
        digest: &str,
        path: &Path,
    ) -> Result<Component, RebuildReason> {
        let tag = match std::fs::read_to_string(Self::mac_path(path)) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(RebuildReason::MissingMac)
            }
            Err(_) => return Err(RebuildReason::Unreadable),
        };
        let tag = hex::decode(tag.trim()).map_err(|_| RebuildReason::BadMac)?;
        let bytes = std::fs::read(path).map_err(|_| RebuildReason::Unreadable)?;
        if !self.key.verify(digest, &self.engine_key, &bytes, &tag) {
            return Err(RebuildReason::BadMac);
        }
        // SAFETY: the bytes carry a MAC under the home's cache key over this digest, this
        // engine's compatibility key and these exact bytes; only `compile_and_store` below makes
        // such MACs, from `precompile_component` of an engine with the same key.
        unsafe { Component::deserialize(engine, &bytes) }.map_err(|_| RebuildReason::Unloadable)
    }

    fn compile_and_store(
        &self,
        engine: &wasmtime::Engine,
        digest: &str,
        wasm: &[u8],
        path: &Path,
    ) -> anyhow::Result<Component> {
        std::fs::create_dir_all(&self.dir)?;
        let artifact = engine.precompile_component(wasm)?;
        let mac = hex::encode(self.key.mac(digest, &self.engine_key, &artifact));
        // Write to temporary names, then rename: a crash never leaves a half-written entry (a
        // MAC and an artifact from two writers do not match, and the entry is rebuilt).
        let tmp = path.with_extension(format!("tmp{}", std::process::id()));
        std::fs::write(&tmp, &artifact)?;
        let tmp_mac = tmp.with_extension("mac");
        std::fs::write(&tmp_mac, &mac)?;
        std::fs::rename(&tmp_mac, Self::mac_path(path))?;
        std::fs::rename(&tmp, path)?;
        // The checksum sidecar of older spuds is no longer read.
        let _ = std::fs::remove_file(path.with_extension("cwasm.sha256"));
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The empty component: `(component)`.
    const WASM: &[u8] = b"\0asm\x0d\x00\x01\x00";
    /// The empty component with a custom section: another digest.
    const WASM2: &[u8] = b"\0asm\x0d\x00\x01\x00\x00\x05\x04test";

    struct Fixture {
        _dir: tempfile::TempDir,
        engine: wasmtime::Engine,
        cache: ArtifactCache,
    }

    fn fixture(key: [u8; 32]) -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let cache = ArtifactCache::new(dir.path(), "engine1", CacheKey::from_bytes(key));
        Fixture {
            _dir: dir,
            engine: wasmtime::Engine::default(),
            cache,
        }
    }

    fn load(f: &Fixture, digest: &str, wasm: &[u8]) -> CacheOutcome {
        let bytes = wasm.to_vec();
        f.cache.load(&f.engine, digest, || Ok(bytes)).unwrap().1
    }

    fn digest() -> String {
        sha256_hex(WASM)
    }

    #[test]
    fn a_signed_entry_is_a_hit() {
        let f = fixture([1; 32]);
        assert_eq!(load(&f, &digest(), WASM), CacheOutcome::Compiled);
        assert_eq!(load(&f, &digest(), WASM), CacheOutcome::Hit);
        assert!(f.cache.take_rebuilds().is_empty());
    }

    fn rebuilt_after(f: &Fixture, reason: RebuildReason) {
        let d = digest();
        assert_eq!(load(f, &d, WASM), CacheOutcome::Rebuilt(reason));
        let rebuilds = f.cache.take_rebuilds();
        assert_eq!(
            rebuilds,
            vec![Rebuild {
                digest: d.clone(),
                reason
            }]
        );
        assert!(f.cache.take_rebuilds().is_empty());
        assert_eq!(
            load(f, &d, WASM),
            CacheOutcome::Hit,
            "the rebuilt entry is signed"
        );
    }

    #[test]
    fn a_tampered_artifact_is_rebuilt() {
        let f = fixture([1; 32]);
        load(&f, &digest(), WASM);
        let path = f.cache.artifact_path(&digest());
        let mut bytes = std::fs::read(&path).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 0x55;
        std::fs::write(&path, &bytes).unwrap();
        rebuilt_after(&f, RebuildReason::BadMac);
    }

    #[test]
    fn an_artifact_with_its_checksum_recomputed_is_still_rebuilt() {
        let f = fixture([1; 32]);
        load(&f, &digest(), WASM);
        let path = f.cache.artifact_path(&digest());
        std::fs::write(&path, b"not what spud compiled").unwrap();
        let mac = ArtifactCache::mac_path(&path);
        std::fs::write(mac, sha256_hex(b"not what spud compiled")).unwrap();
        rebuilt_after(&f, RebuildReason::BadMac);
    }

    #[test]
    fn an_artifact_moved_from_another_digest_is_rebuilt() {
        let f = fixture([1; 32]);
        let other = sha256_hex(WASM2);
        load(&f, &digest(), WASM);
        // An entry that is valid for `other`, copied with its MAC over this digest's entry.
        assert_eq!(load(&f, &other, WASM2), CacheOutcome::Compiled);
        let (from, to) = (
            f.cache.artifact_path(&other),
            f.cache.artifact_path(&digest()),
        );
        std::fs::copy(&from, &to).unwrap();
        std::fs::copy(ArtifactCache::mac_path(&from), ArtifactCache::mac_path(&to)).unwrap();
        rebuilt_after(&f, RebuildReason::BadMac);
    }

    #[test]
    fn an_entry_without_a_mac_is_rebuilt() {
        let f = fixture([1; 32]);
        load(&f, &digest(), WASM);
        std::fs::remove_file(ArtifactCache::mac_path(&f.cache.artifact_path(&digest()))).unwrap();
        rebuilt_after(&f, RebuildReason::MissingMac);
    }

    #[test]
    fn an_entry_signed_with_another_key_is_rebuilt() {
        let a = fixture([1; 32]);
        load(&a, &digest(), WASM);
        let b = ArtifactCache::new(a._dir.path(), "engine1", CacheKey::from_bytes([2; 32]));
        let b = Fixture {
            _dir: tempfile::tempdir().unwrap(),
            engine: a.engine.clone(),
            cache: b,
        };
        rebuilt_after(&b, RebuildReason::BadMac);
    }

    #[test]
    fn a_component_that_does_not_match_its_digest_is_not_compiled() {
        let f = fixture([1; 32]);
        let r = f
            .cache
            .load(&f.engine, &"00".repeat(32), || Ok(WASM.to_vec()));
        assert!(r.is_err());
    }
}
