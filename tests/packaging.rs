//! Packaging: the Helm chart (`charts/infisical-oidc-operator`), the kustomize bases
//! (`deploy/`) and the examples, rendered with the real `helm` and `kubectl` and checked
//! object by object; then applied to a real API server (`KUBECONFIG`).
//!
//! Tools: `hack/tools.sh`. Cluster: `hack/start.sh` (a bare kube-apiserver 1.20: objects are
//! stored and authorised, but no Pod ever runs, which is all these tests need).

mod support;

use std::collections::BTreeSet;

use serde_yaml::Value;
use support::tools::*;

const GROUP: &str = "oidc.infisical-operator.io";

/// The operator's permissions, exactly: (API group, resource, verb).
fn expected_operator_rules() -> BTreeSet<(String, String, String)> {
    let table: &[(&str, &str, &[&str])] = &[
        (
            GROUP,
            "oidcssoconfigs",
            &["get", "list", "watch", "patch", "update"],
        ),
        (GROUP, "oidcssoconfigs/status", &["get", "patch", "update"]),
        (GROUP, "oidcssoconfigs/finalizers", &["update"]),
        (
            GROUP,
            "samlssoconfigs",
            &["get", "list", "watch", "patch", "update"],
        ),
        (GROUP, "samlssoconfigs/status", &["get", "patch", "update"]),
        (GROUP, "samlssoconfigs/finalizers", &["update"]),
        (
            GROUP,
            "ldapssoconfigs",
            &["get", "list", "watch", "patch", "update"],
        ),
        (GROUP, "ldapssoconfigs/status", &["get", "patch", "update"]),
        (GROUP, "ldapssoconfigs/finalizers", &["update"]),
        ("", "secrets", &["get", "list", "watch"]),
        // A SamlSsoConfig's certRef or an LdapSsoConfig's caCertificateRef may name a ConfigMap:
        // read, never watched.
        ("", "configmaps", &["get"]),
        ("events.k8s.io", "events", &["create", "patch"]),
        // list: to find whether a create's Created Event was already recorded before a crash.
        ("", "events", &["create", "patch", "list"]),
        // Kubernetes Auth: the opt-in annotation, and a token for the opted-in account.
        ("", "serviceaccounts", &["get"]),
        ("", "serviceaccounts/token", &["create"]),
    ];
    table
        .iter()
        .flat_map(|(g, r, verbs)| {
            verbs
                .iter()
                .map(move |v| (g.to_string(), r.to_string(), v.to_string()))
        })
        .collect()
}

fn strings(v: &Value) -> Vec<String> {
    v.as_sequence()
        .map(|s| {
            s.iter()
                .map(|i| i.as_str().expect("a string").to_string())
                .collect()
        })
        .unwrap_or_default()
}

/// A (Cluster)Role's rules as (group, resource, verb) triples; no wildcards, names or URLs.
fn rule_triples(role: &Value) -> BTreeSet<(String, String, String)> {
    let mut out = BTreeSet::new();
    for rule in role["rules"].as_sequence().expect("rules") {
        assert!(
            rule.get("resourceNames").is_none() && rule.get("nonResourceURLs").is_none(),
            "unexpected rule shape in {}: {rule:?}",
            name(role)
        );
        for g in strings(&rule["apiGroups"]) {
            for r in strings(&rule["resources"]) {
                for v in strings(&rule["verbs"]) {
                    assert!(
                        g != "*" && r != "*" && v != "*",
                        "wildcard in {}",
                        name(role)
                    );
                    out.insert((g.clone(), r.clone(), v));
                }
            }
        }
    }
    out
}

fn container(docs: &[Value]) -> &Value {
    let containers = &one(docs, "Deployment")["spec"]["template"]["spec"]["containers"];
    assert_eq!(containers.as_sequence().unwrap().len(), 1);
    &containers[0]
}

fn args(docs: &[Value]) -> Vec<String> {
    strings(&container(docs)["args"])
}

fn kinds(docs: &[Value]) -> BTreeSet<String> {
    docs.iter().map(|d| kind(d).to_string()).collect()
}

fn helm_fails(args: &[&str]) -> String {
    let mut cmd = std::process::Command::new("helm");
    cmd.args(["template", "t"]).arg(chart_dir()).args(args);
    match try_run(&mut cmd, None) {
        Ok(_) => panic!("helm template {args:?} should have failed"),
        Err(e) => e,
    }
}

// ---- offline: helm lint / helm template / kustomize ------------------------------------------

#[test]
fn helm_lint_passes_with_default_and_namespaced_values() {
    let chart = chart_dir();
    let examples = repo().join("examples/namespace-scoped/values.yaml");
    let cases: Vec<Vec<String>> = vec![
        vec![],
        vec!["--set".into(), "rbac.scope=namespaced".into()],
        vec!["--set".into(), "watchNamespaces={team-a,team-b}".into()],
        vec!["-f".into(), examples.display().to_string()],
        vec![
            "--set".into(),
            "serviceMonitor.enabled=true,podDisruptionBudget.enabled=true,networkPolicy.enabled=true"
                .into(),
            "--set".into(),
            "networkPolicy.apiServer.cidrs={10.0.0.1/32},networkPolicy.infisical.cidrs={0.0.0.0/0}"
                .into(),
        ],
    ];
    for extra in cases {
        let out = run(std::process::Command::new("helm")
            .args(["lint", "--strict"])
            .arg(&chart)
            .args(&extra));
        assert!(out.contains("0 chart(s) failed"), "{extra:?}: {out}");
    }
}

