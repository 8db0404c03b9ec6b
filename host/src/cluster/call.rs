//! Single tool calls on the cluster (`spud call --nats`, `spud serve --nats`): the submitter
//! resolves the tool in its own registry (an unknown tool or an unapproved digest is refused
//! here, as a local call would be), puts the component in the object store, publishes a
//! `tool_call` task carrying the tool, the arguments, the caller and the approved digest, and
//! waits for the worker's answer: the call's report or the refusal its `Spud` gave, turned back
//! into the same [`CallReport`] or [`SpudError`] a local call gives. The worker runs the call
//! through [`Spud::call_as`] — the caller's tools, the effective grant, the sandbox, the audit
//! record in its own chain — under the lease, heartbeat and ack rules of every task.

use super::error::ClusterError;
use super::submit::Submitter;
use super::wire::{CallAnswer, Refusal, ToolCallTask, WireCaller};
use crate::runtime::{budget_named, CallReport};
use crate::service::{CallDispatch, CallOptions, Caller, RemoteCall, Spud, SpudError};
use serde_json::Value;
use spud_audit::Event;
use spud_task::{key_for, Envelope, TaskKind};
use std::collections::BTreeMap;

/// Where a call through the cluster ran.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallOrigin {
    /// The task's id.
    pub task: String,
    /// The worker that made the call.
    pub worker: String,
    /// Which delivery of the task it ran (1 = first).
    pub delivery: u64,
    /// Whether the call may have run before on another worker (a redelivery).
    pub possibly_repeated: bool,
    /// The digest of the worker's policy it ran under (as on its audit record).
    pub policy_sha256: String,
}

impl Submitter {
    /// Calls `tool` with `input` on behalf of `caller` on some worker and returns its report
    /// and where it ran. Refusals come back as the [`SpudError`] a local call gives; a task
    /// that could not be stored, was not answered within the settings' `call_wait`, or that
    /// the worker could not run is [`SpudError::Elsewhere`].
    pub async fn call_remote(
        &self,
        caller: &Caller,
        tool: &str,
        input: &Value,
    ) -> Result<(CallReport, CallOrigin), SpudError> {
        let digests = self.approved_digest(caller, tool)?;
        let id = new_task_id();
        let body = serde_json::to_value(ToolCallTask {
            tool: tool.to_string(),
            args: input.clone(),
            caller: WireCaller::new(caller),
        })
        .map_err(|e| elsewhere(&id, &ClusterError::data("task", e)))?;
        let envelope = Envelope {
            id: id.clone(),
            kind: TaskKind::ToolCall,
            root: id.clone(),
            lease_ms: self.cluster.settings.ack_wait.as_millis() as u64,
            digests,
            body,
        };
        let key = key_for(&id);
        self.upload(&envelope.digests)
            .await
            .map_err(|e| elsewhere(&id, &e))?;
        self.publish(&key, &id, envelope.to_bytes())
            .await
            .map_err(|e| elsewhere(&id, &e))?;
        let wait = self.cluster.settings.call_wait;
        // A call is short: its answer is looked for early and often.
        let polled = self.answer(&key, std::time::Duration::from_millis(1));
        let answer = tokio::time::timeout(wait, polled)
            .await
            .map_err(|_| {
                SpudError::Elsewhere(format!(
                    "task {id}: no worker answered the call of `{tool}` within {} ms; is a `spud worker` connected to the cluster? (the task stays queued and may still run)",
                    wait.as_millis()
                ))
            })?
            .map_err(|e| elsewhere(&id, &e))?;
        let origin = CallOrigin {
            task: id.clone(),
            worker: answer.worker.clone(),
            delivery: answer.delivery,
            possibly_repeated: answer.possibly_repeated,
            policy_sha256: String::new(),
        };
        let json = answer.outcome.map_err(|reason| {
            SpudError::Elsewhere(format!("task {id}: worker `{}`: {reason}", origin.worker))
        })?;
        match serde_json::from_value::<CallAnswer>(json) {
            Ok(CallAnswer::Ran {
                mut report,
                budget_stop,
                policy_sha256,
            }) => Ok((
                {
                    report.budget_stop = budget_stop.as_deref().and_then(budget_named);
                    *report
                },
                CallOrigin {
                    policy_sha256,
                    ..origin
                },
            )),
            Ok(CallAnswer::Refused(r)) => Err(r.into()),
            Err(e) => Err(SpudError::Elsewhere(format!(
                "task {id}: the answer of worker `{}` does not parse: {e}",
                origin.worker
            ))),
        }
    }

    /// The registered digest of `tool`'s plugin, refused here as a local call would refuse it:
    /// an unknown tool, or a digest this host's policy and lock file do not approve (recorded
    /// as an `access` denial in this host's audit log). A tool the caller may not see goes
    /// without a digest: the worker refuses it, and records the refusal, before it loads any
    /// component.
    fn approved_digest(
        &self,
        caller: &Caller,
        tool: &str,
    ) -> Result<BTreeMap<String, String>, SpudError> {
        if !caller.sees(tool) {
            return Ok(BTreeMap::new());
        }
        let registry = self.spud.registry();
        let (entry, _) = registry.find_tool(tool)?;
        if let Err(SpudError::NotApproved { plugin, message }) = self.spud.check_approved(entry) {
            let detail = format!("call to {tool} denied: {message}");
            let operator = self.spud.operator();
            self.spud.audit().append(Event::access(
                &operator.principal,
                "not_approved",
                &detail,
            ))?;
            return Err(SpudError::NotApproved { plugin, message });
        }
        Ok([(entry.name.clone(), entry.digest.clone())].into())
    }
}

impl CallDispatch for Submitter {
    fn call(&self, caller: &Caller, tool: &str, input: &Value) -> RemoteCall {
        let (s, caller, tool, input) = (
            self.clone(),
            caller.clone(),
            tool.to_string(),
            input.clone(),
        );
        Box::pin(async move {
            s.call_remote(&caller, &tool, &input)
                .await
                .map(|(report, _)| report)
        })
    }
}

/// The worker's side: makes the call through `spud`'s one call path, as `caller`, and answers
/// its report or its refusal.
pub(super) async fn run_call(
    spud: &Spud,
    task: &ToolCallTask,
    caller: &Caller,
) -> Result<Value, String> {
    let called = spud
        .call_as(caller, &task.tool, &task.args, CallOptions::default())
        .await;
    let answer = match called {
        Ok(report) => CallAnswer::Ran {
            budget_stop: report.budget_stop.map(str::to_string),
            report: Box::new(report),
            policy_sha256: spud.policy().digest().to_string(),
        },
        Err(e) => CallAnswer::Refused(Refusal::from(e)),
    };
    serde_json::to_value(&answer).map_err(|e| format!("the call's answer does not encode: {e}"))
}

/// A new task id for one call: `call-<time>-<process>-<random>`, unique across submitters.
fn new_task_id() -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let mut random = [0u8; 6];
    let _ = getrandom::getrandom(&mut random);
    let hex: String = random.iter().map(|b| format!("{b:02x}")).collect();
    format!("call-{now:x}-{:x}-{hex}", std::process::id())
}

/// A cluster failure of task `id` as the call's error.
fn elsewhere(id: &str, e: &ClusterError) -> SpudError {
    SpudError::Elsewhere(format!("task {id}: {e}"))
}
