//! What the operator grants the connector: the one server, the sender, the login.

use std::net::SocketAddr;

/// The granted settings: `SMTP_SERVER`, `SMTP_FROM`, `SMTP_USERNAME`, `SMTP_PASSWORD`.
#[derive(Clone, PartialEq, Eq)]
pub struct Settings {
    /// The server's `IP:PORT` (an address: the component does no DNS lookups).
    pub server: SocketAddr,
    /// The sender every message goes out as, e.g. `Shop <shop@example.com>`.
    pub from: String,
    /// The login name, if the server wants one.
    pub username: Option<String>,
    /// The password (a registered secret), if the server wants one.
    pub password: Option<String>,
}

impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settings")
            .field("server", &self.server)
            .field("from", &self.from)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "<hidden>"))
            .finish()
    }
}

/// The grant that sets `SMTP_SERVER` and `SMTP_FROM`, for error messages.
const GRANT: &str = "env = [\"SMTP_SERVER=127.0.0.1:587\", \"SMTP_FROM=Shop <shop@example.com>\", \
                     \"SMTP_USERNAME=shop\", \"SMTP_PASSWORD\"] with sockets = { tcp_connect = \
                     [\"127.0.0.1:587\"] } under [tools.smtp]";

impl Settings {
    /// From the component's environment (what the policy's env grant gives it).
    pub fn from_env() -> Result<Settings, String> {
        let var = |n: &str| std::env::var(n).ok().filter(|v| !v.trim().is_empty());
        let server = var("SMTP_SERVER").ok_or_else(|| {
            format!("SMTP_SERVER is not set: grant it in the policy, e.g. {GRANT}")
        })?;
        let from = var("SMTP_FROM")
            .ok_or_else(|| format!("SMTP_FROM is not set: grant it in the policy, e.g. {GRANT}"))?;
        Settings::new(&server, &from, var("SMTP_USERNAME"), var("SMTP_PASSWORD"))
    }

    /// Checks and combines the values.
    pub fn new(
        server: &str,
        from: &str,
        username: Option<String>,
        password: Option<String>,
    ) -> Result<Settings, String> {
        let server: SocketAddr = server.trim().parse().map_err(|_| {
            format!(
                "SMTP_SERVER `{server}` is not an IP:PORT (e.g. 127.0.0.1:587): the component does \
                 no DNS lookups, so name the server's address"
            )
        })?;
        if password.is_some() && username.is_none() {
            return Err("SMTP_PASSWORD is set but SMTP_USERNAME is not: grant both".into());
        }
        Ok(Settings {
            server,
            from: from.trim().to_string(),
            username,
            password,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_server_is_an_address() {
        let s = Settings::new("127.0.0.1:2525", " Shop <shop@example.com> ", None, None).unwrap();
        assert_eq!(s.server.port(), 2525);
        assert_eq!(s.from, "Shop <shop@example.com>");
        let e = Settings::new("mail.example.com:25", "a@b.c", None, None).unwrap_err();
        assert!(e.contains("no DNS lookups"), "{e}");
    }

    #[test]
    fn a_password_needs_a_user_and_is_never_shown() {
        let e = Settings::new("127.0.0.1:25", "a@b.c", None, Some("pw".into())).unwrap_err();
        assert!(e.contains("SMTP_USERNAME"), "{e}");
        let s = Settings::new(
            "127.0.0.1:25",
            "a@b.c",
            Some("u".into()),
            Some("s3cr3t".into()),
        )
        .unwrap();
        assert!(!format!("{s:?}").contains("s3cr3t"));
    }
}
