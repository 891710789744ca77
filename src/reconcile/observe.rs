//! Step 3: read what Infisical holds for the organisation (`GET …/config?organizationId=`).
//! "Absent" is Infisical's NotFound on that route, not a message text. The answer carries the
//! stored client secret in plain text: it is compared, never logged or stored.

use super::context::Context;
use super::kind::SsoKind;
use super::waiting::Waiter;
use crate::error::Result;
use crate::infisical::Connection;

/// The organisation's configuration, or `None` when it has none. An outage or 5xx makes the
/// resource wait for the instance to answer again (see `waiting`).
pub async fn observe<K: SsoKind>(
    ctx: &Context,
    connection: &Connection,
    organization_id: &str,
    waiter: &Waiter,
) -> Result<Option<K::Stored>> {
    let observed = K::get(&ctx.infisical, connection, organization_id).await;
    ctx.note_instance(waiter, connection, observed)
}

/// Whether the API server holds a newer version of `resource` than the one this pass read: a
/// configuration that looks foreign may be our own create, recorded in a version the pass has
/// not seen yet.
pub async fn newer_version_exists<R: crate::api::SsoResource>(
    ctx: &Context,
    resource: &R,
) -> Result<bool> {
    use kube::ResourceExt;
    let api: kube::Api<R> = kube::Api::namespaced(
        ctx.client.clone(),
        &resource.namespace().unwrap_or_default(),
    );
    let latest = api.get_metadata_opt(&resource.name_any()).await?;
    Ok(latest.is_some_and(|l| l.metadata.resource_version != resource.meta().resource_version))
}
