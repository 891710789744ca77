//! The emulated Infisical API (the contract is `docs/infisical-contract.md`).
//!
//! Handlers short-circuit with `Err(Response)` (the finished error reply); boxing it buys nothing here.
#![allow(clippy::result_large_err)]

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use crate::jwt::{self, JwtError};
use crate::state::{GET_KEYS, Inner, Lockout, LoginCounters, Shared, random_alnum, secs};
use crate::tokens;
use crate::validate::{self, CREATE_FIELDS, LOGIN_FIELDS, TOKEN_FIELDS};

/// Attribution attached to API responses for the request log.
#[derive(Debug, Clone, Default)]
pub(crate) struct Meta {
    pub identity_id: Option<String>,
    pub org_id: Option<String>,
}

pub(crate) fn req_id() -> String {
    format!("req-{}", random_alnum(14))
}

/// Infisical's error envelope.
pub(crate) fn error_body(
    status: u16,
    error: &str,
    message: impl Into<Value>,
    details: Option<Value>,
) -> Value {
    let mut v = json!({
        "reqId": req_id(),
        "statusCode": status,
        "message": message.into(),
        "error": error,
    });
    if let Some(d) = details {
        v["details"] = d;
    }
    v
}

pub(crate) fn err(status: u16, error: &str, message: impl Into<Value>) -> Response {
    json_resp(status, error_body(status, error, message, None))
}

pub(crate) fn json_resp(status: u16, body: Value) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (status, Json(body)).into_response()
}

pub(crate) fn validation_failure(issues: Vec<Value>) -> Response {
    json_resp(
        422,
        json!({
            "reqId": req_id(),
            "statusCode": 422,
            "error": "ValidationFailure",
            "message": issues,
        }),
    )
}

fn with_meta(mut resp: Response, meta: Meta) -> Response {
    resp.extensions_mut().insert(meta);
    resp
}

pub(crate) fn finish(result: Result<Response, Response>, meta: Meta) -> Response {
    with_meta(result.unwrap_or_else(|e| e), meta)
}

// ---------------------------------------------------------------------------------------------
// Auth

pub(crate) struct Authed {
    pub org_id: String,
    pub permissions: Vec<String>,
}

/// How `backend/src/server/plugins/error-handler.ts` renders `jsonwebtoken` errors (403
/// `TokenError`); expired tokens can be switched to 401 to emulate servers that answer so.
fn token_error(status_expired: u16, e: JwtError) -> Response {
    match e {
        JwtError::Malformed => err(
            403,
            "TokenError",
            "The provided access token is malformed. Please use a valid token or generate a new one and try again.",
        ),
        JwtError::InvalidAlgorithm => err(
            403,
            "TokenError",
            "The access token is signed with an invalid algorithm. Please provide a valid token and try again.",
        ),
        JwtError::InvalidSignature => err(403, "TokenError", "invalid signature"),
        JwtError::Expired => {
            if status_expired == 401 {
                err(
                    401,
                    "UnauthorizedError",
                    "Your token has expired. Please re-authenticate.",
                )
            } else {
                err(
                    403,
                    "TokenError",
                    "Your token has expired. Please re-authenticate.",
                )
            }
        }
    }
}

fn unauthorized(message: impl Into<Value>) -> Response {
    err(401, "UnauthorizedError", message)
}

/// `jwt.verify` (signature and `exp`), as the auth plugin and `verifyAccessTokenJwt` call it.
fn verify_jwt(sh: &Shared, token: &str) -> Result<Value, Response> {
    let (expired_status, now) = {
        let inner = sh.lock();
        (inner.expired_token_status, inner.now_secs())
    };
    jwt::verify(&sh.jwt_key, token, now).map_err(|e| token_error(expired_status, e))
}

/// `verifyAccessTokenJwt` + `assertMinimalRenewClaims`
/// (`backend/src/services/identity-access-token/identity-access-token-fns.ts`), for renew and
/// revoke.
fn verify_for_renew_or_revoke(sh: &Shared, token: &str) -> Result<Value, Response> {
    let claims = verify_jwt(sh, token)?;
    if claims.get("authTokenType").and_then(Value::as_str) != Some(tokens::IDENTITY_ACCESS_TOKEN) {
        return Err(err(400, "BadRequest", tokens::MSG_NOT_IDENTITY_TOKEN));
    }
    if !tokens::has_core_claims(&claims) {
        return Err(unauthorized(tokens::MSG_BAD_CLAIMS));
    }
    Ok(claims)
}

