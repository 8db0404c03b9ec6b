//! Distribution: components pulled from and pushed to OCI registries (the layout the Wasm
//! ecosystem uses), their keyed signatures stored beside them, `https://` downloads with a
//! required digest, and registry credentials. Network I/O only; what to trust is decided by
//! `spud-trust` and the service layer.

mod auth;
mod error;
mod https;
mod oci;

pub use auth::{credentials, Credentials};
pub use error::DistError;
pub use https::download;
pub use oci::{Oci, Pulled, CONFIG_MEDIA_TYPE, SIDECAR_MEDIA_TYPE, WASM_MEDIA_TYPE};
