//! LDAP's rules: check the spec the way Infisical would (and what it only finds out at login),
//! and build the normalised desired state.
//!
//! Infisical's router trims every string (`bindPass` too) and fills defaults only for absent
//! keys (`ee/routes/v1/ldap-router.ts`); its service parses the CA and client certificates and
//! the client key before it connects (`ee/services/ldap-config/ldap-fns.ts`,
//! `buildLdapTlsOptions`), and answers an unparsable URL with a bare 500 (the URL guard's
//! `new URL`). Everything here is sent as written, so a stored configuration compares equal to
//! the spec that produced it.

use crate::api::{LdapSsoConfigSpec, MAX_LDAP_TEXT};
use crate::error::{Error, Result};
use crate::infisical::SecretString;
use crate::infisical::is_loopback;
use crate::infisical::wire::ldap::CreateLdapConfig;
use crate::reconcile::checks::{check_url_text, is_invisible, uuid_like};

use super::tls;

/// The values the spec points to, read by dereference: the bind password, the CA certificate
/// when it comes from a Secret or ConfigMap, and the mTLS pair.
#[derive(Clone, Debug, Default)]
pub struct LdapInputs {
    pub bind_password: SecretString,
    pub ca_certificate: Option<String>,
    pub client_certificate: Option<String>,
    pub client_key: Option<SecretString>,
}

/// The configuration Infisical should hold, normalised as Infisical stores it.
#[derive(Clone, Debug, PartialEq)]
pub struct Desired {
    pub organization_id: String,
    pub is_active: bool,
    pub url: String,
    pub bind_dn: String,
    pub bind_pass: SecretString,
    pub unique_user_attribute: String,
    pub search_base: String,
    pub search_filter: String,
    pub group_search_base: String,
    pub group_search_filter: String,
    /// `""`: trust the public CAs.
    pub ca_cert: String,
    /// The mTLS pair, both or neither.
    pub client: Option<ClientIdentity>,
}

/// A client certificate and its key (PEM).
#[derive(Clone, Debug, PartialEq)]
pub struct ClientIdentity {
    pub certificate: String,
    pub key: SecretString,
}

impl Desired {
    pub fn create_body(&self) -> CreateLdapConfig {
        CreateLdapConfig {
            organization_id: self.organization_id.clone(),
            is_active: self.is_active,
            url: self.url.clone(),
            bind_dn: self.bind_dn.clone(),
            bind_pass: self.bind_pass.clone(),
            unique_user_attribute: self.unique_user_attribute.clone(),
            search_base: self.search_base.clone(),
            search_filter: self.search_filter.clone(),
            group_search_base: self.group_search_base.clone(),
            group_search_filter: self.group_search_filter.clone(),
            ca_cert: self.ca_cert.clone(),
            client_certificate: self.client.as_ref().map(|c| c.certificate.clone()),
            client_key_certificate: self.client.as_ref().map(|c| c.key.clone()),
        }
    }

    /// The client certificate Infisical should hold, `""` for none.
    pub fn client_certificate(&self) -> &str {
        self.client.as_ref().map_or("", |c| c.certificate.as_str())
    }
}

