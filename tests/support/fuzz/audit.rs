//! The audit verifier (and the reader and the writer's tail recovery) on mutated logs: byte
//! flips, cuts, swapped, duplicated, deleted and inserted lines, edited fields, a damaged
//! anchor. Any change to the log's bytes must be reported as a problem.

use super::mutate;
use super::runner::{Target, Verdict};
use arbitrary::{Result, Unstructured};
use serde_json::{json, Value};
use spud::audit::{anchor_path, read_all, tail, verify, AuditLog, Durability, Event, Payload};
use std::path::PathBuf;

/// Odd numbers for seq and size fields.
const NUMBERS: &[u64] = &[0, 1, 2, 7, u64::MAX, u64::MAX - 1, i64::MAX as u64 + 1];

fn events() -> Vec<Event> {
    vec![
        Event::registry("add", "fs", &"ab".repeat(32)),
        Event::access("alice", "serve_start", "stdio"),
        Event::capability(
            "c1",
            "fs.read",
            "d",
            "file",
            "/data/a.txt (read)",
            true,
            "files",
        ),
        Event::capability("c1", "fs.read", "d", "http", "GET https://x", false, ""),
        Event::cache_rebuilt("fs", "d", "bad_mac"),
        Event::call(spud::audit::CallEvent {
            call_id: "c1".into(),
            tool: "fs.read".into(),
            digest: "d".into(),
            principal: "cli".into(),
            policy_sha256: spud::policy::DENY_ALL_DIGEST.into(),
            outcome: "ok".into(),
            message: None,
            bytes_in: 3,
            bytes_out: 4,
            fuel_used: 5,
            duration_us: 6,
            args: Payload::with_raw(json!({"path": "/data/é\"\\\u{1}", "n": 1.5e300})),
            result: Payload::digest_of(b"null"),
        }),
    ]
}

/// `spud_audit::verify`, `read_all`, `tail`, and `AuditLog::open` (tail recovery).
pub struct AuditTarget {
    dir: tempfile::TempDir,
    log: Vec<u8>,
    anchor: Vec<u8>,
}

impl AuditTarget {
    /// A target whose seed is a real log of a dozen records and its anchor.
    pub fn new() -> std::io::Result<AuditTarget> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("seed.jsonl");
        {
            let log = AuditLog::open(&path, Durability::Process).map_err(std::io::Error::other)?;
            log.append_many(events()).map_err(std::io::Error::other)?;
            log.append_many(events()).map_err(std::io::Error::other)?;
            log.flush().map_err(std::io::Error::other)?;
        }
        Ok(AuditTarget {
            log: std::fs::read(&path)?,
            anchor: std::fs::read(anchor_path(&path))?,
            dir,
        })
    }

    fn fresh_path(&self) -> PathBuf {
        let case = self.dir.path().join("case");
        let _ = std::fs::remove_dir_all(&case);
        let _ = std::fs::create_dir_all(&case);
        case.join("audit.jsonl")
    }
}

fn split(bytes: &[u8]) -> Vec<Vec<u8>> {
    bytes
        .split_inclusive(|b| *b == b'\n')
        .map(<[u8]>::to_vec)
        .collect()
}

/// Sets one field of one record's JSON to an odd value, keeping the rest.
fn edit_field(u: &mut Unstructured<'_>, line: &[u8]) -> Result<Vec<u8>> {
    let Ok(mut v) = serde_json::from_slice::<Value>(line) else {
        return Ok(line.to_vec());
    };
    let field = *u.choose(&["seq", "prev", "hash", "time", "event"])?;
    let new = match field {
        "seq" => json!(*u.choose(NUMBERS)?),
        "prev" | "hash" => {
            json!(u.choose(&["0".repeat(64), "F".repeat(64), "zz".into(), String::new()])?)
        }
        _ => mutate::json(u, 2)?,
    };
    let Some(record) = v.as_object_mut() else {
        return Ok(line.to_vec());
    };
    record.insert(field.to_string(), new);
    let mut out = serde_json::to_vec(&v).unwrap_or_default();
    out.push(b'\n');
    Ok(out)
}

fn mutate_log(u: &mut Unstructured<'_>, log: &[u8]) -> Result<Vec<u8>> {
    let mut lines = split(log);
    for _ in 0..u.int_in_range(1..=3)? {
        let n = lines.len();
        if n == 0 {
            break;
        }
        let (a, b) = (u.int_in_range(0..=n - 1)?, u.int_in_range(0..=n - 1)?);
        match u.int_in_range(0..=6)? {
            0 => lines.swap(a, b),
            1 => {
                let copy = lines[a].clone();
                lines.insert(b, copy);
            }
            2 if n > 1 => {
                lines.remove(a);
            }
            3 => lines[a] = edit_field(u, &lines[a])?,
            4 => lines.insert(a, mutate::json(u, 3)?.to_string().into_bytes()),
            _ => {
                let mut bytes = lines.concat();
                mutate::mutate_once(u, &mut bytes, &["\n", "\"seq\":", "{", "}", "\\u0000"])?;
                lines = split(&bytes);
            }
        }
    }
    Ok(lines.concat())
}

impl Target for AuditTarget {
    fn name(&self) -> &'static str {
        "audit"
    }

    fn case(&mut self, u: &mut Unstructured<'_>) -> Result<Verdict> {
        let log = mutate_log(u, &self.log)?;
        let anchor = match u.int_in_range(0..=5)? {
            0 => None,
            1 => Some(
                json!({"seq": *u.choose(NUMBERS)?, "hash": "0".repeat(64)})
                    .to_string()
                    .into_bytes(),
            ),
            _ => Some(self.anchor.clone()),
        };
        let path = self.fresh_path();
        let _ = std::fs::write(&path, &log);
        if let Some(a) = &anchor {
            let _ = std::fs::write(anchor_path(&path), a);
        }
        let verdict = match verify(&path) {
            Err(e) => {
                let _ = e.to_string();
                Verdict::Rejected
            }
            Ok(report) => {
                let _: Vec<String> = report.problems.iter().map(|p| p.to_string()).collect();
                let changed = log != self.log;
                match (
                    changed,
                    anchor.as_ref() == Some(&self.anchor),
                    report.problems.is_empty(),
                ) {
                    (true, true, true) => Verdict::Violation(format!(
                        "a changed log verified intact: {:?}",
                        String::from_utf8_lossy(&log)
                    )),
                    (_, _, true) => Verdict::Accepted,
                    _ => Verdict::Rejected,
                }
            }
        };
        let _ = read_all(&path);
        let _ = tail(&path, 3);
        if let Ok(reopened) = AuditLog::open(&path, Durability::Process) {
            let _ = reopened.append(Event::access("fuzz", "serve_stop", ""));
        }
        let _ = verify(&path);
        Ok(verdict)
    }
}