#[test]
fn values_schema_rejects_bad_values() {
    for (set, why) in [
        ("replicas=-1", "replicas"),
        ("leaderElection.leaseDuration=soon", "leaseDuration"),
        (
            "topologySpread.whenUnsatisfiable=Never",
            "whenUnsatisfiable",
        ),
        ("operator.logFormat=xml", "logFormat"),
        ("rbac.scope=everywhere", "scope"),
        ("operator.concurrency=0", "concurrency"),
        (
            "operator.defaultResyncInterval=soon",
            "defaultResyncInterval",
        ),
        ("noSuchValue=1", "noSuchValue"),
        ("image.pullPolicy=Sometimes", "pullPolicy"),
    ] {
        let err = helm_fails(&["--set", set]);
        assert!(err.contains(why), "{set}: {err}");
    }
}

#[test]
fn cluster_mode_grants_exactly_the_operator_rules_cluster_wide() {
    let docs = helm_template("rel", "ops", &[]);
    assert_eq!(
        kinds(&docs),
        [
            "ClusterRole",
            "ClusterRoleBinding",
            "CustomResourceDefinition",
            "Deployment",
            "Lease",
            "PodDisruptionBudget",
            "Role",
            "RoleBinding",
            "Service",
            "ServiceAccount"
        ]
        .iter()
        .map(|s| s.to_string())
        .collect()
    );
    // The only namespaced grant is leader election's, on Leases in the release namespace.
    for object in of_kind(&docs, "Role")
        .into_iter()
        .chain(of_kind(&docs, "RoleBinding"))
    {
        assert_eq!(name(object), "rel-infisical-oidc-operator-leader-election");
        assert_eq!(object["metadata"]["namespace"], "ops");
    }

    let operator_role = of_kind(&docs, "ClusterRole")
        .into_iter()
        .find(|r| name(r) == "rel-infisical-oidc-operator")
        .expect("the operator's ClusterRole");
    assert_eq!(rule_triples(operator_role), expected_operator_rules());

    let binding = one(&docs, "ClusterRoleBinding");
    assert_eq!(binding["roleRef"]["kind"], "ClusterRole");
    assert_eq!(binding["roleRef"]["name"], "rel-infisical-oidc-operator");
    let subjects = binding["subjects"].as_sequence().unwrap();
    assert_eq!(subjects.len(), 1);
    assert_eq!(subjects[0]["kind"], "ServiceAccount");
    assert_eq!(subjects[0]["name"], service_account_name(&docs).as_str());
    assert_eq!(subjects[0]["namespace"], "ops");
    assert_eq!(
        name(one(&docs, "ServiceAccount")),
        service_account_name(&docs)
    );
    assert!(
        !args(&docs)
            .iter()
            .any(|a| a.starts_with("--watch-namespaces")),
        "cluster mode watches all namespaces"
    );
}

#[test]
fn cluster_mode_aggregates_read_and_write_access_into_the_default_user_roles() {
    let docs = helm_template("rel", "ops", &[]);
    let roles = of_kind(&docs, "ClusterRole");
    let by_name = |n: &str| {
        *roles
            .iter()
            .find(|r| name(r) == n)
            .unwrap_or_else(|| panic!("{n}"))
    };
    let view = by_name("rel-infisical-oidc-operator-view");
    let edit = by_name("rel-infisical-oidc-operator-edit");
    let labels = |r: &Value, k: &str| r["metadata"]["labels"][k].as_str() == Some("true");
    assert!(labels(view, "rbac.authorization.k8s.io/aggregate-to-view"));
    assert!(labels(edit, "rbac.authorization.k8s.io/aggregate-to-edit"));
    assert!(labels(edit, "rbac.authorization.k8s.io/aggregate-to-admin"));
    assert!(!labels(edit, "rbac.authorization.k8s.io/aggregate-to-view"));
    for (_, r, v) in rule_triples(view) {
        assert!(
            ["get", "list", "watch"].contains(&v.as_str()),
            "view grants {v} on {r}"
        );
    }
    assert!(
        rule_triples(edit).iter().all(|(_, r, _)| [
            "oidcssoconfigs",
            "samlssoconfigs",
            "ldapssoconfigs"
        ]
        .contains(&r.as_str())),
        "edit must not grant status or finalizers writes"
    );

    let docs = helm_template(
        "rel",
        "ops",
        &["--set", "rbac.aggregateToDefaultRoles=false"],
    );
    assert_eq!(of_kind(&docs, "ClusterRole").len(), 1, "opt-out");
}

#[test]
fn namespaced_mode_has_a_role_per_watched_namespace_and_nothing_cluster_wide_but_the_crd() {
    for (set, watched) in [
        (
            vec!["--set", "watchNamespaces={team-a,team-b}"],
            vec!["team-a", "team-b"],
        ),
        (
            vec![
                "--set",
                "rbac.scope=namespaced",
                "--set",
                "watchNamespaces={team-a}",
            ],
            vec!["team-a"],
        ),
        (vec!["--set", "rbac.scope=namespaced"], vec!["ops"]),
    ] {
        let docs = helm_template("rel", "ops", &set);
        for d in &docs {
            assert!(
                kind(d) == "CustomResourceDefinition" || namespace(d).is_some(),
                "{set:?}: {} {} is cluster-scoped",
                kind(d),
                name(d)
            );
        }
        assert!(of_kind(&docs, "ClusterRole").is_empty(), "{set:?}");
        assert!(of_kind(&docs, "ClusterRoleBinding").is_empty(), "{set:?}");

        // Leader election's Role is checked on its own (two_replicas_by_default_...).
        let operators = |k: &str| -> Vec<&Value> {
            of_kind(&docs, k)
                .into_iter()
                .filter(|r| !name(r).ends_with("-leader-election"))
                .collect()
        };
        let roles = operators("Role");
        let bindings = operators("RoleBinding");
        let ns_of = |v: &[&Value]| -> Vec<String> {
            let mut n: Vec<String> = v
                .iter()
                .map(|d| namespace(d).unwrap().to_string())
                .collect();
            n.sort();
            n
        };
        assert_eq!(ns_of(&roles), watched, "{set:?}");
        assert_eq!(ns_of(&bindings), watched, "{set:?}");
        for role in &roles {
            assert_eq!(rule_triples(role), expected_operator_rules());
        }
        let sa = service_account_name(&docs);
        for b in &bindings {
            assert_eq!(b["roleRef"]["kind"], "Role");
            assert_eq!(b["roleRef"]["name"], name(roles[0]));
            assert_eq!(b["subjects"][0]["name"], sa.as_str());
            assert_eq!(b["subjects"][0]["namespace"], "ops");
        }
        let flag = format!("--watch-namespaces={}", watched.join(","));
        assert!(args(&docs).contains(&flag), "{set:?}: {:?}", args(&docs));
    }
}

