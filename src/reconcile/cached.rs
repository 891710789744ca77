//! What the controller's cache keeps of each resource: enough to route events (which passes to
//! start, when to retry, what to forget), never the resource itself. A pass reads the whole
//! object from the API server when it starts (`entry::reconcile`), so the spec and status of
//! 10,000 resources are not held between passes, and every pass works from the latest version.
//!
//! The watch delivers whole objects; `Cached::of` keeps this much of each one and the rest is
//! dropped as the event passes (the index takes what it needs first, see `index`).

use std::borrow::Cow;
use std::hash::{Hash, Hasher};
use std::marker::PhantomData;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::Resource;
use kube::core::{DeserializeGuard, NamespaceResourceScope};
use kube::runtime::watcher;
use serde::Deserialize;

use super::keys::guard_meta;
use super::kind::SsoKind;
use crate::api::{RECONCILE_REQUESTED_AT_ANNOTATION, SsoResource};

type Guarded<K> = DeserializeGuard<<K as SsoKind>::Resource>;

/// One cached resource of kind `K`.
#[derive(Clone, Debug, PartialEq)]
pub struct Cached<K: SsoKind> {
    /// Name, namespace, uid, generation and deletionTimestamp only. The uid tells a resource
    /// created again under the same name from the one before it. No resourceVersion: a pass
    /// reads the object anyway, and every queued retry would hold a copy.
    metadata: ObjectMeta,
    /// A digest of what asks for a pass (see `wants_pass`).
    wants_pass: u64,
    /// This version asks for a pass: the first seen of this resource (by uid), or one whose
    /// `wants_pass` differs from the version cached before it.
    asks_for_pass: bool,
    /// `spec.resyncInterval` as written, for the retry policy of failures that escape a pass.
    resync_interval: Option<Box<str>>,
    kind: PhantomData<K>,
}

impl<K: SsoKind> Cached<K> {
    /// The part of `guard` the cache keeps.
    pub fn of(guard: &Guarded<K>) -> Self {
        let meta = guard_meta(guard);
        Self {
            metadata: ObjectMeta {
                name: meta.name.clone(),
                namespace: meta.namespace.clone(),
                uid: meta.uid.clone(),
                generation: meta.generation,
                deletion_timestamp: meta.deletion_timestamp.clone(),
                ..ObjectMeta::default()
            },
            wants_pass: wants_pass(guard),
            asks_for_pass: true,
            resync_interval: guard
                .0
                .as_ref()
                .ok()
                .and_then(|r| r.spec().resync_interval.as_deref())
                .map(Box::from),
            kind: PhantomData,
        }
    }

    /// Changes when, and only when, something that asks for a pass changed: the spec
    /// (generation), the sync-now annotation, deletion, or whether the object can be read.
    pub fn wants_pass(&self) -> u64 {
        self.wants_pass
    }

    /// Whether this version asks for a pass, given the version cached before it (if any).
    fn after(mut self, before: Option<&Cached<K>>) -> Self {
        self.asks_for_pass = before.is_none_or(|before| {
            before.metadata.uid != self.metadata.uid || before.wants_pass != self.wants_pass
        });
        self
    }

    /// See [`event_of`].
    pub fn asks_for_pass(&self) -> bool {
        self.asks_for_pass
    }

    pub fn resync_interval(&self) -> Option<&str> {
        self.resync_interval.as_deref()
    }
}

/// The parts of a resource whose change asks for a pass. The operator's own writes (status, the
/// create-pending mark, the finalizer) change none of them, so they wake nothing: a create costs
/// one pass. Secrets, resyncs and recoveries trigger passes on their own.
fn wants_pass<R: kube::Resource>(guard: &DeserializeGuard<R>) -> u64 {
    let meta = guard_meta(guard);
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    meta.generation.hash(&mut hasher);
    meta.deletion_timestamp.is_some().hash(&mut hasher);
    meta.annotations
        .as_ref()
        .and_then(|a| a.get(RECONCILE_REQUESTED_AT_ANNOTATION))
        .hash(&mut hasher);
    // A stored object that became readable (or unreadable) is news too.
    guard.0.is_ok().hash(&mut hasher);
    hasher.finish()
}

/// The same event, carrying what the cache keeps of its object; `cached_before` answers what the
/// cache holds for an object now, before this event is applied (during a relist, the state from
/// before it). An applied object whose `wants_pass` is unchanged from that asks for no pass:
/// that is how the operator's own writes, and relists of unchanged resources, wake nothing.
pub fn event_of<K: SsoKind>(
    event: watcher::Event<Guarded<K>>,
    cached_before: impl Fn(&Cached<K>) -> Option<std::sync::Arc<Cached<K>>>,
) -> watcher::Event<Cached<K>> {
    use watcher::Event::*;
    let applied = |guard: &Guarded<K>| {
        let cached = Cached::of(guard);
        let before = cached_before(&cached);
        cached.after(before.as_deref())
    };
    match event {
        Apply(guard) => Apply(applied(&guard)),
        Delete(guard) => Delete(Cached::of(&guard)),
        Init => Init,
        InitApply(guard) => InitApply(applied(&guard)),
        InitDone => InitDone,
    }
}

/// Read as the whole resource, then reduced (the controller's bounds ask for it; the watch
/// itself reads whole objects, see `event_of`).
impl<'de, K: SsoKind> Deserialize<'de> for Cached<K> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Guarded::<K>::deserialize(deserializer).map(|guard| Self::of(&guard))
    }
}

impl<K: SsoKind> Resource for Cached<K> {
    type DynamicType = ();
    type Scope = NamespaceResourceScope;

