//! Packaging part of the harness: the Helm chart and kustomize bases with the real `helm` and
//! `kubectl` binaries, optionally against a real API server. Tools: `hack/tools.sh`. Cluster:
//! `KUBECONFIG` (`hack/cluster.sh`).
//!
//! For an end-to-end test that runs the operator under exactly the chart's RBAC:
//!
//! ```ignore
//! let kc = support::tools::kubeconfig();
//! let ns = support::tools::unique("e2e");
//! support::tools::create_namespace(&kc, &ns);
//! let release = support::tools::unique("rel");
//! let docs = support::tools::helm_template(&release, &ns, &["--set", "crds.install=false"]);
//! support::tools::apply_docs(&kc, &docs, &[]);          // SA, (Cluster)Role(Binding)s, ...
//! let sa = support::tools::service_account_name(&docs);
//! let as_sa = support::tools::impersonating_kubeconfig(&kc, &ns, &sa, &tmpdir.join("sa.kubeconfig"));
//! // then start the operator binary with KUBECONFIG=as_sa (kube-rs honours the user entry's
//! // `as:` field as an Impersonate-User header): every request it makes is authorised as the
//! // chart's ServiceAccount, so a missing RBAC rule shows up as a 403 in the test.
//! ```

pub use super::{create_namespace, kubeconfig, kubectl, repo, unique};

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_yaml::Value;

pub const CRD_NAME: &str = "oidcssoconfigs.oidc.infisical-operator.io";
/// The second kind's CRD.
pub const SAML_CRD_NAME: &str = "samlssoconfigs.oidc.infisical-operator.io";
pub const LDAP_CRD_NAME: &str = "ldapssoconfigs.oidc.infisical-operator.io";

/// The CRD named `crd_name` among `docs` (the chart and the bases carry one per kind).
pub fn crd_named<'a>(docs: &'a [Value], crd_name: &str) -> &'a Value {
    let found: Vec<&Value> = of_kind(docs, "CustomResourceDefinition")
        .into_iter()
        .filter(|d| d["metadata"]["name"].as_str() == Some(crd_name))
        .collect();
    assert_eq!(found.len(), 1, "expected exactly one CRD {crd_name}");
    found[0]
}

pub fn chart_dir() -> PathBuf {
    repo().join("charts/infisical-oidc-operator")
}

/// Runs a command and returns its stdout; panics with the command line and its stderr when it
/// fails, or with a pointer to `hack/tools.sh` when the program is not installed.
pub fn run(cmd: &mut Command) -> String {
    run_with_stdin(cmd, None)
}

pub fn run_with_stdin(cmd: &mut Command, stdin: Option<&str>) -> String {
    match try_run(cmd, stdin) {
        Ok(out) => out,
        Err(err) => panic!("{err}"),
    }
}

/// Like [`run`], but returns the failure (command line and stderr) instead of panicking.
pub fn try_run(cmd: &mut Command, stdin: Option<&str>) -> Result<String, String> {
    let line = format!("{cmd:?}");
    cmd.stdin(if stdin.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    })
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => panic!(
            "{:?} is not installed: run hack/tools.sh",
            cmd.get_program()
        ),
        Err(e) => panic!("cannot run {line}: {e}"),
    };
    if let Some(input) = stdin {
        let mut pipe = child.stdin.take().unwrap();
        let input = input.to_owned();
        // Write from a thread so a large input cannot deadlock against a full stdout pipe.
        std::thread::spawn(move || {
            let _ = pipe.write_all(input.as_bytes());
        });
    }
    let out = child.wait_with_output().unwrap();
    if out.status.success() {
        Ok(String::from_utf8(out.stdout).expect("utf-8 output"))
    } else {
        Err(format!(
            "{line} failed ({}):\n{}{}",
            out.status,
            String::from_utf8_lossy(&out.stderr),
            String::from_utf8_lossy(&out.stdout)
        ))
    }
}

/// Parses multi-document YAML, skipping empty documents.
pub fn parse_docs(text: &str) -> Vec<Value> {
    serde_yaml::Deserializer::from_str(text)
        .map(|d| <Value as serde::Deserialize>::deserialize(d).expect("valid YAML document"))
        .filter(|v| !v.is_null())
        .collect()
}

/// Serialises documents back into one multi-document YAML stream.
pub fn to_multidoc(docs: &[Value]) -> String {
    docs.iter()
        .map(|d| serde_yaml::to_string(d).unwrap())
        .collect::<Vec<_>>()
        .join("---\n")
}

/// `helm template RELEASE charts/infisical-oidc-operator -n NAMESPACE ARGS...`, parsed.
pub fn helm_template(release: &str, namespace: &str, args: &[&str]) -> Vec<Value> {
    parse_docs(&helm_template_text(release, namespace, args))
}

