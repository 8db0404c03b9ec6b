//! What the operator grants the connector: the one server and the login.

use std::net::SocketAddr;

/// The granted settings: `IMAP_SERVER`, `IMAP_USERNAME`, `IMAP_PASSWORD`, `IMAP_FROM`.
#[derive(Clone, PartialEq, Eq)]
pub struct Settings {
    /// The server's `IP:PORT` (an address: the component does no DNS lookups).
    pub server: SocketAddr,
    /// The login name.
    pub username: String,
    /// The password (a registered secret).
    pub password: String,
    /// The `From` of drafts, e.g. `Shop <shop@example.com>` (default: the login name).
    pub from: Option<String>,
}

impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settings")
            .field("server", &self.server)
            .field("username", &self.username)
            .field("password", &"<hidden>")
            .field("from", &self.from)
            .finish()
    }
}

/// The grant that sets the variables, for error messages.
pub const GRANT: &str = "env = [\"IMAP_SERVER=127.0.0.1:143\", \"IMAP_USERNAME=shop\", \
                         \"IMAP_PASSWORD\"] with sockets = { tcp_connect = [\"127.0.0.1:143\"] } \
                         under [tools.imap]";

impl Settings {
    /// From the component's environment (what the policy's env grant gives it).
    pub fn from_env() -> Result<Settings, String> {
        let var = |n: &str| std::env::var(n).ok().filter(|v| !v.trim().is_empty());
        let need = |n: &str| {
            var(n).ok_or_else(|| format!("{n} is not set: grant it in the policy, e.g. {GRANT}"))
        };
        Settings::new(
            &need("IMAP_SERVER")?,
            &need("IMAP_USERNAME")?,
            need("IMAP_PASSWORD")?,
            var("IMAP_FROM"),
        )
    }

    /// Checks and combines the values.
    pub fn new(
        server: &str,
        username: &str,
        password: String,
        from: Option<String>,
    ) -> Result<Settings, String> {
        let server: SocketAddr = server.trim().parse().map_err(|_| {
            format!(
                "IMAP_SERVER `{server}` is not an IP:PORT (e.g. 127.0.0.1:143): the component does \
                 no DNS lookups, so name the server's address"
            )
        })?;
        Ok(Settings {
            server,
            username: username.trim().to_string(),
            password,
            from: from.map(|f| f.trim().to_string()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_server_is_an_address_and_the_password_is_never_shown() {
        let s = Settings::new("127.0.0.1:1143", " shop ", "s3cr3t".into(), None).unwrap();
        assert_eq!((s.server.port(), s.username.as_str()), (1143, "shop"));
        assert!(!format!("{s:?}").contains("s3cr3t"));
        let e = Settings::new("mail.example.com:143", "u", "p".into(), None).unwrap_err();
        assert!(e.contains("no DNS lookups"), "{e}");
    }
}
