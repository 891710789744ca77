//! The `OidcSsoConfig` custom resource: what a platform team declares.
//!
//! Doc comments on fields are user documentation: they become `kubectl explain` text.
//!
//! Over 400 lines, on purpose: the spec is one type, and most of this file is its field
//! documentation and CEL rules, which read best in the order `kubectl explain` shows them.

use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::common::CommonSpec;
use super::status::OidcSsoConfigStatus;

/// The Infisical Cloud (US) API address, used when `hostAPI` is not set.
pub const DEFAULT_HOST_API: &str = "https://us.infisical.com";

/// Declares the OIDC single sign-on configuration of one Infisical organisation.
///
/// The operator creates the configuration in Infisical when it does not exist, keeps it equal to
/// this spec (correcting changes made elsewhere), and reports the configuration's id and state in
/// `status`. An organisation has at most one OIDC configuration, so at most one OidcSsoConfig may
/// target an organisation.
// clippy reads the repeated `printcolumn(type_ = ...)` arguments as duplicated attributes.
#[allow(clippy::duplicated_attributes)]
#[derive(CustomResource, KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[kube(
    group = "oidc.infisical-operator.io",
    version = "v1alpha1",
    kind = "OidcSsoConfig",
    plural = "oidcssoconfigs",
    shortname = "oidcsso",
    category = "infisical",
    namespaced,
    cel,
    status = "OidcSsoConfigStatus",
    doc = "OidcSsoConfig declares the OIDC single sign-on configuration of an Infisical organisation.",
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
#[x_kube(validation = Rule::new("self.configurationType != 'discoveryURL' || (has(self.discoveryURL) && self.discoveryURL.trim() != '')").message("discoveryURL is required when configurationType is discoveryURL").reason(Reason::FieldValueRequired).field_path(".discoveryURL"))]
#[x_kube(validation = Rule::new("self.configurationType != 'custom' || (has(self.issuer) && self.issuer.trim() != '')").message("issuer is required when configurationType is custom").reason(Reason::FieldValueRequired).field_path(".issuer"))]
#[x_kube(validation = Rule::new("self.configurationType != 'custom' || (has(self.authorizationEndpoint) && self.authorizationEndpoint.trim() != '')").message("authorizationEndpoint is required when configurationType is custom").reason(Reason::FieldValueRequired).field_path(".authorizationEndpoint"))]
#[x_kube(validation = Rule::new("self.configurationType != 'custom' || (has(self.jwksUri) && self.jwksUri.trim() != '')").message("jwksUri is required when configurationType is custom").reason(Reason::FieldValueRequired).field_path(".jwksUri"))]
#[x_kube(validation = Rule::new("self.configurationType != 'custom' || (has(self.tokenEndpoint) && self.tokenEndpoint.trim() != '')").message("tokenEndpoint is required when configurationType is custom").reason(Reason::FieldValueRequired).field_path(".tokenEndpoint"))]
#[x_kube(validation = Rule::new("self.configurationType != 'custom' || (has(self.userinfoEndpoint) && self.userinfoEndpoint.trim() != '')").message("userinfoEndpoint is required when configurationType is custom").reason(Reason::FieldValueRequired).field_path(".userinfoEndpoint"))]
#[serde(rename_all = "camelCase")]
pub struct OidcSsoConfigSpec {
    /// The fields every kind has (organizationId, hostAPI, authentication, the policies...).
    #[serde(flatten)]
    pub common: CommonSpec,

    /// How Infisical finds the identity provider's endpoints: `discoveryURL` (from the provider's
    /// OpenID discovery document) or `custom` (the five endpoints given explicitly).
    pub configuration_type: ConfigurationType,

    /// The identity provider's OpenID discovery document, e.g.
    /// `https://idp.example.com/.well-known/openid-configuration`. Required for `discoveryURL`.
    #[serde(
        rename = "discoveryURL",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    #[schemars(length(max = MAX_URL_LENGTH))]
    #[x_kube(validation = Rule::new(IDP_URL_RULE).message("discoveryURL must be an https URL (http is accepted only for a loopback address)"))]
    pub discovery_url: Option<String>,

    /// The identity provider's issuer identifier, an https URL. Required for `custom`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = MAX_URL_LENGTH))]
    #[x_kube(validation = Rule::new(IDP_URL_RULE).message("issuer must be an https URL (http is accepted only for a loopback address)"))]
    pub issuer: Option<String>,

    /// The identity provider's authorization endpoint. Required for `custom`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = MAX_URL_LENGTH))]
    #[x_kube(validation = Rule::new(IDP_URL_RULE).message("authorizationEndpoint must be an https URL (http is accepted only for a loopback address)"))]
    pub authorization_endpoint: Option<String>,

    /// The identity provider's JSON Web Key Set URL. Required for `custom`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = MAX_URL_LENGTH))]
    #[x_kube(validation = Rule::new(IDP_URL_RULE).message("jwksUri must be an https URL (http is accepted only for a loopback address)"))]
    pub jwks_uri: Option<String>,

