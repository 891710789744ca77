//! Rate limits, fault injection, outage, request log redaction and the HTTP control surface.

mod common;

use std::time::{Duration, Instant};

use common::*;
use infisical_emulator::{Fault, FaultKind};
use serde_json::{Value, json};

const CANARY: &str = "CANARY-emulator-secret-9f3a";

#[tokio::test]
async fn rate_limit_429_with_headers() {
    let e = env().await;
    let token = e.token().await;
    e.c.set_rate_limits(Some(2), Some(1));
    for _ in 0..2 {
        assert_eq!(e.get_cfg(&token, &e.org).await.0, 404);
    }
    let r = e
        .http
        .get(e.url(&format!("/api/v1/sso/oidc/config?organizationId={}", e.org)))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    let h = r.headers().clone();
    let got = body_of(r).await;
    let secs: u64 = h["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&secs));
    assert_err(
        &got,
        429,
        "RateLimitExceeded",
        &format!("Rate limit exceeded. Please try again in {secs} seconds"),
    );
    assert_eq!(h["x-ratelimit-limit"], "2");
    assert_eq!(h["x-ratelimit-remaining"], "0");
    assert!(h.contains_key("x-ratelimit-reset"));
    // Rate limiting runs after auth: no token is still 401.
    let r = e
        .http
        .get(e.url(&format!("/api/v1/sso/oidc/config?organizationId={}", e.org)))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 401);
    // Write class is separate: first POST passes the limiter, second is limited.
    assert_eq!(e.post_cfg(&token, e.discovery_body()).await.0, 200);
    assert_eq!(e.post_cfg(&token, e.discovery_body()).await.0, 429);
    // Only requests that reached the service are counted.
    let st = e.c.org_state(&e.org).unwrap();
    assert_eq!((st.gets, st.posts), (2, 1));
    e.c.set_rate_limits(None, None);
    assert_eq!(e.get_cfg(&token, &e.org).await.0, 200);
}

#[tokio::test]
async fn fault_status_default_and_custom_body_then_normal() {
    let e = env().await;
    let token = e.token().await;
    e.c.inject_fault(Fault {
        method: Some("get".into()),
        path_prefix: Some("/api/v1/sso".into()),
        count: 2,
        kind: FaultKind::Status {
            status: 503,
            body: None,
        },
    });
    // Non-matching request is unaffected.
    let (s, _) = body_of(e.http.get(e.url("/api/status")).send().await.unwrap()).await;
    assert_eq!(s, 200);
    assert_err(
        &e.get_cfg(&token, &e.org).await,
        503,
        "InternalServerError",
        "Something went wrong",
    );
    // Fault is checked before auth.
    let (s, _) = e.get_cfg("garbage", &e.org).await;
    assert_eq!(s, 503);
    assert_eq!(e.get_cfg(&token, &e.org).await.0, 404);
    e.c.inject_fault(Fault {
        method: None,
        path_prefix: None,
        count: 1,
        kind: FaultKind::Status {
            status: 418,
            body: Some(json!({"custom": true})),
        },
    });
    assert_eq!(
        e.get_cfg(&token, &e.org).await,
        (418, json!({"custom": true}))
    );
}

#[tokio::test]
async fn fault_delay() {
    let e = env().await;
    e.c.inject_fault(Fault {
        method: None,
        path_prefix: Some("/api/status".into()),
        count: 1,
        kind: FaultKind::Delay { millis: 400 },
    });
    let t = Instant::now();
    let (s, _) = body_of(e.http.get(e.url("/api/status")).send().await.unwrap()).await;
    assert_eq!(s, 200);
    assert!(t.elapsed() >= Duration::from_millis(400));
}

#[tokio::test]
async fn fault_connection_reset_is_a_client_error() {
    let e = env().await;
    e.c.inject_fault(Fault {
        method: None,
        path_prefix: Some("/api/status".into()),
        count: 1,
        kind: FaultKind::ConnectionReset,
    });
    let r = e.http.get(e.url("/api/status")).send().await;
    assert!(r.is_err(), "expected a connection error, got {r:?}");
    let (s, _) = body_of(e.http.get(e.url("/api/status")).send().await.unwrap()).await;
    assert_eq!(s, 200);
    assert_eq!(e.c.requests()[0].status, 0);
}

