//! Whole runs as tasks (`spud run --nats URL --plan FILE --on-worker`): the root run itself goes
//! to a worker, which runs it as its own root — scheduler, shares and budget ledger there — and
//! hands the run's sub-agents back to the cluster, so they spread over the workers. The
//! submitting process only waits for the report: a run that must outlive the machine it was
//! started from.

use super::error::ClusterError;
use super::submit::Submitter;
use super::wire::{RunTask, SubAgentTask};
use crate::plan::Plan;
use crate::service::Caller;
use serde_json::Value;
use spud_task::{key_for, Envelope, TaskKind};
use std::time::Duration;

/// A whole run's report, as the worker that ran it sent it.
#[derive(Debug, Clone)]
pub struct WholeRun {
    /// The worker that ran it.
    pub worker: String,
    /// Which delivery of the task it was (above 1: the first worker stopped answering).
    pub delivery: u64,
    /// Its report (what `spud run --json` prints for a local run).
    pub report: Value,
}

impl Submitter {
    /// Runs `plan` as run `id` on some worker, on behalf of `caller` (with the worker's memory
    /// of past runs when `memory`), and waits for its report (as long as it takes: the run's
    /// own budget and deadline bound it on the worker).
    pub async fn run_whole(
        &self,
        id: &str,
        plan: Plan,
        caller: &Caller,
        memory: bool,
    ) -> Result<WholeRun, ClusterError> {
        let task = RunTask {
            run: SubAgentTask::new(plan, caller),
            memory,
        };
        let body = serde_json::to_value(task).map_err(|e| ClusterError::data("task", e))?;
        let envelope = Envelope {
            id: id.to_string(),
            kind: TaskKind::Run,
            root: id.to_string(),
            lease_ms: self.cluster.settings.ack_wait.as_millis() as u64,
            digests: self.digests(&body),
            body,
        };
        let key = key_for(id);
        self.upload(&envelope.digests).await?;
        self.publish(&key, id, envelope.to_bytes()).await?;
        let answer = self.answer(&key, Duration::from_millis(50)).await?;
        match answer.outcome {
            Ok(report) => Ok(WholeRun {
                worker: answer.worker,
                delivery: answer.delivery,
                report,
            }),
            Err(reason) => Err(ClusterError::Task {
                task: id.to_string(),
                reason: format!("worker `{}`: {reason}", answer.worker),
            }),
        }
    }
}
