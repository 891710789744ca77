//! In-memory state of the emulator and the [`Control`] handle.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, LazyLock, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use rand::Rng;
use serde_json::{Map, Value, json};

use crate::clock::now_secs;
use crate::dns::Guard;
use crate::random::random_hex;
use crate::reqlog::{RequestIter, RequestLog};
use crate::sso_types::{ConfigCalls, LdapConfigState, SamlConfigState};
use crate::types::*;
use crate::{jwt, tokens};

#[derive(Debug, Clone)]
pub(crate) struct Org {
    pub id: String,
    pub name: String,
    pub slug: String,
    pub plan_oidc_sso: bool,
    pub smtp_ok: bool,
    pub google_sso_enforced: bool,
    pub plan_saml_sso: bool,
    pub plan_ldap: bool,
    pub plan_groups: bool,
    pub auth_enforced: bool,
    pub scim_enabled: bool,
    pub saml: Option<SamlConfigState>,
    pub ldap: Option<LdapConfigState>,
    pub saml_calls: ConfigCalls,
    pub ldap_calls: ConfigCalls,
    pub ldap_binds: u64,
    /// Stored OIDC config: GET-shape keys plus `lastUsed`.
    pub config: Option<Map<String, Value>>,
    pub posts: u64,
    pub patches: u64,
    pub gets: u64,
}

#[derive(Debug, Clone, Default)]
pub(crate) struct LoginCounters {
    pub succeeded: u64,
    pub failed: u64,
    pub locked: u64,
}

#[derive(Debug, Clone)]
pub(crate) struct Identity {
    pub id: String,
    pub name: String,
    pub org_id: String,
    pub client_id: String,
    pub client_secret: String,
    pub client_secret_id: String,
    pub permissions: Vec<String>,
    pub ttl: u64,
    pub max_ttl: u64,
    pub logins: LoginCounters,
    pub kubernetes_auth: Option<KubernetesAuthSeed>,
}

/// The token row of a legacy (pre-2026) token, read by Infisical's `loadLegacyTokenSource`.
#[derive(Debug, Clone)]
pub(crate) struct LegacyRow {
    pub identity_id: String,
    pub created_at: u64,
    pub ttl: u64,
    pub max_ttl: u64,
}

/// Infisical's `LockoutObject`, kept until `expires_at` (the keystore entry's TTL).
#[derive(Debug, Clone)]
pub(crate) struct Lockout {
    pub failed_attempts: u32,
    pub locked_out: bool,
    pub expires_at: Instant,
}

#[derive(Debug)]
pub(crate) struct Inner {
    pub orgs: HashMap<String, Org>,
    pub identities: HashMap<String, Identity>,
    /// Revocation markers: token id -> expiry (seconds since the epoch).
    pub revocations: HashMap<String, u64>,
    pub legacy_rows: HashMap<String, LegacyRow>,
    pub tokens_issued: u64,
    pub pruned_revocations: u64,
    /// (identity id, client id) -> lockout record.
    pub lockouts: HashMap<(String, String), Lockout>,
    pub lockout: LockoutSettings,
    pub faults: Vec<Fault>,
    pub reads_per_minute: Option<u32>,
    pub writes_per_minute: Option<u32>,
    /// (route key) -> (window start, count)
    pub rate_windows: HashMap<String, (Instant, u32)>,
    pub expired_token_status: u16,
    /// Seconds the server's clock runs ahead of the machine's, for tokens (issue and expiry):
    /// the clock skew between Infisical and its clients. 0 unless a test sets it.
    pub clock_ahead_secs: u64,
    pub outage: bool,
    pub requests: RequestLog,
    pub allowed_internal_hosts: Vec<String>,
    pub url_guard: bool,
    pub allow_internal_ip_connections: bool,
    pub hosts: Arc<BTreeMap<String, HostAnswer>>,
    pub default_hosts: bool,
    pub max_token_age: u64,
    pub legacy_enforced_at: u64,
    pub marker_skew: u64,
    /// Requests logged since the last sweep of expired markers and lockouts.
    pub since_sweep: u32,
    /// TokenReviews sent for Kubernetes Auth logins (the newest [`TOKEN_REVIEW_LOG_CAPACITY`]).
    pub token_reviews: VecDeque<TokenReviewRecord>,
    /// TokenReviews sent since start (`seq` of the last one).
    pub token_reviews_sent: u64,
    /// Deadline of one TokenReview (Infisical's `TOKEN_REVIEW_TIMEOUT_MS`, 10 s).
    pub token_review_timeout: Duration,
}

