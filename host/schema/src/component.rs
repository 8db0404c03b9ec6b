//! The edge to component bytes and WIT sources: which functions a component exports, and the
//! WIT doc comments for them. wasmtime's types carry no docs, and most toolchains do not embed
//! them in the component, so docs are read from the component when present (`package-docs`)
//! and otherwise from the WIT source the component was built from ([`docs_from_wit`]).

use crate::{FuncSig, WitType};
use wit_parser::decoding::{decode, DecodedWasm};
use wit_parser::{Function, Resolve, Type, TypeDefKind, WorldItem, WorldKey};

/// A component that cannot be decoded.
#[derive(Debug, thiserror::Error)]
#[error("cannot read the component's WIT: {0}")]
pub struct DecodeError(String);

/// A function the component exports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportedFunc {
    /// The exported interface it is in, as exported (`example:typed/shapes@0.1.0`); `None` at
    /// the top level.
    pub interface: Option<String>,
    /// Its signature, with docs.
    pub sig: FuncSig,
}

/// Every function the component's world exports, with docs.
pub fn exported_functions(component: &[u8]) -> Result<Vec<ExportedFunc>, DecodeError> {
    let (resolve, world) = match decode(component).map_err(|e| DecodeError(format!("{e:#}")))? {
        DecodedWasm::Component(r, w) => (r, w),
        DecodedWasm::WitPackage(..) => {
            return Err(DecodeError("this is a WIT package, not a component".into()))
        }
    };
    let mut out = Vec::new();
    for (key, item) in &resolve.worlds[world].exports {
        match item {
            WorldItem::Function(f) => out.push(ExportedFunc {
                interface: None,
                sig: sig(&resolve, f),
            }),
            WorldItem::Interface { id, .. } => {
                let name = match key {
                    WorldKey::Name(n) => n.clone(),
                    WorldKey::Interface(i) => resolve
                        .id_of(*i)
                        .unwrap_or_else(|| resolve.name_world_key(key)),
                };
                for f in resolve.interfaces[*id].functions.values() {
                    out.push(ExportedFunc {
                        interface: Some(name.clone()),
                        sig: sig(&resolve, f),
                    });
                }
            }
            WorldItem::Type { .. } => {}
        }
    }
    Ok(out)
}

/// Docs of every function in the WIT package(s) at `path` (a `.wit` file or a folder), keyed
/// by (interface as exported, e.g. `example:typed/shapes@0.1.0`, or `None` for world-level
/// functions; function name).
pub fn docs_from_wit(
    path: &std::path::Path,
) -> Result<std::collections::HashMap<(Option<String>, String), String>, DecodeError> {
    let mut resolve = Resolve::default();
    resolve
        .push_path(path)
        .map_err(|e| DecodeError(format!("{}: {e:#}", path.display())))?;
    let mut docs = std::collections::HashMap::new();
    for (id, iface) in resolve.interfaces.iter() {
        let Some(name) = resolve.id_of(id) else {
            continue;
        };
        for f in iface.functions.values() {
            if let Some(d) = clean(&f.docs.contents) {
                docs.insert((Some(name.clone()), f.name.clone()), d);
            }
        }
    }
    for (_, world) in resolve.worlds.iter() {
        for item in world.exports.values() {
            if let WorldItem::Function(f) = item {
                if let Some(d) = clean(&f.docs.contents) {
                    docs.insert((None, f.name.clone()), d);
                }
            }
        }
    }
    Ok(docs)
}

fn clean(docs: &Option<String>) -> Option<String> {
    docs.as_ref()
        .map(|d| d.trim().to_string())
        .filter(|d| !d.is_empty())
}

fn sig(resolve: &Resolve, f: &Function) -> FuncSig {
    FuncSig {
        name: f.name.clone(),
        docs: clean(&f.docs.contents),
        params: f
            .params
            .iter()
            .map(|p| (p.name.clone(), ty(resolve, &p.ty)))
            .collect(),
        result: f.result.as_ref().map(|t| ty(resolve, t)),
    }
}

fn ty(resolve: &Resolve, t: &Type) -> WitType {
    match t {
        Type::Bool => WitType::Bool,
        Type::U8 => WitType::U8,
        Type::U16 => WitType::U16,
        Type::U32 => WitType::U32,
        Type::U64 => WitType::U64,
        Type::S8 => WitType::S8,
        Type::S16 => WitType::S16,
        Type::S32 => WitType::S32,
        Type::S64 => WitType::S64,
        Type::F32 => WitType::F32,
        Type::F64 => WitType::F64,
        Type::Char => WitType::Char,
        Type::String => WitType::String,
        Type::ErrorContext => WitType::Unsupported("an error-context".into()),
        Type::Id(id) => match &resolve.types[*id].kind {
            TypeDefKind::Record(r) => WitType::Record(
                r.fields
                    .iter()
                    .map(|f| (f.name.clone(), ty(resolve, &f.ty)))
                    .collect(),
            ),
            TypeDefKind::Tuple(t) => {
                WitType::Tuple(t.types.iter().map(|t| ty(resolve, t)).collect())
            }
            TypeDefKind::Variant(v) => WitType::Variant(
                v.cases
                    .iter()
                    .map(|c| (c.name.clone(), c.ty.as_ref().map(|t| ty(resolve, t))))
                    .collect(),
            ),
            TypeDefKind::Enum(e) => WitType::Enum(e.cases.iter().map(|c| c.name.clone()).collect()),
            TypeDefKind::Flags(f) => {
                WitType::Flags(f.flags.iter().map(|c| c.name.clone()).collect())
            }
            TypeDefKind::Option(t) => WitType::Option(Box::new(ty(resolve, t))),
            TypeDefKind::Result(r) => WitType::Result {
                ok: r.ok.as_ref().map(|t| Box::new(ty(resolve, t))),
                err: r.err.as_ref().map(|t| Box::new(ty(resolve, t))),
            },
            TypeDefKind::List(t) => WitType::List(Box::new(ty(resolve, t))),
            TypeDefKind::Type(t) => ty(resolve, t),
            TypeDefKind::Handle(_) | TypeDefKind::Resource => {
                WitType::Unsupported("a resource".into())
            }
            TypeDefKind::Future(_) => WitType::Unsupported("a future".into()),
            TypeDefKind::Stream(_) => WitType::Unsupported("a stream".into()),
            other => WitType::Unsupported(format!("a {}", other.as_str())),
        },
    }
}
