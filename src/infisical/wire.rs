//! Infisical's request and response bodies, field for field.
//!
//! Request bodies carry exactly the fields of the create endpoint's schema, which declares
//! `additionalProperties: false`.

use serde::{Deserialize, Serialize};

pub mod ldap;
pub mod saml;

use super::secret::SecretString;

/// `POST /api/v1/sso/oidc/config`. Every field is sent, unused strings as `""`, so the stored
/// configuration never depends on server-side defaults.
#[derive(Serialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct CreateOidcConfig {
    pub allowed_email_domains: String,
    pub configuration_type: String,
    pub issuer: String,
    #[serde(rename = "discoveryURL")]
    pub discovery_url: String,
    pub authorization_endpoint: String,
    pub jwks_uri: String,
    pub token_endpoint: String,
    pub userinfo_endpoint: String,
    pub client_id: String,
    pub client_secret: SecretString,
    pub is_active: bool,
    pub organization_id: String,
    pub manage_group_memberships: bool,
    pub jwt_signature_algorithm: String,
}

/// `PATCH /api/v1/sso/oidc/config`: only the fields that differ are sent.
#[derive(Serialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct UpdateOidcConfig {
    pub organization_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allowed_email_domains: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub configuration_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
    #[serde(rename = "discoveryURL", skip_serializing_if = "Option::is_none")]
    pub discovery_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub authorization_endpoint: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jwks_uri: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_endpoint: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub userinfo_endpoint: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<SecretString>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub is_active: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub manage_group_memberships: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jwt_signature_algorithm: Option<String>,
}

impl UpdateOidcConfig {
    /// Names of the fields this update carries (for logs and events; never values).
    pub fn changed_fields(&self) -> Vec<&'static str> {
        let mut out = Vec::new();
        let mut add = |present: bool, name: &'static str| {
            if present {
                out.push(name)
            }
        };
        add(self.allowed_email_domains.is_some(), "allowedEmailDomains");
        add(self.configuration_type.is_some(), "configurationType");
        add(self.issuer.is_some(), "issuer");
        add(self.discovery_url.is_some(), "discoveryURL");
        add(
            self.authorization_endpoint.is_some(),
            "authorizationEndpoint",
        );
        add(self.jwks_uri.is_some(), "jwksUri");
        add(self.token_endpoint.is_some(), "tokenEndpoint");
        add(self.userinfo_endpoint.is_some(), "userinfoEndpoint");
        add(self.client_id.is_some(), "clientId");
        add(self.client_secret.is_some(), "clientSecret");
        add(self.is_active.is_some(), "isActive");
        add(
            self.manage_group_memberships.is_some(),
            "manageGroupMemberships",
        );
        add(
            self.jwt_signature_algorithm.is_some(),
            "jwtSignatureAlgorithm",
        );
        out
    }

    pub fn is_empty(&self) -> bool {
        self.changed_fields().is_empty()
    }
}

/// `GET /api/v1/sso/oidc/config`: the stored configuration, client credentials in plain text.
#[derive(Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct OidcConfig {
    #[serde(flatten)]
    pub config: OidcConfigSummary,
    #[serde(default)]
    pub client_id: String,
    #[serde(default)]
    pub client_secret: SecretString,
}

/// The body of a successful create or update: the configuration without client credentials
/// (an update's answer also lacks `jwtSignatureAlgorithm`).
#[derive(Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct OidcConfigSummary {
    pub id: String,
    pub org_id: String,
    pub configuration_type: String,
    pub is_active: bool,
    #[serde(default)]
    pub issuer: Option<String>,
    #[serde(rename = "discoveryURL", default)]
    pub discovery_url: Option<String>,
    #[serde(default)]
    pub authorization_endpoint: Option<String>,
    #[serde(default)]
    pub jwks_uri: Option<String>,
    #[serde(default)]
    pub token_endpoint: Option<String>,
    #[serde(default)]
    pub userinfo_endpoint: Option<String>,
    #[serde(default)]
    pub allowed_email_domains: Option<String>,
    #[serde(default)]
    pub manage_group_memberships: bool,
    #[serde(default)]
    pub jwt_signature_algorithm: Option<String>,
}

/// `POST /api/v1/auth/kubernetes-auth/login`: exactly these two fields (Infisical's schema allows
/// an optional `organizationSlug`, which this operator does not use).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct KubernetesAuthLogin<'a> {
    pub identity_id: &'a str,
    pub jwt: &'a SecretString,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UniversalAuthLogin<'a> {
    pub client_id: &'a str,
    pub client_secret: &'a SecretString,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TokenRenewal<'a> {
    pub access_token: &'a SecretString,
}

/// Answer of login and renew.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AccessToken {
    pub access_token: SecretString,
    /// Seconds until the token expires; 0 means it does not expire.
    pub expires_in: u64,
    /// Seconds from login after which the token can no longer be renewed.
    #[serde(rename = "accessTokenMaxTTL", default)]
    pub access_token_max_ttl: u64,
}

/// Infisical's error envelope. `message` is a string, or for 422 an array of zod issues.
#[derive(Deserialize, Debug, Default)]
#[serde(rename_all = "camelCase")]
pub struct ErrorBody {
    #[serde(default)]
    pub req_id: Option<String>,
    #[serde(default)]
    pub message: Option<serde_json::Value>,
    #[serde(default)]
    pub error: Option<String>,
}
