//! The one retry policy: when a resource is looked at again, and which passes wait instead of
//! calling Infisical. Every pass's outcome (`report`) and every failure that escaped the pipeline
//! (`entry::error_policy`: status writes, finalizer patches, deletion policy) is timed here:
//!
//! - Success: the next drift check after the resync interval, ±10%.
//! - Permanent and Auth: a slow retry at the resync interval. The pass also resumes as soon as
//!   the spec or a referenced Secret changes, since those change its inputs.
//! - RateLimited: the delay Infisical asked for, plus up to a second of jitter.
//! - Transient: exponential backoff with jitter, `base·2^(n-1)` capped at `max_backoff`,
//!   counted per resource and reset by any pass that does not fail transiently.
//!
//! Holds: once an outcome is on the object, passes with the same inputs (our own metadata
//! writes, a Secret event that changed nothing) wait until its retry or resync is due instead of
//! calling Infisical again. A recovered Infisical instance lifts its waiters' holds. Two shorter
//! waits are decided here too: the first pass after a start that finds its status in sync
//! (`resume`), and a pass that read a stale copy of its object ([`STALE_COPY`]).

use std::time::{Duration, Instant};

use rand::Rng;

use super::memory::{Hold, Memory};
use super::settings::Settings;
use crate::error::{Error, ErrorClass};

/// A pass that worked from a copy of its object older than the API server's tries again after
/// this long, with the newer copy.
pub const STALE_COPY: Duration = Duration::from_millis(300);

/// The wait after a pass that ended in sync (or observed): the next drift check.
pub fn after_success(memory: &mut Memory, resync: Duration) -> Duration {
    memory.consecutive_failures = 0;
    jitter(resync)
}

/// Records the failure in the resource's memory and returns how long to wait.
pub fn after_failure(
    settings: &Settings,
    memory: &mut Memory,
    error: &Error,
    resync: Duration,
) -> Duration {
    match error.class() {
        ErrorClass::Permanent | ErrorClass::Auth => {
            memory.consecutive_failures = 0;
            jitter(resync)
        }
        ErrorClass::RateLimited => {
            let asked = error.retry_after().unwrap_or(Duration::from_secs(10));
            asked.min(settings.max_backoff)
                + Duration::from_millis(rand::rng().random_range(0..1000))
        }
        ErrorClass::Transient => {
            memory.consecutive_failures = memory.consecutive_failures.saturating_add(1);
            backoff(
                settings.base_backoff,
                settings.max_backoff,
                memory.consecutive_failures,
            )
        }
    }
}

/// Holds passes with `inputs` until `wait` is over: after a failure, until its retry is due;
/// after a success, until the next resync (a little before, so the timed pass itself runs).
/// Set only once the outcome is on the object, or a held pass could never report it.
pub fn hold_after_outcome(memory: &mut Memory, inputs: Option<[u8; 32]>, wait: Duration) {
    memory.hold = inputs.map(|inputs| Hold {
        inputs,
        until: Instant::now() + wait.saturating_sub(Duration::from_millis(50)),
    });
}

/// Holds passes with `inputs` for exactly `wait` (a deferred first pass, see `resume`).
pub fn hold_for(memory: &mut Memory, inputs: [u8; 32], wait: Duration) {
    memory.hold = Some(Hold {
        inputs,
        until: Instant::now() + wait,
    });
}

/// How long a pass with `inputs` still waits, if a hold covers it.
pub fn held(memory: &Memory, inputs: &[u8; 32]) -> Option<Duration> {
    let hold = memory.hold.as_ref().filter(|h| h.inputs == *inputs)?;
    let now = Instant::now();
    (now < hold.until).then(|| hold.until - now)
}

/// The instance a resource waited on answers again: retry it now, from a fresh backoff.
pub fn lift(memory: &mut Memory) {
    memory.hold = None;
    memory.consecutive_failures = 0;
}

/// Exponential backoff with full jitter on the upper half: base·2^(n-1), capped.
pub fn backoff(base: Duration, cap: Duration, failures: u32) -> Duration {
    let exponent = failures.saturating_sub(1).min(20);
    let ceiling = base.saturating_mul(1u32 << exponent).min(cap);
    let half = ceiling / 2;
    half + Duration::from_secs_f64(rand::rng().random_range(0.0..=half.as_secs_f64().max(0.001)))
}

/// Spreads periodic resyncs of many resources by ±10%.
pub fn jitter(interval: Duration) -> Duration {
    interval.mul_f64(rand::rng().random_range(0.9..1.1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_is_capped() {
        let base = Duration::from_secs(2);
        let cap = Duration::from_secs(300);
        for _ in 0..50 {
            let first = backoff(base, cap, 1);
            assert!(
                first >= Duration::from_secs(1) && first <= Duration::from_secs(2),
                "{first:?}"
            );
            let fifth = backoff(base, cap, 5);
            assert!(
                fifth >= Duration::from_secs(16) && fifth <= Duration::from_secs(32),
                "{fifth:?}"
            );
            let many = backoff(base, cap, 40);
            assert!(many >= Duration::from_secs(150) && many <= cap, "{many:?}");
        }
    }

    #[test]
    fn jitter_stays_within_ten_percent() {
        for _ in 0..50 {
            let j = jitter(Duration::from_secs(600));
            assert!(j >= Duration::from_secs(540) && j <= Duration::from_secs(660));
        }
    }

    #[test]
    fn a_hold_covers_only_its_inputs_and_only_until_it_ends() {
        let mut memory = Memory::default();
        hold_for(&mut memory, [1; 32], Duration::from_secs(60));
        assert!(held(&memory, &[1; 32]).is_some_and(|w| w <= Duration::from_secs(60)));
        assert_eq!(held(&memory, &[2; 32]), None);
        hold_after_outcome(&mut memory, Some([1; 32]), Duration::from_millis(10));
        assert_eq!(held(&memory, &[1; 32]), None, "shorter than the margin");
        hold_after_outcome(&mut memory, None, Duration::from_secs(60));
        assert_eq!(
            memory.hold, None,
            "a pass that read no inputs holds nothing"
        );
        hold_for(&mut memory, [1; 32], Duration::from_secs(60));
        memory.consecutive_failures = 3;
        lift(&mut memory);
        assert_eq!(
            (memory.hold.clone(), memory.consecutive_failures),
            (None, 0)
        );
    }
}
