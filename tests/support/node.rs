//! The product as its users run it: the operator's image and Helm chart, built by
//! `hack/image/build.sh` and pushed by `hack/test.sh` to the local cluster's registry
//! (`hack/image/publish.sh`), installed from there with the real `helm`, and run as pods on the
//! real node (`hack/start.sh`). The tests run inside the cluster's network namespace, where the
//! node's address, the registry and the pods are reachable; the emulator listens on the node's
//! address over HTTPS, so pods reach it as they would reach Infisical.
//!
//! What the node is made of: `hack/node/README.md`. The settings come from the environment
//! `hack/test.sh` exports ([`Node::from_env`]).

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use infisical_emulator::{Emulator, EmulatorConfig, IdentitySeed, OrgSeed, TlsFiles};
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::Pod;
use kube::api::ListParams;
use kube::{Api, Client};
use serde_json::Value;

use super::process::{
    IDENTITY_CLIENT_ID, IDENTITY_CLIENT_SECRET, ORG_ID, World, exec, kubectl, must, unique,
};

/// The Pod Security level every node test's namespace enforces: the chart must run under it.
pub const POD_SECURITY: &str = "restricted";

/// What `hack/test.sh` tells the tests about the node, the registry and what it pushed there.
#[derive(Debug, Clone)]
pub struct Node {
    /// The node's address: the API server, the registry and the emulator listen on it.
    pub ip: IpAddr,
    /// `host:port` of the registry.
    pub registry: String,
    /// The CA the registry's certificate (and the cluster's) is signed by.
    pub registry_ca: PathBuf,
    pub image_repository: String,
    pub image_digest: String,
    /// `oci://…/charts/infisical-oidc-operator`
    pub chart: String,
    pub chart_version: String,
    /// Where crane (and the node's runtime) are.
    pub tools: PathBuf,
    /// The node's cgroup root (in every hierarchy), where the pods' cgroups are.
    pub cgroup_root: String,
}

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!(
            "{name} is unset: the node tests run through hack/test.sh, which starts the node, \
             builds the image and pushes it and the chart to the node's registry"
        )
    })
}

impl Node {
    pub fn from_env() -> Self {
        Self {
            ip: env("NODE_IP").parse().expect("NODE_IP is an address"),
            registry: env("REGISTRY"),
            registry_ca: env("REGISTRY_CA").into(),
            image_repository: env("OPERATOR_IMAGE_REPOSITORY"),
            image_digest: env("OPERATOR_IMAGE_DIGEST"),
            chart: env("OPERATOR_CHART"),
            chart_version: env("OPERATOR_CHART_VERSION"),
            tools: env("NODE_TOOLS").into(),
            cgroup_root: env("CGROUP_ROOT"),
        }
    }

    /// `crane ARGS...`, trusting the registry's CA.
    pub fn crane(&self, args: &[&str]) -> String {
        must(
            Command::new(self.tools.join("crane"))
                .args(args)
                .env("SSL_CERT_FILE", &self.registry_ca),
        )
    }

    /// The operator's image under another digest (a label added, as a rebuild would change
    /// it): for upgrades.
    pub fn image_variant(&self, label: &str) -> String {
        let source = format!("{}@{}", self.image_repository, self.image_digest);
        let tag = format!("{}:{}", self.image_repository, unique("variant"));
        let pushed = self.crane(&["mutate", &source, "--label", label, "-t", &tag]);
        let digest = pushed
            .trim()
            .rsplit_once('@')
            .map(|(_, d)| d.to_string())
            .unwrap_or_else(|| panic!("crane mutate printed no digest: {pushed}"));
        assert_ne!(
            digest, self.image_digest,
            "the variant has a digest of its own"
        );
        digest
    }

    /// The busybox image the cluster's registry holds (`hack/node/images.sh`).
    pub fn busybox(&self) -> String {
        format!("{}/busybox:1", self.registry)
    }
}

// ---- a world on the node ---------------------------------------------------------------------

/// A test's namespace (enforcing [`POD_SECURITY`]) and an emulator serving HTTPS on the node's
/// address, seeded with the examples' organisation and identity; the CA that signed the
/// emulator's certificate is in the Secret `infisical-ca` (key `ca.crt`).
pub async fn world(prefix: &str, node: &Node) -> World {
    let pki = super::pki_for(&[&node.ip.to_string()]);
    let emulator = Emulator::start_on(
        EmulatorConfig::default(),
        SocketAddr::new(node.ip, 0),
        Some(TlsFiles {
            cert_pem: pki.server.cert_pem.clone(),
            key_pem: pki.server.key_pem.clone(),
        }),
    )
    .await
    .expect("the emulator starts on the node's address");
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
    let world = World::with_emulator(prefix, emulator, identity).await;
    must(world.kubectl().args([
        "label",
        "namespace",
        &world.namespace,
        &format!("pod-security.kubernetes.io/enforce={POD_SECURITY}"),
        "pod-security.kubernetes.io/enforce-version=latest",
    ]));
    must(world.kubectl_ns().args([
        "create",
        "secret",
        "generic",
        "infisical-ca",
        &format!("--from-literal=ca.crt={}", pki.ca_pem),
    ]));
    world
}

