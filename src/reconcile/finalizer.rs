//! Adding and removing our finalizer with JSON patches guarded by `test` operations, so a
//! concurrent change to the finalizer list fails the patch instead of being overwritten.
//!
//! kube-runtime's `finalizer()` helper ends the pass after adding the finalizer and waits for the
//! resulting watch event; doing it inline lets a new resource be created in its first pass. The
//! finalizer is added only once the resource is about to own a configuration (before its first
//! write to Infisical, or when it finds its configuration in sync): a resource that never got
//! that far has nothing to clean up when deleted.

use kube::api::{Patch, PatchParams};
use kube::{Api, ResourceExt};
use serde_json::{Value, json};

use crate::api::{FINALIZER, SsoResource};
use crate::error::Result;

pub fn has_finalizer<R: SsoResource>(resource: &R) -> bool {
    resource.finalizers().iter().any(|f| f == FINALIZER)
}

/// Returns the resource as stored with the finalizer.
pub async fn add<R: SsoResource>(api: &Api<R>, resource: &R) -> Result<R> {
    send(api, resource, Value::Array(add_ops(resource))).await
}

/// Adds the finalizer and sets an annotation in one patch: a create's first write, so that a
/// create costs three Kubernetes writes (this, the status, clearing the mark), not four.
pub async fn add_with_annotation<R: SsoResource>(
    api: &Api<R>,
    resource: &R,
    key: &str,
    value: &str,
) -> Result<R> {
    let mut ops = add_ops(resource);
    ops.push(match &resource.meta().annotations {
        None => json!({"op": "add", "path": "/metadata/annotations", "value": {key: value}}),
        Some(_) => json!({"op": "add", "path": format!("/metadata/annotations/{}", pointer_escape(key)), "value": value}),
    });
    send(api, resource, Value::Array(ops)).await
}

/// JSON patch operations adding the finalizer, guarded by a test of the current list.
fn add_ops<R: SsoResource>(resource: &R) -> Vec<Value> {
    match &resource.meta().finalizers {
        None => vec![
            json!({"op": "test", "path": "/metadata/finalizers", "value": null}),
            json!({"op": "add", "path": "/metadata/finalizers", "value": [FINALIZER]}),
        ],
        Some(current) => vec![
            json!({"op": "test", "path": "/metadata/finalizers", "value": current}),
            json!({"op": "add", "path": "/metadata/finalizers/-", "value": FINALIZER}),
        ],
    }
}

/// RFC 6901: `~` and `/` in a JSON pointer segment.
fn pointer_escape(segment: &str) -> String {
    segment.replace('~', "~0").replace('/', "~1")
}

pub async fn remove<R: SsoResource>(api: &Api<R>, resource: &R) -> Result<()> {
    let Some(index) = resource.finalizers().iter().position(|f| f == FINALIZER) else {
        return Ok(());
    };
    let path = format!("/metadata/finalizers/{index}");
    let ops = json!([
        {"op": "test", "path": path, "value": FINALIZER},
        {"op": "remove", "path": path},
    ]);
    send(api, resource, ops).await?;
    Ok(())
}

async fn send<R: SsoResource>(api: &Api<R>, resource: &R, ops: Value) -> Result<R> {
    let ops: json_patch::Patch = serde_json::from_value(ops).expect("well-formed JSON patch");
    let patched = api
        .patch::<R>(
            &resource.name_any(),
            &PatchParams::default(),
            &Patch::Json(ops),
        )
        .await?;
    Ok(patched)
}
