//! The LDAP kind: `LdapSsoConfig` over Infisical's `/api/v1/ldap/config`. Its validation is
//! `desired`, its diff `diff`, its preflight `directory` (with `tls`); its wire types and calls
//! are `infisical::wire::ldap` and `infisical::ldap`.
//!
//! Infisical's LDAP group maps (LDAP group CN to Infisical group) are JWT-only routes: a machine
//! identity gets 403 there, so this kind does not manage them.

pub mod desired;
pub mod diff;
pub mod directory;
pub mod tls;

use crate::api::{CertificateSource, LdapSsoConfig, LdapSsoConfigSpec, LdapSsoConfigStatus};
use crate::error::{Error, Result};
use crate::infisical::wire::ldap::{LdapConfig, LdapConfigSummary, UpdateLdapConfig};
use crate::infisical::{Connection, Infisical};

use super::idp_hosts::IdpResolver;
use super::kind::{KeyRef, Referenced, Source, SsoKind};

pub use desired::{Desired, LdapInputs};

/// The LDAP kind of SSO configuration.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Ldap;

/// What status mirrors of a configuration Infisical holds: its answer, and what its answers
/// leave out (the bind DN, whether it holds a client certificate).
#[derive(Clone, Debug, PartialEq)]
pub struct Written {
    pub config: LdapConfigSummary,
    pub bind_dn: String,
    pub client_certificate: bool,
}

impl Written {
    fn holding(config: LdapConfigSummary, desired: &Desired) -> Self {
        Self {
            config,
            bind_dn: desired.bind_dn.clone(),
            client_certificate: desired.client.is_some(),
        }
    }
}

/// The values the spec's own fields read: the bind password, and when set the CA certificate's
/// ConfigMap or Secret and the mTLS pair.
struct References<'a> {
    bind_pass: KeyRef<'a>,
    ca_certificate: Option<KeyRef<'a>>,
    client_certificate: Option<KeyRef<'a>>,
    client_key: Option<KeyRef<'a>>,
}

impl<'a> References<'a> {
    fn of(spec: &'a LdapSsoConfigSpec) -> Self {
        Self {
            bind_pass: KeyRef::secret("spec.bindPassRef", &spec.bind_pass_ref),
            ca_certificate: spec.ca_certificate_ref.as_ref().map(|r| KeyRef {
                source: match r.kind {
                    CertificateSource::ConfigMap => Source::ConfigMap,
                    CertificateSource::Secret => Source::Secret,
                },
                name: &r.name,
                key: &r.key,
                field: "spec.caCertificateRef",
            }),
            client_certificate: spec
                .client_certificate_ref
                .as_ref()
                .map(|r| KeyRef::secret("spec.clientCertificateRef", r)),
            client_key: spec
                .client_key_ref
                .as_ref()
                .map(|r| KeyRef::secret("spec.clientKeyRef", r)),
        }
    }

    fn all(self) -> Vec<KeyRef<'a>> {
        [
            Some(self.bind_pass),
            self.ca_certificate,
            self.client_certificate,
            self.client_key,
        ]
        .into_iter()
        .flatten()
        .collect()
    }

    /// The values read, as the kind's rules take them.
    fn inputs(&self, values: &Referenced) -> Result<LdapInputs> {
        let read = |r: &KeyRef<'_>| {
            values
                .value(r)
                .cloned()
                .ok_or_else(|| Error::invalid_spec(r.field, "was not read"))
        };
        let text = |r: &Option<KeyRef<'_>>| -> Result<Option<String>> {
            r.as_ref()
                .map(|r| read(r).map(|v| v.expose().to_string()))
                .transpose()
        };
        Ok(LdapInputs {
            bind_password: read(&self.bind_pass)?,
            ca_certificate: text(&self.ca_certificate)?,
            client_certificate: text(&self.client_certificate)?,
            client_key: self.client_key.as_ref().map(read).transpose()?,
        })
    }
}

impl SsoKind for Ldap {
    type Resource = LdapSsoConfig;
    type Spec = LdapSsoConfigSpec;
    type Status = LdapSsoConfigStatus;
    type Desired = Desired;
    type Stored = LdapConfig;
    type Patch = UpdateLdapConfig;
    type Answer = LdapConfigSummary;
    type Written = Written;