/// Checks the spec and returns the desired state; `inputs` holds the values read from the
/// Secrets and ConfigMaps it names.
pub fn desired_state(spec: &LdapSsoConfigSpec, inputs: &LdapInputs) -> Result<Desired> {
    let organization_id = spec.organization_id.trim().to_string();
    if uuid_like(&organization_id).is_none() {
        return Err(Error::invalid_spec(
            "spec.organizationId",
            "must be the organization's ID, a UUID",
        ));
    }
    let url = spec.url.trim().to_string();
    check_url(&url)?;
    let bind_dn = dn("spec.bindDN", &spec.bind_dn, true)?;
    let bind_pass = SecretString::new(inputs.bind_password.expose().trim());
    if bind_pass.expose().is_empty() {
        return Err(Error::invalid_spec(
            "spec.bindPassRef",
            "the referenced Secret key is empty",
        ));
    }
    let unique_user_attribute = spec.unique_user_attribute.trim().to_string();
    check_attribute(&unique_user_attribute)?;
    let search_base = dn("spec.searchBase", &spec.search_base, true)?;
    let group_search_base = dn("spec.groupSearchBase", &spec.group_search_base, false)?;
    let search_filter = spec.search_filter.trim().to_string();
    check_filter(
        "spec.searchFilter",
        &search_filter,
        &["{{username}}"],
        Some("{{username}}"),
    )?;
    let group_search_filter = spec.group_search_filter.trim().to_string();
    check_filter(
        "spec.groupSearchFilter",
        &group_search_filter,
        &["{{.Username}}", "{{.UserDN}}"],
        None,
    )?;
    let ca_cert = ca_certificate(spec, inputs)?;
    let client = client_identity(inputs)?;
    Ok(Desired {
        organization_id,
        is_active: spec.is_active,
        url,
        bind_dn,
        bind_pass,
        unique_user_attribute,
        search_base,
        search_filter,
        group_search_base,
        group_search_filter,
        ca_cert,
        client,
    })
}

/// `ldaps://host[:port]`, or `ldap://` on a loopback host: Infisical never issues StartTLS, so
/// plain LDAP would carry the bind password in clear across the network.
pub fn check_url(url: &str) -> Result<()> {
    const FIELD: &str = "spec.url";
    check_url_text(FIELD, url)?;
    let scheme_error = || {
        Error::invalid_spec(
            FIELD,
            "must be an ldaps:// URL (ldap:// is accepted only for a loopback address: Infisical does not use StartTLS, so the bind password would cross the network in clear)",
        )
    };
    let (secure, rest) = if let Some(rest) = url.strip_prefix("ldaps://") {
        (true, rest)
    } else if let Some(rest) = url.strip_prefix("ldap://") {
        (false, rest)
    } else {
        return Err(scheme_error());
    };
    let authority = rest.strip_suffix('/').unwrap_or(rest);
    if authority.is_empty() {
        return Err(Error::invalid_spec(FIELD, "has no host"));
    }
    if authority.contains('@') {
        return Err(Error::invalid_spec(
            FIELD,
            "must not contain user credentials",
        ));
    }
    if authority.contains(['/', '?', '#', '\\']) {
        return Err(Error::invalid_spec(
            FIELD,
            "must be the directory's address only (scheme, host and port), without a DN, attributes or filter",
        ));
    }
    let parsed = url::Url::parse(url)
        .map_err(|e| Error::invalid_spec(FIELD, format!("is not a valid URL: {e}")))?;
    let host = parsed.host_str().unwrap_or_default();
    if host.is_empty() {
        return Err(Error::invalid_spec(FIELD, "has no host"));
    }
    // Loopback as written (127.x, localhost, [::1]), not the forms a parser also reads as
    // loopback (2130706433, 0x7f.0.0.1).
    let written_host = match authority.strip_prefix('[') {
        Some(v6) => &authority[..v6.find(']').map_or(authority.len(), |end| end + 2)],
        None => authority.split(':').next().unwrap_or_default(),
    };
    let loopback_as_written = written_host == "localhost"
        || written_host == "[::1]"
        || (written_host.starts_with("127.") && written_host.parse::<std::net::Ipv4Addr>().is_ok());
    let on_loopback = loopback_as_written && is_loopback(host);
    if !(secure || on_loopback) {
        return Err(scheme_error());
    }
    Ok(())
}

/// A distinguished name: `attribute=value` parts, no control or invisible characters (a paste
/// error that would leave login broken while the value looks right). `required`: not empty.
fn dn(field: &str, value: &str, required: bool) -> Result<String> {
    let value = value.trim();
    if value.is_empty() {
        return if required {
            Err(Error::invalid_spec(field, "must not be empty"))
        } else {
            Ok(String::new())
        };
    }
    if value.chars().count() > MAX_LDAP_TEXT {
        return Err(Error::invalid_spec(
            field,
            format!("is longer than {MAX_LDAP_TEXT} characters"),
        ));
    }
    if let Some(bad) = value.chars().find(|c| is_invisible(*c)) {
        return Err(Error::invalid_spec(
            field,
            format!(
                "must not contain control or invisible characters, found U+{:04X}",
                u32::from(bad)
            ),
        ));
    }
    if !value.contains('=') {
        return Err(Error::invalid_spec(
            field,
            "must be a distinguished name such as ou=people,dc=example,dc=org",
        ));
    }
    Ok(value.to_string())
}

