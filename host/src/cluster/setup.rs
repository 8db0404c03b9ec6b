//! The connection and the cluster's layout: the work-queue stream `SPUD_TASKS` with its durable
//! pull consumer `workers`, the key-value buckets `spud-results`, `spud-leases`, `spud-ledger`
//! and `spud-lessons`, the audit stream `SPUD_AUDIT` and the object store `spud-components`, each
//! created when missing with the cluster's replica count.
//!
//! Buckets are made as plain streams in the key-value layout (`KV_<name>`, subjects
//! `$KV.<name>.>`, one message per subject, roll-ups allowed, deletes denied) rather than with
//! the client's bucket call, whose request carries fields nats-server 2.9 rejects; and without
//! direct gets, which may read a lagging replica and break compare-and-set.

use super::error::ClusterError;
use async_nats::jetstream::{self, consumer, kv, object_store, stream};
use std::time::Duration;

/// The work-queue stream.
pub const TASKS: &str = "SPUD_TASKS";
/// The durable consumer workers pull from.
pub const WORKERS: &str = "workers";
/// The audit stream.
pub const AUDIT: &str = "SPUD_AUDIT";
/// The object store of components by digest.
pub const COMPONENTS: &str = "spud-components";
/// The object store of the traces and reports of the runs workers ran.
pub const RUNS: &str = "spud-runs";
/// The bucket of lessons shared by every host of the cluster.
pub const LESSONS: &str = "spud-lessons";

/// How to reach the cluster and how its streams are made.
#[derive(Debug, Clone)]
pub struct ClusterSettings {
    /// The NATS URL (`nats://127.0.0.1:4222`; several, comma-separated, for a cluster).
    pub url: String,
    /// Replicas of every stream and bucket; `None`: 3 when the cluster has 3 or more
    /// servers, else 1.
    pub replicas: Option<usize>,
    /// How long a task may go without an ack or a heartbeat before it is redelivered.
    pub ack_wait: Duration,
    /// How many times a task is delivered at most.
    pub max_deliver: i64,
    /// How long a submitter waits for the answer of a single tool call (`spud call --nats`,
    /// `spud serve --nats`) before it gives up on it.
    pub call_wait: Duration,
}

impl ClusterSettings {
    /// Settings for `url` with the defaults: replicas from the cluster's size, a 10 s ack
    /// wait, 5 deliveries, 5 minutes' wait for a call's answer.
    pub fn new(url: &str) -> ClusterSettings {
        ClusterSettings {
            url: url.to_string(),
            replicas: None,
            ack_wait: Duration::from_secs(10),
            max_deliver: 5,
            call_wait: Duration::from_secs(300),
        }
    }
}

/// A connection to the cluster, with its streams and buckets.
#[derive(Clone)]
pub struct Cluster {
    /// The JetStream context.
    pub js: jetstream::Context,
    /// The work-queue stream.
    pub tasks: stream::Stream,
    /// The audit stream.
    pub audit: stream::Stream,
    /// Answers by task key.
    pub results: kv::Store,
    /// Leases by task key.
    pub leases: kv::Store,
    /// Budget ledgers by root run.
    pub ledger: kv::Store,
    /// Lessons learned on any host, by a digest of what they say.
    pub lessons: kv::Store,
    /// Components by digest.
    pub components: object_store::ObjectStore,
    /// The traces and reports of the runs workers ran (`RUN/trace.jsonl`, `RUN/report.json`).
    pub runs: object_store::ObjectStore,
    /// What it was opened with (the replica count resolved).
    pub settings: ClusterSettings,
}