/// Infisical's `TOKEN_REVIEW_TIMEOUT_MS` (the Kubernetes Auth service's `AbortSignal.timeout` and
/// axios `timeout`): the default deadline of one TokenReview.
pub(crate) const TOKEN_REVIEW_TIMEOUT_MS: u64 = 10_000;

/// TokenReview records kept (the oldest are dropped).
pub(crate) const TOKEN_REVIEW_LOG_CAPACITY: usize = 1000;

/// Sweep expired state every this many logged requests (besides the lazy pruning on access).
const SWEEP_EVERY: u32 = 256;

impl Inner {
    /// The server's time for tokens, in seconds since the epoch.
    pub fn now_secs(&self) -> u64 {
        now_secs() + self.clock_ahead_secs
    }

    /// Drop expired revocation markers (Infisical's `removeExpiredRevocations`) and lockout
    /// records (their keystore TTL).
    pub fn prune(&mut self) {
        let now = self.now_secs();
        let before = self.revocations.len();
        self.revocations.retain(|_, exp| *exp > now);
        self.pruned_revocations += (before - self.revocations.len()) as u64;
        let now = Instant::now();
        self.lockouts.retain(|_, l| l.expires_at > now);
        self.since_sweep = 0;
    }

    pub fn log_request(&mut self, entry: LoggedRequest) {
        self.requests.push(entry);
        self.since_sweep += 1;
        if self.since_sweep >= SWEEP_EVERY {
            self.prune();
        }
    }

    /// A live (unexpired) lockout record.
    pub fn lockout_of(&mut self, key: &(String, String)) -> Option<Lockout> {
        let now = Instant::now();
        match self.lockouts.get(key) {
            Some(l) if l.expires_at > now => Some(l.clone()),
            Some(_) => {
                self.lockouts.remove(key);
                None
            }
            None => None,
        }
    }

    /// A live revocation marker for `token_id`.
    pub fn is_revoked(&mut self, token_id: &str) -> bool {
        match self.revocations.get(token_id) {
            Some(exp) if *exp > self.now_secs() => true,
            Some(_) => {
                self.revocations.remove(token_id);
                self.pruned_revocations += 1;
                false
            }
            None => false,
        }
    }

    pub fn guard(&self) -> Guard {
        Guard {
            enabled: self.url_guard,
            allow_internal_ip_connections: self.allow_internal_ip_connections,
            allowed_internal_hosts: self.allowed_internal_hosts.clone(),
            hosts: self.hosts.clone(),
            defaults: self.default_hosts.then(|| DEFAULT_HOSTS.clone()),
        }
    }

    fn lockout_state(
        &self,
        (identity_id, client_id): &(String, String),
        l: &Lockout,
    ) -> LockoutState {
        LockoutState {
            identity_id: identity_id.clone(),
            client_id: client_id.clone(),
            failed_attempts: l.failed_attempts,
            locked_out: l.locked_out,
            expires_in_ms: l
                .expires_at
                .saturating_duration_since(Instant::now())
                .as_millis() as u64,
        }
    }
}

