//! The HTTP control surface under `/__emulator/` (no auth; same semantics as [`crate::Control`]).

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::{get, patch, post, put};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crate::api::{err, json_resp};
use crate::state::{Control, Shared};
use crate::types::*;

fn ctl(sh: &Arc<Shared>) -> Control {
    Control { shared: sh.clone() }
}

#[allow(clippy::result_large_err)]
fn parse<T: DeserializeOwned>(body: &Bytes) -> Result<T, Response> {
    let slice: &[u8] = if body.iter().all(|b| b.is_ascii_whitespace()) {
        b"{}"
    } else {
        body
    };
    serde_json::from_slice(slice)
        .map_err(|e| err(400, "BadRequest", format!("invalid control request: {e}")))
}

fn state_or_404(c: &Control, id: &str) -> Response {
    match c.org_state(id) {
        Some(s) => json_resp(200, serde_json::to_value(s).unwrap_or(Value::Null)),
        None => err(
            404,
            "NotFound",
            format!("Organization with ID '{id}' not found"),
        ),
    }
}

async fn create_org(State(sh): State<Arc<Shared>>, body: Bytes) -> Response {
    match parse::<OrgSeed>(&body) {
        Ok(seed) => json_resp(200, json!({"id": ctl(&sh).seed_org(seed)})),
        Err(e) => e,
    }
}

async fn patch_org(State(sh): State<Arc<Shared>>, Path(id): Path<String>, body: Bytes) -> Response {
    match parse::<OrgFlags>(&body) {
        Ok(flags) => {
            let c = ctl(&sh);
            c.set_org_flags(&id, flags);
            state_or_404(&c, &id)
        }
        Err(e) => e,
    }
}

async fn get_org(State(sh): State<Arc<Shared>>, Path(id): Path<String>) -> Response {
    state_or_404(&ctl(&sh), &id)
}

async fn put_config(
    State(sh): State<Arc<Shared>>,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    match parse::<Value>(&body) {
        Ok(fields) => {
            let c = ctl(&sh);
            c.put_config_out_of_band(&id, fields);
            state_or_404(&c, &id)
        }
        Err(e) => e,
    }
}

async fn create_identity(State(sh): State<Arc<Shared>>, body: Bytes) -> Response {
    match parse::<IdentitySeed>(&body) {
        Ok(seed) => json_resp(
            200,
            serde_json::to_value(ctl(&sh).seed_identity(seed)).unwrap_or(Value::Null),
        ),
        Err(e) => e,
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct TokenReq {
    #[serde(default)]
    ttl_seconds: u64,
}

async fn issue_token(
    State(sh): State<Arc<Shared>>,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    match parse::<TokenReq>(&body) {
        Ok(req) => {
            let token = ctl(&sh).issue_static_token(&id, req.ttl_seconds);
            if token.is_empty() {
                err(
                    404,
                    "NotFound",
                    format!("Identity with ID '{id}' not found"),
                )
            } else {
                json_resp(200, json!({"accessToken": token}))
            }
        }
        Err(e) => e,
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct IdentityPatch {
    permissions: Option<Vec<String>>,
    access_token_ttl: Option<u64>,
    access_token_max_ttl: Option<u64>,
}

async fn patch_identity(
    State(sh): State<Arc<Shared>>,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let req = match parse::<IdentityPatch>(&body) {
        Ok(r) => r,
        Err(e) => return e,
    };
    let current = sh.lock().identities.get(&id).cloned();
    let Some(cur) = current else {
        return err(
            404,
            "NotFound",
            format!("Identity with ID '{id}' not found"),
        );
    };
    let c = ctl(&sh);
    if let Some(p) = req.permissions {
        c.set_identity_permissions(&id, p);
    }
    if req.access_token_ttl.is_some() || req.access_token_max_ttl.is_some() {
        c.set_token_ttls(
            &id,
            req.access_token_ttl.unwrap_or(cur.ttl),
            req.access_token_max_ttl.unwrap_or(cur.max_ttl),
        );
    }
    json_resp(200, json!({"ok": true}))
}

async fn add_fault(State(sh): State<Arc<Shared>>, body: Bytes) -> Response {
    match parse::<Fault>(&body) {
        Ok(f) => {
            ctl(&sh).inject_fault(f);
            json_resp(200, json!({"ok": true}))
        }
        Err(e) => e,
    }
}

async fn clear_faults(State(sh): State<Arc<Shared>>) -> Response {
    ctl(&sh).clear_faults();
    json_resp(200, json!({"ok": true}))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RateLimits {
    reads_per_minute: Option<u32>,
    writes_per_minute: Option<u32>,
}

async fn rate_limits(State(sh): State<Arc<Shared>>, body: Bytes) -> Response {
    match parse::<RateLimits>(&body) {
        Ok(r) => {
            ctl(&sh).set_rate_limits(r.reads_per_minute, r.writes_per_minute);
            json_resp(200, json!({"ok": true}))
        }
        Err(e) => e,
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Settings {
    expired_token_status: Option<u16>,
    outage: Option<bool>,
    url_guard: Option<bool>,
    allowed_internal_hosts: Option<Vec<String>>,
}

async fn settings(State(sh): State<Arc<Shared>>, body: Bytes) -> Response {
    match parse::<Settings>(&body) {
        Ok(s) => {
            let c = ctl(&sh);
            if let Some(v) = s.expired_token_status {
                c.set_expired_token_status(v);
            }
            if let Some(v) = s.outage {
                c.set_outage(v);
            }
            if let Some(v) = s.url_guard {
                c.set_url_guard(v);
            }
            if let Some(v) = s.allowed_internal_hosts {
                c.set_allowed_internal_hosts(v);
            }
            json_resp(200, json!({"ok": true}))
        }
        Err(e) => e,
    }
}

async fn get_requests(State(sh): State<Arc<Shared>>) -> Response {
    json_resp(
        200,
        serde_json::to_value(ctl(&sh).requests()).unwrap_or(Value::Null),
    )
}

async fn clear_requests(State(sh): State<Arc<Shared>>) -> Response {
    ctl(&sh).clear_requests();
    json_resp(200, json!({"ok": true}))
}

pub(crate) fn router() -> Router<Arc<Shared>> {
    Router::new()
        .route("/__emulator/orgs", post(create_org))
        .route("/__emulator/orgs/{id}", get(get_org).patch(patch_org))
        .route("/__emulator/orgs/{id}/config", put(put_config))
        .route("/__emulator/identities", post(create_identity))
        .route("/__emulator/identities/{id}", patch(patch_identity))
        .route("/__emulator/identities/{id}/tokens", post(issue_token))
        .route("/__emulator/faults", post(add_fault).delete(clear_faults))
        .route("/__emulator/rate-limits", put(rate_limits))
        .route("/__emulator/settings", put(settings))
        .route(
            "/__emulator/requests",
            get(get_requests).delete(clear_requests),
        )
}
