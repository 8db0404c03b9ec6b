//! The registry of plugins: `registry.json` in spud's home, plus a copy of each component
//! stored by digest. Registering validates, precompiles and describes the component once;
//! later runs only load the precompiled artifact.

use super::entry::Entry;
use super::loader::Runtime;
use super::plugin::{self, LoadError, Plugin, ToolInfo, SDK_INTERFACE};
use crate::home::Home;
use crate::sandbox::{self, CallEnv};
use serde::{Deserialize, Serialize};
use spud_policy::Manifest;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Registry failures.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    /// The component cannot be loaded.
    #[error(transparent)]
    Load(#[from] LoadError),
    /// No such plugin or tool.
    #[error("no tool or plugin named `{name}` is registered{}", suggestion(.known))]
    Unknown {
        /// What was asked for.
        name: String,
        /// Close names.
        known: Vec<String>,
    },
    /// Bad plugin name.
    #[error("`{0}` is not a valid plugin name: use lower-case letters, digits, `-` and `_`")]
    BadName(String),
    /// The registry file is corrupt.
    #[error("the registry {file} is corrupt: {reason}")]
    Corrupt {
        /// The file.
        file: String,
        /// Parser message.
        reason: String,
    },
    /// I/O.
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

fn suggestion(known: &[String]) -> String {
    if known.is_empty() {
        String::new()
    } else {
        format!("; did you mean {}?", known.join(", "))
    }
}

/// The registry file's content.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub struct Registry {
    /// Entries by plugin name.
    pub plugins: BTreeMap<String, Entry>,
}

