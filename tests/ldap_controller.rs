//! LdapSsoConfig end to end: the operator in-process against the real API server, the emulator's
//! LDAP API over HTTP (which binds to the directory as Infisical's `testLDAPConfig` does), and a
//! real slapd over LDAPS with the test CA (`support::ldap`). The preflight is on (Enforce).

mod support;

use std::time::Duration;

use infisical_oidc_operator::api::{
    LdapSsoConfig, PreflightPolicy, RECONCILE_REQUESTED_AT_ANNOTATION,
};
use kube::Api;
use kube::api::{ListParams, Patch, PatchParams};
use serde_json::{Value, json};
use support::TestEnv;
use support::ldap::Directory;

fn api(env: &TestEnv) -> Api<LdapSsoConfig> {
    Api::namespaced(env.client.clone(), &env.namespace)
}

fn spec(env: &TestEnv, dir: &Directory) -> Value {
    json!({
        "organizationId": env.org_id,
        "hostAPI": env.emulator.base_url(),
        "authentication": {"universalAuth": {"credentialsRef": {"name": "infisical-identity"}}},
        "url": dir.url,
        "bindDN": dir.bind_dn,
        "bindPassRef": {"name": "ldap-bind", "key": "password"},
        "searchBase": support::ldap::PEOPLE_DN,
        "groupSearchBase": support::ldap::GROUPS_DN,
        "caCertificate": dir.ca_pem,
    })
}

async fn apply(env: &TestEnv, name: &str, spec: Value) {
    let object = json!({
        "apiVersion": "oidc.infisical-operator.io/v1alpha1",
        "kind": "LdapSsoConfig",
        "metadata": {"name": name},
        "spec": spec,
    });
    api(env)
        .patch(
            name,
            &PatchParams::apply("tests").force(),
            &Patch::Apply(&object),
        )
        .await
        .unwrap_or_else(|e| panic!("applying {name}: {e}"));
}

