//! `GET/POST/PATCH /api/v1/ldap/config`: Infisical's LDAP configuration API.
//!
//! Router: `backend/src/ee/routes/v1/ldap-router.ts` (`registerLdapRouter`, mounted at `/ldap` by
//! `ee/routes/v1/index.ts`); the mTLS fields `clientCertificate`/`clientKeyCertificate` and the
//! GET's `clientCertificate`/`hasClientKeyCertificate` from Infisical's 2026 OpenAPI (PR #6540).
//! Service: `backend/src/ee/services/ldap-config/ldap-config-service.ts` (the version with the
//! URL guard and the permission on the requested organisation: `createLdapCfg`,
//! `updateLdapCfg`, `getLdapCfgWithPermissionCheck`). The group-map and test-connection routes
//! take user sessions only (`verifyAuth([AuthMode.JWT])`), so they are not emulated.
#![allow(clippy::result_large_err)]

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Uri};
use axum::response::Response;
use serde_json::{Map, Value, json};

use crate::auth::{authenticate, permit};
use crate::clock::iso8601_now;
use crate::ldap_bind::{BindTarget, bind, tls_inputs};
use crate::ldap_defaults::{GROUP_SEARCH_FILTER, SEARCH_FILTER, UNIQUE_USER_ATTRIBUTE};
use crate::org_lookup::find_org_by_id;
use crate::rate_limit::{Class, rate_limit};
use crate::reply::{
    Meta, err, finish, json_resp, organization_id_query, parse_body, validation_failure,
};
use crate::sso_types::LdapConfigState;
use crate::state::{Org, Shared};
use crate::validate::{Default, Field, Kind, parse_object};

const MSG_PLAN_CREATE: &str = "Failed to create LDAP configuration due to plan restriction. Upgrade plan to create LDAP configuration.";
const MSG_PLAN_UPDATE: &str = "Failed to update LDAP configuration due to plan restriction. Upgrade plan to update LDAP configuration.";
/// The same words for create and update.
const MSG_GOOGLE: &str = "You cannot enable LDAP SSO while Google OAuth is enforced. Disable Google OAuth enforcement to enable LDAP SSO.";
/// Every failed connection test, whatever failed (`createLdapCfg`, `updateLdapCfg`).
pub(crate) const MSG_CONNECTION: &str = "Failed to establish connection to LDAP directory. Please verify that your credentials are correct.";

/// `getLdapCfg`: no config for the organisation.
fn no_config(org_id: &str) -> Response {
    err(
        404,
        "NotFound",
        format!("Failed to find organization LDAP data in organization with ID '{org_id}'"),
    )
}

const fn string(name: &'static str, trim: bool, required: bool, default: Option<Default>) -> Field {
    Field {
        name,
        kind: Kind::Str {
            trim,
            min: None,
            max: None,
        },
        required,
        default,
    }
}

const fn trimmed(name: &'static str) -> Field {
    string(name, true, true, None)
}

const fn defaulted(name: &'static str, default: &'static str) -> Field {
    string(name, true, false, Some(Default::Str(default)))
}

/// The POST body (`ldap-router.ts`): every string `z.string().trim()` with no length or URL check
/// (`bindPass` is trimmed too), `.default()` applied only to absent keys (an explicit `""`
/// stays). The mTLS fields come from the OpenAPI, which shows no trim (not upstream-confirmed).
const CREATE_FIELDS: &[Field] = &[
    trimmed("organizationId"),
    Field {
        name: "isActive",
        kind: Kind::Bool,
        required: true,
        default: None,
    },
    trimmed("url"),
    trimmed("bindDN"),
    trimmed("bindPass"),
    defaulted("uniqueUserAttribute", UNIQUE_USER_ATTRIBUTE),
    trimmed("searchBase"),
    defaulted("searchFilter", SEARCH_FILTER),
    trimmed("groupSearchBase"),
    defaulted("groupSearchFilter", GROUP_SEARCH_FILTER),
    defaulted("caCert", ""),
    string("clientCertificate", false, false, Some(Default::Str(""))),
    string("clientKeyCertificate", false, false, Some(Default::Str(""))),
];

