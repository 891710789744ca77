//! What every pass shares: the clients, the settings, the watches' caches and indexes, what the
//! operator remembers per resource (`memory`), and the resources waiting on an instance
//! (`waiting`).

use std::collections::HashSet;
use std::sync::{Arc, RwLock};

use kube::runtime::reflector::{ObjectRef, Store};
use kube::{Client, Resource};

use super::cached::Cached;
use super::index::Index;
use super::keys::memory_key;
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
    stores: RwLock<Vec<Store<Cached>>>,
    /// One per watch, beside its cache: who reads which Secret, who claims which organisation.
    indexes: RwLock<Vec<Arc<Index>>>,
    /// What the operator remembers about each resource between passes.
    pub memory: Memories,
    /// Passes running at once, across every watched namespace.
    pub permits: tokio::sync::Semaphore,
    /// Resources waiting out a transient failure, by the Infisical instance that failed.
    pub waiting: Waiting,
    /// Resources to retry now, because the instance they waited on answers again.
    pub wakeups: tokio::sync::broadcast::Sender<ObjectRef<Cached>>,
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
            let _ = self.wakeups.send(waiter.object);
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
            .flat_map(|store| store.state())
            .map(|cached| memory_key(cached.meta()))
            .collect();
        self.memory.retain(&live);
        self.waiting.retain(|w| live.contains(&w.memory_key));
    }

    /// Registers a controller's cache.
    pub fn add_store(&self, store: Store<Cached>) {
        self.stores.write().expect("stores lock").push(store);
    }

    pub fn stores(&self) -> Vec<Store<Cached>> {
        self.stores.read().expect("stores lock").clone()
    }

    /// Registers a watch's index (see `index`).
    pub fn add_index(&self, index: Arc<Index>) {
        self.indexes.write().expect("indexes lock").push(index);
    }

    /// Resources targeting `organization_id` in any watched namespace, skipping resources being
    /// deleted: what ownership precedence is decided among.
    pub fn claimants(&self, organization_id: &str) -> Vec<Claimant> {
        self.indexes
            .read()
            .expect("indexes lock")
            .iter()
            .flat_map(|index| index.claimants(organization_id))
            .collect()
    }

    /// How many resources the operator remembers (tests check that deletes prune it).
    pub fn remembered(&self) -> usize {
        self.memory.len()
    }
}
