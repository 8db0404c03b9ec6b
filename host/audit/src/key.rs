//! The checkpoint key: an Ed25519 signing key kept outside the log.
//!
//! On disk the key is its 32-byte seed, nothing else, in a file only its owner may read (mode
//! 0600 or stricter). [`CheckpointKey::resolve`] takes it from `SPUD_AUDIT_KEY` (64 hex digits),
//! else from the file `SPUD_AUDIT_KEY_FILE` names, else from the default file in spud's home,
//! which it creates atomically on first use.

use ed25519_dalek::{Signer, SigningKey, Verifier, VerifyingKey};
use std::io::Write;
use std::path::{Path, PathBuf};

/// Environment variable holding the key itself as 64 hex digits.
pub const KEY_ENV: &str = "SPUD_AUDIT_KEY";
/// Environment variable naming a key file kept outside spud's home.
pub const KEY_FILE_ENV: &str = "SPUD_AUDIT_KEY_FILE";

/// Why a checkpoint key cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// The key file cannot be read or created.
    #[error("audit checkpoint key {file}: {source}")]
    Io {
        /// The file.
        file: String,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// The key file may be read by group or others.
    #[error(
        "audit checkpoint key {file} is readable or writable by group or others (mode {mode:o}); \
         refusing it: run `chmod 600 {file}`"
    )]
    Permissions {
        /// The file.
        file: String,
        /// Its permission bits.
        mode: u32,
    },
    /// The key file does not hold exactly 32 bytes.
    #[error("audit checkpoint key {file} holds {len} bytes, not the 32 bytes of an Ed25519 seed")]
    Size {
        /// The file.
        file: String,
        /// Its length.
        len: u64,
    },
    /// A hex key (from the environment or the command line) is not 64 hex digits.
    #[error("{what} is not 64 hex digits (an Ed25519 {kind})")]
    Hex {
        /// Where it came from.
        what: String,
        /// `seed` or `public key`.
        kind: &'static str,
    },
    /// The operating system gave no random bytes for a new key.
    #[error("no random bytes for a new audit checkpoint key: {0}")]
    Random(String),
}

/// Where a key came from, for messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySource {
    /// `SPUD_AUDIT_KEY`.
    Env,
    /// A key file (`SPUD_AUDIT_KEY_FILE` or the home's default).
    File(PathBuf),
    /// The home's default key file, created just now.
    Created(PathBuf),
}

/// The key that signs checkpoints.
pub struct CheckpointKey {
    signing: SigningKey,
}

/// A public key that verifies checkpoints: an auditor needs only this.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PublicKey(pub(crate) VerifyingKey);

impl PublicKey {
    /// Parses 64 hex digits.
    pub fn from_hex(text: &str) -> Result<PublicKey, KeyError> {
        let bad = || KeyError::Hex {
            what: format!("public key {:?}", text.chars().take(80).collect::<String>()),
            kind: "public key",
        };
        let mut bytes = [0u8; 32];
        hex::decode_to_slice(text.trim(), &mut bytes).map_err(|_| bad())?;
        VerifyingKey::from_bytes(&bytes)
            .map(PublicKey)
            .map_err(|_| bad())
    }

    /// 64 lowercase hex digits.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0.as_bytes())
    }

    /// Whether `sig` (64 bytes) signs `message` under this key.
    pub(crate) fn verifies(&self, message: &[u8], sig: &[u8]) -> bool {
        ed25519_dalek::Signature::from_slice(sig).is_ok_and(|s| self.0.verify(message, &s).is_ok())
    }
}

impl CheckpointKey {
    /// The key with this seed.
    pub fn from_seed(seed: [u8; 32]) -> CheckpointKey {
        CheckpointKey {
            signing: SigningKey::from_bytes(&seed),
        }
    }

    /// A fresh random key.
    pub fn generate() -> Result<CheckpointKey, KeyError> {
        let mut seed = [0u8; 32];
        getrandom::getrandom(&mut seed).map_err(|e| KeyError::Random(e.to_string()))?;
        Ok(CheckpointKey::from_seed(seed))
    }

