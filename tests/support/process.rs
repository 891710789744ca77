//! End-to-end part of the harness: the BUILT operator binary as a separate process, the real
//! `kubectl`, a real API server (`KUBECONFIG`) and a real emulator over HTTP. Each test gets its
//! own namespace(s), emulator and operator process, so tests run in parallel under nextest.
pub use super::{kubeconfig, kubectl, repo, unique};

use std::fs::File;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use infisical_emulator::{
    Emulator, EmulatorConfig, IdentityCredentials, IdentitySeed, OrgSeed, OrgState,
};
use kube::Client;
use serde_json::Value;

/// The organisation and identity every example targets.
pub const ORG_ID: &str = "6f1c0b64-2a4e-4c55-9d1e-0a9b8c7d6e5f";
pub const IDENTITY_CLIENT_ID: &str = "demo-identity-client-id";
pub const IDENTITY_CLIENT_SECRET: &str = "demo-identity-client-secret";
/// The host the examples point at (the emulator of `hack/run.sh`).
pub const EXAMPLE_HOST: &str = "http://127.0.0.1:18080";
/// The IdP client secret written in the examples.
pub const EXAMPLE_IDP_SECRET: &str = "change-me-idp-client-secret";

pub const TIMEOUT: Duration = Duration::from_secs(60);
pub const POLL: Duration = Duration::from_millis(200);

/// Polls `check` every 200 ms until it returns `Some`, or panics after `timeout` with `what`
/// and the description `last` gives of the final state.
pub fn poll<T>(
    what: &str,
    timeout: Duration,
    mut check: impl FnMut() -> Option<T>,
    last: impl Fn() -> String,
) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = check() {
            return v;
        }
        if Instant::now() > deadline {
            panic!(
                "timed out after {timeout:?} waiting for {what}; last state: {}",
                last()
            );
        }
        std::thread::sleep(POLL);
    }
}

// ---- commands ---------------------------------------------------------------------------

/// The outcome of a command: success, stdout, stderr.
#[derive(Debug)]
pub struct Output {
    pub ok: bool,
    pub stdout: String,
    pub stderr: String,
}

