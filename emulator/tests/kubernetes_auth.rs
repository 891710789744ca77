//! Kubernetes Auth login (`POST /api/v1/auth/kubernetes-auth/login`, contract section 4a): the
//! emulator POSTs a real TokenReview to a fake API server on 127.0.0.1 (HTTPS with rcgen
//! certificates, or HTTP) and maps its answers and failures to Infisical's errors. The last test
//! runs against a real API server when `KUBECONFIG` is set.

mod common;

use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine;
use common::{assert_err, body_of, client, issues};
use infisical_emulator::{
    Control, Emulator, EmulatorConfig, IdentitySeed, KubernetesAuthSeed, OrgSeed, Seed,
};
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose};
use serde_json::{Value, json};

const CALLER_JWT: &str = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJjYWxsZXIifQ.Y2FsbGVyLXNpZ25hdHVyZQ";
const REVIEWER_JWT: &str = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJyZXZpZXdlciJ9.cmV2aWV3ZXItc2ln";
const LOGIN: &str = "/api/v1/auth/kubernetes-auth/login";

fn jwt_payload(token: &str) -> Value {
    let part = token.split('.').nth(1).expect("payload");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(part)
        .expect("b64");
    serde_json::from_slice(&bytes).expect("json")
}

// ---------------------------------------------------------------- certificates

struct Ca {
    params: CertificateParams,
    key: KeyPair,
    pem: String,
}

fn ca(name: &str) -> Ca {
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.distinguished_name = rcgen::DistinguishedName::new();
    params.distinguished_name.push(DnType::CommonName, name);
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let key = KeyPair::generate().unwrap();
    let pem = params.self_signed(&key).unwrap().pem();
    Ca { params, key, pem }
}

/// (certificate chain PEM, key PEM) for 127.0.0.1 and localhost.
fn leaf(issuer: Option<&Ca>, with_chain: bool) -> (String, String) {
    let mut params =
        CertificateParams::new(vec!["127.0.0.1".to_string(), "localhost".to_string()]).unwrap();
    params.distinguished_name = rcgen::DistinguishedName::new();
    params
        .distinguished_name
        .push(DnType::CommonName, "kube-apiserver");
    let key = KeyPair::generate().unwrap();
    let cert = match issuer {
        Some(ca) => {
            let issuer = Issuer::from_params(&ca.params, &ca.key);
            params.signed_by(&key, &issuer).unwrap()
        }
        None => params.self_signed(&key).unwrap(),
    };
    let mut chain = cert.pem();
    if let (true, Some(ca)) = (with_chain, issuer) {
        chain.push_str(&ca.pem);
    }
    (chain, key.serialize_pem())
}

// ---------------------------------------------------------------- fake API server

#[derive(Debug, Clone)]
struct Seen {
    path: String,
    authorization: Option<String>,
    body: Value,
}

/// (status, body, delay)
type Reply = Arc<dyn Fn(&Seen) -> (u16, String, Duration) + Send + Sync>;

struct FakeApiServer {
    url: String,
    seen: Arc<Mutex<Vec<Seen>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FakeApiServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl FakeApiServer {
    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

fn reply_json(status: u16, body: Value) -> Reply {
    Arc::new(move |_| (status, body.to_string(), Duration::ZERO))
}

fn review_ok(username: &str, audiences: &[&str]) -> Reply {
    reply_json(
        201,
        json!({
            "kind": "TokenReview",
            "apiVersion": "authentication.k8s.io/v1",
            "metadata": {"creationTimestamp": null},
            "spec": {"token": "(echoed)"},
            "status": {
                "authenticated": true,
                "user": {"username": username, "uid": "1c7d4b0e", "groups": ["system:serviceaccounts"]},
                "audiences": audiences,
            },
        }),
    )
}

/// Serve `reply` on 127.0.0.1 over HTTPS with `tls` = (chain PEM, key PEM), or plain HTTP.
async fn fake_api_server(tls: Option<(String, String)>, reply: Reply) -> FakeApiServer {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let seen: Arc<Mutex<Vec<Seen>>> = Arc::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let acceptor = tls.map(|(chain, key)| {
        let certs = rustls_pemfile::certs(&mut chain.as_bytes())
            .collect::<Result<Vec<_>, _>>()
            .unwrap();
        let key = rustls_pemfile::private_key(&mut key.as_bytes())
            .unwrap()
            .unwrap();
        let cfg = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::aws_lc_rs::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .unwrap();
        tokio_rustls::TlsAcceptor::from(Arc::new(cfg))
    });
    let scheme = if acceptor.is_some() { "https" } else { "http" };
    let handler = {
        let seen = seen.clone();
        move |req: axum::http::Request<axum::body::Body>| {
            let seen = seen.clone();
            let reply = reply.clone();
            async move {
                let path = req.uri().path().to_string();
                let authorization = req
                    .headers()
                    .get("authorization")
                    .map(|v| v.to_str().unwrap().to_string());
                let bytes = axum::body::to_bytes(req.into_body(), 1 << 20)
                    .await
                    .unwrap();
                let s = Seen {
                    path,
                    authorization,
                    body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
                };
                seen.lock().unwrap().push(s.clone());
                let (status, body, delay) = reply(&s);
                tokio::time::sleep(delay).await;
                axum::response::Response::builder()
                    .status(status)
                    .header("content-type", "application/json")
                    .body(axum::body::Body::from(body))
                    .unwrap()
            }
        }
    };
    let router = axum::Router::new().fallback(handler);
    let task = tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let router = router.clone();
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let svc = hyper_util::service::TowerToHyperService::new(router);
                let builder = hyper_util::server::conn::auto::Builder::new(
                    hyper_util::rt::TokioExecutor::new(),
                );
                match acceptor {
                    Some(a) => {
                        if let Ok(s) = a.accept(stream).await {
                            let _ = builder
                                .serve_connection(hyper_util::rt::TokioIo::new(s), svc)
                                .await;
                        }
                    }
                    None => {
                        let _ = builder
                            .serve_connection(hyper_util::rt::TokioIo::new(stream), svc)
                            .await;
                    }
                }
            });
        }
    });
    FakeApiServer {
        url: format!("{scheme}://{addr}"),
        seen,
        task,
    }
}

