//! The harness: random bytes → [`Unstructured`] → one case of a target, every case under
//! `catch_unwind`, counted and reported.

use arbitrary::Unstructured;
use std::cell::RefCell;
use std::panic::AssertUnwindSafe;
use std::sync::Once;
use std::time::{Duration, Instant};

/// What one case did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// The input was accepted (and whatever the target checks on accepted input held).
    Accepted,
    /// The input was refused with a typed error.
    Rejected,
    /// A property the target checks did not hold (not a panic): what and on which input.
    Violation(String),
    /// Another process (the server under test) panicked: what it printed.
    Panicked(String),
}

/// The count for one target.
#[derive(Debug, Clone, Default)]
pub struct Tally {
    /// Target name.
    pub target: String,
    /// Cases run.
    pub cases: u64,
    /// Inputs accepted.
    pub accepted: u64,
    /// Inputs refused with a typed error.
    pub rejected: u64,
    /// Panics caught: message, location and the input (shortened).
    pub panics: Vec<String>,
    /// Properties that did not hold.
    pub violations: Vec<String>,
    /// Wall time.
    pub elapsed: Duration,
}

impl Tally {
    /// A new, empty tally.
    pub fn new(target: &str) -> Tally {
        Tally {
            target: target.to_string(),
            ..Tally::default()
        }
    }

    /// Counts one case.
    pub fn add(&mut self, outcome: Result<Verdict, String>) {
        self.cases += 1;
        match outcome {
            Ok(Verdict::Accepted) => self.accepted += 1,
            Ok(Verdict::Rejected) => self.rejected += 1,
            Ok(Verdict::Violation(v)) => self.violations.push(v),
            Ok(Verdict::Panicked(p)) => self.panics.push(p),
            Err(panic) => self.panics.push(panic),
        }
    }

    /// Whether nothing panicked and every property held.
    pub fn clean(&self) -> bool {
        self.panics.is_empty() && self.violations.is_empty()
    }

    /// One line: target, cases, accepted, rejected, panics, violations, time.
    pub fn line(&self) -> String {
        format!(
            "{:<8} {:>8} cases  {:>7} accepted  {:>7} rejected  {} panics  {} violations  {:.1} s",
            self.target,
            self.cases,
            self.accepted,
            self.rejected,
            self.panics.len(),
            self.violations.len(),
            self.elapsed.as_secs_f64()
        )
    }
}

thread_local! {
    /// Set while a case runs on this thread: the panic hook records here instead of printing.
    static CAUGHT: RefCell<Option<String>> = const { RefCell::new(None) };
    static CATCHING: RefCell<bool> = const { RefCell::new(false) };
}

/// Installs (once) a panic hook that records the message and location of a panic inside a
/// case, and leaves every other panic to the default hook.
fn install_hook() {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if CATCHING.with(|c| *c.borrow()) {
                CAUGHT.with(|c| *c.borrow_mut() = Some(info.to_string()));
            } else {
                default(info);
            }
        }));
    });
}

/// Runs one case, catching a panic: `Err` holds the panic's message and location.
pub fn catch<T>(case: impl FnOnce() -> T) -> Result<T, String> {
    install_hook();
    CATCHING.with(|c| *c.borrow_mut() = true);
    let r = std::panic::catch_unwind(AssertUnwindSafe(case));
    CATCHING.with(|c| *c.borrow_mut() = false);
    r.map_err(|_| {
        CAUGHT
            .with(|c| c.borrow_mut().take())
            .unwrap_or_else(|| "panic without a message".into())
    })
}

/// A small deterministic generator (splitmix64) for the bytes each case is drawn from.
#[derive(Debug, Clone)]
pub struct Bytes(u64);

impl Bytes {
    /// Seeded.
    pub fn new(seed: u64) -> Bytes {
        Bytes(seed)
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Between 16 bytes and `max` bytes.
    pub fn draw(&mut self, max: usize) -> Vec<u8> {
        let len = 16 + (self.next() as usize) % max.saturating_sub(16).max(1);
        let mut out = Vec::with_capacity(len + 8);
        while out.len() < len {
            out.extend_from_slice(&self.next().to_le_bytes());
        }
        out.truncate(len);
        out
    }
}

/// A target: one case from the bytes it is given.
pub trait Target {
    /// Its name in reports.
    fn name(&self) -> &'static str;
    /// One case. Running out of bytes is not a failure: the case is then rejected.
    fn case(&mut self, u: &mut Unstructured<'_>) -> arbitrary::Result<Verdict>;
}

/// Runs one case of `target` on `bytes`, catching a panic.
pub fn one(target: &mut dyn Target, bytes: &[u8]) -> Result<Verdict, String> {
    let mut u = Unstructured::new(bytes);
    match catch(|| target.case(&mut u)) {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(_)) => Ok(Verdict::Rejected),
        Err(panic) => {
            let shown = String::from_utf8_lossy(&bytes[..bytes.len().min(64)]).into_owned();
            Err(format!("{panic} (input starts {shown:?})"))
        }
    }
}

/// Runs `cases` cases of `target` from `seed`, each on up to `max_bytes` random bytes.
pub fn run(target: &mut dyn Target, cases: u64, seed: u64, max_bytes: usize) -> Tally {
    let mut tally = Tally::new(target.name());
    let mut bytes = Bytes::new(seed);
    let start = Instant::now();
    for _ in 0..cases {
        let input = bytes.draw(max_bytes);
        tally.add(one(target, &input));
    }
    tally.elapsed = start.elapsed();
    tally
}
