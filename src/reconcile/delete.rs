//! Deletion, through the finalizer: `deletionPolicy: Orphan` (or a suspended resource) leaves
//! Infisical untouched; `Deactivate` turns the configuration off first (the API has no DELETE).
//! The finalizer stays until the policy has run, so a failure is retried.

use kube::api::Api;
use kube::runtime::controller::Action;
use kube::runtime::events::EventType;
use kube::{Resource, ResourceExt};

use super::context::Context;
use super::kind::SsoKind;
use super::{apply, dereference, finalizer, notify, validate};
use crate::api::{DeletionPolicy, SsoResource};
use crate::error::{Error, Result};
use crate::infisical::{Connection, Priority};

/// Runs the deletion policy of a resource being deleted, then removes the finalizer.
pub async fn delete<K: SsoKind>(ctx: &Context, resource: &K::Resource) -> Result<Action> {
    if !finalizer::has_finalizer(resource) {
        return Ok(Action::await_change());
    }
    let recorded_id = resource.status().and_then(|s| s.id.clone());
    let result = match (resource.spec().deletion_policy, recorded_id) {
        (DeletionPolicy::Deactivate, Some(id)) if !resource.spec().suspend => {
            deactivate::<K>(ctx, resource, &id).await
        }
        _ => Ok(()),
    };
    if let Err(error) = result {
        let error = Error::DeletionPolicyFailed {
            policy: "Deactivate",
            source: Box::new(error),
        };
        let note = (EventType::Warning, error.reason(), error.to_string());
        notify::publish(ctx, resource, note).await;
        return Err(error);
    }
    ctx.forget(resource.meta());
    let api: Api<K::Resource> = Api::namespaced(
        ctx.client.clone(),
        &resource.namespace().unwrap_or_default(),
    );
    finalizer::remove(&api, resource).await?;
    Ok(Action::await_change())
}

/// Turns the recorded configuration off, if it is still the organisation's and still on.
async fn deactivate<K: SsoKind>(ctx: &Context, resource: &K::Resource, id: &str) -> Result<()> {
    let namespace = resource.namespace().unwrap_or_default();
    let base = validate::base_url(resource.spec(), &ctx.settings.allowed_hosts)?;
    let (credentials, ca_pem) =
        dereference::connection_inputs(&ctx.client, &namespace, resource.spec()).await?;
    let connection = Connection {
        base,
        ca_pem,
        credentials,
        priority: Priority::Foreground,
    };
    let organization_id = resource.spec().organization_id.trim();
    let Some(observed) = K::get(&ctx.infisical, &connection, organization_id).await? else {
        return Ok(());
    };
    if K::id(&observed) != id || !K::is_active(&observed) {
        return Ok(());
    }
    apply::update::<K>(ctx, &connection, &K::deactivation(organization_id)).await?;
    notify::publish(ctx, resource, notify::deactivated(K::LABEL, id)).await;
    if K::RESETS_ENFORCEMENT {
        notify::publish(ctx, resource, notify::enforcement_reset()).await;
    }
    Ok(())
}
