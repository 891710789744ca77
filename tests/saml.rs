//! SamlSsoConfig against a real kube-apiserver and the emulator's SAML API over HTTP, and a real
//! SAML IdP (crewjam/saml) for the certificate preflight. The second kind runs through the same
//! pipeline as OIDC: each test reads as a line of the spec it proves.

mod support;

use std::time::Duration;

use infisical_emulator::{ConfigCalls, Fault, FaultKind, OrgFlags, SamlConfigState};
use infisical_oidc_operator::api::SamlSsoConfig;
use infisical_oidc_operator::api::reasons;
use kube::api::{Api, DeleteParams, Patch, PatchParams};
use serde_json::{Value, json};
use support::saml_idp::{self, SamlIdp, SigningCertificate};
use support::*;

/// A TestEnv with the SAML kind's API beside it.
struct Saml {
    env: TestEnv,
    api: Api<SamlSsoConfig>,
    cert: String,
}

impl Saml {
    async fn new(prefix: &str) -> Self {
        let env = TestEnv::new(prefix).await;
        let api = Api::namespaced(env.client.clone(), &env.namespace);
        Self {
            env,
            api,
            cert: saml_idp::self_signed_certificate(-1, 365),
        }
    }

    /// An okta-saml spec against this env's emulator, with `overrides` merged in.
    fn spec(&self, overrides: Value) -> Value {
        let mut spec = json!({
            "organizationId": self.env.org_id,
            "hostAPI": self.env.emulator.base_url(),
            "authentication": {"universalAuth": {"credentialsRef": {"name": "infisical-identity"}}},
            "authProvider": "okta-saml",
            "entryPoint": "https://idp.example.com/app/sso/saml",
            "issuer": "http://www.okta.com/exk1",
            "cert": self.cert,
        });
        for (k, v) in overrides.as_object().unwrap() {
            if v.is_null() {
                spec.as_object_mut().unwrap().remove(k);
            } else {
                spec[k] = v.clone();
            }
        }
        spec
    }

    async fn apply(&self, name: &str, spec: Value) -> Result<SamlSsoConfig, kube::Error> {
        let object = json!({
            "apiVersion": "oidc.infisical-operator.io/v1alpha1",
            "kind": "SamlSsoConfig",
            "metadata": {"name": name},
            "spec": spec,
        });
        self.api
            .patch(
                name,
                &PatchParams::apply("tests").force(),
                &Patch::Apply(&object),
            )
            .await
    }

    async fn get(&self, name: &str) -> SamlSsoConfig {
        self.api.get(name).await.unwrap()
    }

