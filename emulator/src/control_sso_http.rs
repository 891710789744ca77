//! The control surface for SAML and LDAP configurations (same semantics as the [`crate::Control`]
//! methods of `control_sso.rs`). Plan flags and `authEnforced`/`scimEnabled` are set through
//! `PATCH /__emulator/orgs/{id}` ([`crate::OrgFlags`]).

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::{get, post, put};
use serde_json::{Value, json};

use crate::control_http::{ctl, org_404, parse};
use crate::reply::json_resp;
use crate::state::Shared;

/// `GET /__emulator/orgs/{id}/sso` → [`crate::SsoState`].
async fn get_sso(State(sh): State<Arc<Shared>>, Path(id): Path<String>) -> Response {
    match ctl(&sh).sso_state(&id) {
        Some(s) => json_resp(200, serde_json::to_value(s).unwrap_or(Value::Null)),
        None => org_404(&id),
    }
}

fn put_result(sh: Arc<Shared>, id: &str, ok: bool) -> Response {
    match (ok, ctl(&sh).sso_state(id)) {
        (true, Some(s)) => json_resp(200, serde_json::to_value(s).unwrap_or(Value::Null)),
        (_, None) => org_404(id),
        (false, Some(_)) => json_resp(
            400,
            json!({"error": "BadRequest", "message": "fields do not fit the stored config"}),
        ),
    }
}

/// `PUT /__emulator/orgs/{id}/saml-config`: create-or-merge fields out of band.
async fn put_saml(State(sh): State<Arc<Shared>>, Path(id): Path<String>, body: Bytes) -> Response {
    match parse::<Value>(&body) {
        Ok(fields) => {
            let ok = ctl(&sh).put_saml_config_out_of_band(&id, fields);
            put_result(sh, &id, ok)
        }
        Err(e) => e,
    }
}

async fn delete_saml(State(sh): State<Arc<Shared>>, Path(id): Path<String>) -> Response {
    let removed = ctl(&sh).remove_saml_config(&id);
    json_resp(200, json!({"ok": true, "removed": removed}))
}

/// `POST /__emulator/orgs/{id}/saml-login`: what a SAML login does to the config (`lastUsed`).
async fn saml_login(State(sh): State<Arc<Shared>>, Path(id): Path<String>) -> Response {
    let used = ctl(&sh).mark_saml_used(&id);
    json_resp(200, json!({"ok": used}))
}

/// `PUT /__emulator/orgs/{id}/ldap-config`: create-or-merge fields out of band.
async fn put_ldap(State(sh): State<Arc<Shared>>, Path(id): Path<String>, body: Bytes) -> Response {
    match parse::<Value>(&body) {
        Ok(fields) => {
            let ok = ctl(&sh).put_ldap_config_out_of_band(&id, fields);
            put_result(sh, &id, ok)
        }
        Err(e) => e,
    }
}

async fn delete_ldap(State(sh): State<Arc<Shared>>, Path(id): Path<String>) -> Response {
    let removed = ctl(&sh).remove_ldap_config(&id);
    json_resp(200, json!({"ok": true, "removed": removed}))
}

pub(crate) fn router() -> Router<Arc<Shared>> {
    Router::new()
        .route("/__emulator/orgs/{id}/sso", get(get_sso))
        .route(
            "/__emulator/orgs/{id}/saml-config",
            put(put_saml).delete(delete_saml),
        )
        .route("/__emulator/orgs/{id}/saml-login", post(saml_login))
        .route(
            "/__emulator/orgs/{id}/ldap-config",
            put(put_ldap).delete(delete_ldap),
        )
}
