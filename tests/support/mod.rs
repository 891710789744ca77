//! The one test harness: a real kube-apiserver (from `KUBECONFIG`), a real emulator over HTTP,
//! and the operator running in-process ([`TestEnv`]), as a built binary ([`process`]), or as
//! packaged ([`tools`]: helm, kustomize, RBAC). Every test works in fresh namespaces carrying
//! [`TEST_NAMESPACE_LABEL`], so tests run in parallel and `hack/test.sh` deletes what is left.
#![allow(dead_code, unused_imports)]

pub mod fleet;
pub mod ldap;
pub mod node;
pub mod process;
pub mod saml_idp;
pub mod strict_json;
pub mod tools;

use std::path::{Path, PathBuf};
use std::process::Command;

use std::sync::Arc;
use std::time::Duration;

use infisical_emulator::{
    Emulator, EmulatorConfig, IdentityCredentials, IdentitySeed, OrgSeed, Seed, TlsFiles,
};
use infisical_oidc_operator::api::PreflightPolicy;
use infisical_oidc_operator::api::{
    CREATE_PENDING_ANNOTATION, OidcSsoConfig, RECONCILE_REQUESTED_AT_ANNOTATION,
};
use infisical_oidc_operator::infisical::AllowedHosts;
use infisical_oidc_operator::lifecycle::{self, OperatorConfig, Stopped};
use infisical_oidc_operator::metrics::Metrics;
use infisical_oidc_operator::reconcile::context::Context;
use infisical_oidc_operator::reconcile::context::Settings;
use infisical_oidc_operator::reconcile::idp_hosts::IdpResolver;
use k8s_openapi::api::core::v1::{Event, Namespace, Secret};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{DeleteParams, ListParams, Patch, PatchParams, PostParams};
use kube::runtime::wait::{await_condition, conditions};
use kube::{Api, Client, CustomResourceExt};
use serde_json::{Value, json};
use tokio::sync::oneshot;

/// Every namespace a test creates carries this label (value `true`).
pub const TEST_NAMESPACE_LABEL: &str = "test.infisical-operator.io/namespace";

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The test cluster's kubeconfig; fails clearly when `KUBECONFIG` is unset.
pub fn kubeconfig() -> PathBuf {
    match std::env::var_os("KUBECONFIG") {
        Some(p) if !p.is_empty() => PathBuf::from(p),
        _ => panic!(
            "these tests need a Kubernetes API server: run them through hack/test.sh, \
             or set KUBECONFIG (e.g. `export KUBECONFIG=$(bash hack/cluster.sh up)`)"
        ),
    }
}

/// A name unique to this process and call, valid as a namespace or object name.
pub fn unique(prefix: &str) -> String {
    let suffix = uuid::Uuid::new_v4().simple().to_string();
    format!("{prefix}-{}", &suffix[..8])
}

/// `kubectl --kubeconfig <kubeconfig>`.
pub fn kubectl(kubeconfig: &Path) -> Command {
    let mut c = Command::new("kubectl");
    c.arg("--kubeconfig").arg(kubeconfig);
    c
}

/// An organisation in the emulator and a Universal Auth identity of its own: (org id, identity).
pub fn seed_org_and_identity(
    control: &infisical_emulator::Control,
    org: OrgSeed,
) -> (String, IdentityCredentials) {
    let org_id = control.seed_org(org);
    let identity = control.seed_identity(IdentitySeed {
        org_id: org_id.clone(),
        ..IdentitySeed::default()
    });
    (org_id, identity)
}

/// A real OpenID provider (hack/oidc-provider, zitadel/oidc's `op`) on loopback; killed on drop.
pub struct OidcProvider {
    child: std::process::Child,
    /// The issuer it is served as (its discovery document may advertise another, on request).
    pub served_issuer: String,
    pub discovery: String,
    pub jwks: String,
}

