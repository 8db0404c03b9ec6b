//! Slots for sub-agents: at most `max_parallel` run at once; the rest wait in an
//! [`AgingQueue`] (priority, first-come ties, aging). A sub-agent that waits for its own
//! sub-agents gives its slot back meanwhile ([`Slot::suspend`]), so nesting never deadlocks.

use super::queue::AgingQueue;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::oneshot;

/// Scheduling figures of one tree of sub-agents.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct SchedulerStats {
    /// Most sub-agents that held a slot at once.
    pub peak_parallel: usize,
    /// Starts that passed over a waiter with a higher own priority (aging at work).
    pub priority_inversions: u64,
    /// Slots granted.
    pub grants: u64,
}

struct State {
    running: usize,
    queue: AgingQueue<oneshot::Sender<()>>,
    stats: SchedulerStats,
}

/// Hands out slots.
pub struct Scheduler {
    state: Mutex<State>,
    origin: Instant,
    max_parallel: usize,
}

impl Scheduler {
    /// At most `max_parallel` (at least 1) slots; a waiter gains one priority level per `aging`.
    pub fn new(max_parallel: usize, aging: Duration) -> Arc<Scheduler> {
        Arc::new(Scheduler {
            state: Mutex::new(State {
                running: 0,
                queue: AgingQueue::new(aging),
                stats: SchedulerStats::default(),
            }),
            origin: Instant::now(),
            max_parallel: max_parallel.max(1),
        })
    }

    /// Figures so far.
    pub fn stats(&self) -> SchedulerStats {
        self.state.lock().map(|s| s.stats).unwrap_or_default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic while holding this lock cannot leave the counters torn in a way that matters
        // more than stopping the run would: keep going with the inner value.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn granted(s: &mut State) {
        s.stats.grants += 1;
        s.stats.peak_parallel = s.stats.peak_parallel.max(s.running);
    }

    /// Waits for a slot at `priority`. Dropping the future gives up the place (or the slot, if
    /// it had just been handed over).
    pub async fn acquire(self: &Arc<Self>, priority: i64) -> Slot {
        self.enqueue(priority).slot().await
    }

    /// Takes a place in line now (a free slot at once if nobody waits); [`Ticket::slot`] waits
    /// for the turn. Taking places in a known order makes the start order deterministic.
    pub fn enqueue(self: &Arc<Self>, priority: i64) -> Ticket {
        let (tx, rx) = oneshot::channel();
        let mut s = self.lock();
        let waiter = if s.running < self.max_parallel && s.queue.is_empty() {
            s.running += 1;
            Self::granted(&mut s);
            None
        } else {
            let seq = s.queue.push(priority, self.origin.elapsed(), tx);
            Some(Waiter {
                scheduler: self.clone(),
                seq,
                rx: Some(rx),
            })
        };
        Ticket {
            scheduler: self.clone(),
            priority,
            waiter,
            granted_now: true,
        }
    }

    async fn wait(self: &Arc<Self>, priority: i64) {
        let mut ticket = self.enqueue(priority);
        ticket.turn().await;
        ticket.granted_now = false;
    }

    /// Gives a slot back: to the next waiter, else to the pool.
    fn release(&self) {
        let mut s = self.lock();
        let now = self.origin.elapsed();
        while let Some(p) = s.queue.pop(now) {
            if p.entry.item.send(()).is_ok() {
                if p.inversion {
                    s.stats.priority_inversions += 1;
                }
                Self::granted(&mut s);
                return;
            }
        }
        s.running = s.running.saturating_sub(1);
    }
}

/// A place in line for a slot.
pub struct Ticket {
    scheduler: Arc<Scheduler>,
    priority: i64,
    /// `None`: the slot was free when the ticket was taken.
    waiter: Option<Waiter>,
    /// Whether dropping the ticket must give back a slot granted at once.
    granted_now: bool,
}

impl Ticket {
    async fn turn(&mut self) {
        if let Some(w) = self.waiter.as_mut() {
            if let Some(rx) = w.rx.as_mut() {
                // The sender is only dropped after a hand-over or with the scheduler.
                let _ = rx.await;
            }
            w.rx = None;
        }
    }

    /// Waits for the turn; dropping the future gives up the place.
    pub async fn slot(mut self) -> Slot {
        self.turn().await;
        self.granted_now = false;
        Slot {
            scheduler: self.scheduler.clone(),
            priority: self.priority,
            state: Mutex::new(SlotState {
                held: true,
                suspended: 0,
                since: None,
                total: Duration::ZERO,
                reacquiring: false,
            }),
        }
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        if self.granted_now && self.waiter.is_none() {
            self.scheduler.release();
        }
    }
}

/// A place in the queue; on drop, leaves the queue or returns a slot handed over too late.
struct Waiter {
    scheduler: Arc<Scheduler>,
    seq: u64,
    rx: Option<oneshot::Receiver<()>>,
}

impl Drop for Waiter {
    fn drop(&mut self) {
        let Some(mut rx) = self.rx.take() else {
            return;
        };
        let still_queued = self.scheduler.lock().queue.remove(self.seq).is_some();
        if !still_queued && rx.try_recv().is_ok() {
            self.scheduler.release();
        }
    }
}

struct SlotState {
    held: bool,
    suspended: u32,
    /// When the current suspension began, and all earlier ones' length (until the slot was
    /// taken again).
    since: Option<Instant>,
    total: Duration,
    /// A resume is waiting for the slot.
    reacquiring: bool,
}

/// A running sub-agent's slot; given back when dropped.
pub struct Slot {
    scheduler: Arc<Scheduler>,
    priority: i64,
    state: Mutex<SlotState>,
}