/// The token's renewal inputs: from its claims, or for a legacy token from its row
/// (`loadLegacyTokenSource`: a missing row is 401 `Cannot renew revoked or unknown access token`,
/// on every path that needs it, auth included).
fn token_source(inner: &Inner, claims: &Value) -> Result<tokens::Source, Response> {
    if let Some(source) = tokens::full_source(claims) {
        return Ok(source);
    }
    let row_id = tokens::str_claim(claims, "identityAccessTokenId");
    let row = inner
        .legacy_rows
        .get(&row_id)
        .ok_or_else(|| unauthorized(tokens::MSG_UNKNOWN_LEGACY))?;
    let identity = inner.identities.get(&row.identity_id);
    Ok(tokens::Source {
        auth_method: tokens::UNIVERSAL_AUTH.to_string(),
        ttl: row.ttl,
        max_ttl: row.max_ttl,
        period: 0,
        creation_epoch: row.created_at,
        org_id: identity.map(|i| i.org_id.clone()).unwrap_or_default(),
        identity_name: identity.map(|i| i.name.clone()).unwrap_or_default(),
        client_secret_id: tokens::str_claim(claims, "clientSecretId"),
        identity_auth: json!({}),
    })
}

/// The identity-token branch of the auth plugin: `jwt.verify`, then
/// `fnValidateIdentityAccessTokenFast` (`identity-access-token-service.ts`): core claims, source,
/// legacy max age, revocation markers.
fn authenticate(sh: &Shared, headers: &HeaderMap, meta: &mut Meta) -> Result<Authed, Response> {
    if headers.contains_key("x-api-key") {
        return Err(err(
            400,
            "BadRequest",
            "API key authentication is not supported anymore. Please switch to identity authentication.",
        ));
    }
    let Some(auth) = headers.get("authorization") else {
        return Err(unauthorized("Token missing"));
    };
    let auth = String::from_utf8_lossy(auth.as_bytes()).to_string();
    let token: String = auth.chars().skip(7).collect();
    if token.starts_with("st.") {
        // `fnValidateServiceToken` (`services/service-token/service-token-service.ts`) looks the
        // token up by the id between the first two dots before anything else, and the emulator
        // holds no service tokens (they belong to projects): every one is unknown. The id column
        // is a string, so any id is looked up (no uuid cast error).
        let id = token.split('.').nth(1).unwrap_or_default();
        return Err(err(
            404,
            "NotFound",
            format!("Service token with ID '{id}' not found"),
        ));
    }
    let expired_status = sh.lock().expired_token_status;
    let (_, unverified) = jwt::decode(&token).map_err(|e| token_error(expired_status, e))?;
    if unverified.get("authTokenType").and_then(Value::as_str)
        != Some(tokens::IDENTITY_ACCESS_TOKEN)
    {
        return Err(token_error(expired_status, JwtError::Malformed));
    }
    let claims = verify_jwt(sh, &token)?;
    if !tokens::has_core_claims(&claims) {
        return Err(unauthorized(tokens::MSG_BAD_CLAIMS));
    }
    let mut inner = sh.lock();
    token_source(&inner, &claims)?;
    if tokens::legacy_max_age_exceeded(
        &claims,
        inner.legacy_enforced_at,
        inner.max_token_age,
        inner.now_secs(),
    ) {
        return Err(unauthorized(tokens::MSG_LEGACY_MAX_AGE));
    }
    if inner.is_revoked(&tokens::token_id(&claims)) {
        return Err(unauthorized(tokens::revoked_message(tokens::AUTHORIZE)));
    }
    let identity_id = tokens::str_claim(&claims, "identityId");
    // An identity the emulator does not know is one Infisical deleted: deleting an identity
    // leaves an identity-wide revocation marker.
    let identity = inner
        .identities
        .get(&identity_id)
        .ok_or_else(|| unauthorized(tokens::identity_revoked_message(tokens::AUTHORIZE)))?;
    meta.identity_id = Some(identity.id.clone());
    Ok(Authed {
        org_id: identity.org_id.clone(),
        permissions: identity.permissions.clone(),
    })
}