    /// Its public half.
    pub fn public(&self) -> PublicKey {
        PublicKey(self.signing.verifying_key())
    }

    /// Signs `message`.
    pub(crate) fn sign(&self, message: &[u8]) -> [u8; 64] {
        self.signing.sign(message).to_bytes()
    }

    /// `SPUD_AUDIT_KEY`, else the file `SPUD_AUDIT_KEY_FILE` names (which must exist), else
    /// `default_file`, created on first use.
    pub fn resolve(default_file: &Path) -> Result<(CheckpointKey, KeySource), KeyError> {
        if let Some(hex_seed) = std::env::var_os(KEY_ENV) {
            let bad = || KeyError::Hex {
                what: KEY_ENV.into(),
                kind: "seed",
            };
            let text = hex_seed.into_string().map_err(|_| bad())?;
            let mut seed = [0u8; 32];
            hex::decode_to_slice(text.trim(), &mut seed).map_err(|_| bad())?;
            return Ok((CheckpointKey::from_seed(seed), KeySource::Env));
        }
        if let Some(file) = std::env::var_os(KEY_FILE_ENV) {
            let file = PathBuf::from(file);
            return Ok((CheckpointKey::load(&file)?, KeySource::File(file)));
        }
        let created = !default_file.exists() && create(default_file)?;
        let key = CheckpointKey::load(default_file)?;
        let path = default_file.to_path_buf();
        let source = if created {
            KeySource::Created(path)
        } else {
            KeySource::File(path)
        };
        Ok((key, source))
    }

    /// The key from `file`: exactly 32 bytes, not readable or writable by group or others.
    pub fn load(file: &Path) -> Result<CheckpointKey, KeyError> {
        let io = |source| KeyError::Io {
            file: file.display().to_string(),
            source,
        };
        let meta = std::fs::metadata(file).map_err(io)?;
        check_mode(file, &meta)?;
        if meta.len() != 32 {
            return Err(KeyError::Size {
                file: file.display().to_string(),
                len: meta.len(),
            });
        }
        let bytes = std::fs::read(file).map_err(io)?;
        let seed: [u8; 32] = bytes.try_into().map_err(|b: Vec<u8>| KeyError::Size {
            file: file.display().to_string(),
            len: b.len() as u64,
        })?;
        Ok(CheckpointKey::from_seed(seed))
    }

    /// [`CheckpointKey::load`], creating a random key first when `file` does not exist. The
    /// new key is written to a temporary file of mode 0600 and linked into place, so nobody
    /// ever sees a partial key, and two processes racing to create it end up with the same one.
    pub fn load_or_create(file: &Path) -> Result<CheckpointKey, KeyError> {
        if !file.exists() {
            create(file)?;
        }
        CheckpointKey::load(file)
    }
}

/// Writes a new random key to `file` unless another process got there first; says whether
/// this call created it.
fn create(file: &Path) -> Result<bool, KeyError> {
    let io = |source| KeyError::Io {
        file: file.display().to_string(),
        source,
    };
    if let Some(dir) = file.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    let key = CheckpointKey::generate()?;
    // A name of its own per process and call: racing creators must not share a temp file.
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let tmp = file.with_extension(format!("tmp-{}-{n}", std::process::id()));
    let mut options = std::fs::File::options();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let written = options.open(&tmp).and_then(|mut f| {
        f.write_all(key.signing.as_bytes())?;
        f.sync_all()
    });
    let linked = written.and_then(|()| match std::fs::hard_link(&tmp, file) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(false),
        Err(e) => Err(e),
    });
    let _ = std::fs::remove_file(&tmp);
    linked.map_err(io)
}

#[cfg(unix)]
fn check_mode(file: &Path, meta: &std::fs::Metadata) -> Result<(), KeyError> {
    use std::os::unix::fs::PermissionsExt;
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(KeyError::Permissions {
            file: file.display().to_string(),
            mode,
        });
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_mode(_: &Path, _: &std::fs::Metadata) -> Result<(), KeyError> {
    Ok(())
}
