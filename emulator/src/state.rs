//! In-memory state of the emulator and the [`Control`] handle.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use rand::Rng;
use rand::distr::Alphanumeric;
use serde_json::{Map, Value, json};

use crate::jwt;
use crate::types::*;

pub(crate) fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

pub(crate) fn random_alnum(n: usize) -> String {
    rand::rng()
        .sample_iter(&Alphanumeric)
        .take(n)
        .map(char::from)
        .collect()
}

pub(crate) fn random_hex(bytes: usize) -> String {
    let mut rng = rand::rng();
    (0..bytes)
        .map(|_| format!("{:02x}", rng.random::<u8>()))
        .collect()
}

#[derive(Debug, Clone)]
pub(crate) struct Org {
    pub id: String,
    pub name: String,
    pub slug: String,
    pub plan_oidc_sso: bool,
    pub smtp_ok: bool,
    pub google_sso_enforced: bool,
    pub auth_enforced: bool,
    pub scim_enabled: bool,
    /// Stored config: GET-shape keys plus `lastUsed`.
    pub config: Option<Map<String, Value>>,
    pub posts: u64,
    pub patches: u64,
    pub gets: u64,
}

#[derive(Debug, Clone)]
pub(crate) struct Identity {
    pub id: String,
    pub org_id: String,
    pub client_id: String,
    pub client_secret: String,
    pub client_secret_id: String,
    pub permissions: Vec<String>,
    pub ttl: u64,
    pub max_ttl: u64,
}

#[derive(Debug, Clone)]
pub(crate) struct TokenRecord {
    pub identity_id: String,
    pub created_at: u64,
    pub ttl: u64,
    pub max_ttl: u64,
    pub revoked: bool,
}

#[derive(Debug)]
pub(crate) struct Inner {
    pub orgs: HashMap<String, Org>,
    pub identities: HashMap<String, Identity>,
    pub tokens: HashMap<String, TokenRecord>,
    pub faults: Vec<Fault>,
    pub reads_per_minute: Option<u32>,
    pub writes_per_minute: Option<u32>,
    /// (route key) -> (window start, count)
    pub rate_windows: HashMap<String, (Instant, u32)>,
    pub expired_token_status: u16,
    pub outage: bool,
    pub requests: Vec<LoggedRequest>,
    pub allowed_internal_hosts: Vec<String>,
    pub url_guard: bool,
}

pub(crate) struct Shared {
    pub inner: Mutex<Inner>,
    pub jwt_key: Vec<u8>,
}

impl Shared {
    pub fn new(config: &EmulatorConfig) -> Arc<Shared> {
        let mut key = vec![0u8; 32];
        rand::rng().fill(&mut key[..]);
        let shared = Arc::new(Shared {
            inner: Mutex::new(Inner {
                orgs: HashMap::new(),
                identities: HashMap::new(),
                tokens: HashMap::new(),
                faults: Vec::new(),
                reads_per_minute: None,
                writes_per_minute: None,
                rate_windows: HashMap::new(),
                expired_token_status: 403,
                outage: false,
                requests: Vec::new(),
                allowed_internal_hosts: config.seed.allowed_internal_hosts.clone(),
                url_guard: config.url_guard,
            }),
            jwt_key: key,
        });
        let control = Control {
            shared: shared.clone(),
        };
        for org in &config.seed.orgs {
            control.seed_org(org.clone());
        }
        for identity in &config.seed.identities {
            control.seed_identity(identity.clone());
        }
        shared
    }

    pub fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Issue an identity access token and register it.
    pub fn issue_token(
        &self,
        inner: &mut Inner,
        identity_id: &str,
        client_secret_id: Value,
        ttl: u64,
        max_ttl: u64,
    ) -> String {
        let token_id = uuid::Uuid::new_v4().to_string();
        let now = now_secs();
        inner.tokens.insert(
            token_id.clone(),
            TokenRecord {
                identity_id: identity_id.to_string(),
                created_at: now,
                ttl,
                max_ttl,
                revoked: false,
            },
        );
        self.sign_token(identity_id, client_secret_id, &token_id, now, ttl)
    }