/// `getOrgPermission` (`ee/services/permission/permission-service.ts`): the token's organisation
/// first (a `ForbiddenRequestError` without a name), then the CASL rule on `sso`.
fn permit(who: &Authed, org_id: &str, action: &str) -> Result<(), Response> {
    if who.org_id != org_id {
        return Err(err(
            403,
            "ForbiddenError",
            format!(
                "Your token is scoped to organization with ID {}, but this resource belongs to a different organization.",
                who.org_id
            ),
        ));
    }
    if !who.permissions.iter().any(|p| p == action) {
        return Err(json_resp(
            403,
            error_body(
                403,
                "PermissionDenied",
                format!("You are not allowed to {action} on sso"),
                Some(json!([])),
            ),
        ));
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Rate limiting

#[derive(Clone, Copy)]
pub(crate) enum Class {
    Read,
    Write,
}

pub(crate) fn rate_limit(sh: &Shared, class: Class, route: &str) -> Result<(), Response> {
    let mut inner = sh.lock();
    let limit = match class {
        Class::Read => inner.reads_per_minute,
        Class::Write => inner.writes_per_minute,
    };
    let Some(limit) = limit else { return Ok(()) };
    let now = Instant::now();
    let window = Duration::from_secs(60);
    let entry = inner
        .rate_windows
        .entry(route.to_string())
        .or_insert((now, 0));
    if now.duration_since(entry.0) >= window {
        *entry = (now, 0);
    }
    entry.1 += 1;
    if entry.1 <= limit {
        return Ok(());
    }
    let remaining = window.saturating_sub(now.duration_since(entry.0));
    let secs = remaining.as_secs_f64().ceil().max(1.0) as u64;
    let mut resp = err(
        429,
        "RateLimitExceeded",
        format!("Rate limit exceeded. Please try again in {secs} seconds"),
    );
    let h = resp.headers_mut();
    h.insert("retry-after", HeaderValue::from(secs));
    h.insert("x-ratelimit-limit", HeaderValue::from(limit));
    h.insert("x-ratelimit-remaining", HeaderValue::from(0u32));
    h.insert("x-ratelimit-reset", HeaderValue::from(secs));
    Err(resp)
}

// ---------------------------------------------------------------------------------------------
// Body helpers

pub(crate) fn parse_body(body: &Bytes) -> Result<Option<Value>, Response> {
    if body.iter().all(|b| b.is_ascii_whitespace()) {
        return Ok(None);
    }
    serde_json::from_slice(body).map(Some).map_err(|_| {
        err(
            400,
            "BadRequest",
            "Body is not valid JSON but content-type is set to 'application/json'",
        )
    })
}

fn pick(cfg: &Map<String, Value>, keys: &[&str]) -> Value {
    let mut m = Map::new();
    for k in keys {
        m.insert(
            (*k).to_string(),
            cfg.get(*k).cloned().unwrap_or(Value::Null),
        );
    }
    Value::Object(m)
}

const POST_KEYS: &[&str] = &[
    "id",
    "issuer",
    "authorizationEndpoint",
    "configurationType",
    "discoveryURL",
    "jwksUri",
    "tokenEndpoint",
    "userinfoEndpoint",
    "orgId",
    "isActive",
    "allowedEmailDomains",
    "manageGroupMemberships",
    "jwtSignatureAlgorithm",
];

const PATCH_KEYS: &[&str] = &[
    "id",
    "issuer",
    "authorizationEndpoint",
    "configurationType",
    "discoveryURL",
    "jwksUri",
    "tokenEndpoint",
    "userinfoEndpoint",
    "orgId",
    "allowedEmailDomains",
    "isActive",
    "manageGroupMemberships",
];

/// Columns written by create/update (request key == stored key).
const WRITABLE: &[&str] = &[
    "allowedEmailDomains",
    "configurationType",
    "issuer",
    "discoveryURL",
    "authorizationEndpoint",
    "jwksUri",
    "tokenEndpoint",
    "userinfoEndpoint",
    "clientId",
    "clientSecret",
    "isActive",
    "manageGroupMemberships",
    "jwtSignatureAlgorithm",
];

/// `orgDAL.findOne({id})`: unknown non-UUID ids fail the Postgres uuid cast (500 "Find one").
fn find_org_error(inner: &Inner, org_id: &str) -> Option<Response> {
    if inner.orgs.contains_key(org_id) {
        None
    } else if uuid::Uuid::parse_str(org_id).is_err() {
        Some(err(500, "Find one", "Something went wrong"))
    } else {
        Some(err(
            404,
            "NotFound",
            format!("Organization with ID '{org_id}' not found"),
        ))
    }
}

const GOOGLE_MSG: &str = "You cannot enable OIDC SSO while Google OAuth is enforced. Disable Google OAuth enforcement to enable OIDC SSO.";

// ---------------------------------------------------------------------------------------------
// Handlers

/// `GET /api/status` (`backend/src/server/routes/index.ts`): since the 2026 token redesign it
/// also reports `maxIdentityAccessTokenTTL` (the `MAX_MACHINE_IDENTITY_TOKEN_AGE` ceiling).
/// `date` is `new Date()` serialised as an ISO string; an unset `samlDefaultOrgSlug` is omitted.
pub(crate) async fn status(State(sh): State<Arc<Shared>>) -> Response {
    let max_age = sh.lock().max_token_age;
    json_resp(
        200,
        json!({
            "date": iso8601_now(),
            "message": "Ok",
            "emailConfigured": true,
            "inviteOnlySignup": false,
            "redisConfigured": true,
            "secretScanningConfigured": false,
            "auditLogStorageDisabled": false,
            "maxIdentityAccessTokenTTL": max_age,
        }),
    )
}

/// `new Date().toISOString()`: `2026-05-24T05:18:03.924Z`.
pub(crate) fn iso8601_now() -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let secs = now.as_secs() as i64;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        now.subsec_millis()
    )
}

