//! Public data types shared by the library API ([`crate::Control`]) and the HTTP control surface.

use std::collections::BTreeMap;
use std::net::IpAddr;

use serde::{Deserialize, Serialize};

/// Configuration of an emulator instance.
///
/// Every field has a default, so callers write `EmulatorConfig { seed, ..Default::default() }`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct EmulatorConfig {
    /// Initial state (orgs, identities, URL-guard allow-list).
    pub seed: Seed,
    /// Whether the URL guard (Infisical's `blockLocalAndPrivateIpAddresses`) is active. Default `true`.
    /// Off is Infisical's development mode (`isDevelopmentMode` skips the guard entirely).
    pub url_guard: bool,
    /// Infisical's `ALLOW_INTERNAL_IP_CONNECTIONS` (default `false`): private or loopback answers
    /// no longer fail the guard for any host. Names are still resolved, and `localhost` /
    /// `host.docker.internal` are still refused, as in `validate-url.ts`.
    pub allow_internal_ip_connections: bool,
    /// DNS answers for the URL guard, consulted before the built-in table and the system
    /// resolver: name (or `*.suffix`) -> answer. See [`HostAnswer`].
    pub hosts: BTreeMap<String, HostAnswer>,
    /// Whether the built-in table ([`default_hosts`]) backs `hosts`. Default `true`.
    pub default_hosts: bool,
    /// Universal Auth login lockout (defaults as Infisical's universal auth router).
    pub lockout: LockoutSettings,
    /// Infisical's `MAX_MACHINE_IDENTITY_TOKEN_AGE` in seconds: the ceiling on any one access
    /// token's lifetime. Default 7776000 (90 days).
    pub max_machine_identity_token_age: u64,
    /// Infisical's `LEGACY_IDENTITY_ACCESS_TOKEN_EXPIRATION_ENFORCED_AT`, in seconds since the epoch.
    /// Tokens without `exp` are refused once now > this + `max_machine_identity_token_age`.
    /// Default 1777852800 (2026-05-04T00:00:00Z).
    pub legacy_token_expiration_enforced_at: u64,
    /// Seconds a revocation marker outlives the last token it can block (Infisical's
    /// `IDENTITY_REVOCATION_MARKER_SKEW_SECONDS`, 300). Tests shorten it to watch markers expire.
    pub revocation_marker_skew_seconds: u64,
    /// Most request-log entries kept (a ring buffer: the oldest are dropped). Default 10000.
    pub request_log_capacity: usize,
}

impl Default for EmulatorConfig {
    fn default() -> Self {
        EmulatorConfig {
            seed: Seed::default(),
            url_guard: true,
            allow_internal_ip_connections: false,
            hosts: BTreeMap::new(),
            default_hosts: true,
            lockout: LockoutSettings::default(),
            max_machine_identity_token_age: DEFAULT_MAX_TOKEN_AGE,
            legacy_token_expiration_enforced_at: DEFAULT_LEGACY_ENFORCED_AT,
            revocation_marker_skew_seconds: DEFAULT_MARKER_SKEW,
            request_log_capacity: DEFAULT_REQUEST_LOG_CAPACITY,
        }
    }
}

/// `MAX_MACHINE_IDENTITY_TOKEN_AGE` default: 90 days.
pub const DEFAULT_MAX_TOKEN_AGE: u64 = 7_776_000;
/// `LEGACY_IDENTITY_ACCESS_TOKEN_EXPIRATION_ENFORCED_AT` default: 2026-05-04T00:00:00Z.
pub const DEFAULT_LEGACY_ENFORCED_AT: u64 = 1_777_852_800;
/// `IDENTITY_REVOCATION_MARKER_SKEW_SECONDS`.
pub const DEFAULT_MARKER_SKEW: u64 = 300;
/// Default request-log capacity.
pub const DEFAULT_REQUEST_LOG_CAPACITY: usize = 10_000;

