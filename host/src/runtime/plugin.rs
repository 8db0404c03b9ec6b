//! A loaded plugin: its component, its `InstancePre` (linked once), and its tools.
//!
//! Two kinds of component are tools:
//! - SDK components export `spud:tool/guest`: their manifest lists the tools with rich JSON
//!   Schemas, and every call goes through `guest.call(name, json)`;
//! - any other component: every exported function (top level or in an exported interface)
//!   is a tool, its schema derived from the WIT types, its description from the WIT docs.

use crate::sandbox::HostState;
use serde::{Deserialize, Serialize};
use spud_policy::Manifest;
use spud_schema::FuncSig;
use std::collections::BTreeMap;
use wasmtime::component::types::ComponentItem;
use wasmtime::component::{Component, ComponentExportIndex, InstancePre, Linker};
use wasmtime::Engine;

/// The interface SDK components export.
pub const SDK_INTERFACE: &str = "spud:tool/guest@0.1.0";

/// Why a file cannot be loaded as a plugin.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// Not WebAssembly at all.
    #[error("{file} is not a WebAssembly file (it does not start with the `\\0asm` magic bytes)")]
    NotWasm {
        /// The file.
        file: String,
    },
    /// A core module, not a component.
    #[error("{file} is a core WebAssembly module, not a component; build it for `wasm32-wasip2` (or wrap it with `wasm-tools component new`)")]
    CoreModule {
        /// The file.
        file: String,
    },
    /// Malformed component.
    #[error("{file} is not a valid component: {reason}")]
    Invalid {
        /// The file.
        file: String,
        /// Validator message.
        reason: String,
    },
    /// Imports the host does not provide.
    #[error("{file} imports {} which spud does not provide (spud provides wasi:cli, clocks, filesystem, io, random, sockets and http at 0.2.x)", .imports.join(", "))]
    UnsupportedImports {
        /// The file.
        file: String,
        /// The offending imports.
        imports: Vec<String>,
    },
    /// Exports nothing callable.
    #[error("{file} exports no functions, so it provides no tools")]
    NoTools {
        /// The file.
        file: String,
    },
    /// The SDK manifest is bad.
    #[error("{file}: {source}")]
    Manifest {
        /// The file.
        file: String,
        /// What is wrong.
        source: spud_policy::ManifestError,
    },
    /// Anything else (I/O, wasmtime).
    #[error("{0:#}")]
    Other(#[from] anyhow::Error),
}

/// Tool metadata, as stored in the registry and shown to clients.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolInfo {
    /// `plugin.function`.
    pub name: String,
    /// Function name inside the plugin (for plain components: `interface#function` when the
    /// function lives in an exported interface).
    pub function: String,
    /// What it does.
    pub description: String,
    /// JSON Schema of the arguments object.
    pub input_schema: serde_json::Value,
    /// JSON Schema of the result, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_schema: Option<serde_json::Value>,
    /// Why the tool cannot be called (e.g. a resource parameter), if it cannot.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unavailable: Option<String>,
}

/// How to invoke one tool.
#[derive(Clone)]
pub enum Target {
    /// Through the SDK's `guest.call`.
    Sdk {
        /// Export index of `guest.call`.
        call: ComponentExportIndex,
    },
    /// A plain exported function.
    Plain {
        /// Its export index.
        export: ComponentExportIndex,
        /// Its signature.
        sig: FuncSig,
    },
}

/// A tool ready to call.
#[derive(Clone)]
pub struct Tool {
    /// Metadata.
    pub info: ToolInfo,
    /// How to call it.
    pub target: Target,
}

/// A plugin ready to instantiate.
pub struct Plugin {
    /// Registered name.
    pub name: String,
    /// sha256 of the component.
    pub digest: String,
    /// What it requests (SDK manifest or sidecar).
    pub manifest: Manifest,
    /// Tools by function name.
    pub tools: BTreeMap<String, Tool>,
    /// Linked once; each call instantiates a fresh instance from it.
    pub pre: InstancePre<HostState>,
}