pub fn exec(cmd: &mut Command) -> Output {
    let line = format!("{cmd:?}");
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {line}: {e} (is it installed? hack/tools.sh)"));
    Output {
        ok: out.status.success(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Runs a command that must succeed; returns stdout.
pub fn must(cmd: &mut Command) -> String {
    let line = format!("{cmd:?}");
    let out = exec(cmd);
    assert!(out.ok, "{line} failed:\n{}{}", out.stderr, out.stdout);
    out.stdout
}

// ---- Kubernetes setup ---------------------------------------------------------------------

pub async fn kube_client(kubeconfig: &Path) -> Client {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let config = kube::Config::from_custom_kubeconfig(
        kube::config::Kubeconfig::read_from(kubeconfig).expect("a readable kubeconfig"),
        &Default::default(),
    )
    .await
    .expect("a Kubernetes client config from KUBECONFIG");
    Client::try_from(config).expect("a Kubernetes client")
}

// ---- the emulator -------------------------------------------------------------------------

/// An emulator seeded with the examples' organisation and identity.
pub async fn example_emulator() -> (Emulator, IdentityCredentials) {
    let emulator = Emulator::start(EmulatorConfig::default())
        .await
        .expect("the emulator starts");
    let control = emulator.control();
    let org_id = control.seed_org(OrgSeed {
        id: Some(ORG_ID.into()),
        ..Default::default()
    });
    let identity = control.seed_identity(IdentitySeed {
        org_id,
        client_id: Some(IDENTITY_CLIENT_ID.into()),
        client_secret: Some(IDENTITY_CLIENT_SECRET.into()),
        ..Default::default()
    });
    (emulator, identity)
}

pub fn org(emulator: &Emulator) -> OrgState {
    emulator
        .control()
        .org_state(ORG_ID)
        .expect("the org exists")
}

pub fn stored_config_id(emulator: &Emulator) -> Option<String> {
    org(emulator)
        .config
        .and_then(|c| c["id"].as_str().map(str::to_string))
}

// ---- one test's world -------------------------------------------------------------------

/// One test's namespace, emulator and scratch directory. Dropping it deletes the namespace
/// (best effort, after clearing finalizers so nothing blocks).
pub struct World {
    pub kubeconfig: PathBuf,
    pub client: Client,
    pub namespace: String,
    pub emulator: Emulator,
    pub identity: IdentityCredentials,
    pub dir: tempfile::TempDir,
    extra_namespaces: Vec<String>,
}

impl World {
    pub async fn new(prefix: &str) -> Self {
        let (emulator, identity) = example_emulator().await;
        Self::with_emulator(prefix, emulator, identity).await
    }

    /// A world around an emulator the caller started (another address, TLS).
    pub async fn with_emulator(
        prefix: &str,
        emulator: Emulator,
        identity: IdentityCredentials,
    ) -> Self {
        let kubeconfig = kubeconfig();
        let client = kube_client(&kubeconfig).await;
        crate::support::install_crd(&client).await;
        let namespace = unique(prefix);
        let world = Self {
            kubeconfig,
            client,
            namespace: namespace.clone(),
            emulator,
            identity,
            dir: tempfile::Builder::new()
                .prefix(&format!("{namespace}-"))
                .tempdir()
                .unwrap(),
            extra_namespaces: vec![],
        };
        world.create_namespace(&namespace);
        world
    }

    fn create_namespace(&self, ns: &str) {
        super::create_namespace(&self.kubeconfig, ns);
    }

    /// Another namespace, deleted with this world.
    pub fn another_namespace(&mut self, prefix: &str) -> String {
        let ns = unique(prefix);
        self.create_namespace(&ns);
        self.extra_namespaces.push(ns.clone());
        ns
    }

    /// `kubectl --kubeconfig <admin>`.
    pub fn kubectl(&self) -> Command {
        kubectl(&self.kubeconfig)
    }

    /// `kubectl --kubeconfig <admin> -n <namespace>`.
    pub fn kubectl_ns(&self) -> Command {
        let mut c = self.kubectl();
        c.args(["-n", &self.namespace]);
        c
    }

    /// An example's text, retargeted at this world's namespace and emulator.
    pub fn example(&self, file: &str) -> String {
        let path = repo().join("examples").join(file);
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
        assert!(
            text.contains("namespace: default") && text.contains(EXAMPLE_HOST),
            "{file} no longer targets `namespace: default` and {EXAMPLE_HOST}: update the e2e tests"
        );
        text.replace(
            "namespace: default",
            &format!("namespace: {}", self.namespace),
        )
        .replace(EXAMPLE_HOST, &self.emulator.base_url())
    }

    /// `kubectl apply -f` of the text (written to a file in the scratch directory).
    pub fn apply(&self, file_name: &str, text: &str) -> String {
        let path = self.dir.path().join(file_name);
        std::fs::write(&path, text).unwrap();
        must(self.kubectl().arg("apply").arg("-f").arg(&path))
    }

    /// `kubectl wait --for=condition=Ready oidcsso/<name> --timeout=60s`; on failure, panics
    /// with `kubectl describe` and the operator's log.
    pub fn wait_ready(&self, name: &str, operator: &OperatorProcess) {
        let out = exec(self.kubectl_ns().args([
            "wait",
            "--for=condition=Ready",
            &format!("oidcsso/{name}"),
            "--timeout=60s",
        ]));
        if !out.ok {
            let describe = exec(self.kubectl_ns().args(["describe", "oidcsso", name]));
            panic!(
                "oidcsso/{name} did not become Ready: {}{}\n--- describe:\n{}{}\n--- operator log (tail):\n{}",
                out.stderr,
                out.stdout,
                describe.stdout,
                describe.stderr,
                operator.log_tail(80)
            );
        }
    }

    /// `kubectl get oidcsso <name> -o jsonpath=<path>`.
    pub fn jsonpath(&self, name: &str, path: &str) -> String {
        must(
            self.kubectl_ns()
                .args(["get", "oidcsso", name, "-o", &format!("jsonpath={path}")]),
        )
    }

    /// `kubectl get oidcsso <name> -o json`, or `None` when it does not exist.
    pub fn get_json(&self, name: &str) -> Option<Value> {
        let out = exec(
            self.kubectl_ns()
                .args(["get", "oidcsso", name, "-o", "json"]),
        );
        if out.ok {
            Some(serde_json::from_str(&out.stdout).expect("kubectl printed JSON"))
        } else if out.stderr.contains("NotFound") || out.stderr.contains("not found") {
            None
        } else {
            panic!("kubectl get oidcsso {name} failed: {}", out.stderr)
        }
    }

    /// Reasons of the Events about `name`, through `kubectl get events --field-selector`.
    pub fn event_reasons(&self, name: &str) -> Vec<String> {
        let out = must(self.kubectl_ns().args([
            "get",
            "events",
            "--field-selector",
            &format!("involvedObject.name={name}"),
            "-o",
            "json",
        ]));
        let list: Value = serde_json::from_str(&out).expect("kubectl printed JSON");
        list["items"]
            .as_array()
            .map(|items| {
                items
                    .iter()
                    .filter_map(|e| e["reason"].as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Starts the operator binary watching this world's namespace, as the admin.
    pub fn start_operator(&self, tag: &str) -> OperatorProcess {
        OperatorProcess::start(&self.kubeconfig, &self.namespace, self.dir.path(), tag, &[])
    }

    /// [`World::start_operator`] with more flags, and `POD_NAME=<tag>`, so the replica's
    /// identity (Lease holder, user agents) starts with the tag.
    pub fn start_operator_with(&self, tag: &str, flags: &[&str]) -> OperatorProcess {
        OperatorProcess::start(
            &self.kubeconfig,
            &self.namespace,
            self.dir.path(),
            tag,
            flags,
        )
    }
}

impl Drop for World {
    fn drop(&mut self) {
        let mut namespaces = vec![self.namespace.clone()];
        namespaces.extend(self.extra_namespaces.iter().cloned());
        for ns in namespaces {
            // Clear finalizers first: no operator may be left to remove them.
            let names =
                exec(kubectl(&self.kubeconfig).args(["get", "oidcsso", "-n", &ns, "-o", "name"]));
            let objects: Vec<&str> = names.stdout.lines().filter(|l| !l.is_empty()).collect();
            // Sixteen at a time: a scale test leaves a thousand.
            for batch in objects.chunks(16) {
                let children: Vec<_> = batch
                    .iter()
                    .filter_map(|object| {
                        kubectl(&self.kubeconfig)
                            .args(["patch", "-n", &ns, object, "--type", "merge", "-p"])
                            .arg(r#"{"metadata":{"finalizers":null}}"#)
                            .stdout(Stdio::null())
                            .stderr(Stdio::null())
                            .spawn()
                            .ok()
                    })
                    .collect();
                for mut child in children {
                    let _ = child.wait();
                }
            }
            let _ = exec(kubectl(&self.kubeconfig).args([
                "delete",
                "namespace",
                &ns,
                "--wait=false",
                "--ignore-not-found",
            ]));
        }
    }
}

// ---- the operator process ------------------------------------------------------------------

/// A free TCP port on 127.0.0.1 (released before use: a small race, acceptable for tests).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The built operator binary, running as a child process; killed when dropped.
pub struct OperatorProcess {
    child: Child,
    pub http: SocketAddr,
    pub log: PathBuf,
    exited: Option<ExitStatus>,
}

impl OperatorProcess {
    pub fn start(
        kubeconfig: &Path,
        namespace: &str,
        dir: &Path,
        tag: &str,
        flags: &[&str],
    ) -> Self {
        let http = SocketAddr::from(([127, 0, 0, 1], free_port()));
        let log = dir.join(format!("operator-{tag}.log"));
        let stderr = File::create(&log).unwrap();
        let stdout = stderr.try_clone().unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_infisical-oidc-operator"))
            .args(["--watch-namespaces", namespace])
            .args(["--allowed-hosts", "127.0.0.1"])
            .args(["--http-address", &http.to_string()])
            .arg("--idp-host-aliases")
            .arg(repo().join("hack/demo-idp-hosts"))
            // The examples' IdP (idp.example.com) is fictional: nothing to fetch.
            .args(["--default-preflight", "Skip"])
            .args(["--log-level", "debug"])
            .args(flags)
            .env("KUBECONFIG", kubeconfig)
            .env("POD_NAME", tag)
            // Only the flags above: no ambient configuration leaks in.
            .env_remove("WATCH_NAMESPACES")
            .env_remove("ALLOWED_HOSTS")
            .env_remove("HTTP_ADDRESS")
            .env_remove("LOG_LEVEL")
            .env_remove("RUST_LOG")
            .env_remove("POD_NAMESPACE")
            .env_remove("LEADER_ELECT")
            .stdin(Stdio::null())
            .stdout(stdout)
            .stderr(stderr)
            .spawn()
            .expect("the operator binary starts");
        Self {
            child,
            http,
            log,
            exited: None,
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub fn log_tail(&self, lines: usize) -> String {
        let text = self.log_text();
        let all: Vec<&str> = text.lines().collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }

    /// SIGKILL: the process dies without finishing anything (a crash).
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        self.exited = self.child.wait().ok();
    }

    /// SIGTERM, the way the kubelet stops a pod.
    pub fn sigterm(&self) {
        self.signal("TERM");
    }

    /// Sends a signal by name (`STOP`, `CONT`, ...).
    pub fn signal(&self, name: &str) {
        must(Command::new("kill").args([&format!("-{name}"), &self.pid().to_string()]));
    }

    /// Waits for the process to exit; `None` when it is still running after `timeout`.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                self.exited = Some(status);
                return Some(status);
            }
            if Instant::now() > deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// `GET path` on the operator's HTTP address: (status, body), or `None` when it does not answer.
    pub fn get(&self, path: &str) -> Option<(u16, String)> {
        http_get(self.http, path)
    }

    /// Waits until `GET path` answers 200; returns the body.
    pub fn wait_http_ok(&self, path: &str) -> String {
        poll(
            &format!("GET {path} on the operator to answer 200"),
            TIMEOUT,
            || self.get(path).filter(|(s, _)| *s == 200).map(|(_, b)| b),
            || {
                format!(
                    "{:?}\n--- operator log:\n{}",
                    self.get(path),
                    self.log_tail(40)
                )
            },
        )
    }
}

impl Drop for OperatorProcess {
    fn drop(&mut self) {
        if self.exited.is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
        if std::thread::panicking() {
            eprintln!(
                "--- operator log {} (tail):\n{}",
                self.log.display(),
                self.log_tail(60)
            );
        }
    }
}

/// A minimal HTTP/1.0 GET over a TcpStream: (status, body).
pub fn http_get(address: SocketAddr, path: &str) -> Option<(u16, String)> {
    let mut stream = TcpStream::connect_timeout(&address, Duration::from_secs(2)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(
        stream,
        "GET {path} HTTP/1.0\r\nHost: {address}\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response).ok()?;
    let text = String::from_utf8_lossy(&response).into_owned();
    let (head, body) = text.split_once("\r\n\r\n")?;
    let status = head.split_whitespace().nth(1)?.parse().ok()?;
    Some((status, body.to_string()))
}

// ---- the API server's audit log ------------------------------------------------------------

/// A write the API server's audit log recorded. hack/start.sh logs writes to OidcSsoConfigs,
/// Events and Leases, beside the kubeconfig.
#[derive(Debug, Clone)]
pub struct AuditedWrite {
    pub user_agent: String,
    pub verb: String,
    pub resource: String,
    pub subresource: String,
    pub name: String,
    pub code: u64,
    pub received: std::time::SystemTime,
}

/// Every audited write in `namespace`, oldest first, from the current and rotated logs.
pub fn audited_writes(kubeconfig: &Path, namespace: &str) -> Vec<AuditedWrite> {
    let dir = kubeconfig.parent().expect("the kubeconfig's directory");
    let files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| {
                    p.file_name()
                        .and_then(|n| n.to_str())
                        .is_some_and(|n| n.starts_with("audit") && n.ends_with(".log"))
                })
                .collect()
        })
        .unwrap_or_default();
    assert!(
        !files.is_empty(),
        "no audit log beside {}: these tests need the cluster of hack/start.sh (hack/test.sh), which writes one",
        kubeconfig.display()
    );
    let mut writes = vec![];
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap_or_default();
        for line in text.lines() {
            let Ok(event) = serde_json::from_str::<Value>(line) else {
                continue;
            };
            let object = &event["objectRef"];
            if object["namespace"].as_str() != Some(namespace) {
                continue;
            }
            let text = |v: &Value| v.as_str().unwrap_or_default().to_string();
            let received = text(&event["requestReceivedTimestamp"])
                .parse::<jiff::Timestamp>()
                .map(std::time::SystemTime::from)
                .unwrap_or(std::time::UNIX_EPOCH);
            writes.push(AuditedWrite {
                user_agent: text(&event["userAgent"]),
                verb: text(&event["verb"]),
                resource: text(&object["resource"]),
                subresource: text(&object["subresource"]),
                name: text(&object["name"]),
                code: event["responseStatus"]["code"].as_u64().unwrap_or(0),
                received,
            });
        }
    }
    writes.sort_by_key(|w| w.received);
    writes
}