/// The emulator's base URL as pods reach it.
pub fn emulator_url(world: &World, node: &Node) -> String {
    format!("https://{}:{}", node.ip, world.emulator.local_addr().port())
}

// ---- a Helm release --------------------------------------------------------------------------

/// A release of the chart from the registry, in the world's namespace, watching only that
/// namespace (other tests share the cluster). The CRD is there already (the harness installs it),
/// which the chart leaves as it is.
pub struct Release {
    pub name: String,
    pub namespace: String,
    kubeconfig: PathBuf,
    client: Client,
}

/// Values every node test sets: where the image is, the hosts the operator may call (the
/// node's address), and what sharing the cluster with other tests needs.
fn base_values(node: &Node, namespace: &str) -> Vec<String> {
    vec![
        format!("image.repository={}", node.image_repository),
        format!("image.digest={}", node.image_digest),
        format!("operator.allowedHosts={{{}}}", node.ip),
        format!("watchNamespaces={{{namespace}}}"),
    ]
}

impl Release {
    /// `helm install` from the registry with `--set` values on top of [`base_values`].
    pub fn install(world: &World, node: &Node, values: &[&str]) -> Self {
        Self::install_named(world, node, &unique("rel"), values)
    }

    /// [`Release::install`] under a given name (a reinstall).
    pub fn install_named(world: &World, node: &Node, name: &str, values: &[&str]) -> Self {
        let release = Self {
            name: name.to_string(),
            namespace: world.namespace.clone(),
            kubeconfig: world.kubeconfig.clone(),
            client: world.client.clone(),
        };
        release.helm(node, "install", values);
        release
    }

    /// `helm upgrade --reuse-values` from the registry with more `--set` values.
    pub fn upgrade(&self, node: &Node, values: &[&str]) {
        self.helm(node, "upgrade", values);
    }

    fn helm(&self, node: &Node, verb: &str, values: &[&str]) {
        let mut cmd = Command::new("helm");
        cmd.args([verb, &self.name, &node.chart])
            .args(["--version", &node.chart_version])
            .arg("--ca-file")
            .arg(&node.registry_ca)
            .args(["--namespace", &self.namespace])
            .arg("--kubeconfig")
            .arg(&self.kubeconfig);
        if verb == "upgrade" {
            cmd.arg("--reuse-values");
        } else {
            for value in base_values(node, &self.namespace) {
                cmd.args(["--set", &value]);
            }
        }
        for value in values {
            cmd.args(["--set", value]);
        }
        must(&mut cmd);
    }

    pub fn uninstall(&self) {
        must(Command::new("helm").args([
            "uninstall",
            &self.name,
            "--namespace",
            &self.namespace,
            "--kubeconfig",
            &self.kubeconfig.to_string_lossy(),
        ]));
    }

    /// The chart's full name: the Deployment's, the Service's and the Lease's name.
    pub fn fullname(&self) -> String {
        format!("{}-infisical-oidc-operator", self.name)
    }

    pub async fn pods(&self) -> Vec<Pod> {
        let pods: Api<Pod> = Api::namespaced(self.client.clone(), &self.namespace);
        let selector = format!("app.kubernetes.io/instance={}", self.name);
        pods.list(&ListParams::default().labels(&selector))
            .await
            .expect("list the release's pods")
            .items
    }

