//! The `SamlSsoConfig` custom resource: an organisation's SAML single sign-on, declared.
//!
//! Doc comments on fields are user documentation: they become `kubectl explain` text.

use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::common::{CommonSpec, CommonStatus};
use super::spec::{IDP_URL_RULE, MAX_URL_LENGTH};

/// Longest accepted inline certificate: a PEM certificate with a 16384-bit key stays far below.
pub const MAX_CERTIFICATE_LENGTH: usize = 16_384;

/// Declares the SAML single sign-on configuration of one Infisical organisation.
///
/// The operator creates the configuration in Infisical when it does not exist, keeps it equal to
/// this spec (correcting changes made elsewhere), and reports the configuration's id and state in
/// `status`. An organisation has at most one SAML configuration, so at most one SamlSsoConfig
/// may target an organisation; it may have an OIDC and an LDAP configuration beside it.
// clippy reads the repeated `printcolumn(type_ = ...)` arguments as duplicated attributes.
#[allow(clippy::duplicated_attributes)]
#[derive(CustomResource, KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[kube(
    group = "oidc.infisical-operator.io",
    version = "v1alpha1",
    kind = "SamlSsoConfig",
    plural = "samlssoconfigs",
    shortname = "samlsso",
    category = "infisical",
    namespaced,
    cel,
    status = "SamlSsoConfigStatus",
    doc = "SamlSsoConfig declares the SAML single sign-on configuration of an Infisical organisation.",
    printcolumn(
        name = "Ready",
        type_ = "string",
        json_path = ".status.conditions[?(@.type==\"Ready\")].status"
    ),
    printcolumn(
        name = "Reason",
        type_ = "string",
        json_path = ".status.conditions[?(@.type==\"Ready\")].reason"
    ),
    printcolumn(name = "ID", type_ = "string", json_path = ".status.id"),
    printcolumn(name = "Active", type_ = "boolean", json_path = ".status.isActive"),
    printcolumn(name = "Provider", type_ = "string", json_path = ".spec.authProvider"),
    printcolumn(
        name = "Org",
        type_ = "string",
        json_path = ".spec.organizationId",
        priority = "1"
    ),
    printcolumn(
        name = "Message",
        type_ = "string",
        json_path = ".status.conditions[?(@.type==\"Ready\")].message",
        priority = "1"
    ),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    )
)]
#[x_kube(validation = Rule::new("has(self.cert) != has(self.certRef)").message("set exactly one of cert and certRef").reason(Reason::FieldValueRequired).field_path(".cert"))]
#[x_kube(validation = Rule::new("!self.enableGroupSync || self.authProvider == 'google-saml'").message("enableGroupSync is supported for authProvider google-saml only").reason(Reason::FieldValueInvalid).field_path(".enableGroupSync"))]
#[serde(rename_all = "camelCase")]
pub struct SamlSsoConfigSpec {
    /// The fields every kind has (organizationId, hostAPI, authentication, the policies...).
    #[serde(flatten)]
    pub common: CommonSpec,

    /// The identity provider, as Infisical names it: `okta-saml`, `azure-saml`, `jumpcloud-saml`,
    /// `google-saml`, `keycloak-saml` or `auth0-saml`. Infisical adjusts what it expects signed
    /// to the provider.
    pub auth_provider: SamlProvider,

    /// The identity provider's single sign-on URL (the SAML entry point), where Infisical sends
    /// people to log in. Must use https (http only for a loopback address).
    #[schemars(length(min = 1, max = MAX_URL_LENGTH))]
    #[x_kube(validation = Rule::new(IDP_URL_RULE).message("entryPoint must be an https URL (http is accepted only for a loopback address)"))]
    pub entry_point: String,

    /// The identity provider's issuer (its entity ID), as it appears in its assertions.
    #[schemars(length(min = 1, max = MAX_URL_LENGTH))]
    pub issuer: String,

    /// The identity provider's signing certificate, PEM-encoded (`-----BEGIN CERTIFICATE-----`).
    /// Set this or `certRef`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = MAX_CERTIFICATE_LENGTH))]
    pub cert: Option<String>,

    /// The key of a ConfigMap or Secret in this namespace holding the identity provider's
    /// signing certificate, PEM-encoded. Set this or `cert`. The operator reads it on every
    /// pass; a changed Secret is applied at once, a changed ConfigMap at the next resync.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cert_ref: Option<CertificateRef>,

    /// Whether members can log in with this configuration. Defaults to true.
    #[serde(default = "default_true")]
    pub is_active: bool,

    /// Assign users to Infisical groups from the assertion's `groups` attribute at login
    /// (groups that do not exist are created). Infisical supports it for `google-saml` only, and
    /// needs the groups feature of its plan.
    #[serde(default)]
    pub enable_group_sync: bool,
}

/// Infisical's SAML providers (`SamlProviders`).
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
pub enum SamlProvider {
    #[serde(rename = "okta-saml")]
    Okta,
    #[serde(rename = "azure-saml")]
    Azure,
    #[serde(rename = "jumpcloud-saml")]
    JumpCloud,
    #[serde(rename = "google-saml")]
    Google,
    #[serde(rename = "keycloak-saml")]
    Keycloak,
    #[serde(rename = "auth0-saml")]
    Auth0,
}

impl SamlProvider {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Okta => "okta-saml",
            Self::Azure => "azure-saml",
            Self::JumpCloud => "jumpcloud-saml",
            Self::Google => "google-saml",
            Self::Keycloak => "keycloak-saml",
            Self::Auth0 => "auth0-saml",
        }
    }

    /// Infisical syncs groups for these providers only (`GROUP_SYNC_SUPPORTED_PROVIDERS`).
    pub fn supports_group_sync(self) -> bool {
        self == Self::Google
    }
}

/// A key of a ConfigMap or Secret in the resource's namespace.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Hash, JsonSchema)]
pub struct CertificateRef {
    /// `ConfigMap` or `Secret`.
    pub kind: CertificateSource,
    /// Name of the ConfigMap or Secret, in the same namespace as this resource.
    #[schemars(length(min = 1, max = 253))]
    pub name: String,
    /// Key within it.
    #[schemars(length(min = 1, max = 253))]
    pub key: String,
}

/// Where a certificate is kept.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, JsonSchema)]
pub enum CertificateSource {
    ConfigMap,
    Secret,
}

/// The observed state of the organisation's SAML configuration in Infisical.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SamlSsoConfigStatus {
    /// The fields every kind has (id, orgId, conditions, plan, drift...).
    #[serde(flatten)]
    pub common: CommonStatus,
    /// Whether the configuration is active in Infisical.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_active: Option<bool>,
    /// The provider stored in Infisical.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_provider: Option<String>,
    /// The entry point stored in Infisical.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entry_point: Option<String>,
    /// The issuer stored in Infisical.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
    /// Whether Infisical syncs groups at login.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enable_group_sync: Option<bool>,
    /// SHA-256 fingerprint (hex, of the DER) of the identity provider's certificate Infisical
    /// holds, as `openssl x509 -noout -fingerprint -sha256` shows it (without colons).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate_fingerprint: Option<String>,
    /// When that certificate expires (its notAfter).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate_not_after: Option<String>,
}

crate::sso_resource!(SamlSsoConfig, SamlSsoConfigSpec, SamlSsoConfigStatus);

fn default_true() -> bool {
    true
}
