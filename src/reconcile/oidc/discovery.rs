//! OIDC's preflight: before Infisical is told to trust an identity provider, check that the
//! provider is there and is what the spec says. Infisical fetches nothing when a configuration is
//! saved, so a wrong discovery URL or a typo in an issuer would only show when people fail to log
//! in.
//!
//! Only the provider's public documents are fetched (discovery document and JWKS), without
//! credentials, with bounded time and size, and only from the URLs in the spec (and the
//! `jwks_uri` the discovery document names, which must be https too).

use std::time::Duration;

use serde_json::Value;

use crate::error::{Error, Result};
use crate::infisical::wire::UpdateOidcConfig;

use super::desired::Desired;
use crate::reconcile::checks::check_idp_url;

/// Longest wait for one document.
const FETCH_TIMEOUT: Duration = Duration::from_secs(10);
/// Largest document read: discovery documents and key sets are a few kilobytes.
const MAX_DOCUMENT_BYTES: usize = 1024 * 1024;
/// Where OpenID Connect Discovery puts the document under the issuer.
const WELL_KNOWN: &str = "/.well-known/openid-configuration";

/// Whether a plan needs the preflight: a create, or an update of what users log in through.
pub fn needed(patch: Option<&UpdateOidcConfig>) -> bool {
    let Some(p) = patch else { return true };
    p.configuration_type.is_some()
        || p.discovery_url.is_some()
        || p.issuer.is_some()
        || p.authorization_endpoint.is_some()
        || p.jwks_uri.is_some()
        || p.token_endpoint.is_some()
        || p.userinfo_endpoint.is_some()
        || p.jwt_signature_algorithm.is_some()
        || p.is_active == Some(true)
}

pub(crate) fn failed(check: &'static str, detail: impl Into<String>) -> Error {
    Error::IdpPreflightFailed {
        check,
        detail: detail.into(),
    }
}

/// Runs every check for `desired`; `ca_pem` replaces the trusted roots when set.
pub async fn check(desired: &Desired, ca_pem: Option<&[u8]>) -> Result<()> {
    let client = http_client(ca_pem)?;
    let jwks_uri = if desired.configuration_type == "discoveryURL" {
        let document = fetch_json(&client, "discovery", &desired.discovery_url).await?;
        check_discovery(
            &desired.discovery_url,
            &document,
            desired.jwt_signature_algorithm,
        )?
    } else {
        desired.jwks_uri.clone()
    };
    check_jwks(&client, &jwks_uri, desired.jwt_signature_algorithm).await
}

fn http_client(ca_pem: Option<&[u8]>) -> Result<reqwest::Client> {
    let mut builder = reqwest::Client::builder()
        .timeout(FETCH_TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!(
            "infisical-oidc-operator/",
            env!("CARGO_PKG_VERSION"),
            " (IdP preflight)"
        ));
    if let Some(pem) = ca_pem {
        let certs = reqwest::Certificate::from_pem_bundle(pem)
            .map_err(|e| failed("caBundle", format!("spec.idpCaBundleRef: {e}")))?;
        builder = builder.tls_certs_only(certs);
    }
    builder
        .build()
        .map_err(|e| failed("caBundle", format!("spec.idpCaBundleRef: {e}")))
}

/// GETs `url` and parses it as a JSON object, or names what went wrong.
async fn fetch_json(client: &reqwest::Client, check: &'static str, url: &str) -> Result<Value> {
    let mut response = client
        .get(url)
        .header(reqwest::header::ACCEPT, "application/json")
        .send()
        .await
        .map_err(|e| {
            failed(
                check,
                format!(
                    "{url} did not answer: {}",
                    crate::infisical::error_chain(&e)
                ),
            )
        })?;
    let status = response.status();
    if !status.is_success() {
        return Err(failed(check, format!("{url} answered {status}")));
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| {
        failed(
            check,
            format!("{url}: {}", crate::infisical::error_chain(&e)),
        )
    })? {
        body.extend_from_slice(&chunk);
        if body.len() > MAX_DOCUMENT_BYTES {
            return Err(failed(
                check,
                format!("{url} answered more than {MAX_DOCUMENT_BYTES} bytes"),
            ));
        }
    }
    let value: Value = serde_json::from_slice(&body)
        .map_err(|e| failed(check, format!("{url} did not answer JSON: {e}")))?;
    if !value.is_object() {
        return Err(failed(check, format!("{url} did not answer a JSON object")));
    }
    Ok(value)
}

