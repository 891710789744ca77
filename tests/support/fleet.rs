//! Many resources at once, each with an organisation and identity of its own, and who wrote
//! what: for failover, upgrade and scale tests (built operator processes or the chart's pods).

use std::collections::HashSet;
use std::time::{Duration, Instant};

use futures::StreamExt;
use infisical_emulator::{LoggedRequest, OrgSeed};
use infisical_oidc_operator::api::OidcSsoConfig;
use k8s_openapi::api::core::v1::Secret;
use kube::api::PostParams;
use kube::{Api, ResourceExt};
use serde_json::{Value, json};

use super::process::{AuditedWrite, EXAMPLE_IDP_SECRET, World};

/// Seeds an organisation and identity per name, the identity's Secret, and an OidcSsoConfig for
/// that organisation targeting the world's emulator; returns (name, organisation id).
pub async fn create_resources(world: &World, names: &[String]) -> Vec<(String, String)> {
    create_resources_with(world, names, json!({"hostAPI": world.emulator.base_url()})).await
}

/// [`create_resources`] with `spec` fields on top of the common ones (for example another
/// `hostAPI` and a `caBundleRef`).
pub async fn create_resources_with(
    world: &World,
    names: &[String],
    spec: Value,
) -> Vec<(String, String)> {
    let secrets: Api<Secret> = Api::namespaced(world.client.clone(), &world.namespace);
    let resources: Api<OidcSsoConfig> = Api::namespaced(world.client.clone(), &world.namespace);
    let idp = json!({
        "metadata": {"name": "idp-client"},
        "stringData": {"clientSecret": EXAMPLE_IDP_SECRET},
    });
    let _ = secrets
        .create(
            &PostParams::default(),
            &serde_json::from_value(idp).unwrap(),
        )
        .await;
    let control = world.emulator.control();
    let seeded: Vec<(String, String, _)> = names
        .iter()
        .map(|name| {
            let (org_id, identity) = super::seed_org_and_identity(&control, OrgSeed::default());
            (name.clone(), org_id, identity)
        })
        .collect();
    futures::stream::iter(seeded.iter())
        .for_each_concurrent(16, |(name, org_id, identity)| {
            let (secrets, resources, spec) = (secrets.clone(), resources.clone(), spec.clone());
            async move {
                let secret = json!({
                    "metadata": {"name": format!("identity-{name}")},
                    "stringData": {"clientId": identity.client_id, "clientSecret": identity.client_secret},
                });
                secrets
                    .create(&PostParams::default(), &serde_json::from_value(secret).unwrap())
                    .await
                    .expect("the identity Secret is created");
                let mut resource = json!({
                    "apiVersion": "oidc.infisical-operator.io/v1alpha1",
                    "kind": "OidcSsoConfig",
                    "metadata": {"name": name},
                    "spec": {
                        "organizationId": org_id,
                        "authentication": {"universalAuth": {"credentialsRef": {"name": format!("identity-{name}")}}},
                        "configurationType": "discoveryURL",
                        "discoveryURL": "https://idp.example.com/.well-known/openid-configuration",
                        "clientId": "infisical",
                        "clientSecretRef": {"name": "idp-client", "key": "clientSecret"},
                        "allowedEmailDomains": ["example.com"],
                    },
                });
                if let (Some(target), Some(extra)) =
                    (resource["spec"].as_object_mut(), spec.as_object())
                {
                    target.extend(extra.clone());
                }
                resources
                    .create(&PostParams::default(), &serde_json::from_value(resource).unwrap())
                    .await
                    .expect("the OidcSsoConfig is created");
            }
        })
        .await;
    seeded
        .into_iter()
        .map(|(name, org_id, _)| (name, org_id))
        .collect()
}

/// Waits until every named resource is Ready for its current generation; on timeout panics with
/// what `describe` says (operator logs, pods).
pub async fn wait_all_ready(
    world: &World,
    names: &[String],
    timeout: Duration,
    describe: impl Fn() -> String,
) {
    let api: Api<OidcSsoConfig> = Api::namespaced(world.client.clone(), &world.namespace);
    let deadline = Instant::now() + timeout;
    loop {
        let list = api.list(&Default::default()).await.expect("list");
        let ready: HashSet<String> = list
            .items
            .iter()
            .filter(|r| {
                r.status.as_ref().is_some_and(|s| {
                    s.observed_generation == r.metadata.generation
                        && s.condition("Ready").is_some_and(|c| c.status == "True")
                })
            })
            .map(|r| r.name_any())
            .collect();
        let missing: Vec<&String> = names.iter().filter(|n| !ready.contains(*n)).collect();
        if missing.is_empty() {
            return;
        }
        if Instant::now() > deadline {
            panic!(
                "{} of {} resources not Ready after {timeout:?}, e.g. {:?}\n{}",
                missing.len(),
                names.len(),
                &missing[..missing.len().min(5)],
                describe()
            );
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// How many of the emulator's logged requests came from the process with this identity (its
/// user agent ends in `(<identity>)`).
pub fn requests_by(requests: &[LoggedRequest], identity: &str) -> usize {
    let marker = format!("({identity})");
    requests
        .iter()
        .filter(|r| {
            r.user_agent
                .as_deref()
                .is_some_and(|ua| ua.contains(&marker))
        })
        .count()
}

/// The audited writes of the process with this identity.
pub fn writes_by(writes: &[AuditedWrite], identity: &str) -> Vec<AuditedWrite> {
    let marker = format!("({identity})");
    writes
        .iter()
        .filter(|w| w.user_agent.contains(&marker))
        .cloned()
        .collect()
}

/// The operator identity in a user agent (`infisical-oidc-operator/<version> (<identity>)`).
pub fn identity_in(user_agent: &str) -> Option<&str> {
    let open = user_agent.rfind('(')?;
    user_agent[open + 1..].strip_suffix(')')
}

/// What went wrong for the named resources, each of its own organisation: a configuration
/// created other than exactly once, or a `status.id` other than the one Infisical stored.
pub async fn lost_or_duplicated(world: &World, resources: &[(String, String)]) -> Vec<String> {
    let api: Api<OidcSsoConfig> = Api::namespaced(world.client.clone(), &world.namespace);
    let recorded: std::collections::HashMap<String, Option<String>> = api
        .list(&Default::default())
        .await
        .expect("list the resources")
        .items
        .into_iter()
        .map(|r| (r.name_any(), r.status.and_then(|s| s.common.id)))
        .collect();
    let control = world.emulator.control();
    let mut problems = vec![];
    for (name, org_id) in resources {
        let org = control.org_state(org_id).expect("the org exists");
        let stored = org
            .config
            .as_ref()
            .and_then(|c| c["id"].as_str())
            .map(str::to_string);
        let recorded = recorded.get(name).cloned().flatten();
        if org.posts != 1 {
            problems.push(format!("{name}: {} creates", org.posts));
        }
        if stored.is_none() || recorded != stored {
            problems.push(format!(
                "{name}: status.id {recorded:?}, Infisical {stored:?}"
            ));
        }
    }
    problems
}