impl OidcProvider {
    /// Starts it with extra `flags` (e.g. `--alg ES256`, `--jwks-status 500`).
    pub fn start(flags: &[&str]) -> Self {
        static DIR: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
        let dir = DIR.get_or_init(|| {
            let out = Command::new("bash")
                .arg("hack/oidc-provider/build.sh")
                .current_dir(repo())
                .stderr(std::process::Stdio::inherit())
                .output()
                .expect("run bash hack/oidc-provider/build.sh");
            assert!(out.status.success(), "hack/oidc-provider/build.sh failed");
            PathBuf::from(String::from_utf8(out.stdout).unwrap().trim())
        });
        let mut child = Command::new(dir.join("oidc-provider"))
            .args(["--listen", "127.0.0.1:0"])
            .args(flags)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("the OpenID provider starts");
        let mut line = String::new();
        std::io::BufRead::read_line(
            &mut std::io::BufReader::new(child.stdout.take().unwrap()),
            &mut line,
        )
        .unwrap();
        let started: Value = serde_json::from_str(&line)
            .unwrap_or_else(|e| panic!("the provider's first line {line:?}: {e}"));
        let discovery = started["discovery"].as_str().unwrap().to_string();
        Self {
            child,
            served_issuer: discovery
                .trim_end_matches("/.well-known/openid-configuration")
                .to_string(),
            discovery,
            jwks: started["jwks"].as_str().unwrap().to_string(),
        }
    }
}

impl Drop for OidcProvider {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// IdP hosts as the tests see them, without DNS: example.com names resolve to a public
/// documentation address, loopback names to loopback, and every other name is unknown.
pub fn test_idp_resolver() -> IdpResolver {
    let public: std::net::IpAddr = "93.184.215.14".parse().unwrap();
    let loopback: std::net::IpAddr = "127.0.0.1".parse().unwrap();
    let aliases = [
        ("example.com", public),
        ("*.example.com", public),
        ("*.example.org", public),
        ("localhost", loopback),
    ]
    .into_iter()
    .map(|(name, ip)| (name.to_string(), vec![ip]))
    .collect();
    IdpResolver::with_aliases(aliases, false)
}

/// A program built from hack/gitops (Flux's kstatus, Argo CD's Lua): from `GITOPS_BIN_DIR` when
/// it holds it (hack/test.sh sets it), else built once with hack/gitops/build.sh.
pub fn gitops_bin(name: &str) -> PathBuf {
    static DIR: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    let dir = DIR.get_or_init(|| {
        if let Some(dir) = std::env::var_os("GITOPS_BIN_DIR").map(PathBuf::from)
            && dir.join("kstatus").is_file()
            && dir.join("argocd-health").is_file()
        {
            return dir;
        }
        // build.sh honours GITOPS_BIN_DIR too, and prints where the programs are.
        let out = Command::new("bash")
            .arg("hack/gitops/build.sh")
            .current_dir(repo())
            .stderr(std::process::Stdio::inherit())
            .output()
            .expect("run bash hack/gitops/build.sh");
        assert!(
            out.status.success(),
            "hack/gitops/build.sh failed ({}): see its output above",
            out.status
        );
        PathBuf::from(String::from_utf8(out.stdout).unwrap().trim())
    });
    let bin = dir.join(name);
    assert!(bin.is_file(), "{} is missing", bin.display());
    bin
}

fn namespace_manifest(name: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "Namespace",
           "metadata": {"name": name, "labels": {TEST_NAMESPACE_LABEL: "true"}}})
}

/// Creates a labelled test namespace with kubectl.
pub fn create_namespace(kubeconfig: &Path, name: &str) {
    tools::run_with_stdin(
        kubectl(kubeconfig).args(["create", "-f", "-"]),
        Some(&namespace_manifest(name).to_string()),
    );
}

/// A private CA and a server certificate signed by it.
pub struct Pki {
    pub ca_pem: String,
    pub server: TlsFiles,
}

/// [`pki_for`] `localhost` and 127.0.0.1.
pub fn pki() -> Pki {
    pki_for(&[])
}