#[tokio::test]
async fn fault_commit_then_status_applies_write() {
    let e = env().await;
    let token = e.token().await;
    e.c.inject_fault(Fault {
        method: Some("POST".into()),
        path_prefix: Some("/api/v1/sso/oidc/config".into()),
        count: 1,
        kind: FaultKind::CommitThenStatus { status: 500 },
    });
    assert_err(
        &e.post_cfg(&token, e.discovery_body()).await,
        500,
        "InternalServerError",
        "Something went wrong",
    );
    let (s, v) = e.get_cfg(&token, &e.org).await;
    assert_eq!(s, 200);
    assert_eq!(v["clientSecret"], "secret-1");
}

#[tokio::test]
async fn fault_commit_then_drop_applies_write() {
    let e = env().await;
    let token = e.token().await;
    e.c.inject_fault(Fault {
        method: Some("PATCH".into()),
        path_prefix: Some("/api/v1/sso/oidc/config".into()),
        count: 1,
        kind: FaultKind::CommitThenDrop,
    });
    e.c.put_config_out_of_band(&e.org, json!({"clientSecret": "old"}));
    let r = e
        .http
        .patch(e.url("/api/v1/sso/oidc/config"))
        .bearer_auth(&token)
        .json(&json!({"organizationId": e.org, "clientSecret": "new"}))
        .send()
        .await;
    assert!(r.is_err(), "expected a connection error, got {r:?}");
    let cfg = e.c.org_state(&e.org).unwrap().config.unwrap();
    assert_eq!(cfg["clientSecret"], "new");
    let log = e.c.requests();
    let last = log.last().unwrap();
    assert_eq!((last.method.as_str(), last.status), ("PATCH", 0));
    assert_eq!(last.org_id.as_deref(), Some(e.org.as_str()));
}

