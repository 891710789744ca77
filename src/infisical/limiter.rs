//! Client-side request budget per Infisical host: for reads and for writes each, a token bucket
//! (short bursts, steady pace) and a sliding window (never more than the budget in any minute,
//! which a bucket alone exceeds by its burst); and a cap on requests in flight. Defaults stay
//! below Infisical Cloud's free-tier limits (200 reads and 90 writes per minute) so a fleet of
//! resources never earns a 429.
//!
//! Requests carry a [`Priority`]: a background request (a recheck of a resource already in sync)
//! takes no budget while a foreground one (an edit, a rotated Secret, a create, a deletion) waits
//! for the same budget, so a change never queues behind rechecks, which can wait.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::sync::{Mutex, Semaphore, SemaphorePermit};
use tokio::time::Instant;

/// Who goes first when the budget is short.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Priority {
    /// A change to act on, or anything not known to be in sync.
    Foreground,
    /// A recheck of what was in sync when last checked: yields to every foreground request.
    Background,
}

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

    /// Takes a token, waiting for one; while `must_yield()` says so, takes none and looks again
    /// a refill later.
    pub async fn acquire(&self, must_yield: impl Fn() -> bool) {
        loop {
            let wait = {
                let mut state = self.state.lock().await;
                let now = Instant::now();
                let refill = now.duration_since(state.1).as_secs_f64() * self.per_minute / 60.0;
                state.0 = (state.0 + refill).min(self.capacity());
                state.1 = now;
                if must_yield() {
                    Duration::from_secs_f64(60.0 / self.per_minute)
                } else if state.0 >= 1.0 {
                    state.0 -= 1.0;
                    return;
                } else {
                    Duration::from_secs_f64((1.0 - state.0) * 60.0 / self.per_minute)
                }
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

    /// Enters the window, waiting for room; while `must_yield()` says so, does not enter and
    /// looks again a request's share of the window later.
    pub async fn enter(&self, must_yield: impl Fn() -> bool) {
        loop {
            let wait = {
                let mut starts = self.starts.lock().unwrap_or_else(|p| p.into_inner());
                let now = Instant::now();
                while starts.front().is_some_and(|&t| t + WINDOW <= now) {
                    starts.pop_front();
                }
                if must_yield() {
                    WINDOW / self.per_minute as u32
                } else if starts.len() < self.per_minute {
                    starts.push_back(now);
                    return;
                } else {
                    starts[0] + WINDOW - now
                }
            };
            tokio::time::sleep(wait).await;
        }
    }
}

/// The budget of one kind of request at one host.
struct Lane {
    bucket: TokenBucket,
    window: SlidingWindow,
    /// Foreground requests waiting for this budget now.
    foreground_waiting: AtomicUsize,
}

impl Lane {
    fn per_minute(per_minute: u32) -> Self {
        Self {
            bucket: TokenBucket::per_minute(per_minute),
            window: SlidingWindow::per_minute(per_minute),
            foreground_waiting: AtomicUsize::new(0),
        }
    }

    fn must_yield(&self, priority: Priority) -> bool {
        priority == Priority::Background && self.foreground_waiting.load(Ordering::Acquire) > 0
    }
}

/// Counts a foreground request as waiting until it is admitted (or given up).
struct ForegroundWaiting<'a>(&'a AtomicUsize);

impl<'a> ForegroundWaiting<'a> {
    fn new(count: &'a AtomicUsize) -> Self {
        count.fetch_add(1, Ordering::AcqRel);
        Self(count)
    }
}

impl Drop for ForegroundWaiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// The budget of one host.
pub struct HostBudget {
    reads: Lane,
    writes: Lane,
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
            reads: Lane::per_minute(reads_per_minute),
            writes: Lane::per_minute(writes_per_minute),
            in_flight: Semaphore::new(max_in_flight.max(1)),
        }
    }

    /// Waits for the pace, a slot in flight, and then room in the minute: the window is
    /// entered last, when the request is about to leave, so that a wait for a slot cannot
    /// bunch requests closer together than the window allowed. A background request yields at
    /// both waits to any foreground request of the same kind.
    pub async fn admit(&self, kind: Kind, priority: Priority) -> SemaphorePermit<'_> {
        let lane = match kind {
            Kind::Read => &self.reads,
            Kind::Write => &self.writes,
        };
        let _waiting = (priority == Priority::Foreground)
            .then(|| ForegroundWaiting::new(&lane.foreground_waiting));
        let must_yield = || lane.must_yield(priority);
        lane.bucket.acquire(must_yield).await;
        let permit = self
            .in_flight
            .acquire()
            .await
            .expect("semaphore is never closed");
        lane.window.enter(must_yield).await;
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
                    let _permit = budget.admit(Kind::Write, Priority::Foreground).await;
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
    async fn a_foreground_request_goes_ahead_of_queued_background_ones() {
        // 60 writes a minute: a burst of 6, then one a second. Thirty rechecks queue up first.
        let budget = std::sync::Arc::new(HostBudget::new(150, 60, 8));
        let start = Instant::now();
        let admitted = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let spawn = |priority: Priority, label: &'static str| {
            let (budget, admitted) = (budget.clone(), admitted.clone());
            tokio::spawn(async move {
                let _permit = budget.admit(Kind::Write, priority).await;
                admitted.lock().unwrap().push((start.elapsed(), label));
            })
        };
        let background: Vec<_> = (0..30)
            .map(|_| spawn(Priority::Background, "recheck"))
            .collect();
        tokio::time::sleep(Duration::from_millis(3500)).await;
        let edit = spawn(Priority::Foreground, "edit");
        // Reads are a budget of their own: a foreground write does not hold back background reads.
        let read = {
            let budget = budget.clone();
            tokio::spawn(async move {
                let _permit = budget.admit(Kind::Read, Priority::Background).await;
                start.elapsed()
            })
        };
        edit.await.unwrap();
        assert!(read.await.unwrap() < Duration::from_millis(3600));
        for task in background {
            task.await.unwrap();
        }
        let admitted = admitted.lock().unwrap().clone();
        let (edit_at, _) = admitted.iter().find(|(_, l)| *l == "edit").unwrap();
        // The next token after it arrived, at 4 s, ahead of the 21 rechecks still waiting.
        assert!(
            *edit_at >= Duration::from_millis(3500) && *edit_at <= Duration::from_millis(4100),
            "{edit_at:?}"
        );
        let rechecks_before = admitted
            .iter()
            .filter(|(t, l)| *l == "recheck" && t >= &Duration::from_millis(3500) && t < edit_at)
            .count();
        assert_eq!(rechecks_before, 0, "{admitted:?}");
        // Rechecks still get the budget when nothing else wants it: all 30 in about 25 s.
        assert_eq!(admitted.len(), 31);
        let last = admitted.iter().map(|(t, _)| *t).max().unwrap();
        assert!(last < Duration::from_secs(30), "{last:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn bucket_spaces_requests_after_the_burst() {
        let bucket = TokenBucket::per_minute(60); // burst 6, then one per second
        let start = Instant::now();
        for _ in 0..6 {
            bucket.acquire(|| false).await;
        }
        assert!(start.elapsed() < Duration::from_millis(10));
        bucket.acquire(|| false).await;
        bucket.acquire(|| false).await;
        let elapsed = start.elapsed();
        assert!(
            elapsed >= Duration::from_millis(1900) && elapsed < Duration::from_millis(2200),
            "{elapsed:?}"
        );
    }
}