pub fn helm_template_text(release: &str, namespace: &str, args: &[&str]) -> String {
    run(Command::new("helm")
        .args(["template", release])
        .arg(chart_dir())
        .args(["--namespace", namespace])
        .args(args))
}

/// `helm ARGS... --kubeconfig KUBECONFIG` against the cluster, with Helm's schema validation on
/// (the default: Helm checks every rendered object against the API server's OpenAPI schema).
pub fn helm(kubeconfig: &Path, args: &[&str]) -> String {
    run(Command::new("helm")
        .args(args)
        .arg("--kubeconfig")
        .arg(kubeconfig))
}

/// The objects a release installed (`helm get manifest`), parsed.
pub fn release_manifest(kubeconfig: &Path, release: &str, namespace: &str) -> Vec<Value> {
    parse_docs(&helm(
        kubeconfig,
        &["get", "manifest", release, "--namespace", namespace],
    ))
}

/// `kubectl kustomize DIR` (relative to the repository root), parsed.
pub fn kustomize(dir: &str) -> Vec<Value> {
    parse_docs(&run(Command::new("kubectl")
        .arg("kustomize")
        .arg(repo().join(dir))))
}

pub fn kind(doc: &Value) -> &str {
    doc["kind"].as_str().unwrap_or("")
}

pub fn name(doc: &Value) -> &str {
    doc["metadata"]["name"].as_str().unwrap_or("")
}

pub fn namespace(doc: &Value) -> Option<&str> {
    doc["metadata"]["namespace"].as_str()
}

pub fn of_kind<'a>(docs: &'a [Value], k: &str) -> Vec<&'a Value> {
    docs.iter().filter(|d| kind(d) == k).collect()
}

/// The one object of a kind; panics when there are none or several.
pub fn one<'a>(docs: &'a [Value], k: &str) -> &'a Value {
    let found = of_kind(docs, k);
    assert_eq!(
        found.len(),
        1,
        "expected exactly one {k}, found {}",
        found.len()
    );
    found[0]
}

/// The ServiceAccount the rendered Deployment runs as.
pub fn service_account_name(docs: &[Value]) -> String {
    one(docs, "Deployment")["spec"]["template"]["spec"]["serviceAccountName"]
        .as_str()
        .expect("serviceAccountName")
        .to_string()
}

/// Replaces every string scalar (not keys) equal to a `from` with its `to`, in place.
pub fn rename_exact(v: &mut Value, renames: &[(&str, &str)]) {
    match v {
        Value::String(s) => {
            if let Some((_, to)) = renames.iter().find(|(from, _)| from == s) {
                *s = (*to).to_string();
            }
        }
        Value::Sequence(items) => items.iter_mut().for_each(|i| rename_exact(i, renames)),
        Value::Mapping(m) => m.values_mut().for_each(|i| rename_exact(i, renames)),
        Value::Tagged(t) => rename_exact(&mut t.value, renames),
        _ => {}
    }
}

// ---- cluster -----------------------------------------------------------------------------

fn transient(err: &str) -> bool {
    err.contains("AlreadyExists")
        || err.contains("already exists")
        || err.contains("the object has been modified")
        || err.contains("Operation cannot be fulfilled")
}

/// `kubectl apply [EXTRA...] -f -` with the documents, validated by the API server's schema as
/// on any user's cluster, retrying the races parallel tests can hit on shared cluster-scoped
/// objects (the CRD). Returns stdout.
pub fn apply_docs(kubeconfig: &Path, docs: &[Value], extra: &[&str]) -> String {
    apply_text(kubeconfig, &to_multidoc(docs), extra)
}

pub fn apply_text(kubeconfig: &Path, yaml: &str, extra: &[&str]) -> String {
    let mut last = String::new();
    for attempt in 0..5 {
        match try_run(
            kubectl(kubeconfig)
                .args(["apply", "--validate=strict"])
                .args(extra)
                .args(["-f", "-"]),
            Some(yaml),
        ) {
            Ok(out) => return out,
            Err(e) if transient(&e) => {
                last = e;
                std::thread::sleep(Duration::from_millis(200 * (attempt + 1)));
            }
            Err(e) => panic!("{e}"),
        }
    }
    panic!("still failing after retries: {last}")
}

/// Server-side dry run, then the real apply.
pub fn dry_run_then_apply(kubeconfig: &Path, docs: &[Value]) {
    apply_docs(kubeconfig, docs, &["--dry-run=server"]);
    apply_docs(kubeconfig, docs, &[]);
}

