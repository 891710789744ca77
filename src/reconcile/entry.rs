//! What the controller calls. [`reconcile`] owns the permit, the metrics timer and the tracing
//! span; it reads the resource the cache names (the cache keeps only what routes events, see
//! `cached`) and sends it down one of three paths: a malformed object (`malformed`), a resource
//! being deleted (`delete`), or the pipeline (`sync`). A panic in a pass is caught here and
//! reported on its resource. [`error_policy`] times the retry of a failure that escaped a pass.

use std::sync::Arc;
use std::time::Instant;

use kube::core::DeserializeGuard;
use kube::runtime::controller::Action;
use kube::{Api, Resource, ResourceExt};
use tracing::Instrument;

use super::cached::Cached;
use super::context::Context;
use super::keys::resource_key;
use super::kind::SsoKind;
use super::outcome::Outcome;
use super::{delete, malformed, report, retry, sync, validate};
use crate::api::SsoResource;
use crate::error::{Error, ErrorClass, Result};

/// Entry point for the controller of kind `K`: reads the resource the cache names, then runs a
/// pass over it.
pub async fn reconcile<K: SsoKind>(cached: Arc<Cached<K>>, ctx: Arc<Context>) -> Result<Action> {
    let started = Instant::now();
    ctx.metrics.reconciles.inc();
    // One pass at a time per permit, across every watched namespace.
    let _permit = ctx.permits.acquire().await;
    let api: Api<DeserializeGuard<K::Resource>> = Api::namespaced(
        ctx.client.clone(),
        cached.meta().namespace.as_deref().unwrap_or_default(),
    );
    let result = match api.get_opt(&cached.name_any()).await {
        Ok(Some(guard)) => pass::<K>(guard, &ctx).await,
        // Deleted since the event: its Delete event tidies up.
        Ok(None) => Ok(Action::await_change()),
        Err(error) => Err(error.into()),
    };
    ctx.metrics
        .reconcile_duration
        .observe(started.elapsed().as_secs_f64());
    result
}

/// One pass over a resource as read from the API server, readable or not.
pub async fn pass<K: SsoKind>(
    guard: DeserializeGuard<K::Resource>,
    ctx: &Arc<Context>,
) -> Result<Action> {
    match guard.0 {
        Ok(resource) => {
            // A panic in one resource's pass must not end the controller (kube-runtime does not
            // catch it): it is reported on that resource and retried like a transient failure.
            let pass = std::panic::AssertUnwindSafe(readable::<K>(resource.clone(), ctx));
            match futures::FutureExt::catch_unwind(pass).await {
                Ok(result) => result,
                Err(panic) => report_panic::<K>(ctx, &resource, panic).await,
            }
        }
        Err(invalid) => malformed::report_malformed::<K::Resource>(ctx, &invalid).await,
    }
}

/// A readable resource: deleted, or synced.
async fn readable<K: SsoKind>(resource: K::Resource, ctx: &Arc<Context>) -> Result<Action> {
    // Not `name`: a span's JSON object already has a `name` key, the span's own.
    let kind = K::Resource::kind(&());
    let span = tracing::info_span!("reconcile", %kind, namespace = %resource.namespace().unwrap_or_default(), resource = %resource.name_any(), generation = resource.meta().generation);
    async move {
        ctx.settings.before_pass(&resource);
        if resource.meta().deletion_timestamp.is_some() {
            return delete::delete::<K>(ctx, &resource).await;
        }
        // The finalizer is added by the pipeline, just before the resource first owns a
        // configuration (see `finalizer`); under Observe never.
        sync::<K>(ctx, &resource).await
    }
    .instrument(span)
    .await
}

async fn report_panic<K: SsoKind>(
    ctx: &Context,
    resource: &K::Resource,
    panic: Box<dyn std::any::Any + Send>,
) -> Result<Action> {
    let what = panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic".into());
    tracing::error!(resource = %resource_key(resource.meta()), panic = %what, "a reconcile pass panicked; reporting it on the resource");
    // The panic's text stays in the log: it is not ours to show on the object.
    let resync = validate::resync_interval(resource.spec(), ctx.settings.default_resync)
        .unwrap_or(ctx.settings.default_resync);
    let memory = ctx.memory.of(resource.meta());
    let outcome = Outcome::Failed(Error::Panicked);
    report::report::<K>(ctx, resource, &memory, outcome, None, resync).await
}

/// Failures that escape the pipeline (status writes, finalizer patches, the deletion policy):
/// the same retry policy as failures reported on the object (`retry`).
pub fn error_policy<K: SsoKind>(
    cached: Arc<Cached<K>>,
    error: &Error,
    ctx: Arc<Context>,
) -> Action {
    let meta = cached.meta();
    let resync =
        validate::parse_resync_interval(cached.resync_interval(), ctx.settings.default_resync)
            .unwrap_or(ctx.settings.default_resync);
    ctx.metrics.reconcile_error(error.reason());
    let wait = ctx
        .memory
        .of(meta)
        .update(|m| retry::after_failure(&ctx.settings, m, error, resync));
    let resource = resource_key(meta);
    match error.class() {
        ErrorClass::Permanent => {
            tracing::error!(%resource, reason = error.reason(), %error, retry_in_s = wait.as_secs_f64(), "reconcile failed; needs a change (RBAC, the object, or Infisical) to succeed")
        }
        _ => {
            tracing::warn!(%resource, reason = error.reason(), %error, retry_in_s = wait.as_secs_f64(), "reconcile failed")
        }
    }
    Action::requeue(wait)
}