/// The binary's `--config` file: the [`Seed`] keys (`orgs`, `identities`, `allowedInternalHosts`)
/// and the [`EmulatorConfig`] settings (`urlGuard`, `hosts`, `lockout`, ...) side by side.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ConfigFile {
    #[serde(flatten)]
    pub seed: Seed,
    #[serde(flatten)]
    pub config: EmulatorConfig,
}

/// What the emulator's resolver answers for a name (Infisical calls `dns.lookup(host, {all: true})`).
///
/// JSON/YAML form: a list of addresses (`["93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c"]`),
/// a single address (`"10.0.0.5"`), `"nxdomain"` (the lookup fails, like a typo) or `"empty"`
/// (the lookup succeeds with no address).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostAnswer {
    Addresses(Vec<IpAddr>),
    Nxdomain,
    Empty,
}

impl Serialize for HostAnswer {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            HostAnswer::Addresses(a) => a.serialize(s),
            HostAnswer::Nxdomain => s.serialize_str("nxdomain"),
            HostAnswer::Empty => s.serialize_str("empty"),
        }
    }
}

impl<'de> Deserialize<'de> for HostAnswer {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Repr {
            List(Vec<IpAddr>),
            Word(String),
        }
        match Repr::deserialize(d)? {
            Repr::List(a) => Ok(HostAnswer::Addresses(a)),
            Repr::Word(w) => match w.to_ascii_lowercase().as_str() {
                "nxdomain" => Ok(HostAnswer::Nxdomain),
                "empty" => Ok(HostAnswer::Empty),
                other => other.parse::<IpAddr>().map(|ip| HostAnswer::Addresses(vec![ip])).map_err(|_| {
                    serde::de::Error::custom(format!(
                        "host answer must be a list of IP addresses, an IP address, \"nxdomain\" or \"empty\", got {w:?}"
                    ))
                }),
            },
        }
    }
}

/// The public address used by the built-in table (example.com's long-standing address; a real,
/// non-reserved unicast address, unlike the RFC 5737 documentation ranges Infisical refuses).
pub const EXAMPLE_PUBLIC_IPV4: &str = "93.184.215.14";
/// Its IPv6 counterpart.
pub const EXAMPLE_PUBLIC_IPV6: &str = "2606:2800:21f:cb07:6820:80da:af6b:8b2c";

/// The built-in DNS table (consulted after [`EmulatorConfig::hosts`], before the system resolver),
/// so tests and demos that name `idp.example.com` need no network:
/// `example.com`, `example.net`, `example.org`, `example` and their subdomains -> the public
/// example address (IPv4 and IPv6); `localhost` and `*.localhost` -> `127.0.0.1`, `::1`;
/// `*.test` and `*.invalid` -> `nxdomain` (RFC 6761 reserved names).
pub fn default_hosts() -> BTreeMap<String, HostAnswer> {
    let public = HostAnswer::Addresses(vec![
        EXAMPLE_PUBLIC_IPV4.parse().expect("ipv4"),
        EXAMPLE_PUBLIC_IPV6.parse().expect("ipv6"),
    ]);
    let loopback = HostAnswer::Addresses(vec![
        IpAddr::from([127, 0, 0, 1]),
        IpAddr::from(std::net::Ipv6Addr::LOCALHOST),
    ]);
    let mut m = BTreeMap::new();
    for d in ["example.com", "example.net", "example.org", "example"] {
        m.insert(d.to_string(), public.clone());
        m.insert(format!("*.{d}"), public.clone());
    }
    m.insert("localhost".into(), loopback.clone());
    m.insert("*.localhost".into(), loopback);
    m.insert("*.test".into(), HostAnswer::Nxdomain);
    m.insert("*.invalid".into(), HostAnswer::Nxdomain);
    m
}

