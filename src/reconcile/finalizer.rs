//! Adding and removing our finalizer with JSON patches guarded by `test` operations, so a
//! concurrent change to the finalizer list fails the patch instead of being overwritten.
//!
//! kube-runtime's `finalizer()` helper ends the pass after adding the finalizer and waits for the
//! resulting watch event; doing it inline lets a new resource be created in its first pass.

use kube::api::{Patch, PatchParams};
use kube::{Api, ResourceExt};
use serde_json::{Value, json};

use crate::api::{FINALIZER, OidcSsoConfig};
use crate::error::Result;

pub fn has_finalizer(resource: &OidcSsoConfig) -> bool {
    resource.finalizers().iter().any(|f| f == FINALIZER)
}

/// Returns the resource as stored with the finalizer.
pub async fn add(api: &Api<OidcSsoConfig>, resource: &OidcSsoConfig) -> Result<OidcSsoConfig> {
    let ops = match &resource.metadata.finalizers {
        None => json!([
            {"op": "test", "path": "/metadata/finalizers", "value": null},
            {"op": "add", "path": "/metadata/finalizers", "value": [FINALIZER]},
        ]),
        Some(current) => json!([
            {"op": "test", "path": "/metadata/finalizers", "value": current},
            {"op": "add", "path": "/metadata/finalizers/-", "value": FINALIZER},
        ]),
    };
    send(api, resource, ops).await
}

pub async fn remove(api: &Api<OidcSsoConfig>, resource: &OidcSsoConfig) -> Result<()> {
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

async fn send(
    api: &Api<OidcSsoConfig>,
    resource: &OidcSsoConfig,
    ops: Value,
) -> Result<OidcSsoConfig> {
    let ops: json_patch::Patch = serde_json::from_value(ops).expect("well-formed JSON patch");
    let patched = api
        .patch::<OidcSsoConfig>(
            &resource.name_any(),
            &PatchParams::default(),
            &Patch::Json(ops),
        )
        .await?;
    Ok(patched)
}
