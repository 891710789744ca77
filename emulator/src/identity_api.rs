//! Status, machine-identity login and the token routes (`/api/status`, Universal Auth login,
//! renew, revoke, identity details).
#![allow(clippy::result_large_err)]

use std::sync::Arc;
use std::time::Instant;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use serde_json::{Value, json};

use crate::auth::{authenticate, token_source, verify_for_renew_or_revoke};
use crate::clock::{iso8601_now, secs};
use crate::rate_limit::{Class, rate_limit};
use crate::reply::{
    Meta, err, finish, json_resp, parse_body, token_response, unauthorized, validation_failure,
};
use crate::state::{Inner, Lockout, LoginCounters, Shared};
use crate::tokens;
use crate::validate::{self, LOGIN_FIELDS, TOKEN_FIELDS};

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
