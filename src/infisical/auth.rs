//! Access tokens: one cache entry per (instance, identity), renewed before expiry, replaced by a
//! fresh login at max TTL or when Infisical refuses the token.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use reqwest::Method;
use sha2::{Digest, Sha256};
use tokio::sync::Mutex;
use tokio::time::Instant;

use super::http::HostClient;
use super::limiter::Priority;
use super::secret::SecretString;
use super::wire::{AccessToken, KubernetesAuthLogin, TokenRenewal, UniversalAuthLogin};
use crate::error::{ApiError, Error, Result};

/// How the operator proves who it is.
#[derive(Clone, Debug)]
pub enum Credentials {
    /// Universal Auth machine identity.
    UniversalAuth {
        client_id: String,
        client_secret: SecretString,
    },
    /// A static access token (Token Auth): cannot be renewed or re-issued.
    StaticToken(SecretString),
    /// Kubernetes Auth machine identity: each login presents a freshly requested service
    /// account token, which Infisical verifies with the cluster's TokenReview API.
    KubernetesAuth {
        identity_id: String,
        /// `namespace/name` of the service account, and the token's audiences: what tells two
        /// logins of one identity apart.
        subject: String,
        tokens: Arc<dyn ServiceAccountTokens>,
    },
}

/// Requests a short-lived token for one service account (the TokenRequest API). Called only
/// when a login is due, never on a pass that reuses a cached Infisical token.
pub trait ServiceAccountTokens: Send + Sync + std::fmt::Debug {
    fn request(&self) -> futures::future::BoxFuture<'_, Result<SecretString>>;
}

impl Credentials {
    /// When a static token stops working: the `exp` claim of Infisical's JWT access tokens
    /// (always set since the 2026 redesign, at most 90 days after issue). Read without
    /// verifying the signature: it only decides when to warn, never what to trust. `None` for
    /// Universal Auth (renewed by logging in) and for tokens without a readable `exp`.
    pub fn static_token_expiry(&self) -> Option<std::time::SystemTime> {
        let exp = self.static_token_claims()?.get("exp")?.as_u64()?;
        std::time::UNIX_EPOCH.checked_add(Duration::from_secs(exp))
    }

    /// A static token that is a readable JWT without `exp`: issued before Infisical's 2026
    /// redesign, and refused by Infisical once its legacy-token cut-off has passed.
    pub fn is_static_token_without_expiry(&self) -> bool {
        self.static_token_claims()
            .is_some_and(|claims| claims.get("exp").is_none())
    }

    /// The claims of a static token's JWT, read without verifying anything.
    fn static_token_claims(&self) -> Option<serde_json::Map<String, serde_json::Value>> {
        use base64::Engine;
        let Self::StaticToken(token) = self else {
            return None;
        };
        let payload = token.expose().split('.').nth(1)?;
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload.trim_end_matches('='))
            .ok()?;
        serde_json::from_slice(&bytes).ok()
    }

    /// Whether Infisical can be asked for a fresh token after it refused one.
    pub fn can_log_in_again(&self) -> bool {
        !matches!(self, Self::StaticToken(_))
    }

    /// Cache key part: the client id plus a digest of the secret, so a rotated or corrected
    /// secret gets a fresh login rather than a token cached under the old one.
    pub fn identity_key(&self) -> String {
        match self {
            Self::UniversalAuth {
                client_id,
                client_secret,
            } => {
                let digest = Sha256::digest(client_secret.expose().as_bytes());
                format!("ua:{client_id}:{:x}", digest)
            }
            Self::StaticToken(token) => {
                format!("token:{:x}", Sha256::digest(token.expose().as_bytes()))
            }
            Self::KubernetesAuth {
                identity_id,
                subject,
                ..
            } => format!("k8s:{identity_id}:{subject}"),
        }
    }
}

/// An access token kept between passes. Infisical's are JWTs, three base64url segments of about
/// a kilobyte in all, one per identity for as long as it lives: kept decoded, a quarter
/// smaller, and encoded again for each use. Anything that does not encode back to exactly the
/// same text is kept as it came.
#[derive(Clone, PartialEq, Eq)]
enum PackedToken {
    Jwt {
        /// The three segments' bytes, one after the other.
        bytes: Box<[u8]>,
        /// Where the second and third segments start in `bytes`.
        splits: [u32; 2],
    },
    Text(SecretString),
}

impl PackedToken {
    fn pack(token: SecretString) -> Self {
        use base64::Engine;
        let engine = &base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let jwt = || {
            let mut parts = token.expose().split('.');
            let segments = [parts.next()?, parts.next()?, parts.next()?];
            if parts.next().is_some() {
                return None;
            }
            let mut bytes = Vec::with_capacity(token.expose().len() * 3 / 4);
            let mut splits = [0u32; 2];
            for (i, segment) in segments.iter().enumerate() {
                if i > 0 {
                    splits[i - 1] = u32::try_from(bytes.len()).ok()?;
                }
                bytes.extend(engine.decode(segment).ok()?);
            }
            let packed = Self::Jwt {
                bytes: bytes.into_boxed_slice(),
                splits,
            };
            (packed.unpack() == token).then_some(packed)
        };
        jwt().unwrap_or(Self::Text(token))
    }

