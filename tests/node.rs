//! The operator as its users run it: the image and chart from a registry, installed with helm,
//! running as pods on a real node (kubelet, containerd, runc, kube-proxy), in a namespace that
//! enforces the `restricted` Pod Security level. The pods reach the API server through the
//! `kubernetes` Service with their ServiceAccount token (no kubeconfig anywhere) and the emulator
//! over HTTPS on the node's address, trusting it through the resource's `caBundleRef`.
//!
//! Each test installs its own release, watching only its own namespace (the cluster is shared
//! with the other suites); the CRD is the cluster's already, which the chart leaves alone. Every
//! other value is the chart's default unless the test says why.

mod support;

use std::path::Path;
use std::time::{Duration, Instant};

use infisical_emulator::{Fault, FaultKind};
use k8s_openapi::api::core::v1::Pod;
use kube::ResourceExt;
use kube::api::{Api, DeleteParams};
use serde_json::{Value, json};
use support::fleet::{self, create_resources_with, identity_in, lost_or_duplicated};
use support::node::{self, Node, Release, container, emulator_url, pod_of, restart_count};
use support::process::{AuditedWrite, TIMEOUT, World, audited_writes, exec, must, poll};

/// Pods start in seconds here; an image pull and two replicas' probes in well under this.
const PODS_READY: Duration = Duration::from_secs(120);

/// The examples' IdP is fictional: the pods learn its address from the chart's `hostAliases`
/// (the address `hack/demo-idp-hosts` gives it); nothing connects to it (preflight Skip).
const IDP_HOST_ALIAS: [&str; 2] = [
    "hostAliases[0].ip=93.184.215.14",
    "hostAliases[0].hostnames[0]=idp.example.com",
];

/// Leader election timings for the failover and upgrade tests, as tests/leader.rs uses them.
const LEASE: Duration = Duration::from_secs(6);
const TEST_ELECTION: [&str; 4] = [
    "leaderElection.leaseDuration=6s",
    "leaderElection.renewDeadline=3s",
    "leaderElection.retryPeriod=1s",
    "operator.requestTimeout=2s",
];

/// The shipped budget paces creates to 60 a minute; these tests measure failover, not Infisical's
/// limits.
const RAISED_BUDGET: [&str; 2] = [
    "operator.maxWritesPerMinute=100000",
    "operator.maxReadsPerMinute=100000",
];

/// Spec fields pointing a resource at the world's emulator as pods reach it.
fn target(world: &World, node: &Node) -> Value {
    json!({
        "hostAPI": emulator_url(world, node),
        "caBundleRef": {"name": "infisical-ca", "key": "ca.crt"},
        "preflight": "Skip",
    })
}

fn values<'a>(groups: &[&[&'a str]]) -> Vec<&'a str> {
    groups.iter().flat_map(|g| g.iter().copied()).collect()
}

fn names(prefix: &str, count: usize) -> Vec<String> {
    (0..count).map(|i| format!("{prefix}-{i}")).collect()
}

/// Creates one resource (and its Secret) served by the release, and waits for it to be Ready.
async fn create_ready(
    world: &World,
    node: &Node,
    release: &Release,
    name: &str,
) -> Vec<(String, String)> {
    let created = create_resources_with(world, &[name.to_string()], target(world, node)).await;
    wait_ready(world, release, name).await;
    created
}

/// Waits for one resource to be Ready, describing the release's pods if it does not get there.
async fn wait_ready(world: &World, release: &Release, name: &str) {
    fleet::wait_all_ready(
        world,
        &[name.to_string()],
        TIMEOUT,
        describe(world, release),
    )
    .await;
}

