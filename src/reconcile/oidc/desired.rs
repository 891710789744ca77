//! OIDC's rules: check the spec the way Infisical would, and build the normalised desired state.
//!
//! PATCH has no server-side validation at all, so these checks are the only guard on updates.
//! Normalisation follows the server (trim every string; domains joined with ", ") so that a
//! stored configuration compares equal to the spec that produced it.

use crate::api::{ConfigurationType, MAX_EMAIL_DOMAINS, OidcSsoConfigSpec};
use crate::error::{Error, Result, truncated};
use crate::infisical::SecretString;
use crate::infisical::wire::CreateOidcConfig;
use crate::reconcile::checks::{check_email_domain, check_idp_url, is_invisible, uuid_like};

/// The configuration Infisical should hold, normalised as Infisical stores it.
#[derive(Clone, Debug, PartialEq)]
pub struct Desired {
    pub organization_id: String,
    pub configuration_type: &'static str,
    pub issuer: String,
    pub discovery_url: String,
    pub authorization_endpoint: String,
    pub jwks_uri: String,
    pub token_endpoint: String,
    pub userinfo_endpoint: String,
    pub client_id: String,
    pub client_secret: SecretString,
    pub is_active: bool,
    pub allowed_email_domains: String,
    pub manage_group_memberships: bool,
    pub jwt_signature_algorithm: &'static str,
}

impl Desired {
    pub fn create_body(&self) -> CreateOidcConfig {
        CreateOidcConfig {
            allowed_email_domains: self.allowed_email_domains.clone(),
            configuration_type: self.configuration_type.to_string(),
            issuer: self.issuer.clone(),
            discovery_url: self.discovery_url.clone(),
            authorization_endpoint: self.authorization_endpoint.clone(),
            jwks_uri: self.jwks_uri.clone(),
            token_endpoint: self.token_endpoint.clone(),
            userinfo_endpoint: self.userinfo_endpoint.clone(),
            client_id: self.client_id.clone(),
            client_secret: self.client_secret.clone(),
            is_active: self.is_active,
            organization_id: self.organization_id.clone(),
            manage_group_memberships: self.manage_group_memberships,
            jwt_signature_algorithm: self.jwt_signature_algorithm.to_string(),
        }
    }
}