/// Universal Auth lockout settings (Infisical's `lockoutEnabled`, `lockoutThreshold`,
/// `lockoutDurationSeconds`, `lockoutCounterResetSeconds`; defaults true, 3, 300, 30).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct LockoutSettings {
    pub enabled: bool,
    /// Failed logins that lock the identity + client id.
    pub threshold: u32,
    /// How long the lock lasts.
    pub duration_seconds: u64,
    /// How long a failure is remembered before the count starts again (renewed on each failure).
    pub counter_reset_seconds: u64,
}

impl Default for LockoutSettings {
    fn default() -> Self {
        LockoutSettings {
            enabled: true,
            threshold: 3,
            duration_seconds: 300,
            counter_reset_seconds: 30,
        }
    }
}

/// Lockout record of one identity + client id (Infisical's `LockoutObject`), for tests.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LockoutState {
    pub identity_id: String,
    pub client_id: String,
    pub failed_attempts: u32,
    pub locked_out: bool,
    /// Milliseconds until the record expires (the lock ends or the count resets).
    pub expires_in_ms: u64,
}

/// Login counters of one identity, for tests.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LoginStats {
    /// Successful Universal Auth logins.
    pub succeeded: u64,
    /// Logins refused with `Invalid credentials` (wrong secret).
    pub failed: u64,
    /// Logins refused because the identity + client id was locked.
    pub locked: u64,
    /// The current lockout record, if any.
    pub lockout: Option<LockoutState>,
}

/// A token minted through the control surface ([`crate::Control::mint_token`]); every field optional.
/// JSON: `{"expiresIn": 259200}` (3 days from now), `{"expiresIn": -60}` (expired a minute ago),
/// `{"exp": 1800000000, "iat": 1790000000}`, `{"legacy": true}` (pre-2026 token without `exp`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct TokenMint {
    /// Absolute `exp` (seconds since the epoch). Not capped by the max token age.
    pub exp: Option<u64>,
    /// `exp` relative to now, in seconds (negative: already expired). Ignored when `exp` is set.
    pub expires_in: Option<i64>,
    /// Legacy compatibility: the old `{ttlSeconds}` body (0 = the longest lifetime allowed).
    pub ttl_seconds: Option<u64>,
    /// `iat`; default now, or `exp - 1` for a token that is already expired.
    pub iat: Option<u64>,
    /// `accessTokenTTL` claim (the lifetime a renewal asks for); default the token's own lifetime.
    #[serde(rename = "accessTokenTTL")]
    pub access_token_ttl: Option<u64>,
    /// `accessTokenMaxTTL` claim (renewal budget from `creationEpoch`; 0 = none). Default 0.
    #[serde(rename = "accessTokenMaxTTL")]
    pub access_token_max_ttl: Option<u64>,
    /// `creationEpoch` claim; default `iat`.
    pub creation_epoch: Option<u64>,
    /// Mint a legacy (pre-redesign) token: only `identityId`, `clientSecretId`,
    /// `identityAccessTokenId`, `authTokenType`, `iat` (and `exp` only if asked), backed by a
    /// token row as Infisical's old tokens are.
    pub legacy: bool,
}

/// What [`crate::Control::mint_token`] returns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MintedToken {
    pub access_token: String,
    /// `jti` / `identityAccessTokenId`.
    pub token_id: String,
    pub iat: u64,
    pub exp: Option<u64>,
}

/// Size of the token state (access tokens themselves are stateless JWTs, as in Infisical).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TokenStoreStats {
    /// Access tokens issued (login, renew, control surface) since start.
    pub issued: u64,
    /// Revocation markers held (each expires once no token it blocks can still be valid).
    pub revocations: usize,
    /// Revocation markers pruned after expiring.
    pub pruned_revocations: u64,
    /// Token rows of legacy tokens minted through the control surface.
    pub legacy_rows: usize,
    /// Lockout records held.
    pub lockouts: usize,
}

