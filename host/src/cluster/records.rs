//! Audit records on the cluster: each worker ships the records its own hash-chained log gained
//! to the replicated stream `SPUD_AUDIT` (subject `spud.audit.<worker>`, message id
//! `<worker>:<seq>`, so a record shipped twice is stored once) before it acks a task;
//! [`verify_cluster`] reads the stream back, groups it by worker and verifies each chain.

use super::error::ClusterError;
use super::setup::Cluster;
use async_nats::jetstream::message::PublishMessage;
use std::collections::BTreeMap;
use std::io::{Read, Seek, SeekFrom};
use std::path::PathBuf;

/// Ships one worker's audit log, from where it left off.
#[derive(Debug)]
pub struct Shipper {
    path: PathBuf,
    worker: String,
    offset: u64,
}

impl Shipper {
    /// A shipper of the log at `path` for `worker`, from the log's first record (records
    /// the stream already holds are dropped as duplicates).
    pub fn new(path: PathBuf, worker: &str) -> Shipper {
        Shipper {
            path,
            worker: worker.to_string(),
            offset: 0,
        }
    }

    /// Publishes every whole record appended since the last call and returns once JetStream
    /// has stored each; returns how many were shipped.
    pub async fn ship(&mut self, cluster: &Cluster) -> Result<usize, ClusterError> {
        let text = self.unread()?;
        let Some(end) = text.rfind('\n') else {
            return Ok(0);
        };
        let subject = format!("spud.audit.{}", spud_task::key_for(&self.worker));
        let mut acks = Vec::new();
        for line in text[..end].lines().filter(|l| !l.is_empty()) {
            let seq = serde_json::from_str::<serde_json::Value>(line)
                .ok()
                .and_then(|v| v.get("seq").and_then(serde_json::Value::as_u64))
                .ok_or_else(|| {
                    ClusterError::Audit(format!("a record of {} has no seq", self.path.display()))
                })?;
            let msg = PublishMessage::build()
                .payload(line.as_bytes().to_vec().into())
                .message_id(format!("{}:{seq}", self.worker));
            let ack = cluster
                .js
                .send_publish(subject.clone(), msg)
                .await
                .map_err(|e| ClusterError::js("publish audit record", e))?;
            acks.push(ack);
        }
        let shipped = acks.len();
        for ack in acks {
            ack.await
                .map_err(|e| ClusterError::js("store audit record", e))?;
        }
        self.offset += end as u64 + 1;
        Ok(shipped)
    }

    /// What the log holds past the offset.
    fn unread(&self) -> Result<String, ClusterError> {
        let err = |e: std::io::Error| ClusterError::Audit(format!("{}: {e}", self.path.display()));
        let mut f = std::fs::File::open(&self.path).map_err(err)?;
        f.seek(SeekFrom::Start(self.offset)).map_err(err)?;
        let mut text = String::new();
        f.read_to_string(&mut text).map_err(err)?;
        Ok(text)
    }
}

/// One worker's chain, as the cluster holds it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ChainReport {
    /// The worker (its subject token).
    pub worker: String,
    /// Records found.
    pub records: u64,
    /// What is wrong with the chain; empty: intact.
    pub problems: Vec<String>,
}

/// Reads `SPUD_AUDIT` and verifies each worker's hash chain.
pub async fn verify_cluster(cluster: &Cluster) -> Result<Vec<ChainReport>, ClusterError> {
    let info = cluster
        .audit
        .get_info()
        .await
        .map_err(|e| ClusterError::js("audit stream info", e))?;
    let mut chains: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    if info.state.messages > 0 {
        for seq in info.state.first_sequence..=info.state.last_sequence {
            let Ok(m) = cluster.audit.get_raw_message(seq).await else {
                continue;
            };
            let worker = m
                .subject
                .as_str()
                .trim_start_matches("spud.audit.")
                .to_string();
            let chain = chains.entry(worker).or_default();
            chain.extend_from_slice(&m.payload);
            chain.push(b'\n');
        }
    }
    let dir = tempfile::tempdir().map_err(|e| ClusterError::Audit(e.to_string()))?;
    let mut out = Vec::new();
    for (worker, bytes) in chains {
        let path = dir.path().join(format!("{worker}.jsonl"));
        std::fs::write(&path, &bytes).map_err(|e| ClusterError::Audit(e.to_string()))?;
        let report = spud_audit::verify(&path).map_err(|e| ClusterError::Audit(e.to_string()))?;
        out.push(ChainReport {
            worker,
            records: report.records,
            problems: report.problems.iter().map(ToString::to_string).collect(),
        });
    }
    Ok(out)
}
