//! Contract tests for section 8 of the reference: auth pipeline, tokens, identity details and the
//! OIDC SSO config endpoints. Every error assertion checks status, `error` and `message` exactly.

mod common;

use std::time::Duration;

use base64::Engine;
use common::*;
use infisical_emulator::{IdentitySeed, OrgFlags, OrgSeed};
use serde_json::{Value, json};

const MALFORMED: &str = "The provided access token is malformed. Please use a valid token or generate a new one and try again.";
const EXPIRED: &str = "Your token has expired. Please re-authenticate.";

fn jwt_payload(token: &str) -> Value {
    let part = token.split('.').nth(1).expect("payload");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(part)
        .expect("b64");
    serde_json::from_slice(&bytes).expect("json")
}

// ---------------------------------------------------------------- 8.0 auth pipeline

#[tokio::test]
async fn status_is_ok_without_auth() {
    let e = env().await;
    let (s, v) = body_of(e.http.get(e.url("/api/status")).send().await.unwrap()).await;
    assert_eq!(s, 200);
    assert_eq!(v["message"], "Ok");
}

#[tokio::test]
async fn auth_token_missing() {
    let e = env().await;
    let r = e
        .http
        .get(e.url(&format!("/api/v1/sso/oidc/config?organizationId={}", e.org)))
        .send()
        .await
        .unwrap();
    assert_err(&body_of(r).await, 401, "UnauthorizedError", "Token missing");
}

#[tokio::test]
async fn auth_x_api_key_rejected() {
    let e = env().await;
    let token = e.token().await;
    let r = e
        .http
        .get(e.url("/api/v1/identities/details"))
        .bearer_auth(token)
        .header("x-api-key", "abc")
        .send()
        .await
        .unwrap();
    assert_err(
        &body_of(r).await,
        400,
        "BadRequest",
        "API key authentication is not supported anymore. Please switch to identity authentication.",
    );
}

#[tokio::test]
async fn auth_unknown_service_token_404_before_any_403() {
    let e = env().await;
    // The id is whatever sits between the first two dots, UUID or not, and it is looked up
    // before any permission check.
    let uuid = "8a5b0c1d-2e3f-4a5b-9c6d-7e8f9a0b1c2d";
    for (token, id) in [
        ("st.abc.def".to_string(), "abc"),
        (format!("st.{uuid}.0123456789abcdef0123456789abcdef"), uuid),
        ("st.only-id".to_string(), "only-id"),
    ] {
        assert_err(
            &e.get_cfg(&token, &e.org).await,
            404,
            "NotFound",
            &format!("Service token with ID '{id}' not found"),
        );
    }
    let other_org = "0b1c2d3e-4f5a-4b6c-8d7e-9f0a1b2c3d4e";
    assert_err(
        &e.get_cfg(&format!("st.{uuid}.x"), other_org).await,
        404,
        "NotFound",
        &format!("Service token with ID '{uuid}' not found"),
    );
}

#[tokio::test]
async fn auth_malformed_token() {
    let e = env().await;
    assert_err(
        &e.get_cfg("not-a-jwt", &e.org).await,
        403,
        "TokenError",
        MALFORMED,
    );
}

#[tokio::test]
async fn auth_bad_signature() {
    let e = env().await;
    let other = env().await;
    let mine = e.token().await;
    let theirs = other.token().await;
    let forged = format!(
        "{}.{}",
        &mine[..mine.rfind('.').unwrap()],
        &theirs[theirs.rfind('.').unwrap() + 1..]
    );
    assert_err(
        &e.get_cfg(&forged, &e.org).await,
        403,
        "TokenError",
        "invalid signature",
    );
}