/// The logs of the release's pods, for failure messages.
fn describe(world: &World, release: &Release) -> impl Fn() -> String {
    let kubeconfig = world.kubeconfig.clone();
    let namespace = world.namespace.clone();
    let selector = format!("app.kubernetes.io/instance={}", release.name);
    move || {
        let pods = exec(support::kubectl(&kubeconfig).args([
            "get", "pods", "-n", &namespace, "-l", &selector, "-o", "wide",
        ]));
        let logs = exec(support::kubectl(&kubeconfig).args([
            "logs",
            "-n",
            &namespace,
            "-l",
            &selector,
            "--tail=30",
            "--prefix",
        ]));
        format!("--- pods:\n{}\n--- logs:\n{}", pods.stdout, logs.stdout)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_chart_from_the_registry_runs_two_ready_pods_that_reconcile_in_the_cluster() {
    let node = Node::from_env();
    let world = node::world("node-install", &node).await;
    let release = Release::install(&world, &node, &IDP_HOST_ALIAS);

    let pods = release.wait_ready_pods(2, PODS_READY).await;
    let names: Vec<String> = pods.iter().map(|p| p.name_any()).collect();
    let (holder, _) = release.wait_holder(None, TIMEOUT).await;
    assert!(
        names.iter().any(|n| n == pod_of(&holder)),
        "the Lease holder {holder} names one of the pods {names:?}"
    );

    // In-cluster configuration only: no kubeconfig in the environment or the volumes.
    for pod in &pods {
        let spec = pod.spec.as_ref().unwrap();
        let container = &spec.containers[0];
        assert!(
            !container
                .env
                .iter()
                .flatten()
                .any(|e| e.name == "KUBECONFIG"),
            "no KUBECONFIG in the pod's environment"
        );
        let volumes: Vec<&str> = spec
            .volumes
            .iter()
            .flatten()
            .map(|v| v.name.as_str())
            .collect();
        assert!(
            volumes.iter().all(|v| v.starts_with("kube-api-access-")),
            "the only volume is the ServiceAccount token's: {volumes:?}"
        );
    }

    // The namespace really enforces the restricted level: a privileged pod is refused.
    let refused = exec(world.kubectl_ns().args([
        "run",
        "privileged",
        "--dry-run=server",
        &format!("--image={}", node.busybox()),
        "--overrides",
        r#"{"spec":{"containers":[{"name":"privileged","image":"busybox","securityContext":{"privileged":true}}]}}"#,
    ]));
    assert!(
        !refused.ok
            && refused
                .stderr
                .contains("violates PodSecurity \"restricted:latest\""),
        "a privileged pod is refused by Pod Security: {}{}",
        refused.stdout,
        refused.stderr
    );

    let resources = create_ready(&world, &node, &release, "in-cluster").await;
    assert!(
        lost_or_duplicated(&world, &resources).await.is_empty(),
        "created once, and status.id is the id Infisical stored"
    );
    // Only the leader called Infisical.
    let requests = world.emulator.control().requests();
    assert!(!requests.is_empty());
    for request in &requests {
        let ua = request.user_agent.as_deref().unwrap_or_default();
        assert_eq!(
            identity_in(ua),
            Some(holder.as_str()),
            "{} {} came from the leader",
            request.method,
            request.path
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_container_runs_as_65532_without_capabilities_writes_nothing_and_logs_json() {
    let node = Node::from_env();
    let world = node::world("node-secure", &node).await;
    // One replica: this test looks at one container. The IdP's address comes from a hosts file
    // mounted from a ConfigMap, read with --idp-host-aliases (the chart's extra volumes).
    must(world.kubectl_ns().args([
        "create",
        "configmap",
        "idp-hosts",
        "--from-literal=hosts=93.184.215.14 idp.example.com",
    ]));
    let release = Release::install(
        &world,
        &node,
        &[
            "replicas=1",
            "extraVolumes[0].name=idp-hosts",
            "extraVolumes[0].configMap.name=idp-hosts",
            "extraVolumeMounts[0].name=idp-hosts",
            "extraVolumeMounts[0].mountPath=/etc/idp-hosts",
            "extraVolumeMounts[0].readOnly=true",
            "operator.extraArgs={--idp-host-aliases=/etc/idp-hosts/hosts}",
        ],
    );
    let pod = release.wait_ready_pods(1, PODS_READY).await.remove(0);
    let resources = create_ready(&world, &node, &release, "secure").await;
    assert!(lost_or_duplicated(&world, &resources).await.is_empty());

    let process = container(&node, &pod, "operator");
    let status = process.status();
    for (key, expected) in [
        ("Uid", "65532\t65532\t65532\t65532"),
        ("Gid", "65532\t65532\t65532\t65532"),
        ("CapInh", "0000000000000000"),
        ("CapPrm", "0000000000000000"),
        ("CapEff", "0000000000000000"),
        ("CapBnd", "0000000000000000"),
        ("CapAmb", "0000000000000000"),
        ("NoNewPrivs", "1"),
        // 2: a seccomp filter (RuntimeDefault) is in force.
        ("Seccomp", "2"),
    ] {
        assert_eq!(
            status.get(key).map(String::as_str),
            Some(expected),
            "{key} of the operator's process"
        );
    }
    // The root filesystem is mounted read-only, and the overlay's writable layer stayed empty.
    let (options, super_options) = process.root_mount();
    assert!(
        options.iter().any(|o| o == "ro"),
        "the root is mounted read-only: {options:?}"
    );
    let upper = super_options
        .iter()
        .find_map(|o| o.strip_prefix("upperdir="))
        .unwrap_or_else(|| panic!("an overlay root with an upper directory: {super_options:?}"));
    // The runtime creates the targets of the container's mounts there (/etc/hosts, the token's
    // directory, /proc...); anything else would be the container's own write.
    let mount_points = process.mount_points();
    let written: Vec<String> = node::walk(Path::new(upper))
        .into_iter()
        .filter(|(path, size)| {
            let target = format!("/{path}");
            let placeholder = mount_points.contains(&target) && *size == 0;
            let on_the_way = mount_points
                .iter()
                .any(|m| m.starts_with(&format!("{target}/")));
            !(placeholder || on_the_way)
        })
        .map(|(path, _)| path)
        .collect();
    assert!(
        written.is_empty(),
        "the container wrote to its root filesystem: {written:?}"
    );

    // kubectl logs: one JSON object per line, each key once.
    let logs = release.logs(&pod.name_any());
    let lines: Vec<&str> = logs.lines().filter(|l| !l.trim().is_empty()).collect();
    assert!(
        lines.len() >= 3,
        "the operator logged its start and the pass: {logs}"
    );
    for line in &lines {
        assert!(line.starts_with('{'), "a log line is a JSON object: {line}");
        if let Err(error) = support::strict_json::check(line) {
            panic!("a log line is not JSON with unique keys ({error}): {line}");
        }
    }

    // The Service's /metrics, scraped from another pod (by the Service's environment variables:
    // there is no cluster DNS here).
    let service = release.fullname().to_uppercase().replace('-', "_");
    let scraped = node::run_in_pod(
        &world,
        &node,
        &format!("wget -qO- http://${service}_SERVICE_HOST:${service}_SERVICE_PORT/metrics"),
    );
    assert!(
        scraped.contains("infisical_oidc_operator_reconciles_total"),
        "the metrics were scraped through the Service: {}",
        &scraped[..scraped.len().min(400)]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn force_deleting_the_leader_pod_during_creates_hands_over_within_the_lease_and_loses_nothing()
 {
    let node = Node::from_env();
    let world = node::world("node-failover", &node).await;
    let release = Release::install(
        &world,
        &node,
        &values(&[&IDP_HOST_ALIAS, &TEST_ELECTION, &RAISED_BUDGET]),
    );
    release.wait_ready_pods(2, PODS_READY).await;
    let (leader, _) = release.wait_holder(None, TIMEOUT).await;

    // A burst of creates whose answers Infisical holds back half a second each.
    let names = names("failover", 40);
    let control = world.emulator.control();
    control.inject_fault(Fault {
        method: Some("POST".into()),
        path_prefix: Some("/api/v1/sso/oidc/config".into()),
        count: names.len() as u32,
        kind: FaultKind::CommitThenDelay { millis: 500 },
    });
    let created = create_resources_with(&world, &names, target(&world, &node)).await;
    poll(
        "the leader to send its first creates",
        TIMEOUT,
        || {
            (control
                .requests_matching("POST", "/api/v1/sso/oidc/config")
                .len()
                >= 5)
                .then_some(())
        },
        || {
            format!(
                "{} creates",
                control
                    .requests_matching("POST", "/api/v1/sso/oidc/config")
                    .len()
            )
        },
    );

    let pods: Api<Pod> = Api::namespaced(world.client.clone(), &world.namespace);
    let deleted_at = Instant::now();
    pods.delete(pod_of(&leader), &DeleteParams::default().grace_period(0))
        .await
        .expect("force-delete the leader's pod");
    let (next, seen) = release
        .wait_holder(Some(&leader), LEASE + Duration::from_secs(20))
        .await;
    let takeover = seen - deleted_at;
    println!(
        "takeover after force-deleting the leader pod (Lease 6 s): {:.2} s, by {next}",
        takeover.as_secs_f64()
    );
    assert!(
        takeover <= LEASE + Duration::from_secs(2),
        "the other pod took over after {takeover:?}, more than the Lease duration + 2 s"
    );

    fleet::wait_all_ready(&world, &names, TIMEOUT * 2, describe(&world, &release)).await;
    let problems = lost_or_duplicated(&world, &created).await;
    assert!(
        problems.is_empty(),
        "{} problems: {:?}",
        problems.len(),
        &problems[..problems.len().min(10)]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn helm_uninstall_takes_the_lease_with_it_and_a_reinstall_leads_at_once() {
    let node = Node::from_env();
    let world = node::world("node-reinstall", &node).await;
    let release = Release::install(&world, &node, &IDP_HOST_ALIAS);
    release.wait_ready_pods(2, PODS_READY).await;
    let (first, _) = release.wait_holder(None, TIMEOUT).await;
    create_ready(&world, &node, &release, "reinstalled").await;

    release.uninstall();
    let leases: Api<k8s_openapi::api::coordination::v1::Lease> =
        Api::namespaced(world.client.clone(), &world.namespace);
    let uninstalled = Instant::now();
    while leases.get_opt(&release.fullname()).await.unwrap().is_some()
        || !release.pods().await.is_empty()
    {
        assert!(
            uninstalled.elapsed() < TIMEOUT,
            "helm uninstall left the Lease (holder {:?}) or pods behind",
            release.holder().await
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }

    // The same release again: its pods lead as soon as they start, not a Lease duration (60 s
    // by default) after the old leader's last renewal.
    let reinstalled = Instant::now();
    let again = Release::install_named(&world, &node, &release.name, &IDP_HOST_ALIAS);
    let pods = again.wait_ready_pods(2, PODS_READY).await;
    let (holder, seen) = again.wait_holder(Some(&first), TIMEOUT).await;
    let names: Vec<String> = pods.iter().map(|p| p.name_any()).collect();
    assert!(
        names.iter().any(|n| n == pod_of(&holder)),
        "a new pod leads: {holder}"
    );
    let after = seen - reinstalled;
    println!(
        "reinstall: a new pod leads {:.1} s after helm install",
        after.as_secs_f64()
    );
    assert!(
        after < Duration::from_secs(30),
        "the new release led only after {after:?}"
    );
    must(world.kubectl_ns().args([
        "patch",
        "oidcsso",
        "reinstalled",
        "--type=merge",
        "-p",
        r#"{"spec":{"clientId":"reinstalled"}}"#,
    ]));
    wait_ready(&world, &again, "reinstalled").await;
}

/// Each writer's first and last write, ordered by the first.
fn spans(
    writes: &[(String, std::time::SystemTime)],
) -> Vec<(String, std::time::SystemTime, std::time::SystemTime)> {
    let mut spans: Vec<(String, std::time::SystemTime, std::time::SystemTime)> = vec![];
    for (who, at) in writes {
        match spans.iter_mut().find(|(w, _, _)| w == who) {
            Some(span) => {
                span.1 = span.1.min(*at);
                span.2 = span.2.max(*at);
            }
            None => spans.push((who.clone(), *at, *at)),
        }
    }
    spans.sort_by_key(|(_, first, _)| *first);
    spans
}

/// Writers whose spans of writes overlap in time: two writers at once.
fn overlaps(writes: &[(String, std::time::SystemTime)]) -> Vec<String> {
    spans(writes)
        .windows(2)
        .filter(|pair| pair[1].1 < pair[0].2)
        .map(|pair| {
            format!(
                "{} wrote until {:?}, {} from {:?}",
                pair[0].0, pair[0].2, pair[1].0, pair[1].1
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rolling_upgrade_to_a_new_image_never_has_two_writers_and_loses_nothing() {
    let node = Node::from_env();
    let world = node::world("node-upgrade", &node).await;
    let release = Release::install(
        &world,
        &node,
        &values(&[&IDP_HOST_ALIAS, &TEST_ELECTION, &RAISED_BUDGET]),
    );
    let before = release.wait_ready_pods(2, PODS_READY).await;
    release.wait_holder(None, TIMEOUT).await;
    let mut all = create_resources_with(&world, &names("before", 10), target(&world, &node)).await;
    fleet::wait_all_ready(
        &world,
        &names("before", 10),
        TIMEOUT,
        describe(&world, &release),
    )
    .await;

    let digest = node.image_variant("org.opencontainers.image.description=rolled");
    release.upgrade(&node, &[&format!("image.digest={digest}")]);
    // Creates keep arriving while the pods roll.
    let started = Instant::now();
    let mut round = 0;
    let after = loop {
        let names = names(&format!("during-{round}"), 3);
        all.extend(create_resources_with(&world, &names, target(&world, &node)).await);
        round += 1;
        let pods = release.pods().await;
        let rolled = pods.len() == 2
            && pods.iter().all(|p| {
                node::is_ready(p)
                    && p.spec.as_ref().unwrap().containers[0]
                        .image
                        .as_deref()
                        .is_some_and(|i| i.ends_with(&digest))
            });
        if rolled {
            break pods;
        }
        assert!(
            started.elapsed() < PODS_READY * 2,
            "the rollout did not finish: {}",
            describe(&world, &release)()
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    let old: Vec<String> = before.iter().map(|p| p.name_any()).collect();
    assert!(
        after.iter().all(|p| !old.contains(&p.name_any())),
        "every pod was replaced"
    );
    let names: Vec<String> = all.iter().map(|(n, _)| n.clone()).collect();
    fleet::wait_all_ready(&world, &names, TIMEOUT * 2, describe(&world, &release)).await;
    let problems = lost_or_duplicated(&world, &all).await;
    assert!(
        problems.is_empty(),
        "{} problems: {problems:?}",
        problems.len()
    );

    // Never two writers at once, on either side: the emulator's log and the API server's audit
    // log, by each process's user agent.
    let infisical: Vec<(String, std::time::SystemTime)> = world
        .emulator
        .control()
        .requests()
        .iter()
        .filter(|r| r.method != "GET")
        .filter_map(|r| {
            let who = identity_in(r.user_agent.as_deref()?)?.to_string();
            Some((
                who,
                std::time::UNIX_EPOCH + Duration::from_micros(r.at_unix_micros),
            ))
        })
        .collect();
    let kubernetes: Vec<(String, std::time::SystemTime)> =
        audited_writes(&world.kubeconfig, &world.namespace)
            .iter()
            // Writes that took effect: a refused one (a standby's Lease update losing the race to a
            // released Lease, 409) changed nothing.
            .filter(|w: &&AuditedWrite| w.code < 400)
            .filter_map(|w| Some((identity_in(&w.user_agent)?.to_string(), w.received)))
            .collect();
    let writers = spans(&kubernetes).len();
    println!(
        "rolling upgrade: {} Kubernetes writers and {} Infisical writers in turn, {} resources created during the rollout",
        writers,
        spans(&infisical).len(),
        round * 3
    );
    assert!(
        writers >= 2,
        "the lead moved to a new pod: {:?}",
        spans(&kubernetes)
    );
    assert!(
        overlaps(&infisical).is_empty(),
        "two writers to Infisical at once: {:?}",
        overlaps(&infisical)
    );
    assert!(
        overlaps(&kubernetes).is_empty(),
        "two writers to Kubernetes at once: {:?}",
        overlaps(&kubernetes)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_kubelet_restarts_a_stopped_operator_and_the_resource_is_served_again() {
    let node = Node::from_env();
    let world = node::world("node-liveness", &node).await;
    // One replica and quick probes: the test waits for one liveness verdict.
    let release = Release::install(
        &world,
        &node,
        &values(&[
            &IDP_HOST_ALIAS,
            &[
                "replicas=1",
                "livenessProbe.periodSeconds=2",
                "livenessProbe.failureThreshold=2",
                "livenessProbe.timeoutSeconds=1",
                "terminationGracePeriodSeconds=2",
            ],
        ]),
    );
    let pod = release.wait_ready_pods(1, PODS_READY).await.remove(0);
    let created = create_ready(&world, &node, &release, "alive").await;

    // The operator stops: it answers nothing, reconciles nothing.
    container(&node, &pod, "operator").signal("STOP");
    let pods: Api<Pod> = Api::namespaced(world.client.clone(), &world.namespace);
    let started = Instant::now();
    loop {
        let current = pods
            .get(&pod.name_any())
            .await
            .expect("the pod is still there");
        if restart_count(&current) >= 1 && node::is_ready(&current) {
            println!(
                "the kubelet restarted the stopped operator; Ready again after {:.1} s",
                started.elapsed().as_secs_f64()
            );
            break;
        }
        assert!(
            started.elapsed() < PODS_READY,
            "no restart: {}",
            describe(&world, &release)()
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }

    // Served again: an edit is applied.
    must(world.kubectl_ns().args([
        "patch",
        "oidcsso",
        "alive",
        "--type=merge",
        "-p",
        r#"{"spec":{"allowedEmailDomains":["example.com","example.org"]}}"#,
    ]));
    wait_ready(&world, &release, "alive").await;
    let (_, org) = &created[0];
    let stored = world
        .emulator
        .control()
        .org_state(org)
        .unwrap()
        .config
        .unwrap();
    assert_eq!(stored["allowedEmailDomains"], "example.com, example.org");
}

/// 1,050 resources, as the bench's first phase: each with its organisation, identity and Secret.
const SCALE: usize = 1050;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_pod_stays_within_the_charts_resources_with_1050_resources() {
    let node = Node::from_env();
    let world = node::world("node-scale", &node).await;
    // One replica (one container to measure), the chart's requests and limits, and the raised
    // budget: the shipped 60 writes a minute would take 35 minutes for 1,050 creates.
    let release = Release::install(
        &world,
        &node,
        &values(&[&IDP_HOST_ALIAS, &RAISED_BUDGET, &["replicas=1"]]),
    );
    let pod = release.wait_ready_pods(1, PODS_READY).await.remove(0);
    let limits = pod.spec.as_ref().unwrap().containers[0]
        .resources
        .as_ref()
        .and_then(|r| r.limits.clone())
        .expect("the chart sets limits");
    let limit = parse_quantity(&limits["memory"].0);
    let requests = pod.spec.as_ref().unwrap().containers[0]
        .resources
        .as_ref()
        .and_then(|r| r.requests.clone())
        .expect("the chart sets requests");
    let request = parse_quantity(&requests["memory"].0);

    let names = names("scale", SCALE);
    let started = Instant::now();
    let created = create_resources_with(&world, &names, target(&world, &node)).await;
    fleet::wait_all_ready(
        &world,
        &names,
        Duration::from_secs(600),
        describe(&world, &release),
    )
    .await;
    let elapsed = started.elapsed();

    let pods: Api<Pod> = Api::namespaced(world.client.clone(), &world.namespace);
    let current = pods.get(&pod.name_any()).await.unwrap();
    assert_eq!(
        restart_count(&current),
        0,
        "the container never restarted (no OOM kill)"
    );
    let process = container(&node, &current, "operator");
    let peak = process.memory("memory.max_usage_in_bytes");
    let now = process.memory("memory.usage_in_bytes");
    let rss = process.status().get("VmRSS").cloned().unwrap_or_default();
    let failures = process.memory("memory.failcnt");
    let cpu = process.cpu();
    println!(
        "{SCALE} resources Ready in {:.1} s; the container's memory cgroup: peak {:.1} MiB, now {:.1} MiB \
         (request {:.0} MiB, limit {:.0} MiB), {failures} allocation failures; process RSS {rss}; \
         CPU {:.1} s used, throttled in {} of {} periods for {:.1} s (limit {})",
        elapsed.as_secs_f64(),
        peak as f64 / 1048576.0,
        now as f64 / 1048576.0,
        request as f64 / 1048576.0,
        limit as f64 / 1048576.0,
        cpu.used.as_secs_f64(),
        cpu.throttled_periods,
        cpu.periods,
        cpu.throttled.as_secs_f64(),
        limits["cpu"].0,
    );
    assert!(
        peak <= request,
        "peak {peak} B within the request {request} B"
    );
    assert!(peak < limit, "peak {peak} B within the limit {limit} B");
    assert_eq!(failures, 0, "the cgroup never hit its limit");
    let problems = lost_or_duplicated(&world, &created).await;
    assert!(
        problems.is_empty(),
        "{} problems: {:?}",
        problems.len(),
        &problems[..problems.len().min(10)]
    );
}

/// A Kubernetes memory quantity in bytes (the chart's forms: Mi, Gi, M, plain).
fn parse_quantity(text: &str) -> u64 {
    let (number, unit) = text.split_at(
        text.find(|c: char| c.is_ascii_alphabetic())
            .unwrap_or(text.len()),
    );
    let number: u64 = number
        .parse()
        .unwrap_or_else(|_| panic!("a quantity: {text}"));
    number
        * match unit {
            "" => 1,
            "Ki" => 1 << 10,
            "Mi" => 1 << 20,
            "Gi" => 1 << 30,
            "k" => 1_000,
            "M" => 1_000_000,
            "G" => 1_000_000_000,
            other => panic!("unknown unit {other} in {text}"),
        }
}