/// The discovery document's own checks; returns its `jwks_uri`. Pure, so tests drive it.
pub fn check_discovery(discovery_url: &str, document: &Value, algorithm: &str) -> Result<String> {
    let text = |key: &str| document.get(key).and_then(Value::as_str);
    // OpenID Connect Discovery 1.0, section 4: the document lives at the issuer plus the
    // well-known path, and its `issuer` must be exactly that issuer.
    let served_from = discovery_url
        .strip_suffix(WELL_KNOWN)
        .unwrap_or(discovery_url)
        .trim_end_matches('/');
    let issuer =
        text("issuer").ok_or_else(|| failed("issuer", "the discovery document has no issuer"))?;
    if issuer.trim_end_matches('/') != served_from {
        return Err(failed(
            "issuer",
            format!(
                "the discovery document's issuer is {issuer:?}, but it is served from {served_from:?}: the IdP is not the issuer this URL names"
            ),
        ));
    }
    for key in [
        "authorization_endpoint",
        "token_endpoint",
        "userinfo_endpoint",
        "jwks_uri",
    ] {
        let url = text(key)
            .ok_or_else(|| failed("endpoints", format!("the discovery document has no {key}")))?;
        check_idp_url(key, url).map_err(|_| {
            failed(
                "endpoints",
                format!("{key} is {url:?}, not an https URL (http only for loopback)"),
            )
        })?;
    }
    let offered: Vec<&str> = document
        .get("id_token_signing_alg_values_supported")
        .and_then(Value::as_array)
        .map(|values| values.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    if !offered.contains(&algorithm) {
        return Err(failed(
            "algorithm",
            format!(
                "spec.jwtSignatureAlgorithm is {algorithm}, but the IdP signs ID tokens with {offered:?}"
            ),
        ));
    }
    Ok(text("jwks_uri").unwrap_or_default().to_string())
}

/// The key set answers with at least one key, of the algorithm when keys name theirs. HS256
/// tokens are signed with the client secret: no key set is needed.
async fn check_jwks(client: &reqwest::Client, jwks_uri: &str, algorithm: &str) -> Result<()> {
    if algorithm == "HS256" {
        return Ok(());
    }
    let set = fetch_json(client, "jwks", jwks_uri).await?;
    check_key_set(jwks_uri, &set, algorithm)
}

/// Pure part of the JWKS check.
pub fn check_key_set(jwks_uri: &str, set: &Value, algorithm: &str) -> Result<()> {
    let keys = set
        .get("keys")
        .and_then(Value::as_array)
        .filter(|keys| !keys.is_empty())
        .ok_or_else(|| {
            failed(
                "jwks",
                format!("{jwks_uri} holds no keys: ID tokens could not be verified"),
            )
        })?;
    let named: Vec<&str> = keys
        .iter()
        .filter_map(|k| k.get("alg").and_then(Value::as_str))
        .collect();
    if !named.is_empty() && !named.contains(&algorithm) {
        return Err(failed(
            "jwks",
            format!(
                "{jwks_uri} holds keys for {named:?}, none for spec.jwtSignatureAlgorithm {algorithm}"
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn document() -> Value {
        json!({
            "issuer": "https://idp.example.com/realms/acme",
            "authorization_endpoint": "https://idp.example.com/realms/acme/auth",
            "token_endpoint": "https://idp.example.com/realms/acme/token",
            "userinfo_endpoint": "https://idp.example.com/realms/acme/userinfo",
            "jwks_uri": "https://idp.example.com/realms/acme/certs",
            "id_token_signing_alg_values_supported": ["RS256", "ES256"],
        })
    }

    const URL: &str = "https://idp.example.com/realms/acme/.well-known/openid-configuration";

    #[test]
    fn a_good_document_names_its_key_set() {
        assert_eq!(
            check_discovery(URL, &document(), "RS256").unwrap(),
            "https://idp.example.com/realms/acme/certs"
        );
    }

    #[test]
    fn each_failure_names_its_check() {
        let reason = |doc: Value, alg: &str| match check_discovery(URL, &doc, alg) {
            Err(Error::IdpPreflightFailed { check, .. }) => check,
            other => panic!("{other:?}"),
        };
        let mut other_issuer = document();
        other_issuer["issuer"] = json!("https://evil.example.com");
        assert_eq!(reason(other_issuer, "RS256"), "issuer");
        let mut plain = document();
        plain["token_endpoint"] = json!("http://idp.example.com/token");
        assert_eq!(reason(plain, "RS256"), "endpoints");
        assert_eq!(reason(document(), "EdDSA"), "algorithm");
        let empty = check_key_set("https://x/keys", &json!({"keys": []}), "RS256").unwrap_err();
        assert_eq!(empty.reason(), "IdpPreflightFailed");
        let wrong = check_key_set(
            "https://x/keys",
            &json!({"keys": [{"alg": "ES256"}]}),
            "RS256",
        );
        assert!(
            wrong
                .unwrap_err()
                .to_string()
                .contains("none for spec.jwtSignatureAlgorithm RS256")
        );
        assert!(
            check_key_set(
                "https://x/keys",
                &json!({"keys": [{"kty": "RSA"}]}),
                "RS256"
            )
            .is_ok()
        );
    }

    #[test]
    fn only_changes_to_what_people_log_in_through_need_it() {
        assert!(needed(None));
        assert!(!needed(Some(&UpdateOidcConfig {
            allowed_email_domains: Some("a.com".into()),
            ..UpdateOidcConfig::default()
        })));
        assert!(needed(Some(&UpdateOidcConfig {
            issuer: Some("x".into()),
            ..UpdateOidcConfig::default()
        })));
        assert!(needed(Some(&UpdateOidcConfig {
            is_active: Some(true),
            ..UpdateOidcConfig::default()
        })));
        assert!(!needed(Some(&UpdateOidcConfig {
            is_active: Some(false),
            ..UpdateOidcConfig::default()
        })));
    }
}