/// The PATCH body: the create object without `organizationId`, `.partial()` (no defaults),
/// merged with a required trimmed `organizationId`.
fn update_fields() -> Vec<Field> {
    CREATE_FIELDS[1..]
        .iter()
        .map(|f| Field {
            required: false,
            default: None,
            ..*f
        })
        .chain([trimmed("organizationId")])
        .collect()
}

/// A create or update body as zod left it (absent fields `None`).
struct LdapWrite {
    is_active: Option<bool>,
    url: Option<String>,
    bind_dn: Option<String>,
    bind_pass: Option<String>,
    unique_user_attribute: Option<String>,
    search_base: Option<String>,
    search_filter: Option<String>,
    group_search_base: Option<String>,
    group_search_filter: Option<String>,
    ca_cert: Option<String>,
    client_certificate: Option<String>,
    client_key_certificate: Option<String>,
}

impl LdapWrite {
    fn read(v: &Map<String, Value>) -> Self {
        let s = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_string);
        LdapWrite {
            is_active: v.get("isActive").and_then(Value::as_bool),
            url: s("url"),
            bind_dn: s("bindDN"),
            bind_pass: s("bindPass"),
            unique_user_attribute: s("uniqueUserAttribute"),
            search_base: s("searchBase"),
            search_filter: s("searchFilter"),
            group_search_base: s("groupSearchBase"),
            group_search_filter: s("groupSearchFilter"),
            ca_cert: s("caCert"),
            client_certificate: s("clientCertificate"),
            client_key_certificate: s("clientKeyCertificate"),
        }
    }
}

#[derive(Clone, Copy)]
enum Op {
    Create,
    Update,
}

/// The rules of `createLdapCfg` / `updateLdapCfg` after the permission check and the org lookup:
/// plan (`plan.ldap`) → Google enforcement (`isActive` true).
fn refusal(op: Op, org: &Org, w: &LdapWrite) -> Option<&'static str> {
    if !org.plan_ldap {
        return Some(match op {
            Op::Create => MSG_PLAN_CREATE,
            Op::Update => MSG_PLAN_UPDATE,
        });
    }
    if org.google_sso_enforced && w.is_active == Some(true) {
        return Some(MSG_GOOGLE);
    }
    None
}

/// The update query applied to a stored config (`""` overwrites; absent fields stay).
fn apply(cfg: &mut LdapConfigState, w: LdapWrite) {
    let set = |field: &mut String, v: Option<String>| {
        if let Some(v) = v {
            *field = v;
        }
    };
    if let Some(v) = w.is_active {
        cfg.is_active = v;
    }
    set(&mut cfg.url, w.url);
    set(&mut cfg.bind_dn, w.bind_dn);
    set(&mut cfg.bind_pass, w.bind_pass);
    set(&mut cfg.unique_user_attribute, w.unique_user_attribute);
    set(&mut cfg.search_base, w.search_base);
    set(&mut cfg.search_filter, w.search_filter);
    set(&mut cfg.group_search_base, w.group_search_base);
    set(&mut cfg.group_search_filter, w.group_search_filter);
    set(&mut cfg.ca_cert, w.ca_cert);
    set(&mut cfg.client_certificate, w.client_certificate);
    set(&mut cfg.client_key_certificate, w.client_key_certificate);
    cfg.updated_at = iso8601_now();
}

/// `SanitizedLdapConfigSchema` (`server/routes/sanitizedSchema/directory-config.ts`): the
/// POST/PATCH answer, without bind DN, password, certificates or key.
fn sanitized(cfg: &LdapConfigState) -> Value {
    json!({
        "id": cfg.id,
        "orgId": cfg.org_id,
        "isActive": cfg.is_active,
        "url": cfg.url,
        "searchBase": cfg.search_base,
        "createdAt": cfg.created_at,
        "updatedAt": cfg.updated_at,
        "uniqueUserAttribute": cfg.unique_user_attribute,
        "searchFilter": cfg.search_filter,
        "groupSearchBase": cfg.group_search_base,
        "groupSearchFilter": cfg.group_search_filter,
    })
}

