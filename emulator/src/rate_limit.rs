//! Infisical's per-route rate limits (`backend/src/server/config/rateLimiter.ts`): a fixed 60 s
//! window per route, off unless a test sets a limit.
#![allow(clippy::result_large_err)]

use std::time::{Duration, Instant};

use axum::http::HeaderValue;
use axum::response::Response;

use crate::reply::err;
use crate::state::Shared;

#[derive(Clone, Copy)]
pub(crate) enum Class {
    Read,
    Write,
}

pub(crate) fn rate_limit(sh: &Shared, class: Class, route: &str) -> Result<(), Response> {
    let mut inner = sh.lock();
    let limit = match class {
        Class::Read => inner.reads_per_minute,
        Class::Write => inner.writes_per_minute,
    };
    let Some(limit) = limit else { return Ok(()) };
    let now = Instant::now();
    let window = Duration::from_secs(60);
    let entry = inner
        .rate_windows
        .entry(route.to_string())
        .or_insert((now, 0));
    if now.duration_since(entry.0) >= window {
        *entry = (now, 0);
    }
    entry.1 += 1;
    if entry.1 <= limit {
        return Ok(());
    }
    let remaining = window.saturating_sub(now.duration_since(entry.0));
    let secs = remaining.as_secs_f64().ceil().max(1.0) as u64;
    let mut resp = err(
        429,
        "RateLimitExceeded",
        format!("Rate limit exceeded. Please try again in {secs} seconds"),
    );
    let h = resp.headers_mut();
    h.insert("retry-after", HeaderValue::from(secs));
    h.insert("x-ratelimit-limit", HeaderValue::from(limit));
    h.insert("x-ratelimit-remaining", HeaderValue::from(0u32));
    h.insert("x-ratelimit-reset", HeaderValue::from(secs));
    Err(resp)
}