    pub fn sign_token(
        &self,
        identity_id: &str,
        client_secret_id: Value,
        token_id: &str,
        iat: u64,
        ttl: u64,
    ) -> String {
        let mut payload = json!({
            "identityId": identity_id,
            "clientSecretId": client_secret_id,
            "identityAccessTokenId": token_id,
            "authTokenType": "identityAccessToken",
            "iat": iat,
        });
        if ttl > 0 {
            payload["exp"] = json!(iat + ttl);
        }
        jwt::sign(&self.jwt_key, &payload)
    }
}

/// The config keys returned by GET (plus `lastUsed` kept internally).
pub(crate) const GET_KEYS: &[&str] = &[
    "id",
    "issuer",
    "authorizationEndpoint",
    "jwksUri",
    "tokenEndpoint",
    "userinfoEndpoint",
    "configurationType",
    "discoveryURL",
    "isActive",
    "orgId",
    "allowedEmailDomains",
    "manageGroupMemberships",
    "jwtSignatureAlgorithm",
    "clientId",
    "clientSecret",
];

pub(crate) fn default_config(org_id: &str) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("id".into(), json!(uuid::Uuid::new_v4().to_string()));
    for k in [
        "issuer",
        "authorizationEndpoint",
        "jwksUri",
        "tokenEndpoint",
        "userinfoEndpoint",
        "discoveryURL",
        "allowedEmailDomains",
        "clientId",
        "clientSecret",
    ] {
        m.insert(k.into(), json!(""));
    }
    m.insert("configurationType".into(), json!("custom"));
    m.insert("isActive".into(), json!(false));
    m.insert("orgId".into(), json!(org_id));
    m.insert("manageGroupMemberships".into(), json!(false));
    m.insert("jwtSignatureAlgorithm".into(), json!("RS256"));
    m.insert("lastUsed".into(), Value::Null);
    m
}

/// Cheap, cloneable handle to the emulator's state. All methods are synchronous.
#[derive(Clone)]
pub struct Control {
    pub(crate) shared: Arc<Shared>,
}

impl std::fmt::Debug for Control {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Control")
    }
}

impl Control {
    /// Create (or replace) an organisation; returns its id.
    pub fn seed_org(&self, org: OrgSeed) -> String {
        let id = org
            .id
            .clone()
            .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
        let mut inner = self.shared.lock();
        let existing = inner.orgs.remove(&id);
        inner.orgs.insert(
            id.clone(),
            Org {
                id: id.clone(),
                name: org.name,
                slug: org.slug,
                plan_oidc_sso: org.plan_oidc_sso,
                smtp_ok: org.smtp_ok,
                google_sso_enforced: org.google_sso_enforced,
                auth_enforced: existing.as_ref().is_some_and(|o| o.auth_enforced),
                scim_enabled: existing.as_ref().is_some_and(|o| o.scim_enabled),
                config: existing.and_then(|o| o.config),
                posts: 0,
                patches: 0,
                gets: 0,
            },
        );
        id
    }

    /// Create a machine identity with Universal Auth; returns its credentials.
    pub fn seed_identity(&self, identity: IdentitySeed) -> IdentityCredentials {
        let mut inner = self.shared.lock();
        // Convenience: allow an org slug in place of the id.
        let org_id = if inner.orgs.contains_key(&identity.org_id) {
            identity.org_id.clone()
        } else {
            inner
                .orgs
                .values()
                .find(|o| o.slug == identity.org_id)
                .map(|o| o.id.clone())
                .unwrap_or(identity.org_id.clone())
        };
        let id = uuid::Uuid::new_v4().to_string();
        let client_id = identity
            .client_id
            .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
        let client_secret = identity.client_secret.unwrap_or_else(|| random_hex(32));
        inner.identities.insert(
            id.clone(),
            Identity {
                id: id.clone(),
                org_id,
                client_id: client_id.clone(),
                client_secret: client_secret.clone(),
                client_secret_id: uuid::Uuid::new_v4().to_string(),
                permissions: identity.permissions,
                ttl: identity.access_token_ttl,
                max_ttl: identity.access_token_max_ttl,
            },
        );
        IdentityCredentials {
            identity_id: id,
            client_id,
            client_secret,
        }
    }

