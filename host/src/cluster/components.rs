//! Components by digest: the object store `spud-components` holds each component a submitter's
//! tasks approve, named by its sha256 (`<hex>.wasm`), with the manifest of a component that
//! does not describe itself (`<hex>.spud.toml`, without its WIT source: the descriptions stay
//! with the submitter, whose models read them). A submitter uploads what a task approves before
//! publishing it (once per digest and process); a worker that lacks an approved digest pulls it,
//! checks its sha256 and registers it through the usual install pipeline — unless its own policy
//! pins the plugin to another digest, which it refuses.

use super::error::ClusterError;
use super::setup::Cluster;
use crate::runtime::Entry;
use crate::service::Spud;
use std::path::{Path, PathBuf};
use tokio::io::AsyncReadExt;

/// The object holding the component of digest `hex`.
fn wasm_object(hex: &str) -> String {
    format!("{hex}.wasm")
}

/// The object holding the manifest of a component that does not carry its own.
fn manifest_object(hex: &str) -> String {
    format!("{hex}.spud.toml")
}

/// Stores the component of `entry` (from `spud`'s home) unless the store has it already.
pub(crate) async fn upload(
    cluster: &Cluster,
    spud: &Spud,
    entry: &Entry,
) -> Result<(), ClusterError> {
    let store = &cluster.components;
    let name = wasm_object(&entry.digest);
    if store.info(&name).await.is_ok() {
        return Ok(());
    }
    let what = format!("upload component {} ({})", entry.name, entry.digest);
    if !entry.sdk {
        // The WIT source is for the tools' descriptions, which the submitter's models read;
        // its path is the submitter's, so the worker's copy goes without it.
        let mut manifest =
            toml::Table::try_from(&entry.manifest).map_err(|e| ClusterError::data(&what, e))?;
        manifest.remove("wit");
        let toml = toml::to_string(&manifest).map_err(|e| ClusterError::data(&what, e))?;
        store
            .put(
                manifest_object(&entry.digest).as_str(),
                &mut toml.as_bytes(),
            )
            .await
            .map_err(|e| ClusterError::js(&what, e))?;
    }
    let path = spud
        .home()
        .components_dir()
        .join(format!("{}.wasm", entry.digest));
    let bytes = std::fs::read(&path).map_err(|e| ClusterError::data(&what, e))?;
    store
        .put(name.as_str(), &mut bytes.as_slice())
        .await
        .map_err(|e| ClusterError::js(&what, e))?;
    Ok(())
}

/// A component pulled from the store into a directory of its own, removed when dropped.
pub(crate) struct Pulled {
    dir: PathBuf,
    /// The component file.
    pub file: PathBuf,
    /// Its sidecar manifest, when the store has one.
    pub manifest: Option<PathBuf>,
}

impl Drop for Pulled {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Pulls the component of digest `hex`, registered as `plugin`, into a new directory under
/// `under`, and checks that its bytes have that digest.
pub(crate) async fn pull(
    cluster: &Cluster,
    plugin: &str,
    hex: &str,
    under: &Path,
) -> Result<Pulled, ClusterError> {
    let what = format!("pull component {plugin} ({hex})");
    let bytes = read(cluster, &wasm_object(hex), &what).await?;
    let got = crate::runtime::sha256_hex(&bytes);
    if got != hex {
        return Err(ClusterError::DigestRefused {
            plugin: plugin.to_string(),
            approved: hex.to_string(),
            found: format!("{got} (the bytes the cluster's object store holds under that digest)"),
        });
    }
    let dir = under.join(format!("pull-{hex}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| ClusterError::data(&what, e))?;
    let mut pulled = Pulled {
        file: dir.join(format!("{plugin}.wasm")),
        manifest: None,
        dir,
    };
    std::fs::write(&pulled.file, &bytes).map_err(|e| ClusterError::data(&what, e))?;
    if let Ok(toml) = read(cluster, &manifest_object(hex), &what).await {
        let path = pulled.dir.join(format!("{plugin}.spud.toml"));
        std::fs::write(&path, toml).map_err(|e| ClusterError::data(&what, e))?;
        pulled.manifest = Some(path);
    }
    Ok(pulled)
}

/// The whole of object `name`.
async fn read(cluster: &Cluster, name: &str, what: &str) -> Result<Vec<u8>, ClusterError> {
    let mut object = cluster
        .components
        .get(name)
        .await
        .map_err(|e| ClusterError::js(what, e))?;
    let mut bytes = Vec::new();
    object
        .read_to_end(&mut bytes)
        .await
        .map_err(|e| ClusterError::js(what, e))?;
    Ok(bytes)
}
