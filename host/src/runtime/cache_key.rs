//! The key that authenticates precompiled cache entries, and the MAC over one entry.
//!
//! Loading a precompiled artifact is `unsafe` (wasmtime trusts it as its own machine code), so a
//! checksum beside it is not enough: whoever can write the cache can write both. Each entry
//! carries an HMAC-SHA256 under a key kept in the home (`keys/cache.key`, 32 random bytes, mode
//! 0600, created on first use). The MAC covers the component digest, the engine key and the
//! artifact bytes, so an artifact cannot be moved under another digest's or engine's name.

use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

/// Key length in bytes.
pub const KEY_LEN: usize = 32;

/// Domain separation: a MAC made for a cache entry means nothing anywhere else.
const DOMAIN: &[u8] = b"spud-cache-entry-v1\n";

/// Why the cache key cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum CacheKeyError {
    /// The key file could not be read or created.
    #[error("cache key {path}: {source}")]
    Io {
        /// The key file.
        path: PathBuf,
        /// What failed.
        source: std::io::Error,
    },
    /// The key file is readable or writable by group or others.
    #[error(
        "cache key {path} is open to group or others (mode {mode:o}); it must be 0600: \
         run `chmod 600 {path}`, or delete it so spud makes a new one (the cache is then rebuilt)"
    )]
    Permissions {
        /// The key file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// The key file does not hold exactly [`KEY_LEN`] bytes.
    #[error(
        "cache key {path} holds {len} bytes, not {KEY_LEN}; delete it so spud makes a new one \
         (the cache is then rebuilt)"
    )]
    Size {
        /// The key file.
        path: PathBuf,
        /// How many bytes it holds (up to one more than expected).
        len: usize,
    },
    /// The system gave no random bytes for a new key.
    #[error("no random bytes for a new cache key: {0}")]
    Random(String),
}

/// The cache's MAC key.
#[derive(Clone)]
pub struct CacheKey([u8; KEY_LEN]);

impl std::fmt::Debug for CacheKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CacheKey(..)")
    }
}

impl CacheKey {
    /// A key from its bytes.
    pub fn from_bytes(bytes: [u8; KEY_LEN]) -> CacheKey {
        CacheKey(bytes)
    }

    /// A new random key (not stored).
    pub fn random() -> Result<CacheKey, CacheKeyError> {
        let mut bytes = [0u8; KEY_LEN];
        getrandom::getrandom(&mut bytes).map_err(|e| CacheKeyError::Random(e.to_string()))?;
        Ok(CacheKey(bytes))
    }

    /// Reads the key at `path`, creating it first (atomically, mode 0600) when there is none.
    /// A key file open to group or others, or of the wrong size, is refused.
    pub fn load_or_create(path: &Path) -> Result<CacheKey, CacheKeyError> {
        match read_key(path) {
            Err(CacheKeyError::Io { source, .. })
                if source.kind() == std::io::ErrorKind::NotFound =>
            {
                create_key(path)?;
                read_key(path)
            }
            other => other,
        }
    }

    /// The MAC of a cache entry: the component `digest`, the `engine` key and the `artifact`.
    pub fn mac(&self, digest: &str, engine: &str, artifact: &[u8]) -> [u8; 32] {
        self.hmac(digest, engine, artifact)
            .finalize()
            .into_bytes()
            .into()
    }

    /// Whether `tag` is the MAC of this entry (compared in constant time).
    pub fn verify(&self, digest: &str, engine: &str, artifact: &[u8], tag: &[u8]) -> bool {
        self.hmac(digest, engine, artifact)
            .verify_slice(tag)
            .is_ok()
    }

    fn hmac(&self, digest: &str, engine: &str, artifact: &[u8]) -> Hmac<Sha256> {
        // `new_from_slice` accepts any key length for HMAC; ours is always 32 bytes.
        let mut m = <Hmac<Sha256> as Mac>::new_from_slice(&self.0)
            .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
        m.update(DOMAIN);
        for field in [digest.as_bytes(), engine.as_bytes()] {
            m.update(&(field.len() as u64).to_be_bytes());
            m.update(field);
        }
        m.update(artifact);
        m
    }
}

