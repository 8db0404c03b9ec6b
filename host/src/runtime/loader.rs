//! [`Runtime`]: the engine, the linker and the precompiled-artifact cache — what it takes to
//! turn a registry entry into a [`Plugin`] ready to instantiate.

use super::cache::{ArtifactCache, CacheOutcome, Rebuild};
use super::cache_key::CacheKey;
use super::engine::SpudEngine;
use super::entry::Entry;
use super::plugin::{self, LoadError, Plugin, Tool, ToolInfo};
use crate::home::Home;
use crate::sandbox::HostState;
use plugin::Target;
use std::collections::BTreeMap;
use wasmtime::component::{Component, Linker};

/// Engine, linker and cache: what it takes to turn a registry entry into a [`Plugin`].
pub struct Runtime {
    engine: SpudEngine,
    linker: Linker<HostState>,
    cache: ArtifactCache,
}

impl Runtime {
    /// A runtime whose cache lives in `home`, its entries authenticated with the home's cache
    /// key (created on first use; a key file open to others is refused).
    pub fn new(home: &Home) -> anyhow::Result<Runtime> {
        let key = CacheKey::load_or_create(&home.cache_key_file())?;
        let engine = SpudEngine::new()?;
        let linker = crate::sandbox::linker::build(engine.engine())?;
        let cache = ArtifactCache::new(home.cache_dir(), engine.compatibility_key(), key);
        Ok(Runtime {
            engine,
            linker,
            cache,
        })
    }

    /// The wasmtime engine.
    pub fn engine(&self) -> &wasmtime::Engine {
        self.engine.engine()
    }

    /// The artifact cache.
    pub fn cache(&self) -> &ArtifactCache {
        &self.cache
    }

    /// The cache entries rebuilt since the last call (for the audit log).
    pub fn take_rebuilds(&self) -> Vec<Rebuild> {
        self.cache.take_rebuilds()
    }

    /// Compiles (or loads from cache) the component with `digest`.
    pub fn component(
        &self,
        digest: &str,
        wasm: impl FnOnce() -> std::io::Result<Vec<u8>>,
    ) -> anyhow::Result<(Component, CacheOutcome)> {
        self.cache.load(self.engine(), digest, wasm)
    }

    /// Links a component, naming unsupported imports precisely.
    pub fn link(
        &self,
        file: &str,
        component: &Component,
    ) -> Result<wasmtime::component::InstancePre<HostState>, LoadError> {
        let missing = plugin::unsupported_imports(self.engine(), component);
        if !missing.is_empty() {
            return Err(LoadError::UnsupportedImports {
                file: file.into(),
                imports: missing,
            });
        }
        plugin::prepare(&self.linker, component).map_err(LoadError::Other)
    }

    /// Loads a registered plugin: precompiled artifact, linked, tools attached.
    pub fn load(&self, home: &Home, entry: &Entry) -> Result<Plugin, LoadError> {
        let wasm_path = home.components_dir().join(format!("{}.wasm", entry.digest));
        let (component, _) = self.component(&entry.digest, || std::fs::read(&wasm_path))?;
        let pre = self.link(&entry.source, &component)?;
        let infos: BTreeMap<&str, &ToolInfo> = entry
            .tools
            .iter()
            .map(|t| (t.function.as_str(), t))
            .collect();
        let mut tools = BTreeMap::new();
        if entry.sdk {
            let (call, _) = plugin::sdk_exports(&component).ok_or_else(|| {
                LoadError::Other(anyhow::anyhow!(
                    "{} no longer exports {}",
                    entry.source,
                    plugin::SDK_INTERFACE
                ))
            })?;
            for info in &entry.tools {
                tools.insert(
                    info.function.clone(),
                    Tool {
                        info: info.clone(),
                        target: Target::Sdk { call },
                    },
                );
            }
        } else {
            for (function, export, sig) in plugin::plain_functions(self.engine(), &component) {
                if let Some(info) = infos.get(function.as_str()) {
                    tools.insert(
                        function.clone(),
                        Tool {
                            info: (*info).clone(),
                            target: Target::Plain { export, sig },
                        },
                    );
                }
            }
        }
        Ok(Plugin {
            name: entry.name.clone(),
            digest: entry.digest.clone(),
            manifest: entry.manifest.clone(),
            tools,
            pre,
        })
    }
}
