//! The submitting side: a root run's sub-agents go to the cluster as tasks ([`Submitter`], the root
//! run's [`Dispatch`]; single tool calls are in `call`). Each sub-agent reserves its share in the
//! root's ledger entry in `spud-ledger` (compare-and-set), is published once (the run id is the
//! message id, so a retried publish is dropped as a duplicate), and is answered through
//! `spud-results`; what it used is then spent and the rest of its share returns.

use super::cas;
use super::error::ClusterError;
use super::setup::Cluster;
use super::wire::{report_of, Answer, SubAgentTask};
use crate::agent::{AgentError, Dispatch, RemoteChild, RemoteRun, RunReport};
use crate::plan::Budget;
use crate::service::Spud;
use async_nats::jetstream::message::PublishMessage;
use serde_json::Value;
use spud_task::{key_for, Amounts, Envelope, Ledger, TaskKind};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

/// Hands root runs' sub-agents (and single tool calls) to the cluster's workers. One submitter
/// serves every root run of its process: each run's ledger entry has that run's budget as its
/// limit.
#[derive(Clone)]
pub struct Submitter {
    pub(super) cluster: Cluster,
    pub(super) spud: Arc<Spud>,
    /// Held around each ledger transition: this process never races itself on the entry
    /// (nats-server 2.9 can let two concurrent compare-and-set writes on one key of a
    /// replicated bucket both succeed; other writers are still caught by compare-and-set).
    ledger_lock: Arc<tokio::sync::Mutex<()>>,
    /// Digests already in the object store.
    uploaded: Arc<tokio::sync::Mutex<BTreeSet<String>>>,
}

impl Submitter {
    /// A submitter whose tasks may call the plugins of `spud`'s registry at the digests
    /// registered there.
    pub fn new(cluster: Cluster, spud: Arc<Spud>) -> Submitter {
        Submitter {
            cluster,
            spud,
            ledger_lock: Arc::default(),
            uploaded: Arc::default(),
        }
    }

    /// Runs `child` on some worker: reserve, publish, wait for the answer, settle.
    pub async fn run_remote(&self, child: RemoteChild) -> Result<RunReport, ClusterError> {
        let ledger_key = key_for(&child.root);
        let limit = amounts(&child.root_budget);
        let want = amounts(&child.plan.budget);
        let held = self.ledger_lock.lock().await;
        cas::apply(&self.cluster.ledger, &ledger_key, |l: Option<&Ledger>| {
            l.cloned()
                .unwrap_or_else(|| Ledger::new(limit))
                .reserve(&child.id, want)
        })
        .await?;
        drop(held);
        let answer = self.submit_and_wait(&child).await;
        let used = match &answer {
            Ok(r) => Amounts {
                steps: r.steps,
                fuel: r.fuel,
                net_bytes: r.net_bytes,
                tokens: r.usage.input_tokens + r.usage.output_tokens,
            },
            Err(_) => Amounts::default(),
        };
        let held = self.ledger_lock.lock().await;
        cas::apply(&self.cluster.ledger, &ledger_key, |l: Option<&Ledger>| {
            l.cloned().unwrap_or_default().settle(&child.id, used)
        })
        .await?;
        drop(held);
        answer
    }

    async fn submit_and_wait(&self, child: &RemoteChild) -> Result<RunReport, ClusterError> {
        let key = key_for(&child.id);
        let body = serde_json::to_value(SubAgentTask::new(child.plan.clone(), &child.caller))
            .map_err(|e| ClusterError::data("task", e))?;
        let envelope = Envelope {
            id: child.id.clone(),
            kind: TaskKind::SubAgent,
            root: child.root.clone(),
            lease_ms: self.cluster.settings.ack_wait.as_millis() as u64,
            digests: self.digests(&body),
            body,
        };
        self.upload(&envelope.digests).await?;
        self.publish(&key, &child.id, envelope.to_bytes()).await?;
        let answer = self.answer(&key, Duration::from_millis(10)).await?;
        match answer.outcome {
            Ok(json) => {
                report_of(&child.id, &answer.worker, json).map_err(|reason| ClusterError::Task {
                    task: child.id.clone(),
                    reason,
                })
            }
            Err(reason) => Err(ClusterError::Task {
                task: child.id.clone(),
                reason: format!("worker `{}`: {reason}", answer.worker),
            }),
        }
    }