pub(crate) async fn not_found(method: axum::http::Method, uri: Uri) -> Response {
    err(
        404,
        "Not Found",
        format!("Route {}:{} not found", method, uri.path()),
    )
}

pub(crate) fn token_response(token: String, expires_in: u64, max_ttl: u64) -> Response {
    json_resp(
        200,
        json!({
            "accessToken": token,
            "expiresIn": expires_in,
            "accessTokenMaxTTL": max_ttl,
            "tokenType": "Bearer",
        }),
    )
}

pub(crate) const LOCKED_MSG: &str =
    "This identity auth method is temporarily locked, please try again later";

/// `POST /api/v1/auth/universal-auth/login`
/// (`backend/src/server/routes/v1/identity-universal-auth-router.ts`, service `login` in
/// `backend/src/services/identity-ua/identity-ua-service.ts`):
/// unknown client id -> 401 `Invalid credentials` (nothing counted: there is no identity to lock);
/// a live lock -> 401 locked, checked before the secret, so a correct secret is refused too;
/// a wrong secret counts a failure (the record lives `counterResetSeconds`, renewed on each
/// failure; at `threshold` it becomes a lock that lives `durationSeconds`) -> 401
/// `Invalid credentials`; a correct secret clears the record and issues a token.
pub(crate) async fn login(State(sh): State<Arc<Shared>>, body: Bytes) -> Response {
    let mut meta = Meta::default();
    let r = (|| {
        let body = parse_body(&body)?;
        rate_limit(&sh, Class::Write, "POST /api/v1/auth/universal-auth/login")?;
        let v = validate::parse_object(body.as_ref(), LOGIN_FIELDS).map_err(validation_failure)?;
        let client_id = v["clientId"].as_str().unwrap_or("");
        let client_secret = v["clientSecret"].as_str().unwrap_or("");
        let mut inner = sh.lock();
        let identity = inner
            .identities
            .values()
            .find(|i| i.client_id == client_id)
            .cloned()
            .ok_or_else(|| unauthorized("Invalid credentials"))?;
        meta.identity_id = Some(identity.id.clone());
        meta.org_id = Some(identity.org_id.clone());
        let key = (identity.id.clone(), client_id.to_string());
        let count = |inner: &mut Inner, f: fn(&mut LoginCounters)| {
            if let Some(i) = inner.identities.get_mut(&identity.id) {
                f(&mut i.logins);
            }
        };
        if inner.lockout_of(&key).is_some_and(|l| l.locked_out) {
            count(&mut inner, |c| c.locked += 1);
            return Err(unauthorized(LOCKED_MSG));
        }
        if identity.client_secret != client_secret {
            let settings = inner.lockout;
            if settings.enabled {
                let mut l = inner.lockout_of(&key).unwrap_or(Lockout {
                    failed_attempts: 0,
                    locked_out: false,
                    expires_at: Instant::now(),
                });
                l.failed_attempts += 1;
                if l.failed_attempts >= settings.threshold {
                    l.locked_out = true;
                }
                l.expires_at = Instant::now()
                    + secs(if l.locked_out {
                        settings.duration_seconds
                    } else {
                        settings.counter_reset_seconds
                    });
                inner.lockouts.insert(key, l);
            }
            count(&mut inner, |c| c.failed += 1);
            return Err(unauthorized("Invalid credentials"));
        }
        inner.lockouts.remove(&key);
        count(&mut inner, |c| c.succeeded += 1);
        let (token, ttl) = sh.issue_token(
            &mut inner,
            &identity,
            tokens::UNIVERSAL_AUTH,
            &identity.client_secret_id,
            identity.ttl,
            identity.max_ttl,
        );
        Ok(token_response(token, ttl, identity.max_ttl))
    })();
    finish(r, meta)
}