    const LABEL: &'static str = "LDAP";
    const SECRET_FIELDS: &'static [&'static str] = &["bindPass", "clientKeyCertificate"];
    /// An LDAP PATCH leaves the organisation's enforce-SSO and SCIM settings alone
    /// (`updateLdapCfg`).
    const RESETS_ENFORCEMENT: bool = false;

    fn references(spec: &LdapSsoConfigSpec) -> Vec<KeyRef<'_>> {
        References::of(spec).all()
    }

    fn desired(spec: &LdapSsoConfigSpec, values: &Referenced) -> Result<Desired> {
        let inputs = References::of(spec).inputs(values)?;
        desired::desired_state(spec, &inputs)
    }

    fn organization_id(desired: &Desired) -> &str {
        &desired.organization_id
    }

    fn id(stored: &LdapConfig) -> &str {
        &stored.id
    }

    fn diff(desired: &Desired, stored: &LdapConfig) -> UpdateLdapConfig {
        diff::diff(desired, stored)
    }

    fn changed_fields(patch: &UpdateLdapConfig) -> Vec<&'static str> {
        patch.changed_fields()
    }

    fn differs_from_last_sync(desired: &Desired, status: &LdapSsoConfigStatus) -> bool {
        diff::spec_differs_from_last_sync(desired, status)
    }

    fn created(config: LdapConfigSummary, desired: &Desired) -> Written {
        Written::holding(config, desired)
    }

    fn updated(config: LdapConfigSummary, desired: &Desired) -> Written {
        Written::holding(config, desired)
    }

    fn in_sync(stored: LdapConfig, desired: &Desired) -> Written {
        let config = LdapConfigSummary {
            id: stored.id,
            org_id: stored.organization,
            is_active: stored.is_active,
            url: stored.url,
            search_base: stored.search_base,
            search_filter: stored.search_filter,
            group_search_base: stored.group_search_base,
            unique_user_attribute: stored.unique_user_attribute,
            group_search_filter: stored.group_search_filter,
        };
        Written::holding(config, desired)
    }

    fn written_id(written: &Written) -> &str {
        &written.config.id
    }

    fn mirror(status: &mut LdapSsoConfigStatus, written: &Written) {
        let c = &written.config;
        let text = |v: &str| Some(v.trim().to_string()).filter(|s| !s.is_empty());
        status.id = Some(c.id.clone());
        status.org_id = Some(c.org_id.clone());
        status.is_active = Some(c.is_active);
        status.url = text(&c.url);
        status.bind_dn = text(&written.bind_dn);
        status.unique_user_attribute = text(&c.unique_user_attribute);
        status.search_base = text(&c.search_base);
        status.search_filter = text(&c.search_filter);
        status.group_search_base = Some(c.group_search_base.trim().to_string());
        status.group_search_filter = text(&c.group_search_filter);
        status.client_certificate = Some(written.client_certificate);
    }

    fn is_active(stored: &LdapConfig) -> bool {
        stored.is_active
    }

    fn deactivation(organization_id: &str) -> UpdateLdapConfig {
        UpdateLdapConfig {
            organization_id: organization_id.to_string(),
            is_active: Some(false),
            ..UpdateLdapConfig::default()
        }
    }

    /// Infisical's URL guard resolves `url` on a create, and on an update that sends it; a name
    /// that does not resolve would come back as a bare 500.
    async fn check_hosts(
        resolver: &IdpResolver,
        desired: &Desired,
        patch: Option<&UpdateLdapConfig>,
    ) -> Result<()> {
        if patch.is_some_and(|p| p.url.is_none()) {
            return Ok(());
        }
        let Some(host) = url::Url::parse(&desired.url)
            .ok()
            .and_then(|u| u.host_str().map(str::to_string))
        else {
            return Ok(());
        };
        resolver.check("spec.url", &host).await
    }

    fn preflight_needed(patch: Option<&UpdateLdapConfig>) -> bool {
        directory::needed(patch)
    }

    /// The directory is trusted with the spec's `caCertificate`, as Infisical will trust it.
    async fn preflight(desired: &Desired, _ca_pem: Option<&[u8]>) -> Result<()> {
        directory::check(desired).await
    }

    async fn get(
        infisical: &Infisical,
        connection: &Connection,
        organization_id: &str,
    ) -> Result<Option<LdapConfig>> {
        infisical.get_ldap_config(connection, organization_id).await
    }

    async fn create(
        infisical: &Infisical,
        connection: &Connection,
        desired: &Desired,
    ) -> Result<LdapConfigSummary> {
        infisical
            .create_ldap_config(connection, &desired.create_body())
            .await
    }

    async fn update(
        infisical: &Infisical,
        connection: &Connection,
        patch: &UpdateLdapConfig,
    ) -> Result<Option<LdapConfigSummary>> {
        infisical.update_ldap_config(connection, patch).await
    }
}