/// An attribute name (RFC 4512 `descr`) or an OID.
fn check_attribute(value: &str) -> Result<()> {
    let descr = value.starts_with(|c: char| c.is_ascii_alphabetic())
        && value.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
    let oid = !value.is_empty()
        && value
            .split('.')
            .all(|part| !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit()));
    if value.len() > 256 || !(descr || oid) {
        return Err(Error::invalid_spec(
            "spec.uniqueUserAttribute",
            "must be an attribute name (letters, digits, hyphens) or an OID",
        ));
    }
    Ok(())
}

/// A search filter that parses once Infisical has put a user's values in its placeholders
/// (`required`: the placeholder it must contain).
fn check_filter(
    field: &str,
    filter: &str,
    placeholders: &[&str],
    required: Option<&str>,
) -> Result<()> {
    if filter.is_empty() {
        return Err(Error::invalid_spec(field, "must not be empty"));
    }
    if filter.chars().count() > MAX_LDAP_TEXT {
        return Err(Error::invalid_spec(
            field,
            format!("is longer than {MAX_LDAP_TEXT} characters"),
        ));
    }
    if let Some(placeholder) = required
        && !filter.contains(placeholder)
    {
        return Err(Error::invalid_spec(
            field,
            format!("must contain {placeholder}, or every login would find the same entry"),
        ));
    }
    let example = placeholders
        .iter()
        .fold(filter.to_string(), |text, placeholder| {
            text.replace(placeholder, "alice")
        });
    if ldap3::parse_filter(&example).is_err() {
        return Err(Error::invalid_spec(
            field,
            "is not an LDAP search filter (RFC 4515), such as (uid={{username}})",
        ));
    }
    Ok(())
}

/// The CA certificate as Infisical should hold it: inline or referenced, trimmed, and parsed as
/// Infisical parses it before connecting.
fn ca_certificate(spec: &LdapSsoConfigSpec, inputs: &LdapInputs) -> Result<String> {
    let given = spec
        .ca_certificate
        .as_ref()
        .or(inputs.ca_certificate.as_ref());
    let Some(pem) = given else {
        return Ok(String::new());
    };
    let pem = pem.trim().to_string();
    tls::certificates(&pem).map_err(|problem| {
        let field = if spec.ca_certificate.is_some() {
            "spec.caCertificate"
        } else {
            "spec.caCertificateRef"
        };
        Error::invalid_spec(field, problem)
    })?;
    Ok(pem)
}

/// The mTLS pair, both or neither; the key is checked to be a private key the TLS stack can use,
/// and is never quoted.
fn client_identity(inputs: &LdapInputs) -> Result<Option<ClientIdentity>> {
    match (&inputs.client_certificate, &inputs.client_key) {
        (None, None) => Ok(None),
        (Some(_), None) | (None, Some(_)) => Err(Error::invalid_spec(
            "spec.clientKeyRef",
            "clientCertificateRef and clientKeyRef must be set together",
        )),
        (Some(certificate), Some(key)) => {
            let certificate = certificate.trim().to_string();
            tls::certificates(&certificate)
                .map_err(|problem| Error::invalid_spec("spec.clientCertificateRef", problem))?;
            let key = SecretString::new(key.expose().trim());
            tls::private_key(&key)
                .map_err(|problem| Error::invalid_spec("spec.clientKeyRef", problem.to_string()))?;
            Ok(Some(ClientIdentity { certificate, key }))
        }
    }
}

#[cfg(test)]
#[path = "desired_tests.rs"]
pub(crate) mod tests;
