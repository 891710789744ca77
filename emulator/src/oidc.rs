//! `GET/POST/PATCH /api/v1/sso/oidc/config` (`ee/routes/v1/oidc-router.ts`, service
//! `ee/services/oidc/oidc-config-service.ts`; contract `docs/infisical-contract.md`).
#![allow(clippy::result_large_err)]

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use crate::auth::{authenticate, permit};
use crate::rate_limit::{Class, rate_limit};
use crate::reply::{
    Meta, err, finish, json_resp, parse_body, pick, query_values, validation_failure,
};
use crate::state::{GET_KEYS, Inner, Shared};
use crate::validate::{self, CREATE_FIELDS};

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

/// `getOidc` (`ee/services/oidc/oidc-config-service.ts`, newest: the version that checks verified
/// email domains at login): no configuration for the organisation, before any permission check.
const NO_OIDC_CONFIG: &str = "Failed to find OIDC SSO data";

pub(crate) async fn get(State(sh): State<Arc<Shared>>, uri: Uri, headers: HeaderMap) -> Response {
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
        permit(&who, &org_id, "read", "sso")?;
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
pub(crate) async fn post(
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
            permit(&who, &org_id, "create", "sso")?;
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
pub(crate) async fn patch(
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
            permit(&who, &org_id, "edit", "sso")?;
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