/// The GET answer (`getLdapCfg` through the router's response schema): bind DN and password in
/// plain text, no `orgId` (`organization` carries it), no timestamps; the client key only as
/// `hasClientKeyCertificate`.
fn get_view(cfg: &LdapConfigState) -> Value {
    json!({
        "id": cfg.id,
        "organization": cfg.org_id,
        "isActive": cfg.is_active,
        "url": cfg.url,
        "bindDN": cfg.bind_dn,
        "bindPass": cfg.bind_pass,
        "uniqueUserAttribute": cfg.unique_user_attribute,
        "searchBase": cfg.search_base,
        "searchFilter": cfg.search_filter,
        "groupSearchBase": cfg.group_search_base,
        "groupSearchFilter": cfg.group_search_filter,
        "caCert": cfg.ca_cert,
        "clientCertificate": cfg.client_certificate,
        "hasClientKeyCertificate": !cfg.client_key_certificate.is_empty(),
    })
}

fn bad_request(message: &str) -> Response {
    err(400, "BadRequest", message)
}

fn bind_target(cfg: &LdapConfigState) -> BindTarget {
    BindTarget {
        url: cfg.url.clone(),
        bind_dn: cfg.bind_dn.clone(),
        bind_pass: cfg.bind_pass.clone(),
        ca_cert: cfg.ca_cert.clone(),
        client_certificate: cfg.client_certificate.clone(),
        client_key_certificate: cfg.client_key_certificate.clone(),
    }
}

/// `testLDAPConfig`, counted for the organisation: a PEM that does not parse is its own 400,
/// any other failure the one [`MSG_CONNECTION`].
async fn test_connection(sh: &Shared, org_id: &str, cfg: &LdapConfigState) -> Result<(), Response> {
    let target = bind_target(cfg);
    let tls = tls_inputs(&target).map_err(bad_request)?;
    if let Some(org) = sh.lock().orgs.get_mut(org_id) {
        org.ldap_binds += 1;
    }
    if bind(&target, tls).await {
        Ok(())
    } else {
        Err(bad_request(MSG_CONNECTION))
    }
}

/// `GET /api/v1/ldap/config?organizationId=` (`getLdapCfgWithPermissionCheck`): `Read` on
/// `ldap` first, then the config (404), the reverse of SAML and OIDC.
pub(crate) async fn get(State(sh): State<Arc<Shared>>, uri: Uri, headers: HeaderMap) -> Response {
    let mut meta = Meta::default();
    let r = (|| {
        let who = authenticate(&sh, &headers, &mut meta)?;
        rate_limit(&sh, Class::Read, "GET /api/v1/ldap/config")?;
        let org_id = organization_id_query(&uri)?;
        meta.org_id = Some(org_id.clone());
        let mut inner = sh.lock();
        if let Some(org) = inner.orgs.get_mut(&org_id) {
            org.ldap_calls.gets += 1;
        }
        permit(&who, &org_id, "read", "ldap")?;
        let cfg = inner.orgs.get(&org_id).and_then(|o| o.ldap.as_ref());
        let cfg = cfg.ok_or_else(|| no_config(&org_id))?;
        Ok(json_resp(200, get_view(cfg)))
    })();
    finish(r, meta)
}

