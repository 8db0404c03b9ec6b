//! `spud worker`: pulls tasks from the work queue and runs each with exactly the grants and budgets
//! a local host would — the sub-agent's plan under its principal and scopes, through the same loop
//! and the same `Spud`, or one tool call through `Spud::call_as` — while heartbeating (ack
//! progress, lease renewal). Before it acks, the task's audit records are stored in `SPUD_AUDIT`
//! and its answer in `spud-results`, both acknowledged by JetStream; a worker whose lease expired
//! meanwhile commits nothing (its result is late and refused). A component the task approves that
//! the worker lacks (or has at another digest) is pulled from the cluster's object store by digest,
//! checked and registered first; one its own policy pins to another digest is refused.

use super::cas;
use super::error::ClusterError;
use super::records::Shipper;
use super::setup::{now_ms, Cluster, WORKERS};
use super::submit::Submitter;
use super::wire::{Answer, RunTask, SubAgentTask, ToolCallTask, WireCaller};
use crate::agent::{run_with, RunOptions};
use crate::memory::{MemoryOptions, DEFAULT_RETAIN_DAYS};
use crate::orchestrator::{Tree, TreeContext};
use crate::service::{Caller, Spud};
use async_nats::jetstream::{consumer, AckKind, Message};
use futures::StreamExt;
use spud_audit::Event;
use spud_task::{key_for, possibly_repeated, Envelope, Lease, LeaseError, TaskKind};
use std::sync::Arc;
use std::time::Duration;

/// A worker: its name, its spud (home, policy, registry) and the cluster.
pub struct Worker {
    name: String,
    spud: Arc<Spud>,
    cluster: Cluster,
    shipper: tokio::sync::Mutex<Shipper>,
    /// Held while components are pulled and registered: one at a time.
    installing: tokio::sync::Mutex<()>,
}

impl Worker {
    /// A worker named `name` running tasks with `spud`.
    pub fn new(name: &str, spud: Arc<Spud>, cluster: Cluster) -> Worker {
        let shipper = Shipper::new(spud.audit().path().to_path_buf(), name);
        Worker {
            name: name.to_string(),
            spud,
            cluster,
            shipper: tokio::sync::Mutex::new(shipper),
            installing: tokio::sync::Mutex::new(()),
        }
    }

    /// Takes and runs tasks, `concurrency` at a time, until the process is stopped.
    pub async fn run(self: Arc<Self>, concurrency: usize) -> Result<(), ClusterError> {
        // Records from before (an earlier life of this home) go first; a cluster that is still
        // electing its leaders gets them with the first task's.
        if let Err(e) = self.ship().await {
            tracing::warn!("worker {}: earlier records not shipped yet: {e}", self.name);
        }
        let mut lanes = tokio::task::JoinSet::new();
        for _ in 0..concurrency.max(1) {
            let w = self.clone();
            lanes.spawn(async move { w.pull().await });
        }
        match lanes.join_next().await {
            Some(Ok(r)) => r,
            Some(Err(e)) => Err(ClusterError::Task {
                task: "(worker lane)".into(),
                reason: e.to_string(),
            }),
            None => Ok(()),
        }
    }

    /// One lane: pulls one task at a time and handles it.
    async fn pull(&self) -> Result<(), ClusterError> {
        let consumer: consumer::PullConsumer = self
            .cluster
            .tasks
            .get_consumer(WORKERS)
            .await
            .map_err(|e| ClusterError::js("consumer workers", e))?;
        loop {
            let batch = consumer
                .batch()
                .max_messages(1)
                .expires(Duration::from_secs(2))
                .messages()
                .await;
            let mut batch = match batch {
                Ok(b) => b,
                Err(e) => {
                    tracing::warn!("worker {}: pulling failed: {e}; retrying", self.name);
                    tokio::time::sleep(Duration::from_millis(500)).await;
                    continue;
                }
            };
            while let Some(msg) = batch.next().await {
                match msg {
                    Ok(m) => {
                        if let Err(e) = self.handle(&m).await {
                            tracing::warn!("worker {}: task not acked: {e}", self.name);
                        }
                    }
                    Err(e) => tracing::warn!("worker {}: bad delivery: {e}", self.name),
                }
            }
        }
    }