/// `POST /api/v1/auth/token/renew` (`renewAccessToken` in
/// `backend/src/services/identity-access-token/identity-access-token-service.ts`): a new JWT with
/// the same token id, lifetime `computeIssuedTtl(TTL, max-TTL budget left, 90-day cap)`.
pub(crate) async fn renew(State(sh): State<Arc<Shared>>, body: Bytes) -> Response {
    let mut meta = Meta::default();
    let r = (|| {
        let body = parse_body(&body)?;
        rate_limit(&sh, Class::Write, "POST /api/v1/auth/token/renew")?;
        let v = validate::parse_object(body.as_ref(), TOKEN_FIELDS).map_err(validation_failure)?;
        let token = v["accessToken"].as_str().unwrap_or("");
        let claims = verify_for_renew_or_revoke(&sh, token)?;
        let identity_id = tokens::str_claim(&claims, "identityId");
        meta.identity_id = Some(identity_id.clone());
        let mut inner = sh.lock();
        let now = inner.now_secs();
        if tokens::legacy_max_age_exceeded(
            &claims,
            inner.legacy_enforced_at,
            inner.max_token_age,
            now,
        ) {
            return Err(unauthorized(tokens::MSG_LEGACY_MAX_AGE));
        }
        let source = token_source(&inner, &claims)?;
        meta.org_id = Some(source.org_id.clone()).filter(|o| !o.is_empty());
        if inner.is_revoked(&tokens::token_id(&claims)) {
            return Err(unauthorized(tokens::revoked_message(tokens::RENEW)));
        }
        let ttl = tokens::compute_issued_ttl(
            source.ttl,
            source.max_ttl,
            source.creation_epoch,
            now,
            inner.max_token_age,
        );
        if ttl <= 0 {
            return Err(unauthorized(tokens::MSG_MAX_TTL));
        }
        let token_id = tokens::str_claim(&claims, "identityAccessTokenId");
        let renewed = sh.sign(
            &mut inner,
            &tokens::Issue {
                identity_id: &identity_id,
                token_id: &token_id,
                iat: now,
                ttl_seconds: ttl as u64,
                source: &source,
            },
        );
        Ok(token_response(renewed, ttl as u64, source.max_ttl))
    })();
    finish(r, meta)
}

/// `POST /api/v1/auth/token/revoke` (`revokeAccessToken`): upserts a revocation marker
/// (`identity-access-token-revocation-dal.ts`, `onConflict(["id"]).merge`), so revoking twice
/// answers 200 twice. The marker expires per `computePerTokenMarkerExpiry`.
pub(crate) async fn revoke(State(sh): State<Arc<Shared>>, body: Bytes) -> Response {
    let mut meta = Meta::default();
    let r = (|| {
        let body = parse_body(&body)?;
        rate_limit(&sh, Class::Write, "POST /api/v1/auth/token/revoke")?;
        let v = validate::parse_object(body.as_ref(), TOKEN_FIELDS).map_err(validation_failure)?;
        let token = v["accessToken"].as_str().unwrap_or("");
        let claims = verify_for_renew_or_revoke(&sh, token)?;
        meta.identity_id = Some(tokens::str_claim(&claims, "identityId"));
        let mut inner = sh.lock();
        let source = token_source(&inner, &claims)?;
        let now = inner.now_secs();
        let expires_at = tokens::marker_expiry(
            claims.get("exp").and_then(Value::as_u64),
            source.ttl,
            source.max_ttl,
            source.period,
            source.creation_epoch,
            now,
            inner.max_token_age,
            inner.marker_skew,
        );
        inner.prune();
        inner
            .revocations
            .insert(tokens::token_id(&claims), expires_at);
        Ok(json_resp(
            200,
            json!({"message": "Successfully revoked access token"}),
        ))
    })();
    finish(r, meta)
}

