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
        let request = OutgoingRequest::new(Fields::new());
        let scheme = if scheme == "https" {
            Scheme::Https
        } else {
            Scheme::Http
        };
        request
            .set_scheme(Some(&scheme))
            .map_err(|()| "bad scheme")?;
        request
            .set_authority(Some(authority))
            .map_err(|()| "bad authority")?;
        request
            .set_path_with_query(Some(path))
            .map_err(|()| "bad path")?;
        let response = outgoing_handler::handle(request, None).map_err(|e| format!("{e:?}"))?;
        response.subscribe().block();
        match response.get() {
            Some(Ok(Ok(r))) => Ok(r.status()),
            Some(Ok(Err(e))) => Err(format!("{e:?}")),
            Some(Err(())) => Err("response already taken".into()),
            None => Err("no response".into()),
        }
    }

    fn tcp_connect(addr: String) -> Result<(), String> {
        use wasip2::sockets::network::{IpAddressFamily, IpSocketAddress, Ipv4SocketAddress};
        use wasip2::sockets::{instance_network, tcp_create_socket};
        let a: std::net::SocketAddrV4 = addr.parse().map_err(err)?;
        let network = instance_network::instance_network();
        let socket = tcp_create_socket::create_tcp_socket(IpAddressFamily::Ipv4)
            .map_err(|e| format!("{e:?}"))?;
        let o = a.ip().octets();
        let target = IpSocketAddress::Ipv4(Ipv4SocketAddress {
            port: a.port(),
            address: (o[0], o[1], o[2], o[3]),
        });
        socket
            .start_connect(&network, target)
            .map_err(|e| format!("{e:?}"))?;
        socket.subscribe().block();
        socket
            .finish_connect()
            .map(|_| ())
            .map_err(|e| format!("{e:?}"))
    }

    fn dns_lookup(name: String) -> Result<Vec<String>, String> {
        use wasip2::sockets::{instance_network, ip_name_lookup};
        let network = instance_network::instance_network();
        let stream =
            ip_name_lookup::resolve_addresses(&network, &name).map_err(|e| format!("{e:?}"))?;
        let mut out = Vec::new();
        loop {
            match stream.resolve_next_address() {
                Ok(Some(a)) => out.push(format!("{a:?}")),
                Ok(None) => return Ok(out),
                Err(wasip2::sockets::network::ErrorCode::WouldBlock) => stream.subscribe().block(),
                Err(e) => return Err(format!("{e:?}")),
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
        let mut chunks = Vec::new();
        for _ in 0..mb {
            chunks.push(vec![0xa5u8; 1 << 20]);
        }
        chunks.iter().map(|c| c[c.len() / 2] as u32).sum::<u32>() & 0xff
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
        "x".repeat(bytes as usize)
    }

    fn echo(s: String) -> String {
        s
    }

    fn counter() -> u32 {
        COUNTER.fetch_add(1, Ordering::SeqCst) + 1
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
