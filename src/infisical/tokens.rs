//! An access token as kept between passes: packed small, with the moments it should be renewed,
//! stops working, and can no longer be renewed; and what to do with it now.

use std::time::Duration;

use tokio::time::Instant;

use super::secret::SecretString;
use super::wire::AccessToken;

/// An access token kept between passes. Infisical's are JWTs, three base64url segments of about
/// a kilobyte in all, one per identity for as long as it lives: kept decoded, a quarter
/// smaller, and encoded again for each use. Anything that does not encode back to exactly the
/// same text is kept as it came.
#[derive(Clone, PartialEq, Eq)]
pub(super) enum PackedToken {
    Jwt {
        /// The three segments' bytes, one after the other.
        bytes: Box<[u8]>,
        /// Where the second and third segments start in `bytes`.
        splits: [u32; 2],
    },
    Text(SecretString),
}

impl PackedToken {
    pub(super) fn pack(token: SecretString) -> Self {
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

    pub(super) fn unpack(&self) -> SecretString {
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

pub(super) struct CachedToken {
    pub(super) token: PackedToken,
    /// Renew from this point on (70% of the token's lifetime).
    renew_at: Option<Instant>,
    /// Past this point the token is useless.
    expires_at: Option<Instant>,
    /// Past this point renewals fail; log in again instead.
    pub(super) max_until: Option<Instant>,
}

impl CachedToken {
    pub(super) fn from_answer(
        answer: AccessToken,
        now: Instant,
        max_until: Option<Instant>,
    ) -> Self {
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
pub(super) enum TokenAction {
    Use,
    Renew,
    Login,
}

pub(super) fn action_for(cached: Option<&CachedToken>, now: Instant) -> TokenAction {
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
}
