//! Lessons shared across the cluster: every host that plans runs on the cluster (`spud run
//! --nats`) exchanges its memory's lessons with the bucket `spud-lessons` before it plans and
//! after the run has reflected — it adds the lessons other hosts learned to its own memory
//! (its recall then finds them, as if learned here) and puts its own there. A lesson's key is
//! the sha256 of its run, kind, step and text, so a lesson is stored once however many hosts
//! hold it. Lessons are redacted before they are stored locally, so nothing unredacted leaves.

use super::error::ClusterError;
use super::setup::Cluster;
use crate::memory::{Lesson, LessonKind, MemoryOptions};
use bytes::Bytes;
use futures::StreamExt;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// A lesson as the bucket holds it.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Shared {
    run: String,
    goal: String,
    kind: LessonKind,
    step: String,
    tools: String,
    errors: String,
    call: Option<serde_json::Value>,
    text: String,
    created: i64,
}

impl Shared {
    fn of(l: &Lesson) -> Shared {
        Shared {
            run: l.run.clone(),
            goal: l.goal.clone(),
            kind: l.kind,
            step: l.step.clone(),
            tools: l.tools.clone(),
            errors: l.errors.clone(),
            call: l.call.clone(),
            text: l.text.clone(),
            created: l.created,
        }
    }

    fn lesson(self) -> Lesson {
        Lesson {
            id: 0,
            run: self.run,
            goal: self.goal,
            kind: self.kind,
            step: self.step,
            tools: self.tools,
            errors: self.errors,
            call: self.call,
            text: self.text,
            created: self.created,
        }
    }

    /// Its key in the bucket.
    fn key(&self) -> String {
        let what = [
            self.run.as_str(),
            self.kind.as_str(),
            &self.step,
            &self.text,
        ]
        .join("\0");
        crate::runtime::sha256_hex(what.as_bytes())
    }
}

/// What one exchange moved.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Exchanged {
    /// Lessons of other hosts added to this host's memory.
    pub imported: usize,
    /// Lessons of this host put in the bucket.
    pub exported: usize,
}

/// Exchanges the lessons of the memory `memory` with the cluster's bucket.
pub async fn exchange_lessons(
    cluster: &Cluster,
    memory: &MemoryOptions,
) -> Result<Exchanged, ClusterError> {
    let mut keys = cluster
        .lessons
        .keys()
        .await
        .map_err(|e| ClusterError::js("list spud-lessons", e))?;
    let mut known = BTreeSet::new();
    let mut theirs = Vec::new();
    while let Some(key) = keys.next().await {
        let key = key.map_err(|e| ClusterError::js("list spud-lessons", e))?;
        let value = cluster
            .lessons
            .get(&key)
            .await
            .map_err(|e| ClusterError::js(&format!("read lesson {key}"), e))?;
        // A value that is not a lesson (written by something else) is left alone.
        if let Some(shared) = value.and_then(|v| serde_json::from_slice::<Shared>(&v).ok()) {
            theirs.push(shared);
        }
        known.insert(key);
    }
    let (imported, mine) = merge(memory, theirs)?;
    let mut exported = 0;
    for shared in mine {
        let key = shared.key();
        if known.contains(&key) {
            continue;
        }
        let bytes: Bytes = serde_json::to_vec(&shared)
            .map_err(|e| ClusterError::data("lesson", e))?
            .into();
        cluster
            .lessons
            .put(&key, bytes)
            .await
            .map_err(|e| ClusterError::js(&format!("store lesson {key}"), e))?;
        exported += 1;
    }
    Ok(Exchanged { imported, exported })
}

/// Adds `theirs` to the memory (those it lacks) and returns how many, with every lesson the
/// memory then holds.
fn merge(
    memory: &MemoryOptions,
    theirs: Vec<Shared>,
) -> Result<(usize, Vec<Shared>), ClusterError> {
    let unusable = |e: crate::memory::MemoryError| ClusterError::data("the memory of past runs", e);
    let mut store = memory.open().map_err(unusable)?;
    let mut imported = 0;
    for shared in theirs {
        if store.import(&shared.lesson()).map_err(unusable)? {
            imported += 1;
        }
    }
    let mine = store.lessons().map_err(unusable)?;
    Ok((imported, mine.iter().map(Shared::of).collect()))
}
