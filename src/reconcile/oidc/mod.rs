//! The OIDC kind: `OidcSsoConfig` over Infisical's `/api/v1/sso/oidc/config`. Its validation is
//! `desired`, its diff `diff`, its preflight `discovery` (and the IdP hosts Infisical resolves,
//! `idp_hosts`); its wire types are `infisical::wire`.

pub mod desired;
pub mod diff;
pub mod discovery;

use crate::api::{CaBundleRef, OidcSsoConfig, OidcSsoConfigSpec, OidcSsoConfigStatus};
use crate::error::{Error, Result};
use crate::infisical::wire::{OidcConfig, OidcConfigSummary, UpdateOidcConfig};
use crate::infisical::{Connection, Infisical};

use super::idp_hosts::{self, IdpResolver};
use super::kind::{KeyRef, Referenced, SsoKind};

pub use desired::Desired;

/// The OIDC kind of SSO configuration.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Oidc;

/// What status mirrors of a configuration Infisical holds: its answer, and the client ID it now
/// holds (its answers do not include it).
#[derive(Clone, Debug, PartialEq)]
pub struct Written {
    pub config: OidcConfigSummary,
    pub client_id: String,
}

impl Written {
    /// Infisical holds `config`, with the desired client ID.
    fn holding(config: OidcConfigSummary, desired: &Desired) -> Self {
        Self {
            config,
            client_id: desired.client_id.clone(),
        }
    }
}

/// The client secret, the one value the kind's own fields read.
fn client_secret_ref(spec: &OidcSsoConfigSpec) -> KeyRef<'_> {
    KeyRef::secret("spec.clientSecretRef", &spec.client_secret_ref)
}

impl SsoKind for Oidc {
    type Resource = OidcSsoConfig;
    type Spec = OidcSsoConfigSpec;
    type Status = OidcSsoConfigStatus;
    type Desired = Desired;
    type Stored = OidcConfig;
    type Patch = UpdateOidcConfig;
    type Answer = OidcConfigSummary;
    type Written = Written;

    const LABEL: &'static str = "OIDC";
    const SECRET_FIELDS: &'static [&'static str] = &["clientSecret"];

    fn references(spec: &OidcSsoConfigSpec) -> Vec<KeyRef<'_>> {
        vec![client_secret_ref(spec)]
    }

    fn preflight_ca(spec: &OidcSsoConfigSpec) -> Option<&CaBundleRef> {
        spec.idp_ca_bundle_ref.as_ref()
    }

    fn desired(spec: &OidcSsoConfigSpec, values: &Referenced) -> Result<Desired> {
        let secret = values
            .value(&client_secret_ref(spec))
            .ok_or_else(|| Error::invalid_spec("spec.clientSecretRef", "was not read"))?;
        desired::desired_state(spec, secret)
    }

    fn organization_id(desired: &Desired) -> &str {
        &desired.organization_id
    }

    fn id(stored: &OidcConfig) -> &str {
        &stored.config.id
    }

    fn diff(desired: &Desired, stored: &OidcConfig) -> UpdateOidcConfig {
        diff::diff(desired, stored)
    }

    fn changed_fields(patch: &UpdateOidcConfig) -> Vec<&'static str> {
        patch.changed_fields()
    }

    fn differs_from_last_sync(desired: &Desired, status: &OidcSsoConfigStatus) -> bool {
        diff::spec_differs_from_last_sync(desired, status)
    }

    fn created(config: OidcConfigSummary, desired: &Desired) -> Written {
        Written::holding(config, desired)
    }

    fn updated(mut config: OidcConfigSummary, desired: &Desired) -> Written {
        // The update's answer omits the algorithm; it now holds the desired one.
        config
            .jwt_signature_algorithm
            .get_or_insert_with(|| desired.jwt_signature_algorithm.to_string());
        Written::holding(config, desired)
    }

    fn in_sync(stored: OidcConfig, desired: &Desired) -> Written {
        Written::holding(stored.config, desired)
    }

    fn written_id(written: &Written) -> &str {
        &written.config.id
    }

    fn mirror(status: &mut OidcSsoConfigStatus, written: &Written) {
        let c = &written.config;
        let text = |v: &Option<String>| {
            v.as_ref()
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
        };
        status.id = Some(c.id.clone());
        status.org_id = Some(c.org_id.clone());
        status.is_active = Some(c.is_active);
        status.configuration_type = Some(c.configuration_type.clone());
        status.issuer = text(&c.issuer);
        status.discovery_url = text(&c.discovery_url);
        status.authorization_endpoint = text(&c.authorization_endpoint);
        status.jwks_uri = text(&c.jwks_uri);
        status.token_endpoint = text(&c.token_endpoint);
        status.userinfo_endpoint = text(&c.userinfo_endpoint);
        status.allowed_email_domains = text(&c.allowed_email_domains);
        status.manage_group_memberships = Some(c.manage_group_memberships);
        if let Some(alg) = text(&c.jwt_signature_algorithm) {
            status.jwt_signature_algorithm = Some(alg);
        }
        status.client_id = Some(written.client_id.clone());
    }

    fn is_active(stored: &OidcConfig) -> bool {
        stored.config.is_active
    }

    fn deactivation(organization_id: &str) -> UpdateOidcConfig {
        UpdateOidcConfig {
            organization_id: organization_id.to_string(),
            is_active: Some(false),
            ..UpdateOidcConfig::default()
        }
    }

    async fn check_hosts(
        resolver: &IdpResolver,
        desired: &Desired,
        patch: Option<&UpdateOidcConfig>,
    ) -> Result<()> {
        idp_hosts::check(resolver, desired, patch).await
    }

    fn preflight_needed(patch: Option<&UpdateOidcConfig>) -> bool {
        discovery::needed(patch)
    }

    async fn preflight(desired: &Desired, ca_pem: Option<&[u8]>) -> Result<()> {
        discovery::check(desired, ca_pem).await
    }

    async fn get(
        infisical: &Infisical,
        connection: &Connection,
        organization_id: &str,
    ) -> Result<Option<OidcConfig>> {
        infisical.get_config(connection, organization_id).await
    }

    async fn create(
        infisical: &Infisical,
        connection: &Connection,
        desired: &Desired,
    ) -> Result<OidcConfigSummary> {
        infisical
            .create_config(connection, &desired.create_body())
            .await
    }

    async fn update(
        infisical: &Infisical,
        connection: &Connection,
        patch: &UpdateOidcConfig,
    ) -> Result<Option<OidcConfigSummary>> {
        infisical.update_config(connection, patch).await
    }
}
