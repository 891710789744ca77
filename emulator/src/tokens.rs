//! Machine identity access tokens after Infisical's 2026 redesign.
//!
//! Follows `backend/src/services/identity-access-token/identity-access-token-fns.ts`
//! (`computeIssuedTtl`, `signIdentityAccessToken`, `hasFullRenewClaims`,
//! `hasLegacyTokenWithoutExpExceededMaxAge`, `computePerTokenMarkerExpiry`,
//! `revocationDenyReasonToMessage`) and `identity-access-token-service.ts`
//! (`issueIdentityAccessToken`, `fnValidateIdentityAccessTokenFast`, `renewAccessToken`,
//! `revokeAccessToken`). Tokens are stateless JWTs; what Infisical stores, and so what the
//! emulator stores, is revocation markers that expire (`identity-access-token-revocation-dal.ts`)
//! and the token rows of legacy tokens.

use serde_json::{Value, json};

/// `AuthTokenType.IDENTITY_ACCESS_TOKEN`.
pub(crate) const IDENTITY_ACCESS_TOKEN: &str = "identityAccessToken";
/// `IdentityAuthMethod.UNIVERSAL_AUTH`.
pub(crate) const UNIVERSAL_AUTH: &str = "universal-auth";
/// `IdentityAuthMethod.TOKEN_AUTH` (static tokens from the control surface).
pub(crate) const TOKEN_AUTH: &str = "token-auth";
/// `IdentityAuthMethod.KUBERNETES_AUTH`.
pub(crate) const KUBERNETES_AUTH: &str = "kubernetes-auth";

pub(crate) const MSG_BAD_CLAIMS: &str =
    "Invalid identity access token claims, please re-authenticate";
pub(crate) const MSG_LEGACY_MAX_AGE: &str =
    "Identity access token exceeded max age, please re-authenticate";
pub(crate) const MSG_UNKNOWN_LEGACY: &str = "Cannot renew revoked or unknown access token";
pub(crate) const MSG_NOT_IDENTITY_TOKEN: &str = "Token is not an identity access token";
pub(crate) const MSG_MAX_TTL: &str = "Cannot renew: identity access token has reached its max TTL";

/// `revocationDenyReasonToMessage("token", prefix)`.
pub(crate) fn revoked_message(prefix: &str) -> String {
    format!("{prefix}: token has been revoked")
}

/// `revocationDenyReasonToMessage("identity", prefix)`: the marker a deleted identity leaves.
pub(crate) fn identity_revoked_message(prefix: &str) -> String {
    format!("{prefix}: identity tokens have been revoked")
}

pub(crate) const AUTHORIZE: &str = "Failed to authorize";
pub(crate) const RENEW: &str = "Cannot renew";

/// `computeIssuedTtl`: the soonest of the requested TTL (0 = none), the remaining max-TTL budget
/// from `creationEpoch` (0 = none) and the `MAX_MACHINE_IDENTITY_TOKEN_AGE` ceiling. May be <= 0
/// on renew, when the budget is spent.
pub(crate) fn compute_issued_ttl(
    requested_ttl: u64,
    max_ttl: u64,
    creation_epoch: u64,
    now: u64,
    ceiling: u64,
) -> i64 {
    let mut ttl = ceiling as i64;
    if requested_ttl > 0 {
        ttl = ttl.min(requested_ttl as i64);
    }
    if max_ttl > 0 {
        ttl = ttl.min(creation_epoch as i64 + max_ttl as i64 - now as i64);
    }
    ttl
}

