//! Controller wiring: watches, error policy, concurrency, shutdown.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crate::events::{Recorder, Reporter};
use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::core::v1::Secret;
use kube::Resource;
use kube::core::{DeserializeGuard, PartialObjectMeta};
use kube::runtime::controller::{Action, Config as ControllerConfig, Controller};
use kube::runtime::reflector::{self, ObjectRef};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Api, Client, ResourceExt};
use tokio::sync::watch;

use crate::api::OidcSsoConfig;
use crate::error::{Error, ErrorClass};
use crate::infisical::{HttpSettings, Infisical};
use crate::metrics::Metrics;
use crate::reconcile::cached::{self, Cached};
use crate::reconcile::context::{Context, Settings, memory_key, resource_key};
use crate::reconcile::index::Index;
use crate::reconcile::{reconcile, retry};

/// Everything the operator is configured with (flags, or set directly by tests).
#[derive(Clone, Debug)]
pub struct OperatorConfig {
    /// Namespaces to watch; empty watches all.
    pub namespaces: Vec<String>,
    pub settings: Settings,
    pub http: HttpSettings,
    /// Resources reconciled at once.
    pub concurrency: u16,
    /// Address for /healthz, /readyz and /metrics; `None` serves nothing.
    pub http_address: Option<SocketAddr>,
    /// Name reported on Events.
    pub instance: String,
}

impl Default for OperatorConfig {
    fn default() -> Self {
        Self {
            namespaces: Vec::new(),
            settings: Settings::default(),
            http: HttpSettings::default(),
            concurrency: 8,
            http_address: None,
            instance: "infisical-oidc-operator".into(),
        }
    }
}

/// A running operator, as seen by the HTTP server and tests.
pub struct Handle {
    pub metrics: Arc<Metrics>,
    pub ready: Arc<AtomicBool>,
}

/// Why [`run`] stopped before it was asked to.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Stopped(String);

/// Runs until `shutdown` resolves (in-flight passes finish first), or until a part of the
/// operator ends on its own, which is an error: the process must exit so Kubernetes restarts it,
/// rather than keep answering health checks with nothing reconciled.
pub async fn run(
    client: Client,
    config: OperatorConfig,
    metrics: Arc<Metrics>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), Stopped> {
    let ctx = context(client, &config, metrics);
    run_with(ctx, config, shutdown).await
}

/// The state every pass shares, built from the configuration.
pub fn context(client: Client, config: &OperatorConfig, metrics: Arc<Metrics>) -> Arc<Context> {
    let recorder = Recorder::new(
        client.clone(),
        Reporter {
            controller: "infisical-oidc-operator".into(),
            instance: Some(config.instance.clone()),
        },
    );
    let infisical = Infisical::new(config.http.clone(), metrics.clone());
    Arc::new(Context::new(
        client,
        infisical,
        metrics,
        recorder,
        config.settings.clone(),
        usize::from(config.concurrency),
    ))
}

/// Longest wait for in-flight passes on shutdown: under the kubelet's default 30 s grace period,
/// so a leader still releases its Lease before it is killed.
const DRAIN_LIMIT: Duration = Duration::from_secs(20);

/// [`run`] with a context the caller built (and may keep a handle on).
pub async fn run_with(
    ctx: Arc<Context>,
    config: OperatorConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), Stopped> {
    run_leading(ctx, config, None, shutdown).await
}

