//! LDAP's rules: check the spec the way Infisical would (and what it only finds out at login),
//! and build the normalised desired state.
//!
//! Infisical's router trims every string (`bindPass` too) and fills defaults only for absent
//! keys (`ee/routes/v1/ldap-router.ts`); its service parses the CA and client certificates and
//! the client key before it connects (`ee/services/ldap-config/ldap-fns.ts`,
//! `buildLdapTlsOptions`), and answers an unparsable URL with a bare 500 (the URL guard's
//! `new URL`). Everything here is sent as written, so a stored configuration compares equal to
//! the spec that produced it.

use crate::api::{LdapSsoConfigSpec, MAX_LDAP_TEXT, MAX_URL_LENGTH};
use crate::error::{Error, Result};
use crate::infisical::SecretString;
use crate::infisical::is_loopback;
use crate::infisical::wire::ldap::CreateLdapConfig;
use crate::reconcile::checks::{is_invisible, uuid_like};

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
    if url.len() > MAX_URL_LENGTH {
        return Err(Error::invalid_spec(
            FIELD,
            format!("is longer than {MAX_URL_LENGTH} characters"),
        ));
    }
    // Infisical uses the text as written, while a URL parser forgives a lot: what is checked
    // must be exactly what is sent.
    if !url.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(Error::invalid_spec(
            FIELD,
            "must be printable ASCII, without whitespace or invisible characters (encode an internationalised host as xn--)",
        ));
    }
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
pub(crate) mod tests {
    use super::*;
    use serde_json::json;

    /// A spec with only the required fields, and `overrides` merged in (`null` removes a field).
    pub fn spec_with(overrides: serde_json::Value) -> LdapSsoConfigSpec {
        let mut spec = json!({
            "organizationId": " 7c1e0000-0000-4000-8000-000000000001 ",
            "authentication": {"token": {"secretRef": {"name": "t", "key": "token"}}},
            "url": "ldaps://ldap.example.org",
            "bindDN": "cn=infisical,ou=services,dc=example,dc=org",
            "bindPassRef": {"name": "ldap", "key": "password"},
            "searchBase": "ou=people,dc=example,dc=org",
        });
        for (key, value) in overrides.as_object().unwrap() {
            if value.is_null() {
                spec.as_object_mut().unwrap().remove(key);
            } else {
                spec[key] = value.clone();
            }
        }
        serde_json::from_value(spec).unwrap()
    }

    pub fn password(text: &str) -> LdapInputs {
        LdapInputs {
            bind_password: SecretString::new(text),
            ..LdapInputs::default()
        }
    }

    /// The invalid-spec message for `spec`, which must name `field`.
    fn refused(spec: &LdapSsoConfigSpec, inputs: &LdapInputs, field: &str) -> String {
        let error = desired_state(spec, inputs).expect_err("accepted");
        assert_eq!(error.reason(), "InvalidSpec", "{error}");
        let text = error.to_string();
        assert!(text.contains(field), "{field} not named: {text}");
        text
    }

    /// A CA certificate and a client certificate with its key (PEM).
    fn pem_pair() -> (String, String) {
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = rcgen::CertificateParams::new(vec!["client".to_string()])
            .unwrap()
            .self_signed(&key)
            .unwrap();
        (cert.pem(), key.serialize_pem())
    }

    #[test]
    fn defaults_and_normalisation_follow_infisical() {
        let d = desired_state(&spec_with(json!({})), &password(" s3cret\n")).unwrap();
        assert_eq!(d.organization_id, "7c1e0000-0000-4000-8000-000000000001");
        assert_eq!(d.bind_pass.expose(), "s3cret");
        assert_eq!(d.unique_user_attribute, "uidNumber");
        assert_eq!(d.search_filter, "(uid={{username}})");
        assert_eq!(
            d.group_search_filter,
            "(|(memberUid={{.Username}})(member={{.UserDN}})(uniqueMember={{.UserDN}}))"
        );
        assert_eq!(d.group_search_base, "");
        assert_eq!(d.ca_cert, "");
        assert!(d.is_active && d.client.is_none());
        assert!(
            !format!("{d:?}").contains("s3cret"),
            "the desired state's Debug shows the password"
        );
    }

    #[test]
    fn the_create_body_has_the_routers_fields_and_the_mtls_pair_only_when_set() {
        let d = desired_state(&spec_with(json!({})), &password("x")).unwrap();
        let body = serde_json::to_value(d.create_body()).unwrap();
        let mut keys: Vec<&str> = body
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        keys.sort_unstable();
        assert_eq!(
            keys,
            [
                "bindDN",
                "bindPass",
                "caCert",
                "groupSearchBase",
                "groupSearchFilter",
                "isActive",
                "organizationId",
                "searchBase",
                "searchFilter",
                "uniqueUserAttribute",
                "url"
            ]
        );
        let (cert, key) = pem_pair();
        let inputs = LdapInputs {
            client_certificate: Some(cert.clone()),
            client_key: Some(SecretString::new(key.clone())),
            ..password("x")
        };
        let d = desired_state(&spec_with(json!({})), &inputs).unwrap();
        let body = serde_json::to_value(d.create_body()).unwrap();
        assert_eq!(body["clientCertificate"], cert.trim());
        assert_eq!(body["clientKeyCertificate"], key.trim());
    }

