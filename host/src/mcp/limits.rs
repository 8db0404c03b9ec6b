//! Per-principal limits: calls in flight (a semaphore; over the limit a call is refused at
//! once with a tool error that says so — waiting would hide overload from the client) and
//! request rate (a token bucket; the HTTP layer answers 429 with `Retry-After`).

use crate::service::Caller;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// A principal has as many calls in flight as it may.
#[derive(Debug, Clone, thiserror::Error)]
#[error("busy: principal `{principal}` already has {limit} calls in flight (`max_concurrent = {limit}` under [principals.{principal}] in the policy); retry when one has finished")]
pub struct Busy {
    /// The principal.
    pub principal: String,
    /// Its limit.
    pub limit: u32,
}

/// A principal sent requests faster than its rate.
#[derive(Debug, Clone, thiserror::Error)]
#[error("rate limit: principal `{principal}` may send {per_minute} requests per minute (bursts of {burst}); retry in {retry_after_s} s")]
pub struct RateLimited {
    /// The principal.
    pub principal: String,
    /// Its sustained rate.
    pub per_minute: u32,
    /// Its burst.
    pub burst: u32,
    /// Whole seconds until a request will be accepted again.
    pub retry_after_s: u64,
}

/// A token bucket: `burst` tokens, refilled at `per_minute / 60` per second.
#[derive(Debug)]
pub struct Bucket {
    tokens: f64,
    last: Instant,
    per_second: f64,
    burst: f64,
}

impl Bucket {
    /// A full bucket.
    pub fn new(per_minute: u32, burst: u32) -> Bucket {
        Bucket {
            tokens: f64::from(burst),
            last: Instant::now(),
            per_second: f64::from(per_minute) / 60.0,
            burst: f64::from(burst),
        }
    }

    /// Takes a token at `now`, or says how long until one is there.
    pub fn take(&mut self, now: Instant) -> Result<(), Duration> {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.last = now;
        self.tokens = (self.tokens + elapsed * self.per_second).min(self.burst);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64(
                (1.0 - self.tokens) / self.per_second,
            ))
        }
    }
}

/// The limiters of every principal, created on first use.
#[derive(Default)]
pub struct Limiters {
    semaphores: Mutex<HashMap<String, Arc<Semaphore>>>,
    buckets: Mutex<HashMap<String, Bucket>>,
}

impl Limiters {
    /// A slot for one call of `caller`, held until the permit is dropped. The operator (no
    /// policy principal) is not limited.
    pub fn try_acquire(&self, caller: &Caller) -> Result<Option<OwnedSemaphorePermit>, Busy> {
        let Some(p) = &caller.narrowing else {
            return Ok(None);
        };
        let sem = match self.semaphores.lock() {
            Ok(mut m) => m
                .entry(p.name.clone())
                .or_insert_with(|| Arc::new(Semaphore::new(p.max_concurrent as usize)))
                .clone(),
            Err(_) => return Ok(None),
        };
        sem.try_acquire_owned().map(Some).map_err(|_| Busy {
            principal: p.name.clone(),
            limit: p.max_concurrent,
        })
    }

    /// Counts one request of `caller` against its rate.
    pub fn check_rate(&self, caller: &Caller) -> Result<(), RateLimited> {
        let Some(p) = &caller.narrowing else {
            return Ok(());
        };
        let Ok(mut buckets) = self.buckets.lock() else {
            return Ok(());
        };
        let bucket = buckets
            .entry(p.name.clone())
            .or_insert_with(|| Bucket::new(p.rate_per_minute, p.burst));
        bucket.take(Instant::now()).map_err(|wait| RateLimited {
            principal: p.name.clone(),
            per_minute: p.rate_per_minute,
            burst: p.burst,
            retry_after_s: wait.as_secs_f64().ceil().max(1.0) as u64,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_allows_a_burst_then_the_rate() {
        let mut b = Bucket::new(60, 3); // one per second
        let t0 = Instant::now();
        assert!(b.take(t0).is_ok() && b.take(t0).is_ok() && b.take(t0).is_ok());
        let wait = b.take(t0).unwrap_err();
        assert!(
            wait <= Duration::from_secs(1) && wait > Duration::from_millis(900),
            "{wait:?}"
        );
        assert!(b.take(t0 + Duration::from_millis(1001)).is_ok());
        assert!(b.take(t0 + Duration::from_millis(1002)).is_err());
        // Refill never exceeds the burst.
        let later = t0 + Duration::from_secs(3600);
        assert!((0..3).all(|_| b.take(later).is_ok()));
        assert!(b.take(later).is_err());
    }
}