pub(crate) async fn identity_details(
    State(sh): State<Arc<Shared>>,
    headers: HeaderMap,
) -> Response {
    let mut meta = Meta::default();
    let r = (|| {
        let who = authenticate(&sh, &headers, &mut meta)?;
        meta.org_id = Some(who.org_id.clone());
        rate_limit(&sh, Class::Read, "GET /api/v1/identities/details")?;
        let inner = sh.lock();
        let org = inner
            .orgs
            .get(&who.org_id)
            .ok_or_else(|| err(404, "NotFound", "Organization not found"))?;
        Ok(json_resp(
            200,
            json!({"identityDetails": {"organization": {"id": org.id, "name": org.name, "slug": org.slug}}}),
        ))
    })();
    finish(r, meta)
}

fn query_values(uri: &Uri, key: &str) -> Vec<String> {
    url::form_urlencoded::parse(uri.query().unwrap_or("").as_bytes())
        .filter(|(k, _)| k == key)
        .map(|(_, v)| v.into_owned())
        .collect()
}

/// `getOidc` (`ee/services/oidc/oidc-config-service.ts`, newest: the version that checks verified
/// email domains at login): no configuration for the organisation, before any permission check.
const NO_OIDC_CONFIG: &str = "Failed to find OIDC SSO data";

pub(crate) async fn oidc_get(
    State(sh): State<Arc<Shared>>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let mut meta = Meta::default();
    let r = (|| {
        let who = authenticate(&sh, &headers, &mut meta)?;
        rate_limit(&sh, Class::Read, "GET /api/v1/sso/oidc/config")?;
        let vals = query_values(&uri, "organizationId");
        let org_id = match vals.len() {
            0 => {
                return Err(validation_failure(vec![validate::invalid_type(
                    &["organizationId"],
                    "string",
                    "undefined",
                )]));
            }
            1 => vals[0].trim().to_string(),
            _ => {
                return Err(validation_failure(vec![validate::invalid_type(
                    &["organizationId"],
                    "string",
                    "array",
                )]));
            }
        };
        meta.org_id = Some(org_id.clone());
        let mut inner = sh.lock();
        let Some(org) = inner.orgs.get_mut(&org_id) else {
            if uuid::Uuid::parse_str(&org_id).is_err() {
                return Err(err(500, "Find one", "Something went wrong"));
            }
            return Err(err(404, "NotFound", NO_OIDC_CONFIG));
        };
        org.gets += 1;
        let Some(cfg) = org.config.as_ref() else {
            return Err(err(404, "NotFound", NO_OIDC_CONFIG));
        };
        permit(&who, &org_id, "read")?;
        Ok(json_resp(200, pick(cfg, GET_KEYS)))
    })();
    finish(r, meta)
}

const URL_FIELDS: [&str; 4] = [
    "discoveryURL",
    "jwksUri",
    "tokenEndpoint",
    "userinfoEndpoint",
];

