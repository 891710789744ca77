//! Exact Kubernetes call sequences of a pass, against a mocked API server (tower-test) while
//! Infisical is the real emulator over HTTP. These pin down the ordering that makes creates
//! exactly-once: mark → create → status with id → unmark; and that an in-sync pass writes nothing.

mod support;

use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use http::{Method, Request, Response};
use infisical_emulator::{Emulator, EmulatorConfig, IdentitySeed, OrgSeed};
use infisical_oidc_operator::api::OidcSsoConfig;
use infisical_oidc_operator::events::{Recorder, Reporter};
use infisical_oidc_operator::infisical::{AllowedHosts, HttpSettings, Infisical};
use infisical_oidc_operator::metrics::Metrics;
use infisical_oidc_operator::reconcile::cached::Cached;
use infisical_oidc_operator::reconcile::context::{Context, Settings};
use infisical_oidc_operator::reconcile::oidc::Oidc;
use infisical_oidc_operator::reconcile::sync;
use kube::Client;
use kube::client::Body;
use serde_json::{Value, json};
use tower_test::mock::Handle;

type ApiHandle = Handle<Request<Body>, Response<Body>>;

fn b64(s: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(s)
}

fn secret(name: &str, data: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name, "namespace": "ns"}, "data": data})
}

fn resource(org: &str, host: &str, status: Option<Value>, annotations: Value) -> Value {
    let mut object = json!({
        "apiVersion": "oidc.infisical-operator.io/v1alpha1", "kind": "OidcSsoConfig",
        "metadata": {"name": "acme-sso", "namespace": "ns", "uid": "u-1", "generation": 1, "resourceVersion": "10",
            "finalizers": ["oidc.infisical-operator.io/finalizer"], "annotations": annotations},
        "spec": {
            "organizationId": org, "hostAPI": host,
            "authentication": {"universalAuth": {"credentialsRef": {"name": "infisical-identity"}}},
            "configurationType": "discoveryURL",
            "discoveryURL": "https://idp.example.com/.well-known/openid-configuration",
            "clientId": "infisical",
            "clientSecretRef": {"name": "idp-client", "key": "clientSecret"},
        },
    });
    if let Some(status) = status {
        object["status"] = status;
    }
    object
}

/// Waits for the next request, checks its method and path, answers `answer`, returns its body.
async fn expect(handle: &mut ApiHandle, method: Method, path: &str, answer: &Value) -> Value {
    let (request, respond) = tokio::time::timeout(Duration::from_secs(10), handle.next_request())
        .await
        .unwrap_or_else(|_| panic!("expected {method} {path}, got nothing"))
        .expect("the client is alive");
    assert_eq!(
        (request.method().clone(), request.uri().path().to_string()),
        (method, path.to_string()),
        "call out of sequence"
    );
    let bytes = http_body_util::BodyExt::collect(request.into_body())
        .await
        .unwrap()
        .to_bytes();
    let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    respond.send_response(
        Response::builder()
            .body(Body::from(serde_json::to_vec(answer).unwrap()))
            .unwrap(),
    );
    body
}

/// The pass's two Secret reads: both are sent before either is answered (a pass waits for one
/// round trip, not two), in either order.
async fn expect_secret_reads(handle: &mut ApiHandle, identity: &Value, idp: &Value) {
    let mut pending = Vec::new();
    for _ in 0..2 {
        let (request, respond) =
            tokio::time::timeout(Duration::from_secs(10), handle.next_request())
                .await
                .expect("both Secret reads in flight at once")
                .expect("the client is alive");
        assert_eq!(request.method(), Method::GET);
        pending.push((request.uri().path().to_string(), respond));
    }
    let mut paths: Vec<&str> = pending.iter().map(|(path, _)| path.as_str()).collect();
    paths.sort();
    assert_eq!(
        paths,
        [
            "/api/v1/namespaces/ns/secrets/idp-client",
            "/api/v1/namespaces/ns/secrets/infisical-identity"
        ]
    );
    for (path, respond) in pending {
        let answer = if path.ends_with("/idp-client") {
            idp
        } else {
            identity
        };
        respond.send_response(
            Response::builder()
                .body(Body::from(serde_json::to_vec(answer).unwrap()))
                .unwrap(),
        );
    }
}