#[tokio::test]
async fn auth_expired_token_403_then_401_mode() {
    let e = env().await;
    let token = e.c.issue_static_token(&e.creds.identity_id, 1);
    tokio::time::sleep(Duration::from_millis(2100)).await;
    assert_err(&e.get_cfg(&token, &e.org).await, 403, "TokenError", EXPIRED);
    e.c.set_expired_token_status(401);
    assert_err(
        &e.get_cfg(&token, &e.org).await,
        401,
        "UnauthorizedError",
        EXPIRED,
    );
}

#[tokio::test]
async fn auth_revoked_token() {
    let e = env().await;
    let token = e.token().await;
    let (s, v) = body_of(
        e.http
            .post(e.url("/api/v1/auth/token/revoke"))
            .json(&json!({"accessToken": token}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(v, json!({"message": "Successfully revoked access token"}));
    // identity-access-token-service.ts `assertTokenIsNotRevoked` + identity-access-token-fns.ts
    // `revocationDenyReasonToMessage("token", "Failed to authorize")`.
    assert_err(
        &e.get_cfg(&token, &e.org).await,
        401,
        "UnauthorizedError",
        "Failed to authorize: token has been revoked",
    );
}

#[tokio::test]
async fn static_token_is_usable() {
    let e = env().await;
    // TTL 0 used to mean "no exp"; since the 2026 redesign every token gets one, capped at
    // MAX_MACHINE_IDENTITY_TOKEN_AGE (identity-access-token-fns.ts `computeIssuedTtl`).
    let token = e.c.issue_static_token(&e.creds.identity_id, 0);
    let p = jwt_payload(&token);
    assert_eq!(p["identityId"], json!(e.creds.identity_id));
    assert_eq!(
        p["exp"].as_u64().unwrap() - p["iat"].as_u64().unwrap(),
        7_776_000
    );
    let (s, v) = body_of(
        e.http
            .get(e.url("/api/v1/identities/details"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(s, 200, "{v}");
}

// ---------------------------------------------------------------- 8.2-8.4 tokens

#[tokio::test]
async fn login_success_shape_and_jwt_payload() {
    let e = env().await;
    let (s, v) = e
        .login_with(&e.creds.client_id, &e.creds.client_secret)
        .await;
    assert_eq!(s, 200);
    assert_eq!(v["expiresIn"], 2_592_000);
    assert_eq!(v["accessTokenMaxTTL"], 2_592_000);
    assert_eq!(v["tokenType"], "Bearer");
    let p = jwt_payload(v["accessToken"].as_str().unwrap());
    assert_eq!(p["identityId"], json!(e.creds.identity_id));
    assert_eq!(p["authTokenType"], "identityAccessToken");
    assert!(p["clientSecretId"].is_string());
    assert!(p["identityAccessTokenId"].is_string());
    assert_eq!(
        p["exp"].as_u64().unwrap() - p["iat"].as_u64().unwrap(),
        2_592_000
    );
}

#[tokio::test]
async fn login_invalid_credentials_and_validation() {
    let e = env().await;
    assert_err(
        &e.login_with(&e.creds.client_id, "wrong").await,
        401,
        "UnauthorizedError",
        "Invalid credentials",
    );
    assert_err(
        &e.login_with("unknown", &e.creds.client_secret).await,
        401,
        "UnauthorizedError",
        "Invalid credentials",
    );
    let r = e
        .http
        .post(e.url("/api/v1/auth/universal-auth/login"))
        .json(&json!({"clientId": "x"}))
        .send()
        .await
        .unwrap();
    let iss = issues(&body_of(r).await);
    assert_eq!(
        iss,
        vec![
            json!({"code":"invalid_type","expected":"string","received":"undefined","path":["clientSecret"],"message":"Required"})
        ]
    );
}

#[tokio::test]
async fn login_trims_credentials() {
    let e = env().await;
    let (s, _) = e
        .login_with(
            &format!("  {} ", e.creds.client_id),
            &format!("{}\n", e.creds.client_secret),
        )
        .await;
    assert_eq!(s, 200);
}

#[tokio::test]
async fn renew_issues_working_token() {
    let e = env().await;
    let token = e.token().await;
    let (s, v) = body_of(
        e.http
            .post(e.url("/api/v1/auth/token/renew"))
            .json(&json!({"accessToken": token}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["tokenType"], "Bearer");
    let renewed = v["accessToken"].as_str().unwrap();
    let (s, _) = body_of(
        e.http
            .get(e.url("/api/v1/identities/details"))
            .bearer_auth(renewed)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(s, 200);
}

#[tokio::test]
async fn renew_past_max_ttl_and_expired_and_revoked() {
    let e = env().await;
    let renew = |t: String| {
        let http = e.http.clone();
        let url = e.url("/api/v1/auth/token/renew");
        async move {
            body_of(
                http.post(url)
                    .json(&json!({"accessToken": t}))
                    .send()
                    .await
                    .unwrap(),
            )
            .await
        }
    };
    // Since the 2026 redesign a token never outlives its max TTL (computeIssuedTtl caps the
    // first issuance at the budget), so past max TTL the JWT itself has expired: 403 TokenError.
    e.c.set_token_ttls(&e.creds.identity_id, 30, 1);
    let token = e.token().await;
    let p = jwt_payload(&token);
    assert_eq!(p["exp"].as_u64().unwrap() - p["iat"].as_u64().unwrap(), 1);
    tokio::time::sleep(Duration::from_millis(2100)).await;
    assert_err(&renew(token).await, 403, "TokenError", EXPIRED);
    // Revoked: identity-access-token-fns.ts `revocationDenyReasonToMessage(.., "Cannot renew")`.
    e.c.set_token_ttls(&e.creds.identity_id, 100, 100);
    let token = e.token().await;
    let _ = e
        .http
        .post(e.url("/api/v1/auth/token/revoke"))
        .json(&json!({"accessToken": token}))
        .send()
        .await
        .unwrap();
    assert_err(
        &renew(token).await,
        401,
        "UnauthorizedError",
        "Cannot renew: token has been revoked",
    );
}

#[tokio::test]
async fn identity_details() {
    let e = env().await;
    let token = e.token().await;
    let (s, v) = body_of(
        e.http
            .get(e.url("/api/v1/identities/details"))
            .bearer_auth(token)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(
        v,
        json!({"identityDetails":{"organization":{"id": e.org, "name":"Acme","slug":"acme"}}})
    );
}

// ---------------------------------------------------------------- 8.5 GET

#[tokio::test]
async fn get_requires_organization_id() {
    let e = env().await;
    let token = e.token().await;
    let r = e
        .http
        .get(e.url("/api/v1/sso/oidc/config"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(
        issues(&body_of(r).await),
        vec![
            json!({"code":"invalid_type","expected":"string","received":"undefined","path":["organizationId"],"message":"Required"})
        ]
    );
}

#[tokio::test]
async fn get_404_before_permission_then_403_then_200() {
    let e = env().await;
    e.c.set_identity_permissions(&e.creds.identity_id, vec![]);
    let token = e.token().await;
    assert_err(
        &e.get_cfg(&token, &e.org).await,
        404,
        "NotFound",
        "Failed to find OIDC SSO data",
    );
    e.c.put_config_out_of_band(
        &e.org,
        json!({"clientId": "cid", "clientSecret": "csecret", "configurationType": "discoveryURL", "discoveryURL": "https://idp.example.com"}),
    );
    let got = e.get_cfg(&token, &e.org).await;
    assert_err(
        &got,
        403,
        "PermissionDenied",
        "You are not allowed to read on sso",
    );
    assert!(got.1["details"].is_array());
    e.c.set_identity_permissions(&e.creds.identity_id, vec!["read".into()]);
    let (s, v) = e.get_cfg(&token, &e.org).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["clientId"], "cid");
    assert_eq!(v["clientSecret"], "csecret");
    assert_eq!(v["jwtSignatureAlgorithm"], "RS256");
    assert_eq!(v["manageGroupMemberships"], false);
    assert_eq!(v["orgId"], json!(e.org));
    assert!(v.get("lastUsed").is_none());
}

#[tokio::test]
async fn get_org_mismatch_403() {
    let e = env().await;
    let other_org = e.c.seed_org(OrgSeed {
        name: "Other".into(),
        slug: "other".into(),
        ..Default::default()
    });
    let token = e.token().await;
    // No configuration there: the 404 comes before the organisation check.
    assert_err(
        &e.get_cfg(&token, &other_org).await,
        404,
        "NotFound",
        "Failed to find OIDC SSO data",
    );
    e.c.put_config_out_of_band(&other_org, json!({}));
    let got = e.get_cfg(&token, &other_org).await;
    assert_err(&got, 403, "ForbiddenError", &scoped_to(&e.org));
    assert!(got.1.get("details").is_none(), "{}", got.1);
    // An organisation Infisical does not know has no configuration either.
    assert_err(
        &e.get_cfg(&token, "3f2a1b0c-9d8e-4f7a-8b6c-5d4e3f2a1b0c")
            .await,
        404,
        "NotFound",
        "Failed to find OIDC SSO data",
    );
}

#[tokio::test]
async fn patch_org_mismatch() {
    let e = env().await;
    let other = e.c.seed_org(OrgSeed {
        slug: "other".into(),
        ..Default::default()
    });
    e.c.put_config_out_of_band(&other, json!({}));
    let token = e.token().await;
    assert_err(
        &e.patch_cfg(&token, json!({"organizationId": other, "clientId": "x"}))
            .await,
        403,
        "ForbiddenError",
        &scoped_to(&e.org),
    );
}

/// `getOrgPermission`'s refusal of a token of organisation `org` for another organisation.
fn scoped_to(org: &str) -> String {
    format!(
        "Your token is scoped to organization with ID {org}, but this resource belongs to a different organization."
    )
}

#[tokio::test]
async fn get_non_uuid_org_500() {
    let e = env().await;
    let token = e.token().await;
    assert_err(
        &e.get_cfg(&token, "not-a-uuid").await,
        500,
        "Find one",
        "Something went wrong",
    );
}

// ---------------------------------------------------------------- 8.6 POST validation

#[tokio::test]
async fn post_custom_refinement_messages_in_order() {
    let e = env().await;
    let token = e.token().await;
    let got = e
        .post_cfg(
            &token,
            json!({"organizationId": e.org, "configurationType": "custom", "clientId": "a", "clientSecret": "b", "isActive": false, "issuer": "   "}),
        )
        .await;
    let iss = issues(&got);
    let expected: Vec<Value> = [
        ("issuer", "Issuer is required"),
        (
            "authorizationEndpoint",
            "Authorization endpoint is required",
        ),
        ("jwksUri", "JWKS URI is required"),
        ("tokenEndpoint", "Token endpoint is required"),
        ("userinfoEndpoint", "Userinfo endpoint is required"),
    ]
    .iter()
    .map(|(p, m)| json!({"code":"custom","message":m,"path":[p]}))
    .collect();
    assert_eq!(iss, expected);
}

#[tokio::test]
async fn post_discovery_url_required() {
    let e = env().await;
    let token = e.token().await;
    let mut body = e.discovery_body();
    body.as_object_mut().unwrap().remove("discoveryURL");
    assert_eq!(
        issues(&e.post_cfg(&token, body).await),
        vec![
            json!({"code":"custom","message":"Discovery URL is required","path":["discoveryURL"]})
        ]
    );
}

#[tokio::test]
async fn post_invalid_type_required_and_no_refinement_on_failed_parse() {
    let e = env().await;
    let token = e.token().await;
    let got = e
        .post_cfg(
            &token,
            json!({"organizationId": e.org, "configurationType": "custom", "isActive": "yes"}),
        )
        .await;
    assert_eq!(
        issues(&got),
        vec![
            json!({"code":"invalid_type","expected":"string","received":"undefined","path":["clientId"],"message":"Required"}),
            json!({"code":"invalid_type","expected":"string","received":"undefined","path":["clientSecret"],"message":"Required"}),
            json!({"code":"invalid_type","expected":"boolean","received":"string","path":["isActive"],"message":"Expected boolean, received string"}),
        ]
    );
}

#[tokio::test]
async fn post_invalid_enum_values() {
    let e = env().await;
    let token = e.token().await;
    let mut body = e.discovery_body();
    body["configurationType"] = json!("foo");
    body["jwtSignatureAlgorithm"] = json!("none");
    assert_eq!(
        issues(&e.post_cfg(&token, body).await),
        vec![
            json!({"received":"foo","code":"invalid_enum_value","options":["custom","discoveryURL"],"path":["configurationType"],"message":"Invalid enum value. Expected 'custom' | 'discoveryURL', received 'foo'"}),
            json!({"received":"none","code":"invalid_enum_value","options":["RS256","HS256","RS512","EdDSA"],"path":["jwtSignatureAlgorithm"],"message":"Invalid enum value. Expected 'RS256' | 'HS256' | 'RS512' | 'EdDSA', received 'none'"}),
        ]
    );
}

#[tokio::test]
async fn post_trims_normalises_defaults_and_strips_unknown_keys() {
    let e = env().await;
    let token = e.token().await;
    let got = e
        .post_cfg(
            &token,
            json!({
                "organizationId": format!(" {} ", e.org),
                "configurationType": "discoveryURL",
                "discoveryURL": "  https://idp.example.com/.well-known/openid-configuration  ",
                "clientId": " client-1 ",
                "clientSecret": " secret-1 ",
                "isActive": false,
                "allowedEmailDomains": " a.com,b.com ,  c.com",
                "someUnknownKey": "x",
            }),
        )
        .await;
    assert_eq!(got.0, 200, "{}", got.1);
    let v = got.1;
    assert_eq!(
        v["discoveryURL"],
        "https://idp.example.com/.well-known/openid-configuration"
    );
    assert_eq!(v["allowedEmailDomains"], "a.com, b.com, c.com");
    assert_eq!(v["jwtSignatureAlgorithm"], "RS256");
    assert_eq!(v["manageGroupMemberships"], false);
    for k in [
        "issuer",
        "authorizationEndpoint",
        "jwksUri",
        "tokenEndpoint",
        "userinfoEndpoint",
    ] {
        assert_eq!(v[k], "", "{k}");
    }
    assert!(v.get("clientId").is_none() && v.get("clientSecret").is_none());
    assert!(v.get("someUnknownKey").is_none());
    assert!(uuid::Uuid::parse_str(v["id"].as_str().unwrap()).is_ok());
    let (_, g) = e.get_cfg(&token, &e.org).await;
    assert_eq!(g["clientId"], "client-1");
    assert_eq!(g["clientSecret"], "secret-1");
    assert!(g.get("someUnknownKey").is_none());
    let st = e.c.org_state(&e.org).unwrap();
    assert_eq!(st.posts, 1);
    assert_eq!(st.config.unwrap()["lastUsed"], Value::Null);
}

#[tokio::test]
async fn post_empty_domains_stay_empty() {
    let e = env().await;
    let token = e.token().await;
    let mut body = e.discovery_body();
    body["allowedEmailDomains"] = json!("");
    let (s, v) = e.post_cfg(&token, body).await;
    assert_eq!(s, 200);
    assert_eq!(v["allowedEmailDomains"], "");
}

// ---------------------------------------------------------------- 8.6 POST service checks

#[tokio::test]
async fn post_org_not_found_and_non_uuid() {
    let e = env().await;
    let token = e.token().await;
    let missing = "00000000-0000-4000-8000-000000000000";
    let mut body = e.discovery_body();
    body["organizationId"] = json!(missing);
    assert_err(
        &e.post_cfg(&token, body.clone()).await,
        404,
        "NotFound",
        &format!("Organization with ID '{missing}' not found"),
    );
    body["organizationId"] = json!("acme");
    assert_err(
        &e.post_cfg(&token, body).await,
        500,
        "Find one",
        "Something went wrong",
    );
}

#[tokio::test]
async fn post_plan_restriction_before_permission() {
    let e = env().await;
    e.c.set_org_flags(
        &e.org,
        OrgFlags {
            plan_oidc_sso: Some(false),
            ..Default::default()
        },
    );
    e.c.set_identity_permissions(&e.creds.identity_id, vec![]);
    let token = e.token().await;
    assert_err(
        &e.post_cfg(&token, e.discovery_body()).await,
        400,
        "BadRequest",
        "Failed to create OIDC SSO configuration due to plan restriction. Upgrade plan to update SSO configuration.",
    );
}

#[tokio::test]
async fn post_permission_denied() {
    let e = env().await;
    e.c.set_identity_permissions(&e.creds.identity_id, vec!["read".into(), "edit".into()]);
    let token = e.token().await;
    assert_err(
        &e.post_cfg(&token, e.discovery_body()).await,
        403,
        "PermissionDenied",
        "You are not allowed to create on sso",
    );
}

#[tokio::test]
async fn post_org_mismatch() {
    let e = env().await;
    let other = e.c.seed_org(OrgSeed {
        slug: "other".into(),
        ..Default::default()
    });
    let token = e.token().await;
    let mut body = e.discovery_body();
    body["organizationId"] = json!(other);
    assert_err(
        &e.post_cfg(&token, body).await,
        403,
        "ForbiddenError",
        &scoped_to(&e.org),
    );
}

#[tokio::test]
async fn post_google_enforced() {
    let e = env().await;
    e.c.set_org_flags(
        &e.org,
        OrgFlags {
            google_sso_enforced: Some(true),
            ..Default::default()
        },
    );
    let token = e.token().await;
    assert_err(
        &e.post_cfg(&token, e.discovery_body()).await,
        400,
        "BadRequest",
        "You cannot enable OIDC SSO while Google OAuth is enforced. Disable Google OAuth enforcement to enable OIDC SSO.",
    );
    let mut body = e.discovery_body();
    body["isActive"] = json!(false);
    assert_eq!(e.post_cfg(&token, body).await.0, 200);
}

#[tokio::test]
async fn post_url_guard() {
    let e = env().await;
    let token = e.token().await;
    let try_url = |field: &'static str, url: &'static str| {
        let mut body = e.discovery_body();
        body[field] = json!(url);
        let token = token.clone();
        let e = &e;
        async move { e.post_cfg(&token, body).await }
    };
    assert_err(
        &try_url("discoveryURL", "https://user:pass@idp.example.com/").await,
        400,
        "BadRequest",
        "URLs with user credentials (e.g., user:pass@) are not allowed",
    );
    assert_err(
        &try_url("jwksUri", "http://localhost:8080/jwks").await,
        400,
        "BadRequest",
        "Local IPs not allowed as URL",
    );
    assert_err(
        &try_url("tokenEndpoint", "http://10.1.2.3/token").await,
        400,
        "BadRequest",
        "Local IPs not allowed as URL",
    );
    // validate-url.ts: `isIP(new URL(url).hostname)` is 0 for "[::1]" (the brackets stay), so
    // Infisical looks the bracketed name up, the lookup fails, and the error handler answers 500.
    assert_err(
        &try_url("userinfoEndpoint", "http://[::1]/userinfo").await,
        500,
        "InternalServerError",
        "Something went wrong",
    );
    assert_err(
        &try_url("discoveryURL", "not a url").await,
        500,
        "InternalServerError",
        "Something went wrong",
    );
    // issuer/authorizationEndpoint are not checked; nothing stored so far.
    assert!(e.c.org_state(&e.org).unwrap().config.is_none());
    // Allow-listed host (seeded allowedInternalHosts: 127.0.0.1).
    let (s, v) = try_url(
        "discoveryURL",
        "http://127.0.0.1:9999/.well-known/openid-configuration",
    )
    .await;
    assert_eq!(s, 200, "{v}");
}

#[tokio::test]
async fn post_duplicate_is_500_create() {
    let e = env().await;
    let token = e.token().await;
    assert_eq!(e.post_cfg(&token, e.discovery_body()).await.0, 200);
    assert_err(
        &e.post_cfg(&token, e.discovery_body()).await,
        500,
        "Create",
        "Something went wrong",
    );
    assert_eq!(e.c.org_state(&e.org).unwrap().posts, 2);
}

#[tokio::test]
async fn post_does_not_touch_org_flags_or_check_smtp() {
    let e = env().await;
    e.c.set_org_flags(
        &e.org,
        OrgFlags {
            auth_enforced: Some(true),
            scim_enabled: Some(true),
            smtp_ok: Some(false),
            ..Default::default()
        },
    );
    let token = e.token().await;
    assert_eq!(e.post_cfg(&token, e.discovery_body()).await.0, 200);
    let st = e.c.org_state(&e.org).unwrap();
    assert!(st.auth_enforced && st.scim_enabled);
}

// ---------------------------------------------------------------- 8.7 PATCH

#[tokio::test]
async fn patch_partial_side_effects_and_shape() {
    let e = env().await;
    let token = e.token().await;
    assert_eq!(e.post_cfg(&token, e.discovery_body()).await.0, 200);
    e.c.put_config_out_of_band(&e.org, json!({"lastUsed": "2026-01-01T00:00:00.000Z"}));
    e.c.set_org_flags(
        &e.org,
        OrgFlags {
            auth_enforced: Some(true),
            scim_enabled: Some(true),
            ..Default::default()
        },
    );
    let (s, v) = e
        .patch_cfg(
            &token,
            json!({"organizationId": e.org, "clientSecret": " rotated ", "allowedEmailDomains": "x.com,y.com"}),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    for k in ["jwtSignatureAlgorithm", "clientId", "clientSecret"] {
        assert!(!keys.contains(&k), "{k} in {keys:?}");
    }
    assert_eq!(v["allowedEmailDomains"], "x.com, y.com");
    assert_eq!(v["isActive"], true);
    assert_eq!(v["manageGroupMemberships"], false);
    let st = e.c.org_state(&e.org).unwrap();
    assert!(!st.auth_enforced && !st.scim_enabled);
    assert_eq!(st.patches, 1);
    let cfg = st.config.unwrap();
    assert_eq!(cfg["lastUsed"], Value::Null);
    assert_eq!(cfg["clientSecret"], "rotated");
    assert_eq!(cfg["clientId"], "client-1");
    assert_eq!(
        cfg["discoveryURL"],
        "https://idp.example.com/.well-known/openid-configuration"
    );
}

#[tokio::test]
async fn patch_null_is_422_and_no_refinement() {
    let e = env().await;
    let token = e.token().await;
    let got = e
        .patch_cfg(&token, json!({"organizationId": e.org, "issuer": null}))
        .await;
    assert_eq!(
        issues(&got),
        vec![
            json!({"code":"invalid_type","expected":"string","received":"null","path":["issuer"],"message":"Expected string, received null"})
        ]
    );
    let got = e.patch_cfg(&token, json!({"issuer": "x"})).await;
    assert_eq!(
        issues(&got),
        vec![
            json!({"code":"invalid_type","expected":"string","received":"undefined","path":["organizationId"],"message":"Required"})
        ]
    );
    // No superRefine: switching to custom without endpoints is accepted.
    e.c.put_config_out_of_band(&e.org, json!({"configurationType": "discoveryURL"}));
    let (s, v) = e
        .patch_cfg(
            &token,
            json!({"organizationId": e.org, "configurationType": "custom"}),
        )
        .await;
    assert_eq!(s, 200, "{v}");
}

#[tokio::test]
async fn patch_smtp_check_only_when_activating() {
    let e = env().await;
    let token = e.token().await;
    e.c.put_config_out_of_band(&e.org, json!({"isActive": false}));
    e.c.set_org_flags(
        &e.org,
        OrgFlags {
            smtp_ok: Some(false),
            ..Default::default()
        },
    );
    assert_err(
        &e.patch_cfg(&token, json!({"organizationId": e.org, "isActive": true}))
            .await,
        400,
        "BadRequest",
        "Cannot enable OIDC when there are issues with the instance's SMTP configuration. Bypass this by turning on trust for OIDC emails in the server admin console.",
    );
    assert_eq!(
        e.patch_cfg(&token, json!({"organizationId": e.org, "isActive": false}))
            .await
            .0,
        200
    );
}

#[tokio::test]
async fn patch_plan_permission_google_and_url_guard() {
    let e = env().await;
    let token = e.token().await;
    e.c.put_config_out_of_band(&e.org, json!({}));
    e.c.set_org_flags(
        &e.org,
        OrgFlags {
            plan_oidc_sso: Some(false),
            ..Default::default()
        },
    );
    let body = json!({"organizationId": e.org, "isActive": true});
    assert_err(
        &e.patch_cfg(&token, body.clone()).await,
        400,
        "BadRequest",
        "Failed to update OIDC SSO configuration due to plan restriction. Upgrade plan to update SSO configuration.",
    );
    e.c.set_org_flags(
        &e.org,
        OrgFlags {
            plan_oidc_sso: Some(true),
            google_sso_enforced: Some(true),
            ..Default::default()
        },
    );
    assert_err(
        &e.patch_cfg(&token, body.clone()).await,
        400,
        "BadRequest",
        "You cannot enable OIDC SSO while Google OAuth is enforced. Disable Google OAuth enforcement to enable OIDC SSO.",
    );
    assert_err(
        &e.patch_cfg(
            &token,
            json!({"organizationId": e.org, "jwksUri": "http://192.168.1.1/jwks"}),
        )
        .await,
        400,
        "BadRequest",
        "Local IPs not allowed as URL",
    );
    e.c.set_identity_permissions(&e.creds.identity_id, vec!["read".into(), "create".into()]);
    assert_err(
        &e.patch_cfg(&token, body).await,
        403,
        "PermissionDenied",
        "You are not allowed to edit on sso",
    );
    assert_eq!(e.c.org_state(&e.org).unwrap().patches, 4);
}

#[tokio::test]
async fn patch_without_config_returns_empty_200_and_resets_flags() {
    let e = env().await;
    let token = e.token().await;
    e.c.set_org_flags(
        &e.org,
        OrgFlags {
            auth_enforced: Some(true),
            scim_enabled: Some(true),
            ..Default::default()
        },
    );
    let (s, v) = e
        .patch_cfg(&token, json!({"organizationId": e.org, "isActive": false}))
        .await;
    assert_eq!(s, 200);
    assert_eq!(v, Value::Null);
    let st = e.c.org_state(&e.org).unwrap();
    assert!(!st.auth_enforced && !st.scim_enabled && st.config.is_none());
}

#[tokio::test]
async fn identity_seed_by_org_slug() {
    let e = env().await;
    let creds = e.c.seed_identity(IdentitySeed {
        org_id: "acme".into(),
        ..Default::default()
    });
    let token = e.login_creds(&creds).await;
    assert_eq!(e.post_cfg(&token, e.discovery_body()).await.0, 200);
}
