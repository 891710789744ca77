//! What the operator reports back on the resource. Never holds a secret.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

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