struct Fixture {
    emulator: Emulator,
    org: String,
    identity_secret: Value,
    ctx: Arc<Context>,
    handle: ApiHandle,
}

async fn fixture() -> Fixture {
    let _ = tracing_subscriber::fmt()
        .with_env_filter("debug,hyper=info,h2=info,rustls=info")
        .with_test_writer()
        .try_init();
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let emulator = Emulator::start(EmulatorConfig::default()).await.unwrap();
    let org = emulator.control().seed_org(OrgSeed::default());
    let identity = emulator.control().seed_identity(IdentitySeed {
        org_id: org.clone(),
        ..IdentitySeed::default()
    });
    let identity_secret = secret(
        "infisical-identity",
        json!({"clientId": b64(&identity.client_id), "clientSecret": b64(&identity.client_secret)}),
    );
    let (service, handle) = tower_test::mock::pair::<Request<Body>, Response<Body>>();
    let client = Client::new(service, "ns");
    let metrics = Arc::new(Metrics::default());
    let recorder = Recorder::new(
        client.clone(),
        Reporter {
            controller: "test".into(),
            instance: None,
        },
    );
    let settings = Settings {
        allowed_hosts: AllowedHosts::new(["127.0.0.1"]),
        idp_resolver: support::test_idp_resolver(),
        default_preflight: infisical_oidc_operator::api::PreflightPolicy::Skip,
        ..Settings::default()
    };
    let infisical = Infisical::new(HttpSettings::default(), metrics.clone());
    let ctx = Arc::new(Context::new(
        client, infisical, metrics, recorder, settings, 1,
    ));
    Fixture {
        emulator,
        org,
        identity_secret,
        ctx,
        handle,
    }
}

/// Infisical already holds the configuration we created, but the cached copy a pass starts from
/// predates the status write that recorded its id. Starts that pass and answers its Secret reads.
async fn stale_pass_to_a_foreign_looking_config(
    f: &mut Fixture,
) -> tokio::task::JoinHandle<
    infisical_oidc_operator::error::Result<kube::runtime::controller::Action>,
> {
    f.emulator.control().put_config_out_of_band(
        &f.org,
        json!({"configurationType": "discoveryURL", "discoveryURL": "https://idp.example.com/.well-known/openid-configuration",
            "clientId": "infisical", "clientSecret": "s3cret", "isActive": true}),
    );
    let stale: OidcSsoConfig =
        serde_json::from_value(resource(&f.org, &f.emulator.base_url(), None, json!({}))).unwrap();
    let ctx = f.ctx.clone();
    let pass = tokio::spawn(async move { sync::<Oidc>(&ctx, &stale).await });
    let idp = secret("idp-client", json!({"clientSecret": b64("s3cret")}));
    expect_secret_reads(&mut f.handle, &f.identity_secret, &idp).await;
    pass
}