/// Infisical's `allowedEmailDomains` form: entries trimmed, joined with ", ".
pub fn normalise_domains(domains: &[String]) -> String {
    domains
        .iter()
        .map(|d| d.trim())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Checks the spec and returns the desired state. `client_secret` comes from the dereferenced Secret.
pub fn desired_state(spec: &OidcSsoConfigSpec, client_secret: &SecretString) -> Result<Desired> {
    let trimmed = |value: &Option<String>| value.as_deref().unwrap_or("").trim().to_string();
    let organization_id = spec.organization_id.trim().to_string();
    if uuid_like(&organization_id).is_none() {
        return Err(Error::invalid_spec(
            "spec.organizationId",
            "must be the organization's ID, a UUID",
        ));
    }
    let client_id = spec.client_id.trim().to_string();
    if client_id.is_empty() {
        return Err(Error::invalid_spec("spec.clientId", "must not be empty"));
    }
    // A control or invisible character (a pasted zero-width space) in a client ID can only be a
    // paste error, and would leave login broken while the value looks right.
    if let Some(bad) = client_id.chars().find(|c| is_invisible(*c)) {
        return Err(Error::invalid_spec(
            "spec.clientId",
            format!(
                "must not contain control or invisible characters, found U+{:04X}",
                u32::from(bad)
            ),
        ));
    }
    let client_secret = SecretString::new(client_secret.expose().trim());
    if client_secret.expose().is_empty() {
        return Err(Error::invalid_spec(
            "spec.clientSecretRef",
            "the referenced Secret key is empty",
        ));
    }
    let desired = Desired {
        organization_id,
        configuration_type: spec.configuration_type.as_str(),
        issuer: trimmed(&spec.issuer),
        discovery_url: trimmed(&spec.discovery_url),
        authorization_endpoint: trimmed(&spec.authorization_endpoint),
        jwks_uri: trimmed(&spec.jwks_uri),
        token_endpoint: trimmed(&spec.token_endpoint),
        userinfo_endpoint: trimmed(&spec.userinfo_endpoint),
        client_id,
        client_secret,
        is_active: spec.is_active,
        allowed_email_domains: normalise_domains(&spec.allowed_email_domains),
        manage_group_memberships: spec.manage_group_memberships,
        jwt_signature_algorithm: spec.jwt_signature_algorithm.as_str(),
    };
    check_required_fields(spec.configuration_type, &desired)?;
    check_urls(&desired)?;
    check_domains(&spec.allowed_email_domains)?;
    Ok(desired)
}

/// Infisical's create-time refinements, applied to every write.
fn check_required_fields(kind: ConfigurationType, d: &Desired) -> Result<()> {
    let required: &[(&str, &str)] = match kind {
        ConfigurationType::DiscoveryUrl => &[("spec.discoveryURL", &d.discovery_url)],
        ConfigurationType::Custom => &[
            ("spec.issuer", &d.issuer),
            ("spec.authorizationEndpoint", &d.authorization_endpoint),
            ("spec.jwksUri", &d.jwks_uri),
            ("spec.tokenEndpoint", &d.token_endpoint),
            ("spec.userinfoEndpoint", &d.userinfo_endpoint),
        ],
    };
    for (field, value) in required {
        if value.is_empty() {
            return Err(Error::invalid_spec(
                *field,
                format!("is required when configurationType is {}", kind.as_str()),
            ));
        }
    }
    Ok(())
}

/// Endpoint URLs must parse as https URLs without embedded credentials (Infisical rejects
/// `user:pass@` and answers an unparsable URL with a bare 500). Plain http is accepted only for a
/// loopback host: anyone on the path of a plain-http IdP could swap its signing keys.
fn check_urls(d: &Desired) -> Result<()> {
    let fields = [
        ("spec.discoveryURL", &d.discovery_url),
        ("spec.issuer", &d.issuer),
        ("spec.authorizationEndpoint", &d.authorization_endpoint),
        ("spec.jwksUri", &d.jwks_uri),
        ("spec.tokenEndpoint", &d.token_endpoint),
        ("spec.userinfoEndpoint", &d.userinfo_endpoint),
    ];
    for (field, value) in fields {
        if value.is_empty() {
            continue;
        }
        check_idp_url(field, value)?;
    }
    Ok(())
}

fn check_domains(domains: &[String]) -> Result<()> {
    if domains.len() > MAX_EMAIL_DOMAINS {
        return Err(Error::invalid_spec(
            "spec.allowedEmailDomains",
            format!("has more than {MAX_EMAIL_DOMAINS} entries"),
        ));
    }
    for (i, domain) in domains.iter().enumerate() {
        check_email_domain(domain.trim()).map_err(|problem| {
            Error::invalid_spec(
                format!("spec.allowedEmailDomains[{i}]"),
                format!("{:?} {problem}", truncated(domain, 80)),
            )
        })?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reconcile::validate::tests::spec;

    #[test]
    fn defaults_and_normalisation_follow_infisical() {
        let d = desired_state(&spec(), &SecretString::new(" s3cret\n")).unwrap();
        assert_eq!(d.organization_id, "7c1e0000-0000-4000-8000-000000000001");
        assert_eq!(d.client_id, "infisical");
        assert_eq!(d.client_secret.expose(), "s3cret");
        assert_eq!(
            d.discovery_url,
            "https://idp.example.com/.well-known/openid-configuration"
        );
        assert_eq!(d.allowed_email_domains, "example.com, example.org");
        assert_eq!(d.jwt_signature_algorithm, "RS256");
        assert!(d.is_active);
        assert!(!d.manage_group_memberships);
        assert_eq!(d.issuer, "");
    }

    /// The custom configuration with every endpoint but userinfo.
    fn custom_spec() -> OidcSsoConfigSpec {
        let mut s = spec();
        s.configuration_type = ConfigurationType::Custom;
        s.issuer = Some("https://idp.example.com".into());
        s.authorization_endpoint = Some("https://idp.example.com/auth".into());
        s.jwks_uri = Some("https://idp.example.com/jwks".into());
        s.token_endpoint = Some("https://idp.example.com/token".into());
        s
    }

    #[test]
    fn custom_requires_each_endpoint_and_names_it() {
        let mut s = custom_spec();
        let err = desired_state(&s, &SecretString::new("x")).unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid spec: spec.userinfoEndpoint: is required when configurationType is custom"
        );
        s.userinfo_endpoint = Some("  ".into());
        assert!(desired_state(&s, &SecretString::new("x")).is_err());
        s.userinfo_endpoint = Some("https://idp.example.com/userinfo".into());
        assert!(desired_state(&s, &SecretString::new("x")).is_ok());
    }

    #[test]
    fn organization_id_must_be_a_uuid() {
        let mut s = spec();
        s.organization_id = "acme".into();
        let err = desired_state(&s, &SecretString::new("x")).unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid spec: spec.organizationId: must be the organization's ID, a UUID"
        );
    }

    #[test]
    fn discovery_requires_the_url() {
        let mut s = spec();
        s.discovery_url = None;
        let err = desired_state(&s, &SecretString::new("x")).unwrap_err();
        assert!(err.to_string().contains("spec.discoveryURL"), "{err}");
    }

    #[test]
    fn rejects_bad_urls_domains_and_empty_secret() {
        let mut s = spec();
        s.discovery_url = Some("https://user:pw@idp.example.com/x".into());
        assert!(
            desired_state(&s, &SecretString::new("x"))
                .unwrap_err()
                .to_string()
                .contains("credentials")
        );
        s.discovery_url = Some("idp.example.com".into());
        assert!(desired_state(&s, &SecretString::new("x")).is_err());
        let mut s = spec();
        s.allowed_email_domains = vec!["a.com,b.com".into()];
        assert!(
            desired_state(&s, &SecretString::new("x"))
                .unwrap_err()
                .to_string()
                .contains("allowedEmailDomains[0]")
        );
        let err = desired_state(&spec(), &SecretString::new("  ")).unwrap_err();
        assert!(err.to_string().contains("clientSecretRef"));
    }

    #[test]
    fn a_client_id_has_no_control_or_invisible_characters() {
        let mut s = spec();
        for (bad, shown) in [
            ("\u{200B}", "U+200B"),
            ("\u{200B}\u{FEFF}", "U+200B"),
            ("app\u{2060}id", "U+2060"),
            ("app\u{0007}", "U+0007"),
        ] {
            s.client_id = bad.into();
            let err = desired_state(&s, &SecretString::new("x")).unwrap_err();
            let text = err.to_string();
            assert!(
                text.contains("spec.clientId") && text.contains(shown),
                "{text}"
            );
        }
        for good in ["0oa1b2c3.apps-x_y~z", "клиент-ü"] {
            s.client_id = format!(" {good} ");
            assert_eq!(
                desired_state(&s, &SecretString::new("x"))
                    .unwrap()
                    .client_id,
                good
            );
        }
    }

    #[test]
    fn email_domains_are_dns_names() {
        for good in [
            "example.com",
            "*.example.com",
            "münchen.de",
            "xn--mnchen-3ya.de",
            "a-b.c",
        ] {
            assert_eq!(check_email_domain(good), Ok(()), "{good}");
        }
        let long_label = format!("{}.com", "a".repeat(64));
        let long_name = ["a".repeat(60).as_str(); 5].join(".");
        for (bad, why) in [
            ("", "empty"),
            ("a.com,b.com", "one domain"),
            ("@example.com", "one domain"),
            ("example\u{200b}.com", "invisible"),
            ("example .com", "one domain"),
            ("a.*.example.com", "leading"),
            ("example.com.", "one domain"),
            ("-example.com", "hyphen"),
            ("-ü.com", "hyphen"),
            ("münchen-.de", "hyphen"),
            ("*.-münchen.de", "hyphen"),
            ("ab--ü.com", "third and fourth"),
            ("exa_mple.com", "one domain"),
            (long_label.as_str(), "63 octets"),
            (long_name.as_str(), "253 octets"),
        ] {
            let problem = check_email_domain(bad).unwrap_err();
            assert!(problem.contains(why), "{bad:?}: {problem}");
        }
        let mut s = spec();
        s.allowed_email_domains = vec!["example.com".into(), "a".repeat(10_000)];
        let message = desired_state(&s, &SecretString::new("x"))
            .unwrap_err()
            .to_string();
        assert!(message.contains("spec.allowedEmailDomains[1]"), "{message}");
        assert!(
            message.len() < 400,
            "the bad entry is quoted shortened: {message}"
        );
    }

    #[test]
    fn idp_urls_must_be_https_except_on_loopback() {
        for field in ["discoveryURL", "issuer"] {
            let mut s = custom_spec();
            s.userinfo_endpoint = Some("https://idp.example.com/userinfo".into());
            let value = Some("http://idp.example.com/x".to_string());
            if field == "issuer" {
                s.issuer = value;
            } else {
                s.configuration_type = ConfigurationType::DiscoveryUrl;
                s.discovery_url = value;
            }
            let message = desired_state(&s, &SecretString::new("x"))
                .unwrap_err()
                .to_string();
            assert!(
                message.contains(&format!("spec.{field}")) && message.contains("https"),
                "{message}"
            );
        }
        for loopback in [
            "http://127.0.0.1:5556/x",
            "http://localhost/x",
            "http://[::1]:80/",
        ] {
            assert!(
                check_idp_url("spec.jwksUri", loopback).is_ok(),
                "{loopback}"
            );
        }
        for refused in [
            "https://idp.example.com/a b",
            "https://idp\u{200b}.example.com/",
            "https://idp.example.com\u{1}",
            "https:idp.example.com",
            "https:/idp.example.com/x",
            "https:///idp.example.com",
            "https:\\\\idp.example.com\\x",
            "HTTPS://IDP.EXAMPLE.COM/",
            "https://@idp.example.com/",
            "https://:@idp.example.com/",
            "http://2130706433/",
            "http://0x7f.0.0.1/",
            "http://0177.0.0.1/",
            "http://[0:0:0:0:0:0:0:1]/",
        ] {
            assert!(
                check_idp_url("spec.jwksUri", refused).is_err(),
                "{refused:?}"
            );
        }
    }

    #[test]
    fn create_body_carries_every_field() {
        let d = desired_state(&spec(), &SecretString::new("x")).unwrap();
        let body = serde_json::to_value(d.create_body()).unwrap();
        assert_eq!(body.as_object().unwrap().len(), 14);
    }
}