    fn unpack(&self) -> SecretString {
        use base64::Engine;
        let engine = &base64::engine::general_purpose::URL_SAFE_NO_PAD;
        match self {
            Self::Text(token) => token.clone(),
            Self::Jwt { bytes, splits } => {
                let [a, b] = splits.map(|s| s as usize);
                let mut text = String::with_capacity(bytes.len() * 4 / 3 + 4);
                engine.encode_string(&bytes[..a], &mut text);
                text.push('.');
                engine.encode_string(&bytes[a..b], &mut text);
                text.push('.');
                engine.encode_string(&bytes[b..], &mut text);
                SecretString::new(text)
            }
        }
    }
}

struct CachedToken {
    token: PackedToken,
    /// Renew from this point on (70% of the token's lifetime).
    renew_at: Option<Instant>,
    /// Past this point the token is useless.
    expires_at: Option<Instant>,
    /// Past this point renewals fail; log in again instead.
    max_until: Option<Instant>,
}

impl CachedToken {
    fn from_answer(answer: AccessToken, now: Instant, max_until: Option<Instant>) -> Self {
        let lifetime = Duration::from_secs(answer.expires_in);
        let (renew_at, expires_at) = if answer.expires_in == 0 {
            (None, None)
        } else {
            (Some(now + lifetime.mul_f64(0.7)), Some(now + lifetime))
        };
        let max_until = max_until.or_else(|| {
            (answer.access_token_max_ttl > 0)
                .then(|| now + Duration::from_secs(answer.access_token_max_ttl))
        });
        Self {
            token: PackedToken::pack(answer.access_token),
            renew_at,
            expires_at,
            max_until,
        }
    }
}

/// What to do with a cached token right now.
#[derive(Debug, PartialEq, Eq)]
enum TokenAction {
    Use,
    Renew,
    Login,
}

fn action_for(cached: Option<&CachedToken>, now: Instant) -> TokenAction {
    let Some(token) = cached else {
        return TokenAction::Login;
    };
    let expired = token.expires_at.is_some_and(|t| now >= t);
    let past_max = token.max_until.is_some_and(|t| now >= t);
    if expired || past_max {
        return TokenAction::Login;
    }
    match token.renew_at {
        Some(renew_at) if now >= renew_at => {
            // A renewal that would end beyond max TTL is refused by Infisical; log in instead.
            let near_max = token
                .max_until
                .is_some_and(|max| max.saturating_duration_since(now) < Duration::from_secs(60));
            if near_max {
                TokenAction::Login
            } else {
                TokenAction::Renew
            }
        }
        _ => TokenAction::Use,
    }
}

type Slot = Arc<Mutex<Option<CachedToken>>>;

#[derive(Default)]
pub struct TokenCache {
    /// Per (instance, identity), keyed by a digest of both (one slot per identity is kept for
    /// as long as it is used, so the key stays small): the token, and when the slot was last
    /// asked for.
    slots: std::sync::Mutex<HashMap<[u8; 32], (Slot, Instant)>>,
    /// Logins that failed, answered from here until the instant given instead of sent again.
    refused: std::sync::Mutex<HashMap<(String, String), (Instant, ApiError)>>,
}

/// How long a refused login (a wrong secret) is answered from memory. Infisical locks an
/// identity after 3 failed logins within 30 s, for 300 s: however many resources share a wrong
/// secret, they make one failed login per period, and the identity is never locked by us. A
/// corrected secret is a new identity key, so it is tried at once.
pub const REFUSED_LOGIN_HOLD: Duration = Duration::from_secs(300);
/// How long a lockout answer is respected when Infisical does not say (its default lock).
pub const LOCKOUT_HOLD: Duration = Duration::from_secs(300);

