//! Client-side request budget per Infisical host: a token bucket for reads, one for writes,
//! and a cap on requests in flight. Defaults stay below Infisical Cloud's free-tier limits
//! (200 reads and 90 writes per minute) so a fleet of resources never earns a 429.

use std::time::Duration;

use tokio::sync::{Mutex, Semaphore, SemaphorePermit};
use tokio::time::Instant;

pub struct TokenBucket {
    per_minute: f64,
    state: Mutex<(f64, Instant)>,
}

impl TokenBucket {
    /// A bucket refilled at `per_minute`, holding at most a tenth of a minute's worth
    /// (at least one), so bursts stay short.
    pub fn per_minute(per_minute: u32) -> Self {
        let per_minute = f64::from(per_minute.max(1));
        Self {
            per_minute,
            state: Mutex::new(((per_minute / 10.0).max(1.0), Instant::now())),
        }
    }

    fn capacity(&self) -> f64 {
        (self.per_minute / 10.0).max(1.0)
    }

    pub async fn acquire(&self) {
        loop {
            let wait = {
                let mut state = self.state.lock().await;
                let now = Instant::now();
                let refill = now.duration_since(state.1).as_secs_f64() * self.per_minute / 60.0;
                state.0 = (state.0 + refill).min(self.capacity());
                state.1 = now;
                if state.0 >= 1.0 {
                    state.0 -= 1.0;
                    return;
                }
                Duration::from_secs_f64((1.0 - state.0) * 60.0 / self.per_minute)
            };
            tokio::time::sleep(wait).await;
        }
    }
}

/// The budget of one host.
pub struct HostBudget {
    reads: TokenBucket,
    writes: TokenBucket,
    in_flight: Semaphore,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Read,
    Write,
}

impl HostBudget {
    pub fn new(reads_per_minute: u32, writes_per_minute: u32, max_in_flight: usize) -> Self {
        Self {
            reads: TokenBucket::per_minute(reads_per_minute),
            writes: TokenBucket::per_minute(writes_per_minute),
            in_flight: Semaphore::new(max_in_flight.max(1)),
        }
    }

    pub async fn admit(&self, kind: Kind) -> SemaphorePermit<'_> {
        match kind {
            Kind::Read => self.reads.acquire().await,
            Kind::Write => self.writes.acquire().await,
        }
        self.in_flight
            .acquire()
            .await
            .expect("semaphore is never closed")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn bucket_spaces_requests_after_the_burst() {
        let bucket = TokenBucket::per_minute(60); // burst 6, then one per second
        let start = Instant::now();
        for _ in 0..6 {
            bucket.acquire().await;
        }
        assert!(start.elapsed() < Duration::from_millis(10));
        bucket.acquire().await;
        bucket.acquire().await;
        let elapsed = start.elapsed();
        assert!(
            elapsed >= Duration::from_millis(1900) && elapsed < Duration::from_millis(2200),
            "{elapsed:?}"
        );
    }
}
