//! The operator's Infisical client: typed calls, shared token cache, per-host budgets.

mod auth;
mod credentials;
mod endpoint;
mod http;
mod ldap;
mod limiter;
mod refusals;
mod saml;
mod secret;
mod tokens;
pub mod wire;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use reqwest::Method;
use sha2::{Digest, Sha256};

pub use credentials::{Credentials, ServiceAccountTokens};
pub use endpoint::{AllowedHosts, BaseUrl, instance_key, is_loopback};
pub use http::{HttpSettings, chain as error_chain};
pub use limiter::Priority;
pub use secret::SecretString;
use wire::{CreateOidcConfig, OidcConfig, OidcConfigSummary, UpdateOidcConfig};

use crate::error::{Error, ErrorClass, Result};
use crate::metrics::Metrics;

/// Where and how to reach one Infisical instance.
#[derive(Clone, Debug)]
pub struct Connection {
    pub base: BaseUrl,
    /// PEM bundle; when set, the only CAs trusted for this instance.
    pub ca_pem: Option<Vec<u8>>,
    pub credentials: Credentials,
    /// Whether this call's requests go ahead of rechecks when the budget is short.
    pub priority: Priority,
}

/// An instance and the digest of the CAs trusted for it.
type HostKey = (BaseUrl, Option<String>);

/// Shared by every reconcile: one pool and budget per instance, one token per identity.
pub struct Infisical {
    /// Per instance: the client, and when it was last used.
    hosts: Mutex<HashMap<HostKey, (Arc<http::HostClient>, tokio::time::Instant)>>,
    tokens: auth::TokenCache,
    settings: HttpSettings,
    metrics: Arc<Metrics>,
}

impl Infisical {
    pub fn new(settings: HttpSettings, metrics: Arc<Metrics>) -> Self {
        Self {
            hosts: Mutex::default(),
            tokens: auth::TokenCache::default(),
            settings,
            metrics,
        }
    }

    fn host(&self, connection: &Connection) -> Result<Arc<http::HostClient>> {
        self.host_for(&connection.base, connection.ca_pem.as_deref())
    }

    fn host_for(&self, base: &BaseUrl, ca_pem: Option<&[u8]>) -> Result<Arc<http::HostClient>> {
        let ca_key = ca_pem.map(|pem| format!("{:x}", Sha256::digest(pem)));
        let key = (base.clone(), ca_key);
        let mut hosts = self.hosts.lock().expect("host map lock");
        if let Some((client, used)) = hosts.get_mut(&key) {
            *used = tokio::time::Instant::now();
            return Ok(client.clone());
        }
        let client = Arc::new(http::HostClient::new(
            base.clone(),
            ca_pem,
            self.settings.clone(),
            self.metrics.clone(),
        )?);
        hosts.insert(key, (client.clone(), tokio::time::Instant::now()));
        Ok(client)
    }

    /// Forgets instances and identities unused for `idle`: clients and budgets of instances no
    /// resource targets any more, and the tokens of rotated or removed identities. Returns how
    /// many (instances, tokens) were dropped.
    pub fn prune_unused(&self, idle: std::time::Duration) -> (usize, usize) {
        let Some(cutoff) = tokio::time::Instant::now().checked_sub(idle) else {
            return (0, 0);
        };
        self.prune_unused_since(cutoff)
    }

    fn prune_unused_since(&self, cutoff: tokio::time::Instant) -> (usize, usize) {
        let mut hosts = self.hosts.lock().expect("host map lock");
        let before = hosts.len();
        hosts.retain(|_, (_, used)| *used >= cutoff);
        let dropped_hosts = before - hosts.len();
        drop(hosts);
        (dropped_hosts, self.tokens.prune_unused_since(cutoff))
    }

    /// Instances and token slots held now.
    pub fn held(&self) -> (usize, usize) {
        (
            self.hosts.lock().expect("host map lock").len(),
            self.tokens.len(),
        )
    }

