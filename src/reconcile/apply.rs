//! Step 5: carry out the plan. The create path is guarded so that a crash between Infisical's
//! answer and the status write cannot lead to a second create.

use kube::api::{Patch, PatchParams};
use kube::{Api, ResourceExt};

use crate::api::{CREATE_PENDING_ANNOTATION, FIELD_MANAGER, OidcSsoConfig};
use crate::error::{Error, ErrorClass, Result};
use crate::infisical::Connection;
use crate::infisical::wire::{OidcConfigSummary, UpdateOidcConfig};

use super::context::Context;
use super::validate::Desired;

/// Marks the resource before the create call: if the process dies after Infisical committed
/// but before `status.id` is written, the next pass knows the configuration is ours.
/// `resource` is updated to the marked version, so later writes carry its resourceVersion.
pub async fn mark_create_pending(ctx: &Context, resource: &mut OidcSsoConfig) -> Result<()> {
    if resource
        .annotations()
        .contains_key(CREATE_PENDING_ANNOTATION)
    {
        return Ok(());
    }
    let now = k8s_openapi::jiff::Timestamp::now().to_string();
    if !super::finalizer::has_finalizer(resource) {
        // The first write of a new resource: finalizer and mark together.
        let api: Api<OidcSsoConfig> = Api::namespaced(
            ctx.client.clone(),
            &resource.namespace().unwrap_or_default(),
        );
        *resource =
            super::finalizer::add_with_annotation(&api, resource, CREATE_PENDING_ANNOTATION, &now)
                .await?;
        return Ok(());
    }
    set_mark(ctx, resource, Some(now)).await
}

/// Adds the finalizer unless present, moving `resource` to the version written.
pub async fn ensure_finalizer(ctx: &Context, resource: &mut OidcSsoConfig) -> Result<()> {
    if super::finalizer::has_finalizer(resource) {
        return Ok(());
    }
    let api: Api<OidcSsoConfig> = Api::namespaced(
        ctx.client.clone(),
        &resource.namespace().unwrap_or_default(),
    );
    *resource = super::finalizer::add(&api, resource).await?;
    Ok(())
}

/// Sets (`Some`) or clears (`None`) the mark, and moves `resource` to the version written.
async fn set_mark(
    ctx: &Context,
    resource: &mut OidcSsoConfig,
    value: Option<String>,
) -> Result<()> {
    let json = value
        .clone()
        .map_or(serde_json::Value::Null, serde_json::Value::String);
    resource.metadata.resource_version = set_annotation(ctx, resource, json).await?;
    match value {
        Some(v) => resource
            .annotations_mut()
            .insert(CREATE_PENDING_ANNOTATION.to_string(), v),
        None => resource.annotations_mut().remove(CREATE_PENDING_ANNOTATION),
    };
    Ok(())
}

pub async fn clear_create_pending(ctx: &Context, resource: &OidcSsoConfig) -> Result<()> {
    set_annotation(ctx, resource, serde_json::Value::Null).await?;
    Ok(())
}

async fn set_annotation(
    ctx: &Context,
    resource: &OidcSsoConfig,
    value: serde_json::Value,
) -> Result<Option<String>> {
    let api: Api<OidcSsoConfig> = Api::namespaced(
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

/// Creates the configuration. Leaves the create-pending mark in place unless Infisical
/// definitely did not create anything (a 4xx answer).
pub async fn create(
    ctx: &Context,
    resource: &mut OidcSsoConfig,
    connection: &Connection,
    desired: &Desired,
) -> Result<OidcConfigSummary> {
    mark_create_pending(ctx, resource).await?;
    let result = ctx
        .infisical
        .create_config(connection, &desired.create_body())
        .await;
    match &result {
        Ok(_) => ctx.metrics.infisical_write("create"),
        Err(error)
            if matches!(
                error.class(),
                ErrorClass::Permanent | ErrorClass::Auth | ErrorClass::RateLimited
            ) =>
        {
            set_mark(ctx, resource, None).await?;
        }
        Err(_) => {}
    }
    result
}

pub async fn update(
    ctx: &Context,
    connection: &Connection,
    patch: &UpdateOidcConfig,
) -> Result<OidcConfigSummary> {
    let answer = ctx.infisical.update_config(connection, patch).await?;
    ctx.metrics.infisical_write("update");
    answer.ok_or_else(|| {
        Error::Decode(
            "update answered with an empty body: the organization has no OIDC configuration".into(),
        )
    })
}

/// Field manager options for status writes.
pub fn status_apply_params() -> PatchParams {
    PatchParams::apply(FIELD_MANAGER).force()
}
