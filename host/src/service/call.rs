//! The call path of [`Spud`]: caller check → plugin and tool lookup → grant narrowed by the
//! caller and capped by the call's options → a temporary `/scratch` if asked for → the call in a
//! fresh sandbox → storage measured → audit records.

use super::caller::{Caller, SpudError};
use super::options::{CallOptions, InFlight};
use super::scratch::{new_call_id, temp_scratch_dir, TempDir};
use super::spud::{Loaded, Spud};
use crate::runtime::{CallReport, Entry, RegistryError, Tool};
use crate::sandbox::{CallEnv, Decision, Outcome};
use spud_audit::{Event, Payload};
use spud_policy::{Grant, Payloads};
use std::path::Path;
use std::sync::Arc;

impl Spud {
    /// Calls `tool` (`plugin.function`) with JSON `input` and records it in the audit log.
    pub async fn call(
        &self,
        tool: &str,
        input: &serde_json::Value,
    ) -> Result<CallReport, SpudError> {
        self.call_as(&self.operator(), tool, input, CallOptions::default())
            .await
    }

    /// Calls `tool` on behalf of `caller` (its tool list and narrowed grant apply), with the
    /// limits lowered to `options`' caps. When `options.cancel` fires first — or when this
    /// future is dropped — the sandbox is dropped and the call recorded as `cancelled` (then
    /// [`SpudError::Cancelled`] is returned). A tool the caller may not call is refused and
    /// recorded as an `access` denial.
    pub async fn call_as(
        &self,
        caller: &Caller,
        tool: &str,
        input: &serde_json::Value,
        options: CallOptions,
    ) -> Result<CallReport, SpudError> {
        self.check_sees(caller, tool)?;
        let loaded = self.loaded_for(tool)?;
        let tool_def = self.tool_def(&loaded, tool)?;
        let (tool_def, sent) = super::openapi::bind(&loaded.entry, tool_def, input);
        let env = CallEnv {
            plugin: &loaded.entry.name,
            resolver: self.resolver.clone(),
            guard: self.guard.clone(),
            credentials: self.credentials.clone(),
            meter: options.meter.clone(),
            browser: options.browser.clone(),
        };
        let mut grant = self.grant_for(caller, &loaded);
        let binding = options.cap(&mut grant.limits);
        let (scratch, scratch_decision) =
            mount_temp_scratch(&loaded.entry.manifest.requests, &mut grant)?;
        // Storage: growth of the granted read-write directories across the call.
        let written = written_dirs(&grant, scratch.as_ref());
        let before = crate::storage::snapshot(written.iter().copied());
        let mut flight = InFlight {
            spud: self,
            caller,
            tool,
            entry: &loaded.entry,
            input,
            started: std::time::Instant::now(),
            landed: false,
        };
        let call = crate::runtime::call(&loaded.plugin, &tool_def, &sent, &grant, &env);
        let report = match options.cancel {
            None => call.await,
            Some(token) => tokio::select! {
                r = call => r,
                () = token.cancelled() => {
                    let elapsed_ms = flight.elapsed_ms();
                    flight.landed = true;
                    self.record_cancelled(caller, tool, &loaded.entry, input, elapsed_ms)?;
                    return Err(SpudError::Cancelled { tool: tool.to_string(), elapsed_ms });
                }
            },
        };
        flight.landed = true;
        let mut report = report;
        binding.stop(&mut report);
        report.storage_bytes = crate::storage::growth(written.iter().copied(), &before)
            + scratch
                .as_ref()
                .and_then(|t| crate::storage::dir_bytes(&t.0))
                .unwrap_or(0);
        if let Some(d) = scratch_decision {
            report.decisions.insert(0, d);
        }
        self.record(caller, tool, &loaded.entry, input, &report, grant.payloads)?;
        Ok(report)
    }

    /// A tool the caller may not call is refused, and recorded as an `access` denial.
    fn check_sees(&self, caller: &Caller, tool: &str) -> Result<(), SpudError> {
        if !caller.sees(tool) {
            let detail = format!("call to {tool} refused: not among the caller's tools");
            self.audit
                .append(Event::access(&caller.principal, "tool_denied", &detail))?;
            return Err(SpudError::NotAllowed {
                principal: caller.principal.clone(),
                tool: tool.to_string(),
            });
        }
        Ok(())
    }

    /// The error for a `tool` that cannot be found: the registry's own (with close names).
    fn unknown_tool(&self, tool: &str) -> SpudError {
        SpudError::from(
            self.registry()
                .find_tool(tool)
                .err()
                .unwrap_or(RegistryError::Unknown {
                    name: tool.into(),
                    known: vec![],
                }),
        )
    }

