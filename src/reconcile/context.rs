//! What every pass shares: the clients, the settings, the watches' caches and indexes, what the
//! operator remembers per resource (`memory`), and the resources waiting on an instance
//! (`waiting`).

use std::collections::HashSet;
use std::sync::{Arc, RwLock};

use futures::future::BoxFuture;
use kube::runtime::reflector::Store;
use kube::{Client, Resource};

use super::cached::Cached;
use super::index::{Claimants, Index};
use super::keys::memory_key;
use super::kind::SsoKind;
use super::memory::Memories;
use super::ownership::Claimant;
use super::retry;
use super::waiting::{Instance, Waiter, Waiting};
use crate::error::Result;
use crate::events::Recorder;
use crate::infisical::{Connection, Infisical};
use crate::metrics::Metrics;

pub use super::settings::{BeforePass, Settings};

pub struct Context {
    pub client: Client,
    pub infisical: Infisical,
    pub metrics: Arc<Metrics>,
    pub recorder: Recorder,
    pub settings: Settings,
    stores: RwLock<Vec<Arc<dyn Watched>>>,
    /// One per watch, beside its cache: who reads which Secret, who claims which organisation;
    /// with the kind it indexes (a claim conflicts only with claims of the same kind).
    indexes: RwLock<Vec<(String, Arc<dyn Claimants>)>>,
    /// What the operator remembers about each resource between passes.
    pub memory: Memories,
    /// Passes running at once, across every watched namespace.
    pub permits: tokio::sync::Semaphore,
    /// Resources waiting out a transient failure, by the Infisical instance that failed.
    pub waiting: Waiting,
    /// Resources to retry now, because the instance they waited on answers again.
    pub wakeups: tokio::sync::broadcast::Sender<Waiter>,
}

impl Context {
    pub fn new(
        client: Client,
        infisical: Infisical,
        metrics: Arc<Metrics>,
        recorder: Recorder,
        settings: Settings,
        concurrency: usize,
    ) -> Self {
        Self {
            client,
            infisical,
            memory: Memories::new(metrics.ready_resources.clone()),
            metrics,
            recorder,
            settings,
            stores: RwLock::default(),
            indexes: RwLock::default(),
            permits: tokio::sync::Semaphore::new(concurrency.max(1)),
            waiting: Waiting::default(),
            wakeups: tokio::sync::broadcast::channel(1024).0,
        }
    }

    /// Passes an Infisical call's result through, noting whether the resource now waits for the
    /// instance to answer again (an outage, a 5xx): the recovery probe retries it as soon as it
    /// does.
    pub fn note_instance<T>(
        &self,
        waiter: &Waiter,
        connection: &Connection,
        result: Result<T>,
    ) -> Result<T> {
        match &result {
            Err(error) if error.is_instance_unavailable() => self
                .waiting
                .wait_for(Instance::of(connection), waiter.clone()),
            _ => self.waiting.stop(&waiter.memory_key),
        }
        result
    }

    /// `instance` answers again: its waiters' holds are lifted and they are retried now. The
    /// per-instance rate limiter spreads the retries within the budget.
    pub fn instance_recovered(&self, instance: &Instance) {
        let waiters = self.waiting.recovered(instance);
        if waiters.is_empty() {
            return;
        }
        tracing::info!(
            host = %instance.base.host(),
            resources = waiters.len(),
            "Infisical answers again; retrying the resources that waited for it"
        );
        for waiter in waiters {
            self.memory.by_key(&waiter.memory_key).update(retry::lift);
            self.metrics.recovery_retries.inc();
            let _ = self.wakeups.send(waiter);
        }
    }

    /// Forgets a deleted resource: its memory, and any instance it waited on.
    pub fn forget(&self, meta: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta) {
        let key = memory_key(meta);
        self.waiting.stop(&key);
        self.memory.by_key(&key).forget();
    }

    /// Drops the memory of resources that no longer exist (not in any cache): deletes seen by
    /// the watch, and deletes missed while it was reconnecting.
    pub fn prune_memory(&self) {
        let live: HashSet<String> = self
            .stores()
            .iter()
            .flat_map(|store| store.memory_keys())
            .collect();
        self.memory.retain(&live);
        self.waiting.retain(|w| live.contains(&w.memory_key));
    }

    /// Registers a controller's cache.
    pub fn add_store<K: SsoKind>(&self, store: Store<Cached<K>>) {
        self.stores
            .write()
            .expect("stores lock")
            .push(Arc::new(store));
    }

    pub fn stores(&self) -> Vec<Arc<dyn Watched>> {
        self.stores.read().expect("stores lock").clone()
    }

    /// Registers a watch's index (see `index`).
    pub fn add_index<K: SsoKind>(&self, index: Arc<Index<K>>) {
        let kind = K::Resource::kind(&()).into_owned();
        self.indexes
            .write()
            .expect("indexes lock")
            .push((kind, index));
    }

    /// Resources of kind `K` targeting `organization_id` in any watched namespace, skipping
    /// resources being deleted: what ownership precedence is decided among. Other kinds do not
    /// compete: an organisation may have one configuration of each kind.
    pub fn claimants<K: SsoKind>(&self, organization_id: &str) -> Vec<Claimant> {
        let kind = K::Resource::kind(&());
        self.indexes
            .read()
            .expect("indexes lock")
            .iter()
            .filter(|(of, _)| *of == kind)
            .flat_map(|(_, index)| index.claimants(organization_id))
            .collect()
    }

    /// How many resources the operator remembers (tests check that deletes prune it).
    pub fn remembered(&self) -> usize {
        self.memory.len()
    }
}

/// A controller's cache, whatever its kind: what the memory is pruned by, and what readiness
/// waits for.
pub trait Watched: Send + Sync {
    /// The memory keys of the resources it holds.
    fn memory_keys(&self) -> Vec<String>;
    /// Resolves once it holds its first listing: `false` when it never will (its writer is
    /// gone).
    fn until_ready(&self) -> BoxFuture<'_, bool>;
}

impl<K: SsoKind> Watched for Store<Cached<K>> {
    fn memory_keys(&self) -> Vec<String> {
        self.state()
            .iter()
            .map(|cached| memory_key(cached.meta()))
            .collect()
    }

    fn until_ready(&self) -> BoxFuture<'_, bool> {
        Box::pin(async move { self.wait_until_ready().await.is_ok() })
    }
}
