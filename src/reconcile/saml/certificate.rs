//! SAML's preflight: the identity provider's certificate, checked before Infisical is told to
//! trust it. Infisical stores any text and hands it to the SAML library only at login
//! (`saml-config-service.ts` parses nothing), so a pasted private key, a truncated PEM or an
//! expired certificate would only show when nobody can log in. Nothing is fetched: the checks
//! are local, and the entry point must be https.

use std::time::{Duration, SystemTime};

use sha2::{Digest, Sha256};
use x509_parser::prelude::*;

use super::desired::Desired;
use crate::api::reasons;
use crate::error::{Error, Result};
use crate::infisical::wire::saml::UpdateSamlConfig;
use crate::reconcile::kind::Expiring;

/// How far ahead a certificate's expiry is reported (condition `IdpCertificateExpiring`, a
/// Warning Event): two weeks, time for a person to get the provider's next certificate.
pub const CERTIFICATE_EXPIRY_WARNING: Duration = Duration::from_secs(14 * 86_400);

/// What the preflight needs of a certificate.
#[derive(Clone, Debug, PartialEq)]
pub struct Validity {
    pub not_before: SystemTime,
    pub not_after: SystemTime,
}

/// Whether a plan needs the preflight: a create, or an update of what people log in through.
pub fn needed(patch: Option<&UpdateSamlConfig>) -> bool {
    let Some(p) = patch else { return true };
    p.cert.is_some()
        || p.entry_point.is_some()
        || p.issuer.is_some()
        || p.auth_provider.is_some()
        || p.is_active == Some(true)
}

/// The certificate parses, is valid now, and the entry point is https.
pub fn check(desired: &Desired) -> Result<()> {
    let validity = validity(&desired.cert).map_err(|detail| Error::IdpCertificateInvalid {
        field: desired.cert_field,
        detail,
    })?;
    let now = SystemTime::now();
    if validity.not_after <= now {
        return Err(Error::IdpCertificateExpired {
            field: desired.cert_field,
            not_after: timestamp(validity.not_after),
        });
    }
    if validity.not_before > now {
        return Err(Error::IdpCertificateInvalid {
            field: desired.cert_field,
            detail: format!("it is not valid before {}", timestamp(validity.not_before)),
        });
    }
    if !desired.entry_point.starts_with("https://") {
        return Err(Error::IdpPreflightFailed {
            check: "entryPoint",
            detail:
                "the entry point is where people's browsers are sent to log in: it must be https"
                    .into(),
        });
    }
    Ok(())
}

/// The certificate's validity; why not, for text that is not one PEM X.509 certificate.
pub fn validity(pem: &str) -> std::result::Result<Validity, String> {
    let (rest, pem) = parse_x509_pem(pem.as_bytes())
        .map_err(|_| "it is not a PEM block (-----BEGIN CERTIFICATE-----)".to_string())?;
    if pem.label != "CERTIFICATE" {
        return Err(format!(
            "its PEM block is a {:?}, not a CERTIFICATE",
            pem.label
        ));
    }
    if !rest.iter().all(u8::is_ascii_whitespace) {
        return Err("it holds more than one PEM block; give the signing certificate alone".into());
    }
    let cert = pem
        .parse_x509()
        .map_err(|e| format!("it is not an X.509 certificate ({e})"))?;
    let time = |t: ASN1Time| {
        SystemTime::UNIX_EPOCH + Duration::from_secs(u64::try_from(t.timestamp()).unwrap_or(0))
    };
    Ok(Validity {
        not_before: time(cert.validity().not_before),
        not_after: time(cert.validity().not_after),
    })
}

/// SHA-256 of the certificate's DER (what `openssl x509 -fingerprint -sha256` shows), hex; of the
/// text itself when it is not PEM. Status records it: the certificate is public, and this says
/// which one Infisical holds.
pub fn fingerprint(pem: &str) -> String {
    let der = parse_x509_pem(pem.as_bytes()).map(|(_, p)| p.contents);
    let digest = match &der {
        Ok(der) => Sha256::digest(der),
        Err(_) => Sha256::digest(pem.as_bytes()),
    };
    format!("{digest:x}")
}

/// The certificate expires within [`CERTIFICATE_EXPIRY_WARNING`], or has expired (an in-sync
/// configuration is not refused for it: it is reported).
pub fn expiring(desired: &Desired) -> Option<Expiring> {
    let not_after = validity(&desired.cert).ok()?.not_after;
    let message = match not_after.duration_since(SystemTime::now()) {
        Ok(left) if left > CERTIFICATE_EXPIRY_WARNING => return None,
        Ok(left) => format!(
            "the identity provider's certificate ({}) expires on {} (in {} days, rounded down): put the provider's next signing certificate in the spec before then, or nobody can log in with SAML",
            desired.cert_field,
            day(not_after),
            left.as_secs() / 86_400
        ),
        Err(_) => format!(
            "the identity provider's certificate ({}) expired on {}: nobody can log in with SAML until the provider's current signing certificate is in the spec",
            desired.cert_field,
            day(not_after)
        ),
    };
    Some(Expiring {
        condition: crate::api::conditions::IDP_CERTIFICATE_EXPIRING,
        reason: reasons::IDP_CERTIFICATE_EXPIRING,
        message,
    })
}

fn timestamp(at: SystemTime) -> String {
    k8s_openapi::jiff::Timestamp::try_from(at)
        .map(|t| t.to_string())
        .unwrap_or_else(|_| "an unknown time".into())
}

/// Whole days, so the message (and the status) changes at most once a day.
fn day(at: SystemTime) -> String {
    k8s_openapi::jiff::Timestamp::try_from(at)
        .map(|t| t.strftime("%Y-%m-%d").to_string())
        .unwrap_or_default()
}
