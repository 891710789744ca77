//! Step 1: read the Secrets the spec points to, all in the resource's own namespace.
//!
//! Secrets are fetched on each pass rather than cached: the operator watches Secrets as
//! metadata only, so secret data lives in memory just for the duration of a pass.

use k8s_openapi::api::core::v1::Secret;
use kube::{Api, Client};

use crate::api::OidcSsoConfigSpec;
use crate::error::{Error, Result};
use crate::infisical::{Credentials, SecretString};

/// Everything a pass needs from Secrets.
#[derive(Debug)]
pub struct Inputs {
    pub client_secret: SecretString,
    pub credentials: Credentials,
    pub ca_pem: Option<Vec<u8>>,
}

/// The Infisical credentials and CA only (what deletion needs).
pub async fn connection_inputs(
    client: &Client,
    namespace: &str,
    spec: &OidcSsoConfigSpec,
) -> Result<(Credentials, Option<Vec<u8>>)> {
    let secrets: Api<Secret> = Api::namespaced(client.clone(), namespace);
    let auth = &spec.authentication;
    let credentials = match (&auth.universal_auth, &auth.token) {
        (Some(ua), None) => {
            let name = &ua.credentials_ref.name;
            let secret = fetch(&secrets, namespace, name).await?;
            Credentials::UniversalAuth {
                client_id: text(&secret, namespace, name, "clientId")?
                    .trim()
                    .to_string(),
                client_secret: SecretString::new(
                    text(&secret, namespace, name, "clientSecret")?.trim(),
                ),
            }
        }
        (None, Some(token)) => {
            let r = &token.secret_ref;
            let secret = fetch(&secrets, namespace, &r.name).await?;
            Credentials::StaticToken(SecretString::new(
                text(&secret, namespace, &r.name, &r.key)?.trim(),
            ))
        }
        _ => {
            return Err(Error::invalid_spec(
                "spec.authentication",
                "set exactly one authentication method: universalAuth or token",
            ));
        }
    };
    let ca_pem = match &spec.ca_bundle_ref {
        Some(r) => {
            let secret = fetch(&secrets, namespace, &r.name).await?;
            let pem = bytes(&secret, namespace, &r.name, &r.key)?;
            check_ca_bundle(&pem).map_err(|message| Error::InvalidCaBundle {
                name: format!("{namespace}/{}", r.name),
                key: r.key.clone(),
                message,
            })?;
            Some(pem)
        }
        None => None,
    };
    Ok((credentials, ca_pem))
}

pub async fn dereference(
    client: &Client,
    namespace: &str,
    spec: &OidcSsoConfigSpec,
) -> Result<Inputs> {
    let (credentials, ca_pem) = connection_inputs(client, namespace, spec).await?;
    let secrets: Api<Secret> = Api::namespaced(client.clone(), namespace);
    let r = &spec.client_secret_ref;
    let secret = fetch(&secrets, namespace, &r.name).await?;
    let client_secret = SecretString::new(text(&secret, namespace, &r.name, &r.key)?);
    Ok(Inputs {
        client_secret,
        credentials,
        ca_pem,
    })
}

/// The bundle must hold at least one PEM certificate.
fn check_ca_bundle(pem: &[u8]) -> Result<(), String> {
    match reqwest::Certificate::from_pem_bundle(pem) {
        Ok(certs) if certs.is_empty() => Err("no PEM certificate found".into()),
        Ok(_) => Ok(()),
        Err(e) => Err(e.to_string()),
    }
}

async fn fetch(secrets: &Api<Secret>, namespace: &str, name: &str) -> Result<Secret> {
    secrets
        .get_opt(name)
        .await?
        .ok_or_else(|| Error::SecretNotFound {
            namespace: namespace.to_string(),
            name: name.to_string(),
        })
}

fn bytes(secret: &Secret, namespace: &str, name: &str, key: &str) -> Result<Vec<u8>> {
    secret
        .data
        .as_ref()
        .and_then(|d| d.get(key))
        .map(|v| v.0.clone())
        .ok_or_else(|| Error::SecretKeyMissing {
            namespace: namespace.to_string(),
            name: name.to_string(),
            key: key.to_string(),
        })
}

fn text(secret: &Secret, namespace: &str, name: &str, key: &str) -> Result<String> {
    String::from_utf8(bytes(secret, namespace, name, key)?).map_err(|_| {
        Error::invalid_spec(
            format!("Secret {namespace}/{name} key {key:?}"),
            "is not UTF-8 text",
        )
    })
}