#[test]
fn the_pod_is_hardened_and_probed() {
    let docs = helm_template("rel", "ops", &[]);
    let deploy = one(&docs, "Deployment");
    assert_eq!(deploy["spec"]["replicas"], 2);
    assert_eq!(deploy["spec"]["strategy"]["type"], "RollingUpdate");
    let pod = &deploy["spec"]["template"]["spec"];
    assert_eq!(pod["securityContext"]["runAsNonRoot"], true);
    assert_eq!(pod["securityContext"]["runAsUser"], 65532);
    assert_eq!(
        pod["securityContext"]["seccompProfile"]["type"],
        "RuntimeDefault"
    );

    let c = container(&docs);
    let sc = &c["securityContext"];
    assert_eq!(sc["runAsNonRoot"], true);
    assert_eq!(sc["runAsUser"], 65532);
    assert_eq!(sc["readOnlyRootFilesystem"], true);
    assert_eq!(sc["allowPrivilegeEscalation"], false);
    assert_eq!(strings(&sc["capabilities"]["drop"]), vec!["ALL"]);
    assert_eq!(sc["seccompProfile"]["type"], "RuntimeDefault");
    assert!(c["resources"]["requests"]["memory"].is_string());
    assert!(c["resources"]["limits"]["memory"].is_string());

    assert_eq!(c["ports"][0]["name"], "http");
    assert_eq!(c["ports"][0]["containerPort"], 8080);
    assert_eq!(c["livenessProbe"]["httpGet"]["path"], "/healthz");
    assert_eq!(c["livenessProbe"]["httpGet"]["port"], "http");
    assert_eq!(c["readinessProbe"]["httpGet"]["path"], "/readyz");
    assert_eq!(c["readinessProbe"]["httpGet"]["port"], "http");
    assert_eq!(
        c["image"],
        "ghcr.io/infisical-oidc-operator/infisical-oidc-operator:0.1.0"
    );

    let svc = one(&docs, "Service");
    assert_eq!(svc["spec"]["ports"][0]["port"], 8080);
    assert_eq!(svc["spec"]["ports"][0]["targetPort"], "http");
    assert_eq!(
        svc["spec"]["selector"],
        deploy["spec"]["selector"]["matchLabels"]
    );
}

#[test]
fn operator_flags_come_from_values() {
    let defaults = args(&helm_template("rel", "ops", &[]));
    assert_eq!(
        defaults,
        [
            "--allowed-hosts=app.infisical.com,us.infisical.com,eu.infisical.com",
            "--concurrency=8",
            "--default-resync-interval=10m",
            "--log-format=json",
            "--log-level=info",
            "--http-address=0.0.0.0:8080",
            "--request-timeout=30s",
            "--max-reads-per-minute=150",
            "--max-writes-per-minute=60",
            "--leader-elect",
            "--leader-elect-lease-name=rel-infisical-oidc-operator",
            "--leader-elect-lease-duration=60s",
            "--leader-elect-renew-deadline=15s",
            "--leader-elect-retry-period=2s",
        ]
    );
    let docs = helm_template(
        "rel",
        "ops",
        &[
            "--set",
            "operator.allowedHosts={infisical.corp.example,*.example.com}",
            "--set",
            "operator.concurrency=2,operator.logFormat=text,operator.logLevel=debug",
            "--set",
            "operator.defaultResyncInterval=1h,operator.requestTimeout=5s",
            "--set",
            "operator.maxReadsPerMinute=10,operator.maxWritesPerMinute=5",
            "--set",
            "operator.extraArgs={--something=1}",
            "--set",
            "image.tag=v9,image.pullPolicy=Always,imagePullSecrets[0].name=regcred",
            "--set",
            "extraEnv[0].name=RUST_BACKTRACE,extraEnv[0].value=1",
            "--set",
            "nodeSelector.pool=ops,podAnnotations.a=b",
            "--set",
            "leaderElection.leaseDuration=20s,leaderElection.renewDeadline=8s,leaderElection.retryPeriod=1s",
        ],
    );
    let a = args(&docs);
    for want in [
        "--leader-elect-lease-duration=20s",
        "--leader-elect-renew-deadline=8s",
        "--leader-elect-retry-period=1s",
        "--allowed-hosts=infisical.corp.example,*.example.com",
        "--concurrency=2",
        "--log-format=text",
        "--log-level=debug",
        "--default-resync-interval=1h",
        "--request-timeout=5s",
        "--max-reads-per-minute=10",
        "--max-writes-per-minute=5",
        "--something=1",
    ] {
        assert!(a.contains(&want.to_string()), "{want} not in {a:?}");
    }
    let c = container(&docs);
    assert!(c["image"].as_str().unwrap().ends_with(":v9"));
    assert_eq!(c["imagePullPolicy"], "Always");
    assert!(
        c["env"]
            .as_sequence()
            .unwrap()
            .iter()
            .any(|e| e["name"] == "RUST_BACKTRACE")
    );
    let pod = &one(&docs, "Deployment")["spec"]["template"];
    assert_eq!(pod["spec"]["imagePullSecrets"][0]["name"], "regcred");
    assert_eq!(pod["spec"]["nodeSelector"]["pool"], "ops");
    assert_eq!(pod["metadata"]["annotations"]["a"], "b");
}