const BASE: &str =
    "/apis/oidc.infisical-operator.io/v1alpha1/namespaces/ns/oidcssoconfigs/acme-sso";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_create_marks_then_creates_then_records_the_id_then_unmarks() {
    let mut f = fixture().await;
    let host = f.emulator.base_url();
    let fresh: OidcSsoConfig =
        serde_json::from_value(resource(&f.org, &host, None, json!({}))).unwrap();
    let ctx = f.ctx.clone();
    let pass = tokio::spawn(async move { sync::<Oidc>(&ctx, &fresh).await });

    let control = f.emulator.control();
    let h = &mut f.handle;
    expect_secret_reads(
        h,
        &f.identity_secret,
        &secret("idp-client", json!({"clientSecret": b64("s3cret")})),
    )
    .await;
    let marked = resource(
        &f.org,
        &host,
        None,
        json!({"oidc.infisical-operator.io/create-pending": "t"}),
    );
    let mut marked = marked;
    marked["metadata"]["resourceVersion"] = json!("11");
    let mark = expect(h, Method::PATCH, BASE, &marked).await;
    assert!(
        mark["metadata"]["annotations"]["oidc.infisical-operator.io/create-pending"].is_string(),
        "{mark}"
    );
    assert_eq!(
        control.org_state(&f.org).unwrap().posts,
        0,
        "marked before the create"
    );

    let status_patch = expect(h, Method::PATCH, &format!("{BASE}/status"), &marked).await;
    let org = control.org_state(&f.org).unwrap();
    assert_eq!(
        org.posts, 1,
        "the create happened between mark and status write"
    );
    assert_eq!(
        status_patch["status"]["id"],
        org.config.unwrap()["id"],
        "status carries the new id"
    );
    assert_eq!(status_patch["status"]["conditions"][0]["status"], "True");
    assert_eq!(
        status_patch["metadata"]["resourceVersion"], "11",
        "the status write is conditional on the marked version"
    );
    assert!(
        !status_patch.to_string().contains("s3cret"),
        "no secret in status"
    );

    // The Created Event is recorded before the mark is cleared, so a crash in between cannot
    // lose it: the mark makes the next pass look for it.
    let event = expect(
        h,
        Method::POST,
        "/apis/events.k8s.io/v1/namespaces/ns/events",
        &json!({}),
    )
    .await;
    assert_eq!(event["reason"], "Created");
    let unmark = expect(
        h,
        Method::PATCH,
        BASE,
        &resource(&f.org, &host, None, json!({})),
    )
    .await;
    assert_eq!(
        unmark["metadata"]["annotations"]["oidc.infisical-operator.io/create-pending"],
        Value::Null
    );

    let action = tokio::time::timeout(Duration::from_secs(10), pass)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert!(
        format!("{action:?}").contains("requeue_after: Some"),
        "{action:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_in_sync_pass_reads_two_secrets_and_writes_nothing() {
    let mut f = fixture().await;
    let host = f.emulator.base_url();
    // First pass: create, and capture the status it writes.
    let fresh: OidcSsoConfig =
        serde_json::from_value(resource(&f.org, &host, None, json!({}))).unwrap();
    let ctx = f.ctx.clone();
    let pass = tokio::spawn(async move { sync::<Oidc>(&ctx, &fresh).await });
    let idp = secret("idp-client", json!({"clientSecret": b64("s3cret")}));
    let h = &mut f.handle;
    expect_secret_reads(h, &f.identity_secret, &idp).await;
    let object = resource(&f.org, &host, None, json!({}));
    expect(h, Method::PATCH, BASE, &object).await;
    let status =
        expect(h, Method::PATCH, &format!("{BASE}/status"), &object).await["status"].clone();
    expect(
        h,
        Method::POST,
        "/apis/events.k8s.io/v1/namespaces/ns/events",
        &json!({}),
    )
    .await;
    expect(h, Method::PATCH, BASE, &object).await;
    pass.await.unwrap().unwrap();

    // Second pass on the object as it now stands.
    let current: OidcSsoConfig =
        serde_json::from_value(resource(&f.org, &host, Some(status), json!({}))).unwrap();
    let ctx = f.ctx.clone();
    let pass = tokio::spawn(async move { sync::<Oidc>(&ctx, &current).await });
    expect_secret_reads(h, &f.identity_secret, &idp).await;
    // Any further Kubernetes call would go unanswered and the pass would not finish.
    tokio::time::timeout(Duration::from_secs(10), pass)
        .await
        .expect("no write after the reads")
        .unwrap()
        .unwrap();
    let org = f.emulator.control().org_state(&f.org).unwrap();
    assert_eq!((org.posts, org.patches), (1, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pass_from_a_stale_copy_cannot_overwrite_a_newer_status() {
    let mut f = fixture().await;
    let host = f.emulator.base_url();
    let pass = stale_pass_to_a_foreign_looking_config(&mut f).await;
    let h = &mut f.handle;
    // The configuration looks foreign: the pass checks the object's current version first.
    // It still matches here (the newer version lands just after), so the pass reports, and its
    // conditional status write is refused.
    let same = resource(&f.org, &host, None, json!({}));
    expect(h, Method::GET, BASE, &same).await;
    let (request, respond) = h.next_request().await.unwrap();
    assert_eq!(request.uri().path(), format!("{BASE}/status"));
    let bytes = http_body_util::BodyExt::collect(request.into_body())
        .await
        .unwrap()
        .to_bytes();
    let body: Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(body["metadata"]["resourceVersion"], "10");
    assert_eq!(
        body["status"]["conditions"][0]["reason"],
        "AdoptionRequired"
    );
    let conflict = json!({"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": "Conflict", "code": 409,
        "message": "the object has been modified"});
    respond.send_response(
        Response::builder()
            .status(409)
            .body(Body::from(serde_json::to_vec(&conflict).unwrap()))
            .unwrap(),
    );
    let result = tokio::time::timeout(Duration::from_secs(10), pass)
        .await
        .unwrap()
        .unwrap();
    let error = result.expect_err("the conflict ends the pass");
    assert!(error.to_string().contains("modified"), "{error}");
    // No Event was published for the stale conclusion.
    assert!(
        tokio::time::timeout(Duration::from_millis(300), h.next_request())
            .await
            .is_err()
    );
    assert_eq!(f.emulator.control().org_state(&f.org).unwrap().patches, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_foreign_looking_configuration_is_rechecked_against_a_newer_version() {
    let mut f = fixture().await;
    let host = f.emulator.base_url();
    let pass = stale_pass_to_a_foreign_looking_config(&mut f).await;
    let h = &mut f.handle;
    let mut newer = resource(&f.org, &host, None, json!({}));
    newer["metadata"]["resourceVersion"] = json!("12");
    expect(h, Method::GET, BASE, &newer).await;
    // No status write, no event: the pass waits for the newer copy.
    tokio::time::timeout(Duration::from_secs(10), pass)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert!(
        tokio::time::timeout(Duration::from_millis(300), h.next_request())
            .await
            .is_err()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_malformed_object_is_reported_by_the_same_server_side_apply_as_any_status() {
    let mut f = fixture().await;
    // A stored object this version cannot read (a field of the wrong type, as left by another
    // version of the CRD): it reaches the reconciler as an error, not as a resource.
    let mut stored = resource(&f.org, "https://us.infisical.com", None, json!({}));
    stored["spec"]["isActive"] = json!("yes");
    let guard: kube::core::DeserializeGuard<OidcSsoConfig> =
        serde_json::from_value(stored.clone()).unwrap();
    assert!(guard.0.is_err());
    // The cache names the object; the pass reads it whole from the API server first.
    let cached = Cached::<Oidc>::of(&guard);
    let ctx = f.ctx.clone();
    let pass = tokio::spawn(async move {
        infisical_oidc_operator::reconcile::entry::reconcile(Arc::new(cached), ctx).await
    });
    expect(&mut f.handle, Method::GET, BASE, &stored).await;
    let (request, respond) = tokio::time::timeout(Duration::from_secs(10), f.handle.next_request())
        .await
        .expect("a status write")
        .expect("the client is alive");
    assert_eq!(request.method(), Method::PATCH);
    assert_eq!(request.uri().path(), format!("{BASE}/status"));
    let query = request.uri().query().unwrap_or_default().to_string();
    assert!(
        query.contains("fieldManager=infisical-oidc-operator"),
        "{query}"
    );
    assert!(query.contains("force=true"), "{query}");
    assert_eq!(
        request.headers()["content-type"],
        "application/apply-patch+yaml"
    );
    let bytes = http_body_util::BodyExt::collect(request.into_body())
        .await
        .unwrap()
        .to_bytes();
    let body: Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(body["kind"], "OidcSsoConfig");
    assert_eq!(body["metadata"]["resourceVersion"], "10");
    let conditions = body["status"]["conditions"].as_array().unwrap();
    assert!(
        conditions
            .iter()
            .all(|c| c["reason"] == "MalformedResource"),
        "{conditions:?}"
    );
    respond.send_response(
        Response::builder()
            .body(Body::from(serde_json::to_vec(&stored).unwrap()))
            .unwrap(),
    );
    pass.await.unwrap().unwrap();
}

/// The write fence of leader election sits under the operator's Kubernetes client: while it is
/// closed, writes fail before anything is sent, and reads still go out.
#[tokio::test]
async fn a_closed_fence_stops_kubernetes_writes_before_they_are_sent() {
    use infisical_oidc_operator::leader::{Fence, fence_layer};
    use k8s_openapi::api::core::v1::ConfigMap;
    use kube::api::{Api, Patch, PatchParams};

    let fence = Fence::closed(Duration::from_secs(60));
    let (service, mut handle) = tower_test::mock::pair::<Request<Body>, Response<Body>>();
    let client = kube::client::ClientBuilder::new(service, "ns")
        .with_layer(&fence_layer(fence.clone()))
        .build();
    let api: Api<ConfigMap> = Api::namespaced(client, "ns");
    let patch = Patch::Merge(json!({"data": {"a": "b"}}));
    let params = PatchParams::default();

    let refused = api
        .patch("c", &params, &patch)
        .await
        .expect_err("a write with the fence closed is refused");
    let reason = infisical_oidc_operator::error::Error::Kube(refused).reason();
    assert_eq!(reason, "NotLeader");
    assert!(
        tokio::time::timeout(Duration::from_millis(200), handle.next_request())
            .await
            .is_err(),
        "nothing reached the API server"
    );

    let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "ns"}});
    let (read, _) = tokio::join!(
        api.get("c"),
        expect(
            &mut handle,
            Method::GET,
            "/api/v1/namespaces/ns/configmaps/c",
            &cm
        )
    );
    read.expect("reads pass a closed fence");

    fence.confirm(std::time::Instant::now());
    let (written, _) = tokio::join!(
        api.patch("c", &params, &patch),
        expect(
            &mut handle,
            Method::PATCH,
            "/api/v1/namespaces/ns/configmaps/c",
            &cm
        )
    );
    written.expect("an open fence lets writes through");
}

/// A resource deleted between its event and its pass: the pass reads it, finds it gone, and
/// calls nothing else (no Secret, no Infisical, no status).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resource_gone_before_its_pass_makes_no_other_call() {
    let mut f = fixture().await;
    let stored = resource(&f.org, &f.emulator.base_url(), None, json!({}));
    let guard: kube::core::DeserializeGuard<OidcSsoConfig> =
        serde_json::from_value(stored).unwrap();
    let cached = Cached::<Oidc>::of(&guard);
    let ctx = f.ctx.clone();
    let pass = tokio::spawn(async move {
        infisical_oidc_operator::reconcile::entry::reconcile(Arc::new(cached), ctx).await
    });
    let not_found = json!({"kind": "Status", "apiVersion": "v1", "status": "Failure",
        "reason": "NotFound", "code": 404, "message": "not found"});
    let (request, respond) = tokio::time::timeout(Duration::from_secs(10), f.handle.next_request())
        .await
        .expect("a read of the object")
        .expect("the client is alive");
    assert_eq!(
        (request.method(), request.uri().path()),
        (&Method::GET, BASE)
    );
    respond.send_response(
        Response::builder()
            .status(404)
            .body(Body::from(serde_json::to_vec(&not_found).unwrap()))
            .unwrap(),
    );
    let action = pass.await.unwrap().unwrap();
    assert_eq!(action, kube::runtime::controller::Action::await_change());
    assert!(
        tokio::time::timeout(Duration::from_millis(300), f.handle.next_request())
            .await
            .is_err(),
        "nothing after the read"
    );
    assert_eq!(f.emulator.control().request_count(), 0);
}
