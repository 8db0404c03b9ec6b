//! The test site: small HTTP/1.1 servers on 127.0.0.1 that record every request they get.
//! `Site::start(pages)` serves what `pages` answers for each request.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

/// A request a server got.
#[derive(Debug, Clone)]
pub struct Got {
    /// `GET /path`.
    pub method: String,
    /// Path and query.
    pub path: String,
    /// Headers, one per line, lower-case names.
    pub headers: String,
    /// The body.
    pub body: String,
}

/// An answer: status, extra headers, content type, body.
pub struct Answer {
    pub status: &'static str,
    pub headers: Vec<(String, String)>,
    pub content_type: &'static str,
    pub body: String,
}

impl Answer {
    pub fn html(body: impl Into<String>) -> Answer {
        Answer {
            status: "200 OK",
            headers: vec![],
            content_type: "text/html; charset=utf-8",
            body: body.into(),
        }
    }
    pub fn typed(content_type: &'static str, body: impl Into<String>) -> Answer {
        Answer {
            status: "200 OK",
            headers: vec![],
            content_type,
            body: body.into(),
        }
    }
    pub fn redirect(to: &str) -> Answer {
        Answer {
            status: "302 Found",
            headers: vec![("Location".into(), to.into())],
            content_type: "text/plain",
            body: String::new(),
        }
    }
    pub fn with_header(mut self, k: &str, v: &str) -> Answer {
        self.headers.push((k.into(), v.into()));
        self
    }
}

type Pages = dyn Fn(&Got) -> Answer + Send + Sync;

/// One server.
pub struct Site {
    pub addr: SocketAddr,
    got: Arc<Mutex<Vec<Got>>>,
}

impl Site {
    /// Starts a server on a free port of 127.0.0.1.
    pub fn start(pages: Arc<Pages>) -> Site {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
        let addr = listener.local_addr().expect("addr");
        let got: Arc<Mutex<Vec<Got>>> = Arc::default();
        let g = got.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (g, pages) = (g.clone(), pages.clone());
                std::thread::spawn(move || serve(stream, &g, &*pages));
            }
        });
        Site { addr, got }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// What it got so far.
    pub fn got(&self) -> Vec<Got> {
        self.got.lock().expect("lock").clone()
    }
}

fn serve(stream: TcpStream, got: &Mutex<Vec<Got>>, pages: &Pages) {
    let Ok(read) = stream.try_clone() else { return };
    let mut reader = BufReader::new(read);
    let mut stream = stream;
    let mut line = String::new();
    if reader.read_line(&mut line).unwrap_or(0) == 0 {
        return;
    }
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or("").to_string();
    let path = parts.next().unwrap_or("/").to_string();
    let mut headers = String::new();
    let mut length = 0usize;
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h).unwrap_or(0) == 0 {
            return;
        }
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            let k = k.to_ascii_lowercase();
            if k == "content-length" {
                length = v.trim().parse().unwrap_or(0);
            }
            headers.push_str(&format!("{k}: {}\n", v.trim()));
        }
    }
    let mut body = vec![0; length];
    if reader.read_exact(&mut body).is_err() {
        return;
    }
    let request = Got {
        method,
        path,
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    };
    got.lock().expect("lock").push(request.clone());
    let a = pages(&request);
    let mut head = format!(
        "HTTP/1.1 {}\r\nContent-Type: {}\r\nContent-Length: {}\r\nConnection: close\r\n",
        a.status,
        a.content_type,
        a.body.len()
    );
    for (k, v) in &a.headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    let _ = stream.write_all(head.as_bytes());
    let _ = stream.write_all(a.body.as_bytes());
}