    async fn wait_until(
        &self,
        name: &str,
        what: &str,
        check: impl Fn(&SamlSsoConfig) -> bool,
    ) -> SamlSsoConfig {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        loop {
            let current = self.api.get_opt(name).await.unwrap();
            if let Some(r) = current.as_ref().filter(|r| check(r)) {
                return r.clone();
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "timed out waiting for {name} to be {what}; last status: {:#?}",
                current.map(|r| r.status)
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits for Ready with `status` and `reason`, for the current generation.
    async fn wait_reason(&self, name: &str, status: &str, reason: &str) -> SamlSsoConfig {
        self.wait_until(name, &format!("Ready={status}/{reason}"), |r| {
            condition(r, "Ready").is_some_and(|(s, re, _)| s == status && re == reason)
                && r.status.as_ref().and_then(|s| s.observed_generation) == r.metadata.generation
        })
        .await
    }

    async fn wait_ready(&self, name: &str) -> SamlSsoConfig {
        self.wait_reason(name, "True", "Synced").await
    }

    fn stored(&self) -> Option<SamlConfigState> {
        self.env
            .emulator
            .control()
            .sso_state(&self.env.org_id)
            .unwrap()
            .saml
    }

    fn calls(&self) -> ConfigCalls {
        self.env
            .emulator
            .control()
            .sso_state(&self.env.org_id)
            .unwrap()
            .saml_calls
    }

    /// Bodies of the SAML config requests with `method`.
    fn bodies(&self, method: &str) -> Vec<Value> {
        self.env
            .emulator
            .control()
            .requests_matching(method, "/api/v1/sso/config")
            .into_iter()
            .map(|r| r.body.unwrap_or(Value::Null))
            .collect()
    }

    /// Asks for a pass now and waits until it has read Infisical.
    async fn poke_and_wait_for_a_read(&self, name: &str) {
        let gets = self.calls().gets;
        self.poke(name).await;
        let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
        while self.calls().gets == gets {
            assert!(
                tokio::time::Instant::now() < deadline,
                "no pass read Infisical"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn poke(&self, name: &str) {
        let value = uuid::Uuid::new_v4().to_string();
        let patch = json!({"metadata": {"annotations": {
            "oidc.infisical-operator.io/reconcile-requested-at": value}}});
        self.api
            .patch_metadata(name, &PatchParams::default(), &Patch::Merge(&patch))
            .await
            .unwrap();
    }

    async fn wait_gone(&self, name: &str) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        while self.api.get_opt(name).await.unwrap().is_some() {
            assert!(
                tokio::time::Instant::now() < deadline,
                "{name} was not deleted in time"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn cleanup(self) {
        if let Ok(list) = self.api.list(&Default::default()).await {
            for r in list {
                let name = r.metadata.name.clone().unwrap();
                let _ = self
                    .api
                    .patch_metadata(
                        &name,
                        &PatchParams::default(),
                        &Patch::Merge(json!({"metadata": {"finalizers": null}})),
                    )
                    .await;
            }
        }
        self.env.cleanup().await;
    }
}

fn condition(r: &SamlSsoConfig, type_: &str) -> Option<(String, String, String)> {
    let c = r.status.as_ref()?.condition(type_)?;
    Some((c.status.clone(), c.reason.clone(), c.message.clone()))
}

fn keys(body: &Value) -> Vec<String> {
    let mut keys: Vec<String> = body.as_object().unwrap().keys().cloned().collect();
    keys.sort();
    keys
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_once_then_idle_passes_write_nothing() {
    let s = Saml::new("saml-create").await;
    let operator = s.env.start_operator();
    s.apply("acme-saml", s.spec(json!({}))).await.unwrap();
    let resource = s.wait_ready("acme-saml").await;
    s.wait_until("acme-saml", "unmarked", |r| {
        !r.metadata
            .annotations
            .as_ref()
            .is_some_and(|a| a.contains_key("oidc.infisical-operator.io/create-pending"))
    })
    .await;

    let stored = s.stored().expect("a SAML configuration was created");
    let status = resource.status.clone().unwrap();
    assert_eq!(status.id.as_deref(), Some(stored.id.as_str()));
    assert_eq!(status.org_id.as_deref(), Some(s.env.org_id.as_str()));
    assert_eq!(stored.auth_provider, "okta-saml");
    assert_eq!(stored.entry_point, "https://idp.example.com/app/sso/saml");
    assert_eq!(stored.issuer, "http://www.okta.com/exk1");
    assert_eq!(stored.cert, s.cert.trim());
    assert!(stored.is_active && !stored.enable_group_sync);
    assert_eq!(status.auth_provider.as_deref(), Some("okta-saml"));
    assert!(status.certificate_fingerprint.is_some());
    assert_eq!(s.calls().posts, 1);
    let created = s.env.wait_event("acme-saml", reasons::CREATED).await;
    assert!(created.contains("SAML configuration"), "{created}");

    // Idle: passes read Infisical and write nothing, to it or to Kubernetes.
    let writes = operator.status_writes();
    for _ in 0..2 {
        s.poke_and_wait_for_a_read("acme-saml").await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let calls = s.calls();
    assert_eq!((calls.posts, calls.patches), (1, 0));
    assert_eq!(operator.status_writes(), writes);
    operator.stop().await;
    s.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_edit_patches_only_the_changed_field_and_warns_that_enforcement_was_reset() {
    let s = Saml::new("saml-edit").await;
    let operator = s.env.start_operator();
    s.apply("acme-saml", s.spec(json!({}))).await.unwrap();
    s.wait_ready("acme-saml").await;
    s.env.emulator.control().set_org_flags(
        &s.env.org_id,
        OrgFlags {
            auth_enforced: Some(true),
            scim_enabled: Some(true),
            ..OrgFlags::default()
        },
    );
    let generation = s.get("acme-saml").await.metadata.generation;
    s.apply(
        "acme-saml",
        s.spec(json!({"issuer": "http://www.okta.com/exk2"})),
    )
    .await
    .unwrap();
    s.wait_until("acme-saml", "synced after the edit", |r| {
        r.metadata.generation != generation
            && r.status.as_ref().and_then(|s| s.issuer.as_deref())
                == Some("http://www.okta.com/exk2")
    })
    .await;
    let patches = s.bodies("PATCH");
    assert_eq!(patches.len(), 1, "{patches:?}");
    assert_eq!(keys(&patches[0]), ["issuer", "organizationId"]);
    assert_eq!(s.stored().unwrap().issuer, "http://www.okta.com/exk2");
    let updated = s.env.wait_event("acme-saml", reasons::UPDATED).await;
    assert!(updated.contains("issuer"), "{updated}");
    s.env
        .wait_event("acme-saml", reasons::SSO_ENFORCEMENT_RESET)
        .await;
    let sso = s.env.emulator.control().sso_state(&s.env.org_id).unwrap();
    assert!(!sso.auth_enforced && !sso.scim_enabled);
    assert!(
        s.get("acme-saml")
            .await
            .status
            .unwrap()
            .sso_enforcement_reset
            .is_some()
    );
    operator.stop().await;
    s.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drift_is_reported_then_corrected() {
    let s = Saml::new("saml-drift").await;
    let operator = s.env.start_operator();
    s.apply("acme-saml", s.spec(json!({}))).await.unwrap();
    s.wait_ready("acme-saml").await;
    assert!(s.env.emulator.control().put_saml_config_out_of_band(
        &s.env.org_id,
        json!({"entryPoint": "https://evil.example.com/sso"})
    ));
    s.poke("acme-saml").await;
    let detected = s.env.wait_event("acme-saml", reasons::DRIFT_DETECTED).await;
    assert!(detected.contains("entryPoint"), "{detected}");
    s.env
        .wait_event("acme-saml", reasons::DRIFT_CORRECTED)
        .await;
    assert_eq!(
        s.stored().unwrap().entry_point,
        "https://idp.example.com/app/sso/saml"
    );
    let patches = s.bodies("PATCH");
    assert_eq!(keys(&patches[0]), ["entryPoint", "organizationId"]);
    let drift = s
        .wait_until("acme-saml", "with its drift recorded", |r| {
            r.status.as_ref().is_some_and(|s| s.last_drift.is_some())
        })
        .await;
    assert_eq!(
        drift.status.unwrap().common.last_drift.unwrap().fields,
        ["entryPoint"]
    );
    operator.stop().await;
    s.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_existing_configuration_is_left_alone_observed_then_adopted() {
    let s = Saml::new("saml-adopt").await;
    assert!(s.env.emulator.control().put_saml_config_out_of_band(
        &s.env.org_id,
        json!({"authProvider": "okta-saml", "isActive": true,
            "entryPoint": "https://idp.example.com/app/sso/saml",
            "issuer": "http://www.okta.com/old", "cert": s.cert.trim()})
    ));
    let existing = s.stored().unwrap().id;
    let operator = s.env.start_operator();
    s.apply("acme-saml", s.spec(json!({}))).await.unwrap();
    let refused = s
        .wait_reason("acme-saml", "False", "AdoptionRequired")
        .await;
    assert!(condition(&refused, "Ready").unwrap().2.contains(&existing));

    s.apply(
        "acme-saml",
        s.spec(json!({"adoptionPolicy": "Adopt", "managementPolicy": "Observe"})),
    )
    .await
    .unwrap();
    let observed = s.wait_reason("acme-saml", "False", "WouldUpdate").await;
    let plan = observed.status.unwrap().common.plan.unwrap();
    assert_eq!(
        (plan.action.as_str(), plan.fields.as_slice()),
        ("Update", &["issuer".to_string()][..])
    );
    assert!(s.bodies("PATCH").is_empty() && s.bodies("POST").is_empty());
    assert!(s.get("acme-saml").await.metadata.finalizers.is_none());

    s.apply("acme-saml", s.spec(json!({"adoptionPolicy": "Adopt"})))
        .await
        .unwrap();
    let adopted = s.wait_ready("acme-saml").await;
    assert_eq!(adopted.status.unwrap().id, Some(existing));
    let patches = s.bodies("PATCH");
    assert_eq!(patches.len(), 1);
    assert_eq!(keys(&patches[0]), ["issuer", "organizationId"]);
    assert_eq!(s.calls().posts, 0);
    s.env.wait_event("acme-saml", reasons::ADOPTED).await;
    operator.stop().await;
    s.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deletion_orphans_or_deactivates() {
    let s = Saml::new("saml-delete").await;
    let operator = s.env.start_operator();
    s.apply("acme-saml", s.spec(json!({}))).await.unwrap();
    s.wait_ready("acme-saml").await;
    s.api
        .delete("acme-saml", &DeleteParams::default())
        .await
        .unwrap();
    s.wait_gone("acme-saml").await;
    assert!(s.stored().unwrap().is_active, "Orphan leaves it as it is");
    assert!(s.bodies("PATCH").is_empty());

    s.apply(
        "acme-saml",
        s.spec(json!({"deletionPolicy": "Deactivate", "adoptionPolicy": "Adopt"})),
    )
    .await
    .unwrap();
    s.wait_ready("acme-saml").await;
    s.api
        .delete("acme-saml", &DeleteParams::default())
        .await
        .unwrap();
    s.wait_gone("acme-saml").await;
    assert!(!s.stored().unwrap().is_active, "Deactivate turns it off");
    let patches = s.bodies("PATCH");
    assert_eq!(patches.len(), 1, "{patches:?}");
    assert_eq!(patches[0]["isActive"], false);
    assert_eq!(keys(&patches[0]), ["isActive", "organizationId"]);
    operator.stop().await;
    s.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_saml_resource_for_the_organisation_conflicts_and_an_oidc_one_beside_it_does_not()
{
    let s = Saml::new("saml-conflict").await;
    let operator = s.env.start_operator();
    s.apply("first", s.spec(json!({}))).await.unwrap();
    s.wait_ready("first").await;
    s.apply(
        "second",
        s.spec(json!({"issuer": "http://www.okta.com/other"})),
    )
    .await
    .unwrap();
    let second = s.wait_reason("second", "False", "OwnershipConflict").await;
    let message = condition(&second, "Ready").unwrap().2;
    assert!(message.contains("first"), "{message}");
    // One organisation may sign in with OIDC and SAML at once (Infisical allows both).
    s.env.apply("acme-oidc", s.env.spec(json!({}))).await;
    s.env.wait_ready("acme-oidc").await;
    assert!(s.env.org().config.is_some());
    // No tug of war: the loser never wrote.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(s.calls().posts, 1);
    assert!(s.bodies("PATCH").is_empty());
    assert_eq!(s.stored().unwrap().issuer, "http://www.okta.com/exk1");
    operator.stop().await;
    s.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_is_refused_naming_the_field() {
    let s = Saml::new("saml-invalid").await;
    let operator = s.env.start_operator();
    // The CRD: group sync for a provider Infisical does not sync groups for.
    let refused = s
        .apply("groups", s.spec(json!({"enableGroupSync": true})))
        .await
        .expect_err("the API server refuses it");
    assert!(
        refused.to_string().contains("spec.enableGroupSync"),
        "{refused}"
    );
    // The operator: what CEL cannot see (an invisible character in the issuer).
    s.apply(
        "invisible",
        s.spec(json!({"issuer": "http://www.okta.com/\u{200b}exk1"})),
    )
    .await
    .unwrap();
    let invalid = s.wait_reason("invisible", "False", "InvalidSpec").await;
    assert!(
        condition(&invalid, "Ready")
            .unwrap()
            .2
            .contains("spec.issuer")
    );
    assert_eq!(s.calls().posts, 0);
    operator.stop().await;
    s.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_or_unparsable_certificate_is_refused_before_any_write() {
    let s = Saml::new("saml-cert").await;
    let operator = s.env.start_operator();
    let expired = SamlIdp::start_with(SigningCertificate::valid_until(
        jiff::Timestamp::now() - jiff::SignedDuration::from_hours(24),
    ));
    s.apply(
        "acme-saml",
        s.spec(
            json!({"preflight": "Enforce", "entryPoint": expired.entry_point,
            "issuer": expired.entity_id, "cert": expired.certificate_pem}),
        ),
    )
    .await
    .unwrap();
    let r = s
        .wait_reason("acme-saml", "False", reasons::IDP_CERTIFICATE_EXPIRED)
        .await;
    assert!(condition(&r, "Stalled").is_some_and(|(status, ..)| status == "True"));
    // The same resource, its certificate replaced by text that is no certificate.
    s.apply(
        "acme-saml",
        s.spec(json!({"preflight": "Enforce", "cert": "-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----"})),
    )
    .await
    .unwrap();
    s.wait_reason("acme-saml", "False", reasons::IDP_CERTIFICATE_INVALID)
        .await;
    assert_eq!(s.calls().posts, 0, "nothing was sent to Infisical");
    operator.stop().await;
    s.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_certificate_ten_days_from_expiry_gives_a_warning_condition_and_event() {
    let s = Saml::new("saml-expiring").await;
    let operator = s.env.start_operator();
    let idp = SamlIdp::start_with(SigningCertificate::valid_until(
        jiff::Timestamp::now() + jiff::SignedDuration::from_hours(24 * 10),
    ));
    s.apply(
        "acme-saml",
        s.spec(
            json!({"preflight": "Enforce", "entryPoint": idp.entry_point,
            "issuer": idp.entity_id, "cert": idp.certificate_pem}),
        ),
    )
    .await
    .unwrap();
    let r = s.wait_ready("acme-saml").await;
    let (status, reason, message) =
        condition(&r, "IdpCertificateExpiring").expect("the warning condition");
    assert_eq!(
        (status.as_str(), reason.as_str()),
        ("True", reasons::IDP_CERTIFICATE_EXPIRING)
    );
    assert!(
        message.contains("in 9 days") || message.contains("in 10 days"),
        "{message}"
    );
    let event = s
        .env
        .wait_event("acme-saml", reasons::IDP_CERTIFICATE_EXPIRING)
        .await;
    assert!(event.contains("spec.cert"), "{event}");
    assert_eq!(s.stored().unwrap().cert, idp.certificate_pem.trim());
    operator.stop().await;
    s.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_certificate_from_a_secret_is_rotated_with_a_patch_of_only_the_certificate() {
    let s = Saml::new("saml-rotate").await;
    let operator = s.env.start_operator();
    s.env
        .put_secret("idp-cert", &[("cert.pem", s.cert.as_str())])
        .await;
    s.apply(
        "acme-saml",
        s.spec(json!({"cert": null,
            "certRef": {"kind": "Secret", "name": "idp-cert", "key": "cert.pem"}})),
    )
    .await
    .unwrap();
    s.wait_ready("acme-saml").await;
    let next = saml_idp::self_signed_certificate(-1, 400);
    s.env
        .put_secret("idp-cert", &[("cert.pem", next.as_str())])
        .await;
    s.env.wait_event("acme-saml", reasons::SECRET_ROTATED).await;
    let patches = s.bodies("PATCH");
    assert_eq!(patches.len(), 1, "{patches:?}");
    assert_eq!(keys(&patches[0]), ["cert", "organizationId"]);
    assert_eq!(s.stored().unwrap().cert, next.trim());
    operator.stop().await;
    s.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_between_the_create_and_the_status_write_creates_nothing_twice() {
    let s = Saml::new("saml-crash").await;
    // Infisical commits the create but answers slowly; the operator dies before the answer.
    s.env.emulator.control().inject_fault(Fault {
        method: Some("POST".into()),
        path_prefix: Some("/api/v1/sso/config".into()),
        count: 1,
        kind: FaultKind::CommitThenDelay { millis: 3000 },
    });
    let operator = s.env.start_operator();
    s.apply("acme-saml", s.spec(json!({}))).await.unwrap();
    s.wait_until("acme-saml", "marked create-pending", |r| {
        r.metadata
            .annotations
            .as_ref()
            .is_some_and(|a| a.contains_key("oidc.infisical-operator.io/create-pending"))
    })
    .await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while s.stored().is_none() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the create never committed"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    operator.crash();
    let id = s.get("acme-saml").await.status.and_then(|st| st.common.id);
    assert!(id.is_none(), "the id was never written");

    let operator = s.env.start_operator();
    let resource = s.wait_ready("acme-saml").await;
    assert_eq!(s.calls().posts, 1, "no second create after the restart");
    assert_eq!(
        resource.status.unwrap().common.id,
        Some(s.stored().unwrap().id)
    );
    operator.stop().await;
    s.cleanup().await;
}