#[tokio::test]
async fn outage_closes_connections_but_not_control_surface() {
    let e = env().await;
    e.c.set_outage(true);
    assert!(e.http.get(e.url("/api/status")).send().await.is_err());
    assert!(
        e.http
            .post(e.url("/api/v1/auth/universal-auth/login"))
            .json(&json!({"clientId": "a", "clientSecret": "b"}))
            .send()
            .await
            .is_err()
    );
    let (s, _) = body_of(
        e.http
            .get(e.url("/__emulator/requests"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(s, 200);
    let (s, _) = body_of(
        e.http
            .put(e.url("/__emulator/settings"))
            .json(&json!({"outage": false}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(s, 200);
    let (s, v) = body_of(e.http.get(e.url("/api/status")).send().await.unwrap()).await;
    assert_eq!((s, v["message"].clone()), (200, json!("Ok")));
}

#[tokio::test]
async fn request_log_redacts_secrets() {
    let e = env().await;
    let creds = e.c.seed_identity(infisical_emulator::IdentitySeed {
        org_id: e.org.clone(),
        client_secret: Some(CANARY.into()),
        ..Default::default()
    });
    let token = e.login_creds(&creds).await;
    let mut body = e.discovery_body();
    body["clientSecret"] = json!(CANARY);
    assert_eq!(e.post_cfg(&token, body).await.0, 200);
    assert_eq!(
        e.patch_cfg(
            &token,
            json!({"organizationId": e.org, "clientSecret": CANARY})
        )
        .await
        .0,
        200
    );
    let _ = e
        .http
        .post(e.url("/api/v1/auth/token/renew"))
        .json(&json!({"accessToken": token}))
        .send()
        .await
        .unwrap();
    let log = e.c.requests();
    assert_eq!(log.len(), 4);
    let text = serde_json::to_string(&log).unwrap();
    assert!(!text.contains(CANARY), "{text}");
    assert!(!text.contains(&token));
    assert_eq!(log[0].body.as_ref().unwrap()["clientSecret"], "[REDACTED]");
    assert_eq!(log[1].body.as_ref().unwrap()["clientSecret"], "[REDACTED]");
    assert_eq!(
        log[1].identity_id.as_deref(),
        Some(creds.identity_id.as_str())
    );
    assert_eq!(log[1].org_id.as_deref(), Some(e.org.as_str()));
    assert_eq!(log[1].path, "/api/v1/sso/oidc/config");
    assert_eq!(log[3].body.as_ref().unwrap()["accessToken"], "[REDACTED]");
    // Same via HTTP.
    let (_, v) = body_of(
        e.http
            .get(e.url("/__emulator/requests"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert!(!v.to_string().contains(CANARY));
    e.c.clear_requests();
    assert!(e.c.requests().is_empty());
}

#[tokio::test]
async fn http_control_surface() {
    let e = env().await;
    let ctl = |m: reqwest::Method, path: &str, body: Option<Value>| {
        let mut rb = e.http.request(m, e.url(path));
        if let Some(b) = body {
            rb = rb.json(&b);
        }
        async move { body_of(rb.send().await.unwrap()).await }
    };
    let (s, v) = ctl(
        reqwest::Method::POST,
        "/__emulator/orgs",
        Some(json!({"name": "Beta", "slug": "beta"})),
    )
    .await;
    assert_eq!(s, 200);
    let org = v["id"].as_str().unwrap().to_string();
    let (s, creds) = ctl(
        reqwest::Method::POST,
        "/__emulator/identities",
        Some(json!({"orgId": org, "clientId": "beta-client", "clientSecret": "beta-secret", "permissions": ["read"]})),
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(creds["clientId"], "beta-client");
    let id = creds["identityId"].as_str().unwrap().to_string();
    let (s, t) = ctl(
        reqwest::Method::POST,
        &format!("/__emulator/identities/{id}/tokens"),
        Some(json!({"ttlSeconds": 60})),
    )
    .await;
    assert_eq!(s, 200);
    let token = t["accessToken"].as_str().unwrap().to_string();
    let (s, st) = ctl(
        reqwest::Method::PUT,
        &format!("/__emulator/orgs/{org}/config"),
        Some(json!({"clientSecret": "ui-secret", "configurationType": "discoveryURL", "discoveryURL": "https://x.example"})),
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(st["config"]["clientSecret"], "ui-secret");
    let (s, v) = e.get_cfg(&token, &org).await;
    assert_eq!((s, v["clientSecret"].clone()), (200, json!("ui-secret")));
    // Permissions via PATCH identity.
    let (s, _) = ctl(
        reqwest::Method::PATCH,
        &format!("/__emulator/identities/{id}"),
        Some(json!({"permissions": []})),
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(e.get_cfg(&token, &org).await.0, 403);
    // Org flags.
    let (s, st) = ctl(
        reqwest::Method::PATCH,
        &format!("/__emulator/orgs/{org}"),
        Some(json!({"authEnforced": true, "planOidcSso": false})),
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(st["authEnforced"], true);
    let (s, st) = ctl(
        reqwest::Method::GET,
        &format!("/__emulator/orgs/{org}"),
        None,
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(st["gets"], 2);
    // Faults, rate limits, settings.
    let (s, _) = ctl(
        reqwest::Method::POST,
        "/__emulator/faults",
        Some(json!({"pathPrefix": "/api/status", "kind": {"type": "status", "status": 502}})),
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(ctl(reqwest::Method::GET, "/api/status", None).await.0, 502);
    assert_eq!(ctl(reqwest::Method::GET, "/api/status", None).await.0, 200);
    let (s, _) = ctl(
        reqwest::Method::POST,
        "/__emulator/faults",
        Some(json!({"pathPrefix": "/api/status", "count": 5, "kind": {"type": "connectionReset"}})),
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(
        ctl(reqwest::Method::DELETE, "/__emulator/faults", None)
            .await
            .0,
        200
    );
    assert_eq!(ctl(reqwest::Method::GET, "/api/status", None).await.0, 200);
    assert_eq!(
        ctl(
            reqwest::Method::PUT,
            "/__emulator/rate-limits",
            Some(json!({"readsPerMinute": 1, "writesPerMinute": null}))
        )
        .await
        .0,
        200
    );
    let (s, _) = ctl(
        reqwest::Method::PUT,
        "/__emulator/settings",
        Some(json!({"expiredTokenStatus": 401})),
    )
    .await;
    assert_eq!(s, 200);
    let (s, v) = ctl(reqwest::Method::GET, "/__emulator/requests", None).await;
    assert_eq!(s, 200);
    assert!(v.as_array().unwrap().len() >= 3);
    assert_eq!(
        ctl(reqwest::Method::DELETE, "/__emulator/requests", None)
            .await
            .0,
        200
    );
    assert!(e.c.requests().is_empty());
    let (s, _) = ctl(reqwest::Method::GET, "/__emulator/orgs/nope", None).await;
    assert_eq!(s, 404);
}

#[tokio::test]
async fn connection_reset_with_pooled_keepalive_client() {
    let e = env().await;
    let pooled = reqwest::Client::new();
    for kind in [FaultKind::ConnectionReset, FaultKind::CommitThenDrop] {
        let (s, _) = body_of(pooled.get(e.url("/api/status")).send().await.unwrap()).await;
        assert_eq!(s, 200);
        e.c.inject_fault(Fault {
            method: Some("GET".into()),
            path_prefix: Some("/api/status".into()),
            count: 1,
            kind,
        });
        assert!(pooled.get(e.url("/api/status")).send().await.is_err());
        let (s, _) = body_of(pooled.get(e.url("/api/status")).send().await.unwrap()).await;
        assert_eq!(s, 200);
    }
}