static DEFAULT_HOSTS: LazyLock<Arc<BTreeMap<String, HostAnswer>>> =
    LazyLock::new(|| Arc::new(default_hosts()));

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
                revocations: HashMap::new(),
                legacy_rows: HashMap::new(),
                tokens_issued: 0,
                pruned_revocations: 0,
                lockouts: HashMap::new(),
                lockout: config.lockout,
                faults: Vec::new(),
                reads_per_minute: None,
                writes_per_minute: None,
                rate_windows: HashMap::new(),
                expired_token_status: 403,
                clock_ahead_secs: 0,
                outage: false,
                requests: RequestLog::new(config.request_log_capacity),
                allowed_internal_hosts: config.seed.allowed_internal_hosts.clone(),
                url_guard: config.url_guard,
                allow_internal_ip_connections: config.allow_internal_ip_connections,
                hosts: Arc::new(normalise_hosts(config.hosts.clone())),
                default_hosts: config.default_hosts,
                max_token_age: config.max_machine_identity_token_age.max(1),
                legacy_enforced_at: config.legacy_token_expiration_enforced_at,
                marker_skew: config.revocation_marker_skew_seconds,
                since_sweep: 0,
                token_reviews: VecDeque::new(),
                token_reviews_sent: 0,
                token_review_timeout: Duration::from_millis(TOKEN_REVIEW_TIMEOUT_MS),
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

    /// `issueIdentityAccessToken` + `signIdentityAccessToken`: a fresh token id, `exp` always
    /// set, lifetime capped by `computeIssuedTtl`. Returns (token, lifetime in seconds).
    pub fn issue_token(
        &self,
        inner: &mut Inner,
        identity: &Identity,
        auth_method: &str,
        client_secret_id: &str,
        requested_ttl: u64,
        max_ttl: u64,
    ) -> (String, u64) {
        self.issue_token_with(
            inner,
            identity,
            auth_method,
            client_secret_id,
            requested_ttl,
            max_ttl,
            json!({}),
        )
    }

    /// [`Shared::issue_token`] with an `identityAuth` claim.
    #[allow(clippy::too_many_arguments)]
    pub fn issue_token_with(
        &self,
        inner: &mut Inner,
        identity: &Identity,
        auth_method: &str,
        client_secret_id: &str,
        requested_ttl: u64,
        max_ttl: u64,
        identity_auth: Value,
    ) -> (String, u64) {
        let now = inner.now_secs();
        let ttl = tokens::compute_issued_ttl(requested_ttl, max_ttl, now, now, inner.max_token_age)
            .max(1) as u64;
        let source = tokens::Source {
            auth_method: auth_method.to_string(),
            ttl: requested_ttl,
            max_ttl,
            period: 0,
            creation_epoch: now,
            org_id: identity.org_id.clone(),
            identity_name: identity.name.clone(),
            client_secret_id: client_secret_id.to_string(),
            identity_auth,
        };
        let token_id = uuid::Uuid::new_v4().to_string();
        let token = self.sign(
            inner,
            &tokens::Issue {
                identity_id: &identity.id,
                token_id: &token_id,
                iat: now,
                ttl_seconds: ttl,
                source: &source,
            },
        );
        (token, ttl)
    }

    pub fn sign(&self, inner: &mut Inner, issue: &tokens::Issue<'_>) -> String {
        inner.tokens_issued += 1;
        jwt::sign(&self.jwt_key, &tokens::claims(issue))
    }
}