/// Infisical's answer to a login while the identity is locked after repeated failures.
pub fn is_lockout(error: &ApiError) -> bool {
    error.status == 401 && error.message.contains("temporarily locked")
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

    fn refuse(&self, key: (String, String), until: Instant, error: ApiError) {
        self.refused
            .lock()
            .expect("refused logins lock")
            .insert(key, (until, error));
    }

    /// The remembered refusal for any of `keys` that is still in force (a lockout carries the
    /// time left as its retry delay).
    fn still_refused(&self, keys: &[&(String, String)], now: Instant) -> Option<ApiError> {
        let mut refused = self.refused.lock().expect("refused logins lock");
        refused.retain(|_, (until, _)| *until > now);
        keys.iter().find_map(|key| {
            refused.get(*key).map(|(until, error)| ApiError {
                retry_after: is_lockout(error).then(|| until.duration_since(now)),
                ..error.clone()
            })
        })
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
        // Universal Auth's lock is Infisical's per identity and client id, whatever the secret;
        // a wrong secret's refusal is per secret.
        let base = host.base().as_str().to_string();
        let lock_key = match credentials {
            Credentials::UniversalAuth { client_id, .. } => {
                (base.clone(), format!("lock:{client_id}"))
            }
            _ => (base.clone(), format!("lock:{}", credentials.identity_key())),
        };
        let secret_key = (base, credentials.identity_key());
        if let Some(refused) = self.still_refused(&[&lock_key, &secret_key], now) {
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
                    Err(Error::Infisical(api)) if is_lockout(&api) => {
                        self.refuse(lock_key, now + LOCKOUT_HOLD, api.clone());
                        return Err(Error::Infisical(ApiError {
                            retry_after: Some(LOCKOUT_HOLD),
                            ..api
                        }));
                    }
                    Err(Error::Infisical(api))
                        if api.status == 401
                            && matches!(credentials, Credentials::UniversalAuth { .. }) =>
                    {
                        self.refuse(secret_key, now + REFUSED_LOGIN_HOLD, api.clone());
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_packed_token_unpacks_to_exactly_the_token() {
        let jwt = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJpZGVudGl0eUlkIjoiQ0FOQVJZIiwiZXhwIjo0MTAyNDQ0ODAwfQ.c2lnbmF0dXJlLWJ5dGVzLWhlcmU";
        let packed = PackedToken::pack(SecretString::new(jwt));
        assert!(
            matches!(packed, PackedToken::Jwt { ref bytes, .. } if bytes.len() < jwt.len() * 3 / 4 + 3)
        );
        assert_eq!(packed.unpack().expose(), jwt);
        // Not a JWT, or not canonical base64url (padding, a stray character): kept as text.
        for other in [
            "opaque-token",
            "a.b",
            "eyJh.eyJp.c2ln=",
            "e+J.e.e",
            "a.b.c.d",
            "",
        ] {
            let packed = PackedToken::pack(SecretString::new(other));
            assert!(matches!(packed, PackedToken::Text(_)), "{other}");
            assert_eq!(packed.unpack().expose(), other);
        }
    }

    fn token(now: Instant, expires_in: u64, max: u64) -> CachedToken {
        CachedToken::from_answer(
            AccessToken {
                access_token: SecretString::new("t"),
                expires_in,
                access_token_max_ttl: max,
            },
            now,
            None,
        )
    }

    #[test]
    fn token_lifecycle_decisions() {
        let t0 = Instant::now();
        assert_eq!(action_for(None, t0), TokenAction::Login);
        let t = token(t0, 1000, 100_000);
        assert_eq!(
            action_for(Some(&t), t0 + Duration::from_secs(10)),
            TokenAction::Use
        );
        assert_eq!(
            action_for(Some(&t), t0 + Duration::from_secs(750)),
            TokenAction::Renew
        );
        assert_eq!(
            action_for(Some(&t), t0 + Duration::from_secs(1000)),
            TokenAction::Login
        );
    }

    #[test]
    fn max_ttl_forces_a_login_instead_of_a_renewal() {
        let t0 = Instant::now();
        let t = token(t0, 1000, 1020);
        assert_eq!(
            action_for(Some(&t), t0 + Duration::from_secs(980)),
            TokenAction::Login
        );
        let past_max = token(t0, 1000, 500);
        assert_eq!(
            action_for(Some(&past_max), t0 + Duration::from_secs(600)),
            TokenAction::Login
        );
    }

    #[test]
    fn non_expiring_tokens_are_reused() {
        let t0 = Instant::now();
        let t = token(t0, 0, 0);
        assert_eq!(
            action_for(Some(&t), t0 + Duration::from_secs(10_000_000)),
            TokenAction::Use
        );
    }

    #[test]
    fn a_static_token_without_exp_is_told_apart() {
        use base64::Engine;
        let jwt = |claims: &str| {
            let part = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(claims);
            Credentials::StaticToken(SecretString::new(format!(
                "eyJhbGciOiJIUzI1NiJ9.{part}.c2ln"
            )))
        };
        assert!(jwt(r#"{"identityId":"i","iat":1}"#).is_static_token_without_expiry());
        let expiring = jwt(r#"{"identityId":"i","iat":1,"exp":4102444800}"#);
        assert!(!expiring.is_static_token_without_expiry());
        assert!(expiring.static_token_expiry().is_some());
        // Not a JWT at all, or not a static token: nothing to say about an expiry.
        assert!(
            !Credentials::StaticToken(SecretString::new("opaque")).is_static_token_without_expiry()
        );
        let ua = Credentials::UniversalAuth {
            client_id: "id".into(),
            client_secret: SecretString::new("s"),
        };
        assert!(!ua.is_static_token_without_expiry());
    }

    #[test]
    fn identity_key_changes_with_the_secret_and_hides_it() {
        let a = Credentials::UniversalAuth {
            client_id: "id".into(),
            client_secret: SecretString::new("CANARY-one"),
        };
        let b = Credentials::UniversalAuth {
            client_id: "id".into(),
            client_secret: SecretString::new("CANARY-two"),
        };
        assert_ne!(a.identity_key(), b.identity_key());
        assert!(!a.identity_key().contains("CANARY"));
        assert!(!format!("{a:?}").contains("CANARY"));
    }
}