/// Waits until the Ready condition has `status` and `reason`; returns the resource.
async fn wait_ready(env: &TestEnv, name: &str, status: &str, reason: &str) -> LdapSsoConfig {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let resource = api(env).get(name).await.unwrap();
        let ready = resource
            .status
            .as_ref()
            .and_then(|s| s.condition("Ready"))
            .map(|c| (c.status.clone(), c.reason.clone()));
        if ready.as_ref().map(|(s, r)| (s.as_str(), r.as_str())) == Some((status, reason)) {
            return resource;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{name}: Ready is {ready:?}, not ({status}, {reason}); status: {:?}",
            resource.status
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The resource's status and Events as text: where no secret may appear.
async fn visible(env: &TestEnv, name: &str) -> String {
    let resource = api(env).get(name).await.unwrap();
    format!(
        "{}\n{:?}",
        serde_json::to_string(&resource.status).unwrap(),
        env.events(name).await
    )
}

/// Lets the namespace go: finalizers off every LdapSsoConfig, then the common cleanup.
async fn cleanup(env: TestEnv) {
    for r in api(&env).list(&ListParams::default()).await.unwrap() {
        let name = r.metadata.name.clone().unwrap();
        let _ = api(&env)
            .patch_metadata(
                &name,
                &PatchParams::default(),
                &Patch::Merge(json!({"metadata": {"finalizers": null}})),
            )
            .await;
    }
    env.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resource_pointing_at_a_real_directory_reaches_ready_with_one_post() {
    let dir = Directory::start();
    let env = TestEnv::new("ldap-create").await;
    let control = env.emulator.control();
    // slapd listens on 127.0.0.1, which Infisical refuses unless the instance allows it.
    control.set_allow_internal_ip_connections(true);
    env.put_secret("ldap-bind", &[("password", dir.bind_password())])
        .await;
    let operator =
        env.start_operator_with(|c| c.settings.default_preflight = PreflightPolicy::Enforce);
    apply(&env, "corp-ldap", spec(&env, &dir)).await;
    let resource = wait_ready(&env, "corp-ldap", "True", "Synced").await;

    let state = control.sso_state(&env.org_id).unwrap();
    let stored = state.ldap.expect("a configuration was created");
    let status = resource.status.unwrap();
    assert_eq!(status.id.as_deref(), Some(stored.id.as_str()));
    assert_eq!(status.org_id.as_deref(), Some(env.org_id.as_str()));
    assert_eq!(status.url.as_deref(), Some(dir.url.as_str()));
    assert_eq!(status.bind_dn.as_deref(), Some(dir.bind_dn.as_str()));
    assert_eq!(status.is_active, Some(true));
    assert_eq!(stored.bind_pass, dir.bind_password());
    assert_eq!(stored.ca_cert, dir.ca_pem.trim());
    assert_eq!(stored.unique_user_attribute, "uidNumber");
    assert_eq!((state.ldap_calls.posts, state.ldap_calls.patches), (1, 0));
    // Infisical's own bind on create; the operator's preflight bound before it.
    assert_eq!(state.ldap_binds, 1);
    let binds = dir
        .log()
        .matches(&format!("BIND dn=\"{}\"", dir.bind_dn))
        .count();
    assert!(binds >= 2, "the preflight and Infisical each bind: {binds}");
    let created = env.wait_event("corp-ldap", "Created").await;
    assert!(created.contains("LDAP configuration"), "{created}");
    // An LDAP update resets nothing in the organisation: no enforcement-reset warning.
    assert!(status.sso_enforcement_reset.is_none());
    assert!(
        !visible(&env, "corp-ldap")
            .await
            .contains(dir.bind_password()),
        "the bind password is in the status or an Event"
    );
    operator.stop().await;
    cleanup(env).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_bind_password_is_refused_by_name_before_any_write_and_a_fixed_secret_goes_on() {
    let dir = Directory::start();
    let env = TestEnv::new("ldap-wrong").await;
    let control = env.emulator.control();
    control.set_allow_internal_ip_connections(true);
    let canary = format!("CANARY-ldap-{}", uuid::Uuid::new_v4().simple());
    env.put_secret("ldap-bind", &[("password", &canary)]).await;
    let operator =
        env.start_operator_with(|c| c.settings.default_preflight = PreflightPolicy::Enforce);
    apply(&env, "corp-ldap", spec(&env, &dir)).await;
    let resource = wait_ready(&env, "corp-ldap", "False", "LdapBindRefused").await;

    let message = resource
        .status
        .as_ref()
        .and_then(|s| s.condition("Ready"))
        .map(|c| c.message.clone())
        .unwrap();
    assert!(
        message.contains(&dir.bind_dn) && message.contains("nothing was sent to Infisical"),
        "{message}"
    );
    let state = control.sso_state(&env.org_id).unwrap();
    assert!(state.ldap.is_none());
    assert_eq!((state.ldap_calls.posts, state.ldap_calls.patches), (0, 0));
    assert_eq!(state.ldap_binds, 0, "Infisical was never asked to bind");
    let shown = visible(&env, "corp-ldap").await;
    assert!(
        !shown.contains(&canary) && !shown.contains("CANARY"),
        "{shown}"
    );

    // The right password in the Secret: the Secret watch starts a pass, which creates.
    env.put_secret("ldap-bind", &[("password", dir.bind_password())])
        .await;
    wait_ready(&env, "corp-ldap", "True", "Synced").await;
    let state = control.sso_state(&env.org_id).unwrap();
    assert_eq!((state.ldap_calls.posts, state.ldap_calls.patches), (1, 0));
    operator.stop().await;
    cleanup(env).await;
}

/// Waits until the emulator's LDAP state satisfies `check`; returns it.
async fn wait_state(
    env: &TestEnv,
    what: &str,
    check: impl Fn(&infisical_emulator::SsoState) -> bool,
) -> infisical_emulator::SsoState {
    let control = env.emulator.control();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let state = control.sso_state(&env.org_id).unwrap();
        if check(&state) {
            return state;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{what}: the emulator holds {:?}",
            state
                .ldap
                .as_ref()
                .map(|l| (&l.search_filter, &l.group_search_base, l.is_active))
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_edit_a_rotation_and_drift_each_patch_their_field_and_delete_deactivates() {
    let mut dir = Directory::start();
    let env = TestEnv::new("ldap-life").await;
    let control = env.emulator.control();
    control.set_allow_internal_ip_connections(true);
    env.put_secret("ldap-bind", &[("password", dir.bind_password())])
        .await;
    let operator =
        env.start_operator_with(|c| c.settings.default_preflight = PreflightPolicy::Enforce);
    let mut desired = spec(&env, &dir);
    desired["deletionPolicy"] = json!("Deactivate");
    apply(&env, "corp-ldap", desired.clone()).await;
    wait_ready(&env, "corp-ldap", "True", "Synced").await;

    // An edit: one PATCH, of that field.
    desired["searchFilter"] = json!("(mail={{username}})");
    apply(&env, "corp-ldap", desired.clone()).await;
    let state = wait_state(&env, "the edit", |s| {
        s.ldap.as_ref().unwrap().search_filter == "(mail={{username}})"
    })
    .await;
    assert_eq!((state.ldap_calls.posts, state.ldap_calls.patches), (1, 1));
    env.wait_event("corp-ldap", "Updated").await;

    // A rotated password: the directory's and the Secret's change; one PATCH, a rotation.
    let rotated = uuid::Uuid::new_v4().simple().to_string();
    dir.set_password(&dir.bind_dn.clone(), &rotated).await;
    env.put_secret("ldap-bind", &[("password", &rotated)]).await;
    let state = wait_state(&env, "the rotation", |s| {
        s.ldap.as_ref().unwrap().bind_pass == rotated
    })
    .await;
    assert_eq!(state.ldap_calls.patches, 2);
    env.wait_event("corp-ldap", "SecretRotated").await;

    // Drift made in Infisical: reported, then corrected at the next pass.
    assert!(control.put_ldap_config_out_of_band(&env.org_id, json!({"groupSearchBase": ""})));
    // "Sync now": the annotation a person sets for an immediate pass.
    let poke = json!({"metadata": {"annotations": {RECONCILE_REQUESTED_AT_ANNOTATION: "drift"}}});
    api(&env)
        .patch_metadata("corp-ldap", &PatchParams::default(), &Patch::Merge(&poke))
        .await
        .unwrap();
    let state = wait_state(&env, "the drift correction", |s| {
        s.ldap.as_ref().unwrap().group_search_base == support::ldap::GROUPS_DN
    })
    .await;
    assert_eq!(state.ldap_calls.patches, 3);
    let drift = env.wait_event("corp-ldap", "DriftDetected").await;
    assert!(drift.contains("groupSearchBase"), "{drift}");
    let shown = visible(&env, "corp-ldap").await;
    assert!(
        !shown.contains(&rotated),
        "the bind password is shown: {shown}"
    );
    assert!(
        api(&env)
            .get("corp-ldap")
            .await
            .unwrap()
            .status
            .unwrap()
            .sso_enforcement_reset
            .is_none()
    );

    // Deletion with Deactivate: the configuration stays, turned off (Infisical binds for it).
    api(&env)
        .delete("corp-ldap", &Default::default())
        .await
        .unwrap();
    let state = wait_state(&env, "the deactivation", |s| {
        !s.ldap.as_ref().unwrap().is_active
    })
    .await;
    assert_eq!(state.ldap_calls.patches, 4);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while api(&env).get_opt("corp-ldap").await.unwrap().is_some() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "not deleted in time"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    dir.stop();
    operator.stop().await;
    cleanup(env).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_organisation_has_one_ldap_resource_beside_its_oidc_one() {
    let dir = Directory::start();
    let env = TestEnv::new("ldap-owner").await;
    env.emulator
        .control()
        .set_allow_internal_ip_connections(true);
    env.put_secret("ldap-bind", &[("password", dir.bind_password())])
        .await;
    let operator = env.start_operator();
    // OIDC and LDAP configurations of one organisation are different things in Infisical: both
    // are managed, neither claims the other's.
    env.apply("acme-sso", env.spec(json!({}))).await;
    apply(&env, "corp-ldap", spec(&env, &dir)).await;
    env.wait_ready("acme-sso").await;
    wait_ready(&env, "corp-ldap", "True", "Synced").await;
    // A second LdapSsoConfig for the organisation: a conflict, and it never calls Infisical.
    apply(&env, "corp-ldap-2", spec(&env, &dir)).await;
    let second = wait_ready(&env, "corp-ldap-2", "False", "OwnershipConflict").await;
    let message = second
        .status
        .unwrap()
        .condition("Ready")
        .unwrap()
        .message
        .clone();
    assert!(message.contains("corp-ldap"), "{message}");
    let state = env.emulator.control().sso_state(&env.org_id).unwrap();
    assert_eq!((state.ldap_calls.posts, state.ldap_calls.patches), (1, 0));
    operator.stop().await;
    cleanup(env).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn observe_plans_without_writing_and_an_existing_configuration_needs_adopt() {
    let dir = Directory::start();
    let env = TestEnv::new("ldap-observe").await;
    let control = env.emulator.control();
    control.set_allow_internal_ip_connections(true);
    env.put_secret("ldap-bind", &[("password", dir.bind_password())])
        .await;
    let operator = env.start_operator();
    let mut desired = spec(&env, &dir);
    desired["managementPolicy"] = json!("Observe");
    apply(&env, "corp-ldap", desired.clone()).await;
    let observed = wait_ready(&env, "corp-ldap", "False", "WouldCreate").await;
    assert_eq!(
        observed.status.unwrap().plan.clone().map(|p| p.action),
        Some("Create".to_string())
    );
    let state = control.sso_state(&env.org_id).unwrap();
    assert_eq!((state.ldap_calls.posts, state.ldap_calls.patches), (0, 0));

    // Someone configured LDAP in Infisical meanwhile: Manage will not take it over by itself.
    assert!(control.put_ldap_config_out_of_band(
        &env.org_id,
        json!({"isActive": true, "url": dir.url, "bindDN": dir.bind_dn,
               "bindPass": dir.bind_password(), "searchBase": support::ldap::PEOPLE_DN})
    ));
    desired["managementPolicy"] = json!("Manage");
    apply(&env, "corp-ldap", desired.clone()).await;
    wait_ready(&env, "corp-ldap", "False", "AdoptionRequired").await;
    desired["adoptionPolicy"] = json!("Adopt");
    apply(&env, "corp-ldap", desired).await;
    wait_ready(&env, "corp-ldap", "True", "Synced").await;
    let state = control.sso_state(&env.org_id).unwrap();
    assert_eq!(state.ldap_calls.posts, 0, "adopted, not created");
    assert_eq!(state.ldap_calls.patches, 1);
    let stored = state.ldap.unwrap();
    assert_eq!(stored.group_search_base, support::ldap::GROUPS_DN);
    assert_eq!(stored.ca_cert, dir.ca_pem.trim());
    operator.stop().await;
    cleanup(env).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_between_the_create_and_the_status_write_creates_nothing_twice() {
    let dir = Directory::start();
    let env = TestEnv::new("ldap-crash").await;
    let control = env.emulator.control();
    control.set_allow_internal_ip_connections(true);
    env.put_secret("ldap-bind", &[("password", dir.bind_password())])
        .await;
    // Infisical binds, commits the create, then answers slowly; the operator dies before the
    // answer.
    control.inject_fault(infisical_emulator::Fault {
        method: Some("POST".into()),
        path_prefix: Some("/api/v1/ldap/config".into()),
        count: 1,
        kind: infisical_emulator::FaultKind::CommitThenDelay { millis: 3000 },
    });
    let operator = env.start_operator();
    apply(&env, "corp-ldap", spec(&env, &dir)).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while control.sso_state(&env.org_id).unwrap().ldap.is_none() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the create never committed"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let marked = api(&env).get("corp-ldap").await.unwrap();
    assert!(
        marked
            .metadata
            .annotations
            .as_ref()
            .is_some_and(|a| a.contains_key("oidc.infisical-operator.io/create-pending")),
        "marked create-pending before the POST"
    );
    operator.crash();
    let id = api(&env)
        .get("corp-ldap")
        .await
        .unwrap()
        .status
        .and_then(|s| s.common.id);
    assert!(id.is_none(), "the id was never written");

    let operator = env.start_operator();
    let resource = wait_ready(&env, "corp-ldap", "True", "Synced").await;
    let state = control.sso_state(&env.org_id).unwrap();
    assert_eq!(
        state.ldap_calls.posts, 1,
        "no second create after the restart"
    );
    assert_eq!(
        resource.status.unwrap().common.id,
        Some(state.ldap.unwrap().id)
    );
    operator.stop().await;
    cleanup(env).await;
}