/// Host names are matched lowercase and without a trailing dot.
fn normalise_hosts(hosts: BTreeMap<String, HostAnswer>) -> BTreeMap<String, HostAnswer> {
    hosts
        .into_iter()
        .map(|(k, v)| {
            let k = k.trim().to_ascii_lowercase();
            let k = k.strip_suffix('.').unwrap_or(&k).to_string();
            (k, v)
        })
        .collect()
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
                plan_saml_sso: org.plan_saml_sso,
                plan_ldap: org.plan_ldap,
                plan_groups: org.plan_groups,
                auth_enforced: existing.as_ref().is_some_and(|o| o.auth_enforced),
                scim_enabled: existing.as_ref().is_some_and(|o| o.scim_enabled),
                saml: existing.as_ref().and_then(|o| o.saml.clone()),
                ldap: existing.as_ref().and_then(|o| o.ldap.clone()),
                saml_calls: ConfigCalls::default(),
                ldap_calls: ConfigCalls::default(),
                ldap_binds: 0,
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
                name: format!("identity-{}", &id[..8]),
                org_id,
                client_id: client_id.clone(),
                client_secret: client_secret.clone(),
                client_secret_id: uuid::Uuid::new_v4().to_string(),
                permissions: identity.permissions,
                ttl: identity.access_token_ttl,
                max_ttl: identity.access_token_max_ttl,
                logins: LoginCounters::default(),
                kubernetes_auth: identity.kubernetes_auth,
            },
        );
        IdentityCredentials {
            identity_id: id,
            client_id,
            client_secret,
        }
    }

    /// Issue a static ("Token Auth") access token for an identity, valid for `ttl_seconds`.
    /// Since Infisical's 2026 token redesign every token has an `exp`: 0 ("non-expiring") gets
    /// the longest lifetime allowed, `MAX_MACHINE_IDENTITY_TOKEN_AGE` (90 days by default).
    /// Returns an empty string when the identity does not exist.
    pub fn issue_static_token(&self, identity_id: &str, ttl_seconds: u64) -> String {
        self.mint_token(
            identity_id,
            TokenMint {
                ttl_seconds: Some(ttl_seconds),
                ..Default::default()
            },
        )
        .map(|t| t.access_token)
        .unwrap_or_default()
    }

    /// Mint an access token with chosen claims (e.g. `exp` three days away, or already past),
    /// as Token Auth would have issued it. `None` when the identity does not exist.
    pub fn mint_token(&self, identity_id: &str, mint: TokenMint) -> Option<MintedToken> {
        let mut inner = self.shared.lock();
        let identity = inner.identities.get(identity_id)?.clone();
        let now = inner.now_secs();
        let ceiling = inner.max_token_age;
        let max_ttl = mint.access_token_max_ttl.unwrap_or(0);
        let exp = match (mint.exp, mint.expires_in, mint.ttl_seconds) {
            (Some(exp), _, _) => Some(exp),
            (None, Some(delta), _) => Some((now as i64).saturating_add(delta).max(0) as u64),
            (None, None, Some(ttl)) => Some(
                now + tokens::compute_issued_ttl(ttl, max_ttl, now, now, ceiling).max(1) as u64,
            ),
            (None, None, None) if mint.legacy => None,
            (None, None, None) => {
                let ttl = mint.access_token_ttl.unwrap_or(0);
                Some(
                    now + tokens::compute_issued_ttl(ttl, max_ttl, now, now, ceiling).max(1) as u64,
                )
            }
        };
        let iat = mint.iat.unwrap_or(match exp {
            Some(exp) if exp <= now => exp.saturating_sub(1),
            _ => now,
        });
        let lifetime = exp.map(|e| e.saturating_sub(iat)).unwrap_or(0);
        let requested_ttl = mint
            .access_token_ttl
            .or(mint.ttl_seconds)
            .unwrap_or(lifetime);
        let creation_epoch = mint.creation_epoch.unwrap_or(iat);
        let token_id = uuid::Uuid::new_v4().to_string();
        let access_token = if mint.legacy {
            inner.legacy_rows.insert(
                token_id.clone(),
                LegacyRow {
                    identity_id: identity.id.clone(),
                    created_at: creation_epoch,
                    ttl: requested_ttl,
                    max_ttl,
                },
            );
            inner.tokens_issued += 1;
            jwt::sign(
                &self.shared.jwt_key,
                &tokens::legacy_claims(&identity.id, "", &token_id, iat, exp),
            )
        } else {
            let source = tokens::Source {
                auth_method: tokens::TOKEN_AUTH.to_string(),
                ttl: requested_ttl,
                max_ttl,
                period: 0,
                creation_epoch,
                org_id: identity.org_id.clone(),
                identity_name: identity.name.clone(),
                client_secret_id: String::new(),
                identity_auth: json!({}),
            };
            self.shared.sign(
                &mut inner,
                &tokens::Issue {
                    identity_id: &identity.id,
                    token_id: &token_id,
                    iat,
                    ttl_seconds: lifetime,
                    source: &source,
                },
            )
        };
        Some(MintedToken {
            access_token,
            token_id,
            iat,
            exp: exp.map(|e| e.max(iat)),
        })
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
            if let Some(v) = flags.plan_saml_sso {
                org.plan_saml_sso = v;
            }
            if let Some(v) = flags.plan_ldap {
                org.plan_ldap = v;
            }
            if let Some(v) = flags.plan_groups {
                org.plan_groups = v;
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

    /// Attach (or replace) an identity's Kubernetes Auth method. `false` when the identity does
    /// not exist.
    pub fn set_kubernetes_auth(&self, identity_id: &str, auth: KubernetesAuthSeed) -> bool {
        match self.shared.lock().identities.get_mut(identity_id) {
            Some(i) => {
                i.kubernetes_auth = Some(auth);
                true
            }
            None => false,
        }
    }

    /// Detach an identity's Kubernetes Auth method (its logins then answer 404). `false` when
    /// the identity does not exist or had none.
    pub fn remove_kubernetes_auth(&self, identity_id: &str) -> bool {
        self.shared
            .lock()
            .identities
            .get_mut(identity_id)
            .and_then(|i| i.kubernetes_auth.take())
            .is_some()
    }

    /// An identity's Kubernetes Auth method, as configured.
    pub fn kubernetes_auth(&self, identity_id: &str) -> Option<KubernetesAuthSeed> {
        self.shared
            .lock()
            .identities
            .get(identity_id)
            .and_then(|i| i.kubernetes_auth.clone())
    }

    /// The TokenReviews sent for Kubernetes Auth logins, oldest first (the newest 1000).
    pub fn token_reviews(&self) -> Vec<TokenReviewRecord> {
        self.shared.lock().token_reviews.iter().cloned().collect()
    }

    /// TokenReviews sent since start (also counts those no longer held).
    pub fn token_review_count(&self) -> u64 {
        self.shared.lock().token_reviews_sent
    }

    /// Forget the TokenReview records (the count keeps counting).
    pub fn clear_token_reviews(&self) {
        self.shared.lock().token_reviews.clear();
    }

    /// Deadline of one TokenReview (default 10 s, Infisical's `TOKEN_REVIEW_TIMEOUT_MS`).
    pub fn set_token_review_timeout(&self, timeout: Duration) {
        self.shared.lock().token_review_timeout = timeout;
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
    /// Sets how far the server's clock runs ahead of the machine's (tokens only): a token the
    /// client still holds fresh is expired to the server.
    pub fn set_clock_ahead(&self, seconds: u64) {
        self.shared.lock().clock_ahead_secs = seconds;
    }

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

    /// A copy of the whole request log, oldest first. Costs one clone per entry held (at most
    /// the log's capacity, 10,000 by default); prefer [`Control::requests_since`],
    /// [`Control::requests_matching`] or [`Control::with_requests`] in loops.
    pub fn requests(&self) -> Vec<LoggedRequest> {
        self.shared.lock().requests.iter().cloned().collect()
    }

    /// Entries with `seq >= seq` (take `request_log_stats().next_seq` before an action, then read
    /// what the action caused).
    pub fn requests_since(&self, seq: u64) -> Vec<LoggedRequest> {
        self.shared.lock().requests.since(seq).cloned().collect()
    }

    /// Entries for `method` (case-insensitive) whose path (with query) starts with `path_prefix`.
    pub fn requests_matching(&self, method: &str, path_prefix: &str) -> Vec<LoggedRequest> {
        self.with_requests(|it| {
            it.filter(|r| r.method.eq_ignore_ascii_case(method) && r.path.starts_with(path_prefix))
                .cloned()
                .collect()
        })
    }

    /// Run `f` over the log without copying it. `f` runs under the emulator's state lock: keep it
    /// short and do not call back into this [`Control`] from it (that would deadlock).
    pub fn with_requests<R>(&self, f: impl FnOnce(RequestIter<'_>) -> R) -> R {
        let inner = self.shared.lock();
        f(inner.requests.iter())
    }

    /// Entries currently held.
    pub fn request_count(&self) -> usize {
        self.shared.lock().requests.len()
    }

    pub fn request_log_stats(&self) -> RequestLogStats {
        self.shared.lock().requests.stats()
    }

    /// Change the log's capacity; the oldest entries beyond it are dropped.
    pub fn set_request_log_capacity(&self, capacity: usize) {
        self.shared.lock().requests.set_capacity(capacity);
    }

    pub fn clear_requests(&self) {
        self.shared.lock().requests.clear();
    }

    // ----------------------------------------------------------------------------- URL guard DNS

    /// The configured hosts table (without the built-in entries).
    pub fn hosts(&self) -> BTreeMap<String, HostAnswer> {
        (*self.shared.lock().hosts).clone()
    }

    /// Replace the hosts table.
    pub fn set_hosts(&self, hosts: BTreeMap<String, HostAnswer>) {
        self.shared.lock().hosts = Arc::new(normalise_hosts(hosts));
    }

    /// Add or replace one entry (`name` may be `*.suffix`).
    pub fn set_host(&self, name: &str, answer: HostAnswer) {
        let mut inner = self.shared.lock();
        let mut hosts = (*inner.hosts).clone();
        hosts.extend(normalise_hosts(BTreeMap::from([(
            name.to_string(),
            answer,
        )])));
        inner.hosts = Arc::new(hosts);
    }

    /// Remove one entry; the name falls back to the built-in table, then the system resolver.
    pub fn remove_host(&self, name: &str) {
        let mut inner = self.shared.lock();
        let key = normalise_hosts(BTreeMap::from([(name.to_string(), HostAnswer::Empty)]));
        let mut hosts = (*inner.hosts).clone();
        for k in key.keys() {
            hosts.remove(k);
        }
        inner.hosts = Arc::new(hosts);
    }

    /// Whether the built-in table ([`default_hosts`]) backs the configured one.
    pub fn set_default_hosts(&self, enabled: bool) {
        self.shared.lock().default_hosts = enabled;
    }

    /// Infisical's `ALLOW_INTERNAL_IP_CONNECTIONS`.
    pub fn set_allow_internal_ip_connections(&self, allow: bool) {
        self.shared.lock().allow_internal_ip_connections = allow;
    }

    // ----------------------------------------------------------------------------- lockout

    pub fn lockout_settings(&self) -> LockoutSettings {
        self.shared.lock().lockout
    }

    /// Applies to failures from now on; existing records keep their expiry.
    pub fn set_lockout(&self, settings: LockoutSettings) {
        self.shared.lock().lockout = settings;
    }

    /// Live lockout records (failed-login counts and locks).
    pub fn lockouts(&self) -> Vec<LockoutState> {
        let mut inner = self.shared.lock();
        inner.prune();
        let mut out: Vec<LockoutState> = inner
            .lockouts
            .iter()
            .map(|(k, l)| inner.lockout_state(k, l))
            .collect();
        out.sort_by(|a, b| (&a.identity_id, &a.client_id).cmp(&(&b.identity_id, &b.client_id)));
        out
    }

    /// Forget every lockout record (Infisical's "clear lockouts" action).
    pub fn clear_lockouts(&self) {
        self.shared.lock().lockouts.clear();
    }

    /// Login counters and the current lockout record of an identity.
    pub fn login_stats(&self, identity_id: &str) -> Option<LoginStats> {
        let mut inner = self.shared.lock();
        let identity = inner.identities.get(identity_id)?.clone();
        let key = (identity.id.clone(), identity.client_id.clone());
        let lockout = inner
            .lockout_of(&key)
            .map(|l| inner.lockout_state(&key, &l));
        Some(LoginStats {
            succeeded: identity.logins.succeeded,
            failed: identity.logins.failed,
            locked: identity.logins.locked,
            lockout,
        })
    }

    // ----------------------------------------------------------------------------- tokens

    /// `MAX_MACHINE_IDENTITY_TOKEN_AGE`, in seconds (also reported by `/api/status`).
    pub fn set_max_machine_identity_token_age(&self, seconds: u64) {
        self.shared.lock().max_token_age = seconds.max(1);
    }

    /// `LEGACY_IDENTITY_ACCESS_TOKEN_EXPIRATION_ENFORCED_AT`, in seconds since the epoch.
    pub fn set_legacy_token_expiration_enforced_at(&self, epoch_seconds: u64) {
        self.shared.lock().legacy_enforced_at = epoch_seconds;
    }

    /// Seconds a revocation marker outlives the tokens it blocks (300 in Infisical).
    pub fn set_revocation_marker_skew(&self, seconds: u64) {
        self.shared.lock().marker_skew = seconds;
    }

    /// Sizes of the token state, after pruning what has expired.
    pub fn token_store_stats(&self) -> TokenStoreStats {
        let mut inner = self.shared.lock();
        inner.prune();
        TokenStoreStats {
            issued: inner.tokens_issued,
            revocations: inner.revocations.len(),
            pruned_revocations: inner.pruned_revocations,
            legacy_rows: inner.legacy_rows.len(),
            lockouts: inner.lockouts.len(),
        }
    }

    /// Drop expired revocation markers and lockout records now (also done lazily and every
    /// few hundred requests).
    pub fn prune(&self) {
        self.shared.lock().prune();
    }

    /// Current settings, as the control surface reports them.
    pub fn settings(&self) -> SettingsView {
        let inner = self.shared.lock();
        SettingsView {
            expired_token_status: inner.expired_token_status,
            outage: inner.outage,
            url_guard: inner.url_guard,
            allowed_internal_hosts: inner.allowed_internal_hosts.clone(),
            allow_internal_ip_connections: inner.allow_internal_ip_connections,
            default_hosts: inner.default_hosts,
            lockout: inner.lockout,
            max_machine_identity_token_age: inner.max_token_age,
            legacy_token_expiration_enforced_at: inner.legacy_enforced_at,
            revocation_marker_skew_seconds: inner.marker_skew,
            request_log_capacity: inner.requests.stats().capacity,
        }
    }
}
