//! OIDC's diff: the fields whose stored value differs from the desired one, and whether the
//! spec changed since the last sync (which names an update's cause).

use super::desired::Desired;
use crate::api::OidcSsoConfigStatus;
use crate::infisical::wire::{OidcConfig, UpdateOidcConfig};

/// Whether the spec asks for something other than what the last successful pass left in
/// Infisical, as recorded in status: a spec edit, rather than drift in Infisical. Derived from
/// status, not from `observedGeneration`, which also advances on failed passes: an edit whose
/// first attempt failed is still an edit when it finally applies. Unknown fields (a status
/// written by an older version) never count as a change.
pub fn spec_differs_from_last_sync(desired: &Desired, status: &OidcSsoConfigStatus) -> bool {
    let text = |v: &Option<String>| v.as_deref().unwrap_or("").to_string();
    let stored_domains = text(&status.allowed_email_domains);
    [
        Some(desired.configuration_type) != status.configuration_type.as_deref(),
        desired.issuer != text(&status.issuer),
        desired.discovery_url != text(&status.discovery_url),
        desired.authorization_endpoint != text(&status.authorization_endpoint),
        desired.jwks_uri != text(&status.jwks_uri),
        desired.token_endpoint != text(&status.token_endpoint),
        desired.userinfo_endpoint != text(&status.userinfo_endpoint),
        desired.allowed_email_domains != stored_domains,
        status.is_active.is_some_and(|a| a != desired.is_active),
        status
            .manage_group_memberships
            .is_some_and(|m| m != desired.manage_group_memberships),
        status
            .jwt_signature_algorithm
            .as_deref()
            .is_some_and(|a| a != desired.jwt_signature_algorithm),
        status
            .client_id
            .as_deref()
            .is_some_and(|c| c != desired.client_id),
    ]
    .into_iter()
    .any(|changed| changed)
}

/// The fields whose stored value differs from the desired one. A stored `null` equals `""`,
/// and stored strings are compared trimmed and, for domains, re-normalised, so a configuration
/// written through Infisical's UI compares equal when it means the same.
pub fn diff(desired: &Desired, stored: &OidcConfig) -> UpdateOidcConfig {
    let observed = &stored.config;
    fn text(stored: &Option<String>) -> &str {
        stored.as_deref().map(str::trim).unwrap_or("")
    }
    fn changed(want: &str, have: &str) -> Option<String> {
        (want != have).then(|| want.to_string())
    }
    let stored_domains = text(&observed.allowed_email_domains)
        .split(',')
        .map(str::trim)
        .filter(|d| !d.is_empty())
        .collect::<Vec<_>>()
        .join(", ");
    UpdateOidcConfig {
        organization_id: desired.organization_id.clone(),
        allowed_email_domains: changed(&desired.allowed_email_domains, &stored_domains),
        configuration_type: changed(
            desired.configuration_type,
            observed.configuration_type.trim(),
        ),
        issuer: changed(&desired.issuer, text(&observed.issuer)),
        discovery_url: changed(&desired.discovery_url, text(&observed.discovery_url)),
        authorization_endpoint: changed(
            &desired.authorization_endpoint,
            text(&observed.authorization_endpoint),
        ),
        jwks_uri: changed(&desired.jwks_uri, text(&observed.jwks_uri)),
        token_endpoint: changed(&desired.token_endpoint, text(&observed.token_endpoint)),
        userinfo_endpoint: changed(
            &desired.userinfo_endpoint,
            text(&observed.userinfo_endpoint),
        ),
        client_id: changed(&desired.client_id, stored.client_id.trim()),
        client_secret: (desired.client_secret.expose() != stored.client_secret.expose().trim())
            .then(|| desired.client_secret.clone()),
        is_active: (desired.is_active != observed.is_active).then_some(desired.is_active),
        manage_group_memberships: (desired.manage_group_memberships
            != observed.manage_group_memberships)
            .then_some(desired.manage_group_memberships),
        jwt_signature_algorithm: changed(
            desired.jwt_signature_algorithm,
            observed
                .jwt_signature_algorithm
                .as_deref()
                .unwrap_or("RS256")
                .trim(),
        ),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::infisical::SecretString;

    pub fn desired() -> Desired {
        Desired {
            organization_id: "org".into(),
            configuration_type: "discoveryURL",
            issuer: String::new(),
            discovery_url: "https://idp.example.com/.well-known/openid-configuration".into(),
            authorization_endpoint: String::new(),
            jwks_uri: String::new(),
            token_endpoint: String::new(),
            userinfo_endpoint: String::new(),
            client_id: "infisical".into(),
            client_secret: SecretString::new("s3cret"),
            is_active: true,
            allowed_email_domains: "example.com, example.org".into(),
            manage_group_memberships: false,
            jwt_signature_algorithm: "RS256",
        }
    }

    /// What Infisical's GET returns for `desired()` created through the API.
    pub fn stored() -> OidcConfig {
        serde_json::from_value(serde_json::json!({
            "id": "cfg-1", "orgId": "org", "configurationType": "discoveryURL", "isActive": true,
            "issuer": "", "discoveryURL": "https://idp.example.com/.well-known/openid-configuration",
            "authorizationEndpoint": "", "jwksUri": "", "tokenEndpoint": "", "userinfoEndpoint": "",
            "allowedEmailDomains": "example.com, example.org", "manageGroupMemberships": false,
            "jwtSignatureAlgorithm": "RS256", "clientId": "infisical", "clientSecret": "s3cret"
        }))
        .unwrap()
    }

    #[test]
    fn nulls_and_ui_formatting_compare_equal() {
        let mut s = stored();
        s.config.issuer = None;
        s.config.jwks_uri = None;
        s.config.allowed_email_domains = Some("example.com,example.org ".into());
        assert!(diff(&desired(), &s).is_empty());
    }

    fn status_after_sync() -> OidcSsoConfigStatus {
        let d = desired();
        OidcSsoConfigStatus {
            common: crate::api::CommonStatus {
                id: Some("cfg".into()),
                ..Default::default()
            },
            configuration_type: Some(d.configuration_type.into()),
            discovery_url: Some(d.discovery_url.clone()),
            allowed_email_domains: Some(d.allowed_email_domains.clone()),
            is_active: Some(d.is_active),
            manage_group_memberships: Some(d.manage_group_memberships),
            jwt_signature_algorithm: Some(d.jwt_signature_algorithm.into()),
            client_id: Some(d.client_id.clone()),
            ..OidcSsoConfigStatus::default()
        }
    }

    #[test]
    fn a_spec_edit_is_told_from_drift_by_what_status_recorded() {
        let status = status_after_sync();
        assert!(!spec_differs_from_last_sync(&desired(), &status));
        let mut edited = desired();
        edited.issuer = "https://idp.example.com".into();
        assert!(spec_differs_from_last_sync(&edited, &status));
        let mut edited = desired();
        edited.client_id = "other".into();
        assert!(spec_differs_from_last_sync(&edited, &status));
        // A status from before clientId was recorded: unknown, so not an edit.
        let old_status = OidcSsoConfigStatus {
            client_id: None,
            ..status
        };
        assert!(!spec_differs_from_last_sync(&edited, &old_status));
    }
}
