//! A hostile test component: each export attempts one escape from the sandbox and reports what
//! it observed. Built with plain wit-bindgen, without the spud SDK.

use std::hint::black_box;
use std::io::{Read, Write};
use std::sync::atomic::{AtomicU32, Ordering};

wit_bindgen::generate!({ path: "wit", world: "hostile" });

struct Hostile;

static COUNTER: AtomicU32 = AtomicU32::new(0);

fn err(e: impl std::fmt::Display) -> String {
    e.to_string()
}

impl Guest for Hostile {
    fn read_file(path: String) -> Result<String, String> {
        std::fs::read_to_string(&path).map_err(err)
    }

    fn write_file(path: String, content: String) -> Result<u64, String> {
        std::fs::write(&path, content.as_bytes()).map_err(err)?;
        Ok(content.len() as u64)
    }

    fn list_dir(path: String) -> Result<Vec<String>, String> {
        let entries = std::fs::read_dir(&path).map_err(err)?;
        Ok(entries
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect())
    }

    fn get_env(name: String) -> Option<String> {
        std::env::var(name).ok()
    }

    fn env_count() -> u32 {
        std::env::vars().count() as u32
    }

    fn args_count() -> u32 {
        std::env::args().count() as u32
    }

    fn read_stdin() -> Result<String, String> {
        let mut s = String::new();
        std::io::stdin().read_to_string(&mut s).map_err(err)?;
        Ok(s)
    }

    fn http_get(url: String) -> Result<u16, String> {
        use wasip2::http::outgoing_handler;
        use wasip2::http::types::{Fields, OutgoingRequest, Scheme};
        let (scheme, rest) = url.split_once("://").ok_or("url needs a scheme")?;
        let (authority, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, "/"),
        };
        let scheme = match scheme {
            "http" => Scheme::Http,
            "https" => Scheme::Https,
            other => Scheme::Other(other.to_string()),
        };
        let request = OutgoingRequest::new(Fields::new());
        request
            .set_scheme(Some(&scheme))
            .map_err(|()| "bad scheme")?;
        request
            .set_authority(Some(authority))
            .map_err(|()| "bad authority")?;
        request
            .set_path_with_query(Some(path))
            .map_err(|()| "bad path")?;
        // A host that refuses the request may do so here or when the response is awaited;
        // either way the `ErrorCode` is reported with `{:?}` (e.g. `HttpRequestDenied`).
        let response = outgoing_handler::handle(request, None).map_err(|e| format!("{e:?}"))?;
        response.subscribe().block();
        match response.get() {
            Some(Ok(Ok(r))) => Ok(r.status()),
            Some(Ok(Err(e))) => Err(format!("{e:?}")),
            Some(Err(())) => Err("response already taken".into()),
            None => Err("no response after the pollable was ready".into()),
        }
    }

    fn tcp_connect(addr: String) -> Result<(), String> {
        use wasip2::sockets::network::ErrorCode;
        use wasip2::sockets::{instance_network, tcp_create_socket};
        let target: std::net::SocketAddr = addr.parse().map_err(err)?;
        let network = instance_network::instance_network();
        let (family, remote) = wasi_socket_addr(target);
        let socket = tcp_create_socket::create_tcp_socket(family).map_err(sock_err)?;
        socket.start_connect(&network, remote).map_err(sock_err)?;
        loop {
            socket.subscribe().block();
            match socket.finish_connect() {
                Ok(_streams) => return Ok(()),
                Err(ErrorCode::WouldBlock) => continue,
                Err(e) => return Err(sock_err(e)),
            }
        }
    }

    fn dns_lookup(name: String) -> Result<Vec<String>, String> {
        use wasip2::sockets::network::{ErrorCode, IpAddress};
        use wasip2::sockets::{instance_network, ip_name_lookup};
        let network = instance_network::instance_network();
        let stream = ip_name_lookup::resolve_addresses(&network, &name).map_err(sock_err)?;
        let mut out = Vec::new();
        loop {
            match stream.resolve_next_address() {
                Ok(Some(IpAddress::Ipv4((a, b, c, d)))) => {
                    out.push(std::net::Ipv4Addr::new(a, b, c, d).to_string())
                }
                Ok(Some(IpAddress::Ipv6((a, b, c, d, e, f, g, h)))) => {
                    out.push(std::net::Ipv6Addr::new(a, b, c, d, e, f, g, h).to_string())
                }
                Ok(None) => return Ok(out),
                Err(ErrorCode::WouldBlock) => stream.subscribe().block(),
                Err(e) => return Err(sock_err(e)),
            }
        }
    }

    fn spin_forever() {
        let mut x = 1u64;
        loop {
            x = black_box(x.wrapping_mul(6364136223846793005).wrapping_add(1));
        }
    }

    fn spin(iterations: u64) -> u64 {
        let mut x = 1u64;
        for i in 0..iterations {
            x = black_box(x.wrapping_mul(6364136223846793005).wrapping_add(i));
        }
        x
    }

    fn alloc_mb(mb: u32) -> u32 {
        // Every byte is written (nonzero, so no zeroed-page shortcut) and each chunk goes
        // through black_box, so the optimizer can neither skip the fill nor drop the memory.
        let mut chunks = Vec::new();
        for i in 0..mb {
            let chunk = black_box(vec![(i as u8) | 1; 1 << 20]);
            chunks.push(chunk);
        }
        chunks
            .iter()
            .fold(0u8, |sum, c| sum.wrapping_add(c[c.len() / 2])) as u32
    }

    fn recurse(depth: u32) -> u32 {
        fn go(n: u32) -> u32 {
            let pad = black_box([n as u8; 64]);
            if n == 0 {
                return pad[0] as u32;
            }
            black_box(go(n - 1)).wrapping_add(pad[63] as u32)
        }
        go(depth)
    }

    fn flood_stdout(bytes: u64) -> u64 {
        flood(&mut std::io::stdout(), b'o', bytes)
    }

    fn flood_stderr(bytes: u64) -> u64 {
        flood(&mut std::io::stderr(), b'e', bytes)
    }

    fn huge_result(bytes: u64) -> String {
        // More than the address space can hold is a trap (allocation failure), not a wrap.
        "x".repeat(usize::try_from(bytes).unwrap_or(usize::MAX))
    }

    fn echo(s: String) -> String {
        s
    }

    fn counter() -> u32 {
        COUNTER.fetch_add(1, Ordering::SeqCst) + 1
    }
}

