//! End to end: the BUILT operator binary, run as a separate process, driven through the real
//! `kubectl` against a real API server (`KUBECONFIG`, see hack/test.sh), talking to a real
//! emulator over HTTP. What a user sees, a user does: apply the examples, wait, patch, delete,
//! kill the process, stop it with SIGTERM, and run it with exactly the Helm chart's RBAC.
//!
//! Every test has its own namespace(s), emulator and operator process(es), so nextest can run
//! them in parallel. The examples all target one organisation id: each runs against its own
//! emulator and namespace, with its own operator.

mod support;

use std::time::Duration;

use base64::Engine;
use infisical_emulator::{Fault, FaultKind};
use infisical_oidc_operator::api::OidcSsoConfig;
use kube::{Api, ResourceExt};
use serde_json::json;
use support::process::*;

const CANARY: &str = "CANARY-e2e-5b9d";

/// (file, resource name) of every example with a single OidcSsoConfig.
const EXAMPLES: &[(&str, &str)] = &[
    ("discovery-url.yaml", "acme-sso"),
    ("custom-endpoints.yaml", "acme-sso-custom"),
    ("token-auth.yaml", "acme-sso-token"),
    ("deactivate-on-delete.yaml", "acme-sso-deactivate"),
    ("adopt-existing.yaml", "acme-sso-adopted"),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn examples_reach_ready() {
    for (file, name) in EXAMPLES {
        let world = World::new("e2e-example").await;
        let control = world.emulator.control();
        let mut text = world.example(file);
        let mut adopted_id = None;
        match *file {
            "token-auth.yaml" => {
                let token = control.issue_static_token(&world.identity.identity_id, 0);
                assert!(!token.is_empty(), "the emulator issued a token");
                assert!(text.contains("accessToken: replace-with-an-access-token"));
                text = text.replace("replace-with-an-access-token", &token);
            }
            "adopt-existing.yaml" => {
                control.put_config_out_of_band(
                    ORG_ID,
                    json!({
                        "configurationType": "discoveryURL",
                        "discoveryURL": "https://old-idp.example.com/.well-known/openid-configuration",
                        "clientId": "made-in-the-ui",
                        "clientSecret": "made-in-the-ui-secret",
                        "isActive": false,
                        "allowedEmailDomains": "old.example.com",
                    }),
                );
                adopted_id = Some(stored_config_id(&world.emulator).expect("a config to adopt"));
            }
            _ => {}
        }
        let operator = world.start_operator("example");
        world.apply(file, &text);
        world.wait_ready(name, &operator);

        let status_id = world.jsonpath(name, "{.status.id}");
        let stored = org(&world.emulator)
            .config
            .unwrap_or_else(|| panic!("{file}: the emulator holds a config"));
        assert_eq!(
            status_id,
            stored["id"].as_str().unwrap(),
            "{file}: status.id is the stored config's id"
        );
        if let Some(adopted) = adopted_id {
            assert_eq!(
                status_id, adopted,
                "adopt-existing: the existing config is adopted, not replaced"
            );
            assert_eq!(org(&world.emulator).posts, 0, "adoption never POSTs");
            assert_eq!(stored["isActive"], json!(true), "adoption applies the spec");
            assert_eq!(stored["clientId"], json!("infisical"));
        } else {
            assert_eq!(org(&world.emulator).posts, 1, "{file}: exactly one create");
        }
        if *file == "deactivate-on-delete.yaml" {
            must(world.kubectl_ns().args([
                "delete",
                &format!("oidcsso/{name}"),
                "--wait",
                "--timeout=60s",
            ]));
            assert!(world.get_json(name).is_none(), "{name} is gone");
            assert_eq!(
                org(&world.emulator).config.unwrap()["isActive"],
                json!(false),
                "deletionPolicy: Deactivate deactivates the config before the finalizer goes"
            );
        }
        drop(operator);
        drop(world);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lifecycle_through_kubectl() {
    let world = World::new("e2e-life").await;
    let operator = world.start_operator("life");
    let text = world.example("discovery-url.yaml");
    assert!(text.contains(EXAMPLE_IDP_SECRET));
    world.apply(
        "discovery-url.yaml",
        &text.replace(EXAMPLE_IDP_SECRET, CANARY),
    );
    world.wait_ready("acme-sso", &operator);
    assert_eq!(
        world.jsonpath("acme-sso", "{.status.id}"),
        stored_config_id(&world.emulator).unwrap()
    );
    assert_eq!(
        org(&world.emulator).config.unwrap()["clientSecret"],
        json!(CANARY),
        "the IdP secret from the Secret reached Infisical"
    );

    // The creation is visible as an Event.
    poll(
        "a Created event for acme-sso",
        TIMEOUT,
        || {
            world
                .event_reasons("acme-sso")
                .iter()
                .any(|r| r == "Created")
                .then_some(())
        },
        || format!("{:?}", world.event_reasons("acme-sso")),
    );

    // A spec edit through kubectl is one PATCH.
    let patches = |w: &World| {
        w.emulator
            .control()
            .requests()
            .iter()
            .filter(|r| r.method == "PATCH")
            .count()
    };
    assert_eq!(patches(&world), 0, "creating needs no PATCH");
    must(world.kubectl_ns().args([
        "patch",
        "oidcsso",
        "acme-sso",
        "--type",
        "merge",
        "-p",
        r#"{"spec":{"isActive":false}}"#,
    ]));
    poll(
        "the emulator's config to be inactive",
        TIMEOUT,
        || (org(&world.emulator).config.unwrap()["isActive"] == json!(false)).then_some(()),
        || format!("{:?}\n{}", org(&world.emulator), operator.log_tail(30)),
    );
    let generation = world.jsonpath("acme-sso", "{.metadata.generation}");
    poll(
        "status.observedGeneration to reach metadata.generation",
        TIMEOUT,
        || (world.jsonpath("acme-sso", "{.status.observedGeneration}") == generation).then_some(()),
        || world.jsonpath("acme-sso", "{.status}"),
    );
    world.wait_ready("acme-sso", &operator);
    assert_eq!(
        world.jsonpath("acme-sso", "{.status.observedGeneration}"),
        world.jsonpath("acme-sso", "{.metadata.generation}")
    );
    assert_eq!(world.jsonpath("acme-sso", "{.status.isActive}"), "false");
    // Let any needless follow-up write show itself before counting.
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(
        patches(&world),
        1,
        "exactly one PATCH for one spec edit: {:#?}",
        world.emulator.control().requests()
    );

    // The canary never leaks: not in logs, Events, the resource, nor metrics.
    let canary_b64 = base64::engine::general_purpose::STANDARD.encode(CANARY);
    let metrics = operator.wait_http_ok("/metrics");
    let events_yaml = must(world.kubectl_ns().args(["get", "events", "-o", "yaml"]));
    let resource_yaml = must(world.kubectl_ns().args(["get", "oidcsso", "-o", "yaml"]));
    let describe = must(world.kubectl_ns().args(["describe", "oidcsso", "acme-sso"]));
    for (place, text) in [
        ("the operator's stderr", operator.log_text()),
        ("kubectl get events -o yaml", events_yaml),
        ("kubectl get oidcsso -o yaml", resource_yaml),
        ("kubectl describe oidcsso", describe),
        ("/metrics", metrics),
    ] {
        assert!(!text.is_empty(), "{place} is empty: nothing was checked");
        assert!(!text.contains(CANARY), "the canary leaked into {place}");
        assert!(
            !text.contains(&canary_b64),
            "the canary (base64) leaked into {place}"
        );
    }

    // Delete: the finalizer is removed and (Orphan) the config stays.
    let id = stored_config_id(&world.emulator).unwrap();
    must(
        world
            .kubectl_ns()
            .args(["delete", "oidcsso", "acme-sso", "--wait", "--timeout=60s"]),
    );
    assert!(
        world.get_json("acme-sso").is_none(),
        "acme-sso is gone after kubectl delete --wait"
    );
    let state = org(&world.emulator);
    let config = state.config.expect("Orphan leaves the config in Infisical");
    assert_eq!(config["id"], json!(id));
    assert_eq!(config["isActive"], json!(false));
    assert_eq!(patches(&world), 1, "Orphan deletion writes nothing");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crash_mid_create_with_a_killed_process() {
    let world = World::new("e2e-crash").await;
    world.emulator.control().inject_fault(Fault {
        method: Some("POST".into()),
        path_prefix: Some("/api/v1/sso/oidc/config".into()),
        count: 1,
        kind: FaultKind::CommitThenDelay { millis: 4000 },
    });
    let mut first = world.start_operator("first");
    world.apply("discovery-url.yaml", &world.example("discovery-url.yaml"));

    // The POST committed, its answer is still held back, and the id is not in status yet.
    // Polled with kube-rs rather than kubectl: the window is the fault's 4 s.
    let api: Api<OidcSsoConfig> = Api::namespaced(world.client.clone(), &world.namespace);
    let deadline = tokio::time::Instant::now() + TIMEOUT;
    let resource = loop {
        if org(&world.emulator).config.is_some()
            && let Some(r) = api.get_opt("acme-sso").await.unwrap()
            && r.status.as_ref().and_then(|s| s.id.as_ref()).is_none()
        {
            break r;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for the emulator to hold a config while status.id is unset: \
             {:?} / {:?}\n{}",
            org(&world.emulator),
            api.get_opt("acme-sso").await.unwrap().map(|r| r.status),
            first.log_tail(30)
        );
        tokio::time::sleep(POLL).await;
    };
    assert!(
        resource
            .annotations()
            .contains_key("oidc.infisical-operator.io/create-pending"),
        "create-pending is set before the POST: {:?}",
        resource.metadata
    );
    first.kill();
    let stored_id = stored_config_id(&world.emulator).unwrap();
    assert_eq!(
        world.jsonpath("acme-sso", "{.status.id}"),
        "",
        "the killed process never wrote the id"
    );

    let second = world.start_operator("second");
    world.wait_ready("acme-sso", &second);
    assert_eq!(
        org(&world.emulator).posts,
        1,
        "no duplicate create after the crash"
    );
    assert_eq!(world.jsonpath("acme-sso", "{.status.id}"), stored_id);
    let created = world
        .event_reasons("acme-sso")
        .into_iter()
        .filter(|r| r == "Created")
        .count();
    assert_eq!(
        created, 1,
        "the create is recorded by exactly one Created Event"
    );
    poll(
        "create-pending to be cleared",
        TIMEOUT,
        || {
            world
                .jsonpath(
                    "acme-sso",
                    r"{.metadata.annotations.oidc\.infisical-operator\.io/create-pending}",
                )
                .is_empty()
                .then_some(())
        },
        || world.jsonpath("acme-sso", "{.metadata.annotations}"),
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graceful_sigterm() {
    let world = World::new("e2e-term").await;
    let mut operator = world.start_operator("term");
    world.apply("discovery-url.yaml", &world.example("discovery-url.yaml"));
    world.wait_ready("acme-sso", &operator);

    assert_eq!(operator.wait_http_ok("/healthz").trim(), "ok");
    operator.wait_http_ok("/readyz");
    let metrics = operator.wait_http_ok("/metrics");
    assert!(
        metrics.contains("infisical_oidc_operator_reconciles_total"),
        "/metrics names the reconcile counter:\n{metrics}"
    );

    operator.sigterm();
    let status = operator
        .wait_exit(Duration::from_secs(10))
        .unwrap_or_else(|| {
            panic!(
                "still running 10s after SIGTERM:\n{}",
                operator.log_tail(30)
            )
        });
    assert!(
        status.success(),
        "exit status after SIGTERM: {status:?}\n{}",
        operator.log_tail(30)
    );
    assert!(
        operator.log_text().contains("shutting down"),
        "the shutdown is logged:\n{}",
        operator.log_tail(30)
    );
    assert!(
        operator.get("/healthz").is_none(),
        "nothing answers after exit"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_logs_name_each_field_once_on_every_line() {
    let world = World::new("e2e-json").await;
    // One 503 on the create: a transient failure, logged as a backoff.
    world.emulator.control().inject_fault(Fault {
        method: Some("POST".into()),
        path_prefix: Some("/api/v1/sso/oidc/config".into()),
        count: 1,
        kind: FaultKind::Status {
            status: 503,
            body: None,
        },
    });
    let ns = world.namespace.clone();
    let mut operator = world.start_operator_with(
        "json",
        &[
            "--log-format",
            "json",
            "--leader-elect",
            "--leader-elect-lease-namespace",
            &ns,
        ],
    );
    world.apply("discovery-url.yaml", &world.example("discovery-url.yaml"));
    world.wait_ready("acme-sso", &operator);
    // A resource whose Secret does not exist: a permanent failure, logged as stalled.
    let stalled = world
        .example("discovery-url.yaml")
        .split("\n---\n")
        .last()
        .unwrap()
        .replace("name: acme-sso", "name: no-secret")
        .replace("name: idp-client", "name: no-such-secret");
    world.apply("no-secret.yaml", &stalled);
    poll(
        "the stalled resource's log line",
        TIMEOUT,
        || operator.log_text().contains("\"stalled\"").then_some(()),
        || operator.log_tail(20),
    );
    operator.sigterm();
    operator
        .wait_exit(Duration::from_secs(10))
        .expect("the operator exits after SIGTERM");

    let log = operator.log_text();
    let mut lines = 0;
    let mut problems = Vec::new();
    for line in log.lines().filter(|l| !l.trim().is_empty()) {
        lines += 1;
        if let Err(error) = support::strict_json::check(line) {
            problems.push(format!("{error}: {line}"));
        }
    }
    assert!(
        problems.is_empty(),
        "{} of {lines} log lines are not one JSON object with one key per field:\n{}",
        problems.len(),
        problems[..problems.len().min(10)].join("\n")
    );
    // The lines that used to repeat a key say what they are, and carry the error beside it.
    let parsed: Vec<serde_json::Value> = log
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let with_message = |m: &str| parsed.iter().find(|v| v["message"] == m).cloned();
    let backoff = with_message("transient failure; backing off")
        .unwrap_or_else(|| panic!("no backoff line:\n{}", operator.log_tail(40)));
    assert!(
        backoff["error"].as_str().is_some_and(|e| e.contains("503")),
        "{backoff}"
    );
    let stalled = with_message("stalled").expect("a stalled line");
    assert_eq!(stalled["reason"], "SecretNotFound", "{stalled}");
    let span = &backoff["span"];
    assert_eq!(
        (span["name"].as_str(), span["resource"].as_str()),
        (Some("reconcile"), Some("acme-sso")),
        "{backoff}"
    );
    assert!(lines > 20, "a real run logs more than {lines} lines");
}

#[test]
fn the_strict_json_check_refuses_repeated_keys_at_any_depth() {
    use support::strict_json::check;
    assert!(check(r#"{"a":1,"b":{"a":2},"c":[{"a":3},{"a":4}]}"#).is_ok());
    let error = check(r#"{"a":1,"a":2}"#).unwrap_err();
    assert!(error.contains("duplicate key \"a\""), "{error}");
    assert!(check(r#"{"s":{"name":"reconcile","name":"acme-sso"}}"#).is_err());
    assert!(check(r#"[{"x":true},{"y":null,"y":null}]"#).is_err());
    // And it is a JSON parser: anything else is refused too.
    assert!(check("transient failure; backing off").is_err());
    assert!(check(r#"{"a":1} trailing"#).is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operator_runs_with_exactly_the_charts_rbac() {
    let mut world = World::new("e2e-rbac").await;
    let other = world.another_namespace("e2e-rbac-other");
    let ns = world.namespace.clone();
    let as_sa = charts_namespaced_rbac(&world);

    // The operator, authorised exactly as the chart's ServiceAccount, electing itself leader
    // through the chart's Lease Role like each of the chart's two replicas.
    let operator = OperatorProcess::start(
        &as_sa,
        &ns,
        world.dir.path(),
        "rbac",
        &["--leader-elect", "--leader-elect-lease-namespace", &ns],
    );
    world.apply("discovery-url.yaml", &world.example("discovery-url.yaml"));
    world.wait_ready("acme-sso", &operator);
    assert_eq!(
        world.jsonpath("acme-sso", "{.status.id}"),
        stored_config_id(&world.emulator).unwrap()
    );
    poll(
        "a Created event (Events are within the RBAC too)",
        TIMEOUT,
        || {
            world
                .event_reasons("acme-sso")
                .iter()
                .any(|r| r == "Created")
                .then_some(())
        },
        || format!("{:?}", world.event_reasons("acme-sso")),
    );
    let log = operator.log_text();
    assert!(
        !log.to_lowercase().contains("forbidden"),
        "the operator hit a missing permission:\n{}",
        operator.log_tail(60)
    );

    // Outside it, the same identity is refused.
    for resource in ["oidcsso", "secrets"] {
        let out = exec(kubectl(&as_sa).args(["get", resource, "-n", &other]));
        assert!(
            !out.ok && out.stderr.contains("Forbidden"),
            "`kubectl get {resource} -n {other}` as the ServiceAccount must be Forbidden: {out:?}"
        );
    }
    let out = exec(kubectl(&as_sa).args(["auth", "can-i", "delete", "secrets", "-n", &ns]));
    assert!(
        !out.ok && out.stdout.trim() == "no",
        "the ServiceAccount cannot delete Secrets: {out:?}"
    );
    // And inside it, what it needs is allowed (the same question, answered yes).
    let out = exec(kubectl(&as_sa).args(["auth", "can-i", "watch", "secrets", "-n", &ns]));
    assert!(
        out.ok && out.stdout.trim() == "yes",
        "can watch Secrets: {out:?}"
    );
}

/// The Lease's holder and transition count, or `None` when the Lease does not exist.
async fn lease_state(
    leases: &Api<k8s_openapi::api::coordination::v1::Lease>,
    name: &str,
) -> Option<(Option<String>, i32)> {
    let lease = leases.get_opt(name).await.unwrap()?;
    let spec = lease.spec.unwrap_or_default();
    Some((
        spec.holder_identity.filter(|h| !h.is_empty()),
        spec.lease_transitions.unwrap_or(0),
    ))
}

/// Polls the Lease until `done` holds, for at most `limit`; returns its state then.
async fn wait_lease(
    leases: &Api<k8s_openapi::api::coordination::v1::Lease>,
    name: &str,
    limit: Duration,
    what: &str,
    done: impl Fn(&Option<(Option<String>, i32)>) -> bool,
) -> Option<(Option<String>, i32)> {
    let deadline = std::time::Instant::now() + limit;
    loop {
        let state = lease_state(leases, name).await;
        if done(&state) {
            return state;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{what} within {limit:?}; the Lease: {state:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The chart's replicas, as built binaries authorised exactly as the chart's ServiceAccount, with
/// the chart's Lease (its Deployment's pods never start here: no node). `helm uninstall`
/// removes the Role with the rest, so the leader can no longer release the Lease; the Lease
/// must go with the release, or a reinstall waits a whole Lease duration for it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn helm_uninstall_takes_the_lease_with_it_and_a_reinstall_leads_at_once() {
    let world = World::new("e2e-lease").await;
    let ns = world.namespace.clone();
    let (release, lease_name) = ("lease", "lease-infisical-oidc-operator");
    let chart = support::tools::chart_dir();
    let chart = chart.to_str().unwrap().to_string();
    let watch = format!("watchNamespaces={{{ns}}}");
    let helm = |args: &[&str]| support::tools::helm(&world.kubeconfig, args);
    let install = || {
        helm(&[
            "install",
            release,
            &chart,
            "--namespace",
            &ns,
            "--set",
            &watch,
            "--set",
            "image.repository=invalid.example/never-pulled",
        ])
    };
    install();
    let leases: Api<k8s_openapi::api::coordination::v1::Lease> =
        Api::namespaced(world.client.clone(), &ns);
    assert_eq!(
        lease_state(&leases, lease_name).await,
        Some((None, 0)),
        "the chart's Lease, without a holder"
    );
    let docs = support::tools::release_manifest(&world.kubeconfig, release, &ns);
    let sa = support::tools::service_account_name(&docs);
    let as_sa = support::tools::impersonating_kubeconfig(
        &world.kubeconfig,
        &ns,
        &sa,
        &world.dir.path().join("sa.kubeconfig"),
    );
    // A Lease long enough that waiting one out would show.
    let flags = [
        "--leader-elect",
        "--leader-elect-lease-name",
        lease_name,
        "--leader-elect-lease-namespace",
        &ns,
        "--leader-elect-lease-duration",
        "30s",
        "--leader-elect-renew-deadline",
        "5s",
        "--leader-elect-retry-period",
        "1s",
        "--request-timeout",
        "2s",
    ];
    let start = |tag: &str| OperatorProcess::start(&as_sa, &ns, world.dir.path(), tag, &flags);

    let mut leader = start("lease-a");
    let (holder, transitions) = wait_lease(
        &leases,
        lease_name,
        Duration::from_secs(10),
        "the first replica takes the chart's Lease at once",
        |s| matches!(s, Some((Some(_), _))),
    )
    .await
    .unwrap();
    let holder = holder.unwrap();
    assert!(holder.starts_with("lease-a"), "{holder}");
    let standby = start("lease-b");
    poll(
        "the standby names the holder",
        TIMEOUT,
        || {
            standby
                .log_text()
                .contains("standing by: another replica holds the Lease")
                .then_some(())
        },
        || standby.log_tail(20),
    );
    // The leader's writes kept the chart's metadata: the Lease is still the release's.
    let stored = leases.get(lease_name).await.unwrap();
    assert_eq!(
        stored.metadata.annotations.as_ref().unwrap()["meta.helm.sh/release-name"],
        release
    );
    assert_eq!(
        stored.metadata.labels.as_ref().unwrap()["app.kubernetes.io/managed-by"],
        "Helm"
    );

    // An upgrade leaves the holder alone (the chart sets no field of the Lease's spec).
    helm(&[
        "upgrade",
        release,
        &chart,
        "--namespace",
        &ns,
        "--reuse-values",
        "--set",
        "operator.logLevel=debug",
    ]);
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(
        lease_state(&leases, lease_name).await,
        Some((Some(holder.clone()), transitions)),
        "no change of holder across the upgrade"
    );
    let standby_log = standby.log_text();
    assert_eq!(
        standby_log
            .matches("standing by: another replica holds the Lease")
            .count(),
        1,
        "said once, not on every attempt:\n{standby_log}"
    );
    assert!(standby_log.contains(&holder), "{standby_log}");
    drop(standby);

    // Uninstall: the Role goes, so the leader's release is refused; the Lease goes too.
    helm(&["uninstall", release, "--namespace", &ns]);
    wait_lease(
        &leases,
        lease_name,
        Duration::from_secs(10),
        "the Lease is deleted with the release",
        Option::is_none,
    )
    .await;
    leader.sigterm();
    leader
        .wait_exit(Duration::from_secs(15))
        .unwrap_or_else(|| panic!("the old leader exits:\n{}", leader.log_tail(20)));
    assert_eq!(
        lease_state(&leases, lease_name).await,
        None,
        "nothing recreated the Lease:\n{}",
        leader.log_tail(20)
    );

    // A reinstall leads at once, not a Lease duration later.
    install();
    let reinstalled = std::time::Instant::now();
    let _next = start("lease-c");
    let (holder, _) = wait_lease(
        &leases,
        lease_name,
        Duration::from_secs(10),
        "the reinstalled replica leads at once",
        |s| matches!(s, Some((Some(h), _)) if h.starts_with("lease-c")),
    )
    .await
    .unwrap();
    println!(
        "{} leads {:.1} s after the reinstall",
        holder.unwrap(),
        reinstalled.elapsed().as_secs_f64()
    );
    helm(&["uninstall", release, "--namespace", &ns]);
}

/// Applies the chart's RBAC for a namespaced install watching only the world's namespace, and
/// returns a kubeconfig that acts as the chart's ServiceAccount.
fn charts_namespaced_rbac(world: &World) -> std::path::PathBuf {
    let ns = &world.namespace;
    let docs = support::tools::helm_template(
        "e2e",
        ns,
        &[
            "--set",
            &format!("watchNamespaces={{{ns}}}"),
            "--set",
            "rbac.scope=namespaced",
            "--set",
            "crds.install=false",
        ],
    );
    let rbac: Vec<_> = docs
        .iter()
        .filter(|d| {
            matches!(
                support::tools::kind(d),
                "ServiceAccount" | "Role" | "RoleBinding" | "ClusterRole" | "ClusterRoleBinding"
            )
        })
        .cloned()
        .collect();
    assert!(
        support::tools::of_kind(&rbac, "ClusterRole").is_empty()
            && support::tools::of_kind(&rbac, "ClusterRoleBinding").is_empty(),
        "a namespaced install grants nothing cluster-wide"
    );
    // The operator's, and leader election's for Leases (two replicas by default).
    assert_eq!(support::tools::of_kind(&rbac, "Role").len(), 2);
    assert_eq!(support::tools::of_kind(&rbac, "RoleBinding").len(), 2);
    support::tools::apply_docs(&world.kubeconfig, &rbac, &[]);
    let sa = support::tools::service_account_name(&docs);
    support::tools::impersonating_kubeconfig(
        &world.kubeconfig,
        ns,
        &sa,
        &world.dir.path().join("sa.kubeconfig"),
    )
}

/// Kubernetes Auth with the built binary, authorised exactly as the chart's ServiceAccount: it
/// may read the opted-in ServiceAccount and request its token, and Infisical (the emulator)
/// reviews that token with the real API server.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubernetes_auth_with_the_built_binary_and_the_charts_rbac() {
    let world = World::new("e2e-k8s-auth").await;
    let ns = world.namespace.clone();
    let as_sa = charts_namespaced_rbac(&world);
    support::configure_kubernetes_auth(
        &world.client,
        &ns,
        &world.emulator,
        &world.identity.identity_id,
        support::KubernetesAuthRules {
            allowed_namespaces: &ns,
            allowed_names: "infisical-sso",
            allowed_audience: "infisical",
            reviewer_may_review: true,
            access_token_ttl: 3600,
        },
    )
    .await;
    support::put_service_account(&world.client, &ns, "infisical-sso", true).await;
    let operator = OperatorProcess::start(&as_sa, &ns, world.dir.path(), "k8s-auth", &[]);
    // The discovery-url example, its authentication switched to Kubernetes Auth.
    let example = world.example("discovery-url.yaml");
    let manifest = example.replace(
        "    universalAuth:\n      credentialsRef:\n        name: infisical-identity\n",
        &format!(
            "    kubernetesAuth:\n      identityId: {}\n      serviceAccountRef:\n        name: infisical-sso\n      audiences: [infisical]\n",
            world.identity.identity_id
        ),
    );
    assert_ne!(
        manifest, example,
        "the example's authentication block moved: update this test"
    );
    // No Infisical credential anywhere in the cluster: drop the example's identity Secret.
    let manifest: String = manifest
        .split("\n---")
        .filter(|doc| !doc.contains("name: infisical-identity\n"))
        .collect::<Vec<_>>()
        .join("\n---");
    world.apply("k8s-auth.yaml", &manifest);
    world.wait_ready("acme-sso", &operator);
    assert_eq!(
        world.jsonpath("acme-sso", "{.status.id}"),
        stored_config_id(&world.emulator).unwrap()
    );
    let reviews = world.emulator.control().token_reviews();
    assert!(
        reviews
            .iter()
            .any(|r| r.outcome == "ok" && r.status == Some(201)),
        "the emulator reviewed the token with the API server: {reviews:?}"
    );
    assert!(
        !operator.log_text().contains("eyJ"),
        "no token in the operator's log"
    );
    let secrets = must(world.kubectl_ns().args(["get", "secrets", "-o", "name"]));
    assert_eq!(
        secrets.trim(),
        "secret/idp-client",
        "no Infisical credential is stored"
    );
}

/// Bad flags are refused at start with a message naming them, instead of silently replaced.
#[test]
fn bad_flags_stop_the_operator_at_start() {
    for (flags, expected) in [
        (vec!["--concurrency", "0"], "--concurrency"),
        (vec!["--log-level", "verbose"], "is not a level"),
        (
            vec!["--log-level", "info,infisical_oidc_operator=loud"],
            "--log-level",
        ),
        (
            vec!["--default-resync-interval", "99999999999999999999h"],
            "--default-resync-interval",
        ),
        (
            vec!["--max-writes-per-minute", "0"],
            "--max-writes-per-minute",
        ),
        (vec!["--default-preflight", "Maybe"], "--default-preflight"),
    ] {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_infisical-oidc-operator"))
            .args(&flags)
            .env_remove("LOG_LEVEL")
            .env_remove("CONCURRENCY")
            .env("KUBECONFIG", "/nonexistent")
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{flags:?}: {out:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(expected), "{flags:?}: {stderr}");
    }
}
