//! How the operator proves who it is to Infisical: the three ways a resource can name an
//! identity, and the key that tells two identities (or two secrets of one) apart.

use std::sync::Arc;
use std::time::Duration;

use sha2::{Digest, Sha256};

use super::secret::SecretString;
use crate::error::Result;

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

#[cfg(test)]
mod tests {
    use super::*;

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
