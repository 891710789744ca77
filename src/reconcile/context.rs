//! State shared by all reconcile passes.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use crate::events::Recorder;
use kube::core::DeserializeGuard;
use kube::runtime::reflector::{ObjectRef, Store};
use kube::{Client, Resource};

use super::cached::Cached;
use crate::api::OidcSsoConfig;
use crate::infisical::{AllowedHosts, BaseUrl, Infisical};
use crate::metrics::Metrics;

#[derive(Clone, Debug)]
pub struct Settings {
    pub allowed_hosts: AllowedHosts,
    pub default_resync: Duration,
    /// Longest wait between retries of a transient failure.
    pub max_backoff: Duration,
    /// First wait after a transient failure.
    pub base_backoff: Duration,
    /// While resources wait out a transient failure of an Infisical instance, how often that
    /// instance's `/api/status` is checked; once it answers, they are retried at once.
    pub recovery_probe_interval: Duration,
    /// The IdP preflight for resources that do not set `spec.preflight`.
    pub default_preflight: crate::api::PreflightPolicy,
    /// Resolves IdP hosts before a create or an endpoint change.
    pub idp_resolver: super::idp_hosts::IdpResolver,
    /// Called at the start of every pass. Only tests set it, to make a pass fail in ways real
    /// inputs cannot (a panic); the operator binary never does.
    pub before_pass: Option<BeforePass>,
}

/// See [`Settings::before_pass`].
#[derive(Clone)]
pub struct BeforePass(pub Arc<dyn Fn(&OidcSsoConfig) + Send + Sync>);

impl std::fmt::Debug for BeforePass {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BeforePass")
    }
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            allowed_hosts: AllowedHosts::new([
                "app.infisical.com",
                "us.infisical.com",
                "eu.infisical.com",
            ]),
            default_resync: Duration::from_secs(600),
            max_backoff: Duration::from_secs(300),
            base_backoff: Duration::from_secs(2),
            recovery_probe_interval: Duration::from_secs(10),
            idp_resolver: super::idp_hosts::IdpResolver::default(),
            default_preflight: crate::api::PreflightPolicy::Enforce,
            before_pass: None,
        }
    }
}

/// What the operator remembers about a resource between passes (lost on restart, by design:
/// it only tunes backoff and names the cause of an update).
#[derive(Clone, Debug, Default)]
pub struct Memory {
    pub consecutive_failures: u32,
    pub secret_digest: Option<[u8; 32]>,
    /// The last pass ended Ready.
    pub ready: bool,
    /// (generation, error) last reported on a malformed object (boxed: rare, and every
    /// resource has a `Memory`).
    pub reported_malformed: Option<Box<(i64, String)>>,
    /// Digest of everything the last pass acted on (generation, sync-now annotation, Secret values).
    pub last_inputs: Option<[u8; 32]>,
    /// The part of `last_inputs` a configuration is synced from (no sync-now annotation).
    pub last_synced_from: Option<[u8; 32]>,
    /// After a failure, passes with unchanged inputs wait until this instant instead of calling
    /// Infisical again: our own metadata writes trigger passes, and must not cause retries.
    pub hold: Option<Hold>,
    /// A pass of this process has reached the point of calling Infisical, or decided when to
    /// (`resume::first_pass`): false until then, after every start of the operator.
    pub started: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hold {
    pub inputs: [u8; 32],
    pub until: std::time::Instant,
}

/// The metadata of a cached object, readable or not.
pub fn guard_meta(
    guard: &DeserializeGuard<OidcSsoConfig>,
) -> &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta {
    match &guard.0 {
        Ok(resource) => &resource.metadata,
        Err(invalid) => &invalid.metadata,
    }
}

/// The key of a resource's [`Memory`]: its uid, so a resource deleted and created again under
/// the same name starts afresh. `namespace/name` for an object without uid (never stored).
pub fn memory_key(meta: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta) -> String {
    meta.uid.clone().unwrap_or_else(|| resource_key(meta))
}

/// Where a resource's [`Memory`] is kept: 128 bits of the SHA-256 of its key, so that an entry
/// costs 16 bytes of key instead of a uid string and its allocation.
fn memory_id(key: &str) -> u128 {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(key.as_bytes());
    u128::from_le_bytes(
        digest[..16]
            .try_into()
            .expect("16 bytes of a 32-byte digest"),
    )
}

/// `namespace/name`: how the operator names a resource in logs and ownership.
pub fn resource_key(meta: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta) -> String {
    format!(
        "{}/{}",
        meta.namespace.as_deref().unwrap_or_default(),
        meta.name.as_deref().unwrap_or_default()
    )
}

pub struct Context {
    pub client: Client,
    pub infisical: Infisical,
    pub metrics: Arc<Metrics>,
    pub recorder: Recorder,
    pub settings: Settings,
    stores: RwLock<Vec<Store<Cached>>>,
    /// One per watch, beside its cache: who reads which Secret, who claims which organisation.
    indexes: RwLock<Vec<Arc<super::index::Index>>>,
    /// Keyed by a digest of the memory key (see [`memory_id`]): one entry per resource.
    memory: Mutex<HashMap<u128, Memory>>,
    /// Passes running at once, across every watched namespace.
    pub permits: tokio::sync::Semaphore,
    /// Resources waiting out a transient failure, by the Infisical instance that failed.
    waiting: Mutex<HashMap<Waiting, HashSet<Waiter>>>,
    /// Resources to retry now, because the instance they waited on answers again.
    pub wakeups: tokio::sync::broadcast::Sender<ObjectRef<Cached>>,
}

/// An Infisical instance, as reached (base URL and the CAs trusted for it).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Waiting {
    pub base: BaseUrl,
    pub ca_pem: Option<Vec<u8>>,
}

