//! Controller wiring: watches, error policy, concurrency, shutdown.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::core::v1::Secret;
use kube::core::{DeserializeGuard, PartialObjectMeta};
use kube::runtime::controller::{Action, Config as ControllerConfig, Controller};
use kube::runtime::events::{Recorder, Reporter};
use kube::runtime::reflector::{ObjectRef, Store};
use kube::runtime::watcher;
use kube::{Api, Client, ResourceExt};
use tokio::sync::watch;

use crate::api::OidcSsoConfig;
use crate::error::Error;
use crate::infisical::{HttpSettings, Infisical};
use crate::metrics::Metrics;
use crate::reconcile::context::{Context, Settings, resource_key};
use crate::reconcile::reconcile;
use crate::reconcile::report::backoff;

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

/// Runs until `shutdown` resolves; in-flight passes finish first.
pub async fn run(
    client: Client,
    config: OperatorConfig,
    metrics: Arc<Metrics>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) {
    let ready = Arc::new(AtomicBool::new(false));
    let handle = Arc::new(Handle {
        metrics: metrics.clone(),
        ready: ready.clone(),
    });
    let (stop_tx, stop_rx) = watch::channel(false);

    // A JoinSet aborts its tasks when dropped, so dropping this future stops everything at once.
    let mut tasks = tokio::task::JoinSet::new();
    if let Some(address) = config.http_address {
        tasks.spawn(crate::server::serve(
            address,
            handle.clone(),
            stop_rx.clone(),
        ));
    }

    let recorder = Recorder::new(
        client.clone(),
        Reporter {
            controller: "infisical-oidc-operator".into(),
            instance: Some(config.instance.clone()),
        },
    );
    let infisical = Infisical::new(config.http.clone(), metrics.clone());
    let ctx = Arc::new(Context::new(
        client.clone(),
        infisical,
        metrics.clone(),
        recorder,
        config.settings.clone(),
    ));

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

    // Not in `tasks`: it must not hold up shutdown when caches never sync.
    let mut readiness = tokio::task::JoinSet::new();
    readiness.spawn({
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

    shutdown.await;
    tracing::info!("shutting down: finishing in-flight passes");
    ready.store(false, Ordering::SeqCst);
    let _ = stop_tx.send(true);
    readiness.abort_all();
    while tasks.join_next().await.is_some() {}
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

fn controller_for(
    client: Client,
    namespace: Option<String>,
    ctx: Arc<Context>,
    concurrency: u16,
    mut stop: watch::Receiver<bool>,
) -> impl Future<Output = ()> + Send {
    let resources: Api<DeserializeGuard<OidcSsoConfig>> = scoped(client.clone(), &namespace);
    let secrets: Api<PartialObjectMeta<Secret>> = scoped(client.clone(), &namespace);
    let controller = Controller::new(resources, watcher::Config::default().any_semantic());
    let store = controller.store();
    ctx.add_store(store.clone());
    controller
        .watches(
            secrets,
            watcher::Config::default().any_semantic(),
            move |secret| referencing(&store, &secret),
        )
        .with_config(
            ControllerConfig::default()
                .concurrency(concurrency)
                .debounce(Duration::from_millis(50)),
        )
        .graceful_shutdown_on(async move {
            let _ = stop.wait_for(|stopped| *stopped).await;
        })
        .run(reconcile, error_policy, ctx)
        .for_each(|result| async move {
            match result {
                Ok((object, _)) => tracing::trace!(%object, "reconciled"),
                Err(error) => tracing::debug!(%error, "controller event"),
            }
        })
}

/// Resources in the Secret's namespace that reference it by name.
fn referencing(
    store: &Store<DeserializeGuard<OidcSsoConfig>>,
    secret: &PartialObjectMeta<Secret>,
) -> Vec<ObjectRef<DeserializeGuard<OidcSsoConfig>>> {
    let namespace = secret.namespace();
    let name = secret.name_any();
    store
        .state()
        .into_iter()
        .filter(|guard| {
            let Ok(resource) = &guard.0 else { return false };
            resource.namespace() == namespace && secret_names(resource).any(|n| n == name)
        })
        .map(|guard| ObjectRef::from_obj(&*guard))
        .collect()
}

/// Names of every Secret a resource reads.
pub fn secret_names(resource: &OidcSsoConfig) -> impl Iterator<Item = &str> {
    let spec = &resource.spec;
    let auth = &spec.authentication;
    [
        Some(spec.client_secret_ref.name.as_str()),
        auth.universal_auth
            .as_ref()
            .map(|u| u.credentials_ref.name.as_str()),
        auth.token.as_ref().map(|t| t.secret_ref.name.as_str()),
        spec.ca_bundle_ref.as_ref().map(|c| c.name.as_str()),
    ]
    .into_iter()
    .flatten()
}

/// Failures that escape the pipeline (Kubernetes writes, deletion policy): backoff per resource.
fn error_policy(
    guard: Arc<DeserializeGuard<OidcSsoConfig>>,
    error: &Error,
    ctx: Arc<Context>,
) -> Action {
    let key = match &guard.0 {
        Ok(r) => resource_key(&r.metadata),
        Err(invalid) => resource_key(&invalid.metadata),
    };
    if let Error::Kube(kube::Error::Api(status)) = error
        && status.code == 409
    {
        // Our cached copy was stale: retry soon with the newer one the watch delivers.
        tracing::debug!(resource = %key, "conflict on write; retrying with a fresher copy");
        return Action::requeue(Duration::from_millis(300));
    }
    let mut failures = 0;
    ctx.update_memory(&key, |m| {
        m.consecutive_failures = m.consecutive_failures.saturating_add(1);
        failures = m.consecutive_failures;
    });
    ctx.metrics.reconcile_error(error.reason());
    let wait = backoff(
        ctx.settings.base_backoff,
        ctx.settings.max_backoff,
        failures,
    );
    tracing::warn!(resource = %key, reason = error.reason(), %error, retry_in_s = wait.as_secs_f64(), "reconcile failed");
    Action::requeue(wait)
}
