//! Infisical's `testLDAPConfig` (`backend/src/ee/services/ldap-config/ldap-fns.ts`, the mTLS
//! version with `buildLdapTlsOptions`): check the PEM inputs, then connect to the directory and
//! bind as the configured DN. Every failure to connect, to complete TLS or to bind is the same
//! `false`: the service reports one message and never the cause.
//!
//! Done with `ldap3` over rustls where Infisical uses `@infisical/ldapjs` over Node's TLS:
//! * `ldaps://` gets TLS trusting only `caCert` when one is given (`tlsOptions.ca = [caCert]`),
//!   else the system's roots (Node's default store); `ldap://` is plain, no StartTLS, so a
//!   `caCert` is checked but unused there, as in ldapjs.
//! * a client certificate and key, when both are given, are presented (mTLS). One without the
//!   other cannot configure a TLS client: the test fails (inferred: Node's TLS context refuses a
//!   certificate without its key).
//! * ldapjs sets no timeout (the OS's TCP timeout applies); the emulator gives up after
//!   [`BIND_TIMEOUT`] so a test against an unroutable address ends.
//! * the host is resolved by the system resolver when connecting, not through the URL guard's
//!   table (Infisical does not pin the guard's answer either).

use std::sync::Arc;
use std::time::Duration;

use ldap3::{LdapConnAsync, LdapConnSettings};
use rustls::RootCertStore;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

pub(crate) const BIND_TIMEOUT: Duration = Duration::from_secs(10);

pub(crate) const MSG_INVALID_CA: &str =
    "Invalid CA Certificate. Expected a PEM-encoded X.509 certificate.";
pub(crate) const MSG_INVALID_CLIENT_CERT: &str =
    "Invalid Client Certificate. Expected a PEM-encoded X.509 certificate.";
pub(crate) const MSG_INVALID_CLIENT_KEY: &str =
    "Invalid Client Private Key. Expected a PEM-encoded private key.";

/// What `testLDAPConfig` reads of a configuration.
pub(crate) struct BindTarget {
    pub url: String,
    pub bind_dn: String,
    pub bind_pass: String,
    pub ca_cert: String,
    pub client_certificate: String,
    pub client_key_certificate: String,
}

/// The TLS inputs once parsed (`buildLdapTlsOptions`).
pub(crate) struct TlsInputs {
    ca: Option<Vec<CertificateDer<'static>>>,
    client_certificate: Option<Vec<CertificateDer<'static>>>,
    client_key: Option<PrivateKeyDer<'static>>,
}

/// `buildLdapTlsOptions`: each non-empty PEM must parse, in this order (CA, client certificate,
/// client key); the first that does not is a 400 with its message.
pub(crate) fn tls_inputs(t: &BindTarget) -> Result<TlsInputs, &'static str> {
    let certs = |pem: &str| -> Option<Vec<CertificateDer<'static>>> {
        let certs: Vec<CertificateDer<'static>> = rustls_pemfile::certs(&mut pem.as_bytes())
            .collect::<Result<_, _>>()
            .ok()?;
        // Node's `new X509Certificate` parses the certificate; a root store does as much.
        let mut probe = RootCertStore::empty();
        let parsed = certs.iter().all(|c| probe.add(c.clone()).is_ok());
        (!certs.is_empty() && parsed).then_some(certs)
    };
    let ca = match t.ca_cert.as_str() {
        "" => None,
        pem => Some(certs(pem).ok_or(MSG_INVALID_CA)?),
    };
    let client_certificate = match t.client_certificate.as_str() {
        "" => None,
        pem => Some(certs(pem).ok_or(MSG_INVALID_CLIENT_CERT)?),
    };
    let client_key = match t.client_key_certificate.as_str() {
        "" => None,
        pem => Some(
            rustls_pemfile::private_key(&mut pem.as_bytes())
                .ok()
                .flatten()
                .ok_or(MSG_INVALID_CLIENT_KEY)?,
        ),
    };
    Ok(TlsInputs {
        ca,
        client_certificate,
        client_key,
    })
}

fn client_config(tls: TlsInputs) -> Option<Arc<rustls::ClientConfig>> {
    let mut roots = RootCertStore::empty();
    match tls.ca {
        Some(ca) => {
            for c in ca {
                roots.add(c).ok()?;
            }
        }
        None => {
            for c in rustls_native_certs::load_native_certs().certs {
                let _ = roots.add(c);
            }
        }
    }
    let builder = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .ok()?
    .with_root_certificates(roots);
    let config = match (tls.client_certificate, tls.client_key) {
        (None, None) => builder.with_no_client_auth(),
        (Some(certs), Some(key)) => builder.with_client_auth_cert(certs, key).ok()?,
        _ => return None,
    };
    Some(Arc::new(config))
}

/// Connect to `url` and bind as `bind_dn`: `true` only for a successful bind.
pub(crate) async fn bind(t: &BindTarget, tls: TlsInputs) -> bool {
    // ldapjs fails the connection for another scheme or a URL without a host; ldap3 would panic
    // on the latter (and `ldapi://` means a local socket).
    let dialable = url::Url::parse(&t.url).is_ok_and(|u| {
        matches!(u.scheme(), "ldap" | "ldaps") && u.host_str().is_some_and(|h| !h.is_empty())
    });
    let Some(config) = client_config(tls).filter(|_| dialable) else {
        return false;
    };
    let attempt = async {
        let settings = LdapConnSettings::new()
            .set_config(config)
            .set_conn_timeout(BIND_TIMEOUT);
        let (conn, mut ldap) = LdapConnAsync::with_settings(settings, &t.url).await.ok()?;
        tokio::spawn(async move {
            let _ = conn.drive().await;
        });
        let result = ldap.simple_bind(&t.bind_dn, &t.bind_pass).await;
        let _ = ldap.unbind().await;
        result.ok()?.success().ok()
    };
    matches!(
        tokio::time::timeout(BIND_TIMEOUT, attempt).await,
        Ok(Some(_))
    )
}
