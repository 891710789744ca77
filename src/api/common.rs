//! What every kind of SSO configuration has: the spec fields that say where, how and how often
//! (embedded in each kind's spec), the status fields the operator reports on every kind
//! (embedded in each kind's status), and [`SsoResource`], how the pipeline reaches both.
//!
//! The embedded structs are flattened: their fields sit at the same JSON paths as the kind's
//! own, and each kind's spec and status dereference to them, so `spec.organization_id` reads
//! the same on every kind.

use std::fmt::Debug;
use std::ops::{Deref, DerefMut};

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::core::NamespaceResourceScope;
use kube::{KubeSchema, Resource};
use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::spec::{
    AdoptionPolicy, Authentication, CaBundleRef, DEFAULT_HOST_API, DeletionPolicy, MAX_URL_LENGTH,
    ManagementPolicy, PreflightPolicy,
};
use super::status::{Drift, EnforcementReset, Plan};

/// The spec fields every kind has.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct CommonSpec {
    /// ID (a UUID) of the Infisical organisation whose configuration of this kind this resource
    /// manages (Organization Settings in Infisical). Immutable: to move a configuration to
    /// another organisation, create a new resource.
    #[x_kube(validation = Rule::new("self == oldSelf").message("organizationId is immutable: create a new resource to manage another organisation"))]
    #[schemars(length(max = 64))]
    #[schemars(regex(
        pattern = r"^\s*[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\s*$"
    ))]
    pub organization_id: String,

    /// Base URL of the Infisical API: `https://us.infisical.com` (default), `https://eu.infisical.com`,
    /// or a self-hosted instance. Must use https; plain http is accepted only for a loopback address.
    /// The host must also be on the operator's allow-list (`--allowed-hosts`).
    #[serde(rename = "hostAPI", default = "default_host_api")]
    #[schemars(length(max = MAX_URL_LENGTH))]
    #[x_kube(validation = Rule::new("self.startsWith('https://') || self.startsWith('http://127.') || self.startsWith('http://localhost:') || self.startsWith('http://localhost/') || self == 'http://localhost' || self.startsWith('http://[::1]')").message("hostAPI must use https (http is accepted only for loopback addresses)"))]
    pub host_api: String,

    /// Secret in this namespace holding a PEM bundle of CA certificates to trust for `hostAPI`,
    /// for self-hosted Infisical behind a private CA. When set, only these CAs are trusted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_bundle_ref: Option<CaBundleRef>,

    /// How the operator authenticates to Infisical. Exactly one method must be set. The identity
    /// needs the organisation permissions `sso: read, create, edit` (OIDC, SAML) or
    /// `ldap: read, create, edit` (LDAP).
    pub authentication: Authentication,

    /// What happens in Infisical when this resource is deleted. `Orphan` (default) leaves the
    /// configuration as it is; `Deactivate` sets it inactive first. Infisical has no way to delete
    /// an SSO configuration. LDAP: Infisical binds to the directory on every update, so
    /// `Deactivate` needs the directory to answer.
    #[serde(default)]
    pub deletion_policy: DeletionPolicy,

    /// What to do when the organisation already has a configuration of this kind that this
    /// resource did not create. `Never` (default) reports `AdoptionRequired` and changes nothing;
    /// `Adopt` takes it over and makes it equal to this spec.
    #[serde(default)]
    pub adoption_policy: AdoptionPolicy,

    /// How often to compare Infisical's configuration with this spec and correct drift, e.g.
    /// `10m` or `1h`. Between 30s and 24h. Defaults to the operator's `--default-resync-interval`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 32))]
    #[schemars(regex(pattern = r"^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$"))]
    #[x_kube(validation = Rule::new("duration(self) >= duration('30s') && duration(self) <= duration('24h')").message("resyncInterval must be between 30s and 24h"))]
    pub resync_interval: Option<String>,

    /// Stop all changes to Infisical while true. Status keeps its last values and reports `Suspended`.
    #[serde(default)]
    pub suspend: bool,

    /// `Manage` (default) makes Infisical match this spec. `Observe` only reads: it reports in
    /// `status.plan` what `Manage` would do (create, update these fields, or nothing) and never
    /// writes to Infisical, nor adds the finalizer. Observe first, review the plan, then switch to
    /// `Manage` to apply exactly that plan: the safe way to adopt an existing configuration.
    #[serde(default)]
    pub management_policy: ManagementPolicy,

    /// Checks of the identity provider before a create, and before an update that changes what
    /// people log in through or turns the configuration on. OIDC: the discovery document parses
    /// and its `issuer` is the URL it is served from, the JWKS answers with a key, the endpoints
    /// are https, and the provider offers `jwtSignatureAlgorithm`. SAML: the IdP certificate
    /// parses and has not expired, and the entry point is https. LDAP: the operator connects to
    /// the directory as Infisical will (the CA, the client certificate), binds with the DN and
    /// password, and reads the search bases, each step within 10 seconds. `Enforce` stops on a
    /// failure (`IdpPreflightFailed`, the certificate's reason, or the LDAP step's:
    /// `LdapUnreachable`, `LdapTlsFailed`, `LdapBindRefused`, `LdapSearchBaseNotFound`; nothing is
    /// sent to Infisical); `Warn` records a Warning Event and goes on; `Skip` checks nothing.
    /// Unset: the operator's `--default-preflight` (Enforce). Nothing secret is sent to an
    /// identity provider, except the LDAP bind password to the directory it belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preflight: Option<PreflightPolicy>,
}

