//! A canary client secret goes through create, rotation and failures; it must never show up in
//! logs (at trace level, every crate), Events, status, metrics or error messages.

mod support;

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine;
use infisical_emulator::{Fault, FaultKind, OrgFlags};
use k8s_openapi::api::core::v1::Event;
use kube::Api;
use kube::api::ListParams;
use serde_json::json;
use support::*;

#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Capture {
    type Writer = Capture;
    fn make_writer(&'a self) -> Capture {
        self.clone()
    }
}

const ROTATED: &str = "CANARY-rotated-3c9e11aa";

fn forms(secret: &str) -> Vec<String> {
    let b64 = base64::engine::general_purpose::STANDARD;
    vec![
        secret.to_string(),
        b64.encode(secret),
        b64.encode(secret).trim_end_matches('=').to_string(),
    ]
}

fn assert_clean(place: &str, text: &str) {
    for secret in [CANARY, ROTATED] {
        for form in forms(secret) {
            assert!(
                !text.contains(&form),
                "{place} contains the canary ({form})"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_canary_secret_never_leaks() {
    let capture = Capture::default();
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(capture.clone())
        .with_ansi(false)
        .init();

    let env = TestEnv::new("canary").await;
    let operator = env.start_operator();
    env.apply("acme-sso", env.spec(json!({}))).await;
    env.wait_ready("acme-sso").await;
    assert_eq!(
        env.org().config.unwrap()["clientSecret"],
        CANARY,
        "the canary really was sent"
    );

    // Rotation: the new value is sent in a PATCH.
    env.put_secret("idp-client", &[("clientSecret", ROTATED)])
        .await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while env.org().config.unwrap()["clientSecret"] != ROTATED {
        assert!(
            tokio::time::Instant::now() < deadline,
            "rotation not applied"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    env.wait_event("acme-sso", "SecretRotated").await;

    // Failures put Infisical's messages into status and events.
    let control = env.emulator.control();
    control.put_config_out_of_band(&env.org_id, json!({"clientSecret": "drifted"}));
    control.set_identity_permissions(&env.identity.identity_id, vec!["read".into()]);
    env.poke("acme-sso").await;
    env.wait_ready_reason("acme-sso", "False", "PermissionDenied")
        .await;
    control.set_identity_permissions(
        &env.identity.identity_id,
        vec!["read".into(), "create".into(), "edit".into()],
    );
    control.set_org_flags(
        &env.org_id,
        OrgFlags {
            plan_oidc_sso: Some(false),
            ..OrgFlags::default()
        },
    );
    env.poke("acme-sso").await;
    env.wait_ready_reason("acme-sso", "False", "PlanRestricted")
        .await;
    control.set_org_flags(
        &env.org_id,
        OrgFlags {
            plan_oidc_sso: Some(true),
            ..OrgFlags::default()
        },
    );
    control.inject_fault(Fault {
        method: Some("PATCH".into()),
        path_prefix: None,
        count: 1,
        kind: FaultKind::Status {
            status: 500,
            body: None,
        },
    });
    env.poke("acme-sso").await;
    env.wait_ready_reason("acme-sso", "False", "InfisicalUnavailable")
        .await;
    env.wait_ready("acme-sso").await;

    let resource = serde_json::to_string(&env.get("acme-sso").await).unwrap();
    assert!(resource.contains("status"), "read the resource");
    assert_clean("the resource (status, annotations)", &resource);

    let events: Api<Event> = Api::namespaced(env.client.clone(), &env.namespace);
    let events =
        serde_json::to_string(&events.list(&ListParams::default()).await.unwrap().items).unwrap();
    assert!(
        events.contains("PermissionDenied") && events.contains("SecretRotated"),
        "events were recorded"
    );
    assert_clean("events", &events);

    let metrics = operator.metrics.encode();
    assert!(
        metrics.contains("infisical_oidc_operator_reconcile_errors_total"),
        "{metrics}"
    );
    assert_clean("metrics", &metrics);

    operator.stop().await;
    let logs = String::from_utf8(capture.0.lock().unwrap().clone()).unwrap();
    assert!(
        logs.lines().count() > 100,
        "trace logs were captured ({} lines)",
        logs.lines().count()
    );
    assert!(logs.contains("TRACE"), "trace level was on");
    assert!(
        logs.contains("/api/v1/sso/oidc/config"),
        "Infisical traffic was logged"
    );
    assert_clean("logs", &logs);
    env.cleanup().await;
}

/// Any JSON Web Token: a service account token, the token reviewer's, or Infisical's.
fn jwts(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    for (start, _) in text.match_indices("eyJ") {
        let candidate: String = text[start..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
            .collect();
        if candidate.split('.').filter(|part| part.len() > 8).count() == 3 {
            found.push(candidate);
        }
    }
    found
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubernetes_auth_tokens_never_leak() {
    assert_eq!(
        jwts("x eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJlLXZhbHVl y").len(),
        1,
        "the detector finds a token"
    );
    let capture = Capture::default();
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(capture.clone())
        .with_ansi(false)
        .init();
    let env = TestEnv::new("canary-k8s").await;
    env.kubernetes_auth_identity(&env.namespace, "infisical-sso", "infisical", true, 3600)
        .await;
    env.put_service_account("infisical-sso", true).await;
    let operator = env.start_operator();
    let spec =
        env.spec(env.kubernetes_auth(&env.identity.identity_id, "infisical-sso", &["infisical"]));
    env.apply("acme-sso", spec).await;
    env.wait_ready("acme-sso").await;
    assert!(
        !env.emulator.control().token_reviews().is_empty(),
        "a service account token was minted and reviewed"
    );
    let resource = serde_json::to_string(&env.get("acme-sso").await).unwrap();
    let events: Api<Event> = Api::namespaced(env.client.clone(), &env.namespace);
    let events =
        serde_json::to_string(&events.list(&ListParams::default()).await.unwrap().items).unwrap();
    let metrics = operator.metrics.encode();
    operator.stop().await;
    let logs = String::from_utf8(capture.0.lock().unwrap().clone()).unwrap();
    assert!(
        logs.contains("kubernetes-auth/login"),
        "the login was logged"
    );
    for (place, text) in [
        ("status", &resource),
        ("events", &events),
        ("metrics", &metrics),
        ("logs", &logs),
    ] {
        assert_eq!(jwts(text), Vec::<String>::new(), "a token in {place}");
    }
    assert_clean("logs", &logs);
    env.cleanup().await;
}
