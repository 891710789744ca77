//! A canary bind password goes through a refused preflight, a create, a rotation and a failure of
//! Infisical; it must never show up in logs (at trace level, every crate, the LDAP client's
//! included), Events, status or metrics. The directory is a real slapd (`support::ldap`).

mod support;

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine;
use infisical_emulator::{Fault, FaultKind};
use infisical_oidc_operator::api::{
    LdapSsoConfig, PreflightPolicy, RECONCILE_REQUESTED_AT_ANNOTATION,
};
use k8s_openapi::api::core::v1::Event;
use kube::Api;
use kube::api::{ListParams, Patch, PatchParams};
use serde_json::{Value, json};
use support::TestEnv;
use support::ldap::Directory;

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

const WRONG: &str = "CANARY-ldap-wrong-5b0c";
const FIRST: &str = "CANARY-ldap-first-9d41";
const ROTATED: &str = "CANARY-ldap-rotated-77e2";

fn assert_clean(place: &str, text: &str) {
    let b64 = base64::engine::general_purpose::STANDARD;
    for secret in [WRONG, FIRST, ROTATED] {
        for form in [
            secret.to_string(),
            b64.encode(secret),
            b64.encode(secret).trim_end_matches('=').to_string(),
            secret.bytes().map(|b| format!("{b:02x}")).collect(),
        ] {
            assert!(
                !text.contains(&form),
                "{place} contains a bind password ({form})"
            );
        }
    }
}

async fn wait_reason(api: &Api<LdapSsoConfig>, name: &str, status: &str, reason: &str) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let r = api.get(name).await.unwrap();
        let ready = r
            .status
            .as_ref()
            .and_then(|s| s.condition("Ready"))
            .cloned();
        if ready
            .as_ref()
            .is_some_and(|c| c.status == status && c.reason == reason)
        {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{name}: Ready is {ready:?}, not ({status}, {reason})"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn poke(api: &Api<LdapSsoConfig>, name: &str, value: &str) {
    let poke = json!({"metadata": {"annotations": {RECONCILE_REQUESTED_AT_ANNOTATION: value}}});
    api.patch_metadata(name, &PatchParams::default(), &Patch::Merge(&poke))
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_canary_bind_password_never_leaks() {
    let capture = Capture::default();
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(capture.clone())
        .with_ansi(false)
        .init();

    let dir = Directory::start();
    dir.set_password(&dir.bind_dn, FIRST).await;
    let env = TestEnv::new("ldap-canary").await;
    let control = env.emulator.control();
    control.set_allow_internal_ip_connections(true);
    let api: Api<LdapSsoConfig> = Api::namespaced(env.client.clone(), &env.namespace);
    env.put_secret("ldap-bind", &[("password", WRONG)]).await;
    let operator =
        env.start_operator_with(|c| c.settings.default_preflight = PreflightPolicy::Enforce);
    let object: Value = json!({
        "apiVersion": "oidc.infisical-operator.io/v1alpha1",
        "kind": "LdapSsoConfig",
        "metadata": {"name": "corp-ldap"},
        "spec": {
            "organizationId": env.org_id,
            "hostAPI": env.emulator.base_url(),
            "authentication": {"universalAuth": {"credentialsRef": {"name": "infisical-identity"}}},
            "url": dir.url,
            "bindDN": dir.bind_dn,
            "bindPassRef": {"name": "ldap-bind", "key": "password"},
            "searchBase": support::ldap::PEOPLE_DN,
            "caCertificate": dir.ca_pem,
        },
    });
    api.patch(
        "corp-ldap",
        &PatchParams::apply("tests").force(),
        &Patch::Apply(&object),
    )
    .await
    .unwrap();
    // A wrong password: refused by the preflight.
    wait_reason(&api, "corp-ldap", "False", "LdapBindRefused").await;

    // The right one: created; Infisical holds it.
    env.put_secret("ldap-bind", &[("password", FIRST)]).await;
    wait_reason(&api, "corp-ldap", "True", "Synced").await;
    assert_eq!(
        control
            .sso_state(&env.org_id)
            .unwrap()
            .ldap
            .unwrap()
            .bind_pass,
        FIRST,
        "the canary really was sent"
    );

    // Rotation in the directory and the Secret: one PATCH.
    dir.set_password(&dir.bind_dn, ROTATED).await;
    env.put_secret("ldap-bind", &[("password", ROTATED)]).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while control
        .sso_state(&env.org_id)
        .unwrap()
        .ldap
        .unwrap()
        .bind_pass
        != ROTATED
    {
        assert!(
            tokio::time::Instant::now() < deadline,
            "rotation not applied"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    env.wait_event("corp-ldap", "SecretRotated").await;

    // Infisical failing a PATCH (after drift): its message goes into status and Events.
    assert!(control.put_ldap_config_out_of_band(&env.org_id, json!({"bindPass": "drifted"})));
    control.inject_fault(Fault {
        method: Some("PATCH".into()),
        path_prefix: None,
        count: 1,
        kind: FaultKind::Status {
            status: 500,
            body: None,
        },
    });
    poke(&api, "corp-ldap", "fault").await;
    wait_reason(&api, "corp-ldap", "False", "InfisicalUnavailable").await;
    wait_reason(&api, "corp-ldap", "True", "Synced").await;

    let resource = serde_json::to_string(&api.get("corp-ldap").await.unwrap()).unwrap();
    assert!(resource.contains("status"), "read the resource");
    assert_clean("the resource (status, annotations)", &resource);
    let events: Api<Event> = Api::namespaced(env.client.clone(), &env.namespace);
    let events =
        serde_json::to_string(&events.list(&ListParams::default()).await.unwrap().items).unwrap();
    assert!(
        events.contains("LdapBindRefused") && events.contains("SecretRotated"),
        "events were recorded"
    );
    assert_clean("events", &events);
    let metrics = operator.metrics.encode();
    assert!(metrics.contains("LdapBindRefused"), "{metrics}");
    assert_clean("metrics", &metrics);

    operator.stop().await;
    let logs = String::from_utf8(capture.0.lock().unwrap().clone()).unwrap();
    assert!(logs.contains("TRACE"), "trace level was on");
    assert!(
        logs.contains("/api/v1/ldap/config"),
        "Infisical traffic was logged"
    );
    assert_clean("logs", &logs);
    // slapd's own log names DNs and result codes, never passwords.
    assert_clean("slapd's log", &dir.log());
    let finalizers = json!({"metadata": {"finalizers": null}});
    let _ = api
        .patch_metadata(
            "corp-ldap",
            &PatchParams::default(),
            &Patch::Merge(&finalizers),
        )
        .await;
    env.cleanup().await;
}
