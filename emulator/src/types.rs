//! Public data types shared by the library API ([`crate::Control`]) and the HTTP control surface.

use serde::{Deserialize, Serialize};

/// Configuration of an emulator instance.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct EmulatorConfig {
    /// Initial state (orgs, identities, URL-guard allow-list).
    pub seed: Seed,
    /// Whether the URL guard (Infisical's `blockLocalAndPrivateIpAddresses`) is active. Default `true`.
    pub url_guard: bool,
}

impl Default for EmulatorConfig {
    fn default() -> Self {
        EmulatorConfig {
            seed: Seed::default(),
            url_guard: true,
        }
    }
}

/// Initial state. Also the format of the binary's `--config` YAML file.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Seed {
    pub orgs: Vec<OrgSeed>,
    pub identities: Vec<IdentitySeed>,
    /// Hosts (names or IP literals) exempt from the "Local IPs not allowed as URL" check.
    pub allowed_internal_hosts: Vec<String>,
}

/// An organisation to create.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct OrgSeed {
    /// Organisation id; a random UUID v4 when `None`.
    pub id: Option<String>,
    pub name: String,
    pub slug: String,
    /// License flag `plan.oidcSSO`. Default `true`.
    pub plan_oidc_sso: bool,
    /// Whether the instance SMTP configuration verifies. Default `true`.
    pub smtp_ok: bool,
    /// `org.googleSsoAuthEnforced`. Default `false`.
    pub google_sso_enforced: bool,
}

impl Default for OrgSeed {
    fn default() -> Self {
        OrgSeed {
            id: None,
            name: "Acme".to_string(),
            slug: "acme".to_string(),
            plan_oidc_sso: true,
            smtp_ok: true,
            google_sso_enforced: false,
        }
    }
}

pub(crate) fn default_permissions() -> Vec<String> {
    vec!["read".into(), "create".into(), "edit".into()]
}

/// A machine identity with Universal Auth attached.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct IdentitySeed {
    /// Organisation id (or, as a convenience, an org slug known to the emulator).
    pub org_id: String,
    /// Universal Auth client id; a random UUID when `None`.
    pub client_id: Option<String>,
    /// Universal Auth client secret; random when `None`.
    pub client_secret: Option<String>,
    /// Org permissions on subject `sso`: any of `read`, `create`, `edit`, `delete`.
    /// Default `read`, `create`, `edit`.
    pub permissions: Vec<String>,
    /// Access token TTL in seconds (0 = non-expiring). Default 2592000.
    pub access_token_ttl: u64,
    /// Access token max TTL in seconds (0 = unlimited renewals). Default 2592000.
    pub access_token_max_ttl: u64,
}

impl Default for IdentitySeed {
    fn default() -> Self {
        IdentitySeed {
            org_id: String::new(),
            client_id: None,
            client_secret: None,
            permissions: default_permissions(),
            access_token_ttl: 2_592_000,
            access_token_max_ttl: 2_592_000,
        }
    }
}

/// What [`crate::Control::seed_identity`] returns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IdentityCredentials {
    pub identity_id: String,
    pub client_id: String,
    pub client_secret: String,
}

/// Partial update of an organisation's flags (`None` = unchanged).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct OrgFlags {
    pub plan_oidc_sso: Option<bool>,
    pub smtp_ok: Option<bool>,
    pub google_sso_enforced: Option<bool>,
    pub auth_enforced: Option<bool>,
    pub scim_enabled: Option<bool>,
}

/// Observable state of an organisation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrgState {
    pub auth_enforced: bool,
    pub scim_enabled: bool,
    /// The OIDC config in the GET shape (incl. `clientId`, `clientSecret`) plus `lastUsed`.
    pub config: Option<serde_json::Value>,
    /// Requests that reached the service layer for this org (after auth, rate limit, validation).
    pub posts: u64,
    pub patches: u64,
    pub gets: u64,
}

/// A one-shot (or N-shot) fault injected into the request pipeline.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Fault {
    /// HTTP method to match (case-insensitive); any when `None`.
    #[serde(default)]
    pub method: Option<String>,
    /// Path prefix to match (path without query); any when `None`.
    #[serde(default)]
    pub path_prefix: Option<String>,
    /// How many matching requests the fault applies to. Default 1.
    #[serde(default = "one")]
    pub count: u32,
    pub kind: FaultKind,
}

fn one() -> u32 {
    1
}

/// What a fault does. JSON form: `{"type":"status","status":503}`, `{"type":"delay","millis":200}`,
/// `{"type":"connectionReset"}`, `{"type":"commitThenStatus","status":500}`, `{"type":"commitThenDrop"}`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum FaultKind {
    /// Answer with `status` and `body` (default: Infisical error envelope) without handling the request.
    #[serde(rename_all = "camelCase")]
    Status {
        status: u16,
        #[serde(default)]
        body: Option<serde_json::Value>,
    },
    /// Sleep, then handle the request normally.
    Delay { millis: u64 },
    /// Close the connection without a response, without handling the request.
    ConnectionReset,
    /// Handle the request (apply the write), then answer `status` with an error envelope.
    CommitThenStatus { status: u16 },
    /// Handle the request (apply the write), then close the connection without a response.
    CommitThenDrop,
    /// Handle the request (apply the write), then wait before answering: a client that dies
    /// in the meantime never learns the outcome of a committed write.
    CommitThenDelay { millis: u64 },
}

/// One entry of the request log (control-surface requests are not logged).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LoggedRequest {
    pub method: String,
    /// Path including the query string.
    pub path: String,
    pub identity_id: Option<String>,
    pub org_id: Option<String>,
    /// Response status; 0 when the connection was closed without a response.
    pub status: u16,
    /// JSON body with secrets replaced by `"[REDACTED]"`.
    pub body: Option<serde_json::Value>,
}

/// PEM-encoded certificate chain and private key for HTTPS.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TlsFiles {
    pub cert_pem: Vec<u8>,
    pub key_pem: Vec<u8>,
}