impl Slot {
    /// The sub-agent starts waiting for one of its own sub-agents: its slot goes back to the
    /// pool while any such wait lasts.
    pub fn suspend(&self) {
        let release = {
            let mut st = self.state.lock().unwrap_or_else(|p| p.into_inner());
            st.suspended += 1;
            if st.suspended == 1 && st.since.is_none() {
                st.since = Some(Instant::now());
            }
            let r = st.suspended == 1 && st.held;
            if r {
                st.held = false;
            }
            r
        };
        if release {
            self.scheduler.release();
        }
    }

    /// A wait started by [`Slot::suspend`] ended; when it was the last, the slot is taken again
    /// (waiting in the queue at this sub-agent's priority).
    pub async fn resume(&self) {
        let reacquire = {
            let mut st = self.state.lock().unwrap_or_else(|p| p.into_inner());
            st.suspended = st.suspended.saturating_sub(1);
            // One resume waits for the slot at a time; another that ends meanwhile goes on.
            let r = st.suspended == 0 && !st.held && !st.reacquiring;
            st.reacquiring |= r;
            r
        };
        if reacquire {
            self.scheduler.wait(self.priority).await;
            let give_back = {
                let mut st = self.state.lock().unwrap_or_else(|p| p.into_inner());
                st.reacquiring = false;
                // Suspended again while waiting: the slot goes straight back, or the new
                // sub-agent would wait for the slot its parent holds.
                let again = st.suspended > 0;
                st.held = !again;
                again
            };
            if give_back {
                self.scheduler.release();
            }
        }
        let mut st = self.state.lock().unwrap_or_else(|p| p.into_inner());
        if st.suspended == 0 && st.held {
            if let Some(t) = st.since.take() {
                st.total += t.elapsed();
            }
        }
    }

    /// How long the slot was given back (suspended, then waiting to be taken again).
    pub fn suspended_for(&self) -> Duration {
        let st = self.state.lock().unwrap_or_else(|p| p.into_inner());
        st.total + st.since.map_or(Duration::ZERO, |t| t.elapsed())
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let held = self.state.lock().map(|s| s.held).unwrap_or(false);
        if held {
            self.scheduler.release();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn waiters_start_by_priority_when_slots_free_up() {
        let s = Scheduler::new(1, Duration::ZERO);
        let first = s.acquire(0).await;
        let order = Arc::new(Mutex::new(Vec::new()));
        let mut tasks = Vec::new();
        for p in [1i64, 5, 3] {
            let (s, order) = (s.clone(), order.clone());
            tasks.push(tokio::spawn(async move {
                let _slot = s.acquire(p).await;
                order.lock().unwrap().push(p);
            }));
            tokio::task::yield_now().await;
        }
        // All three wait; releasing the first slot lets them through one by one.
        while s.lock().queue.len() < 3 {
            tokio::task::yield_now().await;
        }
        drop(first);
        for t in tasks {
            t.await.unwrap();
        }
        assert_eq!(*order.lock().unwrap(), [5, 3, 1]);
        assert_eq!(s.stats().peak_parallel, 1);
        assert_eq!(s.lock().running, 0);
    }

    #[tokio::test]
    async fn a_suspended_slot_lets_a_nested_sub_agent_run() {
        let s = Scheduler::new(1, Duration::ZERO);
        let parent = s.acquire(0).await;
        parent.suspend();
        let child = tokio::time::timeout(Duration::from_secs(5), s.acquire(0))
            .await
            .expect("the child gets the parent's slot");
        tokio::time::sleep(Duration::from_millis(20)).await;
        drop(child);
        parent.resume().await;
        assert_eq!(s.lock().running, 1);
        let away = parent.suspended_for();
        assert!(away >= Duration::from_millis(20), "{away:?}");
        tokio::time::sleep(Duration::from_millis(5)).await;
        assert_eq!(parent.suspended_for(), away, "held again: the count stops");
        drop(parent);
        assert_eq!(s.lock().running, 0);
    }

    #[tokio::test]
    async fn a_suspend_while_resuming_gives_the_slot_straight_back() {
        let s = Scheduler::new(1, Duration::ZERO);
        let parent = Arc::new(s.acquire(0).await);
        parent.suspend();
        let other = s.acquire(0).await; // someone takes the freed slot
                                        // The parent's first sub-agent ends: it waits to take its slot back...
        let p = parent.clone();
        let resuming = tokio::spawn(async move { p.resume().await });
        while s.lock().queue.is_empty() {
            tokio::task::yield_now().await;
        }
        // ...and starts a second sub-agent meanwhile.
        parent.suspend();
        drop(other);
        resuming.await.unwrap();
        // The slot it got back went back to the pool: the second sub-agent can run.
        let child = tokio::time::timeout(Duration::from_secs(5), s.acquire(0))
            .await
            .expect("no deadlock");
        drop(child);
        parent.resume().await;
        assert_eq!(s.lock().running, 1);
        drop(parent);
        assert_eq!(s.lock().running, 0);
    }

    #[tokio::test]
    async fn giving_up_a_place_keeps_the_count_right() {
        let s = Scheduler::new(1, Duration::ZERO);
        let held = s.acquire(0).await;
        let waiting = tokio::time::timeout(Duration::from_millis(20), s.acquire(1)).await;
        assert!(waiting.is_err());
        assert!(s.lock().queue.is_empty());
        drop(held);
        assert_eq!(s.lock().running, 0);
        let _again = s.acquire(0).await;
        assert_eq!(s.lock().running, 1);
    }
}
