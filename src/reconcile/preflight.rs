//! Step 5: before a create, or an update that changes what people log in through, check what
//! Infisical will be told to trust. The hosts Infisical resolves must resolve, whatever the
//! policy (a typo would otherwise read as an outage); then the kind's checks of the identity
//! provider, as `spec.preflight` (or the operator's default) says: Enforce stops the pass, Warn
//! records an Event and goes on, Skip does not check.

use kube::runtime::events::EventType;

use super::context::Context;
use super::kind::SsoKind;
use super::notify;
use crate::api::{PreflightPolicy, SsoResource, reasons};
use crate::error::{Error, Result};

/// Checks a create (`patch` `None`) or an update of `desired`; `ca_pem` is the CA bundle the
/// identity provider is trusted with (`spec.idpCaBundleRef`).
pub async fn check<K: SsoKind>(
    ctx: &Context,
    resource: &K::Resource,
    desired: &K::Desired,
    ca_pem: Option<&[u8]>,
    patch: Option<&K::Patch>,
) -> Result<()> {
    K::check_hosts(&ctx.settings.idp_resolver, desired, patch).await?;
    let policy = resource
        .spec()
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
                warning_note(&error),
            );
            notify::publish(ctx, resource, note).await;
            Ok(())
        }
        Err(error) => Err(error),
    }
}

/// The note of the Warning Event under `spec.preflight: Warn`: the failure, and that the
/// operator goes on anyway (the error's own text is Enforce's, which says nothing was sent).
pub fn warning_note(error: &Error) -> String {
    let failure = match error {
        Error::IdpPreflightFailed { check, detail } => {
            format!("IdP preflight failed ({check}): {detail}")
        }
        Error::LdapPreflightFailed { check, detail } => {
            format!("LDAP preflight failed ({}): {detail}", check.reason())
        }
        other => format!("IdP preflight failed: {other}"),
    };
    format!(
        "{failure}; spec.preflight is Warn, so the operator goes on and sends the configuration to Infisical despite the failure"
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reconcile::oidc::discovery::failed;

    #[test]
    fn the_warn_note_says_the_operator_goes_on() {
        let error = failed("issuer", "the document's issuer is https://other.example");
        let note = warning_note(&error);
        assert!(
            note.starts_with(
                "IdP preflight failed (issuer): the document's issuer is https://other.example; "
            ),
            "{note}"
        );
        assert!(
            note.contains("goes on") && note.contains("despite the failure"),
            "{note}"
        );
        assert!(!note.contains("nothing was sent"), "{note}");
        // Enforce's text is unchanged: there, nothing is sent.
        assert!(error.to_string().contains("nothing was sent to Infisical"));
    }

    #[test]
    fn the_warn_note_of_an_ldap_failure_names_its_step() {
        let error = crate::reconcile::ldap::directory::failed(
            crate::error::LdapCheck::BindRefused,
            "ldaps://ldap.example.org refused the bind",
        );
        let note = warning_note(&error);
        assert!(
            note.starts_with(
                "LDAP preflight failed (LdapBindRefused): ldaps://ldap.example.org refused the bind; "
            ),
            "{note}"
        );
        assert!(!note.contains("nothing was sent"), "{note}");
    }
}
