//! The create-pending mark: set (with the finalizer, when it is the first write) just before a
//! create, cleared once the id is in status, so that a crash between Infisical's answer and the
//! status write cannot lead to a second create.

use kube::api::{Patch, PatchParams};
use kube::{Api, ResourceExt};

use super::context::Context;
use super::finalizer;
use crate::api::{CREATE_PENDING_ANNOTATION, SsoResource};
use crate::error::Result;

/// Marks the resource before the create call: if the process dies after Infisical committed
/// but before `status.id` is written, the next pass knows the configuration is ours.
/// `resource` is updated to the marked version, so later writes carry its resourceVersion.
pub async fn mark_create_pending<R: SsoResource>(ctx: &Context, resource: &mut R) -> Result<()> {
    if resource
        .annotations()
        .contains_key(CREATE_PENDING_ANNOTATION)
    {
        return Ok(());
    }
    let now = k8s_openapi::jiff::Timestamp::now().to_string();
    if !finalizer::has_finalizer(resource) {
        // The first write of a new resource: finalizer and mark together.
        let api: Api<R> = Api::namespaced(
            ctx.client.clone(),
            &resource.namespace().unwrap_or_default(),
        );
        *resource =
            finalizer::add_with_annotation(&api, resource, CREATE_PENDING_ANNOTATION, &now).await?;
        return Ok(());
    }
    set_mark(ctx, resource, Some(now)).await
}

/// Sets (`Some`) or clears (`None`) the mark, and moves `resource` to the version written.
pub async fn set_mark<R: SsoResource>(
    ctx: &Context,
    resource: &mut R,
    value: Option<String>,
) -> Result<()> {
    let json = value
        .clone()
        .map_or(serde_json::Value::Null, serde_json::Value::String);
    resource.meta_mut().resource_version = set_annotation(ctx, resource, json).await?;
    match value {
        Some(v) => resource
            .annotations_mut()
            .insert(CREATE_PENDING_ANNOTATION.to_string(), v),
        None => resource.annotations_mut().remove(CREATE_PENDING_ANNOTATION),
    };
    Ok(())
}

pub async fn clear_create_pending<R: SsoResource>(ctx: &Context, resource: &R) -> Result<()> {
    set_annotation(ctx, resource, serde_json::Value::Null).await?;
    Ok(())
}

async fn set_annotation<R: SsoResource>(
    ctx: &Context,
    resource: &R,
    value: serde_json::Value,
) -> Result<Option<String>> {
    let api: Api<R> = Api::namespaced(
        ctx.client.clone(),
        &resource.namespace().unwrap_or_default(),
    );
    let patch =
        serde_json::json!({"metadata": {"annotations": {CREATE_PENDING_ANNOTATION: value}}});
    let patched = api
        .patch_metadata(
            &resource.name_any(),
            &PatchParams::default(),
            &Patch::Merge(&patch),
        )
        .await?;
    Ok(patched.metadata.resource_version)
}
