//! The emulated Infisical API (section 8 of the contract).
//!
//! Handlers short-circuit with `Err(Response)` (the finished error reply); boxing it buys nothing here.
#![allow(clippy::result_large_err)]

use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use crate::jwt::{self, JwtError};
use crate::state::{GET_KEYS, Inner, Shared, now_secs, random_alnum};
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

fn validation_failure(issues: Vec<Value>) -> Response {
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

fn finish(result: Result<Response, Response>, meta: Meta) -> Response {
    with_meta(result.unwrap_or_else(|e| e), meta)
}

// ---------------------------------------------------------------------------------------------
// Auth

pub(crate) struct Authed {
    pub org_id: String,
    pub permissions: Vec<String>,
}

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

fn no_token_found() -> Response {
    err(401, "UnauthorizedError", "No identity access token found")
}

/// Verify an identity access token (signature, expiry, type, not revoked). Returns (payload, token id).
fn verify_identity_token(sh: &Shared, token: &str) -> Result<(Value, String), Response> {
    let expired_status = sh.lock().expired_token_status;
    let (_, claims) = jwt::decode(token).map_err(|e| token_error(expired_status, e))?;
    if claims.get("authTokenType").and_then(Value::as_str) != Some("identityAccessToken") {
        return Err(token_error(expired_status, JwtError::Malformed));
    }
    let payload =
        jwt::verify(&sh.jwt_key, token, now_secs()).map_err(|e| token_error(expired_status, e))?;
    let token_id = payload
        .get("identityAccessTokenId")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    Ok((payload, token_id))
}

fn authenticate(
    sh: &Shared,
    headers: &HeaderMap,
    uri: &Uri,
    meta: &mut Meta,
) -> Result<Authed, Response> {
    if headers.contains_key("x-api-key") {
        return Err(err(
            400,
            "BadRequest",
            "API key authentication is not supported anymore. Please switch to identity authentication.",
        ));
    }
    let Some(auth) = headers.get("authorization") else {
        return Err(err(401, "UnauthorizedError", "Token missing"));
    };
    let auth = String::from_utf8_lossy(auth.as_bytes()).to_string();
    let token: String = auth.chars().skip(7).collect();
    if token.starts_with("st.") {
        let url = uri
            .path_and_query()
            .map(|p| p.as_str())
            .unwrap_or(uri.path());
        return Err(err(
            403,
            &format!("Forbidden access to {url}"),
            "You are not allowed to access this resource",
        ));
    }
    let (_, token_id) = verify_identity_token(sh, &token)?;
    let inner = sh.lock();
    let rec = inner
        .tokens
        .get(&token_id)
        .filter(|r| !r.revoked)
        .ok_or_else(no_token_found)?;
    let identity = inner
        .identities
        .get(&rec.identity_id)
        .ok_or_else(no_token_found)?;
    meta.identity_id = Some(identity.id.clone());
    Ok(Authed {
        org_id: identity.org_id.clone(),
        permissions: identity.permissions.clone(),
    })
}

fn permit(who: &Authed, org_id: &str, action: &str) -> Result<(), Response> {
    if who.org_id != org_id {
        return Err(err(
            403,
            "You are not allowed to access organization resource",
            "You are not allowed to access this resource",
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
enum Class {
    Read,
    Write,
}

fn rate_limit(sh: &Shared, class: Class, route: &str) -> Result<(), Response> {
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

fn parse_body(body: &Bytes) -> Result<Option<Value>, Response> {
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

fn is_internal_ip(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            v4.is_private()
                || v4.is_loopback()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || o[0] == 0
                || (o[0] == 100 && (64..128).contains(&o[1]))
                || o[0] >= 240
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_internal_ip(IpAddr::V4(v4));
            }
            let seg0 = v6.segments()[0];
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (seg0 & 0xfe00) == 0xfc00
                || (seg0 & 0xffc0) == 0xfe80
        }
    }
}

/// Infisical's `blockLocalAndPrivateIpAddresses` without DNS resolution.
fn url_guard(inner: &Inner, urls: &[&str]) -> Result<(), Response> {
    if !inner.url_guard {
        return Ok(());
    }
    for raw in urls {
        if raw.is_empty() {
            continue;
        }
        let Ok(url) = url::Url::parse(raw) else {
            return Err(err(500, "InternalServerError", "Something went wrong"));
        };
        if !url.username().is_empty() || url.password().is_some() {
            return Err(err(
                400,
                "BadRequest",
                "URLs with user credentials (e.g., user:pass@) are not allowed",
            ));
        }
        let host_str = url.host_str().unwrap_or("").to_ascii_lowercase();
        let bare = host_str
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_string();
        let with_port = url
            .port_or_known_default()
            .map(|p| format!("{host_str}:{p}"));
        let allowed = inner.allowed_internal_hosts.iter().any(|a| {
            let a = a.to_ascii_lowercase();
            a == host_str || a == bare || with_port.as_deref() == Some(a.as_str())
        });
        if allowed {
            continue;
        }
        let internal = match url.host() {
            Some(url::Host::Domain(d)) => {
                let d = d.to_ascii_lowercase();
                d == "localhost" || d.ends_with(".localhost") || d == "host.docker.internal"
            }
            Some(url::Host::Ipv4(ip)) => is_internal_ip(IpAddr::V4(ip)),
            Some(url::Host::Ipv6(ip)) => is_internal_ip(IpAddr::V6(ip)),
            None => false,
        };
        if internal {
            return Err(err(400, "BadRequest", "Local IPs not allowed as URL"));
        }
    }
    Ok(())
}

const GOOGLE_MSG: &str = "You cannot enable OIDC SSO while Google OAuth is enforced. Disable Google OAuth enforcement to enable OIDC SSO.";

// ---------------------------------------------------------------------------------------------
// Handlers

pub(crate) async fn status() -> Response {
    json_resp(
        200,
        json!({
            "date": now_secs(),
            "message": "Ok",
            "emailConfigured": true,
            "inviteOnlySignup": false,
            "redisConfigured": true,
            "secretScanningConfigured": false,
            "samlDefaultOrgSlug": null,
            "auditLogStorageDisabled": false,
        }),
    )
}

pub(crate) async fn not_found(method: axum::http::Method, uri: Uri) -> Response {
    err(
        404,
        "Not Found",
        format!("Route {}:{} not found", method, uri.path()),
    )
}

fn token_response(token: String, expires_in: u64, max_ttl: u64) -> Response {
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
            .filter(|i| i.client_secret == client_secret)
            .ok_or_else(|| err(401, "UnauthorizedError", "Invalid credentials"))?;
        meta.identity_id = Some(identity.id.clone());
        meta.org_id = Some(identity.org_id.clone());
        let token = sh.issue_token(
            &mut inner,
            &identity.id,
            json!(identity.client_secret_id),
            identity.ttl,
            identity.max_ttl,
        );
        Ok(token_response(token, identity.ttl, identity.max_ttl))
    })();
    finish(r, meta)
}

pub(crate) async fn renew(State(sh): State<Arc<Shared>>, body: Bytes) -> Response {
    let mut meta = Meta::default();
    let r = (|| {
        let body = parse_body(&body)?;
        rate_limit(&sh, Class::Write, "POST /api/v1/auth/token/renew")?;
        let v = validate::parse_object(body.as_ref(), TOKEN_FIELDS).map_err(validation_failure)?;
        let token = v["accessToken"].as_str().unwrap_or("");
        if let Ok((_, claims)) = jwt::decode(token)
            && claims.get("authTokenType").and_then(Value::as_str) != Some("identityAccessToken")
        {
            return Err(err(
                400,
                "BadRequest",
                "Only identity access tokens can be renewed",
            ));
        }
        let (payload, token_id) = verify_identity_token(&sh, token)?;
        let inner = sh.lock();
        let rec = inner
            .tokens
            .get(&token_id)
            .filter(|r| !r.revoked)
            .cloned()
            .ok_or_else(no_token_found)?;
        meta.identity_id = Some(rec.identity_id.clone());
        meta.org_id = inner
            .identities
            .get(&rec.identity_id)
            .map(|i| i.org_id.clone());
        let now = now_secs();
        let mut expires_in = rec.ttl;
        if rec.max_ttl > 0 {
            let max_exp = rec.created_at + rec.max_ttl;
            if now >= max_exp {
                return Err(err(
                    401,
                    "UnauthorizedError",
                    "Failed to renew MI access token due to Max TTL expiration",
                ));
            }
            if expires_in == 0 || now + expires_in > max_exp {
                expires_in = max_exp - now;
            }
        }
        drop(inner);
        // Keep the token id (Infisical renews the same identity access token row).
        let new_token = sh.sign_token(
            &rec.identity_id,
            payload
                .get("clientSecretId")
                .cloned()
                .unwrap_or(Value::Null),
            &token_id,
            now,
            expires_in,
        );
        Ok(token_response(new_token, expires_in, rec.max_ttl))
    })();
    finish(r, meta)
}

pub(crate) async fn revoke(State(sh): State<Arc<Shared>>, body: Bytes) -> Response {
    let mut meta = Meta::default();
    let r = (|| {
        let body = parse_body(&body)?;
        rate_limit(&sh, Class::Write, "POST /api/v1/auth/token/revoke")?;
        let v = validate::parse_object(body.as_ref(), TOKEN_FIELDS).map_err(validation_failure)?;
        let token = v["accessToken"].as_str().unwrap_or("");
        let (_, token_id) = verify_identity_token(&sh, token)?;
        let mut inner = sh.lock();
        let rec = inner
            .tokens
            .get_mut(&token_id)
            .filter(|r| !r.revoked)
            .ok_or_else(no_token_found)?;
        rec.revoked = true;
        meta.identity_id = Some(rec.identity_id.clone());
        Ok(json_resp(
            200,
            json!({"message": "Successfully revoked access token"}),
        ))
    })();
    finish(r, meta)
}

pub(crate) async fn identity_details(
    State(sh): State<Arc<Shared>>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let mut meta = Meta::default();
    let r = (|| {
        let who = authenticate(&sh, &headers, &uri, &mut meta)?;
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

pub(crate) async fn oidc_get(
    State(sh): State<Arc<Shared>>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let mut meta = Meta::default();
    let r = (|| {
        let who = authenticate(&sh, &headers, &uri, &mut meta)?;
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
            return Err(err(
                404,
                "NotFound",
                format!("OIDC configuration for organization with ID '{org_id}' not found"),
            ));
        };
        org.gets += 1;
        let Some(cfg) = org.config.as_ref() else {
            return Err(err(
                404,
                "NotFound",
                format!("OIDC configuration for organization with ID '{org_id}' not found"),
            ));
        };
        permit(&who, &org_id, "read")?;
        Ok(json_resp(200, pick(cfg, GET_KEYS)))
    })();
    finish(r, meta)
}

pub(crate) async fn oidc_post(
    State(sh): State<Arc<Shared>>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut meta = Meta::default();
    let r = (|| {
        let who = authenticate(&sh, &headers, &uri, &mut meta)?;
        let body = parse_body(&body)?;
        rate_limit(&sh, Class::Write, "POST /api/v1/sso/oidc/config")?;
        let v = validate::parse_object(body.as_ref(), CREATE_FIELDS).map_err(validation_failure)?;
        let issues = validate::refine_create(&v);
        if !issues.is_empty() {
            return Err(validation_failure(issues));
        }
        let org_id = v["organizationId"].as_str().unwrap_or("").to_string();
        meta.org_id = Some(org_id.clone());
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
        let urls: Vec<String> = [
            "discoveryURL",
            "jwksUri",
            "tokenEndpoint",
            "userinfoEndpoint",
        ]
        .iter()
        .map(|k| v[*k].as_str().unwrap_or("").to_string())
        .collect();
        let url_refs: Vec<&str> = urls.iter().map(String::as_str).collect();
        url_guard(&inner, &url_refs)?;
        let org = inner.orgs.get_mut(&org_id).expect("org exists");
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
        Ok(json_resp(200, resp))
    })();
    finish(r, meta)
}

pub(crate) async fn oidc_patch(
    State(sh): State<Arc<Shared>>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut meta = Meta::default();
    let r = (|| {
        let who = authenticate(&sh, &headers, &uri, &mut meta)?;
        let body = parse_body(&body)?;
        rate_limit(&sh, Class::Write, "PATCH /api/v1/sso/oidc/config")?;
        let v = validate::parse_object(body.as_ref(), &validate::update_fields())
            .map_err(validation_failure)?;
        let org_id = v["organizationId"].as_str().unwrap_or("").to_string();
        meta.org_id = Some(org_id.clone());
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
        let urls: Vec<String> = [
            "discoveryURL",
            "jwksUri",
            "tokenEndpoint",
            "userinfoEndpoint",
        ]
        .iter()
        .filter_map(|k| v.get(*k).and_then(Value::as_str).map(str::to_string))
        .collect();
        let url_refs: Vec<&str> = urls.iter().map(String::as_str).collect();
        url_guard(&inner, &url_refs)?;
        let org = inner.orgs.get_mut(&org_id).expect("org exists");
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
        Ok(resp)
    })();
    finish(r, meta)
}
