//! SAML's rules: check the spec the way Infisical would (and where Infisical checks nothing,
//! as login will), and build the normalised desired state. Infisical trims every string and
//! checks none of them (`saml-router.ts`: plain `z.string().trim()`), so these checks are the
//! only guard before a broken login.

use crate::api::{MAX_CERTIFICATE_LENGTH, SamlProvider, SamlSsoConfigSpec};
use crate::error::{Error, Result};
use crate::infisical::wire::saml::CreateSamlConfig;
use crate::reconcile::checks::{check_idp_url, is_invisible, uuid_like};

/// The configuration Infisical should hold, normalised as Infisical stores it.
#[derive(Clone, Debug, PartialEq)]
pub struct Desired {
    pub organization_id: String,
    pub auth_provider: SamlProvider,
    pub is_active: bool,
    pub entry_point: String,
    pub issuer: String,
    /// The IdP certificate as sent: PEM text, trimmed.
    pub cert: String,
    /// Where the certificate came from, for messages (`spec.cert` or `spec.certRef`).
    pub cert_field: &'static str,
    pub enable_group_sync: bool,
}

impl Desired {
    pub fn create_body(&self) -> CreateSamlConfig {
        CreateSamlConfig {
            organization_id: self.organization_id.clone(),
            auth_provider: self.auth_provider.as_str().to_string(),
            is_active: self.is_active,
            entry_point: self.entry_point.clone(),
            issuer: self.issuer.clone(),
            cert: self.cert.clone(),
            enable_group_sync: self.enable_group_sync,
        }
    }
}

/// Checks the spec and returns the desired state; `referenced` is the certificate read from
/// `certRef`, when the spec names one.
pub fn desired_state(spec: &SamlSsoConfigSpec, referenced: Option<&str>) -> Result<Desired> {
    let organization_id = spec.organization_id.trim().to_string();
    if uuid_like(&organization_id).is_none() {
        return Err(Error::invalid_spec(
            "spec.organizationId",
            "must be the organization's ID, a UUID",
        ));
    }
    let entry_point = spec.entry_point.trim().to_string();
    check_idp_url("spec.entryPoint", &entry_point)?;
    let issuer = spec.issuer.trim().to_string();
    if issuer.is_empty() {
        return Err(Error::invalid_spec("spec.issuer", "must not be empty"));
    }
    // Infisical compares the assertion's issuer with this text exactly: an invisible character
    // (a pasted zero-width space) would fail every login while the value looks right.
    if issuer.chars().any(is_invisible) {
        return Err(Error::invalid_spec(
            "spec.issuer",
            "contains a control or invisible character",
        ));
    }
    let (cert, cert_field) = match (&spec.cert, &spec.cert_ref, referenced) {
        (Some(inline), None, _) => (inline.trim().to_string(), "spec.cert"),
        (None, Some(_), Some(read)) => (read.trim().to_string(), "spec.certRef"),
        _ => {
            return Err(Error::invalid_spec(
                "spec.cert",
                "set exactly one of cert and certRef",
            ));
        }
    };
    if cert.is_empty() {
        return Err(Error::invalid_spec(cert_field, "holds no certificate"));
    }
    if cert.len() > MAX_CERTIFICATE_LENGTH {
        return Err(Error::invalid_spec(
            cert_field,
            format!(
                "is longer than {MAX_CERTIFICATE_LENGTH} characters; a PEM certificate is far shorter"
            ),
        ));
    }
    // Infisical refuses group sync for other providers on create (`createSamlCfg`), but not on
    // an update that leaves the provider out: refused here for both.
    if spec.enable_group_sync && !spec.auth_provider.supports_group_sync() {
        return Err(Error::invalid_spec(
            "spec.enableGroupSync",
            format!(
                "Infisical syncs groups for google-saml only, not {}",
                spec.auth_provider.as_str()
            ),
        ));
    }
    Ok(Desired {
        organization_id,
        auth_provider: spec.auth_provider,
        is_active: spec.is_active,
        entry_point,
        issuer,
        cert,
        cert_field,
        enable_group_sync: spec.enable_group_sync,
    })
}