/// A private CA and a server certificate for `localhost`, 127.0.0.1 and `more` names or
/// addresses.
pub fn pki_for(more: &[&str]) -> Pki {
    use rcgen::{
        BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer,
        KeyPair, KeyUsagePurpose,
    };
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(DnType::CommonName, "infisical-oidc-operator test CA");
    ca.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let ca_key = KeyPair::generate().unwrap();
    let ca_cert = ca.self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(ca, ca_key);

    let mut names = vec!["localhost".to_string(), "127.0.0.1".to_string()];
    names.extend(more.iter().map(|n| n.to_string()));
    let mut leaf = CertificateParams::new(names).unwrap();
    leaf.distinguished_name
        .push(DnType::CommonName, "localhost");
    leaf.use_authority_key_identifier_extension = true;
    leaf.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    leaf.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let leaf_key = KeyPair::generate().unwrap();
    let leaf_cert = leaf.signed_by(&leaf_key, &issuer).unwrap();
    Pki {
        ca_pem: ca_cert.pem(),
        server: TlsFiles {
            cert_pem: leaf_cert.pem().into_bytes(),
            key_pem: leaf_key.serialize_pem().into_bytes(),
        },
    }
}

/// Creates (or updates) a ServiceAccount; `opted_in` sets the annotation that lets the operator
/// request tokens for it.
pub async fn put_service_account(client: &Client, namespace: &str, name: &str, opted_in: bool) {
    let accounts: Api<k8s_openapi::api::core::v1::ServiceAccount> =
        Api::namespaced(client.clone(), namespace);
    let annotations = if opted_in {
        json!({infisical_oidc_operator::api::ALLOW_TOKEN_REQUEST_ANNOTATION: "true"})
    } else {
        json!({})
    };
    let account = json!({"apiVersion": "v1", "kind": "ServiceAccount",
        "metadata": {"name": name, "annotations": annotations}});
    accounts
        .patch(
            name,
            &PatchParams::apply("tests").force(),
            &Patch::Apply(&account),
        )
        .await
        .unwrap();
}

/// What the identity's Kubernetes Auth method allows.
pub struct KubernetesAuthRules<'a> {
    pub allowed_namespaces: &'a str,
    pub allowed_names: &'a str,
    pub allowed_audience: &'a str,
    /// Whether the reviewer ServiceAccount is bound to `system:auth-delegator`.
    pub reviewer_may_review: bool,
    pub access_token_ttl: u64,
}

