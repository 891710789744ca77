//! SAML's bodies (`ee/routes/v1/saml-router.ts`, `server/routes/sanitizedSchema/directory-config.ts`).

use serde::{Deserialize, Serialize};

/// `POST /api/v1/sso/config`: every field, so the stored configuration never depends on
/// server-side defaults. The certificate is the IdP's public one: not a secret.
#[derive(Serialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct CreateSamlConfig {
    pub organization_id: String,
    pub auth_provider: String,
    pub is_active: bool,
    pub entry_point: String,
    pub issuer: String,
    pub cert: String,
    pub enable_group_sync: bool,
}

/// `PATCH /api/v1/sso/config`: only the fields that differ are sent.
#[derive(Serialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct UpdateSamlConfig {
    pub organization_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auth_provider: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub is_active: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub entry_point: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cert: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enable_group_sync: Option<bool>,
}

impl UpdateSamlConfig {
    /// Names of the fields this update carries (for logs and events; never values).
    pub fn changed_fields(&self) -> Vec<&'static str> {
        [
            (self.auth_provider.is_some(), "authProvider"),
            (self.is_active.is_some(), "isActive"),
            (self.entry_point.is_some(), "entryPoint"),
            (self.issuer.is_some(), "issuer"),
            (self.cert.is_some(), "cert"),
            (self.enable_group_sync.is_some(), "enableGroupSync"),
        ]
        .into_iter()
        .filter_map(|(present, name)| present.then_some(name))
        .collect()
    }
}

/// `GET /api/v1/sso/config`: the stored configuration, decrypted (`getSaml`).
#[derive(Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct SamlConfig {
    pub id: String,
    #[serde(default)]
    pub org_id: Option<String>,
    /// The organisation again (`getSaml` returns both).
    #[serde(default)]
    pub organization: Option<String>,
    pub auth_provider: String,
    pub is_active: bool,
    #[serde(default)]
    pub entry_point: String,
    #[serde(default)]
    pub issuer: String,
    #[serde(default)]
    pub cert: String,
    /// Optional in the answer; absent means off.
    #[serde(default)]
    pub enable_group_sync: Option<bool>,
}

impl SamlConfig {
    /// The organisation it belongs to, whichever field carries it.
    pub fn organization_id(&self) -> &str {
        self.org_id
            .as_deref()
            .or(self.organization.as_deref())
            .unwrap_or_default()
    }
}

/// The body of a successful create or update (`SanitizedSamlConfigSchema`): no entry point,
/// issuer, certificate or group sync.
#[derive(Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct SamlConfigSummary {
    pub id: String,
    pub org_id: String,
    pub is_active: bool,
    pub auth_provider: String,
}
