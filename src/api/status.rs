//! What the operator reports back on the resource. Never holds a secret.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::common::CommonStatus;

/// The observed state of the organisation's OIDC configuration in Infisical.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct OidcSsoConfigStatus {
    /// The fields every kind has (id, orgId, conditions, plan, drift...).
    #[serde(flatten)]
    pub common: CommonStatus,
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