    /// Waits until exactly `count` pods of the release are Running and Ready (none terminating).
    pub async fn wait_ready_pods(&self, count: usize, timeout: Duration) -> Vec<Pod> {
        let deadline = Instant::now() + timeout;
        loop {
            let pods = self.pods().await;
            let ready: Vec<Pod> = pods
                .iter()
                .filter(|p| p.metadata.deletion_timestamp.is_none() && is_ready(p))
                .cloned()
                .collect();
            if ready.len() == count && pods.len() == count {
                return ready;
            }
            if Instant::now() > deadline {
                panic!(
                    "{count} Ready pods of release {} not there within {timeout:?}: {}\n--- describe:\n{}",
                    self.name,
                    summary(&pods),
                    exec(kubectl(&self.kubeconfig).args([
                        "describe",
                        "pods",
                        "-n",
                        &self.namespace,
                        "-l",
                        &format!("app.kubernetes.io/instance={}", self.name),
                    ]))
                    .stdout
                );
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    /// The Lease's holder, when it has one.
    pub async fn holder(&self) -> Option<String> {
        let leases: Api<Lease> = Api::namespaced(self.client.clone(), &self.namespace);
        leases
            .get_opt(&self.fullname())
            .await
            .ok()
            .flatten()
            .and_then(|l| l.spec?.holder_identity)
            .filter(|h| !h.is_empty())
    }

    /// Waits for a holder other than `not`; returns it and when it was first seen.
    pub async fn wait_holder(&self, not: Option<&str>, timeout: Duration) -> (String, Instant) {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(holder) = self.holder().await
                && Some(holder.as_str()) != not
            {
                return (holder, Instant::now());
            }
            assert!(
                Instant::now() < deadline,
                "no Lease holder other than {not:?} within {timeout:?}; holder: {:?}",
                self.holder().await
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// `kubectl logs POD` (the current container).
    pub fn logs(&self, pod: &str) -> String {
        must(kubectl(&self.kubeconfig).args(["logs", "-n", &self.namespace, pod]))
    }
}

/// The pod a Lease holder identity belongs to (identities are `POD_NAME_<random>`).
pub fn pod_of(identity: &str) -> &str {
    identity.rsplit_once('_').map_or(identity, |(pod, _)| pod)
}

pub fn is_ready(pod: &Pod) -> bool {
    pod.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|c| c.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
}

pub fn restart_count(pod: &Pod) -> i32 {
    pod.status
        .as_ref()
        .and_then(|s| s.container_statuses.as_ref())
        .map(|c| c.iter().map(|c| c.restart_count).sum())
        .unwrap_or(0)
}

fn summary(pods: &[Pod]) -> String {
    pods.iter()
        .map(|p| {
            format!(
                "{} phase={:?} ready={} restarts={} deleting={}",
                p.metadata.name.as_deref().unwrap_or("?"),
                p.status.as_ref().and_then(|s| s.phase.clone()),
                is_ready(p),
                restart_count(p),
                p.metadata.deletion_timestamp.is_some()
            )
        })
        .collect::<Vec<_>>()
        .join("; ")
}

// ---- a container's process, seen from the node ---------------------------------------------

/// A running container as the node sees it: its main process and its memory cgroup.
#[derive(Debug)]
pub struct Container {
    pub pid: u32,
    pub memory_cgroup: PathBuf,
}

/// The container `name` of `pod`, found by its id in the node's cgroup root (the kubelet's
/// cgroupfs layout: `<root>/kubepods/<qos>/pod<uid>/<container id>`).
pub fn container(node: &Node, pod: &Pod, name: &str) -> Container {
    let id = pod
        .status
        .as_ref()
        .and_then(|s| s.container_statuses.as_ref())
        .and_then(|c| c.iter().find(|c| c.name == name))
        .and_then(|c| c.container_id.clone())
        .and_then(|id| id.split_once("://").map(|(_, id)| id.to_string()))
        .unwrap_or_else(|| panic!("container {name} of the pod has no id yet"));
    let root = Path::new("/sys/fs/cgroup/memory").join(&node.cgroup_root);
    let dir = find_dir(&root, &id)
        .unwrap_or_else(|| panic!("no cgroup named {id} under {}", root.display()));
    let procs = std::fs::read_to_string(dir.join("cgroup.procs")).expect("cgroup.procs");
    // The container's first process is its entrypoint (no shell, no init in the image).
    let pid = procs
        .lines()
        .filter_map(|l| l.trim().parse::<u32>().ok())
        .min()
        .unwrap_or_else(|| panic!("no process in {}", dir.display()));
    Container {
        pid,
        memory_cgroup: dir,
    }
}

fn find_dir(root: &Path, name: &str) -> Option<PathBuf> {
    for entry in std::fs::read_dir(root).ok()?.flatten() {
        let path = entry.path();
        if !path.is_dir() {
            continue;
        }
        if path.file_name().and_then(|n| n.to_str()) == Some(name) {
            return Some(path);
        }
        if let Some(found) = find_dir(&path, name) {
            return Some(found);
        }
    }
    None
}

impl Container {
    /// `/proc/PID/status` as key → value.
    pub fn status(&self) -> BTreeMap<String, String> {
        std::fs::read_to_string(format!("/proc/{}/status", self.pid))
            .expect("the container's /proc status")
            .lines()
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.to_string(), v.trim().to_string()))
            .collect()
    }

    /// The options of the container's root mount, from its own mount namespace.
    pub fn root_mount(&self) -> (Vec<String>, Vec<String>) {
        let info = std::fs::read_to_string(format!("/proc/{}/mountinfo", self.pid))
            .expect("the container's mountinfo");
        // mountinfo: id parent major:minor root mountpoint options ... - fstype source superoptions
        let line = info
            .lines()
            .find(|l| l.split_whitespace().nth(4) == Some("/"))
            .expect("a root mount");
        let fields: Vec<&str> = line.split_whitespace().collect();
        let options = fields[5].split(',').map(str::to_string).collect();
        let dash = fields.iter().position(|f| *f == "-").expect("separator");
        let super_options = fields
            .get(dash + 3)
            .map(|s| s.split(',').map(str::to_string).collect())
            .unwrap_or_default();
        (options, super_options)
    }

    /// Where the container's mounts are, as it sees them.
    pub fn mount_points(&self) -> Vec<String> {
        std::fs::read_to_string(format!("/proc/{}/mountinfo", self.pid))
            .expect("the container's mountinfo")
            .lines()
            .filter_map(|l| l.split_whitespace().nth(4).map(str::to_string))
            .collect()
    }

    /// A value of the container's memory cgroup (v1), in bytes.
    pub fn memory(&self, file: &str) -> u64 {
        read_number(&self.memory_cgroup.join(file))
    }

    /// The container's CPU time and throttling, from its cpu and cpuacct cgroups (v1).
    pub fn cpu(&self) -> Cpu {
        let relative = self
            .memory_cgroup
            .strip_prefix("/sys/fs/cgroup/memory")
            .expect("under the memory hierarchy");
        let stat: BTreeMap<String, u64> = std::fs::read_to_string(
            Path::new("/sys/fs/cgroup/cpu")
                .join(relative)
                .join("cpu.stat"),
        )
        .expect("cpu.stat")
        .lines()
        .filter_map(|l| l.split_once(' '))
        .filter_map(|(k, v)| Some((k.to_string(), v.trim().parse().ok()?)))
        .collect();
        Cpu {
            used: Duration::from_nanos(read_number(
                &Path::new("/sys/fs/cgroup/cpuacct")
                    .join(relative)
                    .join("cpuacct.usage"),
            )),
            periods: stat.get("nr_periods").copied().unwrap_or(0),
            throttled_periods: stat.get("nr_throttled").copied().unwrap_or(0),
            throttled: Duration::from_nanos(stat.get("throttled_time").copied().unwrap_or(0)),
        }
    }

    /// `kill -SIG PID` (from the node: the test runs as root there).
    pub fn signal(&self, signal: &str) {
        must(Command::new("kill").args([&format!("-{signal}"), &self.pid.to_string()]));
    }
}

/// Every path under `root` (relative, without a leading slash) with its size (0 for directories).
pub fn walk(root: &Path) -> Vec<(String, u64)> {
    let mut found = vec![];
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let path = entry.path();
            let metadata = entry.metadata().expect("metadata");
            let relative = path
                .strip_prefix(root)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            if metadata.is_dir() {
                stack.push(path);
                found.push((relative, 0));
            } else {
                found.push((relative, metadata.len()));
            }
        }
    }
    found
}

/// A container's CPU use.
#[derive(Debug)]
pub struct Cpu {
    pub used: Duration,
    pub periods: u64,
    pub throttled_periods: u64,
    pub throttled: Duration,
}

fn read_number(path: &Path) -> u64 {
    std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
        .trim()
        .parse()
        .unwrap_or_else(|e| panic!("{} is not a number: {e}", path.display()))
}

/// Runs `busybox sh -c SCRIPT` once in a pod of the world's namespace (restricted: user 65532,
/// no capabilities) and returns what it printed.
pub fn run_in_pod(world: &World, node: &Node, script: &str) -> String {
    let name = unique("probe");
    let overrides = serde_json::json!({
        "spec": {
            "securityContext": {"runAsNonRoot": true, "runAsUser": 65532, "runAsGroup": 65532,
                                "seccompProfile": {"type": "RuntimeDefault"}},
            "containers": [{
                "name": name, "image": node.busybox(), "command": ["sh", "-c", script],
                "securityContext": {"allowPrivilegeEscalation": false, "readOnlyRootFilesystem": true,
                                    "capabilities": {"drop": ["ALL"]}}
            }]
        }
    });
    must(world.kubectl_ns().args([
        "run",
        &name,
        "--restart=Never",
        &format!("--image={}", node.busybox()),
        &format!("--overrides={overrides}"),
    ]));
    let waited = exec(world.kubectl_ns().args([
        "wait",
        "--for=jsonpath={.status.phase}=Succeeded",
        &format!("pod/{name}"),
        "--timeout=90s",
    ]));
    let logs = exec(world.kubectl_ns().args(["logs", &name]));
    assert!(
        waited.ok,
        "the probe pod did not succeed: {}{}\n--- its log:\n{}{}",
        waited.stdout, waited.stderr, logs.stdout, logs.stderr
    );
    logs.stdout
}

/// The pods' JSON: `kubectl get pods -o json` items with the release's label.
pub fn pod_json(world: &World, pod: &str) -> Value {
    serde_json::from_str(&must(
        world.kubectl_ns().args(["get", "pod", pod, "-o", "json"]),
    ))
    .expect("kubectl printed JSON")
}
