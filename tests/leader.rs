//! Leader election end to end: two (or more) BUILT operator binaries against the real API
//! server and the emulator over HTTP. Who wrote what is counted per process from the emulator's
//! request log and the API server's audit log, by user agent: each replica's user agent names its
//! identity, which is also the Lease's `holderIdentity`.
//!
//! Timings for every test: Lease 6 s, renew deadline 3 s, retry period 1 s, Infisical request
//! timeout 2 s (the operator refuses a Lease not longer than the other two together). The
//! budgets are raised so that the limiter never paces these tests, and 16 resources are
//! reconciled at once: they measure failover.

mod support;

use std::time::{Duration, Instant, SystemTime};

use infisical_emulator::{Fault, FaultKind};
use infisical_oidc_operator::api::OidcSsoConfig;
use k8s_openapi::api::coordination::v1::Lease;
use kube::Api;
use kube::api::{Patch, PatchParams};
use serde_json::json;
use support::fleet::{self, create_resources, lost_or_duplicated, requests_by as by, writes_by};
use support::process::*;

const LEASE_NAME: &str = "infisical-oidc-operator";
const LEASE_DURATION: Duration = Duration::from_secs(6);

fn elected_flags(namespace: &str) -> Vec<String> {
    [
        "--leader-elect",
        "--leader-elect-lease-namespace",
        namespace,
        "--leader-elect-lease-duration",
        "6s",
        "--leader-elect-renew-deadline",
        "3s",
        "--leader-elect-retry-period",
        "1s",
        "--request-timeout",
        "2s",
        "--max-writes-per-minute",
        "100000",
        "--max-reads-per-minute",
        "100000",
        "--concurrency",
        "16",
    ]
    .map(str::to_string)
    .to_vec()
}

fn start_replica(world: &World, tag: &str) -> OperatorProcess {
    let flags = elected_flags(&world.namespace);
    let flags: Vec<&str> = flags.iter().map(String::as_str).collect();
    world.start_operator_with(tag, &flags)
}

async fn holder(world: &World) -> Option<String> {
    let leases: Api<Lease> = Api::namespaced(world.client.clone(), &world.namespace);
    leases
        .get_opt(LEASE_NAME)
        .await
        .ok()
        .flatten()
        .and_then(|l| l.spec?.holder_identity)
        .filter(|h| !h.is_empty())
}

