//! The controller against a real kube-apiserver and the emulator over HTTP.
//! Each test reads as a line of the spec it proves.

mod support;

use std::time::Duration;

use infisical_emulator::{Fault, FaultKind, HostAnswer, OrgFlags, OrgSeed, TokenMint};
use std::sync::Arc;

use infisical_oidc_operator::api::OidcSsoConfig;
use infisical_oidc_operator::controller;
use infisical_oidc_operator::infisical::AllowedHosts;
use infisical_oidc_operator::lifecycle::{self, OperatorConfig};
use infisical_oidc_operator::metrics::Metrics;
use infisical_oidc_operator::reconcile::context::{BeforePass, Settings};
use infisical_oidc_operator::reconcile::idp_hosts::IdpResolver;
use kube::ResourceExt;
use kube::api::{Patch, PatchParams};
use serde_json::json;
use support::*;

fn keys(body: &serde_json::Value) -> Vec<String> {
    let mut keys: Vec<String> = body
        .as_object()
        .map(|o| o.keys().cloned().collect())
        .unwrap_or_default();
    keys.sort();
    keys
}

fn resource_id(resource: &OidcSsoConfig) -> String {
    resource
        .status
        .as_ref()
        .and_then(|s| s.id.clone())
        .expect("status.id")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_reaches_ready_with_the_emulators_id_and_exactly_one_post() {
    let env = TestEnv::new("create").await;
    let operator = env.start_operator();
    env.apply("acme-sso", env.spec(json!({}))).await;
    let resource = env.wait_ready("acme-sso").await;

    let stored = env.org().config.expect("config created");
    let status = resource.status.unwrap();
    assert_eq!(status.id.as_deref(), stored["id"].as_str());
    assert_eq!(status.org_id.as_deref(), Some(env.org_id.as_str()));
    assert_eq!(
        status.discovery_url.as_deref(),
        stored["discoveryURL"].as_str()
    );
    assert_eq!(
        status.allowed_email_domains.as_deref(),
        Some("example.com, example.org")
    );
    assert_eq!(stored["allowedEmailDomains"], "example.com, example.org");
    assert_eq!(status.is_active, Some(true));
    assert_eq!(status.jwt_signature_algorithm.as_deref(), Some("RS256"));
    assert_eq!(stored["clientSecret"], CANARY);
    assert_eq!(env.org().posts, 1);
    assert_eq!(env.org().patches, 0);
    assert!(
        resource
            .metadata
            .finalizers
            .unwrap()
            .contains(&"oidc.infisical-operator.io/finalizer".to_string())
    );
    let created = env.wait_event("acme-sso", "Created").await;
    let id = resource_id(&env.get("acme-sso").await);
    assert!(
        created.starts_with(&format!("created OIDC configuration {id}. ")),
        "{created}"
    );
    assert!(
        created.contains("verified email domain of the organisation"),
        "the Created Event says what sign-in needs: {created}"
    );
    env.wait_unmarked("acme-sso").await;
    assert_eq!(operator.metrics.ready_resources.get(), 1);
    operator.stop().await;
    env.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_resyncs_write_nothing_to_kubernetes_or_infisical() {
    let env = TestEnv::new("idle").await;
    let operator = env.start_operator();
    env.apply("acme-sso", env.spec(json!({}))).await;
    env.wait_ready("acme-sso").await;
    // Let the pass triggered by our own status write settle.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let writes_before = operator.status_writes();
    let version_before = env.get("acme-sso").await.metadata.resource_version;
    let gets_before = env.org().gets;

    for _ in 0..3 {
        env.poke("acme-sso").await;
        tokio::time::sleep(Duration::from_millis(700)).await;
    }
    let org = env.org();
    assert!(
        org.gets >= gets_before + 3,
        "each poke read Infisical: {} -> {}",
        gets_before,
        org.gets
    );
    assert_eq!(
        operator.status_writes(),
        writes_before,
        "no status write on an idle pass"
    );
    assert_eq!(
        (org.posts, org.patches),
        (1, 0),
        "no Infisical write on an idle pass"
    );
    // Only our own annotation pokes changed the object.
    let after = env.get("acme-sso").await;
    assert_ne!(after.metadata.resource_version, version_before);
    assert_eq!(
        after.status.as_ref().unwrap().observed_generation,
        after.metadata.generation
    );
    operator.stop().await;
    env.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_spec_edit_patches_only_the_changed_field() {
    let env = TestEnv::new("edit").await;
    let operator = env.start_operator();
    env.apply("acme-sso", env.spec(json!({}))).await;
    env.wait_ready("acme-sso").await;

    env.apply(
        "acme-sso",
        env.spec(json!({"jwtSignatureAlgorithm": "RS512"})),
    )
    .await;
    let resource = env
        .wait_until(
            "acme-sso",
            "RS512 in status",
            Duration::from_secs(20),
            |r| {
                r.status
                    .as_ref()
                    .and_then(|s| s.jwt_signature_algorithm.as_deref())
                    == Some("RS512")
                    && ready(r).is_some_and(|(s, _, _)| s == "True")
            },
        )
        .await;
    let patches = config_requests(&env, "PATCH");
    assert_eq!(patches.len(), 1, "{patches:?}");
    assert_eq!(
        keys(&patches[0]),
        ["jwtSignatureAlgorithm", "organizationId"]
    );
    assert_eq!(env.org().config.unwrap()["jwtSignatureAlgorithm"], "RS512");
    assert_eq!(
        resource.status.unwrap().observed_generation,
        resource.metadata.generation
    );
    env.wait_event("acme-sso", "Updated").await;
    operator.stop().await;
    env.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotating_the_secret_patches_only_the_client_secret() {
    let env = TestEnv::new("rotate").await;
    let operator = env.start_operator();
    env.apply("acme-sso", env.spec(json!({}))).await;
    env.wait_ready("acme-sso").await;

    env.put_secret("idp-client", &[("clientSecret", "rotated-value")])
        .await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while env.org().config.unwrap()["clientSecret"] != "rotated-value" {
        assert!(
            tokio::time::Instant::now() < deadline,
            "secret rotation not applied"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let patches = config_requests(&env, "PATCH");
    assert_eq!(patches.len(), 1, "{patches:?}");
    assert_eq!(keys(&patches[0]), ["clientSecret", "organizationId"]);
    assert_eq!(
        patches[0]["clientSecret"], "[REDACTED]",
        "the emulator's log redacts it"
    );
    env.wait_event("acme-sso", "SecretRotated").await;
    operator.stop().await;
    env.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drift_made_in_infisical_is_corrected_with_an_event() {
    let env = TestEnv::new("drift").await;
    let operator = env.start_operator();
    env.apply("acme-sso", env.spec(json!({}))).await;
    env.wait_ready("acme-sso").await;

    env.emulator.control().put_config_out_of_band(
        &env.org_id,
        json!({"isActive": false, "allowedEmailDomains": "evil.test"}),
    );
    env.poke("acme-sso").await;
    let message = env.wait_event("acme-sso", "DriftCorrected").await;
    assert!(
        message.contains("allowedEmailDomains") && message.contains("isActive"),
        "{message}"
    );
    let stored = env.org().config.unwrap();
    assert_eq!(stored["isActive"], true);
    assert_eq!(stored["allowedEmailDomains"], "example.com, example.org");
    let patches = config_requests(&env, "PATCH");
    assert_eq!(patches.len(), 1);
    assert_eq!(
        keys(&patches[0]),
        ["allowedEmailDomains", "isActive", "organizationId"]
    );
    operator.stop().await;
    env.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_existing_configuration_is_not_touched_without_adopt() {
    let env = TestEnv::new("adopt-never").await;
    env.emulator.control().put_config_out_of_band(
        &env.org_id,
        json!({"configurationType": "discoveryURL", "discoveryURL": "https://old-idp.example.com/.well-known/openid-configuration", "clientId": "infisical", "clientSecret": "old", "isActive": true}),
    );
    let before = env.org().config.unwrap();
    let operator = env.start_operator();
    env.apply("acme-sso", env.spec(json!({}))).await;
    let resource = env
        .wait_ready_reason("acme-sso", "False", "AdoptionRequired")
        .await;
    assert_eq!(
        condition(&resource, "Stalled").unwrap().1,
        "AdoptionRequired"
    );
    assert!(
        ready(&resource)
            .unwrap()
            .2
            .contains("adoptionPolicy: Adopt")
    );
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!((env.org().posts, env.org().patches), (0, 0));
    assert_eq!(env.org().config.unwrap(), before);

    // Switching the policy adopts it and patches only what differs.
    env.apply("acme-sso", env.spec(json!({"adoptionPolicy": "Adopt"})))
        .await;
    let resource = env.wait_ready("acme-sso").await;
    assert_eq!(
        resource.status.unwrap().id.as_deref(),
        before["id"].as_str()
    );
    let patches = config_requests(&env, "PATCH");
    assert_eq!(patches.len(), 1);
    assert_eq!(
        keys(&patches[0]),
        [
            "allowedEmailDomains",
            "clientSecret",
            "discoveryURL",
            "organizationId"
        ]
    );
    assert_eq!(env.org().posts, 0);
    env.wait_event("acme-sso", "Adopted").await;
    operator.stop().await;
    env.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_create_whose_answer_is_lost_is_not_repeated() {
    let env = TestEnv::new("crash-create").await;
    // Infisical commits the create, then the connection drops before the answer arrives.
    env.emulator.control().inject_fault(Fault {
        method: Some("POST".into()),
        path_prefix: Some("/api/v1/sso/oidc/config".into()),
        count: 1,
        kind: FaultKind::CommitThenDrop,
    });
    let operator = env.start_operator();
    env.apply("acme-sso", env.spec(json!({}))).await;
    let resource = env.wait_ready("acme-sso").await;
    let org = env.org();
    assert_eq!(org.posts, 1, "exactly one create reached Infisical");
    assert_eq!(
        resource.status.unwrap().id.as_deref(),
        org.config.unwrap()["id"].as_str()
    );
    env.wait_unmarked("acme-sso").await;
    operator.stop().await;
    env.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_between_create_and_status_write_recovers_the_same_id() {
    let env = TestEnv::new("crash-restart").await;
    // Infisical commits the create but answers slowly; the operator dies before the answer.
    env.emulator.control().inject_fault(Fault {
        method: Some("POST".into()),
        path_prefix: Some("/api/v1/sso/oidc/config".into()),
        count: 1,
        kind: FaultKind::CommitThenDelay { millis: 3000 },
    });
    let operator = env.start_operator();
    env.apply("acme-sso", env.spec(json!({}))).await;
    env.wait_until(
        "acme-sso",
        "marked create-pending",
        Duration::from_secs(20),
        |r| {
            r.metadata
                .annotations
                .as_ref()
                .is_some_and(|a| a.contains_key("oidc.infisical-operator.io/create-pending"))
        },
    )
    .await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while env.org().config.is_none() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the create never committed"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    operator.crash();
    assert!(
        env.get("acme-sso")
            .await
            .status
            .and_then(|s| s.common.id)
            .is_none(),
        "the id was never written"
    );

    let operator = env.start_operator();
    let resource = env.wait_ready("acme-sso").await;
    let org = env.org();
    assert_eq!(org.posts, 1, "no second create after the restart");
    assert_eq!(
        resource.status.unwrap().id.as_deref(),
        org.config.unwrap()["id"].as_str()
    );
    // The audit trail survives the crash: one Created Event, even though the create completed
    // in the restarted operator.
    let created = env.wait_event("acme-sso", "Created").await;
    assert!(created.contains("restarted mid-create"), "{created}");
    assert!(
        created.contains("verified email domain of the organisation"),
        "{created}"
    );
    // Another pass (sync now) must not record it again.
    let passes = operator.metrics.reconciles.get();
    env.poke("acme-sso").await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while operator.metrics.reconciles.get() == passes {
        assert!(
            tokio::time::Instant::now() < deadline,
            "no pass after sync-now"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    operator.stop().await;
    let events = env.events("acme-sso").await;
    assert_eq!(
        events
            .iter()
            .filter(|(reason, _)| reason == "Created")
            .count(),
        1,
        "{events:?}"
    );
    env.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_resource_for_the_same_org_is_stalled_without_a_tug_of_war() {
    let env = TestEnv::new("conflict").await;
    let operator = env.start_operator();
    env.apply("first", env.spec(json!({}))).await;
    env.wait_ready("first").await;
    env.apply(
        "second",
        env.spec(json!({"clientId": "someone-else", "allowedEmailDomains": ["other.test"]})),
    )
    .await;
    let second = env
        .wait_ready_reason("second", "False", "OwnershipConflict")
        .await;
    assert!(
        ready(&second).unwrap().2.contains("first"),
        "{:?}",
        ready(&second)
    );
    for _ in 0..3 {
        env.poke("first").await;
        env.poke("second").await;
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    assert_eq!(ready(&env.get("first").await).unwrap().0, "True");
    assert_eq!(env.org().patches, 0, "no alternating patches");
    assert_eq!(env.org().posts, 1);
    operator.stop().await;
    env.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_secret_stalls_and_its_creation_brings_ready() {
    let env = TestEnv::new("missing-secret").await;
    let operator = env.start_operator();
    env.apply(
        "acme-sso",
        env.spec(json!({"clientSecretRef": {"name": "not-yet", "key": "secret"}})),
    )
    .await;
    let resource = env
        .wait_ready_reason("acme-sso", "False", "SecretNotFound")
        .await;
    assert!(
        ready(&resource).unwrap().2.contains("not-yet"),
        "{:?}",
        ready(&resource)
    );
    assert_eq!(condition(&resource, "Stalled").unwrap().0, "True");

    env.put_secret("not-yet", &[("other", "x")]).await;
    let resource = env
        .wait_ready_reason("acme-sso", "False", "SecretKeyMissing")
        .await;
    assert!(
        ready(&resource).unwrap().2.contains("\"secret\""),
        "{:?}",
        ready(&resource)
    );

    env.put_secret("not-yet", &[("secret", CANARY)]).await;
    env.wait_ready("acme-sso").await;
    assert_eq!(env.org().posts, 1);
    operator.stop().await;
    env.cleanup().await;
}

async fn assert_stalls_without_hot_loop(
    env: &TestEnv,
    name: &str,
    reason: &str,
    message_part: &str,
) {
    let resource = env.wait_ready_reason(name, "False", reason).await;
    let (_, _, message) = ready(&resource).unwrap();
    assert!(message.contains(message_part), "{message}");
    assert!(
        message.contains("reqId req-"),
        "Infisical's reqId is surfaced: {message}"
    );
    assert_eq!(condition(&resource, "Stalled").unwrap().0, "True");
    let before = env.emulator.control().requests().len();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let after = env.emulator.control().requests().len();
    assert!(
        after - before <= 2,
        "no hot loop: {} requests in 3s",
        after - before
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn permanent_infisical_errors_stall_with_message_and_req_id() {
    let env = TestEnv::new("permanent").await;
    let control = env.emulator.control();
    let operator = env.start_operator();

    control.set_org_flags(
        &env.org_id,
        OrgFlags {
            plan_oidc_sso: Some(false),
            ..OrgFlags::default()
        },
    );
    env.apply("acme-sso", env.spec(json!({}))).await;
    assert_stalls_without_hot_loop(&env, "acme-sso", "PlanRestricted", "plan restriction").await;

    control.set_org_flags(
        &env.org_id,
        OrgFlags {
            plan_oidc_sso: Some(true),
            ..OrgFlags::default()
        },
    );
    control.set_identity_permissions(&env.identity.identity_id, vec!["read".into()]);
    env.poke("acme-sso").await;
    assert_stalls_without_hot_loop(
        &env,
        "acme-sso",
        "PermissionDenied",
        "You are not allowed to create on sso",
    )
    .await;

    control.set_identity_permissions(
        &env.identity.identity_id,
        vec!["read".into(), "create".into(), "edit".into()],
    );
    control.inject_fault(Fault {
        method: Some("POST".into()),
        path_prefix: Some("/api/v1/sso/oidc/config".into()),
        count: 1,
        kind: FaultKind::Status {
            status: 422,
            body: Some(json!({"reqId": "req-AAAAAAAAAAAAAA", "statusCode": 422, "error": "ValidationFailure",
                "message": [{"code": "custom", "message": "Issuer is required", "path": ["issuer"]}]})),
        },
    });
    env.poke("acme-sso").await;
    assert_stalls_without_hot_loop(
        &env,
        "acme-sso",
        "ValidationFailed",
        "issuer: Issuer is required",
    )
    .await;

    // Infisical keeps refusing even a fresh token: the identity is broken, not the token.
    control.inject_fault(Fault {
        method: None,
        path_prefix: Some("/api/v1/sso/oidc/config".into()),
        count: 2,
        kind: FaultKind::Status {
            status: 401,
            body: Some(json!({"reqId": "req-BBBBBBBBBBBBBB", "statusCode": 401, "error": "UnauthorizedError", "message": "Token missing"})),
        },
    });
    env.poke("acme-sso").await;
    assert_stalls_without_hot_loop(&env, "acme-sso", "AuthenticationFailed", "Token missing").await;

    // Fixing Infisical and asking for a sync brings it back.
    env.poke("acme-sso").await;
    env.wait_ready("acme-sso").await;
    operator.stop().await;
    env.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_outage_backs_off_and_recovers() {
    let env = TestEnv::new("outage").await;
    let control = env.emulator.control();
    control.set_outage(true);
    let operator = env.start_operator();
    env.apply("acme-sso", env.spec(json!({}))).await;
    let resource = env
        .wait_ready_reason("acme-sso", "False", "InfisicalUnreachable")
        .await;
    assert_eq!(condition(&resource, "Reconciling").unwrap().0, "True");
    assert!(condition(&resource, "Stalled").is_none());

    control.set_outage(false);
    control.inject_fault(Fault {
        method: Some("GET".into()),
        path_prefix: Some("/api/v1/sso/oidc/config".into()),
        count: 1,
        kind: FaultKind::Status {
            status: 503,
            body: None,
        },
    });
    env.wait_ready("acme-sso").await;
    assert_eq!(env.org().posts, 1);
    operator.stop().await;
    env.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deletion_orphans_or_deactivates() {
    let env = TestEnv::new("delete").await;
    let operator = env.start_operator();
    env.apply("acme-sso", env.spec(json!({}))).await;
    env.wait_ready("acme-sso").await;
    let before = env.org().config.unwrap();
    env.delete("acme-sso").await;
    env.wait_gone("acme-sso").await;
    assert_eq!(
        env.org().config.unwrap(),
        before,
        "Orphan leaves the configuration untouched"
    );
    assert_eq!(env.org().patches, 0);

    env.apply(
        "deactivated",
        env.spec(json!({"deletionPolicy": "Deactivate", "adoptionPolicy": "Adopt"})),
    )
    .await;
    env.wait_ready("deactivated").await;
    env.delete("deactivated").await;
    env.wait_gone("deactivated").await;
    assert_eq!(env.org().config.unwrap()["isActive"], false);
    let patches = config_requests(&env, "PATCH");
    assert_eq!(
        keys(patches.last().unwrap()),
        ["isActive", "organizationId"]
    );
    operator.stop().await;
    env.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invalid_resource_is_reported_and_does_not_block_others() {
    let env = TestEnv::new("invalid").await;
    let operator = env.start_operator();
    // A 64-octet label passes the CRD's rules (CEL cannot count octets after IDNA), so only the
    // operator can refuse it.
    let long_label = format!("{}.example.com", "a".repeat(64));
    env.apply(
        "broken",
        env.spec(
            json!({"organizationId": "00000000-0000-4000-8000-000000000000",
            "allowedEmailDomains": ["example.com", long_label]}),
        ),
    )
    .await;
    env.apply("acme-sso", env.spec(json!({}))).await;
    let broken = env
        .wait_ready_reason("broken", "False", "InvalidSpec")
        .await;
    let message = ready(&broken).unwrap().2;
    assert!(
        message.contains("spec.allowedEmailDomains[1]")
            && message.contains("longer than 63 octets"),
        "{message}"
    );
    assert!(
        !config_requests(&env, "POST")
            .iter()
            .any(|body| body["organizationId"] == "00000000-0000-4000-8000-000000000000"),
        "nothing reaches Infisical for an invalid spec"
    );
    env.wait_ready("acme-sso").await;
    operator.stop().await;
    env.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn suspend_stops_all_changes() {
    let env = TestEnv::new("suspend").await;
    let operator = env.start_operator();
    env.apply("acme-sso", env.spec(json!({"suspend": true})))
        .await;
    env.wait_ready_reason("acme-sso", "False", "Suspended")
        .await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(
        env.emulator.control().requests().is_empty(),
        "no call to Infisical while suspended"
    );
    env.apply("acme-sso", env.spec(json!({"suspend": false})))
        .await;
    env.wait_ready("acme-sso").await;
    operator.stop().await;
    env.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_spec_edit_whose_first_attempt_failed_is_announced_as_an_update() {
    let env = TestEnv::new("edit-after-failure").await;
    let operator = env.start_operator();
    env.apply("acme-sso", env.spec(json!({}))).await;
    env.wait_ready("acme-sso").await;
    // The first PATCH for the edit fails with a 500: the pass reports it (observedGeneration
    // advances with the failure), and the retry applies the edit.
    env.emulator.control().inject_fault(Fault {
        method: Some("PATCH".into()),
        path_prefix: Some("/api/v1/sso/oidc/config".into()),
        count: 1,
        kind: FaultKind::Status {
            status: 500,
            body: None,
        },
    });
    env.apply("acme-sso", env.spec(json!({"clientId": "edited"})))
        .await;
    env.wait_until(
        "acme-sso",
        "the edit applied",
        Duration::from_secs(30),
        |r| {
            r.status.as_ref().is_some_and(|s| {
                s.client_id.as_deref() == Some("edited") && ready(r).is_some_and(|c| c.0 == "True")
            })
        },
    )
    .await;
    assert_eq!(
        config_requests(&env, "PATCH").len(),
        2,
        "one failed PATCH, one applied"
    );
    // The Event follows the status write that made the resource Ready.
    env.wait_event("acme-sso", "Updated").await;
    let events = env.events("acme-sso").await;
    let updated = events.iter().find(|(reason, _)| reason == "Updated");
    assert!(
        updated.is_some_and(|(_, note)| note.contains("clientId")),
        "{events:?}"
    );
    assert!(
        !events.iter().any(|(reason, _)| reason == "DriftCorrected"),
        "an edit is not drift: {events:?}"
    );
    operator.stop().await;
    env.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_pass_is_reported_on_its_resource_and_the_others_carry_on() {
    let env = TestEnv::new("panic").await;
    let operator = env.start_operator_with(|config| {
        config.settings.before_pass = Some(BeforePass(Arc::new(|resource: &OidcSsoConfig| {
            if resource.metadata.name.as_deref() == Some("bomb") {
                panic!("injected by the test");
            }
        })));
        config.concurrency = 1;
    });
    let other_org = env.another_org("bomb-identity").await;
    env.apply(
        "bomb",
        env.spec(json!({"organizationId": other_org,
            "authentication": {"universalAuth": {"credentialsRef": {"name": "bomb-identity"}}}})),
    )
    .await;
    let bomb = env
        .wait_ready_reason("bomb", "False", "ReconcilePanicked")
        .await;
    let message = ready(&bomb).unwrap().2;
    assert!(
        !message.contains("injected"),
        "the panic text stays in the log: {message}"
    );
    // With one pass at a time, a controller killed by the panic would never get to these.
    env.apply("acme-sso", env.spec(json!({}))).await;
    env.wait_ready("acme-sso").await;
    env.wait_event("bomb", "ReconcilePanicked").await;
    operator.stop().await;
    env.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_operator_stops_with_an_error_when_a_part_of_it_cannot_run() {
    let env = TestEnv::new("stops").await;
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = taken.local_addr().unwrap();
    let operator = env.start_operator_with(|config| config.http_address = Some(address));
    let error = operator
        .stopped(Duration::from_secs(10))
        .await
        .expect_err("a health server that cannot listen stops the operator");
    assert!(error.to_string().contains(&address.to_string()), "{error}");
    env.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_is_pruned_when_a_resource_goes_away_without_the_operator() {
    let env = TestEnv::new("prune").await;
    let operator = env.start_operator();
    env.apply("acme-sso", env.spec(json!({}))).await;
    let first = env.wait_ready("acme-sso").await;
    assert_eq!(operator.context.remembered(), 1);
    assert_eq!(operator.metrics.ready_resources.get(), 1);
    // As the Troubleshooting section suggests for a stuck deletion: the finalizer removed by
    // hand, so the operator never runs its cleanup for this object.
    env.api
        .patch_metadata(
            "acme-sso",
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"finalizers": null}})),
        )
        .await
        .unwrap();
    env.delete("acme-sso").await;
    env.wait_gone("acme-sso").await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while operator.context.remembered() != 0 || operator.metrics.ready_resources.get() != 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "memory {} and ready gauge {} not pruned",
            operator.context.remembered(),
            operator.metrics.ready_resources.get()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // The same name again is a new object (a new uid) and starts afresh.
    env.apply("acme-sso", env.spec(json!({"adoptionPolicy": "Adopt"})))
        .await;
    let second = env.wait_ready("acme-sso").await;
    assert_ne!(first.metadata.uid, second.metadata.uid);
    assert_eq!(operator.context.remembered(), 1);
    assert_eq!(operator.metrics.ready_resources.get(), 1);
    operator.stop().await;
    env.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_an_outage_longer_than_the_backoff_every_waiting_resource_is_retried_at_once() {
    let env = TestEnv::new("outage-return").await;
    let control = env.emulator.control();
    control.set_outage(true);
    let operator = env.start_operator_with(|config| {
        config.settings.base_backoff = Duration::from_secs(1);
        config.settings.max_backoff = Duration::from_secs(30);
        config.settings.recovery_probe_interval = Duration::from_millis(500);
        // The budget is not what this test measures: with the default 60 writes a minute the
        // logins and creates of the return are paced by the limiter (about a second each).
        config.http.writes_per_minute = 6000;
        config.http.reads_per_minute = 6000;
    });
    let names: Vec<String> = (0..6).map(|i| format!("team-{i}")).collect();
    for name in &names {
        let secret = format!("{name}-identity");
        let org = env.another_org(&secret).await;
        env.apply(
            name,
            env.spec(json!({"organizationId": org,
                "authentication": {"universalAuth": {"credentialsRef": {"name": secret}}}})),
        )
        .await;
    }
    for name in &names {
        env.wait_ready_reason(name, "False", "InfisicalUnreachable")
            .await;
    }
    // Long enough for each resource's backoff to grow past 16 s.
    let outage = Duration::from_secs(30);
    tokio::time::sleep(outage).await;
    let failures = operator.metrics.reconciles.get();
    // 1+2+4+8+16 s of backoff fit in 30 s: about six passes each, not one every few hundred ms.
    assert!(
        failures <= 12 * names.len() as u64,
        "{failures} passes for {} resources during a 30 s outage: no backoff",
        names.len()
    );
    control.set_outage(false);
    let returned = tokio::time::Instant::now();
    for name in &names {
        env.wait_ready(name).await;
    }
    let recovered_in = returned.elapsed();
    assert!(
        recovered_in < Duration::from_secs(3),
        "all Ready {recovered_in:?} after Infisical's return, instead of when each backoff ends \
         (up to 30 s)"
    );
    assert!(
        operator.metrics.recovery_retries.get() >= names.len() as u64,
        "each waiting resource was retried by the recovery probe"
    );
    operator.stop().await;
    env.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_self_hosted_instance_behind_a_private_ca_is_reached_through_ca_bundle_ref() {
    let trusted = pki();
    let env = TestEnv::with_emulator_tls("private-ca", Some(trusted.server.clone())).await;
    assert!(env.emulator.base_url().starts_with("https://"));
    env.put_secret("infisical-ca", &[("ca.crt", &trusted.ca_pem)])
        .await;
    let operator = env.start_operator_with(|config| {
        config.settings.allowed_hosts = AllowedHosts::new(["localhost"]);
    });
    // Without the CA the instance's certificate is not trusted.
    env.apply("acme-sso", env.spec(json!({}))).await;
    env.wait_ready_reason("acme-sso", "False", "InfisicalUnreachable")
        .await;
    assert_eq!(env.org().posts, 0);
    env.apply(
        "acme-sso",
        env.spec(json!({"caBundleRef": {"name": "infisical-ca"}})),
    )
    .await;
    let resource = env.wait_ready("acme-sso").await;
    assert_eq!(env.org().posts, 1);
    assert_eq!(
        resource.status.unwrap().id.as_deref(),
        env.org().config.unwrap()["id"].as_str()
    );
    // A CA that did not sign the certificate is refused again.
    env.put_secret("infisical-ca", &[("ca.crt", &pki().ca_pem)])
        .await;
    env.poke("acme-sso").await;
    env.wait_ready_reason("acme-sso", "False", "InfisicalUnreachable")
        .await;
    operator.stop().await;
    env.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drift_is_found_and_corrected_by_the_resync_timer_alone() {
    let env = TestEnv::new("resync-timer").await;
    let operator = env.start_operator_with(|config| {
        config.settings.default_resync = Duration::from_secs(2);
    });
    env.apply("acme-sso", env.spec(json!({}))).await;
    env.wait_ready("acme-sso").await;
    let gets_before = config_requests(&env, "GET").len();
    // An edit made in Infisical's UI; nothing changes in Kubernetes, nobody pokes the resource.
    env.emulator
        .control()
        .put_config_out_of_band(&env.org_id, json!({"clientId": "changed-in-the-ui"}));
    let note = env.wait_event("acme-sso", "DriftCorrected").await;
    assert!(note.contains("clientId"), "{note}");
    assert_eq!(
        env.org().config.unwrap()["clientId"],
        "infisical",
        "the timer's pass put the spec back"
    );
    assert!(config_requests(&env, "GET").len() > gets_before);
    operator.stop().await;
    env.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_status_write_from_a_stale_copy_is_refused_by_the_api_server() {
    let env = TestEnv::new("stale-write").await;
    let operator = env.start_operator();
    env.apply("acme-sso", env.spec(json!({}))).await;
    let synced = env.wait_ready("acme-sso").await;
    operator.stop().await;
    // Someone changes the object after the copy was read.
    env.api
        .patch_metadata(
            "acme-sso",
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"labels": {"team": "platform"}}})),
        )
        .await
        .unwrap();
    let mut stale = synced.clone();
    // A status this pass would write (the configuration went inactive in Infisical).
    env.emulator
        .control()
        .put_config_out_of_band(&env.org_id, json!({"isActive": false}));
    stale.spec.is_active = false;
    // Without the record of what it last synced from, a first pass checks Infisical at once
    // (instead of holding until its recheck slot, see `resume`).
    if let Some(status) = stale.status.as_mut() {
        status.inputs_digest = None;
    }
    let ctx = lifecycle::context(
        env.client.clone(),
        &OperatorConfig {
            settings: Settings {
                allowed_hosts: AllowedHosts::new(["127.0.0.1"]),
                idp_resolver: test_idp_resolver(),
                default_preflight: infisical_oidc_operator::api::PreflightPolicy::Skip,
                ..Settings::default()
            },
            ..OperatorConfig::default()
        },
        Arc::new(Metrics::default()),
    );
    let error = infisical_oidc_operator::reconcile::sync::<
        infisical_oidc_operator::reconcile::oidc::Oidc,
    >(&ctx, &stale)
    .await
    .expect_err("the conditional write is refused");
    assert_eq!(error.reason(), "KubernetesConflict", "{error}");
    let stored = env.get("acme-sso").await;
    assert_eq!(
        stored.status.unwrap().is_active,
        Some(true),
        "the stale pass wrote nothing"
    );
    env.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_static_token_is_reported_days_before_it_expires_and_stalls_after() {
    let env = TestEnv::new("token-expiry").await;
    let control = env.emulator.control();
    let three_days = control
        .mint_token(
            &env.identity.identity_id,
            TokenMint {
                expires_in: Some(3 * 86_400),
                ..TokenMint::default()
            },
        )
        .unwrap();
    env.put_secret(
        "infisical-token",
        &[("accessToken", &three_days.access_token)],
    )
    .await;
    let token_auth = json!({"authentication": {"universalAuth": null, "token": {"secretRef": {"name": "infisical-token", "key": "accessToken"}}}});
    let operator = env.start_operator();
    env.apply("acme-sso", env.spec(token_auth.clone())).await;
    let resource = env.wait_ready("acme-sso").await;
    let (status, reason, message) = condition(&resource, "TokenExpiring").expect("condition set");
    assert_eq!(
        (status.as_str(), reason.as_str()),
        ("True", "TokenExpiring")
    );
    assert!(
        message.contains("in 2 days") || message.contains("in 3 days"),
        "{message}"
    );
    let warning = env.wait_event("acme-sso", "TokenExpiring").await;
    assert!(
        !warning.contains(&three_days.access_token),
        "no token in the Event"
    );

    // An expired token: Stalled before any call to Infisical.
    let expired = control
        .mint_token(
            &env.identity.identity_id,
            TokenMint {
                expires_in: Some(-60),
                ..TokenMint::default()
            },
        )
        .unwrap();
    env.put_secret("infisical-token", &[("accessToken", &expired.access_token)])
        .await;
    control.clear_requests();
    let stalled = env
        .wait_ready_reason("acme-sso", "False", "TokenExpired")
        .await;
    assert_eq!(condition(&stalled, "Stalled").unwrap().1, "TokenExpired");
    assert!(condition(&stalled, "TokenExpiring").is_none());
    assert!(
        control.requests().is_empty(),
        "an expired token is never sent to Infisical"
    );

    // A token without an expiry, past Infisical's cut-off for such tokens: refused by Infisical,
    // reported with its own reason.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    control.set_legacy_token_expiration_enforced_at(now - 91 * 86_400);
    let legacy = control
        .mint_token(
            &env.identity.identity_id,
            TokenMint {
                legacy: true,
                ..TokenMint::default()
            },
        )
        .unwrap();
    env.put_secret("infisical-token", &[("accessToken", &legacy.access_token)])
        .await;
    let stalled = env
        .wait_ready_reason("acme-sso", "False", "TokenWithoutExpiry")
        .await;
    let (_, reason, message) = condition(&stalled, "Stalled").unwrap();
    assert_eq!(reason, "TokenWithoutExpiry");
    assert!(message.contains("exceeded max age"), "{message}");
    assert!(!message.contains(&legacy.access_token));
    operator.stop().await;
    env.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resources_sharing_a_wrong_identity_secret_never_lock_the_identity() {
    let env = TestEnv::new("lockout").await;
    let control = env.emulator.control();
    env.put_secret(
        "shared-identity",
        &[
            ("clientId", &env.identity.client_id),
            ("clientSecret", "wrong"),
        ],
    )
    .await;
    let operator = env.start_operator();
    let mut names = Vec::new();
    for i in 0..5 {
        let name = format!("team-{i}");
        // Only the first targets the identity's own organisation; the others share the identity.
        let org = if i == 0 {
            env.org_id.clone()
        } else {
            control.seed_org(OrgSeed::default())
        };
        env.apply(
            &name,
            env.spec(json!({"organizationId": org,
                "authentication": {"universalAuth": {"credentialsRef": {"name": "shared-identity"}}}})),
        )
        .await;
        names.push(name);
    }
    for name in &names {
        env.wait_ready_reason(name, "False", "AuthenticationFailed")
            .await;
    }
    let stats = control.login_stats(&env.identity.identity_id).unwrap();
    assert!(
        stats.failed <= 3,
        "{stats:?}: Infisical locks after 3 failures in 30 s"
    );
    assert!(
        stats.lockout.as_ref().is_none_or(|l| !l.locked_out),
        "{stats:?}"
    );
    // The secret is fixed: a new secret is a new login, at once.
    env.put_secret(
        "shared-identity",
        &[
            ("clientId", &env.identity.client_id),
            ("clientSecret", &env.identity.client_secret),
        ],
    )
    .await;
    env.wait_ready("team-0").await;
    for name in &names[1..] {
        // Logged in; the identity belongs to another organisation.
        env.wait_ready_reason(name, "False", "PermissionDenied")
            .await;
    }
    let stats = control.login_stats(&env.identity.identity_id).unwrap();
    assert!(stats.failed <= 3 && stats.locked == 0, "{stats:?}");
    assert!(stats.succeeded >= 1, "{stats:?}");
    operator.stop().await;
    env.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_locked_identity_is_waited_out_not_hammered() {
    let env = TestEnv::new("locked").await;
    let control = env.emulator.control();
    // Locked by someone else's failed logins (another tool, a person).
    for _ in 0..3 {
        let _ = reqwest_login(&env, "wrong").await;
    }
    assert!(
        control
            .login_stats(&env.identity.identity_id)
            .unwrap()
            .lockout
            .is_some_and(|l| l.locked_out)
    );
    let operator = env.start_operator();
    env.apply("acme-sso", env.spec(json!({}))).await;
    let resource = env
        .wait_ready_reason("acme-sso", "False", "LoginLocked")
        .await;
    assert_eq!(condition(&resource, "Reconciling").unwrap().0, "True");
    tokio::time::sleep(Duration::from_secs(2)).await;
    let stats = control.login_stats(&env.identity.identity_id).unwrap();
    assert_eq!(
        stats.locked, 1,
        "one refused login, then the lock is waited out: {stats:?}"
    );
    operator.stop().await;
    env.cleanup().await;
}

/// A Universal Auth login sent directly to the emulator, as another client would.
async fn reqwest_login(env: &TestEnv, secret: &str) -> u16 {
    let body = json!({"clientId": env.identity.client_id, "clientSecret": secret});
    let url = format!(
        "{}/api/v1/auth/universal-auth/login",
        env.emulator.base_url()
    );
    reqwest::Client::new()
        .post(url)
        .json(&body)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_typo_in_an_idp_host_is_a_spec_problem_not_an_outage() {
    let env = TestEnv::new("idp-typo").await;
    let operator = env.start_operator();
    // exmaple.com: unknown to DNS. Infisical itself would answer a bare 500 for it.
    env.apply(
        "acme-sso",
        env.spec(
            json!({"discoveryURL": "https://idp.exmaple.com/.well-known/openid-configuration"}),
        ),
    )
    .await;
    let resource = env
        .wait_ready_reason("acme-sso", "False", "IdpHostUnresolvable")
        .await;
    let message = ready(&resource).unwrap().2;
    assert!(
        message.contains("spec.discoveryURL") && message.contains("idp.exmaple.com"),
        "{message}"
    );
    assert_eq!(condition(&resource, "Stalled").unwrap().0, "True");
    assert!(
        config_requests(&env, "POST").is_empty() && config_requests(&env, "PATCH").is_empty(),
        "0 Infisical writes"
    );
    assert!(
        !resource
            .annotations()
            .contains_key("oidc.infisical-operator.io/create-pending"),
        "no create was attempted"
    );
    // Fixing the typo creates the configuration.
    env.apply("acme-sso", env.spec(json!({}))).await;
    env.wait_ready("acme-sso").await;
    assert_eq!(env.org().posts, 1);
    // An update to a host that does not resolve is refused the same way, before any PATCH.
    env.apply(
        "acme-sso",
        env.spec(json!({"configurationType": "custom", "discoveryURL": null,
            "issuer": "https://idp.example.com",
            "authorizationEndpoint": "https://idp.example.com/authorize",
            "jwksUri": "https://keys.idp-typo.invalid/jwks",
            "tokenEndpoint": "https://idp.example.com/token",
            "userinfoEndpoint": "https://idp.example.com/userinfo"})),
    )
    .await;
    let resource = env
        .wait_ready_reason("acme-sso", "False", "IdpHostUnresolvable")
        .await;
    assert!(ready(&resource).unwrap().2.contains("spec.jwksUri"));
    assert!(config_requests(&env, "PATCH").is_empty());
    operator.stop().await;
    env.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idp_host_on_a_private_address_is_stalled_with_infisicals_message() {
    let env = TestEnv::new("idp-private").await;
    let private: std::net::IpAddr = "10.20.30.40".parse().unwrap();
    // The name resolves, for the operator and for Infisical, to a private address.
    env.emulator
        .control()
        .set_host("sso.corp.example.com", HostAnswer::Addresses(vec![private]));
    let operator = env.start_operator_with(|config| {
        let mut aliases = std::collections::HashMap::new();
        aliases.insert("sso.corp.example.com".to_string(), vec![private]);
        config.settings.idp_resolver = IdpResolver::with_aliases(aliases, false);
    });
    env.apply(
        "acme-sso",
        env.spec(json!({"discoveryURL": "https://sso.corp.example.com/.well-known/openid-configuration"})),
    )
    .await;
    let resource = env
        .wait_ready_reason("acme-sso", "False", "RejectedByInfisical")
        .await;
    let message = ready(&resource).unwrap().2;
    assert!(
        message.contains("Local IPs not allowed as URL"),
        "{message}"
    );
    assert_eq!(condition(&resource, "Stalled").unwrap().0, "True");
    assert!(env.org().config.is_none());
    operator.stop().await;
    env.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubernetes_auth_needs_a_service_account_that_opted_in() {
    let env = TestEnv::new("k8s-auth-optin").await;
    let operator = env.start_operator();
    let spec =
        env.spec(env.kubernetes_auth(&env.identity.identity_id, "infisical-sso", &["infisical"]));
    env.apply("acme-sso", spec).await;
    let missing = env
        .wait_ready_reason("acme-sso", "False", "ServiceAccountNotFound")
        .await;
    assert!(ready(&missing).unwrap().2.contains("infisical-sso"));
    // The account exists but never opted in: nobody may mint its tokens through an OidcSsoConfig.
    env.put_service_account("infisical-sso", false).await;
    env.poke("acme-sso").await;
    let refused = env
        .wait_ready_reason("acme-sso", "False", "ServiceAccountNotAllowed")
        .await;
    assert_eq!(condition(&refused, "Stalled").unwrap().0, "True");
    assert!(
        ready(&refused)
            .unwrap()
            .2
            .contains("oidc.infisical-operator.io/allow-token-request=true")
    );
    assert!(
        env.emulator.control().requests().is_empty(),
        "nothing reached Infisical"
    );
    operator.stop().await;
    env.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn observe_reports_the_exact_plan_and_manage_applies_exactly_it() {
    let env = TestEnv::new("observe").await;
    env.emulator.control().put_config_out_of_band(
        &env.org_id,
        json!({"configurationType": "discoveryURL", "discoveryURL": "https://old-idp.example.com/.well-known/openid-configuration",
            "clientId": "infisical", "clientSecret": "old", "isActive": true, "allowedEmailDomains": "example.com, example.org"}),
    );
    let before = env.org().config.unwrap();
    let operator = env.start_operator();
    let observe = json!({"managementPolicy": "Observe", "adoptionPolicy": "Adopt"});
    env.apply("acme-sso", env.spec(observe)).await;
    let observed = env
        .wait_ready_reason("acme-sso", "False", "WouldUpdate")
        .await;
    let status = observed.status.clone().unwrap();
    let plan = status.plan.clone().expect("a plan in status");
    assert_eq!(plan.action, "Update");
    assert_eq!(plan.fields, ["discoveryURL", "clientSecret"]);
    assert!(status.id.is_none(), "observing claims nothing");
    assert!(
        condition(&observed, "Reconciling").is_none() && condition(&observed, "Stalled").is_none()
    );
    assert!(
        observed
            .metadata
            .finalizers
            .as_ref()
            .is_none_or(|f| f.is_empty()),
        "Observe adds no finalizer"
    );
    assert!(
        !observed
            .annotations()
            .contains_key("oidc.infisical-operator.io/create-pending")
    );
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(
        (env.org().posts, env.org().patches),
        (0, 0),
        "nothing written to Infisical"
    );
    assert_eq!(env.org().config.unwrap(), before);

    // Manage applies the plan: one PATCH with exactly the planned fields.
    env.apply(
        "acme-sso",
        env.spec(json!({"managementPolicy": "Manage", "adoptionPolicy": "Adopt"})),
    )
    .await;
    let managed = env.wait_ready("acme-sso").await;
    assert_eq!(
        managed.status.as_ref().unwrap().id.as_deref(),
        before["id"].as_str()
    );
    assert!(managed.status.as_ref().unwrap().plan.is_none());
    let patches = config_requests(&env, "PATCH");
    assert_eq!(patches.len(), 1);
    let mut sent: Vec<String> = patches[0]
        .as_object()
        .unwrap()
        .keys()
        .filter(|k| *k != "organizationId")
        .cloned()
        .collect();
    sent.sort();
    let mut planned = plan.fields.clone();
    planned.sort();
    assert_eq!(sent, planned);
    assert!(managed.status.unwrap().sso_enforcement_reset.is_some());
    env.wait_event("acme-sso", "SsoEnforcementReset").await;
    operator.stop().await;
    env.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drift_is_reported_before_it_is_corrected_and_never_shows_a_secret() {
    let env = TestEnv::new("drift-report").await;
    let operator = env.start_operator();
    env.apply("acme-sso", env.spec(json!({}))).await;
    env.wait_ready("acme-sso").await;
    env.emulator.control().put_config_out_of_band(
        &env.org_id,
        json!({"clientId": "changed-in-the-ui", "clientSecret": "someone-elses-secret"}),
    );
    env.poke("acme-sso").await;
    let detected = env.wait_event("acme-sso", "DriftDetected").await;
    assert!(detected.contains("clientId"), "{detected}");
    assert!(
        detected.contains("clientSecret (its value differs; not shown)"),
        "{detected}"
    );
    env.wait_event("acme-sso", "DriftCorrected").await;
    env.wait_event("acme-sso", "SsoEnforcementReset").await;
    let resource = env.get("acme-sso").await;
    let drift = resource
        .status
        .as_ref()
        .unwrap()
        .last_drift
        .clone()
        .unwrap();
    assert_eq!(drift.fields, ["clientId", "clientSecret"]);
    // Neither the old value nor ours appears in any Event or in status.
    let everything = format!("{:?}{:?}", env.events("acme-sso").await, resource.status);
    for secret in ["someone-elses-secret", CANARY] {
        assert!(!everything.contains(secret), "{secret} leaked");
    }
    // DriftDetected came before the correction.
    let reasons: Vec<String> = env
        .events("acme-sso")
        .await
        .into_iter()
        .map(|(r, _)| r)
        .collect();
    let position = |r: &str| reasons.iter().position(|x| x == r).unwrap();
    assert!(
        position("DriftDetected") <= position("DriftCorrected"),
        "{reasons:?}"
    );
    operator.stop().await;
    env.cleanup().await;
}

/// The DriftDetected Events of a resource, as (note, times seen), oldest first.
async fn drift_events(env: &TestEnv, name: &str) -> Vec<(String, i32)> {
    let events: kube::Api<k8s_openapi::api::core::v1::Event> =
        kube::Api::namespaced(env.client.clone(), &env.namespace);
    let mut found: Vec<_> = events
        .list(&kube::api::ListParams::default())
        .await
        .unwrap()
        .into_iter()
        .filter(|e| {
            e.involved_object.name.as_deref() == Some(name)
                && e.reason.as_deref() == Some("DriftDetected")
        })
        .map(|e| {
            let seen = e.series.as_ref().and_then(|s| s.count).unwrap_or(1);
            (e.event_time.clone(), e.message.unwrap_or_default(), seen)
        })
        .collect();
    found.sort_by(|a, b| a.0.as_ref().map(|t| t.0).cmp(&b.0.as_ref().map(|t| t.0)));
    found
        .into_iter()
        .map(|(_, note, seen)| (note, seen))
        .collect()
}

async fn wait_drift_events(
    env: &TestEnv,
    name: &str,
    done: impl Fn(&[(String, i32)]) -> bool,
) -> Vec<(String, i32)> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let events = drift_events(env, name).await;
        if done(&events) {
            return events;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "DriftDetected Events not as expected: {events:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_drift_event_names_its_own_fields_and_only_identical_ones_fold() {
    let env = TestEnv::new("drift-events").await;
    let operator = env.start_operator();
    env.apply("acme-sso", env.spec(json!({}))).await;
    env.wait_ready("acme-sso").await;
    let control = env.emulator.control();

    control.put_config_out_of_band(&env.org_id, json!({"clientId": "changed-in-the-ui"}));
    env.poke("acme-sso").await;
    wait_drift_events(&env, "acme-sso", |e| e.len() == 1).await;

    // A later drift of another field, within the six minutes a series lasts.
    control.put_config_out_of_band(&env.org_id, json!({"allowedEmailDomains": "evil.example"}));
    env.poke("acme-sso").await;
    let events = wait_drift_events(&env, "acme-sso", |e| e.len() == 2).await;
    assert!(
        events[0].0.contains("clientId") && !events[0].0.contains("allowedEmailDomains"),
        "{events:?}"
    );
    assert!(
        events[1].0.contains("allowedEmailDomains") && !events[1].0.contains("clientId"),
        "{events:?}"
    );

    // The first drift again: the same note, so it joins the first Event's series.
    control.put_config_out_of_band(&env.org_id, json!({"clientId": "changed-in-the-ui"}));
    env.poke("acme-sso").await;
    let events = wait_drift_events(&env, "acme-sso", |e| e.iter().any(|(_, n)| *n == 2)).await;
    assert_eq!(events.len(), 2, "{events:?}");
    assert_eq!(events[0].1, 2, "{events:?}");
    assert_eq!(events[1].1, 1, "{events:?}");
    operator.stop().await;
    env.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_create_takes_one_pass_and_one_read_of_infisical() {
    let env = TestEnv::new("one-get").await;
    let operator = env.start_operator();
    env.apply("acme-sso", env.spec(json!({}))).await;
    env.wait_ready("acme-sso").await;
    env.wait_unmarked("acme-sso").await;
    // The create's own writes (finalizer with the mark, status, unmark) must start no pass:
    // proving an absence takes a moment of quiet after them.
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert_eq!(
        operator.metrics.reconciles.get(),
        1,
        "one pass for the create"
    );
    assert_eq!(
        config_requests(&env, "GET").len(),
        1,
        "one GET for the create"
    );
    assert_eq!(config_requests(&env, "POST").len(), 1);
    // A sync-now request is a new input: it reads Infisical again.
    env.poke("acme-sso").await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while config_requests(&env, "GET").len() < 2 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "sync-now did not read Infisical"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    operator.stop().await;
    env.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubernetes_auth_reaches_ready_with_no_infisical_credential_in_the_cluster() {
    let env = TestEnv::new("k8s-auth").await;
    let secrets: kube::Api<k8s_openapi::api::core::v1::Secret> =
        kube::Api::namespaced(env.client.clone(), &env.namespace);
    // No Universal Auth credential anywhere: the only Secret left is the IdP's client secret.
    secrets
        .delete("infisical-identity", &Default::default())
        .await
        .unwrap();
    env.kubernetes_auth_identity(&env.namespace, "infisical-sso", "infisical", true, 2)
        .await;
    env.put_service_account("infisical-sso", true).await;
    let operator = env.start_operator_with(|config| {
        config.settings.default_resync = Duration::from_secs(2);
    });
    let spec =
        env.spec(env.kubernetes_auth(&env.identity.identity_id, "infisical-sso", &["infisical"]));
    env.apply("acme-sso", spec).await;
    let resource = env.wait_ready("acme-sso").await;
    assert_eq!(
        resource.status.unwrap().id.as_deref(),
        env.org().config.unwrap()["id"].as_str()
    );
    let names: Vec<String> = secrets
        .list(&Default::default())
        .await
        .unwrap()
        .items
        .into_iter()
        .filter_map(|s| s.metadata.name)
        .collect();
    assert_eq!(names, ["idp-client"], "no Infisical credential is stored");
    let reviews = env.emulator.control().token_reviews();
    assert!(
        !reviews.is_empty(),
        "Infisical reviewed the token with the API server"
    );
    assert!(reviews.iter().all(|r| r.outcome == "ok"), "{reviews:?}");
    assert_eq!(
        reviews[0].username.as_deref(),
        Some(format!("system:serviceaccount:{}:infisical-sso", env.namespace).as_str())
    );
    assert_eq!(reviews[0].audiences, ["infisical"]);
    // Infisical's token lives 2 s: the timer's resyncs log in again with fresh service account
    // tokens, and no pass fails.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while env.emulator.control().token_reviews().len() < 3 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "no new login after the token expired"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(
        operator
            .metrics
            .encode()
            .lines()
            .filter(|l| l.starts_with("infisical_oidc_operator_reconcile_errors_total{"))
            .count(),
        0,
        "{}",
        operator.metrics.encode()
    );
    env.wait_ready("acme-sso").await;
    // The ServiceAccount is deleted: the next pass stops before any login.
    let accounts: kube::Api<k8s_openapi::api::core::v1::ServiceAccount> =
        kube::Api::namespaced(env.client.clone(), &env.namespace);
    accounts
        .delete("infisical-sso", &Default::default())
        .await
        .unwrap();
    env.poke("acme-sso").await;
    env.wait_ready_reason("acme-sso", "False", "ServiceAccountNotFound")
        .await;
    operator.stop().await;
    env.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubernetes_auth_refusals_name_the_problem() {
    for (what, namespaces, names, audience, reviewer_may_review, expected) in [
        (
            "wrong namespace",
            "elsewhere",
            "infisical-sso",
            "infisical",
            true,
            "K8s namespace not allowed",
        ),
        (
            "wrong name",
            "*",
            "another-account",
            "infisical",
            true,
            "K8s name not allowed",
        ),
        (
            "wrong audience",
            "*",
            "infisical-sso",
            "not-infisical",
            true,
            "invalid for the target audiences",
        ),
        (
            "reviewer without permission",
            "*",
            "infisical-sso",
            "infisical",
            false,
            "KubernetesTokenReviewerForbidden",
        ),
    ] {
        let env = TestEnv::new("k8s-refused").await;
        env.kubernetes_auth_identity(namespaces, names, audience, reviewer_may_review, 3600)
            .await;
        env.put_service_account("infisical-sso", true).await;
        let operator = env.start_operator();
        let spec = env.spec(env.kubernetes_auth(
            &env.identity.identity_id,
            "infisical-sso",
            &["infisical"],
        ));
        env.apply("acme-sso", spec).await;
        let refused = env
            .wait_until("acme-sso", "a refusal", Duration::from_secs(30), |r| {
                ready(r).is_some_and(|c| c.0 == "False" && c.1 != "Reconciling")
            })
            .await;
        let (_, reason, message) = ready(&refused).unwrap();
        assert_eq!(reason, "AuthenticationFailed", "{what}: {message}");
        assert!(message.contains(expected), "{what}: {message}");
        assert!(env.org().config.is_none(), "{what}");
        operator.stop().await;
        env.cleanup().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_idp_preflight_passes_a_real_provider_and_names_each_failure() {
    let env = TestEnv::new("preflight").await;
    // The providers run on loopback, which Infisical's URL guard refuses unless allowed.
    env.emulator
        .control()
        .set_allowed_internal_hosts(vec!["127.0.0.1".into()]);
    let good = OidcProvider::start(&[]);
    let other_issuer =
        OidcProvider::start(&["--issuer-override", "https://other.example.com/realms/x"]);
    let broken_jwks = OidcProvider::start(&["--jwks-status", "500"]);
    let empty_jwks = OidcProvider::start(&["--jwks-empty"]);
    let ec_only = OidcProvider::start(&["--alg", "ES256"]);
    let insecure = OidcProvider::start(&["--insecure-endpoints"]);
    let down = OidcProvider::start(&[]);
    let down_url = down.discovery.clone();
    drop(down);
    let cases: Vec<(&str, String, &str)> = vec![
        ("wrong-issuer", other_issuer.discovery.clone(), "(issuer)"),
        ("jwks-500", broken_jwks.discovery.clone(), "(jwks)"),
        ("jwks-empty", empty_jwks.discovery.clone(), "(jwks)"),
        ("wrong-alg", ec_only.discovery.clone(), "(algorithm)"),
        ("insecure", insecure.discovery.clone(), "(endpoints)"),
        ("down", down_url, "(discovery)"),
    ];
    let operator = env.start_operator();
    env.apply(
        "good",
        env.spec(json!({"discoveryURL": good.discovery, "preflight": "Enforce"})),
    )
    .await;
    for (name, url, _) in &cases {
        let secret = format!("{name}-identity");
        let org = env.another_org(&secret).await;
        env.apply(
            name,
            env.spec(
                json!({"organizationId": org, "discoveryURL": url, "preflight": "Enforce",
                "authentication": {"universalAuth": {"credentialsRef": {"name": secret}}}}),
            ),
        )
        .await;
    }
    env.wait_ready("good").await;
    for (name, _, check) in &cases {
        let failed = env
            .wait_ready_reason(name, "False", "IdpPreflightFailed")
            .await;
        let message = ready(&failed).unwrap().2;
        assert!(message.contains(check), "{name}: {message}");
        assert_eq!(condition(&failed, "Stalled").unwrap().0, "True", "{name}");
    }
    assert_eq!(
        config_requests(&env, "POST").len(),
        1,
        "only the good provider's configuration reached Infisical"
    );
    // Warn goes on with a Warning Event.
    let warn_org = env.another_org("warn-identity").await;
    env.apply(
        "warned",
        env.spec(json!({"organizationId": warn_org, "discoveryURL": other_issuer.discovery, "preflight": "Warn",
            "authentication": {"universalAuth": {"credentialsRef": {"name": "warn-identity"}}}})),
    )
    .await;
    env.wait_ready("warned").await;
    let warning = env.wait_event("warned", "IdpPreflightWarning").await;
    assert!(warning.contains("(issuer)"), "{warning}");
    assert!(
        warning.contains("goes on") && !warning.contains("nothing was sent"),
        "the Warn note says what happened: {warning}"
    );
    operator.stop().await;
    env.cleanup().await;
}

/// How many times an Event with `reason` was recorded for `name` (a repeated Event is one object
/// with a count).
async fn occurrences(env: &TestEnv, name: &str, reason: &str) -> i32 {
    let events: kube::Api<k8s_openapi::api::core::v1::Event> =
        kube::Api::namespaced(env.client.clone(), &env.namespace);
    events
        .list(&Default::default())
        .await
        .unwrap()
        .items
        .iter()
        .filter(|e| {
            e.involved_object.name.as_deref() == Some(name) && e.reason.as_deref() == Some(reason)
        })
        .map(|e| {
            let series = e.series.as_ref().and_then(|s| s.count).unwrap_or(1);
            e.count.unwrap_or(1).max(series)
        })
        .sum()
}

async fn wait_occurrences(env: &TestEnv, name: &str, reason: &str, at_least: i32) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let seen = occurrences(env, name, reason).await;
        if seen >= at_least {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{reason} recorded {seen} times, want {at_least}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_patch_path_warns_that_sso_enforcement_was_reset() {
    let env = TestEnv::new("enforcement").await;
    let operator = env.start_operator();
    env.apply(
        "acme-sso",
        env.spec(json!({"deletionPolicy": "Deactivate"})),
    )
    .await;
    env.wait_ready("acme-sso").await;
    assert_eq!(
        occurrences(&env, "acme-sso", "SsoEnforcementReset").await,
        0,
        "a create does not reset it"
    );
    // A spec change.
    env.apply(
        "acme-sso",
        env.spec(json!({"deletionPolicy": "Deactivate", "clientId": "edited"})),
    )
    .await;
    env.wait_event("acme-sso", "Updated").await;
    wait_occurrences(&env, "acme-sso", "SsoEnforcementReset", 1).await;
    // A rotation.
    env.put_secret("idp-client", &[("clientSecret", "rotated-idp-secret")])
        .await;
    env.wait_event("acme-sso", "SecretRotated").await;
    wait_occurrences(&env, "acme-sso", "SsoEnforcementReset", 2).await;
    // Drift.
    env.emulator
        .control()
        .put_config_out_of_band(&env.org_id, json!({"isActive": false}));
    env.poke("acme-sso").await;
    env.wait_event("acme-sso", "DriftCorrected").await;
    wait_occurrences(&env, "acme-sso", "SsoEnforcementReset", 3).await;
    // Deactivation on delete.
    env.delete("acme-sso").await;
    env.wait_gone("acme-sso").await;
    assert_eq!(env.org().config.unwrap()["isActive"], false);
    wait_occurrences(&env, "acme-sso", "SsoEnforcementReset", 4).await;
    assert_eq!(env.org().patches, 4);
    operator.stop().await;
    env.cleanup().await;
}

/// Requests the emulator logged since `seq` for `method` on paths starting with `prefix`.
fn logged_since(env: &TestEnv, seq: u64, method: &str, prefix: &str) -> Vec<(u64, String)> {
    env.emulator
        .control()
        .requests_since(seq)
        .into_iter()
        .filter(|r| r.method.eq_ignore_ascii_case(method) && r.path.starts_with(prefix))
        .map(|r| (r.seq, r.org_id.unwrap_or_default()))
        .collect()
}

const LOGIN_PATH: &str = "/api/v1/auth/universal-auth/login";
const CONFIG_PATH: &str = "/api/v1/sso/oidc/config";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_restart_changed_resources_reach_infisical_first_and_in_sync_ones_wait_their_turn()
{
    let env = TestEnv::new("restart-priority").await;
    let generous = |config: &mut OperatorConfig| {
        config.http.writes_per_minute = 6000;
        config.http.reads_per_minute = 6000;
    };
    let operator = env.start_operator_with(generous);
    // Thirty resources, each with its own organisation and identity, resyncing daily.
    let names: Vec<String> = (0..30).map(|i| format!("team-{i:02}")).collect();
    let mut orgs = std::collections::HashMap::new();
    for name in &names {
        let identity = format!("{name}-identity");
        let idp = format!("{name}-idp");
        let org = env.another_org(&identity).await;
        env.put_secret(&idp, &[("clientSecret", CANARY)]).await;
        env.apply(
            name,
            env.spec(json!({"organizationId": org, "resyncInterval": "24h",
                "clientSecretRef": {"name": idp, "key": "clientSecret"},
                "authentication": {"universalAuth": {"credentialsRef": {"name": identity}}}})),
        )
        .await;
        orgs.insert(org, name.clone());
    }
    for name in &names {
        let resource = env.wait_ready(name).await;
        assert!(
            resource.status.unwrap().inputs_digest.is_some(),
            "{name} records its inputs' digest"
        );
        env.wait_unmarked(name).await;
    }
    operator.stop().await;

    // While the operator is away: one spec edit, one rotated Secret.
    let edited = "team-29";
    let rotated = "team-28";
    let edited_org = orgs.iter().find(|(_, n)| *n == edited).unwrap().0.clone();
    let rotated_org = orgs.iter().find(|(_, n)| *n == rotated).unwrap().0.clone();
    let rotated_digest = env.get(rotated).await.status.unwrap().common.inputs_digest;
    env.apply(
        edited,
        env.spec(json!({"organizationId": edited_org, "resyncInterval": "24h",
            "clientSecretRef": {"name": format!("{edited}-idp"), "key": "clientSecret"},
            "authentication": {"universalAuth": {"credentialsRef": {"name": format!("{edited}-identity")}}},
            "allowedEmailDomains": ["example.com"]})),
    )
    .await;
    env.put_secret(
        &format!("{rotated}-idp"),
        &[("clientSecret", "rotated-idp-secret")],
    )
    .await;

    // A tight budget: a burst of 3 writes, then one every 2 s. Thirty logins would take about a
    // minute before the edit's PATCH could go out.
    let seq = env.emulator.control().request_log_stats().next_seq;
    let restarted = tokio::time::Instant::now();
    let operator = env.start_operator_with(|config| {
        config.http.writes_per_minute = 30;
        config.http.reads_per_minute = 30;
    });
    let deadline = restarted + Duration::from_secs(15);
    loop {
        let patched: Vec<String> = logged_since(&env, seq, "PATCH", CONFIG_PATH)
            .into_iter()
            .map(|(_, org)| org)
            .collect();
        if patched.contains(&edited_org) && patched.contains(&rotated_org) {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the edit and the rotation did not reach Infisical within 15 s of the restart \
             (PATCHes for {patched:?}); logins since: {}",
            logged_since(&env, seq, "POST", LOGIN_PATH).len()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let reached_in = restarted.elapsed();
    env.wait_until(
        edited,
        "Ready with the edit",
        Duration::from_secs(10),
        |r| {
            ready(r).is_some_and(|(s, _, _)| s == "True")
                && r.status.as_ref().and_then(|s| s.observed_generation) == r.metadata.generation
        },
    )
    .await;
    // The rotation's status write (the Ready gauge counts it just before the write goes out).
    env.wait_until(
        rotated,
        "status written from the rotated Secret",
        Duration::from_secs(10),
        |r| r.status.as_ref().map(|s| &s.inputs_digest) != Some(&rotated_digest),
    )
    .await;
    // Let every in-sync resource's first pass run (each reads its Secrets from Kubernetes).
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    while operator.metrics.ready_resources.get() != names.len() as i64 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "{} of {} resources counted Ready",
            operator.metrics.ready_resources.get(),
            names.len()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // The 28 in sync were not checked at start: their rechecks are spread over 24 hours (one
    // of them falling into these seconds is possible, rarely; two or more is not expected).
    let logins = logged_since(&env, seq, "POST", LOGIN_PATH);
    let gets = logged_since(&env, seq, "GET", CONFIG_PATH);
    assert!(
        logins.len() <= 4 && gets.len() <= 4,
        "{} logins and {} GETs in the {reached_in:?} after the restart: the in-sync resources \
         called Infisical at start",
        logins.len(),
        gets.len()
    );
    let patches = logged_since(&env, seq, "PATCH", CONFIG_PATH);
    assert_eq!(patches.len(), 2, "{patches:?}");
    // Only the two that changed wrote their status. The counter moves when the API server's
    // answer reaches the operator, which can be just after this test saw the write.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while operator.status_writes() < 2 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(operator.status_writes(), 2);
    for name in &names {
        let resource = env.get(name).await;
        assert_eq!(ready(&resource).unwrap().0, "True", "{name}");
    }
    operator.stop().await;
    env.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_secret_watch_never_holds_a_secrets_data_or_last_applied_copy() {
    let env = TestEnv::new("secret-watch").await;
    // `kubectl apply` keeps the whole manifest, data included, in an annotation.
    let manifest = json!({"apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": "applied", "namespace": env.namespace},
        "type": "Opaque", "stringData": {"clientSecret": CANARY}});
    support::tools::run_with_stdin(
        kubectl(&kubeconfig()).args(["apply", "-f", "-"]),
        Some(&manifest.to_string()),
    );
    let stored: k8s_openapi::api::core::v1::Secret =
        kube::Api::namespaced(env.client.clone(), &env.namespace)
            .get("applied")
            .await
            .unwrap();
    let last_applied = "kubectl.kubernetes.io/last-applied-configuration";
    assert!(
        stored.annotations()[last_applied].contains(CANARY),
        "kubectl keeps the data in the annotation"
    );
    assert!(stored.metadata.managed_fields.is_some());

    let events =
        controller::secret_watch(kube::Api::namespaced(env.client.clone(), &env.namespace));
    futures::pin_mut!(events);
    let seen = tokio::time::timeout(Duration::from_secs(15), async {
        loop {
            let event = futures::StreamExt::next(&mut events)
                .await
                .expect("the watch goes on")
                .expect("the watch works");
            use kube::runtime::watcher::Event;
            if let Event::InitApply(secret) | Event::Apply(secret) = event
                && secret.metadata.name.as_deref() == Some("applied")
            {
                return secret;
            }
        }
    })
    .await
    .expect("the Secret is seen");
    assert!(!seen.annotations().contains_key(last_applied));
    assert!(seen.metadata.managed_fields.is_none());
    let text = serde_json::to_string(&seen).unwrap();
    use base64::Engine;
    let encoded = base64::engine::general_purpose::STANDARD.encode(CANARY);
    assert!(!text.contains(CANARY) && !text.contains(&encoded), "{text}");
    env.cleanup().await;
}