    /// The registered, loaded plugin of `tool` (`plugin.function`).
    fn loaded_for(&self, tool: &str) -> Result<Arc<Loaded>, SpudError> {
        let plugin_name = tool
            .split_once('.')
            .map(|(p, _)| p)
            .ok_or_else(|| self.unknown_tool(tool))?;
        if self.registry().get(plugin_name).is_err() {
            return Err(self.unknown_tool(tool));
        }
        let loaded = self.loaded(plugin_name);
        if let Err(SpudError::NotApproved { message, .. }) = &loaded {
            let detail = format!("call to {tool} denied: {message}");
            self.audit
                .append(Event::access(&self.principal, "not_approved", &detail))?;
        }
        loaded
    }

    /// `tool`'s definition in its loaded plugin.
    fn tool_def<'l>(&self, loaded: &'l Loaded, tool: &str) -> Result<&'l Tool, SpudError> {
        let info = loaded
            .entry
            .tools
            .iter()
            .find(|t| t.name == tool)
            .ok_or_else(|| self.unknown_tool(tool))?;
        loaded
            .plugin
            .tools
            .get(&info.function)
            .ok_or_else(|| self.unknown_tool(tool))
    }

    pub(crate) fn record_cancelled(
        &self,
        caller: &Caller,
        tool: &str,
        entry: &Entry,
        input: &serde_json::Value,
        elapsed_ms: u64,
    ) -> Result<(), SpudError> {
        let args = serde_json::to_vec(input).unwrap_or_default();
        self.audit.append(Event::call(spud_audit::CallEvent {
            call_id: new_call_id(),
            tool: tool.to_string(),
            digest: entry.digest.clone(),
            principal: caller.principal.clone(),
            policy_sha256: self.policy().digest().to_string(),
            outcome: "cancelled".into(),
            message: Some(format!("cancelled by the caller after {elapsed_ms} ms")),
            bytes_in: args.len() as u64,
            bytes_out: 0,
            fuel_used: 0,
            duration_us: elapsed_ms * 1000,
            args: Payload::digest_of(&args),
            result: Payload::digest_of(b"null"),
        }))?;
        Ok(())
    }

    fn record(
        &self,
        caller: &Caller,
        tool: &str,
        entry: &Entry,
        input: &serde_json::Value,
        r: &CallReport,
        payloads: Payloads,
    ) -> Result<(), SpudError> {
        let call_id = new_call_id();
        let mut events: Vec<Event> = r
            .decisions
            .iter()
            .map(|d| {
                Event::capability(
                    &call_id,
                    tool,
                    &entry.digest,
                    d.capability.as_str(),
                    &d.target,
                    d.allowed,
                    &d.reason,
                )
            })
            .collect();
        let args = serde_json::to_vec(input).unwrap_or_default();
        let (result_json, message) = match &r.outcome {
            Outcome::Ok { value } => (value.clone(), None),
            Outcome::ToolError { error } => (error.clone(), Some(r.outcome.message())),
            other => (serde_json::Value::Null, Some(other.message())),
        };
        let result = serde_json::to_vec(&result_json).unwrap_or_default();
        let (args_p, result_p) = match payloads {
            Payloads::Digest => (Payload::digest_of(&args), Payload::digest_of(&result)),
            Payloads::Raw => (
                Payload::with_raw(input.clone()),
                Payload::with_raw(result_json),
            ),
        };
        events.push(Event::call(spud_audit::CallEvent {
            call_id,
            tool: tool.to_string(),
            digest: entry.digest.clone(),
            principal: caller.principal.clone(),
            policy_sha256: self.policy().digest().to_string(),
            outcome: r.outcome.kind().to_string(),
            message,
            bytes_in: args.len() as u64,
            bytes_out: result.len() as u64,
            fuel_used: r.fuel_used,
            duration_us: r.duration_us,
            args: args_p,
            result: result_p,
        }));
        self.audit.append_many(events)?;
        Ok(())
    }
}

/// A requested `/scratch` the policy does not map: a fresh temporary directory for this call
/// only, added to `grant` read-write and removed when the returned [`TempDir`] drops (also when
/// the call is cancelled); with the decision that says so.
fn mount_temp_scratch(
    requests: &spud_policy::Requests,
    grant: &mut Grant,
) -> Result<(Option<TempDir>, Option<Decision>), SpudError> {
    Ok(match spud_policy::temp_scratch(requests, grant) {
        Some(guest) => {
            let (dir, decision) = temp_scratch_dir(guest)?;
            grant.files.push(spud_policy::FileGrant {
                host: dir.0.clone(),
                guest: guest.to_string(),
                access: spud_policy::Access::ReadWrite,
            });
            (Some(dir), Some(decision))
        }
        None => (None, None),
    })
}

/// The granted read-write directories whose growth the call is charged for (the temporary
/// scratch is measured on its own).
fn written_dirs<'g>(grant: &'g Grant, scratch: Option<&TempDir>) -> Vec<&'g Path> {
    grant
        .files
        .iter()
        .filter(|f| f.access == spud_policy::Access::ReadWrite)
        .filter(|f| scratch.is_none_or(|t| t.0 != f.host))
        .map(|f| f.host.as_path())
        .collect()
}