#[test]
fn the_crd_is_templated_from_the_generated_file_with_install_and_keep_toggles() {
    let generated: Value = serde_yaml::from_str(
        &std::fs::read_to_string(repo().join("crds/oidcssoconfigs.yaml")).unwrap(),
    )
    .unwrap();
    let chart_copy: Value = serde_yaml::from_str(
        &std::fs::read_to_string(chart_dir().join("files/oidcssoconfigs.yaml")).unwrap(),
    )
    .unwrap();
    assert_eq!(
        generated, chart_copy,
        "charts/infisical-oidc-operator/files/oidcssoconfigs.yaml differs from crds/: run `cargo run --bin crdgen`"
    );

    let docs = helm_template("rel", "ops", &[]);
    assert_eq!(
        of_kind(&docs, "CustomResourceDefinition").len(),
        3,
        "one per kind"
    );
    let crd = crd_named(&docs, CRD_NAME);
    assert_eq!(
        crd["spec"], generated["spec"],
        "the template must not alter the CRD"
    );
    let saml: Value = serde_yaml::from_str(
        &std::fs::read_to_string(repo().join("crds/samlssoconfigs.yaml")).unwrap(),
    )
    .unwrap();
    assert_eq!(
        crd_named(&docs, SAML_CRD_NAME)["spec"],
        saml["spec"],
        "the template must not alter the SAML CRD"
    );
    let ldap: Value = serde_yaml::from_str(
        &std::fs::read_to_string(repo().join("crds/ldapssoconfigs.yaml")).unwrap(),
    )
    .unwrap();
    assert_eq!(
        crd_named(&docs, LDAP_CRD_NAME)["spec"],
        ldap["spec"],
        "the template must not alter the LDAP CRD"
    );
    assert_eq!(
        crd["metadata"]["annotations"]["helm.sh/resource-policy"],
        "keep"
    );

    let docs = helm_template("rel", "ops", &["--set", "crds.keep=false"]);
    let crd = crd_named(&docs, CRD_NAME);
    assert!(crd["metadata"]["annotations"]["helm.sh/resource-policy"].is_null());

    let docs = helm_template("rel", "ops", &["--set", "crds.install=false"]);
    assert!(of_kind(&docs, "CustomResourceDefinition").is_empty());
}

#[test]
fn two_replicas_by_default_elect_a_leader_with_a_budget_spreading_and_a_lease_role() {
    let docs = helm_template("rel", "ops", &[]);
    let deploy = one(&docs, "Deployment");
    assert_eq!(deploy["spec"]["replicas"], 2);
    assert_eq!(
        deploy["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"],
        0
    );
    let flags = args(&docs);
    for flag in [
        "--leader-elect",
        "--leader-elect-lease-name=rel-infisical-oidc-operator",
        "--leader-elect-lease-duration=60s",
        "--leader-elect-renew-deadline=15s",
        "--leader-elect-retry-period=2s",
    ] {
        assert!(flags.contains(&flag.to_string()), "{flag}: {flags:?}");
    }
    let pdb = one(&docs, "PodDisruptionBudget");
    assert_eq!(pdb["spec"]["minAvailable"], 1);
    assert!(pdb["spec"].get("maxUnavailable").is_none());
    let spread = &deploy["spec"]["template"]["spec"]["topologySpreadConstraints"][0];
    assert_eq!(spread["topologyKey"], "kubernetes.io/hostname");
    assert_eq!(spread["whenUnsatisfiable"], "ScheduleAnyway");
    assert_eq!(
        spread["labelSelector"]["matchLabels"],
        deploy["spec"]["selector"]["matchLabels"]
    );
    let role = of_kind(&docs, "Role")
        .into_iter()
        .find(|r| name(r).ends_with("-leader-election"))
        .expect("a Role for the Lease");
    assert_eq!(role["metadata"]["namespace"], "ops");
    assert_eq!(role["rules"][0]["apiGroups"][0], "coordination.k8s.io");
    assert_eq!(role["rules"][0]["resources"][0], "leases");
    // The Lease belongs to the release (deleted with it), without a holder and without any
    // spec field, so that upgrades never touch what the leader writes.
    let lease = one(&docs, "Lease");
    assert_eq!(
        (name(lease), namespace(lease)),
        ("rel-infisical-oidc-operator", Some("ops"))
    );
    assert!(lease.get("spec").is_none(), "{lease:?}");

    // One replica: no election, Recreate, and nothing that only makes sense for two.
    let docs = helm_template("rel", "ops", &["--set", "replicas=1"]);
    let deploy = one(&docs, "Deployment");
    assert_eq!(deploy["spec"]["strategy"]["type"], "Recreate");
    assert!(!args(&docs).iter().any(|a| a.starts_with("--leader-elect")));
    assert!(of_kind(&docs, "PodDisruptionBudget").is_empty());
    assert!(of_kind(&docs, "Role").is_empty());
    assert!(of_kind(&docs, "Lease").is_empty());
    assert!(deploy["spec"]["template"]["spec"]["topologySpreadConstraints"].is_null());
}

#[test]
fn opt_in_objects_render_only_when_enabled() {
    let docs = helm_template("rel", "ops", &[]);
    for k in ["ServiceMonitor", "NetworkPolicy"] {
        assert!(of_kind(&docs, k).is_empty(), "{k} is opt-in");
    }
    let docs = helm_template(
        "rel",
        "ops",
        &[
            "--set",
            "serviceMonitor.enabled=true,podDisruptionBudget.enabled=true,networkPolicy.enabled=true",
            "--set",
            "networkPolicy.apiServer.cidrs={10.0.0.1/32},networkPolicy.apiServer.port=443",
            "--set",
            "networkPolicy.infisical.cidrs={104.18.0.0/16}",
        ],
    );
    let sm = one(&docs, "ServiceMonitor");
    assert_eq!(sm["spec"]["endpoints"][0]["port"], "http");
    assert_eq!(sm["spec"]["endpoints"][0]["path"], "/metrics");
    one(&docs, "PodDisruptionBudget");

    let np = one(&docs, "NetworkPolicy");
    assert_eq!(
        strings(&np["spec"]["policyTypes"]),
        vec!["Ingress", "Egress"]
    );
    let egress = np["spec"]["egress"].as_sequence().unwrap();
    let port_of = |r: &Value| r["ports"][0]["port"].as_u64();
    assert!(egress.iter().any(|r| port_of(r) == Some(53)), "DNS");
    let api = egress
        .iter()
        .find(|r| r["to"][0]["ipBlock"]["cidr"] == "10.0.0.1/32")
        .expect("API server rule");
    assert_eq!(port_of(api), Some(443));
    let infisical = egress
        .iter()
        .find(|r| r["to"][0]["ipBlock"]["cidr"] == "104.18.0.0/16")
        .expect("Infisical rule");
    assert_eq!(port_of(infisical), Some(443));

    let err = helm_fails(&["--set", "networkPolicy.enabled=true"]);
    assert!(err.contains("networkPolicy.apiServer.cidrs"), "{err}");
}