    /// Runs one delivered task and acks it once its answer and records are stored.
    async fn handle(&self, msg: &Message) -> Result<(), ClusterError> {
        let delivered = msg.info().map(|i| i.delivered.max(1) as u64).unwrap_or(1);
        let envelope = match Envelope::from_bytes(&msg.payload) {
            Ok(e) => e,
            Err(e) => {
                tracing::warn!(
                    "worker {}: a task that does not parse is dropped: {e}",
                    self.name
                );
                let _ = msg.ack_with(AckKind::Term).await;
                return Ok(());
            }
        };
        let key = key_for(&envelope.id);
        if cas::read::<Answer>(&self.cluster.results, &key)
            .await?
            .0
            .is_some()
        {
            // Answered already (the ack of an earlier delivery was lost).
            return self.ack(msg).await;
        }
        let lease_ms = envelope.lease_ms;
        let taken = cas::apply(&self.cluster.leases, &key, |l: Option<&Lease>| {
            Lease::take(l, &self.name, delivered, now_ms(), lease_ms)
        })
        .await;
        match taken {
            Ok(_) => {}
            // Redelivered a moment before the old lease ran out: come back when it has.
            Err(ClusterError::Lease(LeaseError::Held { expires_ms, .. })) => {
                let wait = expires_ms.saturating_sub(now_ms()) + 100;
                let _ = msg
                    .ack_with(AckKind::Nak(Some(Duration::from_millis(wait))))
                    .await;
                return Ok(());
            }
            Err(ClusterError::Lease(LeaseError::Committed { .. })) => return self.ack(msg).await,
            Err(e) => return Err(e),
        }
        let outcome = self.with_heartbeat(msg, &envelope, delivered).await;
        self.ship().await?;
        if !self.commit(&key, &envelope.id, delivered).await? {
            return self.ack(msg).await;
        }
        let answer = Answer {
            worker: self.name.clone(),
            delivery: delivered,
            possibly_repeated: possibly_repeated(delivered),
            outcome,
        };
        let bytes = serde_json::to_vec(&answer).map_err(|e| ClusterError::data("answer", e))?;
        // Another delivery may have answered first: that answer stands.
        let _ = self.cluster.results.create(&key, bytes.into()).await;
        self.ack(msg).await
    }

    /// Commits this delivery's lease before its answer is written: `Ok(false)` when another
    /// delivery answered meanwhile (this one was cut off for longer than its lease: its late
    /// result is refused); a lease that expired with nobody answering is [`LeaseError::Lost`].
    async fn commit(&self, key: &str, id: &str, delivered: u64) -> Result<bool, ClusterError> {
        let committed = cas::apply(&self.cluster.leases, key, |l: Option<&Lease>| match l {
            Some(l) => l.commit(&self.name, delivered, now_ms()),
            None => Err(LeaseError::Lost {
                worker: self.name.clone(),
                delivery: delivered,
            }),
        })
        .await;
        match committed {
            Ok(_) => Ok(true),
            Err(ClusterError::Lease(LeaseError::Committed { worker })) => {
                tracing::warn!(
                    "worker {}: late result refused: task {id} was answered by worker `{worker}` meanwhile",
                    self.name
                );
                Ok(false)
            }
            Err(e) => Err(e),
        }
    }

    /// Runs the task, sending ack progress and renewing its lease meanwhile.
    async fn with_heartbeat(
        &self,
        msg: &Message,
        envelope: &Envelope,
        delivered: u64,
    ) -> Result<serde_json::Value, String> {
        let beat = Duration::from_millis((envelope.lease_ms / 3).max(100));
        let key = key_for(&envelope.id);
        let work = self.execute(envelope, delivered);
        tokio::pin!(work);
        let mut tick = tokio::time::interval(beat);
        tick.tick().await;
        loop {
            tokio::select! {
                out = &mut work => return out,
                _ = tick.tick() => {
                    let _ = msg.ack_with(AckKind::Progress).await;
                    let renewed = cas::apply(&self.cluster.leases, &key, |l: Option<&Lease>| match l {
                        Some(l) => l.renew(&self.name, delivered, now_ms(), envelope.lease_ms),
                        None => Lease::take(None, &self.name, delivered, now_ms(), envelope.lease_ms),
                    })
                    .await;
                    if let Err(e) = renewed {
                        tracing::warn!("worker {}: lease of {} lost: {e}", self.name, envelope.id);
                    }
                }
            }
        }
    }

