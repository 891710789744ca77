//! The watches and what each event asks for: one controller per kind and watched scope, over the
//! resource watch (reduced to what routes events as it arrives, see `reconcile::cached`), the Secrets it
//! reads (metadata only), and the wakeups of resources whose Infisical instance answers again.
//! The process around it (leading, shutdown, background tasks) is `lifecycle`.

use std::sync::Arc;

use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::core::v1::Secret;
use kube::Resource;
use kube::core::{DeserializeGuard, PartialObjectMeta};
use kube::runtime::controller::{Config as ControllerConfig, Controller};
use kube::runtime::reflector::{self, ObjectRef};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Api, Client, ResourceExt};
use tokio::sync::watch;

use crate::reconcile::cached::{self, Cached};
use crate::reconcile::context::Context;
use crate::reconcile::entry::{error_policy, reconcile};
use crate::reconcile::index::Index;
use crate::reconcile::kind::SsoKind;
use crate::reconcile::waiting::Waiter;

fn scoped<K>(client: Client, namespace: &Option<String>) -> Api<K>
where
    K: kube::Resource<Scope = kube::core::NamespaceResourceScope>,
    K::DynamicType: Default,
{
    match namespace {
        Some(ns) => Api::namespaced(client, ns),
        None => Api::all(client),
    }
}

/// The controller of kind `K` in one scope (a namespace, or all of them), until `stop`.
pub fn controller_for<K: SsoKind>(
    client: Client,
    namespace: Option<String>,
    ctx: Arc<Context>,
    concurrency: u16,
    mut stop: watch::Receiver<bool>,
) -> impl Future<Output = ()> + Send {
    let resources: Api<DeserializeGuard<K::Resource>> = scoped(client.clone(), &namespace);
    let secrets: Api<PartialObjectMeta<Secret>> = scoped(client.clone(), &namespace);
    let (store, writer) = reflector::store();
    ctx.add_store(store.clone());
    let index = Arc::new(Index::<K>::default());
    ctx.add_index(index.clone());
    let on_event = ctx.clone();
    let indexed = index.clone();
    let trigger = watcher(resources, watcher::Config::default().any_semantic())
        .default_backoff()
        // The index reads the whole object, event by event (relists included); the cache keeps
        // only what routes events (see `cached`).
        .map_ok({
            let cache = store.clone();
            move |event| {
                indexed.apply(&event);
                cached::event_of(event, |cached| cache.get(&ObjectRef::from_obj(cached)))
            }
        })
        .reflect(writer)
        .inspect(move |event| match event {
            // Memory follows the cache: a deleted resource is forgotten, and after a relist so
            // is anything deleted while the watch was away.
            Ok(watcher::Event::Delete(cached)) => on_event.forget(cached.meta()),
            Ok(watcher::Event::InitDone) => on_event.prune_memory(),
            _ => {}
        })
        .applied_objects()
        .try_filter(|cached: &Cached<K>| futures::future::ready(cached.asks_for_pass()));
    // Resources are listed once the Secrets have been (see `secret_triggers`).
    let (secrets_listed, mut listed) = watch::channel(false);
    let mut pending = Some(trigger);
    let trigger = futures::stream::once(async move {
        let _ = listed.wait_for(|listed| *listed).await;
    })
    .flat_map(move |()| futures::stream::iter(pending.take()).flatten());
    let wakeups = futures::stream::unfold(ctx.wakeups.subscribe(), |mut receiver| async move {
        loop {
            match receiver.recv().await {
                Ok(object) => return Some((object, receiver)),
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
                Err(tokio::sync::broadcast::error::RecvError::Closed) => return None,
            }
        }
    })
    .filter_map({
        let namespace = namespace.clone();
        move |waiter: Waiter| {
            let object = waiter
                .object::<K>()
                .filter(|object: &ObjectRef<Cached<K>>| {
                    namespace.is_none() || object.namespace == namespace
                });
            futures::future::ready(object)
        }
    });
    Controller::for_stream(trigger, store)
        .watches_stream(
            secret_triggers(secret_watch(secrets), secrets_listed),
            move |secret| referencing(&index, &secret),
        )
        .reconcile_on(wakeups)
        // No debounce: the operator's own writes wake nothing (`cached::event_of`), so a
        // new resource's first pass starts as soon as its event arrives.
        .with_config(ControllerConfig::default().concurrency(concurrency))
        .graceful_shutdown_on(async move {
            let _ = stop.wait_for(|stopped| *stopped).await;
        })
        .run(reconcile::<K>, error_policy::<K>, ctx)
        .for_each(|result| async move {
            match result {
                Ok((object, _)) => tracing::trace!(%object, "reconciled"),
                // Already logged and retried by the error policy.
                Err(kube::runtime::controller::Error::ReconcilerFailed(..)) => {}
                // The watch itself failed (a missing CRD, RBAC): retried with backoff, and
                // loud, since nothing is reconciled meanwhile.
                Err(error) => tracing::warn!(%error, "watch failed; retrying"),
            }
        })
}

