//! SAML's diff: the fields whose stored value differs from the desired one, and whether the spec
//! changed since the last sync (which names an update's cause).

use super::certificate;
use super::desired::Desired;
use crate::api::SamlSsoConfigStatus;
use crate::infisical::wire::saml::{SamlConfig, UpdateSamlConfig};

/// Whether the spec asks for something other than what the last successful pass recorded in
/// status. Unknown fields (a status written by an older version) never count as a change.
pub fn spec_differs_from_last_sync(desired: &Desired, status: &SamlSsoConfigStatus) -> bool {
    let differs =
        |recorded: &Option<String>, want: &str| recorded.as_deref().is_some_and(|r| r != want);
    [
        differs(&status.auth_provider, desired.auth_provider.as_str()),
        differs(&status.entry_point, &desired.entry_point),
        differs(&status.issuer, &desired.issuer),
        // An inline certificate is the spec's; one from certRef changes as its Secret does (a
        // rotation, named by the fingerprints of what was read).
        desired.cert_field == "spec.cert"
            && differs(
                &status.certificate_fingerprint,
                &certificate::fingerprint(&desired.cert),
            ),
        status.is_active.is_some_and(|a| a != desired.is_active),
        status
            .enable_group_sync
            .is_some_and(|g| g != desired.enable_group_sync),
    ]
    .into_iter()
    .any(|changed| changed)
}

/// The fields whose stored value differs from the desired one, compared trimmed (Infisical trims
/// on write; a configuration written through its UI compares equal when it means the same).
pub fn diff(desired: &Desired, stored: &SamlConfig) -> UpdateSamlConfig {
    fn changed(want: &str, have: &str) -> Option<String> {
        (want != have.trim()).then(|| want.to_string())
    }
    UpdateSamlConfig {
        organization_id: desired.organization_id.clone(),
        auth_provider: changed(desired.auth_provider.as_str(), &stored.auth_provider),
        is_active: (desired.is_active != stored.is_active).then_some(desired.is_active),
        entry_point: changed(&desired.entry_point, &stored.entry_point),
        issuer: changed(&desired.issuer, &stored.issuer),
        cert: changed(&desired.cert, &stored.cert),
        enable_group_sync: (desired.enable_group_sync != stored.enable_group_sync.unwrap_or(false))
            .then_some(desired.enable_group_sync),
    }
}
