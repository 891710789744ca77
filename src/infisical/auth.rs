//! Access tokens: one cache entry per (instance, identity), renewed before expiry, replaced by a
//! fresh login at max TTL or when Infisical refuses the token. How a token is kept is `tokens`;
//! which logins are not sent again, `refusals`.

use std::collections::HashMap;
use std::sync::Arc;

use reqwest::Method;
use sha2::{Digest, Sha256};
use tokio::sync::Mutex;
use tokio::time::Instant;

use super::credentials::Credentials;
use super::http::HostClient;
use super::limiter::Priority;
use super::refusals::{LoginKeys, RefusedLogins};
use super::secret::SecretString;
use super::tokens::{CachedToken, TokenAction, action_for};
use super::wire::{AccessToken, KubernetesAuthLogin, TokenRenewal, UniversalAuthLogin};
use crate::error::{Error, Result};

type Slot = Arc<Mutex<Option<CachedToken>>>;

#[derive(Default)]
pub struct TokenCache {
    /// Per (instance, identity), keyed by a digest of both (one slot per identity is kept for
    /// as long as it is used, so the key stays small): the token, and when the slot was last
    /// asked for.
    slots: std::sync::Mutex<HashMap<[u8; 32], (Slot, Instant)>>,
    refused: RefusedLogins,
}

impl TokenCache {
    fn slot(&self, host: &HostClient, credentials: &Credentials) -> Slot {
        let key: [u8; 32] = Sha256::new()
            .chain_update(host.base().as_str().as_bytes())
            .chain_update([0])
            .chain_update(credentials.identity_key().as_bytes())
            .finalize()
            .into();
        let mut slots = self.slots.lock().expect("token cache lock");
        let entry = slots
            .entry(key)
            .or_insert_with(|| (Slot::default(), Instant::now()));
        entry.1 = Instant::now();
        entry.0.clone()
    }

    pub fn len(&self) -> usize {
        self.slots.lock().expect("token cache lock").len()
    }

    /// Drops the tokens of identities nobody asked for since `cutoff`: an identity that was
    /// rotated, corrected or removed must not keep a bearer token in memory.
    pub fn prune_unused_since(&self, cutoff: Instant) -> usize {
        let mut slots = self.slots.lock().expect("token cache lock");
        let before = slots.len();
        slots.retain(|_, (_, used)| *used >= cutoff);
        before - slots.len()
    }

    /// A token for `credentials`, logging in or renewing as needed. Concurrent callers for the
    /// same identity wait for one login instead of each performing their own.
    pub async fn token(
        &self,
        host: &HostClient,
        credentials: &Credentials,
        priority: Priority,
    ) -> Result<SecretString> {
        if let Credentials::StaticToken(token) = credentials {
            return Ok(token.clone());
        }
        let slot = self.slot(host, credentials);
        let mut cached = slot.lock().await;
        let now = Instant::now();
        let keys = LoginKeys::of(host.base().as_str(), credentials);
        if let Some(refused) = self.refused.still_refused(&keys, now) {
            return Err(Error::Infisical(refused));
        }
        match action_for(cached.as_ref(), now) {
            TokenAction::Use => {}
            TokenAction::Renew => {
                let current = cached.as_ref().expect("renew implies a cached token");
                let max_until = current.max_until;
                match renew(host, &current.token.unpack(), priority).await {
                    Ok(answer) => *cached = Some(CachedToken::from_answer(answer, now, max_until)),
                    Err(error) => {
                        tracing::debug!(
                            reason = error.reason(),
                            "token renewal failed; logging in again"
                        );
                        *cached = Some(CachedToken::from_answer(
                            login(host, credentials, priority).await?,
                            now,
                            None,
                        ));
                    }
                }
            }
            TokenAction::Login => {
                let answer = match login(host, credentials, priority).await {
                    Ok(answer) => answer,
                    Err(Error::Infisical(api)) => {
                        let api = self.refused.refused(keys, credentials, api, now);
                        return Err(Error::Infisical(api));
                    }
                    Err(other) => return Err(other),
                };
                *cached = Some(CachedToken::from_answer(answer, now, None));
            }
        }
        Ok(cached
            .as_ref()
            .expect("token present after login")
            .token
            .unpack())
    }

    /// Forgets `token` after Infisical refused it, so the next call logs in again.
    pub async fn invalidate(
        &self,
        host: &HostClient,
        credentials: &Credentials,
        token: &SecretString,
    ) {
        if !credentials.can_log_in_again() {
            return;
        }
        let slot = self.slot(host, credentials);
        let mut cached = slot.lock().await;
        if cached.as_ref().is_some_and(|c| c.token.unpack() == *token) {
            *cached = None;
        }
    }
}

async fn login(
    host: &HostClient,
    credentials: &Credentials,
    priority: Priority,
) -> Result<AccessToken> {
    let answer = match credentials {
        Credentials::UniversalAuth {
            client_id,
            client_secret,
        } => {
            let body = UniversalAuthLogin {
                client_id,
                client_secret,
            };
            host.send(
                priority,
                "universal-auth-login",
                Method::POST,
                "/api/v1/auth/universal-auth/login",
                None,
                Some(&body),
            )
            .await?
        }
        Credentials::KubernetesAuth {
            identity_id,
            tokens,
            ..
        } => {
            let jwt = tokens.request().await?;
            let body = KubernetesAuthLogin {
                identity_id,
                jwt: &jwt,
            };
            host.send(
                priority,
                "kubernetes-auth-login",
                Method::POST,
                "/api/v1/auth/kubernetes-auth/login",
                None,
                Some(&body),
            )
            .await?
        }
        Credentials::StaticToken(_) => unreachable!("static tokens are never logged in"),
    };
    answer.json()
}

async fn renew(host: &HostClient, token: &SecretString, priority: Priority) -> Result<AccessToken> {
    let body = TokenRenewal {
        access_token: token,
    };
    let answer = host
        .send(
            priority,
            "token-renew",
            Method::POST,
            "/api/v1/auth/token/renew",
            None,
            Some(&body),
        )
        .await?;
    answer.json()
}