    /// Issue a static ("Token Auth") access token for an identity. `ttl_seconds == 0` means no expiry.
    /// Returns an empty string when the identity does not exist.
    pub fn issue_static_token(&self, identity_id: &str, ttl_seconds: u64) -> String {
        let mut inner = self.shared.lock();
        if !inner.identities.contains_key(identity_id) {
            return String::new();
        }
        self.shared
            .issue_token(&mut inner, identity_id, Value::Null, ttl_seconds, 0)
    }

    pub fn set_org_flags(&self, org_id: &str, flags: OrgFlags) {
        let mut inner = self.shared.lock();
        if let Some(org) = inner.orgs.get_mut(org_id) {
            if let Some(v) = flags.plan_oidc_sso {
                org.plan_oidc_sso = v;
            }
            if let Some(v) = flags.smtp_ok {
                org.smtp_ok = v;
            }
            if let Some(v) = flags.google_sso_enforced {
                org.google_sso_enforced = v;
            }
            if let Some(v) = flags.auth_enforced {
                org.auth_enforced = v;
            }
            if let Some(v) = flags.scim_enabled {
                org.scim_enabled = v;
            }
        }
    }

    pub fn org_state(&self, org_id: &str) -> Option<OrgState> {
        let inner = self.shared.lock();
        inner.orgs.get(org_id).map(|o| OrgState {
            auth_enforced: o.auth_enforced,
            scim_enabled: o.scim_enabled,
            config: o.config.clone().map(Value::Object),
            posts: o.posts,
            patches: o.patches,
            gets: o.gets,
        })
    }

    /// Create-or-merge config fields out of band (no side effects, no counters).
    /// Missing fields of a new config get the create defaults. Unknown orgs are ignored.
    pub fn put_config_out_of_band(&self, org_id: &str, fields: Value) {
        let mut inner = self.shared.lock();
        if let Some(org) = inner.orgs.get_mut(org_id) {
            let cfg = org.config.get_or_insert_with(|| default_config(org_id));
            if let Value::Object(fields) = fields {
                for (k, v) in fields {
                    if k == "orgId" {
                        continue;
                    }
                    cfg.insert(k, v);
                }
            }
        }
    }

    pub fn set_identity_permissions(&self, identity_id: &str, permissions: Vec<String>) {
        if let Some(i) = self.shared.lock().identities.get_mut(identity_id) {
            i.permissions = permissions;
        }
    }

    /// Applies to tokens issued afterwards.
    pub fn set_token_ttls(&self, identity_id: &str, ttl: u64, max_ttl: u64) {
        if let Some(i) = self.shared.lock().identities.get_mut(identity_id) {
            i.ttl = ttl;
            i.max_ttl = max_ttl;
        }
    }

    pub fn inject_fault(&self, fault: Fault) {
        if fault.count > 0 {
            self.shared.lock().faults.push(fault);
        }
    }

    pub fn clear_faults(&self) {
        self.shared.lock().faults.clear();
    }

    /// `None` disables the limit for that class. Resets the current windows.
    pub fn set_rate_limits(&self, reads_per_minute: Option<u32>, writes_per_minute: Option<u32>) {
        let mut inner = self.shared.lock();
        inner.reads_per_minute = reads_per_minute;
        inner.writes_per_minute = writes_per_minute;
        inner.rate_windows.clear();
    }

    /// 403 (default, `TokenError`) or 401 (`UnauthorizedError`) for expired tokens.
    pub fn set_expired_token_status(&self, status: u16) {
        self.shared.lock().expired_token_status = if status == 401 { 401 } else { 403 };
    }

    /// While down, every API connection is closed without a response (the control surface keeps working).
    pub fn set_outage(&self, down: bool) {
        self.shared.lock().outage = down;
    }

    /// Toggle the URL guard (on by default).
    pub fn set_url_guard(&self, enabled: bool) {
        self.shared.lock().url_guard = enabled;
    }

    /// Replace the URL-guard allow-list.
    pub fn set_allowed_internal_hosts(&self, hosts: Vec<String>) {
        self.shared.lock().allowed_internal_hosts = hosts;
    }

    pub fn requests(&self) -> Vec<LoggedRequest> {
        self.shared.lock().requests.clone()
    }

    pub fn clear_requests(&self) {
        self.shared.lock().requests.clear();
    }
}