// ---------------------------------------------------------------- emulator

struct K8sEnv {
    emu: Emulator,
    c: Control,
    http: reqwest::Client,
    identity: String,
    org: String,
}

async fn env_with(auth: KubernetesAuthSeed, allow_loopback: bool) -> K8sEnv {
    let config = EmulatorConfig {
        seed: Seed {
            allowed_internal_hosts: if allow_loopback {
                vec!["127.0.0.1".into()]
            } else {
                vec![]
            },
            ..Default::default()
        },
        ..Default::default()
    };
    let emu = Emulator::start(config).await.expect("start");
    let c = emu.control();
    let org = c.seed_org(OrgSeed::default());
    let creds = c.seed_identity(IdentitySeed {
        org_id: org.clone(),
        kubernetes_auth: Some(auth),
        ..Default::default()
    });
    K8sEnv {
        emu,
        c,
        http: client(),
        identity: creds.identity_id,
        org,
    }
}

/// A Kubernetes Auth method for `server` (HTTPS trusting `ca`, or HTTP).
fn auth_for(server: &FakeApiServer, ca: Option<&Ca>) -> KubernetesAuthSeed {
    KubernetesAuthSeed {
        kubernetes_host: server.url.clone(),
        ca_cert: ca.map(|c| c.pem.clone()),
        token_reviewer_jwt: Some(REVIEWER_JWT.into()),
        allowed_namespaces: "apps, team-*".into(),
        allowed_names: "web".into(),
        allowed_audience: "infisical".into(),
        ..Default::default()
    }
}

impl K8sEnv {
    fn url(&self, path: &str) -> String {
        format!("{}{}", self.emu.base_url(), path)
    }

    async fn post(&self, body: Value) -> (u16, Value) {
        let r = self
            .http
            .post(self.url(LOGIN))
            .json(&body)
            .send()
            .await
            .expect("send");
        body_of(r).await
    }

    async fn login(&self) -> (u16, Value) {
        self.post(json!({"identityId": self.identity, "jwt": CALLER_JWT}))
            .await
    }
}

/// A TLS server trusted through `caCert`, answering `reply`.
async fn tls_env(reply: Reply) -> (K8sEnv, FakeApiServer) {
    let authority = ca("test-cluster-ca");
    let server = fake_api_server(Some(leaf(Some(&authority), false)), reply).await;
    let e = env_with(auth_for(&server, Some(&authority)), true).await;
    (e, server)
}

// ---------------------------------------------------------------- success

