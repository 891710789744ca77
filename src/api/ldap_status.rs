//! What the operator reports back on an `LdapSsoConfig`. Never holds a secret: not the bind
//! password, not the client key.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::common::CommonStatus;

/// The observed state of the organisation's LDAP configuration in Infisical.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct LdapSsoConfigStatus {
    /// The fields every kind has (id, orgId, conditions, plan, drift...).
    #[serde(flatten)]
    pub common: CommonStatus,
    /// Whether the configuration is active in Infisical.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_active: Option<bool>,
    /// Directory URL stored in Infisical.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Bind DN stored in Infisical.
    #[serde(rename = "bindDN", default, skip_serializing_if = "Option::is_none")]
    pub bind_dn: Option<String>,
    /// Unique user attribute stored in Infisical.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unique_user_attribute: Option<String>,
    /// User search base stored in Infisical.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub search_base: Option<String>,
    /// User search filter stored in Infisical.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub search_filter: Option<String>,
    /// Group search base stored in Infisical (empty: no group search).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_search_base: Option<String>,
    /// Group search filter stored in Infisical.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_search_filter: Option<String>,
    /// Whether Infisical holds a client certificate and key (mutual TLS).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_certificate: Option<bool>,
}
