//! The field types the kinds' specs share (authentication, references, policies) and the rules
//! their URL and domain fields are checked with.
//!
//! Doc comments on fields are user documentation: they become `kubectl explain` text.

use kube::KubeSchema;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The Infisical Cloud (US) API address, used when `hostAPI` is not set.
pub const DEFAULT_HOST_API: &str = "https://us.infisical.com";

// What the identity-provider preflight does with a failed check. A plain comment: a doc comment
// here would replace the `preflight` field's own text in the CRD (the field is optional, so its schema
// is the enum's).
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

pub(super) fn email_domains_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
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

fn default_ca_key() -> String {
    "ca.crt".to_string()
}
