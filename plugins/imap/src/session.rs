//! One IMAP session over one `std::net` connection (on wasm32-wasip2: `wasi:sockets`): the
//! greeting, `LOGIN`, tagged commands with their strings quoted or sent as literals, the
//! untagged answers collected until the command's tagged completion, `LOGOUT`. Plain IMAP: no
//! STARTTLS.

use crate::wire::{self, Value};
use std::io::{BufReader, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

/// The most one answer may hold (a bounded fetch stays far below it).
pub const MAX_RESPONSE: usize = 8 << 20;

/// Why a command failed.
#[derive(Debug, thiserror::Error)]
pub enum ImapError {
    /// No connection.
    #[error("cannot connect: {0}")]
    Connect(std::io::Error),
    /// The connection broke.
    #[error("the connection failed: {0}")]
    Io(#[from] std::io::Error),
    /// The server refused the user name and password.
    #[error("the server refused the login of `{user}`: {text}")]
    Login {
        /// The user name (never the password).
        user: String,
        /// The server's reason.
        text: String,
    },
    /// The server refuses plain-text logins (it wants TLS, which this connector does not speak).
    #[error("the server refuses plain-text logins (LOGINDISABLED): it wants TLS, which this connector does not speak")]
    LoginDisabled,
    /// A command ended in `NO` or `BAD`.
    #[error("{command}: the server answered {status} {text}")]
    Refused {
        /// The command, as shown (never a password).
        command: String,
        /// `NO` or `BAD`.
        status: String,
        /// The server's text, with its response code.
        text: String,
    },
    /// The server ended the session.
    #[error("the server closed the session: {0}")]
    Bye(String),
    /// Not an IMAP answer.
    #[error("{0}")]
    Garbled(#[from] wire::WireError),
}

/// A piece of a command line.
pub enum Arg<'a> {
    /// Sent as it is: an atom, a number, a sequence set, a parenthesized list.
    Raw(&'a str),
    /// A string: quoted when it is short plain ASCII, else a literal.
    Str(&'a [u8]),
}

/// What a completed command answered.
#[derive(Debug, Default)]
pub struct Done {
    /// The untagged answers (each without its `* `).
    pub untagged: Vec<Vec<u8>>,
    /// The completion's text, with its response code, e.g. `[APPENDUID 5 3] Append completed.`
    pub text: String,
}

impl Done {
    /// The untagged answers whose second value (after a number) or first is `kind`, parsed.
    pub fn answers(&self, kind: &str) -> Result<Vec<Vec<Value>>, ImapError> {
        let mut out = Vec::new();
        for raw in &self.untagged {
            let v = wire::values(raw)?;
            let first = v.first().is_some_and(|x| x.is_atom(kind));
            let second = v.get(1).is_some_and(|x| x.is_atom(kind));
            if first || second {
                out.push(v);
            }
        }
        Ok(out)
    }

    /// The response code of the completion or of an untagged `OK` that starts with `name`
    /// (e.g. `APPENDUID`, `COPYUID`), split into words.
    pub fn code(&self, name: &str) -> Option<Vec<String>> {
        let texts = std::iter::once(self.text.as_str()).chain(
            self.untagged
                .iter()
                .filter_map(|u| std::str::from_utf8(u).ok())
                .filter_map(|u| u.strip_prefix("OK ")),
        );
        for t in texts {
            let inner = t.strip_prefix('[').and_then(|t| t.split_once(']'));
            if let Some((code, _)) = inner {
                let words: Vec<String> = code.split_whitespace().map(str::to_string).collect();
                if words.first().is_some_and(|w| w.eq_ignore_ascii_case(name)) {
                    return Some(words);
                }
            }
        }
        None
    }
}

/// An open, logged-in session.
pub struct Session {
    reader: BufReader<TcpStream>,
    next_tag: u32,
    /// The server's capabilities (upper-case).
    pub capabilities: Vec<String>,
}

impl Session {
    /// Connects, reads the greeting and logs in.
    pub fn open(server: SocketAddr, user: &str, password: &str) -> Result<Session, ImapError> {
        let stream = TcpStream::connect(server).map_err(ImapError::Connect)?;
        let _ = stream.set_read_timeout(Some(Duration::from_secs(60)));
        let mut s = Session {
            reader: BufReader::new(stream),
            next_tag: 1,
            capabilities: Vec::new(),
        };
        let greeting = s.read()?;
        let text = String::from_utf8_lossy(&greeting).into_owned();
        match text.split_once(' ') {
            Some(("*", rest))
                if starts_with_word(rest, "OK") || starts_with_word(rest, "PREAUTH") =>
            {
                s.note_capabilities(rest.split_once(' ').map_or("", |(_, t)| t))
            }
            Some(("*", rest)) if starts_with_word(rest, "BYE") => {
                return Err(ImapError::Bye(rest.to_string()))
            }
            _ => return Err(garbled(&text)),
        }
        if s.capabilities.is_empty() {
            let done = s.run(&[Arg::Raw("CAPABILITY")], "CAPABILITY")?;
            for c in done.answers("CAPABILITY")? {
                s.capabilities = c[1..].iter().filter_map(Value::text).map(upper).collect();
            }
        }
        if s.has("LOGINDISABLED") {
            return Err(ImapError::LoginDisabled);
        }
        match s.run(
            &[
                Arg::Raw("LOGIN"),
                Arg::Str(user.as_bytes()),
                Arg::Str(password.as_bytes()),
            ],
            "LOGIN",
        ) {
            Ok(done) => {
                // The capabilities after login may be more than before it.
                s.note_capabilities(&done.text);
                Ok(s)
            }
            Err(ImapError::Refused { text, .. }) => Err(ImapError::Login {
                user: user.to_string(),
                text,
            }),
            Err(e) => Err(e),
        }
    }

    /// Whether the server has a capability (upper-case name).
    pub fn has(&self, capability: &str) -> bool {
        self.capabilities.iter().any(|c| c == capability)
    }

    /// Takes the capabilities from a `[CAPABILITY …]` code at the start of `text`, if any.
    fn note_capabilities(&mut self, text: &str) {
        if let Some((code, _)) = text
            .trim_start()
            .strip_prefix('[')
            .and_then(|t| t.split_once(']'))
        {
            let mut words = code.split_whitespace();
            if words
                .next()
                .is_some_and(|w| w.eq_ignore_ascii_case("CAPABILITY"))
            {
                self.capabilities = words.map(upper).collect();
            }
        }
    }

    fn read(&mut self) -> Result<Vec<u8>, ImapError> {
        let r = wire::read_response(&mut self.reader, MAX_RESPONSE)?;
        if r.is_empty() {
            return Err(ImapError::Bye("the connection ended".into()));
        }
        Ok(r)
    }

    /// Runs one command (`shown` names it in errors) and collects its answers; `NO` or `BAD` is
    /// an error.
    pub fn run(&mut self, args: &[Arg<'_>], shown: &str) -> Result<Done, ImapError> {
        let tag = format!("a{}", self.next_tag);
        self.next_tag += 1;
        let plus = self.has("LITERAL+");
        let mut done = Done::default();
        let mut line = tag.clone().into_bytes();
        for arg in args {
            line.push(b' ');
            match arg {
                Arg::Raw(r) => line.extend_from_slice(r.as_bytes()),
                Arg::Str(s) => match wire::quoted(s) {
                    Some(q) => line.extend_from_slice(q.as_bytes()),
                    None if plus => {
                        line.extend_from_slice(format!("{{{}+}}\r\n", s.len()).as_bytes());
                        line.extend_from_slice(s);
                    }
                    None => {
                        line.extend_from_slice(format!("{{{}}}\r\n", s.len()).as_bytes());
                        self.write(&line)?;
                        line.clear();
                        self.await_continuation(&tag, shown, &mut done)?;
                        line.extend_from_slice(s);
                    }
                },
            }
        }
        line.extend_from_slice(b"\r\n");
        self.write(&line)?;
        self.complete(&tag, shown, done)
    }

    fn write(&mut self, bytes: &[u8]) -> Result<(), ImapError> {
        // One write per piece: a command and its CRLF in two segments would wait for the
        // server's delayed ACK of the first.
        let stream = self.reader.get_mut();
        stream.write_all(bytes)?;
        stream.flush()?;
        Ok(())
    }

    fn await_continuation(
        &mut self,
        tag: &str,
        shown: &str,
        done: &mut Done,
    ) -> Result<(), ImapError> {
        loop {
            let r = self.read()?;
            if r.starts_with(b"+") {
                return Ok(());
            }
            if let Some(u) = r.strip_prefix(b"* ") {
                done.untagged.push(u.to_vec());
                continue;
            }
            // A tagged answer instead of the go-ahead: the server refused the command.
            let text = String::from_utf8_lossy(&r).into_owned();
            return Err(completion(tag, shown, &text)
                .err()
                .unwrap_or_else(|| garbled(&text)));
        }
    }

    fn complete(&mut self, tag: &str, shown: &str, mut done: Done) -> Result<Done, ImapError> {
        loop {
            let r = self.read()?;
            if let Some(u) = r.strip_prefix(b"* ") {
                if starts_with_word(&String::from_utf8_lossy(u), "BYE") && shown != "LOGOUT" {
                    return Err(ImapError::Bye(
                        String::from_utf8_lossy(&u[3..]).trim().into(),
                    ));
                }
                done.untagged.push(u.to_vec());
                continue;
            }
            if r.starts_with(b"+") {
                continue;
            }
            let text = String::from_utf8_lossy(&r).into_owned();
            if text.starts_with(&format!("{tag} ")) {
                done.text = completion(tag, shown, &text)?;
                return Ok(done);
            }
            return Err(garbled(&text));
        }
    }

    /// Ends the session politely (errors ignored: the work is done).
    pub fn logout(mut self) {
        let _ = self.run(&[Arg::Raw("LOGOUT")], "LOGOUT");
    }
}

/// The text of an `OK` completion, or the refusal a `NO` or `BAD` completion is.
fn completion(tag: &str, shown: &str, line: &str) -> Result<String, ImapError> {
    let rest = line.strip_prefix(tag).unwrap_or(line).trim_start();
    let (status, text) = rest.split_once(' ').unwrap_or((rest, ""));
    let status = status.to_ascii_uppercase();
    if status == "OK" {
        return Ok(text.to_string());
    }
    if status == "NO" || status == "BAD" {
        return Err(ImapError::Refused {
            command: shown.to_string(),
            status,
            text: text.to_string(),
        });
    }
    Err(garbled(line))
}

fn garbled(text: &str) -> ImapError {
    ImapError::Garbled(wire::WireError {
        at: 0,
        near: text.chars().take(80).collect(),
    })
}

fn starts_with_word(text: &str, word: &str) -> bool {
    text.split(' ')
        .next()
        .is_some_and(|w| w.eq_ignore_ascii_case(word))
}

fn upper(s: impl AsRef<str>) -> String {
    s.as_ref().to_ascii_uppercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn completions_are_ok_or_refusals() {
        assert_eq!(
            completion("a3", "X", "a3 OK [APPENDUID 1 9] done").unwrap(),
            "[APPENDUID 1 9] done"
        );
        let e = completion(
            "a1",
            "LOGIN",
            "a1 NO [AUTHENTICATIONFAILED] Authentication failed.",
        )
        .unwrap_err();
        assert!(matches!(&e, ImapError::Refused { status, .. } if status == "NO"));
        assert_eq!(
            e.to_string(),
            "LOGIN: the server answered NO [AUTHENTICATIONFAILED] Authentication failed."
        );
    }

    #[test]
    fn finds_response_codes() {
        let done = Done {
            untagged: vec![
                b"OK [COPYUID 7 1:2 5:6] Moved".to_vec(),
                b"2 EXPUNGE".to_vec(),
            ],
            text: "Done".into(),
        };
        assert_eq!(
            done.code("copyuid").unwrap(),
            ["COPYUID", "7", "1:2", "5:6"]
        );
        assert!(done.code("APPENDUID").is_none());
        assert_eq!(done.answers("EXPUNGE").unwrap().len(), 1);
    }
}