#[tokio::test]
async fn login_sends_a_token_review_and_issues_a_kubernetes_auth_token() {
    let (e, server) = tls_env(review_ok(
        "system:serviceaccount:team-a:web",
        &["infisical"],
    ))
    .await;
    let (s, v) = e.login().await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["expiresIn"], 2_592_000);
    assert_eq!(v["accessTokenMaxTTL"], 2_592_000);
    assert_eq!(v["tokenType"], "Bearer");
    let token = v["accessToken"].as_str().unwrap();
    let p = jwt_payload(token);
    assert_eq!(p["authMethod"], "kubernetes-auth");
    assert_eq!(p["identityId"], json!(e.identity));
    assert_eq!(p["orgId"], json!(e.org));
    assert_eq!(
        p["identityAuth"],
        json!({"kubernetes": {"namespace": "team-a", "name": "web"}})
    );
    assert!(p.get("clientSecretId").is_none(), "{p}");
    assert_eq!(p["accessTokenTTL"], 2_592_000);

    // What the API server received.
    let seen = server.seen();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].path, "/apis/authentication.k8s.io/v1/tokenreviews");
    assert_eq!(
        seen[0].authorization.as_deref(),
        Some(format!("Bearer {REVIEWER_JWT}").as_str())
    );
    assert_eq!(
        seen[0].body,
        json!({"apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview",
               "spec": {"token": CALLER_JWT, "audiences": ["infisical"]}})
    );

    // The token works.
    let r = e
        .http
        .get(e.url("/api/v1/identities/details"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);

    // The control surface and the request log show the review; no JWT is kept anywhere.
    let reviews = e.c.token_reviews();
    assert_eq!(reviews.len(), 1);
    let r0 = &reviews[0];
    assert_eq!(r0.seq, 1);
    assert_eq!(r0.kubernetes_host, server.url);
    assert_eq!(
        r0.url,
        format!("{}/apis/authentication.k8s.io/v1/tokenreviews", server.url)
    );
    assert_eq!(r0.reviewer, "tokenReviewerJwt");
    assert_eq!(r0.audiences, vec!["infisical".to_string()]);
    assert_eq!(r0.status, Some(201));
    assert_eq!(r0.authenticated, Some(true));
    assert_eq!(
        r0.username.as_deref(),
        Some("system:serviceaccount:team-a:web")
    );
    assert_eq!((r0.login_status, r0.outcome.as_str()), (200, "ok"));
    assert_eq!(e.c.token_review_count(), 1);
    let outbound = e.c.requests_matching("POST", &server.url);
    assert_eq!(outbound.len(), 1);
    assert_eq!(outbound[0].status, 201);
    assert_eq!(
        outbound[0].body.as_ref().unwrap()["spec"]["token"],
        "[REDACTED]"
    );
    let inbound = e.c.requests_matching("POST", LOGIN);
    assert_eq!(inbound.len(), 1);
    assert_eq!(inbound[0].status, 200);
    assert_eq!(inbound[0].identity_id.as_deref(), Some(e.identity.as_str()));
    assert_eq!(inbound[0].body.as_ref().unwrap()["jwt"], "[REDACTED]");
    let log = serde_json::to_string(&e.c.requests()).unwrap();
    let reviews_json = serde_json::to_string(&reviews).unwrap();
    for text in [&log, &reviews_json] {
        assert!(
            !text.contains(CALLER_JWT) && !text.contains(REVIEWER_JWT),
            "{text}"
        );
    }
    let http_reviews: Value = e
        .http
        .get(e.url("/__emulator/token-reviews"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(http_reviews[0]["status"], 201);
    assert_eq!(http_reviews[0]["outcome"], "ok");
    assert_eq!(http_reviews[0]["kubernetesHost"], json!(server.url));

    // Renewing keeps the auth method and its identityAuth claim.
    let r = e
        .http
        .post(e.url("/api/v1/auth/token/renew"))
        .json(&json!({"accessToken": token}))
        .send()
        .await
        .unwrap();
    let (s, renewed) = body_of(r).await;
    assert_eq!(s, 200, "{renewed}");
    let p = jwt_payload(renewed["accessToken"].as_str().unwrap());
    assert_eq!(p["authMethod"], "kubernetes-auth");
    assert_eq!(p["identityAuth"]["kubernetes"]["name"], "web");
}

#[tokio::test]
async fn without_reviewer_jwt_the_caller_reviews_itself_and_no_audience_is_sent() {
    let authority = ca("ca");
    let server = fake_api_server(
        Some(leaf(Some(&authority), false)),
        review_ok("system:serviceaccount:anything:any", &[]),
    )
    .await;
    let e = env_with(
        KubernetesAuthSeed {
            kubernetes_host: server.url.clone(),
            ca_cert: Some(authority.pem.clone()),
            access_token_ttl: 0,
            access_token_max_ttl: 0,
            ..Default::default()
        },
        true,
    )
    .await;
    // Unknown keys are stripped (a plain z.object), identityId and jwt are trimmed.
    let (s, v) = e
        .post(json!({"identityId": format!(" {} ", e.identity), "jwt": format!(" {CALLER_JWT}\n"), "extra": 1}))
        .await;
    assert_eq!(s, 200, "{v}");
    // The router answers the configured TTL (0), the JWT still expires (90-day ceiling).
    assert_eq!(v["expiresIn"], 0);
    let p = jwt_payload(v["accessToken"].as_str().unwrap());
    assert_eq!(
        p["exp"].as_u64().unwrap() - p["iat"].as_u64().unwrap(),
        7_776_000
    );
    let seen = server.seen();
    assert_eq!(
        seen[0].authorization.as_deref(),
        Some(format!("Bearer {CALLER_JWT}").as_str())
    );
    assert_eq!(seen[0].body["spec"], json!({"token": CALLER_JWT}));
    assert_eq!(e.c.token_reviews()[0].reviewer, "callerJwt");
}

#[tokio::test]
async fn plain_http_host_and_control_surface_configuration() {
    let server = fake_api_server(
        None,
        review_ok("system:serviceaccount:apps:web", &["infisical"]),
    )
    .await;
    let e = env_with(auth_for(&server, None), true).await;
    // Replace the method through the control surface.
    let r = e
        .http
        .put(e.url(&format!(
            "/__emulator/identities/{}/kubernetes-auth",
            e.identity
        )))
        .json(&json!({
            "kubernetesHost": server.url,
            "tokenReviewerJwt": REVIEWER_JWT,
            "allowedNamespaces": "apps",
            "allowedNames": "w*",
            "allowedAudience": "infisical",
            "accessTokenTTL": 600,
            "accessTokenMaxTTL": 3600,
        }))
        .send()
        .await
        .unwrap();
    let (s, v) = body_of(r).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["kubernetesAuth"]["tokenReviewerJwt"], "[REDACTED]");
    assert_eq!(v["kubernetesAuth"]["allowedNames"], "w*");
    assert_eq!(
        e.c.kubernetes_auth(&e.identity).unwrap().access_token_ttl,
        600
    );
    let (s, v) = e.login().await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["expiresIn"], 600);
    assert_eq!(v["accessTokenMaxTTL"], 3600);
    // DELETE detaches it: 404 as for an identity without Kubernetes Auth.
    let r = e
        .http
        .delete(e.url(&format!(
            "/__emulator/identities/{}/kubernetes-auth",
            e.identity
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = e
        .http
        .get(e.url(&format!(
            "/__emulator/identities/{}/kubernetes-auth",
            e.identity
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    assert_err(
        &e.login().await,
        404,
        "NotFound",
        "Kubernetes auth method not found for identity, did you configure Kubernetes auth?",
    );
    assert_eq!(e.c.token_review_count(), 1);
}

// ---------------------------------------------------------------- the review's verdict

#[tokio::test]
async fn unauthenticated_tokens_are_refused() {
    let (e, _server) = tls_env(reply_json(
        201,
        json!({"status": {"user": {}, "error": "[invalid bearer token, token has been invalidated]"}}),
    ))
    .await;
    assert_err(
        &e.login().await,
        401,
        "KubernetesTokenReviewError",
        "[invalid bearer token, token has been invalidated]",
    );
    let r = &e.c.token_reviews()[0];
    assert_eq!(
        (r.login_status, r.outcome.as_str()),
        (401, "KubernetesTokenReviewError")
    );

    let (e, _server) = tls_env(reply_json(201, json!({"status": {"authenticated": false}}))).await;
    assert_err(
        &e.login().await,
        401,
        "KubernetesTokenReviewError",
        "Kubernetes token not authenticated",
    );
}

#[tokio::test]
async fn namespace_name_and_audience_are_checked() {
    let (e, _s) = tls_env(review_ok(
        "system:serviceaccount:kube-system:web",
        &["infisical"],
    ))
    .await;
    assert_err(
        &e.login().await,
        401,
        "UnauthorizedError",
        "Access denied: K8s namespace not allowed.",
    );
    let (e, _s) = tls_env(review_ok(
        "system:serviceaccount:apps:worker",
        &["infisical"],
    ))
    .await;
    assert_err(
        &e.login().await,
        401,
        "UnauthorizedError",
        "Access denied: K8s name not allowed.",
    );
    let (e, _s) = tls_env(review_ok(
        "system:serviceaccount:apps:web",
        &["https://kubernetes.default.svc"],
    ))
    .await;
    assert_err(
        &e.login().await,
        401,
        "UnauthorizedError",
        "Access denied: K8s audience not allowed.",
    );
    let (e, _s) = tls_env(review_ok("kas-admin", &["infisical"])).await;
    assert_err(
        &e.login().await,
        400,
        "KubernetesUsernameParseError",
        "Invalid Kubernetes service account username format: \"kas-admin\". Expected format: system:serviceaccount:<namespace>:<name>",
    );
    // An answer that is not a TokenReview: the service's TypeError catch-all.
    let (e, _s) = tls_env(Arc::new(|_| (200, "ok".to_string(), Duration::ZERO))).await;
    assert_err(
        &e.login().await,
        400,
        "KubernetesAuthLoginError",
        "Cannot use 'in' operator to search for 'error' in undefined",
    );
}

// ---------------------------------------------------------------- reviewer refused

#[tokio::test]
async fn reviewer_401_and_403_are_named_errors() {
    let (e, _s) = tls_env(reply_json(
        401,
        json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
               "message": "Unauthorized", "reason": "Unauthorized", "code": 401}),
    ))
    .await;
    assert_err(
        &e.login().await,
        401,
        "KubernetesTokenReviewerUnauthorized",
        "Unauthorized",
    );
    assert_eq!(e.c.token_reviews()[0].status, Some(401));
    assert_eq!(e.c.requests_matching("POST", "https://")[0].status, 401);

    let forbidden = "tokenreviews.authentication.k8s.io is forbidden: User \"system:serviceaccount:apps:reviewer\" cannot create resource \"tokenreviews\" in API group \"authentication.k8s.io\" at the cluster scope";
    let (e, _s) = tls_env(reply_json(
        403,
        json!({"kind": "Status", "status": "Failure", "message": forbidden, "reason": "Forbidden", "code": 403}),
    ))
    .await;
    assert_err(
        &e.login().await,
        401,
        "KubernetesTokenReviewerForbidden",
        forbidden,
    );

    // Without a message: the defaults; other statuses: TokenReviewRequestError.
    let (e, _s) = tls_env(Arc::new(|_| (401, String::new(), Duration::ZERO))).await;
    assert_err(
        &e.login().await,
        401,
        "KubernetesTokenReviewerUnauthorized",
        "Token reviewer JWT is invalid or expired. Please verify the token reviewer JWT is correct and has not expired.",
    );
    let (e, _s) = tls_env(Arc::new(|_| (403, "{}".to_string(), Duration::ZERO))).await;
    assert_err(
        &e.login().await,
        401,
        "KubernetesTokenReviewerForbidden",
        "Token reviewer JWT does not have permission to perform TokenReviews. Ensure the service account has the 'system:auth-delegator' ClusterRole binding.",
    );
    let (e, _s) = tls_env(Arc::new(|_| (500, String::new(), Duration::ZERO))).await;
    assert_err(
        &e.login().await,
        400,
        "KubernetesTokenReviewRequestError",
        "Kubernetes returned HTTP 500: Internal Server Error",
    );
    // A JWT echoed in the message is redacted.
    let (e, _s) = tls_env(reply_json(
        400,
        json!({"kind": "Status", "message": format!("token {CALLER_JWT} is malformed")}),
    ))
    .await;
    assert_err(
        &e.login().await,
        400,
        "KubernetesTokenReviewRequestError",
        "token [REDACTED] is malformed",
    );
}

// ---------------------------------------------------------------- transport failures

#[tokio::test]
async fn connection_refused() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let host = format!("https://127.0.0.1:{port}");
    let e = env_with(
        KubernetesAuthSeed {
            kubernetes_host: host.clone(),
            ..Default::default()
        },
        true,
    )
    .await;
    assert_err(
        &e.login().await,
        400,
        "KubernetesConnectionRefused",
        &format!(
            "Failed to connect to Kubernetes API server at {host}: Connection refused. Verify the host URL and ensure the kubernetes api server is accessible."
        ),
    );
    let r = &e.c.token_reviews()[0];
    assert_eq!(r.status, None);
    assert_eq!(r.outcome, "KubernetesConnectionRefused");
    assert_eq!(e.c.requests_matching("POST", &host)[0].status, 0);
}

#[tokio::test]
async fn certificate_errors() {
    let trusted = ca("trusted-ca");
    let other = ca("other-ca");
    let cert_err = |host: &str, self_signed: bool| {
        if self_signed {
            format!(
                "SSL certificate verification failed for Kubernetes API server at {host}. The server uses a self-signed certificate. Please provide the CA certificate in the configuration."
            )
        } else {
            format!(
                "SSL certificate verification failed for Kubernetes API server at {host}. Verify the CA certificate is correct and the server certificate is valid."
            )
        }
    };
    // Signed by another CA (leaf only): UNABLE_TO_VERIFY_LEAF_SIGNATURE.
    let server = fake_api_server(Some(leaf(Some(&other), false)), review_ok("x", &[])).await;
    let e = env_with(auth_for(&server, Some(&trusted)), true).await;
    assert_err(
        &e.login().await,
        400,
        "KubernetesCertificateError",
        &cert_err(&server.url, false),
    );
    assert!(server.seen().is_empty());
    assert_eq!(e.c.token_reviews()[0].outcome, "KubernetesCertificateError");
    // The chain includes its (untrusted) root: SELF_SIGNED_CERT_IN_CHAIN.
    let server = fake_api_server(Some(leaf(Some(&other), true)), review_ok("x", &[])).await;
    let e = env_with(auth_for(&server, Some(&trusted)), true).await;
    assert_err(
        &e.login().await,
        400,
        "KubernetesCertificateError",
        &cert_err(&server.url, true),
    );
    // A self-signed server certificate: DEPTH_ZERO_SELF_SIGNED_CERT.
    let server = fake_api_server(Some(leaf(None, false)), review_ok("x", &[])).await;
    let e = env_with(auth_for(&server, Some(&trusted)), true).await;
    assert_err(
        &e.login().await,
        400,
        "KubernetesCertificateError",
        &cert_err(&server.url, true),
    );
    // Right CA, wrong name: Node's ERR_TLS_CERT_ALTNAME_INVALID reaches the generic handler.
    let server = fake_api_server(Some(leaf(Some(&trusted), false)), review_ok("x", &[])).await;
    let port = server.url.rsplit(':').next().unwrap().to_string();
    let mut auth = auth_for(&server, Some(&trusted));
    auth.kubernetes_host = format!("https://kube.test:{port}");
    let e = env_with(auth, true).await;
    e.c.set_host(
        "kube.test",
        infisical_emulator::HostAnswer::Addresses(vec!["127.0.0.1".parse().unwrap()]),
    );
    e.c.set_allowed_internal_hosts(vec!["kube.test".into()]);
    let (s, v) = e.login().await;
    assert_eq!(
        (s, v["error"].as_str()),
        (400, Some("KubernetesConnectionError")),
        "{v}"
    );
    assert_eq!(
        v["message"],
        format!(
            "Failed to communicate with Kubernetes API server at https://kube.test:{port}: Hostname/IP does not match certificate's altnames: Host: kube.test. is not in the cert's altnames: IP Address:127.0.0.1, DNS:localhost"
        )
    );
    // verifyTlsCertificate false (the default without caCert): any certificate is accepted.
    let server = fake_api_server(
        Some(leaf(None, false)),
        review_ok("system:serviceaccount:apps:web", &["infisical"]),
    )
    .await;
    let e = env_with(auth_for(&server, None), true).await;
    let (s, v) = e.login().await;
    assert_eq!(s, 200, "{v}");
    // verifyTlsCertificate true without caCert: the system trust store, which does not know it.
    e.c.set_kubernetes_auth(
        &e.identity,
        KubernetesAuthSeed {
            verify_tls_certificate: Some(true),
            ..auth_for(&server, None)
        },
    );
    let (s, v) = e.login().await;
    assert_eq!(
        (s, v["error"].as_str()),
        (400, Some("KubernetesCertificateError")),
        "{v}"
    );
}

#[tokio::test]
async fn host_not_found_and_the_ssrf_guard() {
    let e = env_with(
        KubernetesAuthSeed {
            kubernetes_host: "https://kube.invalid:6443".into(),
            ..Default::default()
        },
        true,
    )
    .await;
    // URL guard on: safeRequest's dns.lookup rejects before axios runs.
    assert_err(
        &e.login().await,
        400,
        "KubernetesTokenReviewError",
        "getaddrinfo ENOTFOUND kube.invalid",
    );
    // Development mode (no guard): axios' ENOTFOUND.
    e.c.set_url_guard(false);
    assert_err(
        &e.login().await,
        400,
        "KubernetesHostNotFound",
        "Failed to resolve Kubernetes API server hostname: https://kube.invalid:6443. Verify the hostname is correct.",
    );
    assert!(e.c.token_reviews().is_empty(), "nothing was sent");

    // Loopback API servers need ALLOW_INTERNAL_IP_CONNECTIONS or the allow-list.
    let server = fake_api_server(
        None,
        review_ok("system:serviceaccount:apps:web", &["infisical"]),
    )
    .await;
    let e = env_with(auth_for(&server, None), false).await;
    assert_err(
        &e.login().await,
        400,
        "BadRequest",
        "Local IPs not allowed as URL",
    );
    assert!(server.seen().is_empty());
    e.c.set_kubernetes_auth(
        &e.identity,
        KubernetesAuthSeed {
            kubernetes_host: server.url.replace("127.0.0.1", "localhost"),
            ..auth_for(&server, None)
        },
    );
    assert_err(
        &e.login().await,
        400,
        "BadRequest",
        "Local IPs not allowed as URL",
    );
    e.c.set_allow_internal_ip_connections(true);
    assert_eq!(
        e.login().await.0,
        400,
        "localhost is refused whatever the switch"
    );
    e.c.set_kubernetes_auth(&e.identity, auth_for(&server, None));
    assert_eq!(e.login().await.0, 200);
}

#[tokio::test]
async fn a_slow_api_server_times_out() {
    let (e, _s) = tls_env(Arc::new(|_| (201, "{}".into(), Duration::from_secs(5)))).await;
    e.c.set_token_review_timeout(Duration::from_millis(300));
    let host = e.c.kubernetes_auth(&e.identity).unwrap().kubernetes_host;
    assert_err(
        &e.login().await,
        400,
        "KubernetesConnectionError",
        &format!("Failed to communicate with Kubernetes API server at {host}: canceled"),
    );
}

// ---------------------------------------------------------------- request validation

#[tokio::test]
async fn body_validation_and_identity_lookup() {
    let (e, server) = tls_env(review_ok("system:serviceaccount:apps:web", &["infisical"])).await;
    let got = e.post(json!({"identityId": e.identity})).await;
    let i = issues(&got);
    assert_eq!(i.len(), 1);
    assert_eq!(i[0]["path"], json!(["jwt"]));
    assert_eq!(i[0]["message"], "Required");
    let got = e.post(json!({"identityId": 5, "jwt": true})).await;
    let i = issues(&got);
    assert_eq!(i[0]["message"], "Expected string, received number");
    assert_eq!(i[1]["message"], "Expected string, received boolean");
    let got = e
        .post(
            json!({"identityId": e.identity, "jwt": CALLER_JWT, "organizationSlug": "Not A Slug"}),
        )
        .await;
    let i = issues(&got);
    assert_eq!(i[0]["path"], json!(["organizationSlug"]));
    assert_eq!(
        i[0]["message"],
        "Slug field can only contain letters, numbers, and hyphens"
    );
    assert!(server.seen().is_empty());

    // Not a UUID: the Postgres cast fails in findOne.
    assert_err(
        &e.post(json!({"identityId": "not-a-uuid", "jwt": CALLER_JWT}))
            .await,
        500,
        "Find one",
        "Something went wrong",
    );
    let unknown = "0b8e5a8e-4bd4-4f0c-9d0c-3ad0f3b3a111";
    assert_err(
        &e.post(json!({"identityId": unknown, "jwt": CALLER_JWT}))
            .await,
        404,
        "NotFound",
        "Kubernetes auth method not found for identity, did you configure Kubernetes auth?",
    );
    // An identity with Universal Auth only.
    let ua_only = e.c.seed_identity(IdentitySeed {
        org_id: e.org.clone(),
        ..Default::default()
    });
    assert_err(
        &e.post(json!({"identityId": ua_only.identity_id, "jwt": CALLER_JWT}))
            .await,
        404,
        "NotFound",
        "Kubernetes auth method not found for identity, did you configure Kubernetes auth?",
    );
    assert!(server.seen().is_empty());

    // organizationSlug: the identity's own org logs in; another slug is a sub-organisation the
    // emulator does not have (checked after the review).
    let ok = e
        .post(json!({"identityId": e.identity, "jwt": CALLER_JWT, "organizationSlug": " ACME "}))
        .await;
    assert_eq!(ok.0, 200, "{}", ok.1);
    assert_err(
        &e.post(json!({"identityId": e.identity, "jwt": CALLER_JWT, "organizationSlug": "other"}))
            .await,
        404,
        "NotFound",
        "Sub organization with slug other not found",
    );
    assert_eq!(server.seen().len(), 2);
    // The request log never holds the JWT.
    let log = serde_json::to_string(&e.c.requests()).unwrap();
    assert!(!log.contains(CALLER_JWT));
}

// ---------------------------------------------------------------- a real API server

fn kubectl(args: &[&str]) -> Result<String, String> {
    let out = Command::new("kubectl")
        .args(args)
        .output()
        .map_err(|e| format!("kubectl: {e}"))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
    } else {
        Err(format!(
            "kubectl {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

/// Deletes what the test created, also when it fails.
struct Cleanup(Vec<Vec<String>>);

impl Drop for Cleanup {
    fn drop(&mut self) {
        for args in self.0.iter().rev() {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            let _ = kubectl(&args);
        }
    }
}

/// Against the API server of `KUBECONFIG`: a ServiceAccount's token (audience `infisical`) logs
/// in, reviewed by a second ServiceAccount bound to `system:auth-delegator`; a token for another
/// audience is refused; the emulator's TokenReview log shows what the real server answered.
#[tokio::test]
async fn real_api_server_token_review() {
    let Ok(kubeconfig) = std::env::var("KUBECONFIG") else {
        eprintln!(
            "SKIPPED real_api_server_token_review: KUBECONFIG is not set (start one with `CLUSTER_NAME=k8sauth CLUSTER_PORT=37443 bash hack/cluster.sh up`)"
        );
        return;
    };
    if kubeconfig.is_empty() {
        eprintln!("SKIPPED real_api_server_token_review: KUBECONFIG is empty");
        return;
    }
    if Command::new("kubectl")
        .arg("version")
        .arg("--client")
        .output()
        .is_err()
    {
        eprintln!(
            "SKIPPED real_api_server_token_review: KUBECONFIG is set but kubectl is not on PATH"
        );
        return;
    }
    let suffix = &uuid::Uuid::new_v4().simple().to_string()[..8];
    let ns = format!("k8sauth-{suffix}");
    let binding = format!("k8sauth-reviewer-{suffix}");
    let mut cleanup = Cleanup(vec![]);
    kubectl(&["create", "namespace", &ns]).expect("namespace");
    cleanup.0.push(vec![
        "delete".into(),
        "namespace".into(),
        ns.clone(),
        "--wait=false".into(),
    ]);
    kubectl(&["-n", &ns, "create", "serviceaccount", "app"]).expect("sa app");
    kubectl(&["-n", &ns, "create", "serviceaccount", "reviewer"]).expect("sa reviewer");
    kubectl(&[
        "create",
        "clusterrolebinding",
        &binding,
        "--clusterrole=system:auth-delegator",
        &format!("--serviceaccount={ns}:reviewer"),
    ])
    .expect("binding");
    cleanup.0.push(vec![
        "delete".into(),
        "clusterrolebinding".into(),
        binding.clone(),
    ]);
    let app_token = kubectl(&[
        "-n",
        &ns,
        "create",
        "token",
        "app",
        "--audience",
        "infisical",
    ])
    .expect("app token");
    let other_audience = kubectl(&[
        "-n",
        &ns,
        "create",
        "token",
        "app",
        "--audience",
        "something-else",
    ])
    .expect("other token");
    let reviewer_token = kubectl(&["-n", &ns, "create", "token", "reviewer"]).expect("reviewer");
    let server = kubectl(&[
        "config",
        "view",
        "--raw",
        "--minify",
        "-o",
        "jsonpath={.clusters[0].cluster.server}",
    ])
    .expect("server");
    let ca_b64 = kubectl(&[
        "config",
        "view",
        "--raw",
        "--minify",
        "-o",
        "jsonpath={.clusters[0].cluster.certificate-authority-data}",
    ])
    .expect("ca");
    let ca_pem = String::from_utf8(
        base64::engine::general_purpose::STANDARD
            .decode(ca_b64.trim())
            .expect("ca base64"),
    )
    .expect("ca pem");

    let e = env_with(
        KubernetesAuthSeed {
            kubernetes_host: server.clone(),
            ca_cert: Some(ca_pem),
            token_reviewer_jwt: Some(reviewer_token.clone()),
            allowed_namespaces: ns.clone(),
            allowed_names: "app".into(),
            allowed_audience: "infisical".into(),
            ..Default::default()
        },
        false,
    )
    .await;
    // The API server is on this machine: Infisical needs ALLOW_INTERNAL_IP_CONNECTIONS for it.
    e.c.set_allow_internal_ip_connections(true);
    let (s, v) = e
        .post(json!({"identityId": e.identity, "jwt": app_token}))
        .await;
    assert_eq!(s, 200, "{v}");
    let p = jwt_payload(v["accessToken"].as_str().unwrap());
    assert_eq!(
        p["identityAuth"],
        json!({"kubernetes": {"namespace": ns, "name": "app"}})
    );
    let (s, v) = e
        .post(json!({"identityId": e.identity, "jwt": other_audience}))
        .await;
    // The real API server refuses a token whose audience is not in spec.audiences.
    assert_eq!(s, 401, "{v}");
    assert_eq!(v["error"], "KubernetesTokenReviewError", "{v}");

    let reviews = e.c.token_reviews();
    assert_eq!(reviews.len(), 2, "{reviews:?}");
    assert_eq!(reviews[0].status, Some(201));
    assert_eq!(reviews[0].authenticated, Some(true));
    assert_eq!(
        reviews[0].username.as_deref(),
        Some(format!("system:serviceaccount:{ns}:app").as_str())
    );
    assert_eq!(reviews[0].outcome, "ok");
    assert_eq!(reviews[1].status, Some(201));
    assert_eq!(reviews[1].outcome, "KubernetesTokenReviewError");
    let outbound = e.c.requests_matching(
        "POST",
        &format!("{server}/apis/authentication.k8s.io/v1/tokenreviews"),
    );
    assert_eq!(outbound.len(), 2);
    let log = serde_json::to_string(&e.c.requests()).unwrap();
    for secret in [&app_token, &other_audience, &reviewer_token] {
        assert!(!log.contains(secret.as_str()));
    }

    // Without a reviewer JWT the caller's token authenticates the TokenReview itself. A token
    // for audience `infisical` is not one the API server accepts as a bearer: 401.
    let mut auth = e.c.kubernetes_auth(&e.identity).unwrap();
    auth.token_reviewer_jwt = None;
    e.c.set_kubernetes_auth(&e.identity, auth);
    let got = e
        .post(json!({"identityId": e.identity, "jwt": app_token}))
        .await;
    assert_err(
        &got,
        401,
        "KubernetesTokenReviewerUnauthorized",
        "Unauthorized",
    );
    // A token for the API server's own audience is accepted as a bearer, but the app's
    // service account is not bound to system:auth-delegator: 403 from the server.
    let api_token = kubectl(&["-n", &ns, "create", "token", "app"]).expect("api token");
    let (s, v) = e
        .post(json!({"identityId": e.identity, "jwt": api_token}))
        .await;
    assert_eq!(s, 401, "{v}");
    assert_eq!(v["error"], "KubernetesTokenReviewerForbidden", "{v}");
    let message = v["message"].as_str().unwrap();
    assert!(
        message.contains("cannot create resource \"tokenreviews\""),
        "{message}"
    );
    assert_eq!(e.c.token_reviews().last().unwrap().status, Some(403));
    drop(cleanup);
}
