//! The one retry policy. Every failed pass, whether its error was reported on the object
//! (`report`) or escaped the pipeline (`controller::error_policy`: status writes, finalizer
//! patches, deletion policy), waits as decided here:
//!
//! - Permanent and Auth: a slow retry at the resync interval. The pass also resumes as soon as
//!   the spec or a referenced Secret changes, since those change its inputs.
//! - RateLimited: the delay Infisical asked for, plus up to a second of jitter.
//! - Transient: exponential backoff with jitter, `base·2^(n-1)` capped at `max_backoff`,
//!   counted per resource and reset by any pass that does not fail transiently.

use std::time::Duration;

use rand::Rng;

use crate::error::{Error, ErrorClass};

use super::context::Context;

/// Records the failure against the resource's memory and returns how long to wait.
pub fn after_failure(ctx: &Context, key: &str, error: &Error, resync: Duration) -> Duration {
    let settings = &ctx.settings;
    match error.class() {
        ErrorClass::Permanent | ErrorClass::Auth => {
            ctx.update_memory(key, |m| m.consecutive_failures = 0);
            jitter(resync)
        }
        ErrorClass::RateLimited => {
            let asked = error.retry_after().unwrap_or(Duration::from_secs(10));
            asked.min(settings.max_backoff)
                + Duration::from_millis(rand::rng().random_range(0..1000))
        }
        ErrorClass::Transient => {
            let mut failures = 0;
            ctx.update_memory(key, |m| {
                m.consecutive_failures = m.consecutive_failures.saturating_add(1);
                failures = m.consecutive_failures;
            });
            backoff(settings.base_backoff, settings.max_backoff, failures)
        }
    }
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
}
