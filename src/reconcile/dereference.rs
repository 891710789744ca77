//! Step 1: read the Secrets the spec points to, all in the resource's own namespace (or, for
//! Kubernetes Auth, check that the ServiceAccount there opted in to token requests): the
//! connection's (`authentication`, `caBundleRef`), then the kind's own references
//! (`kind::SsoKind::references`, which may name ConfigMaps too).
//!
//! Secrets are fetched on each pass rather than cached: the operator watches Secrets as
//! metadata only, so secret data lives in memory just for the duration of a pass.

use std::collections::HashMap;
use std::sync::Arc;

use k8s_openapi::api::authentication::v1::TokenRequest;
use k8s_openapi::api::core::v1::{ConfigMap, Secret, ServiceAccount};
use kube::{Api, Client};

use super::kind::{KeyRef, Referenced, Source, SsoKind};
use crate::api::{ALLOW_TOKEN_REQUEST_ANNOTATION, CaBundleRef, CommonSpec};
use crate::error::{Error, Result};
use crate::infisical::{Credentials, SecretString, ServiceAccountTokens};

/// Everything a pass needs from Secrets (and ConfigMaps).
#[derive(Debug)]
pub struct Inputs {
    /// The values of the kind's own references.
    pub values: Referenced,
    pub credentials: Credentials,
    pub ca_pem: Option<Vec<u8>>,
    /// The CAs the preflight trusts for the IdP (OIDC's `spec.idpCaBundleRef`).
    pub idp_ca_pem: Option<Vec<u8>>,
}

/// The Infisical credentials and CA only (what deletion needs).
pub async fn connection_inputs(
    client: &Client,
    namespace: &str,
    spec: &CommonSpec,
) -> Result<(Credentials, Option<Vec<u8>>)> {
    let mut secrets = Secrets::read(client, namespace, connection_secrets(spec)).await;
    connection_inputs_from(client, namespace, spec, &mut secrets).await
}

async fn connection_inputs_from(
    client: &Client,
    namespace: &str,
    spec: &CommonSpec,
    secrets: &mut Secrets,
) -> Result<(Credentials, Option<Vec<u8>>)> {
    let auth = &spec.authentication;
    let credentials = match (&auth.universal_auth, &auth.token, &auth.kubernetes_auth) {
        (None, None, Some(k8s)) => {
            let tokens = ServiceAccountTokenRequest {
                client: client.clone(),
                namespace: namespace.to_string(),
                name: k8s.service_account_ref.name.clone(),
                audiences: k8s.audiences.clone(),
            };
            // Checked on every pass, not only when a login is due: withdrawing the opt-in
            // stops the operator from using the identity at once.
            tokens.check_opted_in().await?;
            Credentials::KubernetesAuth {
                identity_id: k8s.identity_id.trim().to_string(),
                subject: format!(
                    "{namespace}/{}:{}",
                    k8s.service_account_ref.name,
                    k8s.audiences.join(",")
                ),
                tokens: Arc::new(tokens),
            }
        }
        (Some(ua), None, None) => {
            let name = &ua.credentials_ref.name;
            let secret = secrets.get(name)?;
            Credentials::UniversalAuth {
                client_id: text(secret, namespace, name, "clientId")?
                    .trim()
                    .to_string(),
                client_secret: SecretString::new(
                    text(secret, namespace, name, "clientSecret")?.trim(),
                ),
            }
        }
        (None, Some(token), None) => {
            let r = &token.secret_ref;
            let secret = secrets.get(&r.name)?;
            Credentials::StaticToken(SecretString::new(
                text(secret, namespace, &r.name, &r.key)?.trim(),
            ))
        }
        _ => {
            return Err(Error::invalid_spec(
                "spec.authentication",
                "set exactly one authentication method: universalAuth, token or kubernetesAuth",
            ));
        }
    };
    let ca_pem = ca_bundle(secrets, namespace, spec.ca_bundle_ref.as_ref())?;
    Ok((credentials, ca_pem))
}

