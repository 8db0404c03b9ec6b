//! The host side of every import a tool may use: WASI 0.2 (async) and wasi-http, with shims in
//! front of file opens and DNS lookups so those decisions are recorded like every other one.
//! The shims decide nothing themselves: cap-std and the WASI context enforce the grant; the
//! shims only watch what they decide.

use super::journal::Capability;
use super::HostState;
use wasmtime::component::{Linker, Resource};
use wasmtime::Engine;
use wasmtime_wasi::filesystem::WasiFilesystemView;
use wasmtime_wasi::p2::bindings::filesystem::types::{
    Descriptor, DescriptorFlags, ErrorCode as FsErrorCode, HostDescriptor, OpenFlags, PathFlags,
};
use wasmtime_wasi::p2::bindings::sockets::ip_name_lookup::ResolveAddressStream;
use wasmtime_wasi::p2::bindings::sockets::network::{ErrorCode, Network};
use wasmtime_wasi::sockets::WasiSocketsView;

/// Interfaces the host provides (any 0.2.x version).
pub const PROVIDED_PACKAGES: &[&str] = &[
    "wasi:cli/",
    "wasi:clocks/",
    "wasi:filesystem/",
    "wasi:io/",
    "wasi:random/",
    "wasi:sockets/",
    "wasi:http/",
];

/// Whether an import name is one the host provides.
pub fn is_provided(import: &str) -> bool {
    (PROVIDED_PACKAGES.iter().any(|p| import.starts_with(p)) && import.contains("@0.2."))
        || import == super::browser::host::IMPORT
}

/// Builds the linker shared by every instance of every plugin: WASI and wasi-http, then the
/// shims that record DNS, file-open and file-change decisions in the call's journal.
pub fn build(engine: &Engine) -> anyhow::Result<Linker<HostState>> {
    let mut linker = Linker::<HostState>::new(engine);
    wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
    wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut linker)?;
    // The browser: linked for every component, denied unless the call's grant has it.
    super::browser::host::add_to_linker(&mut linker, |s: &mut HostState| &mut s.browser)?;
    linker.allow_shadowing(true);
    shim_dns_lookup(&mut linker)?;
    shim_open_at(&mut linker)?;
    shim_file_changes(&mut linker)?;
    Ok(linker)
}

/// `resolve-addresses`: denied unless the grant has `sockets.dns`, else recorded and passed on.
fn shim_dns_lookup(linker: &mut Linker<HostState>) -> anyhow::Result<()> {
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
    Ok(())
}

/// `descriptor.open-at`: passed on; the grant's answer is recorded (a refusal with what the
/// policy would need).
fn shim_open_at(linker: &mut Linker<HostState>) -> anyhow::Result<()> {
    linker.instance("wasi:filesystem/types@0.2.12")?.func_wrap_async(
        "[method]descriptor.open-at",
        |mut store, (fd, path_flags, path, oflags, flags): (Resource<Descriptor>, PathFlags, String, OpenFlags, DescriptorFlags)| {
            Box::new(async move {
                let writes = flags.contains(DescriptorFlags::WRITE)
                    || oflags.intersects(OpenFlags::CREATE | OpenFlags::TRUNCATE);
                let target = format!("{path} ({})", if writes { "write" } else { "read" });
                let state: &mut HostState = store.data_mut();
                let journal = state.journal.clone();
                let files = state.files_summary.clone();
                let mut view = state.filesystem();
                use wasmtime_wasi::p2::bindings::filesystem::types::Host as _;
                match view.open_at(fd, path_flags, path, oflags, flags).await {
                    Ok(fd) => {
                        journal.allow(Capability::File, &target, format!("granted by files: {files}"));
                        Ok((Ok(fd),))
                    }
                    Err(e) => {
                        let code = view.convert_error_code(e)?;
                        if matches!(code, FsErrorCode::NotPermitted | FsErrorCode::Access | FsErrorCode::ReadOnly) {
                            let why = if writes {
                                "writing needs `access = \"read-write\"` on a granted directory that contains the path"
                            } else {
                                "the path leaves the granted directories (by `..` or a symlink)"
                            };
                            journal.deny(Capability::File, &target, format!("{why}; granted files: {files}"));
                        }
                        Ok((Err(code),))
                    }
                }
            })
        },
    )?;
    Ok(())
}

/// Creating and removing directories and deleting files: passed on; the grant's answer is
/// recorded.
fn shim_file_changes(linker: &mut Linker<HostState>) -> anyhow::Result<()> {
    for (method, verb) in [
        ("[method]descriptor.create-directory-at", "create directory"),
        ("[method]descriptor.remove-directory-at", "remove directory"),
        ("[method]descriptor.unlink-file-at", "delete"),
    ] {
        linker.instance("wasi:filesystem/types@0.2.12")?.func_wrap_async(
            method,
            move |mut store, (fd, path): (Resource<Descriptor>, String)| {
                Box::new(async move {
                    let target = format!("{path} ({verb})");
                    let state: &mut HostState = store.data_mut();
                    let journal = state.journal.clone();
                    let files = state.files_summary.clone();
                    let mut view = state.filesystem();
                    use wasmtime_wasi::p2::bindings::filesystem::types::Host as _;
                    let result = match verb {
                        "create directory" => view.create_directory_at(fd, path).await,
                        "remove directory" => view.remove_directory_at(fd, path).await,
                        _ => view.unlink_file_at(fd, path).await,
                    };
                    match result {
                        Ok(()) => {
                            journal.allow(Capability::File, &target, format!("granted by files: {files}"));
                            Ok((Ok(()),))
                        }
                        Err(e) => {
                            let code = view.convert_error_code(e)?;
                            if matches!(code, FsErrorCode::NotPermitted | FsErrorCode::Access | FsErrorCode::ReadOnly) {
                                journal.deny(
                                    Capability::File,
                                    &target,
                                    format!("changing files needs `access = \"read-write\"` on a granted directory that contains the path; granted files: {files}"),
                                );
                            }
                            Ok((Err(code),))
                        }
                    }
                })
            },
        )?;
    }
    Ok(())
}
