//! One connection to PostgreSQL over `std::net` (on wasm32-wasip2: `wasi:sockets`): startup,
//! authentication (SCRAM-SHA-256, MD5 or cleartext, as the server asks), and one statement
//! through the extended query protocol, its parameters bound as text.

use crate::values::{param_text, text_to_json, Target};
use bytes::{BufMut, BytesMut};
use fallible_iterator::FallibleIterator;
use postgres_protocol::authentication::sasl::{ChannelBinding, ScramSha256, SCRAM_SHA_256};
use postgres_protocol::message::{backend::Message, frontend};
use postgres_protocol::IsNull;
use serde_json::Value;
use std::io::{Read, Write};
use std::net::TcpStream;

/// The granted settings: `POSTGRES_URL`, `PGPASSWORD`, `POSTGRES_WRITES`.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Where and as whom.
    pub target: Target,
    /// The password, if any.
    pub password: Option<String>,
    /// Whether `execute` may change data (`POSTGRES_WRITES=allow`).
    pub writes: bool,
}

impl Settings {
    /// From the component's environment.
    pub fn from_env() -> Result<Settings, String> {
        let url = std::env::var("POSTGRES_URL").map_err(|_| {
            "POSTGRES_URL is not set: grant it in the policy, e.g. env = [\"POSTGRES_URL=postgresql://USER@127.0.0.1:5432/DB\", \"PGPASSWORD\"] \
             with sockets = { tcp_connect = [\"127.0.0.1:5432\"] } under [tools.postgres]"
                .to_string()
        })?;
        Ok(Settings {
            target: Target::parse(&url)?,
            password: std::env::var("PGPASSWORD").ok().filter(|p| !p.is_empty()),
            writes: std::env::var("POSTGRES_WRITES").is_ok_and(|v| v == "allow"),
        })
    }
}

/// What one statement gave.
#[derive(Debug, Default)]
pub struct Outcome {
    /// Column names.
    pub columns: Vec<String>,
    /// Rows as JSON values.
    pub rows: Vec<Vec<Value>>,
    /// More rows than asked for.
    pub truncated: bool,
    /// The command tag.
    pub tag: String,
}

/// An open, authenticated connection.
pub struct Conn {
    stream: TcpStream,
    buf: BytesMut,
}

impl Conn {
    /// Connects and logs in; a read-only session unless `settings.writes`.
    pub fn open(settings: &Settings) -> Result<Conn, String> {
        let t = &settings.target;
        let stream = TcpStream::connect(t.addr.as_str()).map_err(|e| {
            format!(
                "cannot connect to {}: {e} (the policy must grant it in sockets.tcp_connect under [tools.postgres])",
                t.addr
            )
        })?;
        let mut c = Conn {
            stream,
            buf: BytesMut::new(),
        };
        let mut out = BytesMut::new();
        let mut params = vec![
            ("user", t.user.as_str()),
            ("database", t.database.as_str()),
            ("application_name", "spud-postgres"),
            ("client_encoding", "UTF8"),
        ];
        if !settings.writes {
            params.push(("options", "-c default_transaction_read_only=on"));
        }
        frontend::startup_message(params, &mut out).map_err(io)?;
        c.send(&out)?;
        c.authenticate(&t.user, settings.password.as_deref())?;
        Ok(c)
    }

    fn send(&mut self, bytes: &[u8]) -> Result<(), String> {
        self.stream.write_all(bytes).map_err(io)
    }

    /// The next message from the server.
    fn next(&mut self) -> Result<Message, String> {
        loop {
            if let Some(m) = Message::parse(&mut self.buf).map_err(io)? {
                return Ok(m);
            }
            let mut chunk = [0u8; 16 * 1024];
            let n = self.stream.read(&mut chunk).map_err(io)?;
            if n == 0 {
                return Err("the server closed the connection".into());
            }
            self.buf.put_slice(&chunk[..n]);
        }
    }

    fn authenticate(&mut self, user: &str, password: Option<&str>) -> Result<(), String> {
        let need = || {
            "the server asks for a password: grant PGPASSWORD under [tools.postgres]".to_string()
        };
        let mut scram: Option<ScramSha256> = None;
        loop {
            let mut out = BytesMut::new();
            match self.next()? {
                Message::AuthenticationOk => {}
                Message::AuthenticationCleartextPassword => {
                    let pw = password.ok_or_else(need)?;
                    frontend::password_message(pw.as_bytes(), &mut out).map_err(io)?;
                }
                Message::AuthenticationMd5Password(body) => {
                    let pw = password.ok_or_else(need)?;
                    let hash = postgres_protocol::authentication::md5_hash(
                        user.as_bytes(),
                        pw.as_bytes(),
                        body.salt(),
                    );
                    frontend::password_message(hash.as_bytes(), &mut out).map_err(io)?;
                }
                Message::AuthenticationSasl(body) => {
                    let mut mechanisms = body.mechanisms();
                    let mut ok = false;
                    while let Some(m) = mechanisms.next().map_err(io)? {
                        ok |= m == SCRAM_SHA_256;
                    }
                    if !ok {
                        return Err("the server offers no SASL mechanism this connector speaks (SCRAM-SHA-256)".into());
                    }
                    let pw = password.ok_or_else(need)?;
                    let s = ScramSha256::new(pw.as_bytes(), ChannelBinding::unsupported());
                    frontend::sasl_initial_response(SCRAM_SHA_256, s.message(), &mut out)
                        .map_err(io)?;
                    scram = Some(s);
                }
                Message::AuthenticationSaslContinue(body) => {
                    let s = scram.as_mut().ok_or("SCRAM continued before it began")?;
                    s.update(body.data()).map_err(io)?;
                    frontend::sasl_response(s.message(), &mut out).map_err(io)?;
                }
                Message::AuthenticationSaslFinal(body) => {
                    let mut s = scram.take().ok_or("SCRAM finished before it began")?;
                    s.finish(body.data()).map_err(io)?;
                }
                Message::ErrorResponse(body) => return Err(server_error(&body)),
                Message::ReadyForQuery(_) => return Ok(()),
                _ => {}
            }
            if !out.is_empty() {
                self.send(&out)?;
            }
        }
    }

