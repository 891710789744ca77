//! What the operator reports back on the resource. Never holds a secret.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The observed state of the organisation's OIDC configuration in Infisical.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct OidcSsoConfigStatus {
    /// ID of the OIDC configuration in Infisical.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// ID of the organisation the configuration belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub org_id: Option<String>,
    /// OAuth client ID stored in Infisical.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// Whether the configuration is active in Infisical.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_active: Option<bool>,
    /// Configuration type stored in Infisical.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub configuration_type: Option<String>,
    /// Issuer stored in Infisical.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
    /// Discovery URL stored in Infisical.
    #[serde(
        rename = "discoveryURL",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub discovery_url: Option<String>,
    /// Authorization endpoint stored in Infisical.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorization_endpoint: Option<String>,
    /// JWKS URI stored in Infisical.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jwks_uri: Option<String>,
    /// Token endpoint stored in Infisical.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_endpoint: Option<String>,
    /// Userinfo endpoint stored in Infisical.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub userinfo_endpoint: Option<String>,
    /// Allowed email domains stored in Infisical, in Infisical's comma-separated form.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowed_email_domains: Option<String>,
    /// Whether Infisical manages group memberships from the provider's claims.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manage_group_memberships: Option<bool>,
    /// ID token signature algorithm stored in Infisical.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jwt_signature_algorithm: Option<String>,
    /// Under `managementPolicy: Observe`: what `Manage` would do now.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan: Option<Plan>,
    /// The last time Infisical was found to differ from this spec without the spec having
    /// changed (an edit made elsewhere), and the fields that differed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_drift: Option<Drift>,
    /// When the operator last updated the configuration. Every update makes Infisical turn off
    /// the organisation's enforce-SSO and SCIM settings, which only a person can turn back on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sso_enforcement_reset: Option<EnforcementReset>,
    /// The `metadata.generation` that the conditions describe.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// A fingerprint of what the sync that last changed this status worked from: the
    /// generation and the values read from the referenced Secrets, hashed (SHA-256, hex)
    /// together with this object's uid. It shows whether those inputs changed, never what they are. After the
    /// operator restarts, a Ready resource whose inputs still match this is checked against
    /// Infisical later, at a point spread over its resync interval, so that resources that did
    /// change are handled first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inputs_digest: Option<String>,
    /// `Ready`, `Reconciling` and `Stalled`, following the Kubernetes status conventions (kstatus).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
}

/// What `managementPolicy: Manage` would do.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Plan {
    /// `Create`, `Update` or `None`.
    pub action: String,
    /// For `Update`: the fields that would change (for the client secret, only that it differs).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<String>,
}

/// A difference found between Infisical and an unchanged spec.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Drift {
    /// When it was found.
    pub detected_at: Time,
    /// The fields that differed.
    pub fields: Vec<String>,
}

/// An update that reset the organisation's enforce-SSO and SCIM settings.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct EnforcementReset {
    /// When the update was made.
    pub at: Time,
    /// What a person must do.
    pub message: String,
}

impl OidcSsoConfigStatus {
    pub fn condition(&self, type_: &str) -> Option<&Condition> {
        self.conditions.iter().find(|c| c.type_ == type_)
    }
}
