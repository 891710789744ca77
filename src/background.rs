//! What runs beside the controllers while the operator leads: the recovery probe, the pruning of
//! unused Infisical clients and tokens, and readiness once every cache has synced.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio::task::JoinSet;

use crate::reconcile::context::Context;

/// Starts the background tasks. They must not hold up shutdown (the caller aborts them), and
/// ending is not a failure.
pub fn spawn(ctx: &Arc<Context>, ready: Arc<AtomicBool>) -> JoinSet<()> {
    let mut tasks = JoinSet::new();
    tasks.spawn(recovery_probe(ctx.clone()));
    tasks.spawn(forget_unused_instances(ctx.clone()));
    tasks.spawn(ready_once_synced(ctx.clone(), ready));
    tasks
}

/// While resources wait on an Infisical instance that failed, checks it every
/// `recovery_probe_interval` and retries them as soon as it answers, instead of leaving each to
/// its own backoff (up to `max_backoff` after a long outage).
async fn recovery_probe(ctx: Arc<Context>) {
    let mut tick = tokio::time::interval(ctx.settings.recovery_probe_interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        for instance in ctx.waiting.instances() {
            if ctx
                .infisical
                .probe(&instance.base, instance.ca_pem.as_deref())
                .await
            {
                ctx.instance_recovered(&instance);
            }
        }
    }
}

/// Longest a token or instance client is kept without use: past the longest resync interval, so
/// resources that resync daily keep their token, while a rotated identity's token goes.
const UNUSED_FOR: Duration = Duration::from_secs(25 * 3600);

async fn forget_unused_instances(ctx: Arc<Context>) {
    let mut tick = tokio::time::interval(Duration::from_secs(600));
    loop {
        tick.tick().await;
        let (instances, tokens) = ctx.infisical.prune_unused(UNUSED_FOR);
        if instances + tokens > 0 {
            tracing::debug!(
                instances,
                tokens,
                "forgot unused Infisical instances and tokens"
            );
        }
    }
}

/// Ready once every watch's cache holds its first listing.
async fn ready_once_synced(ctx: Arc<Context>, ready: Arc<AtomicBool>) {
    for store in ctx.stores() {
        // Store::wait_until_ready wakes only its most recent waiter, and the controller waits on
        // it too: poll briefly in a loop instead of waiting once.
        loop {
            match tokio::time::timeout(Duration::from_millis(5), store.until_ready()).await {
                Ok(true) => break,
                Ok(false) => return,
                Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
    }
    ready.store(true, Ordering::SeqCst);
    tracing::info!("caches synced; ready");
}