    /// Runs the task here: a sub-agent's plan, one tool call, or a whole run.
    async fn execute(
        &self,
        envelope: &Envelope,
        delivered: u64,
    ) -> Result<serde_json::Value, String> {
        let parse =
            |kind: &str, e: serde_json::Error| format!("the {kind} task does not parse: {e}");
        match envelope.kind {
            TaskKind::SubAgent => {
                let task: SubAgentTask = serde_json::from_value(envelope.body.clone())
                    .map_err(|e| parse("sub-agent", e))?;
                let caller = self.prepare(envelope, &task.caller, delivered).await?;
                self.run_sub_agent(envelope, task.plan, caller).await
            }
            TaskKind::ToolCall => {
                let task: ToolCallTask = serde_json::from_value(envelope.body.clone())
                    .map_err(|e| parse("tool-call", e))?;
                let caller = self.prepare(envelope, &task.caller, delivered).await?;
                super::call::run_call(&self.spud, &task, &caller).await
            }
            TaskKind::Run => {
                let task: RunTask =
                    serde_json::from_value(envelope.body.clone()).map_err(|e| parse("run", e))?;
                let caller = self.prepare(envelope, &task.run.caller, delivered).await?;
                self.run_root(envelope, task, caller).await
            }
        }
    }

    /// What every task does before it runs: its caller under this worker's policy, the
    /// components it approves at their digests, and — on a redelivery — the
    /// `possibly_repeated` record that marks the calls that follow.
    async fn prepare(
        &self,
        envelope: &Envelope,
        wire: &WireCaller,
        delivered: u64,
    ) -> Result<Caller, String> {
        let caller = wire.caller(self.spud.policy())?;
        self.ensure_components(envelope, &caller.principal)
            .await
            .map_err(|e| e.to_string())?;
        if possibly_repeated(delivered) {
            let detail = format!(
                "task {} delivery {delivered}: its calls may have run before on another worker",
                envelope.id
            );
            let _ = self.spud.audit().append(Event::access(
                &caller.principal,
                "possibly_repeated",
                &detail,
            ));
        }
        Ok(caller)
    }

    /// Runs a sub-agent's plan as `caller`, as the root of its own tree.
    async fn run_sub_agent(
        &self,
        envelope: &Envelope,
        plan: crate::plan::Plan,
        caller: Caller,
    ) -> Result<serde_json::Value, String> {
        let options = RunOptions {
            caller: Some(caller),
            tree: Some(TreeContext {
                tree: Tree::new(plan.agents, None, None),
                id: envelope.id.clone(),
                depth: 1,
                slot: None,
            }),
            ..RunOptions::default()
        };
        let report = run_with(self.spud.clone(), plan, options, |_| {})
            .await
            .map_err(|e| e.to_string())?;
        self.archive(&envelope.id).await;
        serde_json::to_value(&report).map_err(|e| e.to_string())
    }

    /// Runs a whole run's plan as `caller`, as a root: its scheduler, shares and ledger are
    /// here, and its sub-agents go back to the cluster (to any worker, this one included). With
    /// memory, it reads the cluster's lessons first and shares its own after, as `spud run
    /// --nats` does on a submitting host.
    async fn run_root(
        &self,
        envelope: &Envelope,
        task: RunTask,
        caller: Caller,
    ) -> Result<serde_json::Value, String> {
        let plan = task.run.plan;
        let memory = task
            .memory
            .then(|| MemoryOptions::for_spud(&self.spud, DEFAULT_RETAIN_DAYS));
        self.share_lessons(memory.as_ref()).await;
        let dispatch = Submitter::new(self.cluster.clone(), self.spud.clone());
        let options = RunOptions {
            caller: Some(caller),
            tree: Some(TreeContext {
                tree: Tree::new(plan.agents, None, None),
                id: envelope.id.clone(),
                depth: 0,
                slot: None,
            }),
            dispatch: Some(std::sync::Arc::new(dispatch)),
            memory: memory.clone(),
            ..RunOptions::default()
        };
        let report = run_with(self.spud.clone(), plan, options, |_| {})
            .await
            .map_err(|e| e.to_string())?;
        self.share_lessons(memory.as_ref()).await;
        self.archive(&envelope.id).await;
        serde_json::to_value(&report).map_err(|e| e.to_string())
    }

    /// Exchanges `memory`'s lessons with the cluster (nothing without memory); a failure is a
    /// warning, never the run's.
    async fn share_lessons(&self, memory: Option<&MemoryOptions>) {
        let Some(memory) = memory else { return };
        if let Err(e) = super::lessons::exchange_lessons(&self.cluster, memory).await {
            tracing::warn!(
                "worker {}: lessons not shared with the cluster: {e}",
                self.name
            );
        }
    }

