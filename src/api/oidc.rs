//! The `OidcSsoConfig` custom resource: what a platform team declares for OIDC.
//!
//! Doc comments on fields are user documentation: they become `kubectl explain` text.

use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::common::{CommonSpec, CommonStatus};
use super::spec::{
    CaBundleRef, ConfigurationType, IDP_URL_RULE, JwtSignatureAlgorithm, MAX_URL_LENGTH,
    SecretKeyRef, email_domains_schema,
};

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

crate::sso_resource!(OidcSsoConfig, OidcSsoConfigSpec, OidcSsoConfigStatus);

fn default_true() -> bool {
    true
}