/// `POST /api/v1/ldap/config` (`createLdapCfg`): `Create` on `ldap` → plan → org 404 → Google
/// enforcement → URL guard on `url`, always (`""` is `new URL("")`'s TypeError, a 500) → the
/// connection test, even for an inactive config → insert. A second config for the organisation
/// hits the unique index on `orgId` (`db/migrations/20240222182823_ldap-config.ts`) after the
/// test: 500 `Create`. No org flag is touched.
pub(crate) async fn post(
    State(sh): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut meta = Meta::default();
    let r = async {
        let who = authenticate(&sh, &headers, &mut meta)?;
        let body = parse_body(&body)?;
        rate_limit(&sh, Class::Write, "POST /api/v1/ldap/config")?;
        let v = parse_object(body.as_ref(), CREATE_FIELDS).map_err(validation_failure)?;
        let org_id = v["organizationId"].as_str().unwrap_or("").to_string();
        meta.org_id = Some(org_id.clone());
        let w = LdapWrite::read(&v);
        let guard = {
            let mut inner = sh.lock();
            if let Some(org) = inner.orgs.get_mut(&org_id) {
                org.ldap_calls.posts += 1;
            }
            permit(&who, &org_id, "create", "ldap")?;
            let org = find_org_by_id(&mut inner, &org_id)?;
            if let Some(message) = refusal(Op::Create, org, &w) {
                return Err(bad_request(message));
            }
            inner.guard()
        };
        let url = w.url.clone().unwrap_or_default();
        guard.check(&url).await?;
        let now = iso8601_now();
        let mut cfg = LdapConfigState {
            id: uuid::Uuid::new_v4().to_string(),
            org_id: org_id.clone(),
            is_active: false,
            url: String::new(),
            bind_dn: String::new(),
            bind_pass: String::new(),
            unique_user_attribute: String::new(),
            search_base: String::new(),
            search_filter: String::new(),
            group_search_base: String::new(),
            group_search_filter: String::new(),
            ca_cert: String::new(),
            client_certificate: String::new(),
            client_key_certificate: String::new(),
            created_at: now.clone(),
            updated_at: now,
        };
        apply(&mut cfg, w);
        cfg.updated_at = cfg.created_at.clone();
        test_connection(&sh, &org_id, &cfg).await?;
        let mut inner = sh.lock();
        let org = find_org_by_id(&mut inner, &org_id)?;
        if org.ldap.is_some() {
            return Err(err(500, "Create", "Something went wrong"));
        }
        let answer = sanitized(&cfg);
        org.ldap = Some(cfg);
        Ok(json_resp(200, answer))
    }
    .await;
    finish(r, meta)
}

/// `PATCH /api/v1/ldap/config` (`updateLdapCfg`): `Edit` on `ldap` → plan → org 404 → Google
/// enforcement → URL guard when the body has a non-empty `url` → in one transaction: update,
/// read back (no config: 404, unlike SAML's empty 200), and unless the merged config has no url,
/// bind DN and password (a "soft deletion"), the connection test; a failure rolls everything
/// back. No `authEnforced`/`scimEnabled` reset.
pub(crate) async fn patch(
    State(sh): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut meta = Meta::default();
    let r = async {
        let who = authenticate(&sh, &headers, &mut meta)?;
        let body = parse_body(&body)?;
        rate_limit(&sh, Class::Write, "PATCH /api/v1/ldap/config")?;
        let v = parse_object(body.as_ref(), &update_fields()).map_err(validation_failure)?;
        let org_id = v["organizationId"].as_str().unwrap_or("").to_string();
        meta.org_id = Some(org_id.clone());
        let w = LdapWrite::read(&v);
        let guard = {
            let mut inner = sh.lock();
            if let Some(org) = inner.orgs.get_mut(&org_id) {
                org.ldap_calls.patches += 1;
            }
            permit(&who, &org_id, "edit", "ldap")?;
            let org = find_org_by_id(&mut inner, &org_id)?;
            if let Some(message) = refusal(Op::Update, org, &w) {
                return Err(bad_request(message));
            }
            inner.guard()
        };
        if let Some(url) = w.url.as_deref().filter(|u| !u.is_empty()) {
            guard.check(url).await?;
        }
        let mut merged = {
            let mut inner = sh.lock();
            let org = find_org_by_id(&mut inner, &org_id)?;
            org.ldap.clone().ok_or_else(|| no_config(&org_id))?
        };
        apply(&mut merged, w);
        let soft_deletion =
            merged.url.is_empty() && merged.bind_dn.is_empty() && merged.bind_pass.is_empty();
        if !soft_deletion {
            test_connection(&sh, &org_id, &merged).await?;
        }
        let mut inner = sh.lock();
        let org = find_org_by_id(&mut inner, &org_id)?;
        if org.ldap.is_none() {
            return Err(no_config(&org_id));
        }
        let answer = sanitized(&merged);
        org.ldap = Some(merged);
        Ok(json_resp(200, answer))
    }
    .await;
    finish(r, meta)
}
