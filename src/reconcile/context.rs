//! State shared by all reconcile passes.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use kube::Client;
use kube::core::DeserializeGuard;
use kube::runtime::events::Recorder;
use kube::runtime::reflector::Store;

use crate::api::OidcSsoConfig;
use crate::infisical::{AllowedHosts, Infisical};
use crate::metrics::Metrics;

#[derive(Clone, Debug)]
pub struct Settings {
    pub allowed_hosts: AllowedHosts,
    pub default_resync: Duration,
    /// Longest wait between retries of a transient failure.
    pub max_backoff: Duration,
    /// First wait after a transient failure.
    pub base_backoff: Duration,
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
    /// (generation, error) last reported on a malformed object.
    pub reported_malformed: Option<(i64, String)>,
    /// Digest of everything the last pass acted on (generation, sync-now annotation, Secret values).
    pub last_inputs: Option<[u8; 32]>,
    /// After a failure, passes with unchanged inputs wait until this instant instead of calling
    /// Infisical again: our own metadata writes trigger passes, and must not cause retries.
    pub hold: Option<Hold>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hold {
    pub inputs: [u8; 32],
    pub until: std::time::Instant,
}

/// `namespace/name`: how the operator names a resource in memory, logs and ownership.
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
    stores: RwLock<Vec<Store<DeserializeGuard<OidcSsoConfig>>>>,
    memory: Mutex<HashMap<String, Memory>>,
}

impl Context {
    pub fn new(
        client: Client,
        infisical: Infisical,
        metrics: Arc<Metrics>,
        recorder: Recorder,
        settings: Settings,
    ) -> Self {
        Self {
            client,
            infisical,
            metrics,
            recorder,
            settings,
            stores: RwLock::default(),
            memory: Mutex::default(),
        }
    }

    /// Registers a controller's cache, used to find other resources targeting the same organisation.
    pub fn add_store(&self, store: Store<DeserializeGuard<OidcSsoConfig>>) {
        self.stores.write().expect("stores lock").push(store);
    }

    pub fn stores(&self) -> Vec<Store<DeserializeGuard<OidcSsoConfig>>> {
        self.stores.read().expect("stores lock").clone()
    }

    pub fn memory(&self, key: &str) -> Memory {
        self.memory
            .lock()
            .expect("memory lock")
            .get(key)
            .cloned()
            .unwrap_or_default()
    }

    pub fn update_memory(&self, key: &str, update: impl FnOnce(&mut Memory)) {
        update(
            self.memory
                .lock()
                .expect("memory lock")
                .entry(key.to_string())
                .or_default(),
        );
    }

    pub fn forget(&self, key: &str) {
        if self
            .memory
            .lock()
            .expect("memory lock")
            .remove(key)
            .is_some_and(|m| m.ready)
        {
            self.metrics.ready_resources.dec();
        }
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