    /// Runs `call` with a token; if Infisical refuses the token, logs in again once and retries.
    async fn authorised<T, F, Fut>(&self, connection: &Connection, call: F) -> Result<T>
    where
        F: Fn(Arc<http::HostClient>, SecretString) -> Fut,
        Fut: Future<Output = Result<T>>,
    {
        let host = self.host(connection)?;
        let token = self
            .tokens
            .token(&host, &connection.credentials, connection.priority)
            .await?;
        match call(host.clone(), token.clone()).await {
            Err(error)
                if error.class() == ErrorClass::Auth
                    && connection.credentials.can_log_in_again() =>
            {
                tracing::debug!(
                    reason = error.reason(),
                    "Infisical refused the access token; logging in again"
                );
                self.tokens
                    .invalidate(&host, &connection.credentials, &token)
                    .await;
                let fresh = self
                    .tokens
                    .token(&host, &connection.credentials, connection.priority)
                    .await?;
                call(host, fresh).await
            }
            // Infisical refuses tokens issued without an expiry after its legacy-token cut-off,
            // and nothing but a new token helps: say so instead of a bare authentication failure.
            Err(Error::Infisical(answer))
                if answer.status == 401
                    && connection.credentials.is_static_token_without_expiry() =>
            {
                Err(Error::TokenWithoutExpiry { answer })
            }
            other => other,
        }
    }

    /// Whether the instance answers `/api/status` (no credentials are sent). Counted as a read.
    pub async fn probe(&self, base: &BaseUrl, ca_pem: Option<&[u8]>) -> bool {
        let Ok(host) = self.host_for(base, ca_pem) else {
            return false;
        };
        host.send::<()>(
            Priority::Foreground,
            "status",
            Method::GET,
            "/api/status",
            None,
            None,
        )
        .await
        .is_ok()
    }

    /// The organisation's configuration, or `None` when it has none.
    pub async fn get_config(
        &self,
        connection: &Connection,
        organization_id: &str,
    ) -> Result<Option<OidcConfig>> {
        self.read_config(connection, "oidc-config-get", OIDC_CONFIG, organization_id)
            .await
    }

    /// The organisation's configuration at `route` (`…/config`), or `None` when it has none.
    async fn read_config<T: serde::de::DeserializeOwned>(
        &self,
        connection: &Connection,
        endpoint: &'static str,
        route: &str,
        organization_id: &str,
    ) -> Result<Option<T>> {
        let path = format!("{route}?organizationId={}", urlencode(organization_id));
        let priority = connection.priority;
        self.authorised(connection, |host, token| {
            let path = path.clone();
            async move {
                match host
                    .send::<()>(priority, endpoint, Method::GET, &path, Some(&token), None)
                    .await
                {
                    Ok(answer) => answer.json().map(Some),
                    // On these routes Infisical's NotFound means "no configuration" (its
                    // message has changed before; its error name has not). Answers without
                    // Infisical's envelope never get here: they are NotInfisical.
                    Err(Error::Infisical(api)) if api.status == 404 && api.error == "NotFound" => {
                        Ok(None)
                    }
                    Err(other) => Err(other),
                }
            }
        })
        .await
    }

    pub async fn create_config(
        &self,
        connection: &Connection,
        body: &CreateOidcConfig,
    ) -> Result<OidcConfigSummary> {
        self.write_config(
            connection,
            "oidc-config-create",
            Method::POST,
            OIDC_CONFIG,
            body,
        )
        .await?
        .json()
    }

    /// Applies a partial update. `None` when Infisical answered with an empty body (no config).
    pub async fn update_config(
        &self,
        connection: &Connection,
        body: &UpdateOidcConfig,
    ) -> Result<Option<OidcConfigSummary>> {
        let answer = self
            .write_config(
                connection,
                "oidc-config-update",
                Method::PATCH,
                OIDC_CONFIG,
                body,
            )
            .await?;
        if answer.body.iter().all(u8::is_ascii_whitespace) {
            return Ok(None);
        }
        answer.json().map(Some)
    }

    /// Sends a write of the organisation's configuration (`endpoint` names it in metrics).
    async fn write_config<B: serde::Serialize + Sync>(
        &self,
        connection: &Connection,
        endpoint: &'static str,
        method: Method,
        route: &'static str,
        body: &B,
    ) -> Result<http::Answer> {
        let priority = connection.priority;
        self.authorised(connection, |host, token| {
            let method = method.clone();
            async move {
                host.send(priority, endpoint, method, route, Some(&token), Some(body))
                    .await
            }
        })
        .await
    }
}

/// OIDC's configuration route.
const OIDC_CONFIG: &str = "/api/v1/sso/oidc/config";

fn urlencode(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}