    /// The identity provider's token endpoint. Required for `custom`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = MAX_URL_LENGTH))]
    #[x_kube(validation = Rule::new(IDP_URL_RULE).message("tokenEndpoint must be an https URL (http is accepted only for a loopback address)"))]
    pub token_endpoint: Option<String>,

    /// The identity provider's userinfo endpoint. Required for `custom`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = MAX_URL_LENGTH))]
    #[x_kube(validation = Rule::new(IDP_URL_RULE).message("userinfoEndpoint must be an https URL (http is accepted only for a loopback address)"))]
    pub userinfo_endpoint: Option<String>,

    /// The OAuth client ID that Infisical was registered with at the identity provider. Control
    /// characters and invisible ones (such as a zero-width space) are refused.
    #[schemars(length(min = 1, max = 1024))]
    pub client_id: String,

    /// The key of a Secret in this namespace holding the OAuth client secret. The operator reads
    /// it on every pass, so rotating the Secret rotates the secret in Infisical.
    pub client_secret_ref: SecretKeyRef,

    /// Whether members can log in with this configuration. Defaults to true.
    #[serde(default = "default_true")]
    pub is_active: bool,

    /// Email domains allowed to log in, one per item, e.g. `[example.com, "*.example.org"]`. A
    /// leading `*.` also allows every subdomain. Empty: this list restricts nothing. At most 100
    /// entries. Infisical also lets a member in only when the email's domain is a verified email
    /// domain of the organisation (Organization Settings in Infisical), whatever this list says;
    /// domains are verified there, not through this resource.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(schema_with = "email_domains_schema")]
    pub allowed_email_domains: Vec<String>,

    /// Assign users to Infisical groups from the identity provider's group claims at login.
    #[serde(default)]
    pub manage_group_memberships: bool,

    /// Algorithm the identity provider signs ID tokens with. Defaults to RS256.
    #[serde(default)]
    pub jwt_signature_algorithm: JwtSignatureAlgorithm,

    /// Secret in this namespace holding a PEM bundle of CA certificates to trust for the
    /// identity provider's URLs during the preflight, for a provider behind a private CA. When
    /// set, only these CAs are trusted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idp_ca_bundle_ref: Option<CaBundleRef>,
}

/// What the identity-provider preflight does with a failed check.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Default, JsonSchema)]
pub enum PreflightPolicy {
    /// Stop: report `IdpPreflightFailed` and send nothing to Infisical.
    #[default]
    Enforce,
    /// Record a Warning Event and go on.
    Warn,
    /// Do not check.
    Skip,
}

/// Whether the operator changes Infisical or only reports what it would change.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Default, JsonSchema)]
pub enum ManagementPolicy {
    /// Create, update and correct the configuration.
    #[default]
    Manage,
    /// Read only: report the plan in status.
    Observe,
}

/// A reference to one key of a Secret in the resource's namespace.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Hash, JsonSchema)]
pub struct SecretKeyRef {
    /// Name of the Secret, in the same namespace as this resource.
    #[schemars(length(min = 1, max = 253))]
    pub name: String,
    /// Key within the Secret.
    #[schemars(length(min = 1, max = 253))]
    pub key: String,
}

/// A reference to a Secret in the resource's namespace.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Hash, JsonSchema)]
pub struct SecretRef {
    /// Name of the Secret, in the same namespace as this resource.
    #[schemars(length(min = 1, max = 253))]
    pub name: String,
}

/// A Secret key holding PEM-encoded CA certificates.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Hash, JsonSchema)]
pub struct CaBundleRef {
    /// Name of the Secret, in the same namespace as this resource.
    #[schemars(length(min = 1, max = 253))]
    pub name: String,
    /// Key within the Secret. Defaults to `ca.crt`.
    #[serde(default = "default_ca_key")]
    pub key: String,
}

/// Credentials for the Infisical API. Set exactly one method.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("[has(self.universalAuth), has(self.token), has(self.kubernetesAuth)].filter(m, m).size() == 1").message("set exactly one authentication method: universalAuth, token or kubernetesAuth"))]
pub struct Authentication {
    /// Log in as an Infisical machine identity with Universal Auth.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub universal_auth: Option<UniversalAuth>,
    /// Use a static access token (Infisical Token Auth).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<TokenAuth>,
    /// Log in as an Infisical machine identity with Kubernetes Auth: no Infisical credential is
    /// stored. The operator requests a short-lived token for a ServiceAccount in this namespace
    /// and Infisical verifies it with this cluster's TokenReview API. The ServiceAccount must
    /// opt in with the annotation `oidc.infisical-operator.io/allow-token-request: "true"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kubernetes_auth: Option<KubernetesAuth>,
}