/// The emulator's current settings (`GET /__emulator/settings`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SettingsView {
    pub expired_token_status: u16,
    pub outage: bool,
    pub url_guard: bool,
    pub allowed_internal_hosts: Vec<String>,
    pub allow_internal_ip_connections: bool,
    pub default_hosts: bool,
    pub lockout: LockoutSettings,
    pub max_machine_identity_token_age: u64,
    pub legacy_token_expiration_enforced_at: u64,
    pub revocation_marker_skew_seconds: u64,
    pub request_log_capacity: usize,
}

/// Size of the request log.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RequestLogStats {
    /// Entries held.
    pub len: usize,
    pub capacity: usize,
    /// Entries evicted because the log was full.
    pub dropped: u64,
    /// `seq` the next entry will get (read new entries with `requests_since(next_seq)`).
    pub next_seq: u64,
}

/// Initial state. Also the format of the binary's `--config` YAML file.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Seed {
    pub orgs: Vec<OrgSeed>,
    pub identities: Vec<IdentitySeed>,
    /// Hosts (names or IP literals) exempt from the "Local IPs not allowed as URL" check.
    pub allowed_internal_hosts: Vec<String>,
}

/// An organisation to create.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct OrgSeed {
    /// Organisation id; a random UUID v4 when `None`.
    pub id: Option<String>,
    pub name: String,
    pub slug: String,
    /// License flag `plan.oidcSSO`. Default `true`.
    pub plan_oidc_sso: bool,
    /// Whether the instance SMTP configuration verifies. Default `true`.
    pub smtp_ok: bool,
    /// `org.googleSsoAuthEnforced`. Default `false`.
    pub google_sso_enforced: bool,
    /// Licence flag `plan.samlSSO`. Default `true`.
    pub plan_saml_sso: bool,
    /// Licence flag `plan.ldap`. Default `true`.
    pub plan_ldap: bool,
    /// Licence flag `plan.groups` (SAML group sync). Default `true`.
    pub plan_groups: bool,
}

impl Default for OrgSeed {
    fn default() -> Self {
        OrgSeed {
            id: None,
            name: "Acme".to_string(),
            slug: "acme".to_string(),
            plan_oidc_sso: true,
            smtp_ok: true,
            google_sso_enforced: false,
            plan_saml_sso: true,
            plan_ldap: true,
            plan_groups: true,
        }
    }
}

pub(crate) fn default_permissions() -> Vec<String> {
    [
        "read",
        "create",
        "edit",
        "ldap:read",
        "ldap:create",
        "ldap:edit",
    ]
    .map(String::from)
    .to_vec()
}

/// A machine identity with Universal Auth attached.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct IdentitySeed {
    /// Organisation id (or, as a convenience, an org slug known to the emulator).
    pub org_id: String,
    /// Universal Auth client id; a random UUID when `None`.
    pub client_id: Option<String>,
    /// Universal Auth client secret; random when `None`.
    pub client_secret: Option<String>,
    /// Org permissions: an action (`read`, `create`, `edit`, `delete`) on subject `sso` (OIDC
    /// and SAML), written bare or as `sso:<action>`; on subject `ldap` as `ldap:<action>`.
    /// Default `read`, `create`, `edit`, `ldap:read`, `ldap:create`, `ldap:edit`.
    pub permissions: Vec<String>,
    /// Access token TTL in seconds (0 = non-expiring). Default 2592000.
    pub access_token_ttl: u64,
    /// Access token max TTL in seconds (0 = unlimited renewals). Default 2592000.
    pub access_token_max_ttl: u64,
    /// Kubernetes Auth attached to the identity (`POST /api/v1/auth/kubernetes-auth/login`);
    /// `None` (the default): not configured, the login answers 404.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kubernetes_auth: Option<KubernetesAuthSeed>,
}

impl Default for IdentitySeed {
    fn default() -> Self {
        IdentitySeed {
            org_id: String::new(),
            client_id: None,
            client_secret: None,
            permissions: default_permissions(),
            access_token_ttl: 2_592_000,
            access_token_max_ttl: 2_592_000,
            kubernetes_auth: None,
        }
    }
}

