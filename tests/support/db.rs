//! The database servers the socket connectors' tests and benchmark start on 127.0.0.1: a real
//! `redis-server` and a real PostgreSQL cluster, each on a free port, each with its native client
//! (`redis-cli`, `psql`) for checking the end state and for comparison.

use std::process::{Child, Command, Stdio};

/// A binary the connector tests need, or `None` outside CI when it is missing (in CI a missing
/// server fails the test): `scripts/setup-connectors.sh` installs them.
pub fn server_binary(name: &str) -> Option<std::path::PathBuf> {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join(name))
            .find(|p| p.is_file())
    });
    if found.is_none() {
        let msg = format!(
            "{name} is missing: run scripts/setup-connectors.sh (scripts/setup-tests.sh does)"
        );
        assert!(std::env::var("CI").as_deref() != Ok("true"), "{msg}");
        eprintln!("skipped: {msg}");
    }
    found
}

/// A free TCP port on 127.0.0.1 (bound and released: a server started right after gets it).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port on 127.0.0.1")
}

/// A real `redis-server` on 127.0.0.1, in memory only, with a password; killed when dropped.
pub struct Redis {
    child: Child,
    /// Where it listens.
    pub port: u16,
    /// The password it requires.
    pub password: &'static str,
}

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Redis {
    /// Starts it on a free port, or `None` outside CI when `redis-server` is missing.
    pub fn start() -> Option<Redis> {
        let bin = server_binary("redis-server")?;
        let port = free_port();
        let password = "redis-pw-3e2d1c0b";
        let child = Command::new(bin)
            .args([
                "--port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
            ])
            .args([
                "--appendonly",
                "no",
                "--requirepass",
                password,
                "--daemonize",
                "no",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start redis-server");
        let redis = Redis {
            child,
            port,
            password,
        };
        for _ in 0..100 {
            if redis.cli(&["PING"]).is_ok_and(|r| r == "PONG") {
                return Some(redis);
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        panic!("redis-server did not start on {port}");
    }

    /// Runs one command with `redis-cli` (the native client) and returns its output, trimmed.
    pub fn cli(&self, args: &[&str]) -> std::io::Result<String> {
        let out = Command::new("redis-cli")
            .args([
                "-h",
                "127.0.0.1",
                "-p",
                &self.port.to_string(),
                "--no-auth-warning",
            ])
            .args(["-a", self.password])
            .args(args)
            .output()?;
        if !out.status.success() {
            return Err(std::io::Error::other(
                String::from_utf8_lossy(&out.stderr).into_owned(),
            ));
        }
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
    }
}

/// `initdb`, `pg_ctl` or `psql`: on the PATH, else in Debian's `/usr/lib/postgresql/*/bin`.
pub fn postgres_binary(name: &str) -> Option<std::path::PathBuf> {
    let on_path = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join(name))
            .find(|p| p.is_file())
    });
    let debian = || {
        let mut found: Vec<std::path::PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
            .ok()?
            .flatten()
            .map(|e| e.path().join("bin").join(name))
            .filter(|p| p.is_file())
            .collect();
        found.sort();
        found.pop()
    };
    let found = on_path.or_else(debian);
    if found.is_none() {
        let msg = format!("{name} (PostgreSQL) is missing: run scripts/setup-connectors.sh (scripts/setup-tests.sh does)");
        assert!(std::env::var("CI").as_deref() != Ok("true"), "{msg}");
        eprintln!("skipped: {msg}");
    }
    found
}

/// A real PostgreSQL server on 127.0.0.1, its cluster in a temporary folder (`initdb`, then
/// `pg_ctl start` on a free port, SCRAM passwords); stopped and removed when dropped. As root
/// it runs as the `postgres` user, since PostgreSQL refuses to run as root.
pub struct Postgres {
    dir: tempfile::TempDir,
    pg_ctl: std::path::PathBuf,
    psql: std::path::PathBuf,
    /// Where it listens.
    pub port: u16,
    /// The role that owns the database `shop` (a superuser).
    pub user: &'static str,
    /// Its password.
    pub password: &'static str,
}

/// `cmd`, run as the `postgres` user when we are root (with `runuser`).
fn as_postgres_user(program: &std::path::Path) -> Command {
    let root =
        std::fs::metadata("/proc/self").map(|m| std::os::unix::fs::MetadataExt::uid(&m) == 0);
    if root.unwrap_or(false) {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(program);
        c
    } else {
        Command::new(program)
    }
}

impl Postgres {
    /// Creates the cluster and starts it, or `None` outside CI when PostgreSQL is missing.
    pub fn start() -> Option<Postgres> {
        let (initdb, pg_ctl, psql) = (
            postgres_binary("initdb")?,
            postgres_binary("pg_ctl")?,
            postgres_binary("psql")?,
        );
        let dir = tempfile::Builder::new()
            .prefix("spud-pg")
            .tempdir()
            .expect("tempdir");
        let (user, password) = ("shop", "pg-pw-8b7a6c5d");
        std::fs::write(dir.path().join("pw"), password).expect("password file");
        let chown = Command::new("chown")
            .args(["-R", "postgres:postgres"])
            .arg(dir.path())
            .status();
        let _ = chown; // not root: the folder is ours already
        let data = dir.path().join("data");
        let ok = as_postgres_user(&initdb)
            .args(["-D"])
            .arg(&data)
            .args(["-U", user, "--auth=scram-sha-256", "--pwfile"])
            .arg(dir.path().join("pw"))
            .args(["-E", "UTF8", "--locale=C.UTF-8", "--no-sync"])
            .stdout(Stdio::null())
            .status()
            .expect("run initdb");
        assert!(ok.success(), "initdb failed");
        let port = free_port();
        let opts = format!(
            "-c listen_addresses=127.0.0.1 -p {port} -k {} -c fsync=off",
            dir.path().display()
        );
        let ok = as_postgres_user(&pg_ctl)
            .args(["-D"])
            .arg(&data)
            .args(["-o", &opts, "-w", "-l"])
            .arg(dir.path().join("log"))
            .arg("start")
            .stdout(Stdio::null())
            .status()
            .expect("run pg_ctl");
        let pg = Postgres {
            dir,
            pg_ctl,
            psql,
            port,
            user,
            password,
        };
        assert!(ok.success(), "pg_ctl start failed: {}", pg.log());
        pg.psql("postgres", "CREATE DATABASE shop OWNER shop")
            .expect("create database");
        Some(pg)
    }

    /// The server's log, for failures.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("log")).unwrap_or_default()
    }

    /// Runs SQL with `psql` (the native client) against `database`; its unaligned output.
    pub fn psql(&self, database: &str, sql: &str) -> std::io::Result<String> {
        let out = Command::new(&self.psql)
            .args([
                "-h",
                "127.0.0.1",
                "-p",
                &self.port.to_string(),
                "-U",
                self.user,
            ])
            .args([
                "-d",
                database,
                "-v",
                "ON_ERROR_STOP=1",
                "-A",
                "-t",
                "-q",
                "-c",
                sql,
            ])
            .env("PGPASSWORD", self.password)
            .output()?;
        if !out.status.success() {
            return Err(std::io::Error::other(
                String::from_utf8_lossy(&out.stderr).into_owned(),
            ));
        }
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        let _ = as_postgres_user(&self.pg_ctl)
            .args(["-D"])
            .arg(self.dir.path().join("data"))
            .args(["-m", "immediate", "stop"])
            .stdout(Stdio::null())
            .status();
    }
}
