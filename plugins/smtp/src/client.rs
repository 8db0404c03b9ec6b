//! The SMTP dialogue (RFC 5321) over one `std::net` connection (on wasm32-wasip2:
//! `wasi:sockets`): greeting, EHLO, AUTH PLAIN or LOGIN, MAIL FROM, RCPT TO, DATA with the
//! message dot-stuffed, QUIT. Plain SMTP: no STARTTLS.

use base64::Engine as _;
use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpStream};

/// The login, if the server wants one.
pub struct Login<'a> {
    /// User name.
    pub user: &'a str,
    /// Password.
    pub password: &'a str,
}

/// A reply: its code and its text lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// The three-digit code.
    pub code: u16,
    /// The text of each line, without the code.
    pub lines: Vec<String>,
}

impl std::fmt::Display for Reply {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.code, self.lines.join(" "))
    }
}

/// Why a message was not sent.
#[derive(Debug, thiserror::Error)]
pub enum SmtpError {
    /// No connection.
    #[error("cannot connect: {0}")]
    Connect(std::io::Error),
    /// The connection broke.
    #[error("the connection failed: {0}")]
    Io(#[from] std::io::Error),
    /// The server answered something else than the dialogue needs.
    #[error("{during}: the server answered {reply}")]
    Refused {
        /// What was being done (`login`, `RCPT TO:<a@b>` …).
        during: String,
        /// Its answer.
        reply: Reply,
    },
    /// The server offers no way to log in that the client speaks.
    #[error("the server offers no AUTH PLAIN or LOGIN (it may want TLS, which this connector does not speak)")]
    NoAuth,
    /// Not an SMTP server.
    #[error("not an SMTP answer: `{0}`")]
    Garbled(String),
}

/// One connection.
struct Conn {
    reader: BufReader<TcpStream>,
}

impl Conn {
    fn reply(&mut self) -> Result<Reply, SmtpError> {
        let mut text = Vec::new();
        loop {
            let mut line = String::new();
            if self.reader.read_line(&mut line)? == 0 {
                return Err(SmtpError::Garbled(
                    "the server closed the connection".into(),
                ));
            }
            let line = line.trim_end();
            let code = line
                .get(..3)
                .and_then(|c| c.parse::<u16>().ok())
                .ok_or_else(|| SmtpError::Garbled(line.chars().take(200).collect()))?;
            text.push(line.get(4..).unwrap_or("").to_string());
            if line.as_bytes().get(3) != Some(&b'-') {
                return Ok(Reply { code, lines: text });
            }
        }
    }

    /// Sends `line` (shown as `shown` in errors) and expects a reply of class `class` (2, 3).
    fn command(&mut self, line: &str, shown: &str, class: u16) -> Result<Reply, SmtpError> {
        // One write per command: a command and its CRLF in two segments would wait for the
        // server's delayed ACK of the first (Nagle), ~40 ms a command.
        let stream = self.reader.get_mut();
        stream.write_all(format!("{line}\r\n").as_bytes())?;
        stream.flush()?;
        self.expect(shown, class)
    }

    fn expect(&mut self, during: &str, class: u16) -> Result<Reply, SmtpError> {
        let reply = self.reply()?;
        if reply.code / 100 != class {
            return Err(SmtpError::Refused {
                during: during.to_string(),
                reply,
            });
        }
        Ok(reply)
    }
}

/// The AUTH mechanisms an EHLO reply lists (upper-case), from its `AUTH …` line.
fn auth_mechanisms(ehlo: &[String]) -> Vec<String> {
    ehlo.iter()
        .map(|l| l.to_ascii_uppercase())
        .find_map(|l| {
            l.strip_prefix("AUTH ")
                .or_else(|| l.strip_prefix("AUTH="))
                .map(|rest| rest.split_whitespace().map(str::to_string).collect())
        })
        .unwrap_or_default()
}

/// The message with lines starting with `.` doubled, CRLF line ends, ended by `CRLF.CRLF`.
pub fn dot_stuff(message: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(message.len() + 16);
    let mut at_line_start = true;
    let mut prev = 0u8;
    for &b in message {
        if b == b'\n' && prev != b'\r' {
            out.push(b'\r');
        }
        if at_line_start && b == b'.' {
            out.push(b'.');
        }
        out.push(b);
        at_line_start = b == b'\n';
        prev = b;
    }
    if !out.ends_with(b"\r\n") {
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b".\r\n");
    out
}

/// Sends one message: `from` and `to` are the envelope, `message` the formatted message.
/// Returns the server's reply to the message.
pub fn send(
    server: SocketAddr,
    hello: &str,
    login: Option<Login<'_>>,
    from: &str,
    to: &[String],
    message: &[u8],
) -> Result<Reply, SmtpError> {
    let stream = TcpStream::connect(server).map_err(SmtpError::Connect)?;
    let mut c = Conn {
        reader: BufReader::new(stream),
    };
    c.expect("the greeting", 2)?;
    let ehlo = c.command(&format!("EHLO {hello}"), "EHLO", 2)?;
    if let Some(l) = login {
        let mechs = auth_mechanisms(&ehlo.lines);
        let b64 = |s: &[u8]| base64::engine::general_purpose::STANDARD.encode(s);
        if mechs.iter().any(|m| m == "PLAIN") {
            let token = b64(format!("\0{}\0{}", l.user, l.password).as_bytes());
            c.command(&format!("AUTH PLAIN {token}"), "login (AUTH PLAIN)", 2)?;
        } else if mechs.iter().any(|m| m == "LOGIN") {
            c.command("AUTH LOGIN", "login (AUTH LOGIN)", 3)?;
            c.command(&b64(l.user.as_bytes()), "login (AUTH LOGIN user)", 3)?;
            c.command(&b64(l.password.as_bytes()), "login (AUTH LOGIN)", 2)?;
        } else {
            return Err(SmtpError::NoAuth);
        }
    }
    let mail = format!("MAIL FROM:<{from}>");
    c.command(&mail, &mail, 2)?;
    for rcpt in to {
        let line = format!("RCPT TO:<{rcpt}>");
        c.command(&line, &line, 2)?;
    }
    c.command("DATA", "DATA", 3)?;
    let stream = c.reader.get_mut();
    stream.write_all(&dot_stuff(message))?;
    stream.flush()?;
    let reply = c.expect("the message", 2)?;
    let _ = c.command("QUIT", "QUIT", 2);
    Ok(reply)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dots_are_stuffed_and_lines_end_in_crlf() {
        assert_eq!(
            dot_stuff(b"a\n.\n..b\r\nc"),
            b"a\r\n..\r\n...b\r\nc\r\n.\r\n"
        );
        assert_eq!(dot_stuff(b".x\r\n"), b"..x\r\n.\r\n");
    }

    #[test]
    fn finds_auth_mechanisms() {
        let lines = |ls: &[&str]| ls.iter().map(|l| l.to_string()).collect::<Vec<_>>();
        let ehlo = lines(&[
            "mail.example",
            "SIZE 33554432",
            "8BITMIME",
            "AUTH LOGIN PLAIN",
            "HELP",
        ]);
        assert_eq!(auth_mechanisms(&ehlo), ["LOGIN", "PLAIN"]);
        assert!(auth_mechanisms(&lines(&["x", "8BITMIME", "HELP"])).is_empty());
    }
}