/// What must agree between the chart and a kustomize build: RBAC, the container, the pod's
/// security context, the Service port.
fn comparable(docs: &[Value]) -> Vec<(String, Value)> {
    let deploy = one(docs, "Deployment");
    let mut c = container(docs).clone();
    c.as_mapping_mut().unwrap().remove("image");
    let mut out = vec![
        ("container".to_string(), c),
        (
            "podSecurityContext".into(),
            deploy["spec"]["template"]["spec"]["securityContext"].clone(),
        ),
        ("strategy".into(), deploy["spec"]["strategy"].clone()),
        ("replicas".into(), deploy["spec"]["replicas"].clone()),
        (
            "servicePorts".into(),
            one(docs, "Service")["spec"]["ports"].clone(),
        ),
    ];
    for lease in of_kind(docs, "Lease") {
        out.push((
            format!("Lease {} in {:?}", name(lease), namespace(lease)),
            lease["spec"].clone(),
        ));
    }
    for k in ["ClusterRole", "Role"] {
        for r in of_kind(docs, k) {
            let triples: Vec<String> = rule_triples(r)
                .into_iter()
                .map(|(g, r, v)| format!("{g}/{r}:{v}"))
                .collect();
            out.push((
                format!("{k} {} in {:?}", name(r), namespace(r)),
                Value::from(triples),
            ));
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

/// Compares two [`comparable`] lists entry by entry, naming the first entry that differs.
fn assert_same(kustomize: &[(String, Value)], helm: &[(String, Value)]) {
    let keys = |v: &[(String, Value)]| v.iter().map(|(k, _)| k.clone()).collect::<Vec<_>>();
    assert_eq!(keys(kustomize), keys(helm), "different objects");
    for ((key, k), (_, h)) in kustomize.iter().zip(helm) {
        assert_eq!(k, h, "{key} differs (left: kustomize, right: helm)");
    }
}

#[test]
fn kustomize_base_matches_the_chart_defaults() {
    let kust = kustomize("deploy/base");
    let helm = helm_template("infisical-oidc-operator", "infisical-oidc-operator", &[]);
    assert_same(&comparable(&kust), &comparable(&helm));
    crd_named(&kust, CRD_NAME);
    crd_named(&kust, SAML_CRD_NAME);
    crd_named(&kust, LDAP_CRD_NAME);
    assert_eq!(
        name(one(&kust, "Namespace")),
        "infisical-oidc-operator",
        "the base creates its namespace"
    );
    for d in &kust {
        if ![
            "Namespace",
            "CustomResourceDefinition",
            "ClusterRole",
            "ClusterRoleBinding",
        ]
        .contains(&kind(d))
        {
            assert_eq!(namespace(d), Some("infisical-oidc-operator"), "{}", name(d));
        }
    }
}

#[test]
fn kustomize_namespaced_overlay_matches_the_chart_in_namespaced_mode() {
    let kust = kustomize("deploy/namespaced");
    let helm = helm_template(
        "infisical-oidc-operator",
        "infisical-oidc-operator",
        &["--set", "watchNamespaces={team-a}"],
    );
    assert!(of_kind(&kust, "ClusterRole").is_empty());
    assert!(of_kind(&kust, "ClusterRoleBinding").is_empty());
    assert_same(&comparable(&kust), &comparable(&helm));
}

/// Every example is self-contained: each Secret an OidcSsoConfig or LdapSsoConfig references is in the same
/// file and namespace, with the referenced keys.
#[test]
fn examples_are_self_contained() {
    let dir = repo().join("examples");
    let mut files = vec![];
    for e in std::fs::read_dir(&dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            for e in std::fs::read_dir(&p).unwrap() {
                files.push(e.unwrap().path());
            }
        } else {
            files.push(p);
        }
    }
    let mut resources = 0;
    for f in files.iter().filter(|f| !f.ends_with("values.yaml")) {
        let docs = parse_docs(&std::fs::read_to_string(f).unwrap());
        let secret_keys = |ns: &str, n: &str| -> Option<Vec<String>> {
            of_kind(&docs, "Secret")
                .into_iter()
                .find(|s| name(s) == n && namespace(s) == Some(ns))
                .map(|s| {
                    s["stringData"]
                        .as_mapping()
                        .unwrap()
                        .keys()
                        .map(|k| k.as_str().unwrap().to_string())
                        .collect()
                })
        };
        let oidc = of_kind(&docs, "OidcSsoConfig")
            .into_iter()
            .map(|r| (r, "clientSecretRef"));
        let ldap = of_kind(&docs, "LdapSsoConfig")
            .into_iter()
            .map(|r| (r, "bindPassRef"));
        for (r, own_ref) in oidc.chain(ldap) {
            resources += 1;
            let ns = namespace(r).expect("examples set a namespace");
            let spec = &r["spec"];
            let mut refs: Vec<(String, Vec<String>)> = vec![(
                spec[own_ref]["name"].as_str().unwrap().into(),
                vec![spec[own_ref]["key"].as_str().unwrap().into()],
            )];
            let auth = &spec["authentication"];
            if let Some(n) = auth["universalAuth"]["credentialsRef"]["name"].as_str() {
                refs.push((n.into(), vec!["clientId".into(), "clientSecret".into()]));
            }
            if let Some(n) = auth["token"]["secretRef"]["name"].as_str() {
                refs.push((
                    n.into(),
                    vec![auth["token"]["secretRef"]["key"].as_str().unwrap().into()],
                ));
            }
            for (secret, keys) in refs {
                let have = secret_keys(ns, &secret)
                    .unwrap_or_else(|| panic!("{}: Secret {ns}/{secret} missing", f.display()));
                for k in keys {
                    assert!(have.contains(&k), "{}: {secret} lacks {k}", f.display());
                }
            }
        }
    }
    assert!(
        resources >= 7,
        "found {resources} OidcSsoConfigs and LdapSsoConfigs"
    );
}

// ---- against a real API server (KUBECONFIG) ------------------------------------------------

/// The operator's verbs, and verbs it must not have, on each resource it touches.
fn rbac_questions(ns: &str) -> Vec<(Access, bool)> {
    let granted = expected_operator_rules();
    let all_verbs = [
        "get",
        "list",
        "watch",
        "create",
        "update",
        "patch",
        "delete",
        "deletecollection",
    ];
    let resources = [
        (GROUP, "oidcssoconfigs", ""),
        (GROUP, "oidcssoconfigs", "status"),
        (GROUP, "oidcssoconfigs", "finalizers"),
        (GROUP, "samlssoconfigs", ""),
        (GROUP, "samlssoconfigs", "status"),
        (GROUP, "samlssoconfigs", "finalizers"),
        (GROUP, "ldapssoconfigs", ""),
        (GROUP, "ldapssoconfigs", "status"),
        (GROUP, "ldapssoconfigs", "finalizers"),
        ("", "secrets", ""),
        ("", "configmaps", ""),
        ("events.k8s.io", "events", ""),
        ("", "events", ""),
        ("", "serviceaccounts", ""),
        ("", "serviceaccounts", "token"),
    ];
    let mut out = vec![];
    for (g, r, sub) in resources {
        let full = if sub.is_empty() {
            r.to_string()
        } else {
            format!("{r}/{sub}")
        };
        for v in all_verbs {
            let allowed = granted.contains(&(g.to_string(), full.clone(), v.to_string()));
            out.push((Access::new(v, g, r, sub, ns), allowed));
        }
    }
    // ConfigMaps are granted `get` (a SamlSsoConfig's certRef, an LdapSsoConfig's caCertificateRef),
    // nothing more: see the table.
    for (g, r) in [
        ("", "persistentvolumeclaims"),
        ("", "pods"),
        ("apiextensions.k8s.io", "customresourcedefinitions"),
        ("rbac.authorization.k8s.io", "roles"),
    ] {
        out.push((Access::new("get", g, r, "", ns), false));
    }
    out
}

/// Leader election's verbs on Leases in `ns`, all `allowed` or none.
fn lease_questions(ns: &str, allowed: bool) -> Vec<(Access, bool)> {
    let granted = ["get", "list", "watch", "create", "update"];
    [
        "get", "list", "watch", "create", "update", "patch", "delete",
    ]
    .into_iter()
    .map(|v| {
        let want = allowed && granted.contains(&v);
        (
            Access::new(v, "coordination.k8s.io", "leases", "", ns),
            want,
        )
    })
    .collect()
}

fn assert_access(kubeconfig: &std::path::Path, questions: &[(Access, bool)]) {
    let qs: Vec<Access> = questions.iter().map(|(q, _)| q.clone()).collect();
    let answers = can_i(kubeconfig, &qs);
    let wrong: Vec<String> = questions
        .iter()
        .zip(answers)
        .filter(|((_, want), got)| want != got)
        .map(|((q, want), got)| format!("{q:?}: want allowed={want}, got {got}"))
        .collect();
    assert!(wrong.is_empty(), "RBAC mismatch:\n{}", wrong.join("\n"));
}

struct TempDir(std::path::PathBuf);
impl TempDir {
    fn new(prefix: &str) -> Self {
        let p = std::env::temp_dir().join(unique(prefix));
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }
}
impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn cleanup_cluster_scoped(kc: &std::path::Path, release: &str) {
    run(kubectl(kc).args([
        "delete",
        "clusterrole,clusterrolebinding",
        "-l",
        &format!("app.kubernetes.io/instance={release}"),
        "--ignore-not-found",
    ]));
}

/// `helm install` with the chart's defaults (as the README says) on a cluster that already has
/// the CRD from `crds/` (as the README's first run leaves it), then `helm upgrade` with a changed
/// value, both validated against the API server's schema; returns the installed objects. The
/// release leaves the CRD to the harness, which put it there (and shares it between tests
/// running in parallel), and its notes say so.
fn install_then_upgrade(
    kc: &std::path::Path,
    release: &str,
    ns: &str,
    values: &[&str],
) -> Vec<Value> {
    let chart = chart_dir();
    let chart = chart.to_str().unwrap();
    let mut install = vec!["install", release, chart, "--namespace", ns];
    install.extend_from_slice(values);
    let notes = helm(kc, &install);
    assert!(
        notes.contains("was already in the cluster"),
        "the notes say the CRD was left as it is:\n{notes}"
    );
    let mut upgrade = vec![
        "upgrade",
        release,
        chart,
        "--namespace",
        ns,
        "--reuse-values",
        "--set",
        "operator.logLevel=debug",
    ];
    upgrade.extend_from_slice(values);
    helm(kc, &upgrade);
    let history = helm(kc, &["history", release, "--namespace", ns, "-o", "json"]);
    let revisions: Vec<serde_json::Value> = serde_json::from_str(&history).unwrap();
    assert_eq!(revisions.len(), 2, "{history}");
    assert!(
        revisions
            .iter()
            .all(|r| r["status"] == "deployed" || r["status"] == "superseded"),
        "{history}"
    );
    let docs = release_manifest(kc, release, ns);
    assert!(
        of_kind(&docs, "CustomResourceDefinition").is_empty(),
        "a CRD applied from crds/ stays out of the release"
    );
    assert_ne!(
        crd_owner(kc).as_deref(),
        Some(format!("{ns}/{release}").as_str()),
        "the release did not take the CRD over"
    );
    // The upgrade reached the API server, not only Helm's record.
    let stored: serde_json::Value = serde_json::from_str(&run(kubectl(kc).args([
        "get",
        "deployment",
        "-n",
        ns,
        name(one(&docs, "Deployment")),
        "-o",
        "json",
    ])))
    .unwrap();
    let stored_args = stored["spec"]["template"]["spec"]["containers"][0]["args"].to_string();
    assert!(stored_args.contains("--log-level=debug"), "{stored_args}");
    docs
}

/// The release (`namespace/name`) that Helm's ownership annotations on the CRD name, if any.
fn crd_owner(kc: &std::path::Path) -> Option<String> {
    let crd: Value = serde_yaml::from_str(&run(
        kubectl(kc).args(["get", "crd", CRD_NAME, "-o", "json"])
    ))
    .unwrap();
    let annotations = &crd["metadata"]["annotations"];
    match (
        annotations["meta.helm.sh/release-namespace"].as_str(),
        annotations["meta.helm.sh/release-name"].as_str(),
    ) {
        (Some(ns), Some(name)) => Some(format!("{ns}/{name}")),
        _ => None,
    }
}

/// The README's way to let a release manage a CRD that was applied from `crds/`: Helm's
/// ownership metadata, once. From then on the chart renders it (install, upgrade) and
/// `helm uninstall` keeps it.
#[test]
fn a_crd_handed_to_the_release_is_managed_by_it_and_kept_on_uninstall() {
    let kc = kubeconfig();
    ensure_crd(&kc);
    let ns = unique("pkg-crd");
    let release = unique("rel");
    create_namespace(&kc, &ns);
    run(kubectl(&kc).args([
        "label",
        "--overwrite",
        "crd",
        CRD_NAME,
        "app.kubernetes.io/managed-by=Helm",
    ]));
    run(kubectl(&kc).args([
        "annotate",
        "--overwrite",
        "crd",
        CRD_NAME,
        &format!("meta.helm.sh/release-name={release}"),
        &format!("meta.helm.sh/release-namespace={ns}"),
    ]));
    let chart = chart_dir();
    let chart = chart.to_str().unwrap();
    let notes = helm(&kc, &["install", &release, chart, "--namespace", &ns]);
    assert!(!notes.contains("was already in the cluster"), "{notes}");
    let docs = release_manifest(&kc, &release, &ns);
    assert_eq!(name(crd_named(&docs, CRD_NAME)), CRD_NAME);
    helm(
        &kc,
        &[
            "upgrade",
            &release,
            chart,
            "--namespace",
            &ns,
            "--reuse-values",
            "--set",
            "operator.logLevel=debug",
        ],
    );
    let docs = release_manifest(&kc, &release, &ns);
    assert_eq!(name(crd_named(&docs, CRD_NAME)), CRD_NAME);
    assert_eq!(crd_owner(&kc), Some(format!("{ns}/{release}")));
    helm(&kc, &["uninstall", &release, "--namespace", &ns]);
    wait_crd_established(&kc);
    // Back to the harness, as it was.
    run(kubectl(&kc).args([
        "annotate",
        "crd",
        CRD_NAME,
        "meta.helm.sh/release-name-",
        "meta.helm.sh/release-namespace-",
        "helm.sh/resource-policy-",
    ]));
    run(kubectl(&kc).args(["label", "crd", CRD_NAME, "app.kubernetes.io/managed-by-"]));
    cleanup_cluster_scoped(&kc, &release);
}

#[test]
fn chart_in_cluster_mode_installs_upgrades_and_its_service_account_has_exactly_the_operator_rules()
{
    let kc = kubeconfig();
    ensure_crd(&kc);
    let ns = unique("pkg-cluster");
    let release = unique("rel");
    create_namespace(&kc, &ns);
    let docs = install_then_upgrade(&kc, &release, &ns, &[]);

    // What the API server stored keeps the hardening (nothing was pruned or defaulted away).
    let stored: serde_json::Value = serde_json::from_str(&run(kubectl(&kc).args([
        "get",
        "deployment",
        "-n",
        &ns,
        name(one(&docs, "Deployment")),
        "-o",
        "json",
    ])))
    .unwrap();
    let sc = &stored["spec"]["template"]["spec"]["containers"][0]["securityContext"];
    assert_eq!(sc["readOnlyRootFilesystem"], true);
    assert_eq!(sc["allowPrivilegeEscalation"], false);
    assert_eq!(sc["seccompProfile"]["type"], "RuntimeDefault");

    let tmp = TempDir::new("pkg-kc");
    let sa = service_account_name(&docs);
    let as_sa = impersonating_kubeconfig(&kc, &ns, &sa, &tmp.0.join("sa.kubeconfig"));
    let mut questions = rbac_questions(&ns);
    questions.extend(rbac_questions("default"));
    questions.extend(lease_questions(&ns, true));
    questions.extend(lease_questions("default", false));
    // Cluster-wide list/watch (what an all-namespaces watcher does).
    questions.push((Access::new("list", GROUP, "oidcssoconfigs", "", ""), true));
    questions.push((Access::new("list", GROUP, "ldapssoconfigs", "", ""), true));
    questions.push((Access::new("watch", "", "secrets", "", ""), true));
    assert_access(&as_sa, &questions);

    helm(&kc, &["uninstall", &release, "--namespace", &ns]);
    cleanup_cluster_scoped(&kc, &release);
}

#[test]
fn chart_in_namespaced_mode_installs_upgrades_and_grants_nothing_outside_the_watched_namespaces() {
    let kc = kubeconfig();
    ensure_crd(&kc);
    let ns = unique("pkg-op");
    let team_a = unique("pkg-team-a");
    let team_b = unique("pkg-team-b");
    let outside = unique("pkg-outside");
    for n in [&ns, &team_a, &team_b, &outside] {
        create_namespace(&kc, n);
    }
    let release = unique("rel");
    let list = format!("watchNamespaces={{{team_a},{team_b}}}");
    let docs = install_then_upgrade(&kc, &release, &ns, &["--set", &list]);
    assert!(of_kind(&docs, "ClusterRole").is_empty());

    let tmp = TempDir::new("pkg-kc");
    let sa = service_account_name(&docs);
    let as_sa = impersonating_kubeconfig(&kc, &ns, &sa, &tmp.0.join("sa.kubeconfig"));
    let mut questions = rbac_questions(&team_a);
    questions.extend(rbac_questions(&team_b));
    for n in [&ns, &outside, &"default".to_string()] {
        questions.extend(rbac_questions(n).into_iter().map(|(q, _)| (q, false)));
    }
    questions.extend(lease_questions(&ns, true));
    for n in [&team_a, &team_b, &outside] {
        questions.extend(lease_questions(n, false));
    }
    questions.push((Access::new("list", GROUP, "oidcssoconfigs", "", ""), false));
    questions.push((Access::new("list", GROUP, "ldapssoconfigs", "", ""), false));
    questions.push((Access::new("list", "", "secrets", "", ""), false));
    assert_access(&as_sa, &questions);
    helm(&kc, &["uninstall", &release, "--namespace", &ns]);
}

#[test]
fn kustomize_builds_apply_to_a_real_api_server() {
    let kc = kubeconfig();
    for dir in ["deploy/base", "deploy/namespaced"] {
        // Unique copies of the fixed names, so runs and parallel tests never collide.
        let suffix = unique("k");
        let op_ns = format!("iop-{suffix}");
        let team = format!("team-{suffix}");
        let view = format!("iop-{suffix}-view");
        let edit = format!("iop-{suffix}-edit");
        let watch = format!("--watch-namespaces={team}");
        let mut docs = kustomize(dir);
        for d in docs.iter_mut() {
            rename_exact(
                d,
                &[
                    ("infisical-oidc-operator", &op_ns),
                    ("infisical-oidc-operator-view", &view),
                    ("infisical-oidc-operator-edit", &edit),
                    ("team-a", &team),
                    ("--watch-namespaces=team-a", &watch),
                ],
            );
        }
        // Namespaces first: a server-side dry run cannot create objects in a namespace that
        // does not exist yet.
        let (mut namespaces, rest): (Vec<Value>, Vec<Value>) =
            docs.into_iter().partition(|d| kind(d) == "Namespace");
        for namespace in &mut namespaces {
            namespace["metadata"]["labels"][support::TEST_NAMESPACE_LABEL] = "true".into();
        }
        dry_run_then_apply(&kc, &namespaces);
        dry_run_then_apply(&kc, &rest);

        let tmp = TempDir::new("pkg-kc");
        let as_sa = impersonating_kubeconfig(&kc, &op_ns, &op_ns, &tmp.0.join("sa.kubeconfig"));
        let mut questions = lease_questions(&op_ns, true);
        questions.extend(lease_questions(&team, false));
        questions.extend(if dir == "deploy/base" {
            rbac_questions("default")
        } else {
            let mut q = rbac_questions(&team);
            q.extend(
                rbac_questions("default")
                    .into_iter()
                    .map(|(q, _)| (q, false)),
            );
            q
        });
        assert_access(&as_sa, &questions);
        run(kubectl(&kc).args([
            "delete",
            "clusterrole,clusterrolebinding",
            &op_ns,
            &view,
            &edit,
            "--ignore-not-found",
        ]));
    }
}

/// The examples validate against the installed CRD's schema, and the API server keeps every
/// field they set (a field the CRD does not know would be pruned silently).
#[test]
fn examples_pass_a_server_side_dry_run_without_losing_fields() {
    let kc = kubeconfig();
    ensure_crd(&kc);
    let team = unique("pkg-ex");
    create_namespace(&kc, &team);
    let dir = repo().join("examples");
    let mut checked = 0;
    for f in [
        "discovery-url.yaml",
        "custom-endpoints.yaml",
        "token-auth.yaml",
        "adopt-existing.yaml",
        "deactivate-on-delete.yaml",
        "namespace-scoped/oidcssoconfig.yaml",
    ] {
        let mut docs = parse_docs(&std::fs::read_to_string(dir.join(f)).unwrap());
        for d in docs.iter_mut() {
            rename_exact(d, &[("team-a", &team)]);
        }
        let out = apply_docs(&kc, &docs, &["--dry-run=server", "-o", "json"]);
        let items = json_objects(&out);
        for input in of_kind(&docs, "OidcSsoConfig") {
            let stored = items
                .iter()
                .find(|i| i["kind"] == "OidcSsoConfig" && i["metadata"]["name"] == name(input))
                .unwrap_or_else(|| panic!("{f}: no OidcSsoConfig in the dry-run output"));
            let want: serde_json::Value = serde_json::to_value(&input["spec"]).unwrap();
            assert_subset(&want, &stored["spec"], &format!("{f}: spec"));
            checked += 1;
        }
    }
    assert_eq!(checked, 6);
}

fn assert_subset(want: &serde_json::Value, got: &serde_json::Value, at: &str) {
    match want {
        serde_json::Value::Object(m) => {
            for (k, v) in m {
                assert!(
                    !got[k].is_null() || v.is_null(),
                    "{at}.{k} was dropped by the API server (unknown to the CRD?)"
                );
                assert_subset(v, &got[k], &format!("{at}.{k}"));
            }
        }
        _ => assert_eq!(want, got, "{at}"),
    }
}
