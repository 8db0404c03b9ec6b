//! What a component asks for: its manifest ([`spud_manifest::Manifest`], the format the SDK
//! writes), embedded by the SDK (JSON) or in a sidecar file next to the `.wasm`
//! (`NAME.spud.toml`) for components built without it. The host reads it into a [`Manifest`]:
//! the same data, checked (absolute guest paths, network and socket patterns that parse, tool
//! names); [`asked`] turns its requests into the capability types.

use crate::caps::{Asked, Caps, Dir, EnvGrant, NotGranted, Sockets};
use crate::located::Located;
use crate::network::{NetPattern, SocketPattern};
use serde::{Deserialize, Serialize};
use spud_manifest::Requests;

/// A manifest that cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    /// Sidecar TOML did not parse or has a bad value; names file, line and column.
    #[error(transparent)]
    Toml(#[from] Located),
    /// The JSON a component returned from `manifest()` did not parse.
    #[error("the component's embedded manifest is invalid: {0}")]
    Json(#[from] serde_json::Error),
    /// A field has a value the host cannot accept.
    #[error("manifest: {0}")]
    Invalid(String),
}

/// A manifest the host has checked. It reads as the shared [`spud_manifest::Manifest`]
/// (through `Deref`); only [`Manifest::from_json`], [`Manifest::from_toml`] and
/// deserialization (which checks too) make one.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "spud_manifest::Manifest", into = "spud_manifest::Manifest")]
pub struct Manifest(spud_manifest::Manifest);

impl std::ops::Deref for Manifest {
    type Target = spud_manifest::Manifest;

    fn deref(&self) -> &spud_manifest::Manifest {
        &self.0
    }
}

impl From<Manifest> for spud_manifest::Manifest {
    fn from(m: Manifest) -> spud_manifest::Manifest {
        m.0
    }
}

impl TryFrom<spud_manifest::Manifest> for Manifest {
    type Error = ManifestError;

    fn try_from(m: spud_manifest::Manifest) -> Result<Manifest, ManifestError> {
        match check(&m) {
            Ok(()) => Ok(Manifest(m)),
            Err(bad) => Err(ManifestError::Invalid(format!(
                "{}: {}",
                bad.path(),
                bad.message
            ))),
        }
    }
}

impl Manifest {
    /// Parses a sidecar manifest; `file` is used in error messages.
    pub fn from_toml(src: &str, file: &str) -> Result<Manifest, ManifestError> {
        let m: spud_manifest::Manifest =
            toml::from_str(src).map_err(|e| ManifestError::Toml(Located::toml(src, file, &e)))?;
        match check(&m) {
            Ok(()) => Ok(Manifest(m)),
            Err(bad) => {
                let offset = toml_offset(src, &bad.at).unwrap_or(0);
                let message = format!("{}: {}", bad.path(), bad.message);
                Err(ManifestError::Toml(Located::at(src, file, offset, message)))
            }
        }
    }

    /// Parses the JSON an SDK component returns from `manifest()`.
    pub fn from_json(src: &str) -> Result<Manifest, ManifestError> {
        let m: spud_manifest::Manifest = serde_json::from_str(src)?;
        Manifest::try_from(m)
    }

    /// The shared manifest.
    pub fn into_inner(self) -> spud_manifest::Manifest {
        self.0
    }
}

/// One step of the way to a value in the document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    Key(&'static str),
    Index(usize),
}

/// A value the host cannot accept, where it is and why.
#[derive(Debug)]
struct Bad {
    at: Vec<Step>,
    message: String,
}

impl Bad {
    /// `requests.network[1]`.
    fn path(&self) -> String {
        let mut out = String::new();
        for step in &self.at {
            match step {
                Step::Key(k) if out.is_empty() => out.push_str(k),
                Step::Key(k) => out.push_str(&format!(".{k}")),
                Step::Index(i) => out.push_str(&format!("[{i}]")),
            }
        }
        out
    }
}