    /// Stores run `id`'s trace and report (and its own sub-agents') in the cluster, for `spud
    /// runs fetch`; a failure is a warning (the answer and the audit records are what count).
    async fn archive(&self, id: &str) {
        let runs = self.spud.home().root().join("runs");
        if let Err(e) = super::archive::store_run(&self.cluster, &runs, id).await {
            tracing::warn!(
                "worker {}: the trace of {id} was not stored: {e}",
                self.name
            );
        }
    }

    /// Makes sure every plugin the task approves is registered here at the approved digest:
    /// a missing or other digest is pulled from the cluster's object store and registered —
    /// unless this worker's policy pins the plugin to another digest, or the pulled bytes do
    /// not have the approved one; either is refused with a `digest_refused` registry record.
    async fn ensure_components(
        &self,
        envelope: &Envelope,
        principal: &str,
    ) -> Result<(), ClusterError> {
        let _one = self.installing.lock().await;
        for (plugin, approved) in &envelope.digests {
            let found = self
                .spud
                .registry()
                .plugins
                .get(plugin)
                .map(|e| e.digest.clone());
            if found.as_deref() == Some(approved.as_str()) {
                continue;
            }
            let pinned = self.spud.policy().tool(plugin).digest;
            let refused = match pinned {
                Some(pin) if pin != format!("sha256:{approved}") => {
                    Err(ClusterError::DigestRefused {
                        plugin: plugin.clone(),
                        approved: approved.clone(),
                        found: format!("{pin} pinned by this worker's policy"),
                    })
                }
                _ => self.pull_component(plugin, approved).await,
            };
            if let Err(e) = refused {
                if let ClusterError::DigestRefused { found, .. } = &e {
                    self.record_refusal(envelope, principal, plugin, approved, found);
                }
                return Err(e);
            }
        }
        Ok(())
    }

    /// Pulls `plugin` at digest `approved` and registers it (approved: the task's submitter
    /// approved it; this worker's policy still decides what it may do).
    async fn pull_component(&self, plugin: &str, approved: &str) -> Result<(), ClusterError> {
        let under = self.spud.home().downloads_dir();
        let pulled = super::components::pull(&self.cluster, plugin, approved, &under).await?;
        let install = crate::service::Install {
            source: pulled.file.display().to_string(),
            name: Some(plugin.to_string()),
            manifest: pulled.manifest.clone(),
            yes: true,
            ..Default::default()
        };
        let installed = self.spud.install(&install).await.map_err(|e| ClusterError::Task {
            task: format!("(component {plugin})"),
            reason: format!("the approved component {plugin} ({approved}) pulled from the cluster could not be registered here: {e}"),
        })?;
        tracing::info!(
            "worker {}: registered {plugin} {approved} from the cluster ({})",
            self.name,
            installed.action
        );
        Ok(())
    }

    fn record_refusal(
        &self,
        envelope: &Envelope,
        principal: &str,
        plugin: &str,
        approved: &str,
        found: &str,
    ) {
        let record = spud_audit::RegistryEvent {
            action: "digest_refused".into(),
            plugin: plugin.to_string(),
            digest: found.to_string(),
            by: Some(principal.to_string()),
            source: Some(format!("task {} approves {approved}", envelope.id)),
            signer: None,
            approved: Some(false),
        };
        let _ = self.spud.audit().append(Event::registry_change(record));
    }

    /// Stores the audit records appended since the last shipment, retrying for a few seconds
    /// while the stream is unavailable (a leader election, a node failing over).
    async fn ship(&self) -> Result<(), ClusterError> {
        let _ = self.spud.audit().flush();
        let mut shipper = self.shipper.lock().await;
        let mut attempt = 0;
        loop {
            match shipper.ship(&self.cluster).await {
                Ok(_) => return Ok(()),
                Err(e @ ClusterError::JetStream { .. }) if attempt < 20 => {
                    tracing::debug!("worker {}: shipping records: {e}; retrying", self.name);
                }
                Err(e) => return Err(e),
            }
            attempt += 1;
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
    }

    /// Acks `msg` and waits for the server to confirm it.
    async fn ack(&self, msg: &Message) -> Result<(), ClusterError> {
        msg.double_ack()
            .await
            .map_err(|e| ClusterError::js("ack task", e))
    }
}
