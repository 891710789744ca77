//! What the operator reports back on an `LdapSsoConfig`. Never holds a secret: not the bind
//! password, not the client key.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::status::{Drift, Plan};

/// The observed state of the organisation's LDAP configuration in Infisical.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct LdapSsoConfigStatus {
    /// ID of the LDAP configuration in Infisical.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// ID of the organisation the configuration belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub org_id: Option<String>,
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
    /// Under `managementPolicy: Observe`: what `Manage` would do now.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan: Option<Plan>,
    /// The last time Infisical was found to differ from this spec without the spec having
    /// changed (an edit made elsewhere), and the fields that differed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_drift: Option<Drift>,
    /// The `metadata.generation` that the conditions describe.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// A fingerprint of what the sync that last changed this status worked from: the
    /// generation and the values read from the referenced Secrets and ConfigMaps, hashed
    /// (SHA-256, hex) together with this object's uid. It shows whether those inputs changed,
    /// never what they are.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inputs_digest: Option<String>,
    /// `Ready`, `Reconciling` and `Stalled`, following the Kubernetes status conventions (kstatus).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
}

impl LdapSsoConfigStatus {
    pub fn condition(&self, type_: &str) -> Option<&Condition> {
        self.conditions.iter().find(|c| c.type_ == type_)
    }
}
