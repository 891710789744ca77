//! What Flux sees: kstatus (sigs.k8s.io/cli-utils `status.Compute`, run by `kstatus` from
//! hack/gitops) on live objects read with `kubectl get -o json` from the real API server, in each
//! state the operator reports.
//!
//! kstatus v0.37.2 decides, in order: deletionTimestamp → Terminating; generation ≠
//! status.observedGeneration → InProgress; Reconciling=True → InProgress; Stalled=True → Failed;
//! then, for kinds it has no rules for, the Ready condition (True → Current, False or Unknown →
//! InProgress); no conditions at all → Current.
//!
//! The programs come from `GITOPS_BIN_DIR` (hack/test.sh builds them), else from one run of
//! `hack/gitops/build.sh` (needs Go >= 1.26).

mod support;

use std::process::Stdio;

use std::time::Duration;

use infisical_emulator::{Fault, FaultKind};
use infisical_oidc_operator::api::{PreflightPolicy, reasons};
use kube::Api;
use kube::api::{DynamicObject, Patch, PatchParams};
use serde_json::{Value, json};
use support::ldap::Directory;
use support::saml_idp;
use support::*;
use tokio::io::AsyncWriteExt;
use tokio::process::Command;

/// One kstatus verdict.
#[derive(Debug)]
struct Verdict {
    name: String,
    status: String,
    message: String,
}

/// `kubectl get oidcsso [NAME] -n NS -o json`: the live object (or list) as the API server has it.
async fn live(env: &TestEnv, name: Option<&str>) -> Vec<u8> {
    live_of(env, "oidcssoconfigs", name).await
}

