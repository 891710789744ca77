//! LDAP's preflight: before Infisical is told to use a directory, connect to it the way Infisical
//! will (the URL, the CA, the client certificate), bind with the DN and password, and read the
//! search bases. Infisical binds on every save too, but answers any failure with one message
//! ("Failed to establish connection to LDAP directory...") that says neither what failed nor why,
//! and it never looks at the search bases, which fail only when people log in.
//!
//! Each step is bounded as the OIDC preflight's fetches are (10 seconds), and the searches read
//! one entry's name and nothing else. The password goes to the directory only, over TLS (or to
//! a loopback address), and into no message.

use std::time::Duration;

use ldap3::{Ldap, LdapConnAsync, LdapConnSettings, LdapError, Scope, SearchOptions};

use crate::error::{Error, LdapCheck, Result};
use crate::infisical::wire::ldap::UpdateLdapConfig;

use super::desired::Desired;
use super::tls;

/// Longest wait for the connection (with its TLS handshake), and for each answer.
pub const STEP_TIMEOUT: Duration = Duration::from_secs(10);
/// RFC 4511 resultCode invalidCredentials.
const INVALID_CREDENTIALS: u32 = 49;
/// RFC 4511 resultCode noSuchObject.
const NO_SUCH_OBJECT: u32 = 32;

/// Whether a plan needs the preflight: a create, or an update of how Infisical reaches the
/// directory, what it searches, or one that turns the configuration on.
pub fn needed(patch: Option<&UpdateLdapConfig>) -> bool {
    let Some(p) = patch else { return true };
    p.url.is_some()
        || p.bind_dn.is_some()
        || p.bind_pass.is_some()
        || p.ca_cert.is_some()
        || p.client_certificate.is_some()
        || p.client_key_certificate.is_some()
        || p.search_base.is_some()
        || p.group_search_base.is_some()
        || p.is_active == Some(true)
}

pub(crate) fn failed(check: LdapCheck, detail: impl Into<String>) -> Error {
    Error::LdapPreflightFailed {
        check,
        detail: detail.into(),
    }
}

/// Connects, binds and reads `searchBase` (and `groupSearchBase` when set).
pub async fn check(desired: &Desired) -> Result<()> {
    let (mut ldap, driver) = connect(desired).await?;
    let outcome = bind_and_search(&mut ldap, desired).await;
    let outcome = match outcome {
        // A connection that died under an operation: its driver knows why (a TLS alert, such
        // as a directory refusing the client certificate after the handshake).
        Err(Failure::Connection(error)) => Err(connection_failure(desired, error, driver).await),
        Err(Failure::Check(error)) => Err(error),
        Ok(()) => Ok(()),
    };
    let _ = tokio::time::timeout(STEP_TIMEOUT, ldap.unbind()).await;
    outcome
}

type Driver = tokio::task::JoinHandle<std::result::Result<(), LdapError>>;

async fn connect(desired: &Desired) -> Result<(Ldap, Driver)> {
    let mut settings = LdapConnSettings::new().set_conn_timeout(STEP_TIMEOUT);
    if desired.url.starts_with("ldaps://") {
        let client = desired
            .client
            .as_ref()
            .map(|c| (c.certificate.as_str(), &c.key));
        let config = tls::client_config(&desired.ca_cert, client)
            .map_err(|problem| failed(LdapCheck::Tls, problem))?;
        settings = settings.set_config(config);
    }
    let (conn, ldap) = LdapConnAsync::with_settings(settings, &desired.url)
        .await
        .map_err(|e| classify(desired, &e))?;
    let driver = tokio::spawn(conn.drive());
    Ok((ldap, driver))
}

/// Why an operation did not get its answer.
enum Failure {
    /// The directory answered, and the answer is a failed check.
    Check(Error),
    /// No answer: the connection failed.
    Connection(LdapError),
}

