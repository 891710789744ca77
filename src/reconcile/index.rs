//! Lookups the controller needs on every Secret event and every pass, kept up to date from the
//! resource watch instead of scanning the cache each time: which resources read a Secret, and
//! which resources claim an organisation (see `ownership`).
//!
//! It follows the watch exactly as kube's reflector store does: `Apply` and `Delete` change one
//! entry; a relist (`Init`, `InitApply`…, `InitDone`) is collected aside and replaces everything
//! at `InitDone`, so a resource deleted while the watch was away leaves the index too.
//!
//! Over 400 lines with its tests, which replay watch sequences; the index itself is about 250.

use std::collections::HashMap;
use std::marker::PhantomData;
use std::sync::{Arc, RwLock};

use kube::Resource;
use kube::runtime::reflector::ObjectRef;
use kube::runtime::watcher;

use super::cached::Cached;
use super::dereference::secret_names;
use super::keys::{guard_meta, resource_key};
use super::kind::SsoKind;
use super::ownership::{Claim, Claimant};
use crate::api::SsoResource;

type Guarded<K> = kube::core::DeserializeGuard<<K as SsoKind>::Resource>;

/// `namespace/name` of a resource (a name cannot contain `/`), shared by all its postings.
type Key = Arc<str>;

/// What one resource contributes to the index. Kept small: there is one per resource, for as
/// long as it exists (a posting list holds one pointer per resource).
#[derive(Clone, Debug, PartialEq)]
struct Entry {
    /// Names of the Secrets it reads, in its own namespace.
    secrets: Box<[Box<str>]>,
    /// Its claim on an organisation: none while it is being deleted.
    claim: Option<Claimed>,
}

/// A [`Claimant`] without its key (the entry's) and with its organisation shared with `by_org`.
#[derive(Clone, Debug, PartialEq)]
struct Claimed {
    /// The normalised organisation id.
    org: Arc<str>,
    instance: Box<str>,
    claim: Claim,
    created: Option<i64>,
}

#[derive(Default)]
struct Inner {
    entries: HashMap<Key, Entry>,
    /// `namespace/secret` to the resources that read it.
    by_secret: HashMap<Box<str>, Vec<Key>>,
    by_org: HashMap<Arc<str>, Vec<Key>>,
    /// Entries listed since the relist began; they replace `entries` at `InitDone`.
    relisting: Option<HashMap<Key, Entry>>,
}

/// The index of one watch (one kind, in one namespace or all of them).
pub struct Index<K: SsoKind> {
    inner: RwLock<Inner>,
    kind: PhantomData<K>,
}

impl<K: SsoKind> Default for Index<K> {
    fn default() -> Self {
        Self {
            inner: RwLock::default(),
            kind: PhantomData,
        }
    }
}

/// Who claims an organisation, as one watch's index knows: what ownership is decided among,
/// across the watches of one kind.
pub trait Claimants: Send + Sync {
    /// Resources not being deleted whose `organizationId` is `organization_id` (trimmed, any
    /// case), as ownership sees them.
    fn claimants(&self, organization_id: &str) -> Vec<Claimant>;
}

impl<K: SsoKind> Claimants for Index<K> {
    fn claimants(&self, organization_id: &str) -> Vec<Claimant> {
        Index::claimants(self, organization_id)
    }
}

impl<K: SsoKind> Index<K> {
    /// Applies one event of the resource watch (the whole objects, before the cache reduces them).
    pub fn apply(&self, event: &watcher::Event<Guarded<K>>) {
        let mut inner = self.inner.write().expect("index lock");
        match event {
            watcher::Event::Apply(guard) => match entry_of::<K>(guard) {
                Some((key, entry)) => inner.insert(key, entry),
                None => inner.remove(&key_of(guard)),
            },
            watcher::Event::Delete(guard) => inner.remove(&key_of(guard)),
            watcher::Event::Init => inner.relisting = Some(HashMap::new()),
            watcher::Event::InitApply(guard) => {
                if let Some((key, entry)) = entry_of::<K>(guard) {
                    inner.relisting.get_or_insert_default().insert(key, entry);
                }
            }
            watcher::Event::InitDone => {
                let listed = inner.relisting.take().unwrap_or_default();
                *inner = Inner::default();
                for (key, entry) in listed {
                    inner.insert(key, entry);
                }
                inner.entries.shrink_to_fit();
                inner.by_secret.shrink_to_fit();
                inner.by_org.shrink_to_fit();
            }
        }
    }