/// An identity's Kubernetes Auth method, with the field names of Infisical's attach API
/// (`POST /api/v1/auth/kubernetes-auth/identities/{identityId}`, token review mode `api`).
/// JSON: `{"kubernetesHost": "https://127.0.0.1:6443", "caCert": "-----BEGIN CERTIFICATE-----...",
/// "tokenReviewerJwt": "eyJ...", "allowedNamespaces": "apps, team-*", "allowedNames": "web",
/// "allowedAudience": "infisical", "accessTokenTTL": 2592000, "accessTokenMaxTTL": 2592000}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct KubernetesAuthSeed {
    /// The API server the TokenReview is POSTed to: `https://host:port`, `http://host:port` or
    /// `host:port` (then `https://` is assumed, as in Infisical's `withKubernetesHostScheme`).
    pub kubernetes_host: String,
    /// PEM CA certificate(s) the API server's certificate must chain to; `None` or `""` = none.
    pub ca_cert: Option<String>,
    /// JWT the TokenReview is authenticated with (a service account bound to
    /// `system:auth-delegator`); `None` or `""`: the caller's own JWT reviews itself.
    pub token_reviewer_jwt: Option<String>,
    /// Comma-separated namespaces (picomatch globs); `""` = any.
    pub allowed_namespaces: String,
    /// Comma-separated service account names (picomatch globs); `""` = any.
    pub allowed_names: String,
    /// Audience the token must carry (sent as `spec.audiences`); `""` = no audience check.
    pub allowed_audience: String,
    /// Access token TTL in seconds (0 = the longest allowed). Default 2592000.
    #[serde(rename = "accessTokenTTL")]
    pub access_token_ttl: u64,
    /// Access token max TTL in seconds (0 = unlimited renewals). Default 2592000.
    #[serde(rename = "accessTokenMaxTTL")]
    pub access_token_max_ttl: u64,
    /// Infisical's `verifyTlsCertificate`; `None` = `caCert` is non-empty (its attach default).
    /// `false`: the API server's certificate is not verified at all (Node's
    /// `rejectUnauthorized: false`); `true` without `caCert`: the system trust store.
    pub verify_tls_certificate: Option<bool>,
}

impl Default for KubernetesAuthSeed {
    fn default() -> Self {
        KubernetesAuthSeed {
            kubernetes_host: String::new(),
            ca_cert: None,
            token_reviewer_jwt: None,
            allowed_namespaces: String::new(),
            allowed_names: String::new(),
            allowed_audience: String::new(),
            access_token_ttl: 2_592_000,
            access_token_max_ttl: 2_592_000,
            verify_tls_certificate: None,
        }
    }
}

/// One TokenReview the emulator sent for a Kubernetes Auth login ([`crate::Control::token_reviews`],
/// `GET /__emulator/token-reviews`). Neither the caller's JWT nor the reviewer JWT is kept.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TokenReviewRecord {
    /// 1, 2, ... in the order the reviews were sent.
    pub seq: u64,
    pub identity_id: String,
    /// The identity's `kubernetesHost`, as configured.
    pub kubernetes_host: String,
    /// The URL the TokenReview was POSTed to.
    pub url: String,
    /// Whose JWT authenticated it: `"tokenReviewerJwt"` or `"callerJwt"`.
    pub reviewer: String,
    /// `spec.audiences` as sent (empty when no `allowedAudience`).
    pub audiences: Vec<String>,
    /// HTTP status of the API server's answer; `None` when there was none (connection refused,
    /// TLS failure, timeout).
    pub status: Option<u16>,
    /// `status.authenticated` of the review, when the answer had one.
    pub authenticated: Option<bool>,
    /// `status.user.username` of the review, when the answer had one.
    pub username: Option<String>,
    /// The status the login answered with.
    pub login_status: u16,
    /// `"ok"`, or the `error` of the login's error answer (e.g. `KubernetesTokenReviewerForbidden`).
    pub outcome: String,
    pub elapsed_ms: u64,
}

