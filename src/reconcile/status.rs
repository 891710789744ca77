//! The one status writer, for every path (a pass's report, a malformed object): server-side
//! apply under the operator's field manager, conditional on the resourceVersion the pass read,
//! so a pass that worked from a stale copy gets a 409 and is retried, instead of overwriting a
//! newer status (and its id). The object is addressed without its schema, since a malformed one
//! cannot be read as our type.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::Api;
use kube::api::{Patch, PatchParams};
use kube::core::{ApiResource, DynamicObject};

use super::context::Context;
use crate::api::{FIELD_MANAGER, SsoResource};
use crate::error::Result;

/// Writes `status` on the object of kind `R` that `meta` names, at the version `meta` carries.
pub async fn write<R: SsoResource>(
    ctx: &Context,
    meta: &ObjectMeta,
    status: &impl serde::Serialize,
) -> Result<()> {
    let api: Api<DynamicObject> = Api::namespaced_with(
        ctx.client.clone(),
        meta.namespace.as_deref().unwrap_or_default(),
        &ApiResource::erase::<R>(&()),
    );
    let patch = serde_json::json!({
        "apiVersion": R::api_version(&()),
        "kind": R::kind(&()),
        "metadata": {"resourceVersion": meta.resource_version},
        "status": status,
    });
    api.patch_status(
        meta.name.as_deref().unwrap_or_default(),
        &apply_params(),
        &Patch::Apply(&patch),
    )
    .await?;
    ctx.metrics.kubernetes_status_writes.inc();
    Ok(())
}

/// Field manager options for status writes.
fn apply_params() -> PatchParams {
    PatchParams::apply(FIELD_MANAGER).force()
}