    /// Resources in `namespace` that read the Secret `name`.
    pub fn referencing(&self, namespace: &str, name: &str) -> Vec<ObjectRef<Cached<K>>> {
        let inner = self.inner.read().expect("index lock");
        inner
            .by_secret
            .get(posting(namespace, name).as_str())
            .into_iter()
            .flatten()
            .filter_map(|key| {
                let (namespace, name) = key.split_once('/')?;
                Some(ObjectRef::new(name).within(namespace))
            })
            .collect()
    }

    /// Resources not being deleted whose `organizationId` is `organization_id` (trimmed, any
    /// case), as ownership sees them.
    pub fn claimants(&self, organization_id: &str) -> Vec<Claimant> {
        let inner = self.inner.read().expect("index lock");
        inner
            .by_org
            .get(normalise(organization_id).as_str())
            .into_iter()
            .flatten()
            .filter_map(|key| {
                let claimed = inner.entries.get(key)?.claim.as_ref()?;
                Some(Claimant {
                    key: key.to_string(),
                    target: (claimed.org.to_string(), claimed.instance.to_string()),
                    claim: claimed.claim,
                    created: claimed.created,
                })
            })
            .collect()
    }

    /// Resources indexed (for tests).
    pub fn len(&self) -> usize {
        self.inner.read().expect("index lock").entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Inner {
    fn insert(&mut self, key: Key, entry: Entry) {
        self.remove(&key);
        let namespace = key.split_once('/').map_or("", |(ns, _)| ns);
        for secret in &entry.secrets {
            add(
                self.by_secret
                    .entry(posting(namespace, secret).into_boxed_str())
                    .or_default(),
                &key,
            );
        }
        if let Some(claimed) = &entry.claim {
            add(self.by_org.entry(claimed.org.clone()).or_default(), &key);
        }
        self.entries.insert(key, entry);
    }

    fn remove(&mut self, key: &str) {
        let Some((key, old)) = self.entries.remove_entry(key) else {
            return;
        };
        let namespace = key.split_once('/').map_or("", |(ns, _)| ns);
        for secret in &old.secrets {
            let posting = posting(namespace, secret);
            if let Some(keys) = self.by_secret.get_mut(posting.as_str()) {
                keys.retain(|k| *k != key);
                if keys.is_empty() {
                    self.by_secret.remove(posting.as_str());
                }
            }
        }
        if let Some(claimed) = old.claim
            && let Some(keys) = self.by_org.get_mut(&claimed.org)
        {
            keys.retain(|k| *k != key);
            if keys.is_empty() {
                self.by_org.remove(&claimed.org);
            }
        }
    }
}

/// Adds `key` to a posting list, which holds each resource once and no spare room (most lists
/// hold one resource).
fn add(keys: &mut Vec<Key>, key: &Key) {
    if !keys.contains(key) {
        keys.reserve_exact(1);
        keys.push(key.clone());
    }
}

fn posting(namespace: &str, secret: &str) -> String {
    format!("{namespace}/{secret}")
}

fn normalise(organization_id: &str) -> String {
    organization_id.trim().to_ascii_lowercase()
}

fn key_of<R: Resource>(guard: &kube::core::DeserializeGuard<R>) -> Key {
    Arc::from(resource_key(guard_meta(guard)))
}

/// The entry of a readable resource; `None` for one that does not match the schema (it reads
/// nothing and claims nothing until it does).
fn entry_of<K: SsoKind>(guard: &Guarded<K>) -> Option<(Key, Entry)> {
    let resource = guard.0.as_ref().ok()?;
    let claim = resource.meta().deletion_timestamp.is_none().then(|| {
        let claimant = Claimant::of(resource);
        let (org, instance) = claimant.target;
        Claimed {
            org: Arc::from(org),
            instance: instance.into_boxed_str(),
            claim: claimant.claim,
            created: claimant.created,
        }
    });
    let mut secrets: Vec<Box<str>> = secret_names::<K>(resource.spec()).map(Box::from).collect();
    secrets.sort();
    secrets.dedup();
    let entry = Entry {
        secrets: secrets.into_boxed_slice(),
        claim,
    };
    Some((key_of(guard), entry))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use watcher::Event;

    type Index = super::Index<crate::reconcile::oidc::Oidc>;
    type Guarded = super::Guarded<crate::reconcile::oidc::Oidc>;
    type Cached = super::Cached<crate::reconcile::oidc::Oidc>;

    const ORG: &str = "7c1e0000-0000-4000-8000-000000000001";

    fn resource(ns: &str, name: &str, org: &str, client_secret: &str) -> Guarded {
        serde_json::from_value(json!({
            "apiVersion": "oidc.infisical-operator.io/v1alpha1",
            "kind": "OidcSsoConfig",
            "metadata": {"name": name, "namespace": ns, "creationTimestamp": "2026-01-01T00:00:00Z"},
            "spec": {
                "organizationId": org,
                "authentication": {"universalAuth": {"credentialsRef": {"name": "identity"}}},
                "configurationType": "discoveryURL",
                "discoveryURL": "https://idp.example.com/.well-known/openid-configuration",
                "clientId": "x",
                "clientSecretRef": {"name": client_secret, "key": "k"},
            },
        }))
        .unwrap()
    }

    fn deleting(mut guard: Guarded) -> Guarded {
        if let Ok(r) = &mut guard.0 {
            r.metadata.deletion_timestamp =
                Some(k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(
                    k8s_openapi::jiff::Timestamp::UNIX_EPOCH,
                ));
        }
        guard
    }

    fn names(refs: Vec<ObjectRef<Cached>>) -> Vec<String> {
        let mut names: Vec<String> = refs
            .into_iter()
            .map(|r| format!("{}/{}", r.namespace.unwrap_or_default(), r.name))
            .collect();
        names.sort();
        names
    }

    fn claimant_keys(index: &Index, org: &str) -> Vec<String> {
        let mut keys: Vec<String> = index.claimants(org).into_iter().map(|c| c.key).collect();
        keys.sort();
        keys
    }

    #[test]
    fn a_secret_finds_the_resources_in_its_namespace_that_read_it() {
        let index = Index::default();
        index.apply(&Event::Apply(resource("a", "one", ORG, "idp")));
        index.apply(&Event::Apply(resource("a", "two", ORG, "other")));
        index.apply(&Event::Apply(resource("b", "three", ORG, "idp")));
        assert_eq!(names(index.referencing("a", "idp")), ["a/one"]);
        // The identity Secret is read by both resources in `a`.
        assert_eq!(
            names(index.referencing("a", "identity")),
            ["a/one", "a/two"]
        );
        assert!(index.referencing("c", "idp").is_empty());
    }

    #[test]
    fn an_edit_moves_the_resource_to_its_new_secret_and_organisation() {
        let index = Index::default();
        index.apply(&Event::Apply(resource("a", "one", ORG, "old")));
        let other_org = "7c1e0000-0000-4000-8000-000000000002";
        index.apply(&Event::Apply(resource("a", "one", other_org, "new")));
        assert!(index.referencing("a", "old").is_empty());
        assert_eq!(names(index.referencing("a", "new")), ["a/one"]);
        assert!(index.claimants(ORG).is_empty());
        assert_eq!(claimant_keys(&index, other_org), ["a/one"]);
        assert_eq!(index.len(), 1);
    }

    #[test]
    fn claimants_match_the_organisation_trimmed_and_in_any_case_across_namespaces() {
        let index = Index::default();
        index.apply(&Event::Apply(resource("a", "one", ORG, "s")));
        index.apply(&Event::Apply(resource(
            "b",
            "two",
            &format!(" {} ", ORG.to_uppercase()),
            "s",
        )));
        index.apply(&Event::Apply(resource(
            "b",
            "other",
            "7c1e0000-0000-4000-8000-000000000009",
            "s",
        )));
        assert_eq!(claimant_keys(&index, ORG), ["a/one", "b/two"]);
        assert_eq!(
            claimant_keys(&index, &ORG.to_uppercase()),
            ["a/one", "b/two"]
        );
    }

    #[test]
    fn a_resource_being_deleted_claims_nothing_but_still_reads_its_secrets() {
        let index = Index::default();
        index.apply(&Event::Apply(resource("a", "one", ORG, "s")));
        index.apply(&Event::Apply(deleting(resource("a", "one", ORG, "s"))));
        assert!(index.claimants(ORG).is_empty());
        // Its deletion policy may still need the Secrets (Deactivate logs in).
        assert_eq!(names(index.referencing("a", "s")), ["a/one"]);
        index.apply(&Event::Delete(deleting(resource("a", "one", ORG, "s"))));
        assert!(index.referencing("a", "s").is_empty());
        assert!(index.is_empty());
    }

    #[test]
    fn an_unreadable_object_leaves_the_index_until_it_is_readable_again() {
        let index = Index::default();
        index.apply(&Event::Apply(resource("a", "one", ORG, "s")));
        let unreadable: Guarded = serde_json::from_value(json!({
            "apiVersion": "oidc.infisical-operator.io/v1alpha1",
            "kind": "OidcSsoConfig",
            "metadata": {"name": "one", "namespace": "a"},
            "spec": {"organizationId": 42},
        }))
        .unwrap();
        assert!(unreadable.0.is_err());
        index.apply(&Event::Apply(unreadable));
        assert!(index.referencing("a", "s").is_empty());
        assert!(index.claimants(ORG).is_empty());
        index.apply(&Event::Apply(resource("a", "one", ORG, "s")));
        assert_eq!(names(index.referencing("a", "s")), ["a/one"]);
    }

    #[test]
    fn a_relist_replaces_everything_and_drops_what_was_deleted_meanwhile() {
        let index = Index::default();
        index.apply(&Event::Init);
        index.apply(&Event::InitApply(resource("a", "kept", ORG, "s")));
        index.apply(&Event::InitApply(resource("a", "gone", ORG, "s")));
        index.apply(&Event::InitDone);
        assert_eq!(claimant_keys(&index, ORG), ["a/gone", "a/kept"]);
        // The watch reconnects; `gone` was deleted while it was away.
        index.apply(&Event::Init);
        // Until the relist is done, lookups answer from the previous state, as the cache does.
        assert_eq!(claimant_keys(&index, ORG), ["a/gone", "a/kept"]);
        index.apply(&Event::InitApply(resource("a", "kept", ORG, "t")));
        index.apply(&Event::InitDone);
        assert_eq!(claimant_keys(&index, ORG), ["a/kept"]);
        assert!(index.referencing("a", "s").is_empty());
        assert_eq!(names(index.referencing("a", "t")), ["a/kept"]);
        assert_eq!(index.len(), 1);
        // An empty relist empties the index.
        index.apply(&Event::Init);
        index.apply(&Event::InitDone);
        assert!(index.is_empty());
        assert!(index.claimants(ORG).is_empty());
    }

    #[test]
    fn claimants_carry_what_precedence_is_decided_on() {
        let index = Index::default();
        let mut guard = resource("a", "one", ORG, "s");
        if let Ok(r) = &mut guard.0 {
            r.status = Some(crate::api::OidcSsoConfigStatus {
                common: crate::api::CommonStatus {
                    id: Some("cfg".into()),
                    ..Default::default()
                },
                ..Default::default()
            });
        }
        let expected = Claimant::of(guard.0.as_ref().unwrap());
        index.apply(&Event::Apply(guard));
        assert_eq!(index.claimants(ORG), [expected]);
    }
}