/// Configures Kubernetes Auth on `identity_id`, reviewed by the test cluster itself: a reviewer
/// ServiceAccount in `namespace` (bound to `system:auth-delegator` unless the rules say not),
/// the cluster's URL and CA from `KUBECONFIG`. Returns the reviewer's name.
pub async fn configure_kubernetes_auth(
    client: &Client,
    namespace: &str,
    emulator: &Emulator,
    identity_id: &str,
    rules: KubernetesAuthRules<'_>,
) -> String {
    use k8s_openapi::api::authentication::v1::TokenRequest;
    use k8s_openapi::api::core::v1::ServiceAccount;
    let reviewer = "token-reviewer";
    put_service_account(client, namespace, reviewer, false).await;
    if rules.reviewer_may_review {
        let bindings: Api<k8s_openapi::api::rbac::v1::ClusterRoleBinding> =
            Api::all(client.clone());
        let name = format!("{}-{reviewer}", namespace);
        let binding = json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
            "metadata": {"name": name, "labels": {TEST_NAMESPACE_LABEL: "true"}},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "system:auth-delegator"},
            "subjects": [{"kind": "ServiceAccount", "name": reviewer, "namespace": namespace}]});
        bindings
            .patch(
                &name,
                &PatchParams::apply("tests").force(),
                &Patch::Apply(&binding),
            )
            .await
            .unwrap();
    }
    let accounts: Api<ServiceAccount> = Api::namespaced(client.clone(), namespace);
    let request: TokenRequest =
        serde_json::from_value(json!({"spec": {"audiences": [], "expirationSeconds": 3600}}))
            .unwrap();
    let reviewer_jwt = accounts
        .create_token_request(reviewer, &PostParams::default(), &request)
        .await
        .unwrap()
        .status
        .unwrap()
        .token;
    let kubeconfig = kube::config::Kubeconfig::read_from(kubeconfig()).unwrap();
    let cluster = kubeconfig.clusters[0].cluster.as_ref().unwrap();
    let ca_cert = cluster.certificate_authority_data.as_ref().map(|data| {
        use base64::Engine;
        String::from_utf8(
            base64::engine::general_purpose::STANDARD
                .decode(data)
                .unwrap(),
        )
        .unwrap()
    });
    let control = emulator.control();
    // The test cluster's API server is on a private address (127.0.0.1, or the local node's
    // address inside its network namespace), which Infisical's URL guard refuses unless allowed.
    let server = cluster.server.clone().unwrap();
    let host = url::Url::parse(&server)
        .ok()
        .and_then(|u| u.host_str().map(str::to_string))
        .unwrap_or_else(|| panic!("the kubeconfig's server {server:?} has a host"));
    control.set_allowed_internal_hosts(vec![host]);
    assert!(control.set_kubernetes_auth(
        identity_id,
        infisical_emulator::KubernetesAuthSeed {
            kubernetes_host: cluster.server.clone().unwrap(),
            ca_cert,
            token_reviewer_jwt: Some(reviewer_jwt),
            allowed_namespaces: rules.allowed_namespaces.into(),
            allowed_names: rules.allowed_names.into(),
            allowed_audience: rules.allowed_audience.into(),
            access_token_ttl: rules.access_token_ttl,
            ..Default::default()
        },
    ));
    reviewer.to_string()
}

/// The IdP client secret used by every test: it must never appear in logs, events, status or metrics.
pub const CANARY: &str = "CANARY-idp-secret-7d1f0c2b";

pub async fn kube_client() -> Client {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    kubeconfig();
    let client = Client::try_default()
        .await
        .expect("a Kubernetes client from KUBECONFIG");
    install_crd(&client).await;
    client
}

/// Applies the generated CRDs (every kind's) with server-side apply (so a stale CRD left by an
/// earlier run is replaced) and waits until they are served.
pub async fn install_crd(client: &Client) {
    use infisical_oidc_operator::api::{LdapSsoConfig, SamlSsoConfig};
    for crd in [
        OidcSsoConfig::crd(),
        SamlSsoConfig::crd(),
        LdapSsoConfig::crd(),
    ] {
        let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
        let name = crd.metadata.name.clone().unwrap();
        crds.patch(
            &name,
            &PatchParams::apply("infisical-oidc-operator-tests").force(),
            &Patch::Apply(&crd),
        )
        .await
        .unwrap_or_else(|e| panic!("applying the CRD: {e}"));
        tokio::time::timeout(
            Duration::from_secs(30),
            await_condition(crds, &name, conditions::is_crd_established()),
        )
        .await
        .expect("CRD established in time")
        .unwrap();
    }
}

pub struct Operator {
    stop: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<Result<(), Stopped>>>,
    pub metrics: Arc<Metrics>,
    /// The state its passes share (memory, caches), for tests that look inside.
    pub context: Arc<Context>,
}

impl Operator {
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = tokio::time::timeout(Duration::from_secs(20), task).await;
        }
    }

    /// Kills the operator without letting in-flight passes finish (a crash).
    pub fn crash(mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }

    /// Waits for the operator to stop on its own, and returns why.
    pub async fn stopped(mut self, within: Duration) -> Result<(), Stopped> {
        let task = self.task.take().expect("running");
        tokio::time::timeout(within, task)
            .await
            .expect("the operator stopped in time")
            .expect("the operator task ran to its end")
    }

    pub fn status_writes(&self) -> u64 {
        self.metrics.kubernetes_status_writes.get()
    }
}

