//! Public views of an organisation's SAML and LDAP configurations, for tests
//! ([`crate::Control::sso_state`] and `GET /__emulator/orgs/{id}/sso`).

use serde::{Deserialize, Serialize};

/// A SAML configuration as stored (Infisical's `saml_configs` row, decrypted).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SamlConfigState {
    pub id: String,
    pub org_id: String,
    /// One of the six `SamlProviders` values (`okta-saml`, ...).
    pub auth_provider: String,
    pub is_active: bool,
    pub entry_point: String,
    pub issuer: String,
    pub cert: String,
    pub enable_group_sync: bool,
    /// Set by a SAML login ([`crate::Control::mark_saml_used`]), cleared by every PATCH.
    pub last_used: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

/// An LDAP configuration as stored (Infisical's `ldap_configs` row, decrypted).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LdapConfigState {
    pub id: String,
    pub org_id: String,
    pub is_active: bool,
    pub url: String,
    #[serde(rename = "bindDN")]
    pub bind_dn: String,
    pub bind_pass: String,
    pub unique_user_attribute: String,
    pub search_base: String,
    pub search_filter: String,
    pub group_search_base: String,
    pub group_search_filter: String,
    pub ca_cert: String,
    pub client_certificate: String,
    /// The client private key: never returned by Infisical's API (only `hasClientKeyCertificate`).
    pub client_key_certificate: String,
    pub created_at: String,
    pub updated_at: String,
}

/// Requests for one protocol's config that reached its service for an organisation (after
/// auth, rate limit and validation), whatever they answered.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConfigCalls {
    pub posts: u64,
    pub patches: u64,
    pub gets: u64,
}

/// What an organisation holds for SAML and LDAP, and the flags their rules read or reset.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SsoState {
    pub auth_enforced: bool,
    pub scim_enabled: bool,
    pub google_sso_enforced: bool,
    /// Licence flags `plan.samlSSO`, `plan.ldap`, `plan.groups`.
    pub plan_saml_sso: bool,
    pub plan_ldap: bool,
    pub plan_groups: bool,
    pub saml: Option<SamlConfigState>,
    pub ldap: Option<LdapConfigState>,
    pub saml_calls: ConfigCalls,
    pub ldap_calls: ConfigCalls,
    /// Connection tests (binds) the LDAP routes ran for this organisation, whatever their result.
    pub ldap_binds: u64,
}
