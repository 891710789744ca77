//! Client-side request budget per Infisical host: for reads and for writes each, a token bucket
//! (short bursts, steady pace) and a sliding window (never more than the budget in any minute,
//! which a bucket alone exceeds by its burst); and a cap on requests in flight. Defaults stay
//! below Infisical Cloud's free-tier limits (200 reads and 90 writes per minute) so a fleet of
//! resources never earns a 429.

use std::collections::VecDeque;
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

/// The span a server's "per minute" is counted over, and a second more: a request admitted here
/// arrives a little later, so windows counted at the server see at most the budget too.
const WINDOW: Duration = Duration::from_secs(61);

/// At most `per_minute` requests start in any [`WINDOW`].
pub struct SlidingWindow {
    per_minute: usize,
    starts: std::sync::Mutex<VecDeque<Instant>>,
}

impl SlidingWindow {
    pub fn per_minute(per_minute: u32) -> Self {
        Self {
            per_minute: per_minute.max(1) as usize,
            starts: std::sync::Mutex::default(),
        }
    }

    pub async fn enter(&self) {
        loop {
            let wait = {
                let mut starts = self.starts.lock().unwrap_or_else(|p| p.into_inner());
                let now = Instant::now();
                while starts.front().is_some_and(|&t| t + WINDOW <= now) {
                    starts.pop_front();
                }
                if starts.len() < self.per_minute {
                    starts.push_back(now);
                    return;
                }
                starts[0] + WINDOW - now
            };
            tokio::time::sleep(wait).await;
        }
    }
}

/// The budget of one host.
pub struct HostBudget {
    reads: (TokenBucket, SlidingWindow),
    writes: (TokenBucket, SlidingWindow),
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
            reads: (
                TokenBucket::per_minute(reads_per_minute),
                SlidingWindow::per_minute(reads_per_minute),
            ),
            writes: (
                TokenBucket::per_minute(writes_per_minute),
                SlidingWindow::per_minute(writes_per_minute),
            ),
            in_flight: Semaphore::new(max_in_flight.max(1)),
        }
    }

    /// Waits for the pace, a slot in flight, and then room in the minute: the window is
    /// entered last, when the request is about to leave, so that a wait for a slot cannot
    /// bunch requests closer together than the window allowed.
    pub async fn admit(&self, kind: Kind) -> SemaphorePermit<'_> {
        let (bucket, window) = match kind {
            Kind::Read => &self.reads,
            Kind::Write => &self.writes,
        };
        bucket.acquire().await;
        let permit = self
            .in_flight
            .acquire()
            .await
            .expect("semaphore is never closed");
        window.enter().await;
        permit
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn no_minute_holds_more_than_the_budget() {
        // A bucket alone lets 60 + its burst of 6 through in the first minute.
        let budget = std::sync::Arc::new(HostBudget::new(150, 60, 8));
        let start = Instant::now();
        let admitted = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let tasks: Vec<_> = (0..200)
            .map(|_| {
                let (budget, admitted) = (budget.clone(), admitted.clone());
                tokio::spawn(async move {
                    let _permit = budget.admit(Kind::Write).await;
                    admitted.lock().unwrap().push(start.elapsed());
                })
            })
            .collect();
        for task in tasks {
            task.await.unwrap();
        }
        let mut times = admitted.lock().unwrap().clone();
        times.sort();
        let busiest = times
            .iter()
            .map(|&t| {
                times
                    .iter()
                    .filter(|&&u| u >= t && u < t + Duration::from_secs(60))
                    .count()
            })
            .max()
            .unwrap();
        assert_eq!(busiest, 60, "the busiest 60 s");
        // And the budget is used: 200 writes at 60 a minute take a little over 2 minutes.
        let last = *times.last().unwrap();
        assert!(
            last > Duration::from_secs(120) && last < Duration::from_secs(200),
            "{last:?}"
        );
    }

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