    #[test]
    fn the_url_is_ldaps_or_ldap_on_loopback_and_nothing_else() {
        for good in [
            "ldaps://ldap.example.org",
            "ldaps://ldap.example.org:636/",
            "ldaps://10.0.0.5:3269",
            "ldap://127.0.0.1:389",
            "ldap://localhost",
            "ldap://[::1]:389",
        ] {
            assert_eq!(check_url(good).map_err(|e| e.to_string()), Ok(()), "{good}");
        }
        for (bad, why) in [
            ("ldap://ldap.example.org", "ldaps://"),
            ("ldap://2130706433", "ldaps://"),
            ("ldap://0x7f.0.0.1", "ldaps://"),
            ("https://ldap.example.org", "ldaps://"),
            ("ldap.example.org", "ldaps://"),
            ("LDAPS://ldap.example.org", "ldaps://"),
            ("ldaps://", "no host"),
            ("ldaps://admin:pw@ldap.example.org", "credentials"),
            ("ldaps://ldap.example.org/dc=example,dc=org", "address only"),
            ("ldaps://ldap.example.org?cn", "address only"),
            ("ldaps://ldap\u{200b}.example.org", "printable ASCII"),
            ("ldaps://ldap .example.org", "printable ASCII"),
        ] {
            let text = check_url(bad).unwrap_err().to_string();
            assert!(
                text.contains("spec.url") && text.contains(why),
                "{bad:?}: {text}"
            );
        }
        refused(
            &spec_with(json!({"url": "ldap://dc.corp.example"})),
            &password("x"),
            "spec.url",
        );
    }

    #[test]
    fn dns_are_distinguished_names_without_invisible_characters() {
        for (field, key) in [("spec.bindDN", "bindDN"), ("spec.searchBase", "searchBase")] {
            refused(&spec_with(json!({key: "  "})), &password("x"), field);
            refused(&spec_with(json!({key: "admin"})), &password("x"), field);
            let text = refused(
                &spec_with(json!({key: "cn=admin\u{200b},dc=example,dc=org"})),
                &password("x"),
                field,
            );
            assert!(text.contains("U+200B"), "{text}");
        }
        let text = refused(
            &spec_with(json!({"groupSearchBase": "groups"})),
            &password("x"),
            "spec.groupSearchBase",
        );
        assert!(text.contains("distinguished name"), "{text}");
    }

    #[test]
    fn an_empty_password_is_refused_by_its_reference() {
        let text = refused(&spec_with(json!({})), &password(" \n"), "spec.bindPassRef");
        assert!(text.contains("empty"), "{text}");
    }

    #[test]
    fn filters_must_parse_and_the_user_filter_must_name_the_user() {
        refused(
            &spec_with(json!({"searchFilter": "(uid=alice)"})),
            &password("x"),
            "spec.searchFilter",
        );
        refused(
            &spec_with(json!({"searchFilter": "(uid={{username}}"})),
            &password("x"),
            "spec.searchFilter",
        );
        refused(
            &spec_with(json!({"groupSearchFilter": "(member={{.UserDN}}"})),
            &password("x"),
            "spec.groupSearchFilter",
        );
        let d = desired_state(
            &spec_with(json!({
                "searchFilter": " (&(objectClass=user)(sAMAccountName={{username}})) ",
                "groupSearchFilter": "(member={{.UserDN}})",
            })),
            &password("x"),
        )
        .unwrap();
        assert_eq!(
            d.search_filter,
            "(&(objectClass=user)(sAMAccountName={{username}}))"
        );
    }

    #[test]
    fn the_unique_user_attribute_is_a_name_or_an_oid() {
        for good in [
            "uid",
            "objectGUID",
            "entryUUID",
            "x-custom-id",
            "1.3.6.1.1.16.4",
        ] {
            let d = desired_state(
                &spec_with(json!({"uniqueUserAttribute": good})),
                &password("x"),
            )
            .unwrap();
            assert_eq!(d.unique_user_attribute, good);
        }
        for bad in ["uid number", "1uid", "uid;binary", "1..2"] {
            refused(
                &spec_with(json!({"uniqueUserAttribute": bad})),
                &password("x"),
                "spec.uniqueUserAttribute",
            );
        }
    }

    #[test]
    fn certificates_and_the_key_must_parse_and_the_key_is_never_quoted() {
        let (cert, key) = pem_pair();
        let d = desired_state(
            &spec_with(json!({"caCertificate": format!("\n{cert}\n")})),
            &password("x"),
        )
        .unwrap();
        assert_eq!(d.ca_cert, cert.trim());
        refused(
            &spec_with(json!({"caCertificate": "not a certificate"})),
            &password("x"),
            "spec.caCertificate",
        );
        let referenced = LdapInputs {
            ca_certificate: Some(
                "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----".into(),
            ),
            ..password("x")
        };
        refused(&spec_with(json!({})), &referenced, "spec.caCertificateRef");

        let half = LdapInputs {
            client_certificate: Some(cert.clone()),
            ..password("x")
        };
        refused(&spec_with(json!({})), &half, "spec.clientKeyRef");
        let canary = "CANARY-not-a-key";
        let bad_key = LdapInputs {
            client_certificate: Some(cert.clone()),
            client_key: Some(SecretString::new(canary)),
            ..password("x")
        };
        let text = refused(&spec_with(json!({})), &bad_key, "spec.clientKeyRef");
        assert!(!text.contains(canary), "{text}");
        let bad_cert = LdapInputs {
            client_certificate: Some(key.clone()),
            client_key: Some(SecretString::new(key.clone())),
            ..password("x")
        };
        let text = refused(
            &spec_with(json!({})),
            &bad_cert,
            "spec.clientCertificateRef",
        );
        assert!(!text.contains("PRIVATE KEY"), "{text}");
    }

    #[test]
    fn organization_id_must_be_a_uuid() {
        refused(
            &spec_with(json!({"organizationId": "acme"})),
            &password("x"),
            "spec.organizationId",
        );
    }
}
