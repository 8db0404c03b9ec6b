//! Approval of sub-agents that may use plugins the policy marks `approval = true`: the request
//! rises to the root of the tree, whose [`Approver`] decides — the person at the terminal for
//! `spud run`, nobody (denied) when spud is not interactive.

use std::io::{BufRead, IsTerminal, Write};

/// What a sub-agent asks to be approved for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApprovalRequest {
    /// The sub-agent's run id.
    pub sub_agent: String,
    /// Its goal.
    pub goal: String,
    /// Who asks (the parent's principal).
    pub principal: String,
    /// Plugins marked for approval it could call.
    pub plugins: Vec<String>,
}

impl std::fmt::Display for ApprovalRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "sub-agent {} ({:?}, for {}) may use {}",
            self.sub_agent,
            self.goal,
            self.principal,
            self.plugins.join(", ")
        )
    }
}

/// Decides approval requests.
#[async_trait::async_trait]
pub trait Approver: Send + Sync {
    /// Whether the sub-agent may start.
    async fn approve(&self, request: &ApprovalRequest) -> bool;
}

/// Asks on the terminal, one request at a time; anything but `y`/`yes` denies.
#[derive(Default)]
pub struct TerminalApprover {
    one_at_a_time: tokio::sync::Mutex<()>,
}

impl TerminalApprover {
    /// An approver when stdin and stderr are a terminal; `None` otherwise (requests are then
    /// denied).
    pub fn if_interactive() -> Option<TerminalApprover> {
        (std::io::stdin().is_terminal() && std::io::stderr().is_terminal())
            .then(TerminalApprover::default)
    }
}

#[async_trait::async_trait]
impl Approver for TerminalApprover {
    async fn approve(&self, request: &ApprovalRequest) -> bool {
        let _turn = self.one_at_a_time.lock().await;
        let prompt = format!("approve: {request}? [y/N] ");
        tokio::task::spawn_blocking(move || {
            let mut err = std::io::stderr();
            let _ = write!(err, "{prompt}");
            let _ = err.flush();
            let mut line = String::new();
            if std::io::stdin().lock().read_line(&mut line).is_err() {
                return false;
            }
            matches!(line.trim().to_ascii_lowercase().as_str(), "y" | "yes")
        })
        .await
        .unwrap_or(false)
    }
}
