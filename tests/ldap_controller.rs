//! LdapSsoConfig end to end: the operator in-process against the real API server, the emulator's
//! LDAP API over HTTP (which binds to the directory as Infisical's `testLDAPConfig` does), and a
//! real slapd over LDAPS with the test CA (`support::ldap`). The preflight is on (Enforce).

mod support;

use std::time::Duration;

use infisical_oidc_operator::api::{LdapSsoConfig, PreflightPolicy};
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
