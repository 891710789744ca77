//! `GET/POST/PATCH /api/v1/sso/config`: Infisical's SAML configuration API.
//!
//! Router: `backend/src/ee/routes/v1/saml-router.ts` (`registerSamlRouter`, the `/config` routes;
//! mounted without a prefix inside `/sso` by `ee/routes/v1/index.ts`). Service:
//! `backend/src/ee/services/saml-config/saml-config-service.ts` (`createSamlCfg`,
//! `updateSamlCfg`, `getSaml`). Unlike OIDC, create and update check the permission first, then
//! the plan, then look the organisation up.
#![allow(clippy::result_large_err)]

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use crate::auth::{authenticate, permit};
use crate::clock::iso8601_now;
use crate::org_lookup::{find_org_by_id, uuid_cast_error};
use crate::rate_limit::{Class, rate_limit};
use crate::reply::{
    Meta, err, finish, json_resp, organization_id_query, parse_body, validation_failure,
};
use crate::sso_types::SamlConfigState;
use crate::state::{Org, Shared};
use crate::validate::{Field, Kind, parse_object};

/// `SamlProviders` (`ee/services/saml-config/saml-config-types.ts`), in declaration order (zod
/// lists them so in `invalid_enum_value`).
pub(crate) const SAML_PROVIDERS: &[&str] = &[
    "okta-saml",
    "azure-saml",
    "jumpcloud-saml",
    "google-saml",
    "keycloak-saml",
    "auth0-saml",
];

/// `GROUP_SYNC_SUPPORTED_PROVIDERS` (`saml-config-service.ts`).
const GROUP_SYNC_SUPPORTED_PROVIDERS: &[&str] = &["google-saml"];

const MSG_PLAN_CREATE: &str = "Failed to create SAML SSO configuration due to plan restriction. Upgrade plan to create SSO configuration.";
const MSG_PLAN_UPDATE: &str = "Failed to update SAML SSO configuration due to plan restriction. Upgrade plan to update SSO configuration.";
/// Create and update word the Google-enforcement refusal differently ("You cannot" / "Cannot").
const MSG_GOOGLE_CREATE: &str = "You cannot enable SAML SSO while Google OAuth is enforced. Disable Google OAuth enforcement to enable SAML SSO.";
const MSG_GOOGLE_UPDATE: &str = "Cannot enable SAML SSO while Google OAuth is enforced. Disable Google OAuth enforcement to enable SAML SSO.";
const MSG_GROUP_SYNC_PROVIDER: &str = "Group sync is not supported for this SAML provider.";
const MSG_GROUP_SYNC_PLAN: &str =
    "Failed to enable SAML group sync due to plan restriction. Upgrade plan to enable group sync.";

const fn trimmed(name: &'static str, required: bool) -> Field {
    Field {
        name,
        kind: Kind::Str {
            trim: true,
            min: None,
            max: None,
        },
        required,
        default: None,
    }
}

/// The POST body (`saml-router.ts`): a plain `z.object` (unknown keys stripped), every string
/// `z.string().trim()` with no length or URL check, `cert` not parsed.
const CREATE_FIELDS: &[Field] = &[
    trimmed("organizationId", true),
    Field {
        name: "authProvider",
        kind: Kind::Enum(SAML_PROVIDERS),
        required: true,
        default: None,
    },
    Field {
        name: "isActive",
        kind: Kind::Bool,
        required: true,
        default: None,
    },
    trimmed("entryPoint", true),
    trimmed("issuer", true),
    trimmed("cert", true),
    Field {
        name: "enableGroupSync",
        kind: Kind::Bool,
        required: false,
        default: None,
    },
];

/// The PATCH body: the create object without `organizationId`, `.partial()`, merged with a
/// required trimmed `organizationId` (so it comes last).
fn update_fields() -> Vec<Field> {
    CREATE_FIELDS[1..]
        .iter()
        .map(|f| Field {
            required: false,
            ..*f
        })
        .chain([trimmed("organizationId", true)])
        .collect()
}

/// A create or update body as zod left it (absent fields `None`).
struct SamlWrite {
    auth_provider: Option<String>,
    is_active: Option<bool>,
    entry_point: Option<String>,
    issuer: Option<String>,
    cert: Option<String>,
    enable_group_sync: Option<bool>,
}