/// `computePerTokenMarkerExpiry` (with `computeSingleIssuanceTtlCap` and
/// `computeLegacyMarkerUpperSeconds`): keep a revocation marker until no JWT carrying the token
/// id can still be valid, plus the skew buffer.
#[allow(clippy::too_many_arguments)]
pub(crate) fn marker_expiry(
    exp: Option<u64>,
    requested_ttl: u64,
    max_ttl: u64,
    period: u64,
    creation_epoch: u64,
    now: u64,
    ceiling: u64,
    skew: u64,
) -> u64 {
    let legacy_upper = if max_ttl > 0 {
        creation_epoch + max_ttl
    } else {
        now + ceiling
    };
    let Some(exp) = exp else {
        return legacy_upper;
    };
    let effective = if period > 0 { period } else { requested_ttl };
    let cap = if effective > 0 {
        effective.min(ceiling)
    } else {
        ceiling
    };
    (exp + cap).min(legacy_upper) + skew
}

/// `hasLegacyTokenWithoutExpExceededMaxAge`.
pub(crate) fn legacy_max_age_exceeded(
    claims: &Value,
    enforced_at: u64,
    max_age: u64,
    now: u64,
) -> bool {
    !claims.get("exp").is_some_and(Value::is_number) && now > enforced_at + max_age
}

/// `hasCoreTokenClaims` (behind `assertMinimalRenewClaims`).
pub(crate) fn has_core_claims(c: &Value) -> bool {
    let non_empty = |k: &str| {
        c.get(k)
            .and_then(Value::as_str)
            .is_some_and(|s| !s.is_empty())
    };
    c.get("iat").is_some_and(Value::is_number)
        && non_empty("identityId")
        && non_empty("identityAccessTokenId")
}

/// `decoded.jti ?? decoded.identityAccessTokenId`.
pub(crate) fn token_id(c: &Value) -> String {
    c.get("jti")
        .and_then(Value::as_str)
        .or_else(|| c.get("identityAccessTokenId").and_then(Value::as_str))
        .unwrap_or("")
        .to_string()
}

pub(crate) fn str_claim(c: &Value, k: &str) -> String {
    c.get(k).and_then(Value::as_str).unwrap_or("").to_string()
}

/// What auth, renew and revoke need about a token (`TRenewSource`).
#[derive(Debug, Clone)]
pub(crate) struct Source {
    pub auth_method: String,
    pub ttl: u64,
    pub max_ttl: u64,
    pub period: u64,
    pub creation_epoch: u64,
    pub org_id: String,
    pub identity_name: String,
    /// Empty: the claim is left out (every auth method but Universal Auth).
    pub client_secret_id: String,
    /// The `identityAuth` claim (`{}`; Kubernetes Auth: `{"kubernetes": {namespace, name}}`).
    pub identity_auth: Value,
}

/// `hasFullRenewClaims`: the source straight from the JWT; `None` for legacy tokens, which
/// are read from their row instead (`loadLegacyTokenSource`).
pub(crate) fn full_source(c: &Value) -> Option<Source> {
    let s = |k: &str| c.get(k).and_then(Value::as_str).filter(|v| !v.is_empty());
    let n = |k: &str| c.get(k).and_then(Value::as_u64);
    s("jti")?;
    s("rootOrgId")?;
    s("parentOrgId")?;
    Some(Source {
        auth_method: s("authMethod")?.to_string(),
        org_id: s("orgId")?.to_string(),
        ttl: n("accessTokenTTL")?,
        max_ttl: n("accessTokenMaxTTL")?,
        period: n("accessTokenPeriod")?,
        creation_epoch: n("creationEpoch")?,
        identity_name: str_claim(c, "identityName"),
        client_secret_id: str_claim(c, "clientSecretId"),
        identity_auth: c.get("identityAuth").cloned().unwrap_or_else(|| json!({})),
    })
}

/// Inputs of `signIdentityAccessToken`.
pub(crate) struct Issue<'a> {
    pub identity_id: &'a str,
    pub token_id: &'a str,
    pub iat: u64,
    /// Lifetime of this JWT (`expiresIn`).
    pub ttl_seconds: u64,
    pub source: &'a Source,
}

