//! The SAML kind: `SamlSsoConfig` over Infisical's `/api/v1/sso/config`. Its validation is
//! `desired`, its diff `diff`, its preflight `certificate`; its wire types are
//! `infisical::wire::saml`.

pub mod certificate;
pub mod desired;
pub mod diff;

use crate::api::{CertificateSource, SamlSsoConfig, SamlSsoConfigSpec, SamlSsoConfigStatus};
use crate::error::{Error, Result};
use crate::infisical::wire::saml::{SamlConfig, SamlConfigSummary, UpdateSamlConfig};
use crate::infisical::{Connection, Infisical};

use super::idp_hosts::IdpResolver;
use super::kind::{Expiring, KeyRef, Referenced, Source, SsoKind};

pub use desired::Desired;

/// The SAML kind of SSO configuration.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Saml;

/// What status mirrors of a configuration Infisical holds: its answer, and what the answer
/// leaves out (create and update answers carry no entry point, issuer, certificate or group
/// sync), which it now holds as desired.
#[derive(Clone, Debug, PartialEq)]
pub struct Written {
    pub config: SamlConfigSummary,
    pub entry_point: String,
    pub issuer: String,
    pub enable_group_sync: bool,
    pub cert: String,
}

impl Written {
    fn holding(config: SamlConfigSummary, desired: &Desired) -> Self {
        Self {
            config,
            entry_point: desired.entry_point.clone(),
            issuer: desired.issuer.clone(),
            enable_group_sync: desired.enable_group_sync,
            cert: desired.cert.clone(),
        }
    }
}

/// The certificate's key, when the spec names one instead of giving it inline.
fn cert_ref(spec: &SamlSsoConfigSpec) -> Option<KeyRef<'_>> {
    let r = spec.cert_ref.as_ref()?;
    Some(KeyRef {
        source: match r.kind {
            CertificateSource::Secret => Source::Secret,
            CertificateSource::ConfigMap => Source::ConfigMap,
        },
        name: &r.name,
        key: &r.key,
        field: "spec.certRef",
    })
}

impl SsoKind for Saml {
    type Resource = SamlSsoConfig;
    type Spec = SamlSsoConfigSpec;
    type Status = SamlSsoConfigStatus;
    type Desired = Desired;
    type Stored = SamlConfig;
    type Patch = UpdateSamlConfig;
    type Answer = SamlConfigSummary;
    type Written = Written;

    const LABEL: &'static str = "SAML";
    const SECRET_FIELDS: &'static [&'static str] = &["cert"];

    fn references(spec: &SamlSsoConfigSpec) -> Vec<KeyRef<'_>> {
        cert_ref(spec).into_iter().collect()
    }

    fn desired(spec: &SamlSsoConfigSpec, values: &Referenced) -> Result<Desired> {
        let referenced = match cert_ref(spec) {
            Some(r) => Some(
                values
                    .value(&r)
                    .ok_or_else(|| Error::invalid_spec("spec.certRef", "was not read"))?
                    .expose(),
            ),
            None => None,
        };
        desired::desired_state(spec, referenced)
    }

    fn organization_id(desired: &Desired) -> &str {
        &desired.organization_id
    }

    fn id(stored: &SamlConfig) -> &str {
        &stored.id
    }

    fn diff(desired: &Desired, stored: &SamlConfig) -> UpdateSamlConfig {
        diff::diff(desired, stored)
    }

    fn changed_fields(patch: &UpdateSamlConfig) -> Vec<&'static str> {
        patch.changed_fields()
    }

    fn differs_from_last_sync(desired: &Desired, status: &SamlSsoConfigStatus) -> bool {
        diff::spec_differs_from_last_sync(desired, status)
    }

    fn created(config: SamlConfigSummary, desired: &Desired) -> Written {
        Written::holding(config, desired)
    }

    fn updated(config: SamlConfigSummary, desired: &Desired) -> Written {
        Written::holding(config, desired)
    }

    fn in_sync(stored: SamlConfig, desired: &Desired) -> Written {
        let config = SamlConfigSummary {
            org_id: stored.organization_id().to_string(),
            id: stored.id,
            is_active: stored.is_active,
            auth_provider: stored.auth_provider,
        };
        Written::holding(config, desired)
    }

    fn written_id(written: &Written) -> &str {
        &written.config.id
    }

    fn mirror(status: &mut SamlSsoConfigStatus, written: &Written) {
        let c = &written.config;
        status.id = Some(c.id.clone());
        status.org_id = Some(c.org_id.clone());
        status.is_active = Some(c.is_active);
        status.auth_provider = Some(c.auth_provider.clone());
        status.entry_point = Some(written.entry_point.clone());
        status.issuer = Some(written.issuer.clone());
        status.enable_group_sync = Some(written.enable_group_sync);
        status.certificate_fingerprint = Some(certificate::fingerprint(&written.cert));
        status.certificate_not_after = certificate::validity(&written.cert).ok().and_then(|v| {
            k8s_openapi::jiff::Timestamp::try_from(v.not_after)
                .ok()
                .map(|t| t.to_string())
        });
    }

    fn expiring(desired: &Desired) -> Option<Expiring> {
        certificate::expiring(desired)
    }

    fn is_active(stored: &SamlConfig) -> bool {
        stored.is_active
    }

    fn deactivation(organization_id: &str) -> UpdateSamlConfig {
        UpdateSamlConfig {
            organization_id: organization_id.to_string(),
            is_active: Some(false),
            ..UpdateSamlConfig::default()
        }
    }

    async fn check_hosts(
        _resolver: &IdpResolver,
        _desired: &Desired,
        _patch: Option<&UpdateSamlConfig>,
    ) -> Result<()> {
        // Infisical resolves nothing when it saves a SAML configuration (no URL guard on
        // `entryPoint`): the browser alone follows it, at login.
        Ok(())
    }

    fn preflight_needed(patch: Option<&UpdateSamlConfig>) -> bool {
        certificate::needed(patch)
    }

    async fn preflight(desired: &Desired, _ca_pem: Option<&[u8]>) -> Result<()> {
        certificate::check(desired)
    }

    async fn get(
        infisical: &Infisical,
        connection: &Connection,
        organization_id: &str,
    ) -> Result<Option<SamlConfig>> {
        infisical.get_saml_config(connection, organization_id).await
    }

    async fn create(
        infisical: &Infisical,
        connection: &Connection,
        desired: &Desired,
    ) -> Result<SamlConfigSummary> {
        infisical
            .create_saml_config(connection, &desired.create_body())
            .await
    }

    async fn update(
        infisical: &Infisical,
        connection: &Connection,
        patch: &UpdateSamlConfig,
    ) -> Result<Option<SamlConfigSummary>> {
        infisical.update_saml_config(connection, patch).await
    }
}
#[cfg(test)]
mod tests;