fn io(path: &Path) -> impl Fn(std::io::Error) -> CacheKeyError + '_ {
    move |source| CacheKeyError::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn read_key(path: &Path) -> Result<CacheKey, CacheKeyError> {
    let file = std::fs::File::open(path).map_err(io(path))?;
    check_mode(path, &file)?;
    let mut bytes = Vec::with_capacity(KEY_LEN + 1);
    file.take(KEY_LEN as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(io(path))?;
    let key: [u8; KEY_LEN] = bytes
        .as_slice()
        .try_into()
        .map_err(|_| CacheKeyError::Size {
            path: path.to_path_buf(),
            len: bytes.len(),
        })?;
    Ok(CacheKey(key))
}

#[cfg(unix)]
fn check_mode(path: &Path, file: &std::fs::File) -> Result<(), CacheKeyError> {
    use std::os::unix::fs::PermissionsExt;
    let mode = file.metadata().map_err(io(path))?.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(CacheKeyError::Permissions {
            path: path.to_path_buf(),
            mode,
        });
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_mode(_path: &Path, _file: &std::fs::File) -> Result<(), CacheKeyError> {
    Ok(())
}

/// Writes a new key to a private temporary file, then links it into place: the link fails when
/// another process made the key first, and then its key is the one used.
fn create_key(path: &Path) -> Result<(), CacheKeyError> {
    let key = CacheKey::random()?;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(io(dir))?;
        restrict_dir(dir);
    }
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    let _ = std::fs::remove_file(&tmp);
    let written = write_private(&tmp, &key.0);
    let linked = written.and_then(|()| std::fs::hard_link(&tmp, path));
    let _ = std::fs::remove_file(&tmp);
    match linked {
        Err(e) if e.kind() != std::io::ErrorKind::AlreadyExists => Err(io(path)(e)),
        _ => Ok(()),
    }
}

fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

#[cfg(unix)]
fn restrict_dir(dir: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let _ = std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700));
}

#[cfg(not(unix))]
fn restrict_dir(_dir: &Path) {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn created_once_private_and_stable() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys").join("cache.key");
        let a = CacheKey::load_or_create(&path).unwrap();
        let b = CacheKey::load_or_create(&path).unwrap();
        assert_eq!(a.0, b.0);
        assert_eq!(std::fs::read(&path).unwrap().len(), KEY_LEN);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
        }
    }

    #[cfg(unix)]
    #[test]
    fn a_key_open_to_others_is_refused() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cache.key");
        CacheKey::load_or_create(&path).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let e = CacheKey::load_or_create(&path).unwrap_err();
        assert!(matches!(e, CacheKeyError::Permissions { mode: 0o644, .. }));
        assert!(e.to_string().contains("chmod 600"), "{e}");
    }

    #[test]
    fn a_key_of_the_wrong_size_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cache.key");
        write_private(&path, &[7u8; 16]).unwrap();
        let e = CacheKey::load_or_create(&path).unwrap_err();
        assert!(matches!(e, CacheKeyError::Size { len: 16, .. }), "{e}");
        std::fs::remove_file(&path).unwrap();
        write_private(&path, &[7u8; 40]).unwrap();
        let e = CacheKey::load_or_create(&path).unwrap_err();
        assert!(matches!(e, CacheKeyError::Size { len: 33, .. }), "{e}");
    }

    #[test]
    fn the_mac_binds_digest_engine_and_bytes() {
        let key = CacheKey::from_bytes([1; KEY_LEN]);
        let tag = key.mac("d1", "e1", b"artifact");
        assert!(key.verify("d1", "e1", b"artifact", &tag));
        assert!(!key.verify("d2", "e1", b"artifact", &tag));
        assert!(!key.verify("d1", "e2", b"artifact", &tag));
        assert!(!key.verify("d1", "e1", b"artifacT", &tag));
        // Field boundaries are framed: moving a byte from digest to engine changes the MAC.
        assert!(!key.verify("d1e", "1", b"artifact", &tag));
        let other = CacheKey::from_bytes([2; KEY_LEN]);
        assert!(!other.verify("d1", "e1", b"artifact", &tag));
    }
}