impl Drop for Operator {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

pub struct TestEnv {
    pub client: Client,
    pub namespace: String,
    pub emulator: Emulator,
    pub org_id: String,
    pub identity: IdentityCredentials,
    pub api: Api<OidcSsoConfig>,
}

impl TestEnv {
    /// A fresh namespace with the identity and IdP Secrets, and an emulator with one org.
    pub async fn new(prefix: &str) -> Self {
        Self::with_emulator_tls(prefix, None).await
    }

    /// [`TestEnv::new`] with the emulator serving HTTPS with `tls` (see [`pki`]).
    pub async fn with_emulator_tls(prefix: &str, tls: Option<TlsFiles>) -> Self {
        let client = kube_client().await;
        let namespace = unique(prefix);
        let namespaces: Api<Namespace> = Api::all(client.clone());
        namespaces
            .create(
                &PostParams::default(),
                &serde_json::from_value(namespace_manifest(&namespace)).unwrap(),
            )
            .await
            .unwrap();
        let emulator = Emulator::start_on(
            EmulatorConfig {
                seed: Seed::default(),
                ..EmulatorConfig::default()
            },
            std::net::SocketAddr::from(([127, 0, 0, 1], 0)),
            tls,
        )
        .await
        .unwrap();
        let control = emulator.control();
        let (org_id, identity) = seed_org_and_identity(&control, OrgSeed::default());
        let env = Self {
            api: Api::namespaced(client.clone(), &namespace),
            client,
            namespace,
            emulator,
            org_id,
            identity,
        };
        env.put_secret(
            "infisical-identity",
            &[
                ("clientId", &env.identity.client_id.clone()),
                ("clientSecret", &env.identity.client_secret.clone()),
            ],
        )
        .await;
        env.put_secret("idp-client", &[("clientSecret", CANARY)])
            .await;
        env
    }

    pub fn start_operator(&self) -> Operator {
        self.start_operator_with(|_| {})
    }

    pub fn start_operator_with(&self, customise: impl FnOnce(&mut OperatorConfig)) -> Operator {
        let mut config = OperatorConfig {
            namespaces: vec![self.namespace.clone()],
            settings: Settings {
                allowed_hosts: AllowedHosts::new(["127.0.0.1"]),
                base_backoff: Duration::from_millis(200),
                max_backoff: Duration::from_secs(2),
                idp_resolver: test_idp_resolver(),
                // The examples' IdP is fictional; the preflight has tests of its own.
                default_preflight: PreflightPolicy::Skip,
                ..Settings::default()
            },
            ..OperatorConfig::default()
        };
        customise(&mut config);
        let metrics = Arc::new(Metrics::default());
        let (stop, stopped) = oneshot::channel();
        let context = lifecycle::context(self.client.clone(), &config, metrics.clone());
        let task = tokio::spawn(lifecycle::run_with(context.clone(), config, async move {
            let _ = stopped.await;
        }));
        Operator {
            stop: Some(stop),
            task: Some(task),
            metrics,
            context,
        }
    }

    /// Another organisation in the emulator with its own identity, whose credentials are in the
    /// Secret `secret`; returns the organisation's id.
    pub async fn another_org(&self, secret: &str) -> String {
        let control = self.emulator.control();
        let (org_id, identity) = seed_org_and_identity(&control, OrgSeed::default());
        self.put_secret(
            secret,
            &[
                ("clientId", &identity.client_id),
                ("clientSecret", &identity.client_secret),
            ],
        )
        .await;
        org_id
    }

    /// Creates (or updates) a ServiceAccount in this env's namespace: see [`put_service_account`].
    pub async fn put_service_account(&self, name: &str, opted_in: bool) {
        put_service_account(&self.client, &self.namespace, name, opted_in).await;
    }

    /// Configures Kubernetes Auth on this env's identity: see [`configure_kubernetes_auth`].
    pub async fn kubernetes_auth_identity(
        &self,
        allowed_namespaces: &str,
        allowed_names: &str,
        allowed_audience: &str,
        reviewer_may_review: bool,
        access_token_ttl: u64,
    ) -> String {
        configure_kubernetes_auth(
            &self.client,
            &self.namespace,
            &self.emulator,
            &self.identity.identity_id,
            KubernetesAuthRules {
                allowed_namespaces,
                allowed_names,
                allowed_audience,
                reviewer_may_review,
                access_token_ttl,
            },
        )
        .await
    }