/// Resources in the Secret's namespace that reference it by name.
fn referencing<K: SsoKind>(
    index: &Index<K>,
    secret: &PartialObjectMeta<Secret>,
) -> Vec<ObjectRef<Cached<K>>> {
    index.referencing(&secret.namespace().unwrap_or_default(), &secret.name_any())
}

type SecretEvent = Result<watcher::Event<PartialObjectMeta<Secret>>, watcher::Error>;

/// The Secret watch: metadata only (an `Api` of `PartialObjectMeta` asks the API server for
/// metadata, so no Secret's data crosses the wire), and without the metadata the operator never
/// reads, dropped as each object arrives: managedFields, and kubectl's last-applied annotation,
/// which for a `kubectl apply`'d Secret holds the Secret's data.
pub fn secret_watch(
    secrets: Api<PartialObjectMeta<Secret>>,
) -> impl futures::Stream<Item = SecretEvent> + Send {
    watcher(secrets, watcher::Config::default().any_semantic())
        .default_backoff()
        .modify(strip_unread_secret_metadata)
}

/// The Secrets whose change asks for a pass. Those of the first listing ask for none: the
/// resources are listed after it (`listed` opens then), and each resource's first pass reads
/// its Secrets anyway; so a start costs one pass per resource, not one more per Secret, and a
/// Secret changed after its listing still arrives as a change. Should the first listing fail,
/// `listed` opens anyway (rotations are then found at resync) and later listings count.
pub fn secret_triggers(
    events: impl futures::Stream<Item = SecretEvent> + Send,
    listed: watch::Sender<bool>,
) -> impl futures::Stream<Item = Result<PartialObjectMeta<Secret>, watcher::Error>> + Send {
    events.filter_map(move |event| {
        let first_listing = !*listed.borrow();
        let trigger = match event {
            Ok(watcher::Event::Init) => None,
            Ok(watcher::Event::InitDone) => {
                listed.send_replace(true);
                None
            }
            Ok(watcher::Event::InitApply(_)) if first_listing => None,
            Ok(
                watcher::Event::InitApply(secret)
                | watcher::Event::Apply(secret)
                | watcher::Event::Delete(secret),
            ) => Some(Ok(secret)),
            Err(error) => {
                listed.send_replace(true);
                Some(Err(error))
            }
        };
        futures::future::ready(trigger)
    })
}

fn strip_unread_secret_metadata(secret: &mut PartialObjectMeta<Secret>) {
    secret.metadata.managed_fields = None;
    if let Some(annotations) = secret.metadata.annotations.as_mut() {
        annotations.remove(LAST_APPLIED);
    }
}

/// kubectl's copy of the whole object as last applied.
const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";

#[cfg(test)]
mod tests {
    use super::*;
    use futures::StreamExt;

    fn secret(name: &str) -> PartialObjectMeta<Secret> {
        let mut secret = PartialObjectMeta::<Secret>::default();
        secret.metadata.name = Some(name.into());
        secret
    }

    fn names(items: Vec<Result<PartialObjectMeta<Secret>, watcher::Error>>) -> Vec<String> {
        items
            .into_iter()
            .map(|i| i.map_or("error".into(), |s| s.name_any()))
            .collect()
    }

    #[tokio::test]
    async fn the_first_listing_of_secrets_triggers_nothing_and_opens_the_resource_watch() {
        use watcher::Event::*;
        let (listed, seen) = watch::channel(false);
        let events = futures::stream::iter([
            Ok(Init),
            Ok(InitApply(secret("listed"))),
            Ok(InitDone),
            Ok(Apply(secret("changed"))),
            Ok(Delete(secret("deleted"))),
            // A later relist (the watch was away): a Secret may have changed meanwhile.
            Ok(Init),
            Ok(InitApply(secret("relisted"))),
            Ok(InitDone),
        ]);
        let triggers: Vec<_> = secret_triggers(events, listed).collect().await;
        assert_eq!(names(triggers), ["changed", "deleted", "relisted"]);
        assert!(*seen.borrow());
    }

    #[tokio::test]
    async fn a_failed_first_listing_still_opens_the_resource_watch() {
        let (listed, seen) = watch::channel(false);
        let events = futures::stream::iter([
            Err(watcher::Error::NoResourceVersion),
            Ok(watcher::Event::Init),
            Ok(watcher::Event::InitApply(secret("listed"))),
        ]);
        let triggers: Vec<_> = secret_triggers(events, listed).collect().await;
        assert!(*seen.borrow());
        assert_eq!(names(triggers), ["error", "listed"]);
    }
}
