//! The TLS side of reaching a directory: the CA and client certificates and the client key, parsed
//! as Infisical parses them before it connects (`ldap-fns.ts`, `buildLdapTlsOptions`: an X.509
//! certificate, a private key), and the rustls client configuration the preflight connects with.

use std::sync::Arc;

use rustls::pki_types::{CertificateDer, PrivateKeyDer};

use crate::infisical::SecretString;

/// The certificates in a PEM text: at least one, each a parsable X.509 certificate.
pub fn certificates(pem: &str) -> Result<Vec<CertificateDer<'static>>, String> {
    let certs = rustls_pemfile::certs(&mut pem.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("is not PEM: {e}"))?;
    if certs.is_empty() {
        return Err("holds no PEM certificate (-----BEGIN CERTIFICATE-----)".into());
    }
    for (i, cert) in certs.iter().enumerate() {
        x509_parser::parse_x509_certificate(cert)
            .map_err(|e| format!("certificate {} is not an X.509 certificate: {e}", i + 1))?;
    }
    Ok(certs)
}

/// The private key in a PEM text, one the TLS stack can sign with. The message never quotes it.
pub fn private_key(pem: &SecretString) -> Result<PrivateKeyDer<'static>, &'static str> {
    let key = rustls_pemfile::private_key(&mut pem.expose().as_bytes())
        .ok()
        .flatten()
        .ok_or("holds no PEM private key (PKCS#8, PKCS#1 or SEC1)")?;
    rustls::crypto::aws_lc_rs::sign::any_supported_type(&key)
        .map_err(|_| "holds a private key of a type or size the operator cannot use")?;
    Ok(key)
}

/// A client configuration that trusts only `ca_pem` (the system's roots when it is empty) and
/// presents `client` (certificate PEM, key) when given.
pub fn client_config(
    ca_pem: &str,
    client: Option<(&str, &SecretString)>,
) -> Result<Arc<rustls::ClientConfig>, String> {
    let mut roots = rustls::RootCertStore::empty();
    if ca_pem.is_empty() {
        let native = rustls_native_certs::load_native_certs();
        for cert in native.certs {
            // A system certificate rustls cannot use is one fewer root, not a failure.
            let _ = roots.add(cert);
        }
        if roots.is_empty() {
            return Err(
                "no caCertificate is given and the operator's system has no CA certificates".into(),
            );
        }
    } else {
        for cert in certificates(ca_pem)? {
            roots
                .add(cert)
                .map_err(|e| format!("caCertificate cannot be used as a root: {e}"))?;
        }
    }
    let builder = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| e.to_string())?
    .with_root_certificates(roots);
    let config = match client {
        None => builder.with_no_client_auth(),
        Some((cert_pem, key_pem)) => {
            let chain = certificates(cert_pem).map_err(|e| format!("client certificate {e}"))?;
            let key = private_key(key_pem).map_err(|e| format!("client key {e}"))?;
            builder
                .with_client_auth_cert(chain, key)
                .map_err(|e| format!("client certificate and key cannot be used together: {e}"))?
        }
    };
    Ok(Arc::new(config))
}
