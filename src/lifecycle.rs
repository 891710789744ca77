//! The operator's life as a process: serve health and metrics, stand by until it leads (with
//! leader election), run a controller per watched scope and the background tasks, and stop,
//! draining in-flight passes and releasing the Lease. The watches themselves are `controller`.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use kube::Client;
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::events::{Recorder, Reporter};
use crate::infisical::{HttpSettings, Infisical};
use crate::leader::Elector;
use crate::metrics::Metrics;
use crate::reconcile::context::{Context, Settings};
use crate::reconcile::ldap::Ldap;
use crate::reconcile::oidc::Oidc;
use crate::reconcile::saml::Saml;
use crate::server::Health;

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
    mut elector: Option<Elector>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), Stopped> {
    let ready = Arc::new(AtomicBool::new(false));
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut shutdown = std::pin::pin!(shutdown);

    // A JoinSet aborts its tasks when dropped, so dropping this future stops everything at once.
    let mut tasks = JoinSet::new();
    if let Some(address) = config.http_address {
        let health = Arc::new(Health {
            metrics: ctx.metrics.clone(),
            ready: ready.clone(),
        });
        serve_health(address, health, stop_rx.clone(), &mut tasks).await?;
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

    // One controller per kind and scope; they share the context (the budget, the permits,
    // the memory and the instances' state).
    for scope in scopes(&config) {
        tasks.spawn(crate::controller::controller_for::<Oidc>(
            ctx.client.clone(),
            scope.clone(),
            ctx.clone(),
            config.concurrency,
            stop_rx.clone(),
        ));
        tasks.spawn(crate::controller::controller_for::<Saml>(
            ctx.client.clone(),
            scope.clone(),
            ctx.clone(),
            config.concurrency,
            stop_rx.clone(),
        ));
        tasks.spawn(crate::controller::controller_for::<Ldap>(
            ctx.client.clone(),
            scope,
            ctx.clone(),
            config.concurrency,
            stop_rx.clone(),
        ));
    }
    // Not in `tasks`: these must not hold up shutdown, and ending is not a failure.
    let mut helpers = crate::background::spawn(&ctx, ready.clone());

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

/// Binds the health server's address (a port in use fails the start) and serves it in `tasks`.
async fn serve_health(
    address: SocketAddr,
    health: Arc<Health>,
    stop: watch::Receiver<bool>,
    tasks: &mut JoinSet<()>,
) -> Result<(), Stopped> {
    let listener = tokio::net::TcpListener::bind(address)
        .await
        .map_err(|error| {
            Stopped(format!(
                "cannot listen on {address} for health and metrics: {error}"
            ))
        })?;
    tasks.spawn(crate::server::serve(listener, health, stop));
    Ok(())
}

/// One controller per watched namespace, or one for all of them.
fn scopes(config: &OperatorConfig) -> Vec<Option<String>> {
    if config.namespaces.is_empty() {
        vec![None]
    } else {
        config.namespaces.iter().cloned().map(Some).collect()
    }
}