/// Kubernetes Auth: an Infisical machine identity that trusts this cluster's service accounts.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct KubernetesAuth {
    /// ID of the Infisical machine identity whose Kubernetes Auth method allows the service
    /// account.
    #[schemars(length(min = 1, max = 64))]
    pub identity_id: String,
    /// ServiceAccount in this namespace whose token the operator requests. It must carry the
    /// annotation `oidc.infisical-operator.io/allow-token-request: "true"`.
    pub service_account_ref: ServiceAccountRef,
    /// Audiences of the requested token; they must include the identity's allowed audience in
    /// Infisical, when it has one. Empty: the API server's default audience.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 10), inner(length(min = 1, max = 253)))]
    pub audiences: Vec<String>,
}

/// A ServiceAccount in the resource's namespace.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Hash, JsonSchema)]
pub struct ServiceAccountRef {
    /// Name of the ServiceAccount, in the same namespace as this resource.
    #[schemars(length(min = 1, max = 253))]
    pub name: String,
}

/// Universal Auth machine identity credentials.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct UniversalAuth {
    /// Secret in this namespace with the keys `clientId` and `clientSecret` of the identity.
    pub credentials_ref: SecretRef,
}

/// A static Infisical access token.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TokenAuth {
    /// The Secret key holding the access token.
    pub secret_ref: SecretKeyRef,
}

/// How Infisical finds the identity provider's endpoints.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
pub enum ConfigurationType {
    /// Read the endpoints from the provider's discovery document.
    #[serde(rename = "discoveryURL")]
    DiscoveryUrl,
    /// Use the endpoints given in the spec.
    #[serde(rename = "custom")]
    Custom,
}

impl ConfigurationType {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::DiscoveryUrl => "discoveryURL",
            Self::Custom => "custom",
        }
    }
}

/// ID token signature algorithm.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Default, JsonSchema)]
pub enum JwtSignatureAlgorithm {
    #[default]
    RS256,
    HS256,
    RS512,
    EdDSA,
}

impl JwtSignatureAlgorithm {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::RS256 => "RS256",
            Self::HS256 => "HS256",
            Self::RS512 => "RS512",
            Self::EdDSA => "EdDSA",
        }
    }
}

/// What happens in Infisical when the resource is deleted.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Default, JsonSchema)]
pub enum DeletionPolicy {
    /// Leave the configuration in Infisical untouched.
    #[default]
    Orphan,
    /// Set the configuration inactive, then let the resource go.
    Deactivate,
}

/// Whether an existing configuration that this resource did not create may be taken over.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Default, JsonSchema)]
pub enum AdoptionPolicy {
    /// Never take over a configuration this resource did not create.
    #[default]
    Never,
    /// Take over an existing configuration and make it equal to the spec.
    Adopt,
}

/// An IdP URL must be https; plain http only for a loopback host, where no network is crossed.
/// Anyone on the path of a plain-http IdP URL could swap its signing keys and log in as anyone.
/// Printable ASCII only: Infisical uses the text as written, so nothing invisible may hide in it.
pub(super) const IDP_URL_RULE: &str = r"self.matches('^[!-~]+$') && (self.matches('^https://[^\\s/?#@]+([/?#]\\S*)?$') || self.matches('^http://(127\\.[0-9.]+|localhost|\\[::1\\])(:[0-9]+)?([/?#]\\S*)?$'))";

/// Longest accepted URL: common browser and proxy limits, far above any real IdP endpoint.
pub const MAX_URL_LENGTH: usize = 2048;

/// Longest accepted email domain entry: a DNS name is at most 253 octets, plus `*.`.
pub const MAX_EMAIL_DOMAIN_LENGTH: usize = 255;
/// Most email domain entries: Infisical stores them as one comma-separated text, and real
/// organisations allow a handful; the bound also keeps the CEL rule's cost within the API
/// server's budget.
pub const MAX_EMAIL_DOMAINS: usize = 100;

/// Each entry is one DNS name (labels of letters, digits, marks and inner hyphens), optionally
/// `*.`-prefixed. Invisible characters such as a zero-width space are not letters, so they fail.
const EMAIL_DOMAIN_RULE: &str = r"self.matches('^(\\*\\.)?[\\p{L}\\p{N}\\p{M}]([\\p{L}\\p{N}\\p{M}-]*[\\p{L}\\p{N}\\p{M}])?(\\.[\\p{L}\\p{N}\\p{M}]([\\p{L}\\p{N}\\p{M}-]*[\\p{L}\\p{N}\\p{M}])?)*$')";

fn email_domains_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({
        "type": "array",
        "maxItems": MAX_EMAIL_DOMAINS,
        "items": {
            "type": "string",
            "minLength": 1,
            "maxLength": MAX_EMAIL_DOMAIN_LENGTH,
            "x-kubernetes-validations": [{
                "rule": EMAIL_DOMAIN_RULE,
                "message": "must be one domain name such as example.com or *.example.com (one list item per domain, no @, commas, spaces or invisible characters)",
            }],
        },
    })
}

fn default_true() -> bool {
    true
}

fn default_ca_key() -> String {
    "ca.crt".to_string()
}

crate::sso_resource!(OidcSsoConfig, OidcSsoConfigSpec, OidcSsoConfigStatus);
