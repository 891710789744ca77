//! Step 5: before a create, or an update that changes what people log in through, check what
//! Infisical will be told to trust. The hosts Infisical resolves must resolve, whatever the
//! policy (a typo would otherwise read as an outage); then the kind's checks of the identity
//! provider, as `spec.preflight` (or the operator's default) says: Enforce stops the pass, Warn
//! records an Event and goes on, Skip does not check.

use kube::runtime::events::EventType;

use super::context::Context;
use super::kind::SsoKind;
use super::notify;
use crate::api::{OidcSsoConfig, PreflightPolicy, reasons};
use crate::error::Result;

/// Checks a create (`patch` `None`) or an update of `desired`; `ca_pem` is the CA bundle the
/// identity provider is trusted with (`spec.idpCaBundleRef`).
pub async fn check<K: SsoKind>(
    ctx: &Context,
    resource: &OidcSsoConfig,
    desired: &K::Desired,
    ca_pem: Option<&[u8]>,
    patch: Option<&K::Patch>,
) -> Result<()> {
    K::check_hosts(&ctx.settings.idp_resolver, desired, patch).await?;
    let policy = resource
        .spec
        .preflight
        .unwrap_or(ctx.settings.default_preflight);
    if policy == PreflightPolicy::Skip || !K::preflight_needed(patch) {
        return Ok(());
    }
    match K::preflight(desired, ca_pem).await {
        Ok(()) => Ok(()),
        Err(error) if policy == PreflightPolicy::Warn => {
            let note = (
                EventType::Warning,
                reasons::IDP_PREFLIGHT_WARNING,
                error.to_string(),
            );
            notify::publish(ctx, resource, note).await;
            Ok(())
        }
        Err(error) => Err(error),
    }
}