    /// Puts the components `digests` approves into the cluster's object store (once per
    /// digest and process), so that a worker without them can pull them.
    pub(super) async fn upload(
        &self,
        digests: &BTreeMap<String, String>,
    ) -> Result<(), ClusterError> {
        let registry = self.spud.registry();
        for (plugin, hex) in digests {
            if self.uploaded.lock().await.contains(hex) {
                continue;
            }
            if let Some(entry) = registry.plugins.get(plugin) {
                super::components::upload(&self.cluster, &self.spud, entry).await?;
                self.uploaded.lock().await.insert(hex.clone());
            }
        }
        Ok(())
    }

    /// Publishes a task until JetStream stores it (a retry after a lost ack is dropped as a
    /// duplicate: the task id is the message id).
    pub(super) async fn publish(
        &self,
        key: &str,
        id: &str,
        bytes: Vec<u8>,
    ) -> Result<(), ClusterError> {
        let what = format!("publish task {id}");
        let mut last = None;
        for _ in 0..20 {
            let publish = PublishMessage::build()
                .payload(bytes.clone().into())
                .message_id(id);
            let sent = self
                .cluster
                .js
                .send_publish(format!("spud.tasks.{key}"), publish)
                .await;
            let stored = match sent {
                Ok(ack) => ack
                    .await
                    .map(|_| ())
                    .map_err(|e| ClusterError::js(&what, e)),
                Err(e) => Err(ClusterError::js(&what, e)),
            };
            match stored {
                Ok(()) => return Ok(()),
                Err(e) => last = Some(e),
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        Err(last.unwrap_or_else(|| ClusterError::js(&what, "not sent")))
    }

    /// The registered digest of every plugin whose tools the task's plan names (its steps,
    /// alternatives and nested sub-agents): what the worker must run.
    pub(super) fn digests(&self, body: &Value) -> BTreeMap<String, String> {
        let mut plugins = BTreeSet::new();
        tools_named(body, &mut plugins);
        let registry = self.spud.registry();
        plugins
            .into_iter()
            .filter_map(|p| registry.plugins.get(&p).map(|e| (p, e.digest.clone())))
            .collect()
    }

    /// Waits for the answer under `key` (the child's own deadline, enforced by its parent,
    /// stops the wait), reading it after `first`, then after pauses growing by half up to
    /// 200 ms.
    pub(super) async fn answer(&self, key: &str, first: Duration) -> Result<Answer, ClusterError> {
        let mut pause = first;
        loop {
            match cas::read::<Answer>(&self.cluster.results, key).await {
                Ok((Some(a), _)) => return Ok(a),
                Ok((None, _)) => {}
                // A node failing over: the answer is still coming.
                Err(e @ ClusterError::JetStream { .. }) => {
                    tracing::warn!("waiting for {key}: {e}; retrying");
                }
                Err(e) => return Err(e),
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 3 / 2).min(Duration::from_millis(200));
        }
    }
}

impl Dispatch for Submitter {
    fn dispatch(&self, child: RemoteChild) -> RemoteRun {
        let s = self.clone();
        Box::pin(async move {
            s.run_remote(child)
                .await
                .map_err(|e| AgentError::Remote(e.to_string()))
        })
    }
}

/// Collects the plugin of every `tool` field in `v`.
fn tools_named(v: &Value, out: &mut BTreeSet<String>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                match (k.as_str(), x) {
                    ("tool", Value::String(t)) => {
                        if let Some((plugin, _)) = t.split_once('.') {
                            out.insert(plugin.to_string());
                        }
                    }
                    _ => tools_named(x, out),
                }
            }
        }
        Value::Array(a) => a.iter().for_each(|x| tools_named(x, out)),
        _ => {}
    }
}

/// The ledger's amounts of a budget.
fn amounts(b: &Budget) -> Amounts {
    Amounts {
        steps: b.max_steps,
        fuel: b.max_fuel,
        net_bytes: b.max_net_bytes,
        tokens: b.max_tokens,
    }
}