/// Checks that `bytes` are a component and says precisely what is wrong otherwise.
pub fn validate_bytes(file: &str, bytes: &[u8]) -> Result<(), LoadError> {
    if bytes.len() < 8 || &bytes[..4] != b"\0asm" {
        return Err(LoadError::NotWasm { file: file.into() });
    }
    if wasmparser::Parser::is_core_wasm(bytes) {
        return Err(LoadError::CoreModule { file: file.into() });
    }
    let mut validator = wasmparser::Validator::new_with_features(wasmparser::WasmFeatures::all());
    validator
        .validate_all(bytes)
        .map_err(|e| LoadError::Invalid {
            file: file.into(),
            reason: e.to_string(),
        })?;
    Ok(())
}

/// Imports of `component` that the host does not provide.
pub fn unsupported_imports(engine: &Engine, component: &Component) -> Vec<String> {
    component
        .component_type()
        .imports(engine)
        .map(|(name, _)| name.to_string())
        .filter(|name| !crate::sandbox::linker::is_provided(name))
        .collect()
}

/// The export index of the SDK's `guest.call` / `guest.manifest`, if this is an SDK component.
pub fn sdk_exports(component: &Component) -> Option<(ComponentExportIndex, ComponentExportIndex)> {
    let iface = component.get_export_index(None, SDK_INTERFACE)?;
    let call = component.get_export_index(Some(&iface), "call")?;
    let manifest = component.get_export_index(Some(&iface), "manifest")?;
    Some((call, manifest))
}

/// Every exported function of a plain component: (function name, export index, signature).
/// Functions inside exported interfaces are named `interface#function`.
pub fn plain_functions(
    engine: &Engine,
    component: &Component,
) -> Vec<(String, ComponentExportIndex, FuncSig)> {
    let mut out = Vec::new();
    for (name, item) in component.component_type().exports(engine) {
        match item.ty {
            ComponentItem::ComponentFunc(f) => {
                if let Some(idx) = component.get_export_index(None, name) {
                    out.push((
                        name.to_string(),
                        idx,
                        spud_schema::wasmtime_bridge::func_sig(name, &f),
                    ));
                }
            }
            ComponentItem::ComponentInstance(inst) => {
                let Some(iface) = component.get_export_index(None, name) else {
                    continue;
                };
                for (fname, fitem) in inst.exports(engine) {
                    if let ComponentItem::ComponentFunc(f) = fitem.ty {
                        if let Some(idx) = component.get_export_index(Some(&iface), fname) {
                            out.push((
                                format!("{name}#{fname}"),
                                idx,
                                spud_schema::wasmtime_bridge::func_sig(fname, &f),
                            ));
                        }
                    }
                }
            }
            _ => {}
        }
    }
    out
}

/// The short tool name for a plain function: `area` for `example:typed/shapes@0.1.0#area`,
/// prefixed with the interface's short name when two interfaces export the same function.
pub fn short_names(functions: &[String]) -> BTreeMap<String, String> {
    let short = |f: &str| f.rsplit('#').next().unwrap_or(f).to_string();
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for f in functions {
        *counts.entry(short(f)).or_default() += 1;
    }
    functions
        .iter()
        .map(|f| {
            let s = short(f);
            let name = if counts[&s] > 1 {
                let iface = f.split('#').next().unwrap_or("");
                let iface = iface.rsplit('/').next().unwrap_or(iface);
                let iface = iface.split('@').next().unwrap_or(iface);
                format!("{iface}-{s}")
            } else {
                s
            };
            (f.clone(), name)
        })
        .collect()
}

/// Links `component` into an `InstancePre`.
pub fn prepare(
    linker: &Linker<HostState>,
    component: &Component,
) -> anyhow::Result<InstancePre<HostState>> {
    Ok(linker.instantiate_pre(component)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_names_disambiguate() {
        let names = short_names(&["a:b/x@1#run".into(), "a:b/y@1#run".into(), "hello".into()]);
        assert_eq!(names["a:b/x@1#run"], "x-run");
        assert_eq!(names["a:b/y@1#run"], "y-run");
        assert_eq!(names["hello"], "hello");
    }

    #[test]
    fn rejects_non_components() {
        assert!(matches!(
            validate_bytes("f", b"hello world"),
            Err(LoadError::NotWasm { .. })
        ));
        let core = [0, b'a', b's', b'm', 1, 0, 0, 0];
        assert!(matches!(
            validate_bytes("f", &core),
            Err(LoadError::CoreModule { .. })
        ));
    }
}
