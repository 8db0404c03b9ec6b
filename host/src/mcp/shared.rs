//! [`Shared`]: the state every session of one server shares — spud, options, connected peers,
//! per-principal limiters, calls in flight (for draining at shutdown), the sessions' browsers.

use super::limits::Limiters;
use super::options::ServeOptions;
use crate::service::Spud;
use rmcp::{Peer, RoleServer};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::{broadcast, Notify};
use tokio_util::sync::CancellationToken;

/// State shared by every session of one server.
pub struct Shared {
    /// The host.
    pub spud: Arc<Spud>,
    /// Settings.
    pub options: ServeOptions,
    /// Fires (with a generation number) when the tool list changed.
    pub changes: broadcast::Sender<u64>,
    /// Sessions that completed the `initialize` handshake, told about list changes.
    pub(super) peers: Mutex<Vec<Peer<RoleServer>>>,
    /// Per-principal concurrency and rate limits.
    pub limiters: Limiters,
    /// Calls in flight (for graceful shutdown).
    pub(super) in_flight: AtomicUsize,
    pub(super) idle: Notify,
    /// Cancelled when the grace period after a shutdown signal is over.
    pub hard_stop: CancellationToken,
    /// The browsers of the sessions, one each (closed at shutdown).
    pub browsers: Arc<super::browsers::Browsers>,
}

impl Shared {
    /// State for a server over `spud`.
    pub fn new(spud: Arc<Spud>, options: ServeOptions) -> Arc<Shared> {
        Arc::new(Shared {
            spud,
            options,
            changes: broadcast::channel(16).0,
            peers: Mutex::new(Vec::new()),
            limiters: Limiters::default(),
            in_flight: AtomicUsize::new(0),
            idle: Notify::new(),
            hard_stop: CancellationToken::new(),
            browsers: Arc::default(),
        })
    }

    /// Records an access decision; a failure to record is logged, not fatal to the refusal.
    pub fn access(&self, principal: &str, action: &str, detail: &str) {
        let event = spud_audit::Event::access(principal, action, detail);
        if let Err(e) = self.spud.audit().append(event) {
            tracing::error!("audit: cannot record {action} for {principal}: {e}");
        }
    }

    /// Tells every handshake-era session that the tool list changed; forgets closed ones.
    pub async fn notify_list_changed(&self) {
        let peers: Vec<Peer<RoleServer>> = match self.peers.lock() {
            Ok(mut p) => {
                p.retain(|peer| !peer.is_transport_closed());
                p.clone()
            }
            Err(_) => return,
        };
        for peer in peers {
            if let Err(e) = peer.notify_tool_list_changed().await {
                tracing::debug!("list_changed not delivered: {e}");
            }
        }
    }

    /// Waits for calls in flight to finish, at most the grace period, then cancels the rest
    /// (each is recorded as `cancelled`) and waits for them to unwind.
    pub async fn drain(&self) {
        let wait_idle = async {
            loop {
                let notified = self.idle.notified();
                if self.in_flight.load(Ordering::SeqCst) == 0 {
                    return;
                }
                notified.await;
            }
        };
        if tokio::time::timeout(self.options.grace, wait_idle)
            .await
            .is_err()
        {
            tracing::warn!(
                "{} calls still running after {:?}; cancelling them",
                self.in_flight.load(Ordering::SeqCst),
                self.options.grace
            );
        }
        self.hard_stop.cancel();
        let unwound = async {
            loop {
                let notified = self.idle.notified();
                if self.in_flight.load(Ordering::SeqCst) == 0 {
                    return;
                }
                notified.await;
            }
        };
        let _ = tokio::time::timeout(std::time::Duration::from_secs(5), unwound).await;
    }

    pub(super) fn enter(self: &Arc<Self>) -> InFlight {
        self.in_flight.fetch_add(1, Ordering::SeqCst);
        InFlight(self.clone())
    }
}

/// Counts one call in flight until dropped.
pub(super) struct InFlight(Arc<Shared>);

impl Drop for InFlight {
    fn drop(&mut self) {
        if self.0.in_flight.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.0.idle.notify_waiters();
        }
    }
}