async fn bind_and_search(ldap: &mut Ldap, desired: &Desired) -> std::result::Result<(), Failure> {
    let bound = ldap
        .with_timeout(STEP_TIMEOUT)
        .simple_bind(&desired.bind_dn, desired.bind_pass.expose())
        .await
        .map_err(Failure::Connection)?;
    if bound.rc != 0 {
        let why = if bound.rc == INVALID_CREDENTIALS {
            "invalid credentials: wrong bindDN or password".to_string()
        } else {
            answer_text(bound.rc, &bound.text)
        };
        return Err(Failure::Check(failed(
            LdapCheck::BindRefused,
            format!(
                "{} refused the bind as {:?}: {why}",
                desired.url, desired.bind_dn
            ),
        )));
    }
    read_entry(ldap, "spec.searchBase", &desired.search_base).await?;
    if !desired.group_search_base.is_empty() {
        read_entry(ldap, "spec.groupSearchBase", &desired.group_search_base).await?;
    }
    Ok(())
}

/// Reads one entry's name (a base-scope search, one entry at most, no attributes).
async fn read_entry(ldap: &mut Ldap, field: &str, dn: &str) -> std::result::Result<(), Failure> {
    let bound = STEP_TIMEOUT.as_secs() as i32;
    let ldap3::SearchResult(entries, result) = ldap
        .with_timeout(STEP_TIMEOUT)
        .with_search_options(SearchOptions::new().sizelimit(1).timelimit(bound))
        .search(dn, Scope::Base, "(objectClass=*)", vec!["1.1"])
        .await
        .map_err(Failure::Connection)?;
    if result.rc == 0 && !entries.is_empty() {
        return Ok(());
    }
    let why = if result.rc == NO_SUCH_OBJECT || result.rc == 0 {
        "no such entry, or the bind DN may not read it".to_string()
    } else {
        answer_text(result.rc, &result.text)
    };
    Err(Failure::Check(failed(
        LdapCheck::SearchBaseNotFound,
        format!("{field} {dn:?}: {why}"),
    )))
}

/// The directory's result code and diagnostic text (which never holds the password).
fn answer_text(rc: u32, text: &str) -> String {
    let text = text.trim();
    if text.is_empty() {
        format!("result code {rc}")
    } else {
        format!("result code {rc}, {:?}", crate::error::truncated(text, 200))
    }
}

/// A connection that failed under an operation: the driver's own error when it has one.
async fn connection_failure(desired: &Desired, error: LdapError, driver: Driver) -> Error {
    if let LdapError::Timeout { .. } = error {
        return failed(
            LdapCheck::Unreachable,
            format!(
                "{} gave no answer within {}s",
                desired.url,
                STEP_TIMEOUT.as_secs()
            ),
        );
    }
    match tokio::time::timeout(Duration::from_secs(1), driver).await {
        Ok(Ok(Err(cause))) => classify(desired, &cause),
        _ => classify(desired, &error),
    }
}

/// A failed connection's check: TLS when rustls refused (or was refused), else unreachable.
fn classify(desired: &Desired, error: &LdapError) -> Error {
    let url = &desired.url;
    match error {
        LdapError::Io { source } => {
            if let Some(tls) = source
                .get_ref()
                .and_then(|inner| inner.downcast_ref::<rustls::Error>())
            {
                let hint = if desired.ca_cert.is_empty() {
                    "set caCertificate to the CA that signed the directory's certificate"
                } else {
                    "check that caCertificate signed the directory's certificate, and the client certificate when the directory requires one"
                };
                return failed(
                    LdapCheck::Tls,
                    format!("the TLS handshake with {url} failed: {tls}; {hint}"),
                );
            }
            // The connection was made and the directory hung up during the handshake: what a
            // directory does when it wants a client certificate it did not get (GnuTLS-built
            // slapd closes without an alert).
            let hung_up = matches!(
                source.kind(),
                std::io::ErrorKind::UnexpectedEof | std::io::ErrorKind::ConnectionReset
            );
            if hung_up && url.starts_with("ldaps://") {
                return failed(
                    LdapCheck::Tls,
                    format!(
                        "{url} closed the connection during the TLS handshake ({source}): it may require a client certificate (clientCertificateRef, clientKeyRef) or refuse the one given"
                    ),
                );
            }
            failed(
                LdapCheck::Unreachable,
                format!("cannot connect to {url}: {source}"),
            )
        }
        LdapError::Timeout { .. } => failed(
            LdapCheck::Unreachable,
            format!("{url} did not answer within {}s", STEP_TIMEOUT.as_secs()),
        ),
        other => failed(
            LdapCheck::Unreachable,
            format!("the connection to {url} failed: {other}"),
        ),
    }
}