impl SamlWrite {
    fn read(v: &Map<String, Value>) -> Self {
        let string = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_string);
        let boolean = |k: &str| v.get(k).and_then(Value::as_bool);
        SamlWrite {
            auth_provider: string("authProvider"),
            is_active: boolean("isActive"),
            entry_point: string("entryPoint"),
            issuer: string("issuer"),
            cert: string("cert"),
            enable_group_sync: boolean("enableGroupSync"),
        }
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Op {
    Create,
    Update,
}

/// What the service's rules read of the organisation and its licence.
struct OrgFacts {
    plan_saml_sso: bool,
    plan_groups: bool,
    google_sso_enforced: bool,
}

impl OrgFacts {
    fn of(org: &Org) -> Self {
        OrgFacts {
            plan_saml_sso: org.plan_saml_sso,
            plan_groups: org.plan_groups,
            google_sso_enforced: org.google_sso_enforced,
        }
    }
}

/// The rules of `createSamlCfg` / `updateSamlCfg` after the permission check and the org lookup,
/// in their order: plan → Google enforcement (`isActive` true) → group-sync provider (update:
/// only when `authProvider` is in the body) → group-sync plan (`plan.groups`).
fn refusal(op: Op, org: &OrgFacts, w: &SamlWrite) -> Option<&'static str> {
    if !org.plan_saml_sso {
        return Some(match op {
            Op::Create => MSG_PLAN_CREATE,
            Op::Update => MSG_PLAN_UPDATE,
        });
    }
    if org.google_sso_enforced && w.is_active == Some(true) {
        return Some(match op {
            Op::Create => MSG_GOOGLE_CREATE,
            Op::Update => MSG_GOOGLE_UPDATE,
        });
    }
    let group_sync = w.enable_group_sync == Some(true);
    if group_sync
        && w.auth_provider
            .as_deref()
            .is_some_and(|p| !GROUP_SYNC_SUPPORTED_PROVIDERS.contains(&p))
    {
        return Some(MSG_GROUP_SYNC_PROVIDER);
    }
    if group_sync && !org.plan_groups {
        return Some(MSG_GROUP_SYNC_PLAN);
    }
    None
}

/// `SanitizedSamlConfigSchema` (`server/routes/sanitizedSchema/directory-config.ts`): the
/// POST/PATCH answer, `SamlConfigsSchema.pick({id, orgId, isActive, lastUsed, createdAt,
/// updatedAt, authProvider})`. No `enableGroupSync`, no entry point, issuer or certificate.
fn sanitized(cfg: &SamlConfigState) -> Value {
    json!({
        "id": cfg.id,
        "authProvider": cfg.auth_provider,
        "isActive": cfg.is_active,
        "createdAt": cfg.created_at,
        "updatedAt": cfg.updated_at,
        "orgId": cfg.org_id,
        "lastUsed": cfg.last_used,
    })
}

/// The GET answer (`getSaml` type `org`, through the router's response schema): entry point,
/// issuer and certificate decrypted, in plain text; `organization` repeats `orgId`.
fn get_view(cfg: &SamlConfigState) -> Value {
    json!({
        "id": cfg.id,
        "organization": cfg.org_id,
        "orgId": cfg.org_id,
        "authProvider": cfg.auth_provider,
        "isActive": cfg.is_active,
        "entryPoint": cfg.entry_point,
        "issuer": cfg.issuer,
        "cert": cfg.cert,
        "lastUsed": cfg.last_used,
        "enableGroupSync": cfg.enable_group_sync,
    })
}

fn bad_request(message: &str) -> Response {
    err(400, "BadRequest", message)
}

/// `GET /api/v1/sso/config?organizationId=`: `samlConfigDAL.findOne({orgId})` → 404 before any
/// permission check → `Read` on `sso` for the config's organisation → 200.
pub(crate) async fn get(State(sh): State<Arc<Shared>>, uri: Uri, headers: HeaderMap) -> Response {
    let mut meta = Meta::default();
    let r = (|| {
        let who = authenticate(&sh, &headers, &mut meta)?;
        rate_limit(&sh, Class::Read, "GET /api/v1/sso/config")?;
        let org_id = organization_id_query(&uri)?;
        meta.org_id = Some(org_id.clone());
        if let Some(e) = uuid_cast_error(&org_id) {
            return Err(e);
        }
        let mut inner = sh.lock();
        let config = inner.orgs.get_mut(&org_id).and_then(|org| {
            org.saml_calls.gets += 1;
            org.saml.clone()
        });
        let Some(cfg) = config else {
            return Err(err(
                404,
                "NotFound",
                format!("SAML configuration for organization with ID '{org_id}' not found"),
            ));
        };
        permit(&who, &cfg.org_id, "read", "sso")?;
        Ok(json_resp(200, get_view(&cfg)))
    })();
    finish(r, meta)
}

