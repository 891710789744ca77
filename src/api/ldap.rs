//! The `LdapSsoConfig` custom resource: an organisation's LDAP login, declared.
//!
//! Doc comments on fields are user documentation: they become `kubectl explain` text.

use kube::{CustomResource, KubeSchema};
use serde::{Deserialize, Serialize};

use super::common::CommonSpec;
use super::ldap_status::LdapSsoConfigStatus;
use super::saml::CertificateRef;
use super::spec::{MAX_URL_LENGTH, SecretKeyRef};

/// What Infisical stores when a create leaves `uniqueUserAttribute` out.
pub const DEFAULT_UNIQUE_USER_ATTRIBUTE: &str = "uidNumber";
/// What Infisical stores when a create leaves `searchFilter` out, and uses at login for `""`.
pub const DEFAULT_SEARCH_FILTER: &str = "(uid={{username}})";
/// What Infisical stores when a create leaves `groupSearchFilter` out, and uses at login for `""`.
pub const DEFAULT_GROUP_SEARCH_FILTER: &str =
    "(|(memberUid={{.Username}})(member={{.UserDN}})(uniqueMember={{.UserDN}}))";
/// Longest DN, search filter or attribute name accepted: far above real ones, and a bound the
/// API server's CEL cost estimate needs.
pub const MAX_LDAP_TEXT: usize = 1024;
/// Largest inline PEM accepted: a handful of CA certificates.
pub const MAX_PEM_LENGTH: usize = 64 * 1024;

/// Declares the LDAP login configuration of one Infisical organisation.
///
/// The operator creates the configuration in Infisical when it does not exist, keeps it equal to
/// this spec (correcting changes made elsewhere), and reports the configuration's id and state in
/// `status`. An organisation has at most one LDAP configuration, so at most one LdapSsoConfig may
/// target an organisation. Infisical's LDAP group maps (LDAP group to Infisical group) can only be
/// managed by a person logged in to Infisical, not by a machine identity: this resource does not
/// manage them.
// clippy reads the repeated `printcolumn(type_ = ...)` arguments as duplicated attributes.
#[allow(clippy::duplicated_attributes)]
#[derive(CustomResource, KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[kube(
    group = "oidc.infisical-operator.io",
    version = "v1alpha1",
    kind = "LdapSsoConfig",
    plural = "ldapssoconfigs",
    shortname = "ldapsso",
    category = "infisical",
    namespaced,
    cel,
    status = "LdapSsoConfigStatus",
    doc = "LdapSsoConfig declares the LDAP login configuration of an Infisical organisation.",
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
        name = "URL",
        type_ = "string",
        json_path = ".spec.url",
        priority = "1"
    ),
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
#[x_kube(validation = Rule::new("!(has(self.caCertificate) && has(self.caCertificateRef))").message("set at most one of caCertificate and caCertificateRef").reason(Reason::FieldValueForbidden).field_path(".caCertificateRef"))]
#[x_kube(validation = Rule::new("has(self.clientCertificateRef) == has(self.clientKeyRef)").message("clientCertificateRef and clientKeyRef must be set together").reason(Reason::FieldValueRequired).field_path(".clientKeyRef"))]
#[serde(rename_all = "camelCase")]
pub struct LdapSsoConfigSpec {
    /// The fields every kind has (organizationId, hostAPI, authentication, the policies...).
    /// The identity in `authentication` needs the organisation permissions
    /// `ldap: read, create, edit`.
    #[serde(flatten)]
    pub common: CommonSpec,

    /// The directory's address: `ldaps://host[:port]` (port 636 by default). Infisical connects
    /// to it when the configuration is saved and at every login, and binds with `bindDN` and the
    /// bind password; it never issues StartTLS, so `ldap://` would send the password in clear and
    /// is accepted only for a loopback address. Infisical Cloud, and a self-hosted instance
    /// unless it allows internal addresses, refuse a directory on a private or loopback address.
    #[schemars(length(min = 1, max = MAX_URL_LENGTH))]
    #[x_kube(validation = Rule::new(LDAP_URL_RULE).message("url must be an ldaps:// URL with a host and no credentials (ldap:// is accepted only for a loopback address)"))]
    pub url: String,

    /// The distinguished name Infisical binds as to search the directory, e.g.
    /// `cn=infisical,ou=services,dc=example,dc=org`. It needs read access to `searchBase` (and
    /// `groupSearchBase`).
    #[serde(rename = "bindDN")]
    #[schemars(length(min = 1, max = MAX_LDAP_TEXT))]
    pub bind_dn: String,