fn check(m: &spud_manifest::Manifest) -> Result<(), Bad> {
    use Step::{Index, Key};
    let bad = |at: Vec<Step>, message: String| Err(Bad { at, message });
    let r = &m.requests;
    for (i, f) in r.files.iter().enumerate() {
        if !f.guest.starts_with('/') || f.guest.split('/').any(|c| c == "..") {
            let message = format!(
                "guest path `{}` must be absolute and must not contain `..`",
                f.guest
            );
            return bad(
                vec![Key("requests"), Key("files"), Index(i), Key("guest")],
                message,
            );
        }
    }
    for (i, p) in r.network.iter().enumerate() {
        if let Err(e) = p.parse::<NetPattern>() {
            return bad(
                vec![Key("requests"), Key("network"), Index(i)],
                e.to_string(),
            );
        }
    }
    for (i, p) in r.sockets.tcp_connect.iter().enumerate() {
        if let Err(e) = p.parse::<SocketPattern>() {
            let at = vec![
                Key("requests"),
                Key("sockets"),
                Key("tcp_connect"),
                Index(i),
            ];
            return bad(at, e.to_string());
        }
    }
    for (i, t) in m.tools.iter().enumerate() {
        if t.name.is_empty() || t.name.contains('.') {
            let message = format!(
                "tool name `{}` must be non-empty and contain no `.`",
                t.name
            );
            return bad(vec![Key("tools"), Index(i), Key("name")], message);
        }
    }
    Ok(())
}

