//! Gives freed heap memory back to the operating system.
//!
//! glibc's allocator keeps memory a thread freed in that thread's arena for reuse, and returns
//! it only from the top of the main heap. After a burst (a start over thousands of resources,
//! a wave of creates) the operator's resident set would stay at the burst's peak; trimming now
//! and then brings it back to what is live.

use std::time::Duration;

/// How often free memory is handed back.
pub const TRIM_EVERY: Duration = Duration::from_secs(30);

/// Returns the allocator's free pages to the system (glibc's `malloc_trim`); a no-op elsewhere.
pub fn release_free_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim takes no pointers and only reorganises the allocator's own free lists;
    // glibc documents it as safe to call at any time from any thread.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Trims every [`TRIM_EVERY`], forever.
pub async fn trim_periodically() {
    let mut tick = tokio::time::interval(TRIM_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        release_free_memory();
    }
}