/// [`run_with`], reconciling only while `elector` holds the Lease. Until then the replica is a
/// standby: it serves health and metrics, and is ready while it can read the Lease. It exits
/// (an error) when it loses the Lease, so its pod restarts as a standby; on `shutdown` it
/// finishes in-flight passes and releases the Lease for the next leader.
pub async fn run_leading(
    ctx: Arc<Context>,
    config: OperatorConfig,
    mut elector: Option<crate::leader::Elector>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), Stopped> {
    let ready = Arc::new(AtomicBool::new(false));
    let handle = Arc::new(Handle {
        metrics: ctx.metrics.clone(),
        ready: ready.clone(),
    });
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut shutdown = std::pin::pin!(shutdown);

    // A JoinSet aborts its tasks when dropped, so dropping this future stops everything at once.
    let mut tasks = tokio::task::JoinSet::new();
    if let Some(address) = config.http_address {
        let listener = match tokio::net::TcpListener::bind(address).await {
            Ok(listener) => listener,
            Err(error) => {
                return Err(Stopped(format!(
                    "cannot listen on {address} for health and metrics: {error}"
                )));
            }
        };
        tasks.spawn(crate::server::serve(
            listener,
            handle.clone(),
            stop_rx.clone(),
        ));
    }

    if let Some(elector) = elector.as_mut() {
        let standby = elector.lead(|attempt| ready.store(attempt.is_ok(), Ordering::SeqCst));
        tokio::select! {
            () = standby => {}
            () = &mut shutdown => {
                tracing::info!("shutting down a standby");
                return Ok(());
            }
            Some(_) = tasks.join_next() => {
                return Err(Stopped("the health server ended".into()));
            }
        }
        ready.store(false, Ordering::SeqCst);
        tracing::info!(identity = %elector.settings().identity, lease = %elector.settings().lease_name, "leading: reconciling");
    }
    ctx.metrics.leader.set(1);

    let client = ctx.client.clone();
    let scopes: Vec<Option<String>> = if config.namespaces.is_empty() {
        vec![None]
    } else {
        config.namespaces.iter().cloned().map(Some).collect()
    };
    for scope in scopes {
        let future = controller_for(
            client.clone(),
            scope,
            ctx.clone(),
            config.concurrency,
            stop_rx.clone(),
        );
        tasks.spawn(future);
    }

    // Not in `tasks`: these must not hold up shutdown, and ending is not a failure.
    let mut helpers = tokio::task::JoinSet::new();
    helpers.spawn(recovery_probe(ctx.clone()));
    helpers.spawn(forget_unused_instances(ctx.clone()));
    helpers.spawn({
        let ready = ready.clone();
        let stores = ctx.stores();
        async move {
            for store in stores {
                // Store::wait_until_ready wakes only its most recent waiter, and the controller
                // waits on it too: poll briefly in a loop instead of waiting once.
                loop {
                    match tokio::time::timeout(Duration::from_millis(5), store.wait_until_ready())
                        .await
                    {
                        Ok(Ok(())) => break,
                        Ok(Err(_)) => return,
                        Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
                    }
                }
            }
            ready.store(true, Ordering::SeqCst);
            tracing::info!("caches synced; ready");
        }
    });

    let outcome = {
        let leading = async {
            match elector.as_mut() {
                Some(elector) => elector.keep_leading().await,
                None => std::future::pending().await,
            }
        };
        let mut leading = std::pin::pin!(leading);
        let outcome = tokio::select! {
            () = &mut shutdown => {
                tracing::info!("shutting down: finishing in-flight passes");
                Ok(())
            }
            Some(ended) = tasks.join_next() => {
                let why = match ended {
                    Ok(()) => "a controller or the health server ended".to_string(),
                    Err(error) if error.is_panic() => format!("a controller task panicked: {error}"),
                    Err(error) => format!("a controller task was cancelled: {error}"),
                };
                tracing::error!(%why, "stopping the operator");
                Err(Stopped(why))
            }
            why = &mut leading => {
                // The fence is already closed: nothing in flight can write. Stop at once.
                ctx.metrics.leader.set(0);
                tracing::error!(%why, "lost leadership; exiting so that this replica restarts as a standby");
                return Err(Stopped(format!("lost leadership: {why}")));
            }
        };
        ready.store(false, Ordering::SeqCst);
        let _ = stop_tx.send(true);
        helpers.abort_all();
        // In-flight passes may still write: keep renewing while they finish. Bounded, because a
        // controller whose watch keeps failing (a missing CRD) never reports itself done.
        let drained = async { while tasks.join_next().await.is_some() {} };
        tokio::select! {
            () = drained => {}
            () = tokio::time::sleep(DRAIN_LIMIT) => {
                tracing::warn!(limit_s = DRAIN_LIMIT.as_secs(), "in-flight passes did not finish in time; stopping them");
            }
            why = &mut leading => {
                ctx.metrics.leader.set(0);
                return Err(Stopped(format!("lost leadership while shutting down: {why}")));
            }
        }
        outcome
    };
    ctx.metrics.leader.set(0);
    if let Some(elector) = elector.as_mut() {
        match elector.release().await {
            Ok(()) => tracing::info!("released the Lease"),
            Err(error) => {
                tracing::warn!(%error, "cannot release the Lease; another replica takes over once it expires")
            }
        }
    }
    outcome
}

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

type Guarded = DeserializeGuard<OidcSsoConfig>;

fn controller_for(
    client: Client,
    namespace: Option<String>,
    ctx: Arc<Context>,
    concurrency: u16,
    mut stop: watch::Receiver<bool>,
) -> impl Future<Output = ()> + Send {
    let resources: Api<Guarded> = scoped(client.clone(), &namespace);
    let secrets: Api<PartialObjectMeta<Secret>> = scoped(client.clone(), &namespace);
    let (store, writer) = reflector::store();
    ctx.add_store(store.clone());
    let index = Arc::new(Index::default());
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
            Ok(watcher::Event::Delete(cached)) => on_event.forget(&memory_key(cached.meta())),
            Ok(watcher::Event::InitDone) => on_event.prune_memory(),
            _ => {}
        })
        .applied_objects()
        .try_filter(|cached: &Cached| futures::future::ready(cached.asks_for_pass()));
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
    .filter({
        let namespace = namespace.clone();
        move |object: &ObjectRef<Cached>| {
            let in_scope = namespace.is_none() || object.namespace == namespace;
            futures::future::ready(in_scope)
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
        .run(reconcile, error_policy, ctx)
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

/// While resources wait on an Infisical instance that failed, checks it every
/// `recovery_probe_interval` and retries them as soon as it answers, instead of leaving each to
/// its own backoff (up to `max_backoff` after a long outage).
async fn recovery_probe(ctx: Arc<Context>) {
    let mut tick = tokio::time::interval(ctx.settings.recovery_probe_interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        for instance in ctx.waited_on() {
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

/// Resources in the Secret's namespace that reference it by name.
fn referencing(index: &Index, secret: &PartialObjectMeta<Secret>) -> Vec<ObjectRef<Cached>> {
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

/// Names of every Secret a resource reads.
pub fn secret_names(resource: &OidcSsoConfig) -> impl Iterator<Item = &str> {
    crate::reconcile::dereference::secret_names(&resource.spec)
}

/// Failures that escape the pipeline (status writes, finalizer patches, the deletion policy):
/// the same retry policy as failures reported on the object (`reconcile::retry`).
fn error_policy(cached: Arc<Cached>, error: &Error, ctx: Arc<Context>) -> Action {
    let meta = cached.meta();
    let resync = crate::reconcile::validate::parse_resync_interval(
        cached.resync_interval(),
        ctx.settings.default_resync,
    )
    .unwrap_or(ctx.settings.default_resync);
    ctx.metrics.reconcile_error(error.reason());
    let wait = retry::after_failure(&ctx, &memory_key(meta), error, resync);
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