pub async fn dereference<K: SsoKind>(
    client: &Client,
    namespace: &str,
    spec: &K::Spec,
) -> Result<Inputs> {
    let references = K::references(spec);
    let config_maps = references
        .iter()
        .filter(|r| r.source == Source::ConfigMap)
        .map(|r| r.name);
    let (mut secrets, mut config_maps) = futures::join!(
        Secrets::read(client, namespace, secret_names::<K>(spec)),
        ConfigMaps::read(client, namespace, config_maps),
    );
    let (credentials, ca_pem) =
        connection_inputs_from(client, namespace, spec, &mut secrets).await?;
    let mut values = Referenced::default();
    for r in &references {
        let value = match r.source {
            Source::Secret => text(secrets.get(r.name)?, namespace, r.name, r.key)?,
            Source::ConfigMap => config_maps.text(r)?,
        };
        values.push(r, SecretString::new(value));
    }
    let idp_ca_pem = ca_bundle(&mut secrets, namespace, K::preflight_ca(spec))?;
    Ok(Inputs {
        values,
        credentials,
        ca_pem,
        idp_ca_pem,
    })
}

/// Lifetime asked for each service account token: it is presented once, to log in, so it only
/// has to outlive that request (the API server may grant longer, never shorter than 10 min).
const SERVICE_ACCOUNT_TOKEN_SECONDS: i64 = 600;

/// Requests tokens for one opted-in service account in the resource's own namespace.
#[derive(Clone)]
struct ServiceAccountTokenRequest {
    client: Client,
    namespace: String,
    name: String,
    audiences: Vec<String>,
}

impl std::fmt::Debug for ServiceAccountTokenRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "ServiceAccountTokenRequest({}/{})",
            self.namespace, self.name
        )
    }
}

impl ServiceAccountTokenRequest {
    fn api(&self) -> Api<ServiceAccount> {
        Api::namespaced(self.client.clone(), &self.namespace)
    }

    async fn check_opted_in(&self) -> Result<()> {
        let account = self
            .api()
            .get_metadata_opt(&self.name)
            .await?
            .ok_or_else(|| Error::ServiceAccountNotFound {
                namespace: self.namespace.clone(),
                name: self.name.clone(),
            })?;
        let opted_in = account
            .metadata
            .annotations
            .as_ref()
            .and_then(|a| a.get(ALLOW_TOKEN_REQUEST_ANNOTATION))
            .is_some_and(|v| v == "true");
        if !opted_in {
            return Err(Error::ServiceAccountNotAllowed {
                namespace: self.namespace.clone(),
                name: self.name.clone(),
            });
        }
        Ok(())
    }
}

impl ServiceAccountTokens for ServiceAccountTokenRequest {
    fn request(&self) -> futures::future::BoxFuture<'_, Result<SecretString>> {
        Box::pin(async move {
            self.check_opted_in().await?;
            let request: TokenRequest = serde_json::from_value(serde_json::json!({
                "apiVersion": "authentication.k8s.io/v1",
                "kind": "TokenRequest",
                "spec": {
                    "audiences": self.audiences,
                    "expirationSeconds": SERVICE_ACCOUNT_TOKEN_SECONDS,
                },
            }))
            .expect("a well-formed TokenRequest");
            let answer = self
                .api()
                .create_token_request(&self.name, &Default::default(), &request)
                .await?;
            let token = answer
                .status
                .map(|s| SecretString::new(s.token))
                .ok_or_else(|| Error::Decode("TokenRequest answered without a token".into()))?;
            Ok(token)
        })
    }
}

/// The PEM bundle a `CaBundleRef` points to, checked; `None` when there is no reference.
fn ca_bundle(
    secrets: &mut Secrets,
    namespace: &str,
    reference: Option<&CaBundleRef>,
) -> Result<Option<Vec<u8>>> {
    let Some(r) = reference else {
        return Ok(None);
    };
    let pem = bytes(secrets.get(&r.name)?, namespace, &r.name, &r.key)?;
    check_ca_bundle(&pem).map_err(|message| Error::InvalidCaBundle {
        name: format!("{namespace}/{}", r.name),
        key: r.key.clone(),
        message,
    })?;
    Ok(Some(pem))
}

/// The bundle must hold at least one PEM certificate.
fn check_ca_bundle(pem: &[u8]) -> Result<(), String> {
    match reqwest::Certificate::from_pem_bundle(pem) {
        Ok(certs) if certs.is_empty() => Err("no PEM certificate found".into()),
        Ok(_) => Ok(()),
        Err(e) => Err(e.to_string()),
    }
}