/// `POST /api/v1/sso/oidc/config` (`createOidcCfg` in
/// `backend/src/ee/services/oidc/oidc-config-service.ts`): org 404 -> plan 400 -> permission 403
/// -> Google 400 -> URL guard (resolves names, so it runs without the state lock) -> insert (a
/// second config for the org is the unique-index 500 `Create`).
pub(crate) async fn oidc_post(
    State(sh): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut meta = Meta::default();
    let r = async {
        let who = authenticate(&sh, &headers, &mut meta)?;
        let body = parse_body(&body)?;
        rate_limit(&sh, Class::Write, "POST /api/v1/sso/oidc/config")?;
        let v = validate::parse_object(body.as_ref(), CREATE_FIELDS).map_err(validation_failure)?;
        let issues = validate::refine_create(&v);
        if !issues.is_empty() {
            return Err(validation_failure(issues));
        }
        let org_id = v["organizationId"].as_str().unwrap_or("").to_string();
        meta.org_id = Some(org_id.clone());
        let guard = {
            let mut inner = sh.lock();
            if let Some(e) = find_org_error(&inner, &org_id) {
                return Err(e);
            }
            let org = inner.orgs.get_mut(&org_id).expect("org exists");
            org.posts += 1;
            if !org.plan_oidc_sso {
                return Err(err(
                    400,
                    "BadRequest",
                    "Failed to create OIDC SSO configuration due to plan restriction. Upgrade plan to update SSO configuration.",
                ));
            }
            permit(&who, &org_id, "create")?;
            let is_active = v["isActive"].as_bool().unwrap_or(false);
            if org.google_sso_enforced && is_active {
                return Err(err(400, "BadRequest", GOOGLE_MSG));
            }
            inner.guard()
        };
        let urls: Vec<String> = URL_FIELDS
            .iter()
            .map(|k| v[*k].as_str().unwrap_or("").to_string())
            .collect();
        guard.check_all(&urls).await?;
        let mut inner = sh.lock();
        let Some(org) = inner.orgs.get_mut(&org_id) else {
            return Err(err(
                404,
                "NotFound",
                format!("Organization with ID '{org_id}' not found"),
            ));
        };
        if org.config.is_some() {
            return Err(err(500, "Create", "Something went wrong"));
        }
        let mut cfg = crate::state::default_config(&org_id);
        for k in WRITABLE {
            if let Some(val) = v.get(*k) {
                cfg.insert((*k).to_string(), val.clone());
            }
        }
        let resp = pick(&cfg, POST_KEYS);
        org.config = Some(cfg);
        Ok::<Response, Response>(json_resp(200, resp))
    }
    .await;
    finish(r, meta)
}

/// `PATCH /api/v1/sso/oidc/config` (`updateOidcCfg`, same file): org 404 -> plan 400 ->
/// permission 403 -> Google 400 (`isActive` true) -> SMTP 400 (`isActive` true) -> URL guard on
/// the URL fields present -> update, then always `authEnforced = scimEnabled = false`.
pub(crate) async fn oidc_patch(
    State(sh): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut meta = Meta::default();
    let r = async {
        let who = authenticate(&sh, &headers, &mut meta)?;
        let body = parse_body(&body)?;
        rate_limit(&sh, Class::Write, "PATCH /api/v1/sso/oidc/config")?;
        let v = validate::parse_object(body.as_ref(), &validate::update_fields())
            .map_err(validation_failure)?;
        let org_id = v["organizationId"].as_str().unwrap_or("").to_string();
        meta.org_id = Some(org_id.clone());
        let guard = {
            let mut inner = sh.lock();
            if let Some(e) = find_org_error(&inner, &org_id) {
                return Err(e);
            }
            let org = inner.orgs.get_mut(&org_id).expect("org exists");
            org.patches += 1;
            if !org.plan_oidc_sso {
                return Err(err(
                    400,
                    "BadRequest",
                    "Failed to update OIDC SSO configuration due to plan restriction. Upgrade plan to update SSO configuration.",
                ));
            }
            permit(&who, &org_id, "edit")?;
            let activating = v.get("isActive").and_then(Value::as_bool) == Some(true);
            if activating && org.google_sso_enforced {
                return Err(err(400, "BadRequest", GOOGLE_MSG));
            }
            if activating && !org.smtp_ok {
                return Err(err(
                    400,
                    "BadRequest",
                    "Cannot enable OIDC when there are issues with the instance's SMTP configuration. Bypass this by turning on trust for OIDC emails in the server admin console.",
                ));
            }
            inner.guard()
        };
        let urls: Vec<String> = URL_FIELDS
            .iter()
            .filter_map(|k| v.get(*k).and_then(Value::as_str).map(str::to_string))
            .collect();
        guard.check_all(&urls).await?;
        let mut inner = sh.lock();
        let Some(org) = inner.orgs.get_mut(&org_id) else {
            return Err(err(
                404,
                "NotFound",
                format!("Organization with ID '{org_id}' not found"),
            ));
        };
        let resp = match org.config.as_mut() {
            Some(cfg) => {
                for k in WRITABLE {
                    if let Some(val) = v.get(*k) {
                        cfg.insert((*k).to_string(), val.clone());
                    }
                }
                cfg.insert("lastUsed".into(), Value::Null);
                json_resp(200, pick(cfg, PATCH_KEYS))
            }
            None => StatusCode::OK.into_response(),
        };
        org.auth_enforced = false;
        org.scim_enabled = false;
        Ok::<Response, Response>(resp)
    }
    .await;
    finish(r, meta)
}