/// A socket error as its WIT case name (e.g. `access-denied`), which is what a test matches on.
fn sock_err(e: wasip2::sockets::network::ErrorCode) -> String {
    e.name().to_string()
}

/// The WASI form of a socket address, with its address family.
fn wasi_socket_addr(
    a: std::net::SocketAddr,
) -> (
    wasip2::sockets::network::IpAddressFamily,
    wasip2::sockets::network::IpSocketAddress,
) {
    use wasip2::sockets::network::{
        IpAddressFamily, IpSocketAddress, Ipv4SocketAddress, Ipv6SocketAddress,
    };
    match a {
        std::net::SocketAddr::V4(v4) => {
            let [a, b, c, d] = v4.ip().octets();
            (
                IpAddressFamily::Ipv4,
                IpSocketAddress::Ipv4(Ipv4SocketAddress {
                    port: v4.port(),
                    address: (a, b, c, d),
                }),
            )
        }
        std::net::SocketAddr::V6(v6) => {
            let [a, b, c, d, e, f, g, h] = v6.ip().segments();
            (
                IpAddressFamily::Ipv6,
                IpSocketAddress::Ipv6(Ipv6SocketAddress {
                    port: v6.port(),
                    flow_info: v6.flowinfo(),
                    address: (a, b, c, d, e, f, g, h),
                    scope_id: v6.scope_id(),
                }),
            )
        }
    }
}

/// Writes 1 KiB lines of `fill` until `bytes` are written, ignoring errors (a full pipe must
/// not stop the flood: the host is what has to cope).
fn flood(out: &mut impl Write, fill: u8, bytes: u64) -> u64 {
    let mut line = [fill; 1024];
    line[1023] = b'\n';
    let mut written = 0;
    while written < bytes {
        let _ = out.write_all(&line);
        written += 1024;
    }
    written
}

export!(Hostile);