    /// Runs one statement with its parameters; rows beyond `max` are counted, not kept. A
    /// `read_only` statement runs in a read-only transaction.
    pub fn run(
        &mut self,
        sql: &str,
        params: &[Value],
        max: usize,
        read_only: bool,
    ) -> Result<Outcome, String> {
        if read_only {
            self.simple("BEGIN READ ONLY")?;
        }
        let result = self.extended(sql, params, max);
        if read_only {
            // Nothing to keep: a read-only transaction ends the same either way.
            self.simple("ROLLBACK")?;
        }
        result
    }

    /// A statement without parameters or rows (`BEGIN`, `ROLLBACK`).
    fn simple(&mut self, sql: &str) -> Result<(), String> {
        let mut out = BytesMut::new();
        frontend::query(sql, &mut out).map_err(io)?;
        self.send(&out)?;
        let mut error = None;
        loop {
            match self.next()? {
                Message::ErrorResponse(body) => error = Some(server_error(&body)),
                Message::ReadyForQuery(_) => return error.map_or(Ok(()), Err),
                _ => {}
            }
        }
    }

    fn extended(&mut self, sql: &str, params: &[Value], max: usize) -> Result<Outcome, String> {
        let mut out = BytesMut::new();
        frontend::parse("", sql, std::iter::empty(), &mut out).map_err(io)?;
        let texts: Vec<Option<String>> = params.iter().map(param_text).collect();
        frontend::bind(
            "",
            "",
            Some(0),
            texts.iter(),
            |v, buf| match v {
                Some(s) => {
                    buf.put_slice(s.as_bytes());
                    Ok(IsNull::No)
                }
                None => Ok(IsNull::Yes),
            },
            Some(0),
            &mut out,
        )
        .map_err(|_| "a parameter is too large to send".to_string())?;
        frontend::describe(b'P', "", &mut out).map_err(io)?;
        frontend::execute("", 0, &mut out).map_err(io)?;
        frontend::sync(&mut out);
        self.send(&out)?;
        self.collect(max)
    }

    /// Reads the answer to one extended-protocol statement up to ReadyForQuery.
    fn collect(&mut self, max: usize) -> Result<Outcome, String> {
        let mut o = Outcome::default();
        let mut types: Vec<u32> = Vec::new();
        let mut error = None;
        loop {
            match self.next()? {
                Message::RowDescription(body) => {
                    let mut fields = body.fields();
                    while let Some(f) = fields.next().map_err(io)? {
                        o.columns.push(f.name().to_string());
                        types.push(f.type_oid());
                    }
                }
                Message::DataRow(body) if o.rows.len() < max => {
                    let buf = body.buffer();
                    let mut ranges = body.ranges();
                    let mut row = Vec::with_capacity(types.len());
                    let mut i = 0;
                    while let Some(r) = ranges.next().map_err(io)? {
                        let v = match r {
                            None => Value::Null,
                            Some(r) => {
                                let text = String::from_utf8_lossy(&buf[r]);
                                text_to_json(types.get(i).copied().unwrap_or(0), &text)
                            }
                        };
                        row.push(v);
                        i += 1;
                    }
                    o.rows.push(row);
                }
                Message::DataRow(_) => o.truncated = true,
                Message::CommandComplete(body) => o.tag = body.tag().map_err(io)?.to_string(),
                Message::ErrorResponse(body) => error = Some(server_error(&body)),
                Message::ReadyForQuery(_) => return error.map_or(Ok(o), Err),
                _ => {}
            }
        }
    }
}

impl Drop for Conn {
    fn drop(&mut self) {
        let mut out = BytesMut::new();
        frontend::terminate(&mut out);
        let _ = self.stream.write_all(&out);
    }
}

fn io(e: std::io::Error) -> String {
    format!("postgres: {e}")
}

/// The server's error: severity, code, message, and its detail and hint when it gives them.
fn server_error(body: &postgres_protocol::message::backend::ErrorResponseBody) -> String {
    let (mut code, mut message, mut detail, mut hint) = (String::new(), String::new(), None, None);
    let mut fields = body.fields();
    while let Ok(Some(f)) = fields.next() {
        let v = String::from_utf8_lossy(f.value_bytes()).into_owned();
        match f.type_() {
            b'C' => code = v,
            b'M' => message = v,
            b'D' => detail = Some(v),
            b'H' => hint = Some(v),
            _ => {}
        }
    }
    let mut out = format!("postgres error {code}: {message}");
    if code == "25006" {
        out.push_str(" (this connector is read-only unless the policy grants POSTGRES_WRITES=allow; use `execute` to change data)");
    }
    for extra in [detail, hint].into_iter().flatten() {
        out.push_str("; ");
        out.push_str(&extra);
    }
    out
}
