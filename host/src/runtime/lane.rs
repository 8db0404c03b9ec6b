//! Where guest code runs: every call on a thread of its own (a *lane*), never on the async
//! runtime's worker threads.
//!
//! A guest that computes runs until its next epoch check without returning to the runtime; on
//! a worker thread it would hold that worker, and with every worker held the runtime polls no
//! socket, no pipe and no timer, so a trivial call waits behind the busy ones (565 ms behind
//! four CPU-bound calls on two cores, measured over MCP stdio). On a lane it holds only its own
//! thread: the runtime's workers stay free for I/O, and the operating system shares the cores
//! between lanes.
//!
//! A call that has computed for [`DEMOTE_AFTER`] is *demoted*: its lane lowers its own
//! scheduling priority (nice [`DEMOTED_NICE`] on Linux), so short calls and the server's own
//! threads go first and long calls share what is left among themselves, the way a multi-level
//! feedback queue does. An unprivileged thread cannot raise its priority again, so a demoted
//! lane ends with its call; a lane that stayed at normal priority waits for the next call
//! (at most [`MAX_IDLE`] lanes wait).
//!
//! The call's future is driven on its lane by the runtime's handle (`Handle::block_on`), so its
//! I/O and timers still run on the runtime. Dropping the waiting future cancels the call on its
//! lane at its next await (a guest that computes yields at every other epoch tick).

use std::cell::Cell;
use std::future::Future;
use std::sync::mpsc;
use std::sync::Mutex;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// How long a call computes on its lane before the lane is demoted.
pub const DEMOTE_AFTER: Duration = Duration::from_millis(10);

/// The nice value a demoted lane runs at (0 is normal, 19 the lowest).
pub const DEMOTED_NICE: i32 = 10;

/// Lanes kept waiting for the next call.
pub const MAX_IDLE: usize = 16;

type Job = Box<dyn FnOnce() + Send + 'static>;

/// Senders of the lanes waiting for a call.
static IDLE: Mutex<Vec<mpsc::Sender<Job>>> = Mutex::new(Vec::new());

thread_local! {
    /// On a lane: whether it has been demoted (`None`: not a lane).
    static LANE: Cell<Option<bool>> = const { Cell::new(None) };
}

/// Runs `work` on a lane and returns its output; `None` if the lane ended without one (it
/// panicked). Without a tokio runtime around, `work` runs here.
pub async fn run<F>(work: F) -> Option<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    let Ok(handle) = tokio::runtime::Handle::try_current() else {
        return Some(work.await);
    };
    let stop = CancellationToken::new();
    // Dropped with this future (the caller gave up): the call on the lane is dropped too.
    let _guard = stop.clone().drop_guard();
    let (tx, rx) = tokio::sync::oneshot::channel();
    dispatch(Box::new(move || {
        let out = handle.block_on(async move {
            tokio::select! {
                r = work => Some(r),
                () = stop.cancelled() => None,
            }
        });
        if let Some(out) = out {
            let _ = tx.send(out);
        }
    }));
    rx.await.ok()
}

/// Called at the epoch checks of a call that has computed for `computed`: past
/// [`DEMOTE_AFTER`], a lane lowers its priority (once).
pub fn maybe_demote(computed: Duration) {
    if computed < DEMOTE_AFTER {
        return;
    }
    LANE.with(|l| {
        if l.get() == Some(false) {
            lower_priority();
            l.set(Some(true));
        }
    });
}

/// Hands `job` to a waiting lane, or starts a new one.
fn dispatch(mut job: Job) {
    loop {
        let waiting = IDLE.lock().ok().and_then(|mut idle| idle.pop());
        match waiting {
            Some(tx) => match tx.send(job) {
                Ok(()) => return,
                Err(mpsc::SendError(j)) => job = j,
            },
            None => break,
        }
    }
    let spawned = std::thread::Builder::new()
        .name("spud-lane".into())
        .spawn(move || lane(job));
    if let Err(e) = spawned {
        // The job (and with it the answer's sender) is gone: the caller sees no output.
        tracing::error!("cannot start a thread for a call: {e}");
    }
}

/// A lane's life: its first job, then the next ones while it keeps normal priority.
fn lane(first: Job) {
    LANE.with(|l| l.set(Some(false)));
    let mut job = first;
    loop {
        job();
        if LANE.with(|l| l.get()) != Some(false) {
            return;
        }
        let (tx, rx) = mpsc::channel();
        match IDLE.lock() {
            Ok(mut idle) if idle.len() < MAX_IDLE => idle.push(tx),
            _ => return,
        }
        match rx.recv() {
            Ok(next) => job = next,
            Err(_) => return,
        }
    }
}

/// Lowers the calling thread's scheduling priority to [`DEMOTED_NICE`] (Linux: the nice
/// value is per thread).
#[cfg(target_os = "linux")]
fn lower_priority() {
    // SAFETY: setpriority only reads its integer arguments; `who = 0` is the calling thread.
    let r = unsafe { libc::setpriority(libc::PRIO_PROCESS, 0, DEMOTED_NICE) };
    if r != 0 {
        tracing::debug!(
            "could not lower a lane's priority: {}",
            std::io::Error::last_os_error()
        );
    }
}

#[cfg(not(target_os = "linux"))]
fn lower_priority() {}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn work_runs_on_a_lane_and_the_lane_is_reused() {
        let name = || std::thread::current().name().map(str::to_string);
        let first = run(async move { (name(), std::thread::current().id()) })
            .await
            .expect("the lane answered");
        assert_eq!(first.0.as_deref(), Some("spud-lane"));
        // Other tests of this binary run calls on lanes at the same time and may take the
        // lane that just finished, so the check is that *some* lane is used again, with a
        // moment between calls for a lane to return to the idle list after it answered.
        let mut seen = std::collections::HashSet::from([first.1]);
        let mut calls = 1;
        for _ in 0..20 {
            tokio::time::sleep(Duration::from_millis(2)).await;
            let id = run(async { std::thread::current().id() }).await;
            seen.extend(id);
            calls += 1;
        }
        assert!(
            seen.len() < calls,
            "a lane at normal priority takes a next call: {calls} calls ran on {} threads",
            seen.len()
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_demoted_lane_is_not_reused() {
        let id = run(async {
            maybe_demote(DEMOTE_AFTER);
            std::thread::current().id()
        })
        .await;
        for _ in 0..20 {
            let next = run(async { std::thread::current().id() }).await;
            assert_ne!(next, id, "a demoted lane ends with its call");
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn dropping_the_caller_cancels_the_work() {
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let work = run(async move {
            let _tx = tx; // dropped when the work is dropped
            std::future::pending::<()>().await;
        });
        let _ = tokio::time::timeout(Duration::from_millis(50), work).await;
        let closed = tokio::time::timeout(Duration::from_secs(5), rx).await;
        assert!(matches!(closed, Ok(Err(_))), "the work was dropped");
    }
}