/// The pages of the granted site `a`, which points at `b` (never granted) and `c` (granted,
/// but the registered secret may not go there).
pub fn pages_of_a(b: String, c: String) -> Arc<Pages> {
    Arc::new(move |r: &Got| {
        let path = r.path.split('?').next().unwrap_or("/");
        match path {
            "/" => Answer::html("<title>Shop</title><h1>Shop</h1><a href=\"/login.html\">Log in</a> <a href=\"/item/42\">Blue teapot</a>"),
            "/item/42" => Answer::html("<title>Blue teapot</title><h1>Blue teapot</h1><p>In stock: 3</p>"),
            "/img.html" => Answer::html(format!("<title>img</title><p>with an image and a script</p><img src=\"{b}/pixel.png\"><script src=\"{b}/x.js\"></script>")),
            "/fetch.html" => Answer::html(format!("<title>fetch</title><p id=o>waiting</p><script>fetch('{b}/api', {{method: 'POST', body: 'x'}}).then(r => o.textContent = 'fetch status ' + r.status).catch(e => o.textContent = 'fetch failed')</script>")),
            "/redirect" => Answer::redirect(&format!("{b}/landing")),
            "/ws.html" => Answer::html(format!("<title>ws</title><p id=o>waiting</p><script>const w = new WebSocket('{}/ws'); w.onopen = () => o.textContent = 'ws open'; w.onerror = () => o.textContent = 'ws failed';</script>", b.replace("http://", "ws://"))),
            "/sw.html" => Answer::html("<title>sw</title><p id=o>waiting</p><button onclick=\"navigator.serviceWorker.register('/sw.js').then(() => navigator.serviceWorker.ready).then(() => o.textContent = 'sw ready').catch(e => o.textContent = 'sw failed ' + e)\">Register</button>"),
            "/sw.js" => Answer::typed("text/javascript", format!("self.addEventListener('install', e => e.waitUntil(fetch('{b}/from-sw').catch(() => null)));")),
            "/form-c.html" => Answer::html(format!("<title>form c</title><form method=post action=\"{c}/collect\"><label>Token <input name=token></label><button>Send</button></form>")),
            "/form-a.html" => Answer::html("<title>form a</title><form method=post action=\"/collect\"><label>Token <input name=token></label><button>Send</button></form>"),
            "/collect" => Answer::html("<title>thanks</title><p>Received</p>"),
            "/login.html" => Answer::html("<title>Log in</title><form method=post action=\"/login\"><label>User <input name=user></label><button>Log in</button></form>"),
            "/login" => {
                let user = r.body.strip_prefix("user=").unwrap_or("nobody").to_string();
                Answer::redirect("/account").with_header("Set-Cookie", &format!("user={user}; Path=/"))
            }
            "/account" => {
                let user = r.headers.lines().find_map(|l| l.strip_prefix("cookie: ")).and_then(|c| c.split("; ").find_map(|kv| kv.strip_prefix("user="))).map(str::to_string);
                match user {
                    Some(u) => Answer::html(format!("<title>Account</title><p>Welcome, {u}</p><select name=size><option value=s>Small</option><option value=l>Large</option></select>")),
                    None => Answer::html("<title>Account</title><p>Please log in</p>"),
                }
            }
            // A page whose timer fetches c 4 s after it loads (between two calls, in the tests).
            "/timer.html" => Answer::html(format!("<title>timer</title><p id=o>waiting</p><script>setTimeout(() => fetch('{c}/late').then(r => o.textContent = 'late ' + r.status).catch(e => o.textContent = 'late failed'), 4000)</script>")),
            // Logs in by a plain link: `/as?u=NAME` sets the cookie, then the account page.
            "/as" => {
                let user = r.path.split_once("?u=").map_or("nobody", |(_, u)| u).to_string();
                Answer::redirect("/account").with_header("Set-Cookie", &format!("user={user}; Path=/"))
            }
            // Logs in for an hour: a cookie that outlives the browser, if its profile does.
            "/remember" => {
                let user = r.path.split_once("?u=").map_or("nobody", |(_, u)| u).to_string();
                Answer::redirect("/account").with_header("Set-Cookie", &format!("user={user}; Path=/; Max-Age=3600"))
            }
            "/spin.html" => Answer::html("<title>spin</title><script>while (true) {}</script>"),
            "/huge.html" => {
                let mut body = String::from("<title>huge</title>");
                for i in 0..20_000 {
                    body.push_str(&format!("<p>paragraph {i} <a href=\"/p/{i}\">link {i}</a></p>"));
                }
                Answer::html(body)
            }
            _ => Answer::html("<title>not here</title>").with_header("X-Missing", "1"),
        }
    })
}

/// Pages of the other servers: a line of text for anything.
pub fn plain() -> Arc<Pages> {
    Arc::new(|_r: &Got| Answer::html("<title>other</title><p>other server</p>"))
}