/// The byte offset of the value at `at` in the TOML text `src`.
fn toml_offset(src: &str, at: &[Step]) -> Option<usize> {
    use toml_edit::{Item, Table, Value};
    enum Node<'a> {
        Item(&'a Item),
        Value(&'a Value),
        Table(&'a Table),
    }
    let doc = toml_edit::ImDocument::parse(src).ok()?;
    let mut node = Node::Table(doc.as_table());
    for step in at {
        node = match (step, node) {
            (Step::Key(k), Node::Table(t)) => Node::Item(t.get(k)?),
            (Step::Key(k), Node::Item(i)) => Node::Item(i.as_table_like()?.get(k)?),
            (Step::Key(k), Node::Value(v)) => Node::Value(v.as_inline_table()?.get(k)?),
            (Step::Index(n), Node::Item(Item::ArrayOfTables(a))) => Node::Table(a.get(*n)?),
            (Step::Index(n), Node::Item(i)) => Node::Value(i.as_array()?.get(*n)?),
            (Step::Index(n), Node::Value(v)) => Node::Value(v.as_array()?.get(*n)?),
            (Step::Index(_), Node::Table(_)) => return None,
        };
    }
    let span = match node {
        Node::Item(i) => i.span(),
        Node::Value(v) => v.span(),
        Node::Table(t) => t.span(),
    };
    span.map(|s| s.start)
}

/// `requests` as capabilities: directories by guest path (a trailing `/` dropped), variables
/// to be supplied by the side they meet. Patterns that do not parse are returned as not
/// granted (a checked [`Manifest`] has none).
pub fn asked(requests: &Requests) -> (Asked, Vec<NotGranted>) {
    let mut bad = Vec::new();
    let files = requests
        .files
        .iter()
        .map(|f| Dir::unmounted(f.guest.trim_end_matches('/'), f.access))
        .collect();
    let network = parse_all(&requests.network, &mut bad, |p| NotGranted::Network {
        pattern: p,
    });
    let tcp_connect = parse_all(&requests.sockets.tcp_connect, &mut bad, |p| {
        NotGranted::TcpConnect { pattern: p }
    });
    let caps = Caps {
        files,
        network,
        env: requests.env.iter().cloned().map(EnvGrant::Pass).collect(),
        sockets: Sockets {
            tcp_connect,
            dns: requests.sockets.dns,
        },
        limits: requests.limits,
        payloads: (),
        browser: requests.browser,
        browser_limits: crate::browser::BrowserLimits::NONE,
        // A browser tool uses whichever profile the operator grants, if any.
        browser_profile: requests.browser.then_some(crate::Unmounted),
    };
    (caps, bad)
}

/// Each of `texts` parsed; those that do not parse are reported.
pub(crate) fn parse_all<T: std::str::FromStr>(
    texts: &[String],
    report: &mut Vec<NotGranted>,
    not_granted: impl Fn(String) -> NotGranted,
) -> Vec<T> {
    let mut out = Vec::new();
    for text in texts {
        match text.parse() {
            Ok(p) => out.push(p),
            Err(_) => report.push(not_granted(text.clone())),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use spud_manifest::Access;

    #[test]
    fn sidecar_errors_have_line_and_column() {
        let src = "name = \"x\"\n[requests]\nnetwork = [\"ftp://nope\"]\n";
        let e = Manifest::from_toml(src, "x.spud.toml")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("x.spud.toml:3:"), "{e}");
        assert!(e.contains("ftp"), "{e}");
    }

    #[test]
    fn sidecar_values_are_located_wherever_they_are() {
        let at = |src: &str| Manifest::from_toml(src, "m").unwrap_err().to_string();
        let e = at("[requests]\nfiles = [{ guest = \"/a\", access = \"read-only\" },\n { guest = \"b\", access = \"read-only\" }]\n");
        assert!(e.starts_with("m:3:12: requests.files[1].guest:"), "{e}");
        let e = at("[requests.sockets]\ntcp_connect = [\"db:1\"]\n");
        assert!(
            e.starts_with("m:2:16: requests.sockets.tcp_connect[0]:"),
            "{e}"
        );
        let e = at("[[tools]]\nname = \"a.b\"\n");
        assert!(e.starts_with("m:2:8: tools[0].name:"), "{e}");
    }

    #[test]
    fn sdk_json_parses() {
        let m = Manifest::from_json(
            r#"{"spud_manifest":1,"name":"fs","requests":{"files":[{"guest":"/data","access":"read-write"}],
               "limits":{"fuel":5}},"tools":[{"name":"read","description":"d","input_schema":{}}]}"#,
        )
        .unwrap();
        assert_eq!(m.requests.files[0].access, Access::ReadWrite);
        assert_eq!(m.tools[0].name, "read");
        assert!(Manifest::from_json(
            r#"{"requests":{"files":[{"guest":"data","access":"read-only"}]}}"#
        )
        .is_err());
    }

    #[test]
    fn deserializing_checks_too() {
        let bad = r#"{"requests":{"network":["gopher://x"]},"tools":[]}"#;
        assert!(serde_json::from_str::<Manifest>(bad).is_err());
        let good = r#"{"requests":{"network":["https://x.org"]},"tools":[]}"#;
        let m: Manifest = serde_json::from_str(good).unwrap();
        assert_eq!(serde_json::to_string(&m).unwrap(), good);
    }

    #[test]
    fn requests_become_capabilities() {
        let r = Requests::new()
            .file("/data/", Access::ReadOnly, "")
            .network("https://a.org")
            .network("nope")
            .env("LANG")
            .tcp_connect("127.0.0.1:5")
            .dns();
        let (caps, bad) = asked(&r);
        assert_eq!(caps.files, [Dir::unmounted("/data", Access::ReadOnly)]);
        assert_eq!(caps.network[0].to_string(), "https://a.org");
        assert_eq!(caps.env, [EnvGrant::Pass("LANG".into())]);
        assert_eq!(caps.sockets.tcp_connect[0].to_string(), "127.0.0.1:5");
        assert!(caps.sockets.dns);
        assert_eq!(
            bad,
            [NotGranted::Network {
                pattern: "nope".into()
            }]
        );
    }
}