/// An exclusive lock on the registry across processes; released when dropped.
pub struct RegistryLock(#[allow(dead_code)] std::fs::File);

impl Registry {
    /// Takes the registry lock. Changes read the registry, change it and write it back under
    /// this lock, so concurrent `spud tools add` in several processes all land.
    pub fn lock(home: &Home) -> Result<RegistryLock, RegistryError> {
        home.ensure()?;
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(home.root().join("registry.lock"))?;
        file.lock()?;
        Ok(RegistryLock(file))
    }

    /// Reads the registry (empty if there is none yet).
    pub fn load(home: &Home) -> Result<Registry, RegistryError> {
        let file = home.registry_file();
        match std::fs::read_to_string(&file) {
            Ok(s) => serde_json::from_str(&s).map_err(|e| RegistryError::Corrupt {
                file: file.display().to_string(),
                reason: e.to_string(),
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Registry::default()),
            Err(e) => Err(e.into()),
        }
    }

    /// Writes the registry atomically (temporary file + rename).
    pub fn save(&self, home: &Home) -> Result<(), RegistryError> {
        home.ensure()?;
        let file = home.registry_file();
        let tmp = file.with_extension(format!("tmp{}", std::process::id()));
        let json = serde_json::to_vec_pretty(self).map_err(std::io::Error::other)?;
        std::fs::write(&tmp, json)?;
        std::fs::rename(&tmp, &file)?;
        Ok(())
    }

    /// The entry for `plugin`.
    pub fn get(&self, plugin: &str) -> Result<&Entry, RegistryError> {
        self.plugins
            .get(plugin)
            .ok_or_else(|| RegistryError::Unknown {
                name: plugin.into(),
                known: self.close_to(plugin),
            })
    }

    /// Splits `plugin.tool` and finds both.
    pub fn find_tool(&self, full: &str) -> Result<(&Entry, &ToolInfo), RegistryError> {
        let unknown = || RegistryError::Unknown {
            name: full.into(),
            known: self.close_to(full),
        };
        let (p, _) = full.split_once('.').ok_or_else(unknown)?;
        let entry = self.plugins.get(p).ok_or_else(unknown)?;
        let tool = entry
            .tools
            .iter()
            .find(|t| t.name == full)
            .ok_or_else(unknown)?;
        Ok((entry, tool))
    }

    fn close_to(&self, name: &str) -> Vec<String> {
        let prefix = name.split('.').next().unwrap_or(name);
        let mut all: Vec<String> = self
            .plugins
            .values()
            .flat_map(|e| e.tools.iter().map(|t| t.name.clone()))
            .filter(|t| {
                t.starts_with(prefix) || t.contains(name.rsplit('.').next().unwrap_or(name))
            })
            .collect();
        all.truncate(5);
        all
    }

    /// Validates, precompiles, describes and registers the component at `path`.
    /// A sidecar manifest is taken from `manifest`, else `<file stem>.spud.toml` beside it.
    pub async fn add(
        &mut self,
        home: &Home,
        runtime: &Runtime,
        path: &Path,
        name: Option<&str>,
        manifest: Option<&Path>,
    ) -> Result<Entry, RegistryError> {
        let (entry, bytes) = Registry::describe(runtime, path, name, manifest).await?;
        self.insert(home, entry.clone(), &bytes)?;
        Ok(entry)
    }

    /// Validates, precompiles and describes the component at `path` without registering it:
    /// its entry (source: the file) and its bytes, for [`Registry::insert`].
    pub async fn describe(
        runtime: &Runtime,
        path: &Path,
        name: Option<&str>,
        manifest: Option<&Path>,
    ) -> Result<(Entry, Vec<u8>), RegistryError> {
        let file = path.display().to_string();
        let bytes = std::fs::read(path)
            .map_err(|e| LoadError::Other(anyhow::anyhow!("cannot read {file}: {e}")))?;
        plugin::validate_bytes(&file, &bytes)?;
        let digest = super::cache::sha256_hex(&bytes);
        let (component, _) = runtime
            .component(&digest, || Ok(bytes.clone()))
            .map_err(LoadError::Other)?;
        let pre = runtime.link(&file, &component)?;

        let (sdk, manifest, mut tools) = match plugin::sdk_exports(&component) {
            Some((_call, manifest_idx)) => {
                let (m, tools) = sdk_tools(&file, &digest, pre, &manifest_idx).await?;
                (true, m, tools)
            }
            None => {
                let (m, sidecar) = read_sidecar(path, manifest)?;
                let wit = m.wit.as_ref().map(|w| {
                    sidecar
                        .as_deref()
                        .and_then(Path::parent)
                        .unwrap_or(Path::new("."))
                        .join(w)
                });
                let tools = plain_tools(runtime, &component, &bytes, wit.as_deref())?;
                (false, m, tools)
            }
        };
        if tools.is_empty() {
            return Err(LoadError::NoTools { file }.into());
        }
        let name = plugin_name(name, &manifest, path)?;
        for t in &mut tools {
            t.name = format!("{name}.{}", t.name);
        }
        let entry = Entry {
            openapi: None,
            name,
            digest,
            source: source_of(path),
            added_unix_ms: now_ms(),
            sdk,
            manifest,
            tools,
        };
        Ok((entry, bytes))
    }

    /// Registers a described entry: stores the component by digest and saves the registry.
    pub fn insert(&mut self, home: &Home, entry: Entry, bytes: &[u8]) -> Result<(), RegistryError> {
        store_component(home, &entry.digest, bytes)?;
        self.plugins.insert(entry.name.clone(), entry);
        self.save(home)
    }

    /// Unregisters `plugin` and drops its stored component and cache entries when no other
    /// plugin uses the same digest.
    pub fn remove(
        &mut self,
        home: &Home,
        runtime: &Runtime,
        plugin: &str,
    ) -> Result<Entry, RegistryError> {
        let entry = self.get(plugin)?.clone();
        self.plugins.remove(plugin);
        self.save(home)?;
        if !self.plugins.values().any(|e| e.digest == entry.digest) {
            let _ =
                std::fs::remove_file(home.components_dir().join(format!("{}.wasm", entry.digest)));
            runtime.cache().evict(&entry.digest);
        }
        Ok(entry)
    }
}

/// The manifest and tools of an SDK component, read by calling its `manifest` export once
/// under an empty grant.
async fn sdk_tools(
    file: &str,
    digest: &str,
    pre: wasmtime::component::InstancePre<sandbox::HostState>,
    manifest_idx: &wasmtime::component::ComponentExportIndex,
) -> Result<(Manifest, Vec<ToolInfo>), RegistryError> {
    let probe = Plugin {
        name: String::new(),
        digest: digest.to_string(),
        manifest: Manifest::default(),
        tools: BTreeMap::new(),
        pre,
    };
    let env = CallEnv {
        plugin: "(registering)",
        resolver: sandbox::system_resolver(),
        guard: Default::default(),
        credentials: Default::default(),
        meter: None,
        browser: None,
    };
    let json = super::call::read_sdk_manifest(&probe, manifest_idx, &env)
        .await
        .map_err(LoadError::Other)?;
    let m = Manifest::from_json(&json).map_err(|source| LoadError::Manifest {
        file: file.to_string(),
        source,
    })?;
    let tools = m
        .tools
        .iter()
        .map(|t| ToolInfo {
            name: t.name.clone(),
            function: t.name.clone(),
            description: t.description.clone(),
            input_schema: t.input_schema.clone(),
            output_schema: t.output_schema.clone(),
            unavailable: None,
        })
        .collect::<Vec<_>>();
    Ok((m, tools))
}

/// The plugin's name: the one asked for, else the manifest's, else the file stem (dots as
/// `-`); it must be lower-case letters, digits, `-` and `_`.
fn plugin_name(
    asked: Option<&str>,
    manifest: &Manifest,
    path: &Path,
) -> Result<String, RegistryError> {
    let name = asked
        .map(str::to_string)
        .or_else(|| manifest.name.clone())
        .unwrap_or_else(|| {
            path.file_stem()
                .map(|s| s.to_string_lossy().replace('.', "-"))
                .unwrap_or_else(|| "plugin".into())
        });
    if name.is_empty()
        || !name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
    {
        return Err(RegistryError::BadName(name));
    }
    Ok(name)
}

/// Where the component came from: its canonical path (as given when that fails).
fn source_of(path: &Path) -> String {
    std::fs::canonicalize(path)
        .unwrap_or_else(|_| PathBuf::from(path))
        .display()
        .to_string()
}

/// Stores a copy of the component in the home by digest (once; temporary file + rename).
fn store_component(home: &Home, digest: &str, bytes: &[u8]) -> Result<(), RegistryError> {
    home.ensure()?;
    let stored = home.components_dir().join(format!("{digest}.wasm"));
    if !stored.exists() {
        let tmp = stored.with_extension(format!("tmp{}", std::process::id()));
        std::fs::write(&tmp, bytes)?;
        std::fs::rename(&tmp, &stored)?;
    }
    Ok(())
}

fn read_sidecar(
    path: &Path,
    explicit: Option<&Path>,
) -> Result<(Manifest, Option<PathBuf>), RegistryError> {
    let candidate = match explicit {
        Some(p) => Some(p.to_path_buf()),
        None => {
            let stem = path
                .file_stem()
                .map(|s| s.to_string_lossy().to_string())
                .unwrap_or_default();
            let p = path.with_file_name(format!("{stem}.spud.toml"));
            p.exists().then_some(p)
        }
    };
    let Some(file) = candidate else {
        return Ok((Manifest::default(), None));
    };
    let src = std::fs::read_to_string(&file).map_err(|e| {
        LoadError::Other(anyhow::anyhow!(
            "cannot read manifest {}: {e}",
            file.display()
        ))
    })?;
    let m = Manifest::from_toml(&src, &file.display().to_string()).map_err(|source| {
        LoadError::Manifest {
            file: file.display().to_string(),
            source,
        }
    })?;
    Ok((m, Some(file)))
}

/// Tools of a plain component. Descriptions come from WIT docs embedded in the component, or
/// from the WIT source named by the sidecar's `wit`.
fn plain_tools(
    runtime: &Runtime,
    component: &wasmtime::component::Component,
    bytes: &[u8],
    wit: Option<&Path>,
) -> Result<Vec<ToolInfo>, RegistryError> {
    let functions = plugin::plain_functions(runtime.engine(), component);
    let mut docs: BTreeMap<(Option<String>, String), String> =
        spud_schema::exported_functions(bytes)
            .map(|fs| {
                fs.into_iter()
                    .filter_map(|f| {
                        f.sig
                            .docs
                            .clone()
                            .map(|d| ((f.interface.clone(), f.sig.name.clone()), d))
                    })
                    .collect()
            })
            .unwrap_or_default();
    if let Some(wit) = wit {
        let from_source = spud_schema::docs_from_wit(wit)
            .map_err(|e| LoadError::Other(anyhow::anyhow!("{e}")))?;
        docs.extend(from_source);
    }
    let names = plugin::short_names(
        &functions
            .iter()
            .map(|(f, _, _)| f.clone())
            .collect::<Vec<_>>(),
    );
    Ok(functions
        .into_iter()
        .filter(|(f, _, _)| !f.starts_with(SDK_INTERFACE))
        .map(|(function, _, mut sig)| {
            let (iface, fname) = match function.split_once('#') {
                Some((i, f)) => (Some(i.to_string()), f.to_string()),
                None => (None, function.clone()),
            };
            sig.docs = docs.get(&(iface, fname)).cloned();
            let description = sig.docs.clone().unwrap_or_else(|| {
                format!("`{function}` (undocumented: name the WIT source with `wit = \"…\"` in the sidecar manifest)")
            });
            ToolInfo {
                name: names.get(&function).cloned().unwrap_or_else(|| function.clone()),
                function,
                description,
                input_schema: spud_schema::input_schema(&sig),
                output_schema: spud_schema::output_schema(&sig),
                unavailable: spud_schema::is_callable(&sig).err(),
            }
        })
        .collect())
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}
