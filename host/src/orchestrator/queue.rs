//! The wait queue of sub-agents, pure: highest effective priority first, ties first-come.
//! Effective priority = priority + time waited ÷ `aging` (in whole steps), so a low-priority
//! sub-agent cannot starve: it gains one priority level per `aging` it waits.

use std::time::Duration;

/// One waiting entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Waiting<T> {
    /// Its own priority (higher runs first).
    pub priority: i64,
    /// Arrival order, for first-come ties.
    pub seq: u64,
    /// When it started waiting (any monotonic clock, as a duration since an origin).
    pub since: Duration,
    /// What waits.
    pub item: T,
}

/// A priority queue with aging.
#[derive(Debug)]
pub struct AgingQueue<T> {
    entries: Vec<Waiting<T>>,
    next_seq: u64,
    aging: Duration,
}

/// What [`AgingQueue::pop`] hands out.
#[derive(Debug, PartialEq, Eq)]
pub struct Popped<T> {
    /// The entry.
    pub entry: Waiting<T>,
    /// Whether an entry with a higher own priority was passed over (thanks to aging): a
    /// priority inversion, counted in the scheduling figures.
    pub inversion: bool,
}

impl<T> AgingQueue<T> {
    /// An empty queue; `aging` of zero turns aging off.
    pub fn new(aging: Duration) -> AgingQueue<T> {
        AgingQueue {
            entries: Vec::new(),
            next_seq: 0,
            aging,
        }
    }

    /// Entries waiting.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether nothing waits.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Adds `item` with `priority` at time `now`; returns its sequence number.
    pub fn push(&mut self, priority: i64, now: Duration, item: T) -> u64 {
        let seq = self.next_seq;
        self.next_seq += 1;
        self.entries.push(Waiting {
            priority,
            seq,
            since: now,
            item,
        });
        seq
    }

    /// The priority an entry has at `now`, aging included.
    pub fn effective(&self, w: &Waiting<T>, now: Duration) -> i64 {
        if self.aging.is_zero() {
            return w.priority;
        }
        let waited = now.saturating_sub(w.since);
        let steps = (waited.as_nanos() / self.aging.as_nanos()).min(i64::MAX as u128) as i64;
        w.priority.saturating_add(steps)
    }

    /// Removes and returns the entry to run next at `now`.
    pub fn pop(&mut self, now: Duration) -> Option<Popped<T>> {
        let best = self
            .entries
            .iter()
            .enumerate()
            .max_by(|(_, a), (_, b)| {
                self.effective(a, now)
                    .cmp(&self.effective(b, now))
                    .then(b.seq.cmp(&a.seq))
            })
            .map(|(i, _)| i)?;
        let entry = self.entries.swap_remove(best);
        let inversion = self.entries.iter().any(|w| w.priority > entry.priority);
        Some(Popped { entry, inversion })
    }

    /// Removes the entry with sequence number `seq` (a waiter that gave up).
    pub fn remove(&mut self, seq: u64) -> Option<T> {
        let i = self.entries.iter().position(|w| w.seq == seq)?;
        Some(self.entries.swap_remove(i).item)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn highest_priority_first_ties_first_come() {
        let mut q = AgingQueue::new(Duration::ZERO);
        q.push(1, ms(0), "low");
        q.push(5, ms(1), "high-a");
        q.push(5, ms(2), "high-b");
        q.push(3, ms(3), "mid");
        let order: Vec<&str> = std::iter::from_fn(|| q.pop(ms(10)).map(|p| p.entry.item)).collect();
        assert_eq!(order, ["high-a", "high-b", "mid", "low"]);
    }

    #[test]
    fn aging_lets_a_long_waiter_through_and_counts_the_inversion() {
        let mut q = AgingQueue::new(ms(100));
        q.push(0, ms(0), "old-low");
        q.push(3, ms(950), "new-high");
        // At 1000 ms the old entry has aged 10 levels: 10 > 3.
        let p = q.pop(ms(1000)).unwrap();
        assert_eq!(p.entry.item, "old-low");
        assert!(p.inversion);
        let p = q.pop(ms(1000)).unwrap();
        assert_eq!(p.entry.item, "new-high");
        assert!(!p.inversion);
        assert!(q.pop(ms(1000)).is_none());
    }

    #[test]
    fn without_enough_waiting_priority_wins() {
        let mut q = AgingQueue::new(ms(100));
        q.push(0, ms(0), "low");
        q.push(3, ms(0), "high");
        assert_eq!(q.pop(ms(250)).unwrap().entry.item, "high");
    }

    #[test]
    fn removed_waiters_are_gone() {
        let mut q = AgingQueue::new(Duration::ZERO);
        let a = q.push(1, ms(0), "a");
        q.push(1, ms(0), "b");
        assert_eq!(q.remove(a), Some("a"));
        assert_eq!(q.remove(a), None);
        assert_eq!(q.len(), 1);
        assert_eq!(q.pop(ms(0)).unwrap().entry.item, "b");
        assert!(q.is_empty());
    }
}