impl std::fmt::Debug for Cluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cluster")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl Cluster {
    /// Connects and makes sure the layout exists. A cluster that has just started may not
    /// have elected its JetStream leader yet: setup is retried for up to 30 s.
    pub async fn connect(settings: &ClusterSettings) -> Result<Cluster, ClusterError> {
        let client = connect_client(&settings.url).await?;
        // The client URLs the cluster advertises (every server's, once routes are up).
        let servers = client.server_info().connect_urls.len().max(1);
        let mut settings = settings.clone();
        let replicas = settings
            .replicas
            .unwrap_or(if servers >= 3 { 3 } else { 1 });
        settings.replicas = Some(replicas);
        let js = jetstream::new(client);
        let mut last = None;
        for _ in 0..60 {
            match layout(&js, &settings, replicas).await {
                Ok(c) => return Ok(c),
                Err(e) => last = Some(e),
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        Err(last.unwrap_or_else(|| ClusterError::js("setup", "no attempt made")))
    }
}

/// A client connected to `url`, trying for up to 30 s (a server may still be starting).
async fn connect_client(url: &str) -> Result<async_nats::Client, ClusterError> {
    let started = std::time::Instant::now();
    loop {
        let servers: Vec<&str> = url.split(',').map(str::trim).collect();
        let attempt = async_nats::ConnectOptions::new()
            .connection_timeout(Duration::from_secs(5))
            .connect(servers)
            .await;
        match attempt {
            Ok(c) => return Ok(c),
            Err(e) if started.elapsed() > Duration::from_secs(30) => {
                return Err(ClusterError::Connect {
                    url: url.to_string(),
                    reason: e.to_string(),
                })
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(300)).await,
        }
    }
}

/// Creates (or finds) every stream and bucket.
async fn layout(
    js: &jetstream::Context,
    settings: &ClusterSettings,
    replicas: usize,
) -> Result<Cluster, ClusterError> {
    let tasks = js
        .get_or_create_stream(stream::Config {
            name: TASKS.into(),
            subjects: vec!["spud.tasks.>".into()],
            retention: stream::RetentionPolicy::WorkQueue,
            num_replicas: replicas,
            duplicate_window: Duration::from_secs(120),
            ..Default::default()
        })
        .await
        .map_err(|e| ClusterError::js("create stream SPUD_TASKS", e))?;
    tasks
        .get_or_create_consumer(
            WORKERS,
            consumer::pull::Config {
                durable_name: Some(WORKERS.into()),
                ack_policy: consumer::AckPolicy::Explicit,
                ack_wait: settings.ack_wait,
                max_deliver: settings.max_deliver,
                max_ack_pending: 10_000,
                ..Default::default()
            },
        )
        .await
        .map_err(|e| ClusterError::js("create consumer workers", e))?;
    let audit = js
        .get_or_create_stream(stream::Config {
            name: AUDIT.into(),
            subjects: vec!["spud.audit.>".into()],
            num_replicas: replicas,
            duplicate_window: Duration::from_secs(3600),
            ..Default::default()
        })
        .await
        .map_err(|e| ClusterError::js("create stream SPUD_AUDIT", e))?;
    Ok(Cluster {
        results: bucket(js, "spud-results", replicas, Duration::from_secs(7 * 86400)).await?,
        leases: bucket(js, "spud-leases", replicas, Duration::from_secs(86400)).await?,
        ledger: bucket(js, "spud-ledger", replicas, Duration::from_secs(7 * 86400)).await?,
        lessons: bucket(js, LESSONS, replicas, Duration::from_secs(90 * 86400)).await?,
        components: objects(js, COMPONENTS, replicas).await?,
        runs: objects(js, RUNS, replicas).await?,
        js: js.clone(),
        tasks,
        audit,
        settings: settings.clone(),
    })
}

/// A key-value bucket made as a plain stream in the bucket layout (see the module docs);
/// entries older than `max_age` are dropped.
async fn bucket(
    js: &jetstream::Context,
    name: &str,
    replicas: usize,
    max_age: Duration,
) -> Result<kv::Store, ClusterError> {
    let what = format!("create bucket {name}");
    js.get_or_create_stream(stream::Config {
        name: format!("KV_{name}"),
        subjects: vec![format!("$KV.{name}.>")],
        max_messages_per_subject: 1,
        discard: stream::DiscardPolicy::New,
        allow_rollup: true,
        deny_delete: true,
        allow_direct: false,
        num_replicas: replicas,
        max_age,
        ..Default::default()
    })
    .await
    .map_err(|e| ClusterError::js(&what, e))?;
    js.get_key_value(name)
        .await
        .map_err(|e| ClusterError::js(&what, e))
}

/// The object store `name`, made when missing.
async fn objects(
    js: &jetstream::Context,
    name: &str,
    replicas: usize,
) -> Result<object_store::ObjectStore, ClusterError> {
    if let Ok(store) = js.get_object_store(name).await {
        return Ok(store);
    }
    js.create_object_store(object_store::Config {
        bucket: name.to_string(),
        num_replicas: replicas,
        ..Default::default()
    })
    .await
    .map_err(|e| ClusterError::js(&format!("create object store {name}"), e))
}

/// Milliseconds since the Unix epoch (leases compare them across workers).
pub(crate) fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}
