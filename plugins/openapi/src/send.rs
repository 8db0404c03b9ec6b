//! Sending one request through `wasi:http/outgoing-handler` (on the guest target; elsewhere
//! every request fails, since only the host can send).

use spud_openapi::Request;

/// What came back.
pub struct Response {
    /// Status code.
    pub status: u16,
    /// `content-type`, if any.
    pub content_type: Option<String>,
    /// Up to the asked number of bytes of the body.
    pub body: Vec<u8>,
    /// Whether the body was longer.
    pub truncated: bool,
}

/// `scheme`, `authority` and `path?query` of an absolute `http(s)://` URL.
pub fn split_url(url: &str) -> Result<(bool, &str, &str), String> {
    let (https, rest) = if let Some(r) = url.strip_prefix("https://") {
        (true, r)
    } else if let Some(r) = url.strip_prefix("http://") {
        (false, r)
    } else {
        return Err(format!("`{url}` is not an http(s) URL"));
    };
    let cut = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, path) = rest.split_at(cut);
    if authority.is_empty() {
        return Err(format!("`{url}` has no host"));
    }
    Ok((https, authority, if path.is_empty() { "/" } else { path }))
}

#[cfg(not(target_arch = "wasm32"))]
/// Native stand-in: there is no `wasi:http` host.
pub fn send(request: &Request, _max: u64) -> Result<Response, String> {
    split_url(&request.url)?;
    Err("HTTP needs the wasi:http host; build this plugin for wasm32-wasip2".into())
}

#[cfg(target_arch = "wasm32")]
/// Sends `request` and reads at most `max` bytes of the answer.
pub fn send(request: &Request, max: u64) -> Result<Response, String> {
    use wasip2::http::outgoing_handler;
    use wasip2::http::types::{Fields, Method, OutgoingBody, OutgoingRequest, Scheme};
    let (https, authority, path) = split_url(&request.url)?;
    let entries: Vec<(String, Vec<u8>)> = request
        .headers
        .iter()
        .map(|(n, v)| (n.clone(), v.clone().into_bytes()))
        .collect();
    let mut entries = entries;
    if let Some(b) = &request.body {
        entries.push(("content-length".into(), b.len().to_string().into_bytes()));
    }
    let headers = Fields::from_list(&entries).map_err(|e| format!("bad header: {e:?}"))?;
    let out = OutgoingRequest::new(headers);
    let method = match request.method.as_str() {
        "GET" => Method::Get,
        "POST" => Method::Post,
        "PUT" => Method::Put,
        "DELETE" => Method::Delete,
        "PATCH" => Method::Patch,
        "HEAD" => Method::Head,
        "OPTIONS" => Method::Options,
        other => Method::Other(other.to_string()),
    };
    let scheme = if https { Scheme::Https } else { Scheme::Http };
    out.set_method(&method)
        .and_then(|()| out.set_scheme(Some(&scheme)))
        .and_then(|()| out.set_authority(Some(authority)))
        .and_then(|()| out.set_path_with_query(Some(path)))
        .map_err(|()| {
            format!(
                "the host rejected the request line {} {}",
                request.method, request.url
            )
        })?;
    let body = out
        .body()
        .map_err(|()| "request body already taken".to_string())?;
    let future = outgoing_handler::handle(out, None).map_err(code)?;
    if let Some(bytes) = &request.body {
        let stream = body
            .write()
            .map_err(|()| "request stream already taken".to_string())?;
        for chunk in bytes.chunks(4096) {
            stream
                .blocking_write_and_flush(chunk)
                .map_err(|e| format!("sending the body failed: {e:?}"))?;
        }
        drop(stream);
    }
    OutgoingBody::finish(body, None).map_err(code)?;
    future.subscribe().block();
    let response = match future.get() {
        Some(Ok(Ok(r))) => r,
        Some(Ok(Err(c))) => return Err(code(c)),
        _ => return Err("the host lost the response".into()),
    };
    read(&response, max)
}

#[cfg(target_arch = "wasm32")]
fn read(response: &wasip2::http::types::IncomingResponse, max: u64) -> Result<Response, String> {
    use wasip2::io::streams::StreamError;
    let status = response.status();
    let content_type = response
        .headers()
        .get("content-type")
        .first()
        .map(|v| String::from_utf8_lossy(v).into_owned());
    let incoming = response
        .consume()
        .map_err(|()| "response body already taken".to_string())?;
    let stream = incoming
        .stream()
        .map_err(|()| "response stream already taken".to_string())?;
    let (mut body, mut truncated) = (Vec::new(), false);
    loop {
        let room = max.saturating_sub(body.len() as u64);
        match stream.blocking_read(room.clamp(1, 64 * 1024)) {
            Ok(chunk) if room == 0 => {
                truncated = !chunk.is_empty();
                if truncated {
                    break;
                }
            }
            Ok(chunk) => body.extend_from_slice(&chunk),
            Err(StreamError::Closed) => break,
            Err(e) => return Err(format!("reading the response failed: {e:?}")),
        }
    }
    drop(stream);
    drop(incoming);
    Ok(Response {
        status,
        content_type,
        body,
        truncated,
    })
}

#[cfg(target_arch = "wasm32")]
fn code(c: wasip2::http::types::ErrorCode) -> String {
    use wasip2::http::types::ErrorCode;
    match c {
        ErrorCode::HttpRequestDenied => "the sandbox denied this request: the destination is not granted to this tool (see `network` under its [tools.NAME] in the policy)".into(),
        ErrorCode::ConnectionRefused => "the connection was refused".into(),
        other => format!("the request failed: {other}"),
    }
}

#[cfg(test)]
mod tests {
    use super::split_url;

    #[test]
    fn urls_split_into_their_parts() {
        assert_eq!(
            split_url("http://127.0.0.1:8/a?b=1"),
            Ok((false, "127.0.0.1:8", "/a?b=1"))
        );
        assert_eq!(split_url("https://h?x"), Ok((true, "h", "?x")));
        assert_eq!(split_url("https://h"), Ok((true, "h", "/")));
        assert!(split_url("ftp://h").is_err() && split_url("http://").is_err());
    }
}