/// Waits until the Lease is held by an identity other than `not`; returns it and when it was
/// first seen.
async fn wait_for_holder(world: &World, not: Option<&str>, timeout: Duration) -> (String, Instant) {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(h) = holder(world).await
            && Some(h.as_str()) != not
        {
            return (h, Instant::now());
        }
        assert!(
            Instant::now() < deadline,
            "no new Lease holder (other than {not:?}) within {timeout:?}; holder: {:?}",
            holder(world).await
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The replica whose tag begins the identity.
fn tag_of(identity: &str) -> &str {
    identity.rsplit_once('_').map_or(identity, |(tag, _)| tag)
}

/// Waits until every named resource is Ready; on timeout shows the replicas' logs.
async fn wait_all_ready(
    world: &World,
    names: &[String],
    timeout: Duration,
    logs: &[&OperatorProcess],
) {
    fleet::wait_all_ready(world, names, timeout, || {
        let tails: Vec<String> = logs.iter().map(|p| p.log_tail(40)).collect();
        format!("--- operator logs:\n{}", tails.join("\n---\n"))
    })
    .await
}

fn metric(body: &str, name: &str) -> Option<f64> {
    body.lines()
        .find(|l| l.split_whitespace().next() == Some(name))
        .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn of_two_replicas_only_the_leader_writes_anywhere() {
    let world = World::new("le-one").await;
    let a = start_replica(&world, "replica-a");
    let b = start_replica(&world, "replica-b");
    let (leader_id, _) = wait_for_holder(&world, None, TIMEOUT).await;
    let (leader, standby, standby_tag) = if tag_of(&leader_id) == "replica-a" {
        (&a, &b, "replica-b")
    } else {
        (&b, &a, "replica-a")
    };
    let names: Vec<String> = (0..10).map(|i| format!("one-{i}")).collect();
    create_resources(&world, &names).await;
    wait_all_ready(&world, &names, TIMEOUT, &[&a, &b]).await;

    // Both answer /readyz; the gauge says which one leads.
    for replica in [leader, standby] {
        replica.wait_http_ok("/readyz");
    }
    let gauge = |p: &OperatorProcess| {
        metric(
            &p.wait_http_ok("/metrics"),
            "infisical_oidc_operator_leader",
        )
    };
    assert_eq!(gauge(leader), Some(1.0));
    assert_eq!(gauge(standby), Some(0.0));

    let requests = world.emulator.control().requests();
    assert!(
        by(&requests, &leader_id) >= 3 * names.len(),
        "the leader logged in, read and created for each resource: {} requests",
        by(&requests, &leader_id)
    );
    assert_eq!(
        by(&requests, &leader_id),
        requests.len(),
        "every request to Infisical came from the leader"
    );

    // Ready is in the status write; the unmark and the Events follow it, and the audit log
    // records each request once it completed: wait for all of them to be there.
    let resource_writes = |writes: &[AuditedWrite]| {
        writes_by(writes, &leader_id)
            .into_iter()
            .filter(|w| w.resource != "leases")
            .count()
    };
    let writes = poll(
        "the audit log to record the leader's writes (mark, status, unmark, Created Event)",
        TIMEOUT,
        || {
            let writes = audited_writes(&world.kubeconfig, &world.namespace);
            (resource_writes(&writes) >= 4 * names.len()).then_some(writes)
        },
        || {
            let writes = audited_writes(&world.kubeconfig, &world.namespace);
            format!("{} writes by the leader", resource_writes(&writes))
        },
    );
    // Nothing from the standby but, possibly, its refused attempt to create the Lease (when
    // both started at once).
    let standby_marker = format!("({standby_tag}_");
    let standby_writes: Vec<&AuditedWrite> = writes
        .iter()
        .filter(|w| w.user_agent.contains(&standby_marker))
        .filter(|w| !(w.resource == "leases" && w.code == 409))
        .collect();
    assert!(
        standby_writes.is_empty(),
        "the standby wrote to the API server: {standby_writes:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_of_the_leader_during_creates_ten_times_loses_and_duplicates_nothing() {
    let world = World::new("le-failover").await;
    let mut replicas = vec![start_replica(&world, "r0"), start_replica(&world, "r1")];
    let mut tags = vec!["r0".to_string(), "r1".to_string()];
    let mut next_tag = 2;
    let (mut leader_id, _) = wait_for_holder(&world, None, TIMEOUT).await;
    let mut takeovers = vec![];
    let mut all: Vec<(String, String)> = vec![];
    for round in 0..10 {
        let names: Vec<String> = (0..50).map(|i| format!("f{round}-{i}")).collect();
        world.emulator.control().inject_fault(Fault {
            method: Some("POST".into()),
            path_prefix: Some("/api/v1/sso/oidc/config".into()),
            count: 50,
            kind: FaultKind::CommitThenDelay { millis: 500 },
        });
        let posts_before = world
            .emulator
            .control()
            .requests_matching("POST", "/api/v1/sso/oidc/config")
            .len();
        let created = create_resources(&world, &names).await;
        // Mid-burst: some creates committed (their answers held back), most not yet sent.
        let deadline = Instant::now() + TIMEOUT;
        while world
            .emulator
            .control()
            .requests_matching("POST", "/api/v1/sso/oidc/config")
            .len()
            < posts_before + 5
        {
            assert!(
                Instant::now() < deadline,
                "round {round}: the leader sent no creates"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let index = tags
            .iter()
            .position(|t| t == tag_of(&leader_id))
            .expect("the leader is one of ours");
        tags.remove(index);
        let mut killed = replicas.remove(index);
        let killed_at = Instant::now();
        killed.kill();
        let (new_leader, seen) = wait_for_holder(
            &world,
            Some(&leader_id),
            LEASE_DURATION + Duration::from_secs(10),
        )
        .await;
        takeovers.push(seen - killed_at);
        leader_id = new_leader;
        // The pod restarts, as a standby.
        tags.push(format!("r{next_tag}"));
        replicas.push(start_replica(&world, &format!("r{next_tag}")));
        next_tag += 1;
        let logs: Vec<&OperatorProcess> = replicas.iter().collect();
        wait_all_ready(&world, &names, TIMEOUT, &logs).await;
        all.extend(created);
    }

    takeovers.sort();
    let p50 = takeovers[takeovers.len() / 2];
    let max = *takeovers.last().unwrap();
    println!(
        "takeover after kill -9 of the leader, 10 rounds (Lease 6 s, renew deadline 3 s, retry 1 s): p50 {:.2} s, max {:.2} s; all: {:?}",
        p50.as_secs_f64(),
        max.as_secs_f64(),
        takeovers
            .iter()
            .map(|d| format!("{:.2}", d.as_secs_f64()))
            .collect::<Vec<_>>()
    );
    assert!(
        max <= LEASE_DURATION + Duration::from_secs(2),
        "a takeover took {max:?}, more than the Lease duration + 2 s"
    );

    // 0 duplicates and 0 lost ids, over all 500.
    let problems = lost_or_duplicated(&world, &all).await;
    assert!(
        problems.is_empty(),
        "{} problems: {:?}",
        problems.len(),
        &problems[..problems.len().min(10)]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_of_the_leader_hands_over_in_under_two_seconds() {
    let world = World::new("le-term").await;
    let a = start_replica(&world, "replica-a");
    let (first, _) = wait_for_holder(&world, None, TIMEOUT).await;
    let b = start_replica(&world, "replica-b");
    let names = vec!["term-0".to_string()];
    create_resources(&world, &names).await;
    wait_all_ready(&world, &names, TIMEOUT, &[&a, &b]).await;
    b.wait_http_ok("/readyz");
    let (mut leader, standby, standby_tag) = if tag_of(&first) == "replica-a" {
        (a, b, "replica-b")
    } else {
        (b, a, "replica-a")
    };

    let signalled = Instant::now();
    leader.sigterm();
    let (next, seen) = wait_for_holder(&world, Some(&first), Duration::from_secs(10)).await;
    let handover = seen - signalled;
    println!("hand-over after SIGTERM: {:.2} s", handover.as_secs_f64());
    assert!(
        handover < Duration::from_secs(2),
        "hand-over took {handover:?}\n--- leader:\n{}\n--- standby:\n{}",
        leader.log_tail(20),
        standby.log_tail(20)
    );
    assert_eq!(tag_of(&next), standby_tag);
    let status = leader
        .wait_exit(Duration::from_secs(10))
        .expect("the old leader exits");
    assert!(status.success(), "{status:?}\n{}", leader.log_tail(20));
    assert!(
        leader.log_text().contains("released the Lease"),
        "{}",
        leader.log_tail(20)
    );

    // The new leader reconciles: an edit reaches Infisical.
    let api: Api<OidcSsoConfig> = Api::namespaced(world.client.clone(), &world.namespace);
    api.patch(
        "term-0",
        &PatchParams::default(),
        &Patch::Merge(json!({"spec": {"allowedEmailDomains": ["example.net"]}})),
    )
    .await
    .unwrap();
    wait_all_ready(&world, &names, TIMEOUT, &[&standby]).await;
    let requests = world.emulator.control().requests();
    assert!(
        requests
            .iter()
            .any(|r| r.method == "PATCH" && by(std::slice::from_ref(r), &next) == 1),
        "the new leader sent the update"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_leader_frozen_past_its_lease_writes_nothing_after_it_resumes() {
    let world = World::new("le-frozen").await;
    let a = start_replica(&world, "replica-a");
    let (first, _) = wait_for_holder(&world, None, TIMEOUT).await;
    let b = start_replica(&world, "replica-b");
    let names: Vec<String> = (0..5).map(|i| format!("frozen-{i}")).collect();
    create_resources(&world, &names).await;
    wait_all_ready(&world, &names, TIMEOUT, &[&a, &b]).await;
    let (mut frozen, other, other_tag) = if tag_of(&first) == "replica-a" {
        (a, b, "replica-b")
    } else {
        (b, a, "replica-a")
    };

    frozen.signal("STOP");
    // Work for whoever leads: edits the frozen leader's watch will deliver once it resumes.
    let api: Api<OidcSsoConfig> = Api::namespaced(world.client.clone(), &world.namespace);
    for name in &names {
        api.patch(
            name,
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"allowedEmailDomains": ["example.net"]}})),
        )
        .await
        .unwrap();
    }
    let (next, _) = wait_for_holder(
        &world,
        Some(&first),
        LEASE_DURATION + Duration::from_secs(10),
    )
    .await;
    assert_eq!(tag_of(&next), other_tag);
    wait_all_ready(&world, &names, TIMEOUT, &[&other]).await;
    // Frozen well past the Lease duration.
    tokio::time::sleep(LEASE_DURATION).await;

    let seq = world.emulator.control().request_log_stats().next_seq;
    let resumed = SystemTime::now();
    frozen.signal("CONT");
    let status = frozen
        .wait_exit(Duration::from_secs(10))
        .unwrap_or_else(|| {
            panic!(
                "the resumed replica keeps running:\n{}",
                frozen.log_tail(30)
            )
        });
    assert!(
        !status.success(),
        "it exits with an error, to restart as a standby"
    );
    assert!(
        frozen.log_text().contains("lost leadership"),
        "{}",
        frozen.log_tail(30)
    );
    // Let anything it might still have sent land before counting.
    tokio::time::sleep(Duration::from_secs(1)).await;

    let after = world.emulator.control().requests_since(seq);
    assert_eq!(
        by(&after, &first),
        0,
        "requests to Infisical after it resumed: {after:?}"
    );
    let writes: Vec<AuditedWrite> =
        writes_by(&audited_writes(&world.kubeconfig, &world.namespace), &first)
            .into_iter()
            .filter(|w| w.received >= resumed)
            .collect();
    assert!(
        writes.is_empty(),
        "Kubernetes writes after it resumed: {writes:?}"
    );
    // It did write before it froze: the counting can see it.
    assert!(!writes_by(&audited_writes(&world.kubeconfig, &world.namespace), &first).is_empty());
    assert_eq!(
        holder(&world).await.as_deref(),
        Some(next.as_str()),
        "the other replica still leads"
    );
}
