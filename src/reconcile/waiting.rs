//! Resources that wait for an Infisical instance to answer again (an outage, a 5xx): the recovery
//! probe checks each such instance and retries its waiters as soon as it answers, instead of
//! leaving each to its own backoff.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;

use kube::runtime::reflector::ObjectRef;
use kube::{Resource, ResourceExt};

use super::cached::Cached;
use super::keys::memory_key;
use super::kind::SsoKind;
use crate::api::SsoResource;
use crate::infisical::{BaseUrl, Connection};

/// An Infisical instance, as reached (base URL and the CAs trusted for it).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Instance {
    pub base: BaseUrl,
    pub ca_pem: Option<Vec<u8>>,
}

impl Instance {
    pub fn of(connection: &Connection) -> Self {
        Self {
            base: connection.base.clone(),
            ca_pem: connection.ca_pem.clone(),
        }
    }
}

/// A resource waiting on an instance: how to trigger it (its kind, namespace and name) and where
/// its memory is.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Waiter {
    pub kind: String,
    pub namespace: String,
    pub name: String,
    pub memory_key: String,
}

impl Waiter {
    pub fn of<R: SsoResource>(resource: &R) -> Self {
        Self {
            kind: R::kind(&()).into_owned(),
            namespace: resource.namespace().unwrap_or_default(),
            name: resource.name_any(),
            memory_key: memory_key(resource.meta()),
        }
    }

    /// The resource to trigger, when it is of kind `K`.
    pub fn object<K: SsoKind>(&self) -> Option<ObjectRef<Cached<K>>> {
        (self.kind == K::Resource::kind(&()))
            .then(|| ObjectRef::new(&self.name).within(&self.namespace))
    }
}

/// The waiters of each instance.
#[derive(Default)]
pub struct Waiting {
    by_instance: Mutex<HashMap<Instance, HashSet<Waiter>>>,
}

impl Waiting {
    /// Records that a resource waits for `instance` to answer again.
    pub fn wait_for(&self, instance: Instance, waiter: Waiter) {
        self.by_instance
            .lock()
            .expect("waiting lock")
            .entry(instance)
            .or_default()
            .insert(waiter);
    }

    /// The resource no longer waits on any instance.
    pub fn stop(&self, memory_key: &str) {
        self.retain(|w| w.memory_key != memory_key);
    }

    /// Keeps only the waiters `keep` accepts.
    pub fn retain(&self, keep: impl Fn(&Waiter) -> bool) {
        let mut waiting = self.by_instance.lock().expect("waiting lock");
        for waiters in waiting.values_mut() {
            waiters.retain(&keep);
        }
        waiting.retain(|_, waiters| !waiters.is_empty());
    }

    /// Instances that resources are waiting on.
    pub fn instances(&self) -> Vec<Instance> {
        self.by_instance
            .lock()
            .expect("waiting lock")
            .keys()
            .cloned()
            .collect()
    }

    /// `instance` answers again: its waiters, who no longer wait.
    pub fn recovered(&self, instance: &Instance) -> HashSet<Waiter> {
        self.by_instance
            .lock()
            .expect("waiting lock")
            .remove(instance)
            .unwrap_or_default()
    }
}