/// Makes sure the CRDs from `crds/` (one per kind) are installed and Established.
pub fn ensure_crd(kubeconfig: &Path) {
    for file in [
        "crds/oidcssoconfigs.yaml",
        "crds/samlssoconfigs.yaml",
        "crds/ldapssoconfigs.yaml",
    ] {
        let text = std::fs::read_to_string(repo().join(file)).unwrap();
        apply_text(kubeconfig, &text, &[]);
    }
    wait_crd_established(kubeconfig);
}

pub fn wait_crd_established(kubeconfig: &Path) {
    run(kubectl(kubeconfig).args([
        "wait",
        "--for=condition=Established",
        &format!("crd/{CRD_NAME}"),
        &format!("crd/{SAML_CRD_NAME}"),
        &format!("crd/{LDAP_CRD_NAME}"),
        "--timeout=60s",
    ]));
}

/// Writes a copy of `kubeconfig` whose current user impersonates the ServiceAccount
/// `namespace/name` (`as: system:serviceaccount:NAMESPACE:NAME` in the user entry), so every
/// request made with it is authorised exactly as the ServiceAccount's (the API server adds the
/// `system:serviceaccounts[:NAMESPACE]` and `system:authenticated` groups). The original user
/// must be allowed to impersonate (the test cluster's admin is).
pub fn impersonating_kubeconfig(
    kubeconfig: &Path,
    namespace: &str,
    name: &str,
    out: &Path,
) -> PathBuf {
    let text = std::fs::read_to_string(kubeconfig)
        .unwrap_or_else(|e| panic!("read {}: {e}", kubeconfig.display()));
    let mut cfg: Value = serde_yaml::from_str(&text).unwrap();
    let current = cfg["current-context"]
        .as_str()
        .expect("kubeconfig has a current-context")
        .to_string();
    let user = cfg["contexts"]
        .as_sequence()
        .and_then(|cs| cs.iter().find(|c| c["name"].as_str() == Some(&current)))
        .and_then(|c| c["context"]["user"].as_str())
        .expect("current context names a user")
        .to_string();
    let entry = cfg["users"]
        .as_sequence_mut()
        .and_then(|us| us.iter_mut().find(|u| u["name"].as_str() == Some(&user)))
        .expect("the current user has an entry in users");
    let user_map = entry["user"].as_mapping_mut().expect("user entry is a map");
    user_map.insert(
        Value::from("as"),
        Value::from(format!("system:serviceaccount:{namespace}:{name}")),
    );
    std::fs::write(out, serde_yaml::to_string(&cfg).unwrap()).unwrap();
    out.to_path_buf()
}

/// The objects kubectl printed with `-o json`: one object, a `List`, or (for `create` of a List)
/// several objects one after another.
pub fn json_objects(out: &str) -> Vec<serde_json::Value> {
    let mut objs = vec![];
    for v in serde_json::Deserializer::from_str(out).into_iter::<serde_json::Value>() {
        let v = v.expect("kubectl printed JSON");
        if v["kind"] == "List" {
            objs.extend(v["items"].as_array().cloned().unwrap_or_default());
        } else {
            objs.push(v);
        }
    }
    objs
}

/// One access question: (verb, API group, resource, subresource, namespace; "" for none).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Access {
    pub verb: String,
    pub group: String,
    pub resource: String,
    pub subresource: String,
    pub namespace: String,
}

impl Access {
    pub fn new(verb: &str, group: &str, resource: &str, subresource: &str, ns: &str) -> Self {
        Access {
            verb: verb.into(),
            group: group.into(),
            resource: resource.into(),
            subresource: subresource.into(),
            namespace: ns.into(),
        }
    }
}

/// Asks the API server, with the given kubeconfig's identity, whether each access is allowed
/// (one SelfSubjectAccessReview per question, created in a single kubectl call).
pub fn can_i(kubeconfig: &Path, questions: &[Access]) -> Vec<bool> {
    let items: Vec<serde_json::Value> = questions
        .iter()
        .map(|q| {
            serde_json::json!({
                "apiVersion": "authorization.k8s.io/v1",
                "kind": "SelfSubjectAccessReview",
                "spec": {"resourceAttributes": {
                    "verb": q.verb, "group": q.group, "resource": q.resource,
                    "subresource": q.subresource, "namespace": q.namespace,
                }},
            })
        })
        .collect();
    let list = serde_json::json!({"apiVersion": "v1", "kind": "List", "items": items});
    let out = run_with_stdin(
        kubectl(kubeconfig).args(["create", "-o", "json", "-f", "-"]),
        Some(&list.to_string()),
    );
    let results = json_objects(&out);
    assert_eq!(results.len(), questions.len());
    results
        .iter()
        .map(|r| r["status"]["allowed"].as_bool().unwrap_or(false))
        .collect()
}
