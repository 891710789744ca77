//! How the operator names a resource: `namespace/name` in logs and ownership, its uid for what it
//! remembers between passes, and the metadata of an object whether or not it matches the schema.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::Resource;
use kube::core::DeserializeGuard;

/// The metadata of a watched object, readable or not.
pub fn guard_meta<R: Resource>(guard: &DeserializeGuard<R>) -> &ObjectMeta {
    match &guard.0 {
        Ok(resource) => resource.meta(),
        Err(invalid) => &invalid.metadata,
    }
}

/// The key of what the operator remembers about a resource: its uid, so a resource deleted and
/// created again under the same name starts afresh. `namespace/name` for an object without uid
/// (never stored).
pub fn memory_key(meta: &ObjectMeta) -> String {
    meta.uid.clone().unwrap_or_else(|| resource_key(meta))
}

/// `namespace/name`: how the operator names a resource in logs and ownership.
pub fn resource_key(meta: &ObjectMeta) -> String {
    format!(
        "{}/{}",
        meta.namespace.as_deref().unwrap_or_default(),
        meta.name.as_deref().unwrap_or_default()
    )
}