/// Names of every Secret a pass reads (the same Secret may appear twice).
pub fn secret_names<K: SsoKind>(spec: &K::Spec) -> impl Iterator<Item = &str> {
    let own: Vec<&str> = K::references(spec)
        .into_iter()
        .filter(|r| r.source == Source::Secret)
        .map(|r| r.name)
        .chain(K::preflight_ca(spec).map(|c| c.name.as_str()))
        .collect();
    connection_secrets(spec).chain(own)
}

/// Names of the Secrets that connecting to Infisical reads.
fn connection_secrets(spec: &CommonSpec) -> impl Iterator<Item = &str> {
    let auth = &spec.authentication;
    [
        auth.universal_auth
            .as_ref()
            .map(|u| u.credentials_ref.name.as_str()),
        auth.token.as_ref().map(|t| t.secret_ref.name.as_str()),
        spec.ca_bundle_ref.as_ref().map(|c| c.name.as_str()),
    ]
    .into_iter()
    .flatten()
}

/// The objects of one kind (Secrets, ConfigMaps) a pass reads: each read once, all at the same
/// time, so a pass waits for one round trip to the API server however many it reads. Failures are
/// reported in the order the pass asks for them, as if they had been read one after the other.
struct Fetched<K> {
    namespace: String,
    read: HashMap<String, std::result::Result<Option<K>, kube::Error>>,
}

type Secrets = Fetched<Secret>;
type ConfigMaps = Fetched<ConfigMap>;

impl<K> Fetched<K>
where
    K: kube::Resource<Scope = k8s_openapi::NamespaceResourceScope, DynamicType = ()>
        + Clone
        + serde::de::DeserializeOwned
        + std::fmt::Debug,
{
    async fn read<'a>(
        client: &Client,
        namespace: &str,
        names: impl Iterator<Item = &'a str>,
    ) -> Self {
        let api: Api<K> = Api::namespaced(client.clone(), namespace);
        let mut names: Vec<&str> = names.collect();
        names.sort_unstable();
        names.dedup();
        let answers = futures::future::join_all(names.iter().map(|name| api.get_opt(name))).await;
        Self {
            namespace: namespace.to_string(),
            read: names.into_iter().map(str::to_string).zip(answers).collect(),
        }
    }
}

/// The object `name` of `read`; `missing` builds the error (from the namespace and the name)
/// when it does not exist. A failed read is reported once: the first step to ask takes it.
fn found<'r, K>(
    read: &'r mut HashMap<String, std::result::Result<Option<K>, kube::Error>>,
    namespace: &str,
    name: &str,
    missing: fn(String, String) -> Error,
) -> Result<&'r K> {
    if matches!(read.get(name), Some(Err(_)))
        && let Some(Err(error)) = read.remove(name)
    {
        return Err(error.into());
    }
    match read.get(name) {
        Some(Ok(Some(object))) => Ok(object),
        _ => Err(missing(namespace.to_string(), name.to_string())),
    }
}

impl Secrets {
    fn get(&mut self, name: &str) -> Result<&Secret> {
        found(&mut self.read, &self.namespace, name, |namespace, name| {
            Error::SecretNotFound { namespace, name }
        })
    }
}

impl ConfigMaps {
    /// The text under `r.key` (`data`, or UTF-8 `binaryData`).
    fn text(&mut self, r: &KeyRef<'_>) -> Result<String> {
        let map = found(
            &mut self.read,
            &self.namespace,
            r.name,
            |namespace, name| Error::ConfigMapNotFound { namespace, name },
        )?;
        let data = map.data.as_ref().and_then(|d| d.get(r.key)).cloned();
        let binary = || {
            let bytes = map.binary_data.as_ref()?.get(r.key)?;
            Some(String::from_utf8(bytes.0.clone()).map_err(|_| {
                Error::invalid_spec(
                    format!("ConfigMap {}/{} key {:?}", self.namespace, r.name, r.key),
                    "is not UTF-8 text",
                )
            }))
        };
        match data.map(Ok).or_else(binary) {
            Some(text) => text,
            None => Err(Error::ConfigMapKeyMissing {
                namespace: self.namespace.clone(),
                name: r.name.to_string(),
                key: r.key.to_string(),
            }),
        }
    }
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