    /// The key of a Secret in this namespace holding the password of `bindDN`. The operator reads
    /// it on every pass, so rotating the Secret rotates the password in Infisical. Leading and
    /// trailing whitespace is removed, as Infisical does.
    pub bind_pass_ref: SecretKeyRef,

    /// The user attribute that identifies a person across logins, e.g. `uidNumber` (default),
    /// `uid`, `mail`, `entryUUID` or, for Active Directory, `objectGUID`. Changing it later makes
    /// existing members look like new ones to Infisical.
    #[serde(default = "default_unique_user_attribute")]
    #[schemars(length(min = 1, max = 256))]
    #[x_kube(validation = Rule::new("self.matches('^[A-Za-z][A-Za-z0-9-]*$|^[0-9]+(\\\\.[0-9]+)*$')").message("uniqueUserAttribute must be an attribute name (letters, digits, hyphens) or an OID"))]
    pub unique_user_attribute: String,

    /// Where users are searched for, e.g. `ou=people,dc=example,dc=org`. The preflight checks
    /// that this entry exists and that `bindDN` can read it.
    #[schemars(length(min = 1, max = MAX_LDAP_TEXT))]
    pub search_base: String,

    /// The filter that finds the person logging in; `{{username}}` is replaced by what they
    /// typed. Defaults to `(uid={{username}})`; for Active Directory, e.g.
    /// `(sAMAccountName={{username}})`.
    #[serde(default = "default_search_filter")]
    #[schemars(length(min = 1, max = MAX_LDAP_TEXT))]
    #[x_kube(validation = Rule::new("self.contains('{{username}}')").message("searchFilter must contain {{username}}, or every login would find the same entry"))]
    pub search_filter: String,

    /// Where groups are searched for, e.g. `ou=groups,dc=example,dc=org`. Empty (default): no
    /// group search at login. Which LDAP group gives which Infisical group is set in Infisical
    /// (LDAP group maps, by a person: Infisical does not let a machine identity manage them).
    #[serde(default)]
    #[schemars(length(max = MAX_LDAP_TEXT))]
    pub group_search_base: String,

    /// The filter that finds a person's groups; `{{.Username}}` is replaced by their uid and
    /// `{{.UserDN}}` by their DN. Defaults to
    /// `(|(memberUid={{.Username}})(member={{.UserDN}})(uniqueMember={{.UserDN}}))`.
    #[serde(default = "default_group_search_filter")]
    #[schemars(length(min = 1, max = MAX_LDAP_TEXT))]
    pub group_search_filter: String,

    /// The CA certificate(s) that signed the directory's certificate, PEM-encoded
    /// (`-----BEGIN CERTIFICATE-----`). Set this or `caCertificateRef`, or neither: then the
    /// directory's certificate must chain to a public CA.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = MAX_PEM_LENGTH))]
    pub ca_certificate: Option<String>,

    /// The key of a ConfigMap or Secret in this namespace holding the CA certificate(s),
    /// PEM-encoded. Set this or `caCertificate`. The operator reads it on every pass.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_certificate_ref: Option<CertificateRef>,

    /// For a directory that requires client certificates (mutual TLS, such as Google Secure
    /// LDAP): the key of a Secret in this namespace holding the client certificate (PEM). Set
    /// together with `clientKeyRef`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_certificate_ref: Option<SecretKeyRef>,

    /// The key of a Secret in this namespace holding the client certificate's private key (PEM).
    /// Infisical never returns the key, so a key changed in Infisical by someone else is not
    /// seen; a change of this Secret is sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_key_ref: Option<SecretKeyRef>,

    /// Whether members can log in with this configuration. Defaults to true.
    #[serde(default = "default_true")]
    pub is_active: bool,
}

/// An LDAP URL: ldaps, or ldap on a loopback host (Infisical never issues StartTLS, so plain
/// ldap sends the bind password in clear); a host, no credentials; printable ASCII only, since
/// Infisical uses the text as written.
const LDAP_URL_RULE: &str = r"self.matches('^[!-~]+$') && (self.matches('^ldaps://[^\\s/?#@]+/?$') || self.matches('^ldap://(127\\.[0-9.]+|localhost|\\[::1\\])(:[0-9]+)?/?$'))";

fn default_true() -> bool {
    true
}

fn default_unique_user_attribute() -> String {
    DEFAULT_UNIQUE_USER_ATTRIBUTE.to_string()
}

fn default_search_filter() -> String {
    DEFAULT_SEARCH_FILTER.to_string()
}

fn default_group_search_filter() -> String {
    DEFAULT_GROUP_SEARCH_FILTER.to_string()
}

crate::sso_resource!(LdapSsoConfig, LdapSsoConfigSpec, LdapSsoConfigStatus);