/// What [`crate::Control::seed_identity`] returns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IdentityCredentials {
    pub identity_id: String,
    pub client_id: String,
    pub client_secret: String,
}

/// Partial update of an organisation's flags (`None` = unchanged).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct OrgFlags {
    pub plan_oidc_sso: Option<bool>,
    pub smtp_ok: Option<bool>,
    pub google_sso_enforced: Option<bool>,
    pub plan_saml_sso: Option<bool>,
    pub plan_ldap: Option<bool>,
    pub plan_groups: Option<bool>,
    pub auth_enforced: Option<bool>,
    pub scim_enabled: Option<bool>,
}

/// Observable state of an organisation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrgState {
    pub auth_enforced: bool,
    pub scim_enabled: bool,
    /// The OIDC config in the GET shape (incl. `clientId`, `clientSecret`) plus `lastUsed`.
    pub config: Option<serde_json::Value>,
    /// Requests that reached the service layer for this org (after auth, rate limit, validation).
    pub posts: u64,
    pub patches: u64,
    pub gets: u64,
}

/// A one-shot (or N-shot) fault injected into the request pipeline.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Fault {
    /// HTTP method to match (case-insensitive); any when `None`.
    #[serde(default)]
    pub method: Option<String>,
    /// Path prefix to match (path without query); any when `None`.
    #[serde(default)]
    pub path_prefix: Option<String>,
    /// How many matching requests the fault applies to. Default 1.
    #[serde(default = "one")]
    pub count: u32,
    pub kind: FaultKind,
}

fn one() -> u32 {
    1
}

/// What a fault does. JSON form: `{"type":"status","status":503}`, `{"type":"delay","millis":200}`,
/// `{"type":"connectionReset"}`, `{"type":"commitThenStatus","status":500}`, `{"type":"commitThenDrop"}`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum FaultKind {
    /// Answer with `status` and `body` (default: Infisical error envelope) without handling the request.
    #[serde(rename_all = "camelCase")]
    Status {
        status: u16,
        #[serde(default)]
        body: Option<serde_json::Value>,
    },
    /// Sleep, then handle the request normally.
    Delay { millis: u64 },
    /// Close the connection without a response, without handling the request.
    ConnectionReset,
    /// Handle the request (apply the write), then answer `status` with an error envelope.
    CommitThenStatus { status: u16 },
    /// Handle the request (apply the write), then close the connection without a response.
    CommitThenDrop,
    /// Handle the request (apply the write), then wait before answering: a client that dies
    /// in the meantime never learns the outcome of a committed write.
    CommitThenDelay { millis: u64 },
}

/// One entry of the request log (control-surface requests are not logged).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LoggedRequest {
    /// Position in the log (1, 2, ...); never reused, also after `clear_requests`.
    #[serde(default)]
    pub seq: u64,
    pub method: String,
    /// Path including the query string.
    pub path: String,
    pub identity_id: Option<String>,
    pub org_id: Option<String>,
    /// Response status; 0 when the connection was closed without a response.
    pub status: u16,
    /// JSON body with secrets replaced by `"[REDACTED]"`.
    pub body: Option<serde_json::Value>,
    /// The client's `User-Agent` header, if any.
    #[serde(default)]
    pub user_agent: Option<String>,
    /// When the request arrived, in microseconds since the Unix epoch (for rate windows in
    /// benchmarks and soak tests); 0 from a writer that does not know is filled in when logged.
    #[serde(default)]
    pub at_unix_micros: u64,
}

/// PEM-encoded certificate chain and private key for HTTPS.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TlsFiles {
    pub cert_pem: Vec<u8>,
    pub key_pem: Vec<u8>,
}
