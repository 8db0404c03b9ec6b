//! Engine, precompiled-artifact cache, plugin loading, the plugin registry, and the call itself
//! (a store from the plugin's `InstancePre` under the sandbox's host state, with a typed outcome).

pub mod cache;
pub mod cache_key;
pub mod call;
mod classify;
mod engine;
mod entry;
pub mod lane;
mod loader;
pub mod plugin;
pub mod registry;

pub use cache::{sha256_hex, ArtifactCache, CacheOutcome, Rebuild, RebuildReason};
pub use cache_key::{CacheKey, CacheKeyError};
pub use call::{budget_named, call, read_sdk_manifest, CallReport, SDK_INVALID_INPUT};
pub use engine::{config, SpudEngine, EPOCH_TICK, MAX_MEMORY_BYTES};
pub use entry::{Entry, OpenApiBinding};
pub use loader::Runtime;
pub use plugin::{LoadError, Plugin, Tool, ToolInfo};
pub use registry::{Registry, RegistryError};