    fn kind(dt: &()) -> Cow<'_, str> {
        K::Resource::kind(dt)
    }

    fn group(dt: &()) -> Cow<'_, str> {
        K::Resource::group(dt)
    }

    fn version(dt: &()) -> Cow<'_, str> {
        K::Resource::version(dt)
    }

    fn plural(dt: &()) -> Cow<'_, str> {
        K::Resource::plural(dt)
    }

    fn meta(&self) -> &ObjectMeta {
        &self.metadata
    }

    fn meta_mut(&mut self) -> &mut ObjectMeta {
        &mut self.metadata
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::{CREATE_PENDING_ANNOTATION, FINALIZER};
    use serde_json::json;

    type Cached = super::Cached<crate::reconcile::oidc::Oidc>;
    type Guarded = super::Guarded<crate::reconcile::oidc::Oidc>;

    fn guard(value: serde_json::Value) -> Guarded {
        serde_json::from_value(value).unwrap()
    }

    fn ready(generation: i64, annotations: serde_json::Value) -> serde_json::Value {
        let mut spec = serde_json::to_value(crate::reconcile::validate::tests::spec()).unwrap();
        spec["resyncInterval"] = json!("10m");
        json!({
            "apiVersion": "oidc.infisical-operator.io/v1alpha1",
            "kind": "OidcSsoConfig",
            "metadata": {"name": "sso", "namespace": "team", "uid": "u-1", "resourceVersion": "7",
                "generation": generation, "annotations": annotations,
                "finalizers": [FINALIZER],
                "managedFields": [{"manager": "kubectl", "operation": "Apply"}]},
            "spec": spec,
            "status": {"id": "cfg-1", "observedGeneration": generation,
                "conditions": [{"type": "Ready", "status": "True", "reason": "Synced",
                    "message": "in sync", "lastTransitionTime": "2026-01-01T00:00:00Z"}]},
        })
    }

    #[test]
    fn keeps_what_routes_events_and_drops_spec_status_and_the_rest_of_the_metadata() {
        let cached = Cached::of(&guard(ready(3, json!({"team": "a"}))));
        let meta = cached.meta();
        assert_eq!(meta.name.as_deref(), Some("sso"));
        assert_eq!(meta.namespace.as_deref(), Some("team"));
        assert_eq!(meta.uid.as_deref(), Some("u-1"));
        assert!(meta.resource_version.is_none());
        assert_eq!(meta.generation, Some(3));
        assert!(meta.annotations.is_none());
        assert!(meta.finalizers.is_none());
        assert!(meta.managed_fields.is_none());
        assert_eq!(cached.resync_interval(), Some("10m"));
    }

    #[test]
    fn what_wants_a_pass_changes_with_the_spec_sync_now_deletion_and_readability_only() {
        let base = Cached::of(&guard(ready(1, json!({})))).wants_pass();
        // The operator's own writes: status, the create-pending mark, the finalizer.
        let mut own = ready(1, json!({CREATE_PENDING_ANNOTATION: "x"}));
        own["status"]["conditions"][0]["status"] = json!("False");
        own["metadata"]["finalizers"] = json!([]);
        assert_eq!(Cached::of(&guard(own)).wants_pass(), base);

        assert_ne!(Cached::of(&guard(ready(2, json!({})))).wants_pass(), base);
        let poked = ready(1, json!({RECONCILE_REQUESTED_AT_ANNOTATION: "now"}));
        assert_ne!(Cached::of(&guard(poked)).wants_pass(), base);
        let mut deleting = ready(1, json!({}));
        deleting["metadata"]["deletionTimestamp"] = json!("2026-01-02T00:00:00Z");
        assert_ne!(Cached::of(&guard(deleting)).wants_pass(), base);
        let mut unreadable = ready(1, json!({}));
        unreadable["spec"]["isActive"] = json!("yes");
        let unreadable = guard(unreadable);
        assert!(unreadable.0.is_err());
        assert_ne!(Cached::of(&unreadable).wants_pass(), base);
    }

    #[test]
    fn a_version_asks_for_a_pass_when_new_or_when_what_wants_a_pass_changed() {
        use std::sync::Arc;
        let first = guard(ready(1, json!({})));
        let before = Arc::new(Cached::of(&first));
        let event = |guard: Guarded, before: Option<Arc<Cached>>| match event_of(
            watcher::Event::Apply(guard),
            move |_| before.clone(),
        ) {
            watcher::Event::Apply(cached) => cached.asks_for_pass(),
            _ => unreachable!(),
        };
        assert!(event(first, None), "first seen");
        // Our own status write: the same generation, annotations and readability.
        let mut own = ready(1, json!({}));
        own["status"]["conditions"][0]["message"] = json!("changed");
        assert!(!event(guard(own), Some(before.clone())));
        assert!(event(guard(ready(2, json!({}))), Some(before.clone())));
        // Deleted and created again under the same name: a new uid.
        let mut again = ready(1, json!({}));
        again["metadata"]["uid"] = json!("u-2");
        assert!(event(guard(again), Some(before.clone())));
        // A relist compares with what was cached before it too.
        let relisted = event_of(
            watcher::Event::InitApply(guard(ready(1, json!({})))),
            |_| Some(before.clone()),
        );
        assert!(matches!(relisted, watcher::Event::InitApply(c) if !c.asks_for_pass()));
    }

    #[test]
    fn deserializes_as_the_reduced_form_of_the_whole_object() {
        let value = ready(1, json!({}));
        let cached: Cached = serde_json::from_value(value.clone()).unwrap();
        assert_eq!(cached, Cached::of(&guard(value)));
    }
}