/// The payload `signIdentityAccessToken` signs (jsonwebtoken adds `iat`, `exp`, `jti`).
/// `clientSecretId: input.clientSecretId` is `undefined` for logins other than Universal Auth,
/// so JSON leaves it out.
pub(crate) fn claims(i: &Issue<'_>) -> Value {
    let s = i.source;
    let mut v = json!({
        "identityId": i.identity_id,
        "identityName": s.identity_name,
        "authMethod": s.auth_method,
        "orgId": s.org_id,
        "rootOrgId": s.org_id,
        "parentOrgId": s.org_id,
        "clientSecretId": s.client_secret_id,
        "identityAccessTokenId": i.token_id,
        "ipRestrictionEnabled": false,
        "accessTokenTTL": s.ttl,
        "accessTokenMaxTTL": s.max_ttl,
        "accessTokenPeriod": s.period,
        "creationEpoch": s.creation_epoch,
        "authTokenType": IDENTITY_ACCESS_TOKEN,
        "identityAuth": s.identity_auth,
        "iat": i.iat,
        "exp": i.iat + i.ttl_seconds,
        "jti": i.token_id,
    });
    if s.client_secret_id.is_empty()
        && let Some(m) = v.as_object_mut()
    {
        m.remove("clientSecretId");
    }
    v
}

/// A pre-redesign token (`identity-ua-service.ts` before 2026): no `jti`, no org or TTL claims,
/// and no `exp` when its TTL was 0.
pub(crate) fn legacy_claims(
    identity_id: &str,
    client_secret_id: &str,
    token_id: &str,
    iat: u64,
    exp: Option<u64>,
) -> Value {
    let mut v = json!({
        "identityId": identity_id,
        "clientSecretId": client_secret_id,
        "identityAccessTokenId": token_id,
        "authTokenType": IDENTITY_ACCESS_TOKEN,
        "iat": iat,
    });
    if let Some(exp) = exp {
        v["exp"] = json!(exp);
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: u64 = 86_400;
    const CEIL: u64 = 90 * DAY;

    #[test]
    fn issued_ttl_is_the_soonest_cap() {
        // TTL 0 ("non-expiring") still gets the ceiling.
        assert_eq!(compute_issued_ttl(0, 0, 1000, 1000, CEIL), CEIL as i64);
        assert_eq!(compute_issued_ttl(600, 0, 1000, 1_000_000, CEIL), 600);
        assert_eq!(
            compute_issued_ttl(0, 180 * DAY, 0, 30 * DAY, CEIL),
            CEIL as i64
        );
        assert_eq!(compute_issued_ttl(3600, 7200, 0, 7000, CEIL), 200);
        assert_eq!(compute_issued_ttl(3600, 7200, 0, 7200, CEIL), 0);
        assert!(compute_issued_ttl(3600, 7200, 0, 8000, CEIL) < 0);
    }

    #[test]
    fn marker_outlives_the_tokens_it_blocks() {
        // exp + one TTL, plus skew; never past creation + max TTL (+ skew).
        assert_eq!(
            marker_expiry(Some(1100), 100, 0, 0, 1000, 1000, CEIL, 300),
            1500
        );
        assert_eq!(
            marker_expiry(Some(1100), 100, 150, 0, 1000, 1000, CEIL, 300),
            1450
        );
        // Legacy (no exp): creation + max TTL, or now + ceiling, no skew.
        assert_eq!(
            marker_expiry(None, 100, 150, 0, 1000, 1000, CEIL, 300),
            1150
        );
        assert_eq!(
            marker_expiry(None, 0, 0, 0, 1000, 2000, CEIL, 300),
            2000 + CEIL
        );
    }

    #[test]
    fn legacy_cutoff() {
        let no_exp = json!({"iat": 1});
        let with_exp = json!({"iat": 1, "exp": 2});
        assert!(!legacy_max_age_exceeded(&no_exp, 100, 10, 110));
        assert!(legacy_max_age_exceeded(&no_exp, 100, 10, 111));
        assert!(!legacy_max_age_exceeded(&with_exp, 100, 10, 1_000));
    }
}
