//! The host side of every import a tool may use: WASI 0.2 (async) and wasi-http, with a shim
//! in front of DNS lookups so a refused lookup is recorded like every other decision.

use crate::sandbox::journal::Capability;
use crate::sandbox::HostState;
use wasmtime::component::{Linker, Resource};
use wasmtime::Engine;
use wasmtime_wasi::p2::bindings::sockets::ip_name_lookup::ResolveAddressStream;
use wasmtime_wasi::p2::bindings::sockets::network::{ErrorCode, Network};
use wasmtime_wasi::sockets::WasiSocketsView;

/// Interfaces the host provides (any 0.2.x version).
pub const PROVIDED_PACKAGES: &[&str] =
    &["wasi:cli/", "wasi:clocks/", "wasi:filesystem/", "wasi:io/", "wasi:random/", "wasi:sockets/", "wasi:http/"];

/// Whether an import name is one the host provides.
pub fn is_provided(import: &str) -> bool {
    PROVIDED_PACKAGES.iter().any(|p| import.starts_with(p)) && import.contains("@0.2.")
}

/// Builds the linker shared by every instance of every plugin.
pub fn build(engine: &Engine) -> anyhow::Result<Linker<HostState>> {
    let mut linker = Linker::<HostState>::new(engine);
    wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
    wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut linker)?;
    linker.allow_shadowing(true);
    linker.instance("wasi:sockets/ip-name-lookup@0.2.12")?.func_wrap(
        "resolve-addresses",
        |mut store, (network, name): (Resource<Network>, String)| -> wasmtime::Result<(Result<Resource<ResolveAddressStream>, ErrorCode>,)> {
            let state: &mut HostState = store.data_mut();
            if !state.dns_allowed {
                state.journal.deny(
                    Capability::Dns,
                    &format!("lookup {name}"),
                    "DNS lookups are not granted; they need `sockets = { dns = true }` in the tool's policy section (and requested by the tool)".into(),
                );
                return Ok((Err(ErrorCode::PermanentResolverFailure),));
            }
            state.journal.allow(Capability::Dns, &format!("lookup {name}"), "granted by sockets.dns".into());
            let mut view = state.sockets();
            use wasmtime_wasi::p2::bindings::sockets::ip_name_lookup::Host as _;
            use wasmtime_wasi::p2::bindings::sockets::network::Host as _;
            match view.resolve_addresses(network, name) {
                Ok(stream) => Ok((Ok(stream),)),
                Err(e) => Ok((Err(view.convert_error_code(e)?),)),
            }
        },
    )?;
    Ok(linker)
}
