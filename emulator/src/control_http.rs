//! The HTTP control surface under `/__emulator/` (no auth; same semantics as [`crate::Control`]).

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::{get, post, put};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crate::reply::{err, json_resp};
use crate::state::{Control, Shared};
use crate::types::*;

pub(crate) fn ctl(sh: &Arc<Shared>) -> Control {
    Control { shared: sh.clone() }
}

#[allow(clippy::result_large_err)]
pub(crate) fn parse<T: DeserializeOwned>(body: &Bytes) -> Result<T, Response> {
    let slice: &[u8] = if body.iter().all(|b| b.is_ascii_whitespace()) {
        b"{}"
    } else {
        body
    };
    serde_json::from_slice(slice)
        .map_err(|e| err(400, "BadRequest", format!("invalid control request: {e}")))
}

pub(crate) fn org_404(id: &str) -> Response {
    err(
        404,
        "NotFound",
        format!("Organization with ID '{id}' not found"),
    )
}

fn state_or_404(c: &Control, id: &str) -> Response {
    match c.org_state(id) {
        Some(s) => json_resp(200, serde_json::to_value(s).unwrap_or(Value::Null)),
        None => org_404(id),
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

/// Body: [`TokenMint`] (the old `{ttlSeconds}` still works) -> [`MintedToken`].
async fn issue_token(
    State(sh): State<Arc<Shared>>,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    match parse::<TokenMint>(&body) {
        Ok(req) => match ctl(&sh).mint_token(&id, req) {
            Some(t) => json_resp(200, serde_json::to_value(t).unwrap_or(Value::Null)),
            None => identity_404(&id),
        },
        Err(e) => e,
    }
}

fn identity_404(id: &str) -> Response {
    err(
        404,
        "NotFound",
        format!("Identity with ID '{id}' not found"),
    )
}

async fn get_identity(State(sh): State<Arc<Shared>>, Path(id): Path<String>) -> Response {
    match ctl(&sh).login_stats(&id) {
        Some(stats) => json_resp(
            200,
            json!({"identityId": id, "logins": serde_json::to_value(stats).unwrap_or(Value::Null)}),
        ),
        None => identity_404(&id),
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

/// The control surface's view of a Kubernetes Auth method: the reviewer JWT is not echoed.
fn kubernetes_auth_view(id: &str, auth: &KubernetesAuthSeed) -> Value {
    let mut v = serde_json::to_value(auth).unwrap_or(Value::Null);
    if auth
        .token_reviewer_jwt
        .as_deref()
        .is_some_and(|j| !j.is_empty())
    {
        v["tokenReviewerJwt"] = json!("[REDACTED]");
    }
    json!({"identityId": id, "kubernetesAuth": v})
}

/// `PUT /__emulator/identities/{id}/kubernetes-auth`: [`KubernetesAuthSeed`] -> the view.
async fn put_kubernetes_auth(
    State(sh): State<Arc<Shared>>,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    match parse::<KubernetesAuthSeed>(&body) {
        Ok(auth) => {
            if ctl(&sh).set_kubernetes_auth(&id, auth.clone()) {
                json_resp(200, kubernetes_auth_view(&id, &auth))
            } else {
                identity_404(&id)
            }
        }
        Err(e) => e,
    }
}

async fn get_kubernetes_auth(State(sh): State<Arc<Shared>>, Path(id): Path<String>) -> Response {
    let c = ctl(&sh);
    match c.kubernetes_auth(&id) {
        Some(auth) => json_resp(200, kubernetes_auth_view(&id, &auth)),
        None if c.login_stats(&id).is_some() => err(404, "NotFound", crate::k8s::MSG_NO_K8S_AUTH),
        None => identity_404(&id),
    }
}

async fn delete_kubernetes_auth(State(sh): State<Arc<Shared>>, Path(id): Path<String>) -> Response {
    let c = ctl(&sh);
    if c.login_stats(&id).is_none() {
        return identity_404(&id);
    }
    let removed = c.remove_kubernetes_auth(&id);
    json_resp(200, json!({"ok": true, "removed": removed}))
}

/// `GET /__emulator/token-reviews`: the TokenReviews sent, oldest first.
async fn get_token_reviews(State(sh): State<Arc<Shared>>) -> Response {
    json_resp(
        200,
        serde_json::to_value(ctl(&sh).token_reviews()).unwrap_or(Value::Null),
    )
}

async fn clear_token_reviews(State(sh): State<Arc<Shared>>) -> Response {
    ctl(&sh).clear_token_reviews();
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
struct LockoutPatch {
    enabled: Option<bool>,
    threshold: Option<u32>,
    duration_seconds: Option<u64>,
    counter_reset_seconds: Option<u64>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Settings {
    expired_token_status: Option<u16>,
    outage: Option<bool>,
    url_guard: Option<bool>,
    allowed_internal_hosts: Option<Vec<String>>,
    allow_internal_ip_connections: Option<bool>,
    default_hosts: Option<bool>,
    lockout: Option<LockoutPatch>,
    max_machine_identity_token_age: Option<u64>,
    legacy_token_expiration_enforced_at: Option<u64>,
    revocation_marker_skew_seconds: Option<u64>,
    request_log_capacity: Option<usize>,
}

/// `PUT /__emulator/settings`: every field optional; answers the settings now in force.
async fn put_settings(State(sh): State<Arc<Shared>>, body: Bytes) -> Response {
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
            if let Some(v) = s.allow_internal_ip_connections {
                c.set_allow_internal_ip_connections(v);
            }
            if let Some(v) = s.default_hosts {
                c.set_default_hosts(v);
            }
            if let Some(p) = s.lockout {
                let mut l = c.lockout_settings();
                l.enabled = p.enabled.unwrap_or(l.enabled);
                l.threshold = p.threshold.unwrap_or(l.threshold);
                l.duration_seconds = p.duration_seconds.unwrap_or(l.duration_seconds);
                l.counter_reset_seconds =
                    p.counter_reset_seconds.unwrap_or(l.counter_reset_seconds);
                c.set_lockout(l);
            }
            if let Some(v) = s.max_machine_identity_token_age {
                c.set_max_machine_identity_token_age(v);
            }
            if let Some(v) = s.legacy_token_expiration_enforced_at {
                c.set_legacy_token_expiration_enforced_at(v);
            }
            if let Some(v) = s.revocation_marker_skew_seconds {
                c.set_revocation_marker_skew(v);
            }
            if let Some(v) = s.request_log_capacity {
                c.set_request_log_capacity(v);
            }
            get_settings(State(sh)).await
        }
        Err(e) => e,
    }
}

async fn get_settings(State(sh): State<Arc<Shared>>) -> Response {
    json_resp(
        200,
        serde_json::to_value(ctl(&sh).settings()).unwrap_or(Value::Null),
    )
}

#[derive(Default)]
struct RequestQuery {
    since: Option<u64>,
    method: Option<String>,
    path_prefix: Option<String>,
}

/// `GET /__emulator/requests[?since=SEQ&method=GET&pathPrefix=/api/v1/sso]`: the log (oldest
/// first) as an array, filtered without copying the rest.
async fn get_requests(State(sh): State<Arc<Shared>>, uri: axum::http::Uri) -> Response {
    let mut q = RequestQuery::default();
    for (k, v) in url::form_urlencoded::parse(uri.query().unwrap_or("").as_bytes()) {
        match k.as_ref() {
            "since" => q.since = v.parse().ok(),
            "method" => q.method = Some(v.into_owned()),
            "pathPrefix" => q.path_prefix = Some(v.into_owned()),
            _ => {}
        }
    }
    let entries: Vec<LoggedRequest> = ctl(&sh).with_requests(|it| {
        it.filter(|r| q.since.is_none_or(|s| r.seq >= s))
            .filter(|r| {
                q.method
                    .as_deref()
                    .is_none_or(|m| r.method.eq_ignore_ascii_case(m))
            })
            .filter(|r| {
                q.path_prefix
                    .as_deref()
                    .is_none_or(|p| r.path.starts_with(p))
            })
            .cloned()
            .collect()
    });
    json_resp(200, serde_json::to_value(entries).unwrap_or(Value::Null))
}

async fn request_stats(State(sh): State<Arc<Shared>>) -> Response {
    json_resp(
        200,
        serde_json::to_value(ctl(&sh).request_log_stats()).unwrap_or(Value::Null),
    )
}

async fn clear_requests(State(sh): State<Arc<Shared>>) -> Response {
    ctl(&sh).clear_requests();
    json_resp(200, json!({"ok": true}))
}

async fn get_hosts(State(sh): State<Arc<Shared>>) -> Response {
    let c = ctl(&sh);
    json_resp(
        200,
        json!({
            "hosts": serde_json::to_value(c.hosts()).unwrap_or(Value::Null),
            "defaultHosts": c.settings().default_hosts,
        }),
    )
}

/// `PUT /__emulator/hosts`: replace the table with `{name: answer}`.
async fn put_hosts(State(sh): State<Arc<Shared>>, body: Bytes) -> Response {
    match parse::<std::collections::BTreeMap<String, HostAnswer>>(&body) {
        Ok(hosts) => {
            ctl(&sh).set_hosts(hosts);
            get_hosts(State(sh)).await
        }
        Err(e) => e,
    }
}

/// `PATCH /__emulator/hosts`: add or replace `{name: answer}` entries; `null` removes one.
async fn patch_hosts(State(sh): State<Arc<Shared>>, body: Bytes) -> Response {
    match parse::<std::collections::BTreeMap<String, Option<HostAnswer>>>(&body) {
        Ok(hosts) => {
            let c = ctl(&sh);
            for (name, answer) in hosts {
                match answer {
                    Some(a) => c.set_host(&name, a),
                    None => c.remove_host(&name),
                }
            }
            get_hosts(State(sh)).await
        }
        Err(e) => e,
    }
}

async fn get_lockouts(State(sh): State<Arc<Shared>>) -> Response {
    let c = ctl(&sh);
    json_resp(
        200,
        json!({
            "settings": serde_json::to_value(c.lockout_settings()).unwrap_or(Value::Null),
            "lockouts": serde_json::to_value(c.lockouts()).unwrap_or(Value::Null),
        }),
    )
}

async fn clear_lockouts(State(sh): State<Arc<Shared>>) -> Response {
    ctl(&sh).clear_lockouts();
    json_resp(200, json!({"ok": true}))
}

async fn token_stats(State(sh): State<Arc<Shared>>) -> Response {
    json_resp(
        200,
        serde_json::to_value(ctl(&sh).token_store_stats()).unwrap_or(Value::Null),
    )
}

pub(crate) fn router() -> Router<Arc<Shared>> {
    Router::new()
        .route("/__emulator/orgs", post(create_org))
        .route("/__emulator/orgs/{id}", get(get_org).patch(patch_org))
        .route("/__emulator/orgs/{id}/config", put(put_config))
        .route("/__emulator/identities", post(create_identity))
        .route(
            "/__emulator/identities/{id}",
            get(get_identity).patch(patch_identity),
        )
        .route("/__emulator/identities/{id}/tokens", post(issue_token))
        .route(
            "/__emulator/identities/{id}/kubernetes-auth",
            get(get_kubernetes_auth)
                .put(put_kubernetes_auth)
                .delete(delete_kubernetes_auth),
        )
        .route(
            "/__emulator/token-reviews",
            get(get_token_reviews).delete(clear_token_reviews),
        )
        .route("/__emulator/faults", post(add_fault).delete(clear_faults))
        .route("/__emulator/rate-limits", put(rate_limits))
        .route("/__emulator/settings", get(get_settings).put(put_settings))
        .route(
            "/__emulator/requests",
            get(get_requests).delete(clear_requests),
        )
        .route("/__emulator/requests/stats", get(request_stats))
        .route(
            "/__emulator/hosts",
            get(get_hosts).put(put_hosts).patch(patch_hosts),
        )
        .route(
            "/__emulator/lockouts",
            get(get_lockouts).delete(clear_lockouts),
        )
        .route("/__emulator/tokens", get(token_stats))
}