    /// The spec's authentication switched to Kubernetes Auth with `service_account`.
    pub fn kubernetes_auth(
        &self,
        identity_id: &str,
        service_account: &str,
        audiences: &[&str],
    ) -> Value {
        json!({"authentication": {"universalAuth": null, "kubernetesAuth": {
            "identityId": identity_id,
            "serviceAccountRef": {"name": service_account},
            "audiences": audiences,
        }}})
    }

    pub async fn put_secret(&self, name: &str, data: &[(&str, &str)]) {
        let secrets: Api<Secret> = Api::namespaced(self.client.clone(), &self.namespace);
        let string_data: serde_json::Map<String, Value> = data
            .iter()
            .map(|(k, v)| (k.to_string(), json!(v)))
            .collect();
        let secret = json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name}, "type": "Opaque", "stringData": string_data});
        secrets
            .patch(
                name,
                &PatchParams::apply("tests").force(),
                &Patch::Apply(&secret),
            )
            .await
            .unwrap();
    }

    /// The standard discoveryURL spec against this env's emulator, with `overrides` merged in.
    pub fn spec(&self, overrides: Value) -> Value {
        let mut spec = json!({
            "organizationId": self.org_id,
            "hostAPI": self.emulator.base_url(),
            "authentication": {"universalAuth": {"credentialsRef": {"name": "infisical-identity"}}},
            "configurationType": "discoveryURL",
            "discoveryURL": "https://idp.example.com/.well-known/openid-configuration",
            "clientId": "infisical",
            "clientSecretRef": {"name": "idp-client", "key": "clientSecret"},
            "allowedEmailDomains": ["example.com", "example.org"],
        });
        merge(&mut spec, overrides);
        spec
    }

    pub async fn apply(&self, name: &str, spec: Value) -> OidcSsoConfig {
        let object = json!({
            "apiVersion": "oidc.infisical-operator.io/v1alpha1",
            "kind": "OidcSsoConfig",
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
            .unwrap_or_else(|e| panic!("applying {name}: {e}"))
    }

    pub async fn get(&self, name: &str) -> OidcSsoConfig {
        self.api.get(name).await.unwrap()
    }

    /// Waits until `check` holds for the resource, or panics with its last state.
    pub async fn wait_until(
        &self,
        name: &str,
        what: &str,
        timeout: Duration,
        check: impl Fn(&OidcSsoConfig) -> bool,
    ) -> OidcSsoConfig {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let current = self.api.get_opt(name).await.unwrap();
            if let Some(resource) = current.as_ref().filter(|r| check(r)) {
                return resource.clone();
            }
            if tokio::time::Instant::now() > deadline {
                panic!(
                    "timed out waiting for {name} to be {what}; last state: {:#?}",
                    current.map(|r| r.status)
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits for `Ready` with the given status and reason.
    pub async fn wait_ready_reason(&self, name: &str, status: &str, reason: &str) -> OidcSsoConfig {
        self.wait_until(
            name,
            &format!("Ready={status}/{reason}"),
            Duration::from_secs(30),
            |r| {
                ready(r).is_some_and(|(s, re, _)| s == status && re == reason)
                    && r.status.as_ref().and_then(|s| s.observed_generation)
                        == r.metadata.generation
            },
        )
        .await
    }

    /// Waits until the create-pending mark is gone (it is cleared last, after the Created Event).
    pub async fn wait_unmarked(&self, name: &str) -> OidcSsoConfig {
        self.wait_until(
            name,
            "create-pending cleared",
            Duration::from_secs(10),
            |r| {
                !r.metadata
                    .annotations
                    .as_ref()
                    .is_some_and(|a| a.contains_key(CREATE_PENDING_ANNOTATION))
            },
        )
        .await
    }

    pub async fn wait_ready(&self, name: &str) -> OidcSsoConfig {
        self.wait_ready_reason(name, "True", "Synced").await
    }

    /// Asks for an immediate sync through the annotation users would set.
    pub async fn poke(&self, name: &str) {
        let value = uuid::Uuid::new_v4().to_string();
        let patch =
            json!({"metadata": {"annotations": {RECONCILE_REQUESTED_AT_ANNOTATION: value}}});
        self.api
            .patch_metadata(name, &PatchParams::default(), &Patch::Merge(&patch))
            .await
            .unwrap();
    }

    pub async fn events(&self, name: &str) -> Vec<(String, String)> {
        let events: Api<Event> = Api::namespaced(self.client.clone(), &self.namespace);
        let mut out = Vec::new();
        for event in events.list(&ListParams::default()).await.unwrap() {
            if event.involved_object.name.as_deref() == Some(name) {
                out.push((
                    event.reason.unwrap_or_default(),
                    event.message.unwrap_or_default(),
                ));
            }
        }
        // events.k8s.io/v1 Events carry `note` instead of `message`; both APIs list the same objects.
        out
    }

    pub async fn wait_event(&self, name: &str, reason: &str) -> String {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
        loop {
            if let Some((_, message)) = self
                .events(name)
                .await
                .into_iter()
                .find(|(r, _)| r == reason)
            {
                return message;
            }
            if tokio::time::Instant::now() > deadline {
                panic!(
                    "no {reason} event for {name}; events: {:?}",
                    self.events(name).await
                );
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    pub fn org(&self) -> infisical_emulator::OrgState {
        self.emulator
            .control()
            .org_state(&self.org_id)
            .expect("org exists")
    }

    pub async fn delete(&self, name: &str) {
        self.api
            .delete(name, &DeleteParams::default())
            .await
            .unwrap();
    }

    pub async fn wait_gone(&self, name: &str) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        while self.api.get_opt(name).await.unwrap().is_some() {
            assert!(
                tokio::time::Instant::now() < deadline,
                "{name} was not deleted in time"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub async fn cleanup(self) {
        // Remove finalizers so the namespace's objects never block anything.
        if let Ok(list) = self.api.list(&ListParams::default()).await {
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
                let _ = self.api.delete(&name, &DeleteParams::default()).await;
            }
        }
        let namespaces: Api<Namespace> = Api::all(self.client.clone());
        let _ = namespaces
            .delete(&self.namespace, &DeleteParams::default())
            .await;
        self.emulator.shutdown().await;
    }
}

/// (status, reason, message) of the Ready condition.
pub fn ready(resource: &OidcSsoConfig) -> Option<(String, String, String)> {
    let c = resource.status.as_ref()?.condition("Ready")?;
    Some((c.status.clone(), c.reason.clone(), c.message.clone()))
}

pub fn condition(resource: &OidcSsoConfig, type_: &str) -> Option<(String, String, String)> {
    let c = resource.status.as_ref()?.condition(type_)?;
    Some((c.status.clone(), c.reason.clone(), c.message.clone()))
}

fn merge(base: &mut Value, overrides: Value) {
    match (base, overrides) {
        (Value::Object(base), Value::Object(overrides)) => {
            for (k, v) in overrides {
                if v.is_null() {
                    base.remove(&k);
                } else {
                    merge(base.entry(k).or_insert(Value::Null), v);
                }
            }
        }
        (base, overrides) => *base = overrides,
    }
}

/// Bodies of the requests the emulator received for `method` on the OIDC config endpoint.
pub fn config_requests(env: &TestEnv, method: &str) -> Vec<Value> {
    env.emulator
        .control()
        .requests()
        .into_iter()
        .filter(|r| {
            r.method.eq_ignore_ascii_case(method) && r.path.starts_with("/api/v1/sso/oidc/config")
        })
        .map(|r| r.body.unwrap_or(Value::Null))
        .collect()
}