/// The status fields every kind has.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CommonStatus {
    /// ID of the configuration in Infisical.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// ID of the organisation the configuration belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub org_id: Option<String>,
    /// Under `managementPolicy: Observe`: what `Manage` would do now.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan: Option<Plan>,
    /// The last time Infisical was found to differ from this spec without the spec having
    /// changed (an edit made elsewhere), and the fields that differed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_drift: Option<Drift>,
    /// When the operator last updated the configuration. Every update makes Infisical turn off
    /// the organisation's enforce-SSO and SCIM settings, which only a person can turn back on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sso_enforcement_reset: Option<EnforcementReset>,
    /// The `metadata.generation` that the conditions describe.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// A fingerprint of what the sync that last changed this status worked from: the
    /// generation and the values read from the referenced Secrets, hashed (SHA-256, hex)
    /// together with this object's uid. It shows whether those inputs changed, never what they are. After the
    /// operator restarts, a Ready resource whose inputs still match this is checked against
    /// Infisical later, at a point spread over its resync interval, so that resources that did
    /// change are handled first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inputs_digest: Option<String>,
    /// `Ready`, `Reconciling` and `Stalled`, following the Kubernetes status conventions (kstatus).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
}

impl CommonStatus {
    pub fn condition(&self, type_: &str) -> Option<&Condition> {
        self.conditions.iter().find(|c| c.type_ == type_)
    }
}

/// A resource of one kind of SSO configuration, as the pipeline reads and writes it: a
/// namespaced custom resource whose spec and status embed the common fields.
pub trait SsoResource:
    Resource<DynamicType = (), Scope = NamespaceResourceScope>
    + Clone
    + Debug
    + Serialize
    + DeserializeOwned
    + Send
    + Sync
    + 'static
{
    type Spec: Deref<Target = CommonSpec> + Clone + Debug + Send + Sync;
    type Status: Deref<Target = CommonStatus>
        + DerefMut
        + Clone
        + Debug
        + Default
        + PartialEq
        + Serialize
        + Send
        + Sync;

    fn spec(&self) -> &Self::Spec;
    fn status(&self) -> Option<&Self::Status>;
}

/// Implements [`SsoResource`] and the dereferences of a kind's spec and status to the common
/// fields they embed (as `common`).
#[macro_export]
macro_rules! sso_resource {
    ($resource:ty, $spec:ty, $status:ty) => {
        impl ::std::ops::Deref for $spec {
            type Target = $crate::api::common::CommonSpec;
            fn deref(&self) -> &Self::Target {
                &self.common
            }
        }
        impl ::std::ops::DerefMut for $spec {
            fn deref_mut(&mut self) -> &mut Self::Target {
                &mut self.common
            }
        }
        impl ::std::ops::Deref for $status {
            type Target = $crate::api::common::CommonStatus;
            fn deref(&self) -> &Self::Target {
                &self.common
            }
        }
        impl ::std::ops::DerefMut for $status {
            fn deref_mut(&mut self) -> &mut Self::Target {
                &mut self.common
            }
        }
        impl $crate::api::common::SsoResource for $resource {
            type Spec = $spec;
            type Status = $status;
            fn spec(&self) -> &$spec {
                &self.spec
            }
            fn status(&self) -> Option<&$status> {
                self.status.as_ref()
            }
        }
    };
}

fn default_host_api() -> String {
    DEFAULT_HOST_API.to_string()
}
