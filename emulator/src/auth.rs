//! Who is calling: the identity-token branch of Infisical's auth plugin, and `getOrgPermission`.
#![allow(clippy::result_large_err)]

use axum::http::HeaderMap;
use axum::response::Response;
use serde_json::{Value, json};

use crate::jwt::{self, JwtError};
use crate::reply::{Meta, err, error_body, json_resp, unauthorized};
use crate::state::{Inner, Shared};
use crate::tokens;

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
pub(crate) fn verify_for_renew_or_revoke(sh: &Shared, token: &str) -> Result<Value, Response> {
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
pub(crate) fn token_source(inner: &Inner, claims: &Value) -> Result<tokens::Source, Response> {
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
pub(crate) fn authenticate(
    sh: &Shared,
    headers: &HeaderMap,
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
/// first (a `ForbiddenRequestError` without a name), then the CASL rule on `subject`
/// (`ee/services/permission/org-permission.ts`: `OrgPermissionSubjects.Sso = "sso"`,
/// `OrgPermissionSubjects.Ldap = "ldap"`).
pub(crate) fn permit(
    who: &Authed,
    org_id: &str,
    action: &str,
    subject: &str,
) -> Result<(), Response> {
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
    if !who.permissions.iter().any(|p| grants(p, action, subject)) {
        return Err(json_resp(
            403,
            error_body(
                403,
                "PermissionDenied",
                format!("You are not allowed to {action} on {subject}"),
                Some(json!([])),
            ),
        ));
    }
    Ok(())
}

/// A seeded permission: `<action>` (subject `sso`, as before the emulator knew other subjects)
/// or `<subject>:<action>`.
fn grants(permission: &str, action: &str, subject: &str) -> bool {
    match permission.split_once(':') {
        Some((s, a)) => s == subject && a == action,
        None => subject == "sso" && permission == action,
    }
}