/// A resource waiting on an instance: how to trigger it and where its memory is.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Waiter {
    pub object: ObjectRef<Cached>,
    pub memory_key: String,
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
            metrics,
            recorder,
            settings,
            stores: RwLock::default(),
            indexes: RwLock::default(),
            memory: Mutex::default(),
            permits: tokio::sync::Semaphore::new(concurrency.max(1)),
            waiting: Mutex::default(),
            wakeups: tokio::sync::broadcast::channel(1024).0,
        }
    }

    /// Records that a resource waits for `instance` to answer again.
    pub fn wait_for_instance(&self, instance: Waiting, waiter: Waiter) {
        self.waiting
            .lock()
            .expect("waiting lock")
            .entry(instance)
            .or_default()
            .insert(waiter);
    }

    /// The resource no longer waits on any instance.
    pub fn stop_waiting(&self, memory_key: &str) {
        let mut waiting = self.waiting.lock().expect("waiting lock");
        for waiters in waiting.values_mut() {
            waiters.retain(|w| w.memory_key != memory_key);
        }
        waiting.retain(|_, waiters| !waiters.is_empty());
    }

    /// Instances that resources are waiting on.
    pub fn waited_on(&self) -> Vec<Waiting> {
        self.waiting
            .lock()
            .expect("waiting lock")
            .keys()
            .cloned()
            .collect()
    }

    /// `instance` answers again: its waiters' holds are lifted and they are retried now. The
    /// per-instance rate limiter spreads the retries within the budget.
    pub fn instance_recovered(&self, instance: &Waiting) {
        let waiters = self
            .waiting
            .lock()
            .expect("waiting lock")
            .remove(instance)
            .unwrap_or_default();
        if waiters.is_empty() {
            return;
        }
        tracing::info!(
            host = %instance.base.host(),
            resources = waiters.len(),
            "Infisical answers again; retrying the resources that waited for it"
        );
        for waiter in waiters {
            self.update_memory(&waiter.memory_key, |m| {
                m.hold = None;
                m.consecutive_failures = 0;
            });
            self.metrics.recovery_retries.inc();
            let _ = self.wakeups.send(waiter.object);
        }
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
        let live_ids: HashSet<u128> = live.iter().map(|key| memory_id(key)).collect();
        let gone: Vec<u128> = self
            .memory
            .lock()
            .expect("memory lock")
            .keys()
            .filter(|id| !live_ids.contains(*id))
            .copied()
            .collect();
        for id in gone {
            self.forget_id(id);
        }
        let mut waiting = self.waiting.lock().expect("waiting lock");
        for waiters in waiting.values_mut() {
            waiters.retain(|w| live.contains(&w.memory_key));
        }
        waiting.retain(|_, waiters| !waiters.is_empty());
    }

    /// Registers a controller's cache.
    pub fn add_store(&self, store: Store<Cached>) {
        self.stores.write().expect("stores lock").push(store);
    }

    pub fn stores(&self) -> Vec<Store<Cached>> {
        self.stores.read().expect("stores lock").clone()
    }

    /// Registers a watch's index (see `index`).
    pub fn add_index(&self, index: Arc<super::index::Index>) {
        self.indexes.write().expect("indexes lock").push(index);
    }

    /// Resources targeting `organization_id` in any watched namespace, skipping resources being
    /// deleted: what ownership precedence is decided among.
    pub fn claimants(&self, organization_id: &str) -> Vec<super::ownership::Claimant> {
        self.indexes
            .read()
            .expect("indexes lock")
            .iter()
            .flat_map(|index| index.claimants(organization_id))
            .collect()
    }

    pub fn memory(&self, key: &str) -> Memory {
        self.memory
            .lock()
            .expect("memory lock")
            .get(&memory_id(key))
            .cloned()
            .unwrap_or_default()
    }

    pub fn update_memory(&self, key: &str, update: impl FnOnce(&mut Memory)) {
        update(
            self.memory
                .lock()
                .expect("memory lock")
                .entry(memory_id(key))
                .or_default(),
        );
    }

    pub fn forget(&self, key: &str) {
        self.stop_waiting(key);
        self.forget_id(memory_id(key));
    }

    fn forget_id(&self, id: u128) {
        if self
            .memory
            .lock()
            .expect("memory lock")
            .remove(&id)
            .is_some_and(|m| m.ready)
        {
            self.metrics.ready_resources.dec();
        }
    }

    /// How many resources the operator remembers (tests check that deletes prune it).
    pub fn remembered(&self) -> usize {
        self.memory.lock().expect("memory lock").len()
    }

    /// Records whether `key`'s last pass ended Ready, keeping the `ready_resources` gauge exact.
    pub fn set_ready(&self, key: &str, ready: bool) {
        let mut was = false;
        self.update_memory(key, |m| {
            was = m.ready;
            m.ready = ready;
        });
        match (was, ready) {
            (false, true) => self.metrics.ready_resources.inc(),
            (true, false) => self.metrics.ready_resources.dec(),
            _ => 0,
        };
    }
}