/// [`live`] for the kind whose plural is `plural`.
async fn live_of(env: &TestEnv, plural: &str, name: Option<&str>) -> Vec<u8> {
    let mut cmd = Command::new("kubectl");
    cmd.args(["get", &format!("{plural}.oidc.infisical-operator.io")]);
    cmd.args(name);
    cmd.args(["-n", &env.namespace, "-o", "json"]);
    let out = cmd.output().await.expect("run kubectl (on PATH?)");
    assert!(
        out.status.success(),
        "kubectl get failed ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// Runs the kstatus program with `input` on stdin.
async fn run_kstatus(input: &[u8]) -> std::process::Output {
    let mut child = Command::new(gitops_bin("kstatus"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run kstatus");
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(input).await.unwrap();
    drop(stdin);
    child.wait_with_output().await.unwrap()
}

/// kstatus on `json` (an object or a list); one verdict per object.
async fn kstatus(json: &[u8]) -> Vec<Verdict> {
    let out = run_kstatus(json).await;
    assert!(
        out.status.success(),
        "kstatus failed ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|line| {
            let v: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
            let field = |k: &str| v[k].as_str().unwrap_or_else(|| panic!("{k} in {line}"));
            Verdict {
                name: field("name").into(),
                status: field("status").into(),
                message: field("message").into(),
            }
        })
        .collect()
}

/// The live object `name` and kstatus' verdict on it.
async fn kstatus_of(env: &TestEnv, name: &str) -> (Value, Verdict) {
    kstatus_of_kind(env, "oidcssoconfigs", name).await
}

/// [`kstatus_of`] for the kind whose plural is `plural`.
async fn kstatus_of_kind(env: &TestEnv, plural: &str, name: &str) -> (Value, Verdict) {
    let json = live_of(env, plural, Some(name)).await;
    let mut verdicts = kstatus(&json).await;
    assert_eq!(verdicts.len(), 1, "{verdicts:?}");
    let verdict = verdicts.pop().unwrap();
    eprintln!("kstatus {name}: {verdict:?}");
    assert_eq!(verdict.name, name);
    (serde_json::from_slice(&json).unwrap(), verdict)
}

/// The live object's condition `type_`.
fn live_condition<'a>(object: &'a Value, type_: &str) -> &'a Value {
    object["status"]["conditions"]
        .as_array()
        .and_then(|cs| cs.iter().find(|c| c["type"] == type_))
        .unwrap_or_else(|| panic!("no {type_} condition: {object:#}"))
}

fn condition_message(object: &Value, type_: &str) -> String {
    live_condition(object, type_)["message"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ready_is_current() {
    let env = TestEnv::new("ks-ready").await;
    let operator = env.start_operator();
    env.apply("acme-sso", env.spec(json!({}))).await;
    env.wait_ready("acme-sso").await;

    let (_, verdict) = kstatus_of(&env, "acme-sso").await;
    assert_eq!(verdict.status, "Current", "{verdict:?}");
    assert_eq!(verdict.message, "Resource is Ready");
    operator.stop().await;
    env.cleanup().await;
}

/// A resource no operator has looked at has no status at all, and kstatus, with no
/// observedGeneration and no condition to go by, calls that Current. So a Flux `wait` can pass
/// before the operator has run; only the operator's first status write makes kstatus meaningful.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resource_no_operator_has_seen_is_current_to_kstatus() {
    let env = TestEnv::new("ks-fresh").await;
    env.apply("acme-sso", env.spec(json!({}))).await;

    let (object, verdict) = kstatus_of(&env, "acme-sso").await;
    assert!(object.get("status").is_none(), "{object:#}");
    assert_eq!(verdict.status, "Current", "{verdict:?}");
    assert_eq!(verdict.message, "Resource is current");
    env.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconciling_through_an_outage_is_in_progress() {
    let env = TestEnv::new("ks-outage").await;
    env.emulator.control().set_outage(true);
    let operator = env.start_operator();
    env.apply("acme-sso", env.spec(json!({}))).await;
    env.wait_ready_reason("acme-sso", "False", "InfisicalUnreachable")
        .await;

    let (object, verdict) = kstatus_of(&env, "acme-sso").await;
    assert_eq!(verdict.status, "InProgress", "{verdict:?}");
    assert_eq!(verdict.message, condition_message(&object, "Reconciling"));

    // A 5xx is transient too: still InProgress, and Current once Infisical answers.
    env.emulator.control().set_outage(false);
    env.emulator.control().inject_fault(Fault {
        method: Some("GET".into()),
        path_prefix: Some("/api/v1/sso/oidc/config".into()),
        count: 1,
        kind: FaultKind::Status {
            status: 503,
            body: None,
        },
    });
    env.wait_ready("acme-sso").await;
    let (_, verdict) = kstatus_of(&env, "acme-sso").await;
    assert_eq!(verdict.status, "Current", "{verdict:?}");
    operator.stop().await;
    env.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stalled_is_failed() {
    let env = TestEnv::new("ks-stalled").await;
    // A configuration this resource did not create (AdoptionRequired), and a Secret without the
    // key the spec names (SecretKeyMissing): both permanent until someone changes something.
    env.emulator.control().put_config_out_of_band(
        &env.org_id,
        json!({"configurationType": "discoveryURL", "discoveryURL": "https://old-idp.example.com/.well-known/openid-configuration", "clientId": "infisical", "clientSecret": "old", "isActive": true}),
    );
    let operator = env.start_operator();
    env.apply("adopt", env.spec(json!({}))).await;
    env.apply(
        "nokey",
        env.spec(json!({"clientSecretRef": {"name": "idp-client", "key": "nope"}})),
    )
    .await;
    env.wait_ready_reason("adopt", "False", "AdoptionRequired")
        .await;
    env.wait_ready_reason("nokey", "False", "SecretKeyMissing")
        .await;

    for name in ["adopt", "nokey"] {
        let (object, verdict) = kstatus_of(&env, name).await;
        assert_eq!(verdict.status, "Failed", "{name}: {verdict:?}");
        assert_eq!(verdict.message, condition_message(&object, "Stalled"));
    }
    // The same verdicts from the namespace's list, as `kubectl get oidcsso -o json` gives it.
    let mut verdicts = kstatus(&live(&env, None).await).await;
    verdicts.sort_by(|a, b| a.name.cmp(&b.name));
    let summary: Vec<(&str, &str)> = verdicts
        .iter()
        .map(|v| (v.name.as_str(), v.status.as_str()))
        .collect();
    assert_eq!(summary, [("adopt", "Failed"), ("nokey", "Failed")]);
    operator.stop().await;
    env.cleanup().await;
}

/// Suspended, the operator reports Ready=False (reason Suspended) and neither Reconciling nor
/// Stalled. kstatus has no "suspended" state; it falls back to Ready, and Ready=False is
/// InProgress. That is the honest answer: while suspended nothing makes Infisical match the spec,
/// so the spec is not known to be realised (not Current), and nothing is broken either (not
/// Failed). A Flux `wait` on a suspended resource therefore waits, as it should.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn suspended_is_in_progress() {
    let env = TestEnv::new("ks-suspend").await;
    let operator = env.start_operator();
    env.apply("acme-sso", env.spec(json!({"suspend": true})))
        .await;
    env.wait_ready_reason("acme-sso", "False", "Suspended")
        .await;

    let (object, verdict) = kstatus_of(&env, "acme-sso").await;
    assert_eq!(verdict.status, "InProgress", "{verdict:?}");
    assert_eq!(verdict.message, condition_message(&object, "Ready"));
    operator.stop().await;
    env.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_with_the_finalizer_is_terminating() {
    let env = TestEnv::new("ks-delete").await;
    let operator = env.start_operator();
    env.apply("acme-sso", env.spec(json!({}))).await;
    env.wait_ready("acme-sso").await;
    // With the operator stopped, nothing removes the finalizer: the object stays, deleting.
    operator.stop().await;
    env.delete("acme-sso").await;
    env.wait_until(
        "acme-sso",
        "marked for deletion",
        std::time::Duration::from_secs(10),
        |r| r.metadata.deletion_timestamp.is_some(),
    )
    .await;

    let (object, verdict) = kstatus_of(&env, "acme-sso").await;
    assert!(
        object["metadata"]["finalizers"]
            .as_array()
            .is_some_and(|f| f
                .iter()
                .any(|f| f == "oidc.infisical-operator.io/finalizer")),
        "{object:#}"
    );
    assert_eq!(verdict.status, "Terminating", "{verdict:?}");
    assert_eq!(verdict.message, "Resource scheduled for deletion");

    // The operator back: it finishes the deletion.
    let operator = env.start_operator();
    env.wait_gone("acme-sso").await;
    operator.stop().await;
    env.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_spec_the_operator_has_not_observed_is_in_progress() {
    let env = TestEnv::new("ks-stale").await;
    let operator = env.start_operator();
    env.apply("acme-sso", env.spec(json!({}))).await;
    env.wait_ready("acme-sso").await;
    // Stopped operator, edited spec: generation moves on, status.observedGeneration does not.
    operator.stop().await;
    env.apply(
        "acme-sso",
        env.spec(json!({"jwtSignatureAlgorithm": "RS512"})),
    )
    .await;

    let (object, verdict) = kstatus_of(&env, "acme-sso").await;
    let generation = object["metadata"]["generation"].as_i64().unwrap();
    let observed = object["status"]["observedGeneration"].as_i64().unwrap();
    assert!(generation > observed, "{object:#}");
    // Ready=True is still on the object: only the generation check makes this InProgress.
    assert_eq!(live_condition(&object, "Ready")["status"], "True");
    assert_eq!(verdict.status, "InProgress", "{verdict:?}");
    assert_eq!(
        verdict.message,
        format!(
            "OidcSsoConfig generation is {generation}, but latest observed generation is {observed}"
        )
    );

    // The operator back: it observes the new generation and kstatus says Current again.
    let operator = env.start_operator();
    env.wait_ready("acme-sso").await;
    let (_, verdict) = kstatus_of(&env, "acme-sso").await;
    assert_eq!(verdict.status, "Current", "{verdict:?}");
    operator.stop().await;
    env.cleanup().await;
}

#[tokio::test]
async fn kstatus_rejects_input_that_is_not_an_object() {
    for input in [
        &b"not json"[..],
        b"[]",
        br#"{"items": []}"#,
        br#"{"spec": {}}"#,
    ] {
        let out = run_kstatus(input).await;
        let input = String::from_utf8_lossy(input);
        assert!(!out.status.success(), "{input}: accepted");
        assert!(out.stdout.is_empty(), "{input}: printed a verdict");
        assert!(
            String::from_utf8_lossy(&out.stderr).starts_with("kstatus: "),
            "{input}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// Applies `spec` as a resource of `kind` named `name` (server-side apply, as the tests' kubectl).
async fn apply_kind(env: &TestEnv, kind: &str, plural: &str, name: &str, spec: Value) {
    let resource = kube::api::ApiResource {
        group: "oidc.infisical-operator.io".into(),
        version: "v1alpha1".into(),
        api_version: "oidc.infisical-operator.io/v1alpha1".into(),
        kind: kind.into(),
        plural: plural.into(),
    };
    let api: Api<DynamicObject> =
        Api::namespaced_with(env.client.clone(), &env.namespace, &resource);
    let object = json!({
        "apiVersion": "oidc.infisical-operator.io/v1alpha1",
        "kind": kind,
        "metadata": {"name": name},
        "spec": spec,
    });
    api.patch(
        name,
        &PatchParams::apply("tests").force(),
        &Patch::Apply(&object),
    )
    .await
    .unwrap_or_else(|e| panic!("applying {kind} {name}: {e}"));
}

/// Waits until the operator has reported the current generation with the Ready condition's
/// `reason`, then returns the live object and kstatus' verdict on it. (Before the operator's first
/// status write kstatus calls any object Current, so waiting for the verdict alone proves nothing.)
async fn kstatus_once_reported(
    env: &TestEnv,
    plural: &str,
    name: &str,
    reason: &str,
) -> (Value, Verdict) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let live: Value = serde_json::from_slice(&live_of(env, plural, Some(name)).await).unwrap();
        let ready = live["status"]["conditions"]
            .as_array()
            .and_then(|cs| cs.iter().find(|c| c["type"] == "Ready"));
        let reported = live["status"]["observedGeneration"] == live["metadata"]["generation"]
            && ready.is_some_and(|c| c["reason"] == reason);
        if reported {
            return kstatus_of_kind(env, plural, name).await;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{plural}/{name} was not reported with reason {reason}: {live:#}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// The SAML kind reports through the same conditions: Ready is Current, and a certificate that
/// has expired (refused by the preflight, permanent until the spec changes) is Failed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_saml_resource_ready_is_current_and_with_an_expired_certificate_failed() {
    let env = TestEnv::new("ks-saml").await;
    let operator =
        env.start_operator_with(|c| c.settings.default_preflight = PreflightPolicy::Enforce);
    let spec = |cert: String| {
        json!({
            "organizationId": env.org_id,
            "hostAPI": env.emulator.base_url(),
            "authentication": {"universalAuth": {"credentialsRef": {"name": "infisical-identity"}}},
            "authProvider": "okta-saml",
            "entryPoint": "https://idp.example.com/app/sso/saml",
            "issuer": "http://www.okta.com/exk1",
            "cert": cert,
        })
    };
    apply_kind(
        &env,
        "SamlSsoConfig",
        "samlssoconfigs",
        "okta",
        spec(saml_idp::self_signed_certificate(-1, 365)),
    )
    .await;
    let (_, verdict) = kstatus_once_reported(&env, "samlssoconfigs", "okta", "Synced").await;
    assert_eq!(verdict.status, "Current", "{verdict:?}");
    assert_eq!(verdict.message, "Resource is Ready");

    apply_kind(
        &env,
        "SamlSsoConfig",
        "samlssoconfigs",
        "okta",
        spec(saml_idp::self_signed_certificate(-30, -1)),
    )
    .await;
    let (object, verdict) = kstatus_once_reported(
        &env,
        "samlssoconfigs",
        "okta",
        reasons::IDP_CERTIFICATE_EXPIRED,
    )
    .await;
    assert_eq!(verdict.status, "Failed", "{verdict:?}");
    assert_eq!(
        live_condition(&object, "Stalled")["reason"],
        reasons::IDP_CERTIFICATE_EXPIRED
    );
    assert_eq!(verdict.message, condition_message(&object, "Stalled"));
    operator.stop().await;
    clear_finalizers(&env, "samlssoconfigs").await;
    env.cleanup().await;
}

/// The LDAP kind too: Ready against a real directory is Current, and after the bind password's
/// Secret changes to one the directory refuses (refused by the preflight bind) it is Failed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ldap_resource_ready_is_current_and_with_a_refused_bind_password_failed() {
    let dir = Directory::start();
    let env = TestEnv::new("ks-ldap").await;
    // slapd listens on 127.0.0.1, which Infisical refuses unless the instance allows it.
    env.emulator
        .control()
        .set_allow_internal_ip_connections(true);
    env.put_secret("ldap-bind", &[("password", dir.bind_password())])
        .await;
    let operator =
        env.start_operator_with(|c| c.settings.default_preflight = PreflightPolicy::Enforce);
    let spec = json!({
        "organizationId": env.org_id,
        "hostAPI": env.emulator.base_url(),
        "authentication": {"universalAuth": {"credentialsRef": {"name": "infisical-identity"}}},
        "url": dir.url,
        "bindDN": dir.bind_dn,
        "bindPassRef": {"name": "ldap-bind", "key": "password"},
        "searchBase": support::ldap::PEOPLE_DN,
        "groupSearchBase": support::ldap::GROUPS_DN,
        "caCertificate": dir.ca_pem,
    });
    apply_kind(&env, "LdapSsoConfig", "ldapssoconfigs", "corp", spec).await;
    let (_, verdict) = kstatus_once_reported(&env, "ldapssoconfigs", "corp", "Synced").await;
    assert_eq!(verdict.status, "Current", "{verdict:?}");
    assert_eq!(verdict.message, "Resource is Ready");

    env.put_secret("ldap-bind", &[("password", "not-the-password")])
        .await;
    let (object, verdict) =
        kstatus_once_reported(&env, "ldapssoconfigs", "corp", reasons::LDAP_BIND_REFUSED).await;
    assert_eq!(verdict.status, "Failed", "{verdict:?}");
    assert_eq!(
        live_condition(&object, "Stalled")["reason"],
        reasons::LDAP_BIND_REFUSED
    );
    assert_eq!(verdict.message, condition_message(&object, "Stalled"));
    operator.stop().await;
    clear_finalizers(&env, "ldapssoconfigs").await;
    env.cleanup().await;
}

/// Lets the namespace go: the finalizers off every resource of the kind `plural`.
async fn clear_finalizers(env: &TestEnv, plural: &str) {
    let listed: Value = serde_json::from_slice(&live_of(env, plural, None).await).unwrap();
    for item in listed["items"].as_array().into_iter().flatten() {
        let name = item["metadata"]["name"].as_str().unwrap();
        let out = Command::new("kubectl")
            .args([
                "patch",
                &format!("{plural}.oidc.infisical-operator.io"),
                name,
            ])
            .args(["-n", &env.namespace, "--type=merge"])
            .args(["-p", r#"{"metadata":{"finalizers":null}}"#])
            .output()
            .await
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