/// `POST /api/v1/sso/config` (`createSamlCfg`): `Create` on `sso` → plan → org 404 → the rules of
/// [`refusal`] → insert. A second config for the organisation hits the unique index on `orgId`
/// (`db/migrations/20240107153439_saml-config.ts`) → 500 `Create`. No org flag is touched.
pub(crate) async fn post(
    State(sh): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut meta = Meta::default();
    let r = (|| {
        let who = authenticate(&sh, &headers, &mut meta)?;
        let body = parse_body(&body)?;
        rate_limit(&sh, Class::Write, "POST /api/v1/sso/config")?;
        let v = parse_object(body.as_ref(), CREATE_FIELDS).map_err(validation_failure)?;
        let org_id = v["organizationId"].as_str().unwrap_or("").to_string();
        meta.org_id = Some(org_id.clone());
        let w = SamlWrite::read(&v);
        let mut inner = sh.lock();
        if let Some(org) = inner.orgs.get_mut(&org_id) {
            org.saml_calls.posts += 1;
        }
        permit(&who, &org_id, "create", "sso")?;
        let org = find_org_by_id(&mut inner, &org_id)?;
        if let Some(message) = refusal(Op::Create, &OrgFacts::of(org), &w) {
            return Err(bad_request(message));
        }
        if org.saml.is_some() {
            return Err(err(500, "Create", "Something went wrong"));
        }
        let now = iso8601_now();
        let cfg = SamlConfigState {
            id: uuid::Uuid::new_v4().to_string(),
            org_id: org_id.clone(),
            auth_provider: w.auth_provider.unwrap_or_default(),
            is_active: w.is_active.unwrap_or(false),
            entry_point: w.entry_point.unwrap_or_default(),
            issuer: w.issuer.unwrap_or_default(),
            cert: w.cert.unwrap_or_default(),
            enable_group_sync: w.enable_group_sync.unwrap_or(false),
            last_used: None,
            created_at: now.clone(),
            updated_at: now,
        };
        let answer = sanitized(&cfg);
        org.saml = Some(cfg);
        Ok(json_resp(200, answer))
    })();
    finish(r, meta)
}

/// `PATCH /api/v1/sso/config` (`updateSamlCfg`): `Edit` on `sso` → plan → org 404 → the rules of
/// [`refusal`] → update the fields given (`""` overwrites) with `lastUsed = null`, then always
/// `orgDAL.updateById(orgId, {authEnforced: false, scimEnabled: false})`, config or not. Without
/// a config the service returns `undefined`: 200 with an empty body.
pub(crate) async fn patch(
    State(sh): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut meta = Meta::default();
    let r = (|| {
        let who = authenticate(&sh, &headers, &mut meta)?;
        let body = parse_body(&body)?;
        rate_limit(&sh, Class::Write, "PATCH /api/v1/sso/config")?;
        let v = parse_object(body.as_ref(), &update_fields()).map_err(validation_failure)?;
        let org_id = v["organizationId"].as_str().unwrap_or("").to_string();
        meta.org_id = Some(org_id.clone());
        let w = SamlWrite::read(&v);
        let mut inner = sh.lock();
        if let Some(org) = inner.orgs.get_mut(&org_id) {
            org.saml_calls.patches += 1;
        }
        permit(&who, &org_id, "edit", "sso")?;
        let org = find_org_by_id(&mut inner, &org_id)?;
        if let Some(message) = refusal(Op::Update, &OrgFacts::of(org), &w) {
            return Err(bad_request(message));
        }
        let answer = org.saml.as_mut().map(|cfg| {
            apply(cfg, w);
            sanitized(cfg)
        });
        org.auth_enforced = false;
        org.scim_enabled = false;
        Ok(match answer {
            Some(answer) => json_resp(200, answer),
            None => StatusCode::OK.into_response(),
        })
    })();
    finish(r, meta)
}

/// The update query: the fields given, and `lastUsed` cleared (re-enforcing SSO then needs a new
/// SAML login, `services/org/org-service.ts` `updateOrg`).
fn apply(cfg: &mut SamlConfigState, w: SamlWrite) {
    if let Some(v) = w.auth_provider {
        cfg.auth_provider = v;
    }
    if let Some(v) = w.is_active {
        cfg.is_active = v;
    }
    if let Some(v) = w.enable_group_sync {
        cfg.enable_group_sync = v;
    }
    if let Some(v) = w.entry_point {
        cfg.entry_point = v;
    }
    if let Some(v) = w.issuer {
        cfg.issuer = v;
    }
    if let Some(v) = w.cert {
        cfg.cert = v;
    }
    cfg.last_used = None;
    cfg.updated_at = iso8601_now();
}
