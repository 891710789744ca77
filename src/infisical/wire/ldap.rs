//! Infisical's LDAP configuration bodies (`/api/v1/ldap/config`), field for field as
//! `ee/routes/v1/ldap-router.ts` declares and serialises them; the mTLS fields as Infisical's
//! 2026 OpenAPI has them (PR #6540).

use serde::{Deserialize, Serialize};

use crate::infisical::SecretString;

/// `GET /api/v1/ldap/config?organizationId=`: the stored configuration, decrypted. The bind
/// password comes back in plain text (compared, never logged); the client key never does, only
/// whether there is one. No `orgId`: `organization` carries it.
#[derive(Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct LdapConfig {
    pub id: String,
    pub organization: String,
    pub is_active: bool,
    pub url: String,
    #[serde(rename = "bindDN")]
    pub bind_dn: String,
    pub bind_pass: SecretString,
    pub unique_user_attribute: String,
    pub search_base: String,
    pub search_filter: String,
    pub group_search_base: String,
    pub group_search_filter: String,
    pub ca_cert: String,
    /// Absent from instances older than LDAP mTLS.
    #[serde(default)]
    pub client_certificate: String,
    /// Absent from instances older than LDAP mTLS.
    #[serde(default)]
    pub has_client_key_certificate: bool,
}

/// `POST /api/v1/ldap/config`. Every field is sent, unused strings as `""`, so the stored
/// configuration never depends on server-side defaults; the mTLS pair only when set, so that
/// an instance older than mTLS gets the body it knows.
#[derive(Serialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct CreateLdapConfig {
    pub organization_id: String,
    pub is_active: bool,
    pub url: String,
    #[serde(rename = "bindDN")]
    pub bind_dn: String,
    pub bind_pass: SecretString,
    pub unique_user_attribute: String,
    pub search_base: String,
    pub search_filter: String,
    pub group_search_base: String,
    pub group_search_filter: String,
    pub ca_cert: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_certificate: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_key_certificate: Option<SecretString>,
}

/// `PATCH /api/v1/ldap/config`: only the fields that differ are sent. Infisical binds to the
/// directory again on every PATCH (with the merged configuration), whatever it changes.
#[derive(Serialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct UpdateLdapConfig {
    pub organization_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub is_active: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(rename = "bindDN", skip_serializing_if = "Option::is_none")]
    pub bind_dn: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bind_pass: Option<SecretString>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unique_user_attribute: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub search_base: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub search_filter: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group_search_base: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group_search_filter: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ca_cert: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_certificate: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_key_certificate: Option<SecretString>,
}

impl UpdateLdapConfig {
    /// Names of the fields this update carries (for logs and events; never values).
    pub fn changed_fields(&self) -> Vec<&'static str> {
        [
            (self.is_active.is_some(), "isActive"),
            (self.url.is_some(), "url"),
            (self.bind_dn.is_some(), "bindDN"),
            (self.bind_pass.is_some(), "bindPass"),
            (self.unique_user_attribute.is_some(), "uniqueUserAttribute"),
            (self.search_base.is_some(), "searchBase"),
            (self.search_filter.is_some(), "searchFilter"),
            (self.group_search_base.is_some(), "groupSearchBase"),
            (self.group_search_filter.is_some(), "groupSearchFilter"),
            (self.ca_cert.is_some(), "caCert"),
            (self.client_certificate.is_some(), "clientCertificate"),
            (
                self.client_key_certificate.is_some(),
                "clientKeyCertificate",
            ),
        ]
        .into_iter()
        .filter_map(|(present, name)| present.then_some(name))
        .collect()
    }

    pub fn is_empty(&self) -> bool {
        self.changed_fields().is_empty()
    }
}

/// What a create or an update answers (`SanitizedLdapConfigSchema`): no bind DN, password,
/// certificates or key.
#[derive(Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct LdapConfigSummary {
    pub id: String,
    pub org_id: String,
    pub is_active: bool,
    pub url: String,
    pub search_base: String,
    pub search_filter: String,
    pub group_search_base: String,
    pub unique_user_attribute: String,
    pub group_search_filter: String,
}
