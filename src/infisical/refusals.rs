//! The memory of refused logins. Infisical locks an identity after 3 failed logins within 30 s,
//! for 300 s: a refusal is answered from here for a while instead of being sent again, so however
//! many resources share a wrong secret they make one failed login per period, and the operator
//! never locks an identity itself. A corrected secret is a new identity key, tried at once.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

use super::credentials::Credentials;
use crate::error::ApiError;

/// How long a refused login (a wrong secret) is answered from memory.
pub const REFUSED_LOGIN_HOLD: Duration = Duration::from_secs(300);
/// How long a lockout answer is respected when Infisical does not say (its default lock).
pub const LOCKOUT_HOLD: Duration = Duration::from_secs(300);

/// What a refusal is remembered under: the instance, and a lock or secret key.
type Key = (String, String);

/// The two keys of one identity's logins at one instance.
pub struct LoginKeys {
    /// Universal Auth's lock is Infisical's per identity and client id, whatever the secret.
    lock: Key,
    /// A wrong secret's refusal is per secret.
    secret: Key,
}

impl LoginKeys {
    pub fn of(base: &str, credentials: &Credentials) -> Self {
        let lock = match credentials {
            Credentials::UniversalAuth { client_id, .. } => {
                (base.to_string(), format!("lock:{client_id}"))
            }
            _ => (
                base.to_string(),
                format!("lock:{}", credentials.identity_key()),
            ),
        };
        Self {
            lock,
            secret: (base.to_string(), credentials.identity_key()),
        }
    }
}

#[derive(Default)]
pub struct RefusedLogins {
    /// Logins that failed, answered from here until the instant given instead of sent again.
    refused: Mutex<HashMap<Key, (Instant, ApiError)>>,
}

impl RefusedLogins {
    /// The remembered refusal of either key that is still in force (a lockout carries the time
    /// left as its retry delay).
    pub fn still_refused(&self, keys: &LoginKeys, now: Instant) -> Option<ApiError> {
        let mut refused = self.refused.lock().expect("refused logins lock");
        refused.retain(|_, (until, _)| *until > now);
        [&keys.lock, &keys.secret].iter().find_map(|key| {
            refused.get(*key).map(|(until, error)| ApiError {
                retry_after: error.is_lockout().then(|| until.duration_since(now)),
                ..error.clone()
            })
        })
    }

    /// Remembers a login Infisical refused, if it is one to answer from memory, and returns the
    /// error the caller reports: a lockout carries the time it is respected for.
    pub fn refused(
        &self,
        keys: LoginKeys,
        credentials: &Credentials,
        api: ApiError,
        now: Instant,
    ) -> ApiError {
        if api.is_lockout() {
            self.remember(keys.lock, now + LOCKOUT_HOLD, api.clone());
            return ApiError {
                retry_after: Some(LOCKOUT_HOLD),
                ..api
            };
        }
        if api.status == 401 && matches!(credentials, Credentials::UniversalAuth { .. }) {
            self.remember(keys.secret, now + REFUSED_LOGIN_HOLD, api.clone());
        }
        api
    }

    fn remember(&self, key: Key, until: Instant, error: ApiError) {
        self.refused
            .lock()
            .expect("refused logins lock")
            .insert(key, (until, error));
    }
}
