//! The mixed phase: `BENCH_N` resources split evenly across the SSO kinds the operator serves
//! (OidcSsoConfig, SamlSsoConfig, LdapSsoConfig), each its own organisation and identity,
//! created at once against a raw-budget operator in a namespace and emulator of their own.
//! Per kind: Infisical calls (the emulator's request log, by organisation), Kubernetes writes
//! (the API server's request counters, by resource), duplicate creates (a gate, as in the OIDC
//! phases); overall: first create -> all Ready against the same bare-patch floor as the OIDC
//! phase, reconcile passes, and an idle resync that must write nothing.

use kube::core::{ApiResource, DynamicObject, GroupVersionKind};
use serde_json::Value;

use super::*;

const GROUP: &str = "oidc.infisical-operator.io";
const VERSION: &str = "v1alpha1";
const LOGIN_PATH: &str = "/api/v1/auth/universal-auth/login";

/// One kind of the mix: its Kubernetes names and where Infisical keeps its configuration.
struct Kind {
    label: &'static str,
    kind: &'static str,
    plural: &'static str,
    /// Prefix of its resources' names (names are unique across kinds: one readiness map).
    prefix: &'static str,
    /// Infisical's config endpoint (GET, POST, PATCH), without the query.
    config_path: &'static str,
}

const OIDC: Kind = Kind {
    label: "OIDC",
    kind: "OidcSsoConfig",
    plural: "oidcssoconfigs",
    prefix: "mix-oidc",
    config_path: "/api/v1/sso/oidc/config",
};

const SAML: Kind = Kind {
    label: "SAML",
    kind: "SamlSsoConfig",
    plural: "samlssoconfigs",
    prefix: "mix-saml",
    config_path: "/api/v1/sso/config",
};

const LDAP: Kind = Kind {
    label: "LDAP",
    kind: "LdapSsoConfig",
    plural: "ldapssoconfigs",
    prefix: "mix-ldap",
    config_path: "/api/v1/ldap/config",
};

/// The Secret (and key) holding the directory's bind password, shared by every LDAP resource.
const LDAP_BIND_SECRET: &str = "ldap-bind";

impl Kind {
    fn api(&self, client: &Client, namespace: &str) -> Api<DynamicObject> {
        let gvk = GroupVersionKind::gvk(GROUP, VERSION, self.kind);
        let resource = ApiResource::from_gvk_with_plural(&gvk, self.plural);
        Api::namespaced_with(client.clone(), namespace, &resource)
    }

    /// Whether a request path (query included) is this kind's config endpoint.
    fn is_config(&self, path: &str) -> bool {
        path.split('?').next() == Some(self.config_path)
    }
}

/// What every kind's spec shares, and what each adds: one organisation and identity per resource.
struct Specs {
    host_api: String,
    /// The OIDC spec of the harness (discovery URL, client, the `idp-client` Secret).
    oidc: Value,
    /// An IdP signing certificate valid now (rcgen's default validity), PEM.
    saml_cert: String,
    /// The phase's directory: `ldaps://127.0.0.1:<port>`, its bind DN and the CA it is signed by.
    ldap_url: String,
    ldap_bind_dn: String,
    ldap_ca: String,
}

impl Specs {
    fn spec(&self, kind: &Kind, org_id: &str, index: usize) -> Value {
        let mut spec = match kind.kind {
            "OidcSsoConfig" => self.oidc.clone(),
            "SamlSsoConfig" => json!({
                "authProvider": "okta-saml",
                "entryPoint": "https://idp.example.com/app/infisical/sso/saml",
                "issuer": "http://www.okta.com/infisical",
                "cert": self.saml_cert,
            }),
            // Infisical binds to the directory on every create and PATCH (the emulator does too).
            "LdapSsoConfig" => json!({
                "url": self.ldap_url,
                "bindDN": self.ldap_bind_dn,
                "bindPassRef": {"name": LDAP_BIND_SECRET, "key": "password"},
                "searchBase": support::ldap::PEOPLE_DN,
                "groupSearchBase": support::ldap::GROUPS_DN,
                "caCertificate": self.ldap_ca,
            }),
            other => unreachable!("no spec for {other}"),
        };
        spec["organizationId"] = json!(org_id);
        spec["hostAPI"] = json!(self.host_api);
        spec["authentication"] =
            json!({"universalAuth": {"credentialsRef": {"name": format!("identity-{index}")}}});
        spec
    }
}

/// A resource of the mix: its name, its kind (index into the kinds) and its identity's index.
struct Member {
    name: String,
    kind: usize,
    index: usize,
}

/// Ready=True with reason Synced for the current generation, from the object's JSON.
fn dynamic_ready(object: &DynamicObject) -> bool {
    let status = &object.data["status"];
    let synced = status["conditions"].as_array().is_some_and(|conditions| {
        conditions
            .iter()
            .any(|c| c["type"] == "Ready" && c["status"] == "True" && c["reason"] == "Synced")
    });
    synced && status["observedGeneration"].as_i64() == object.metadata.generation
}

/// Records the instant each resource of `api` was first seen Ready into `ready`.
fn track_ready_dynamic(api: Api<DynamicObject>, ready: ReadyMap) {
    tokio::spawn(async move {
        let mut stream = watcher(api, watcher::Config::default())
            .default_backoff()
            .boxed();
        loop {
            match stream.try_next().await {
                Ok(Some(watcher::Event::Apply(r) | watcher::Event::InitApply(r))) => {
                    if dynamic_ready(&r)
                        && let Some(name) = r.metadata.name
                    {
                        ready
                            .lock()
                            .unwrap()
                            .entry(name)
                            .or_insert_with(Instant::now);
                    }
                }
                Ok(Some(_)) => {}
                Ok(None) => break,
                Err(error) => eprintln!("[bench] mixed ready watcher: {error} (retrying)"),
            }
        }
    });
}

/// Per-kind Infisical calls, from the emulator's request log.
#[derive(Clone, Copy, Default)]
struct Calls {
    posts: u64,
    patches: u64,
    gets: u64,
    logins: u64,
    other: u64,
}

/// The organisation a logged request was for: the emulator's own record, else the query's or the
/// body's `organizationId`.
fn entry_org(e: &infisical_emulator::LoggedRequest) -> Option<String> {
    e.org_id.clone().or_else(|| {
        e.path
            .split_once("organizationId=")
            .map(|(_, rest)| rest.split('&').next().unwrap_or("").to_string())
            .or_else(|| {
                e.body
                    .as_ref()
                    .and_then(|b| b["organizationId"].as_str().map(String::from))
            })
    })
}

/// Calls per kind among the log entries with `seq >= since`, each attributed through its
/// organisation (`org_kind`); and successful config POSTs per organisation, per kind.
fn calls_by_kind(
    control: &infisical_emulator::Control,
    since: u64,
    kinds: &[Kind],
    org_kind: &HashMap<String, usize>,
) -> (Vec<Calls>, Vec<HashMap<String, u64>>, u64) {
    let mut calls = vec![Calls::default(); kinds.len()];
    let mut posts = vec![HashMap::new(); kinds.len()];
    let mut unattributed = 0;
    control.with_requests(|entries| {
        for e in entries.filter(|e| e.seq >= since && e.path.starts_with("/api/")) {
            let org = entry_org(e).unwrap_or_default();
            let Some(&k) = org_kind.get(&org) else {
                unattributed += 1;
                continue;
            };
            let c = &mut calls[k];
            if e.path.starts_with(LOGIN_PATH) {
                c.logins += 1;
            } else if let Some(config_kind) = kinds.iter().position(|kind| kind.is_config(&e.path))
            {
                match e.method.as_str() {
                    "GET" => c.gets += 1,
                    "PATCH" => c.patches += 1,
                    "POST" => {
                        c.posts += 1;
                        if (200..300).contains(&e.status) {
                            // Keyed by the endpoint's kind: a POST on another kind's endpoint is
                            // stray for that kind.
                            *posts[config_kind].entry(org).or_default() += 1;
                        }
                    }
                    _ => c.other += 1,
                }
            } else {
                c.other += 1;
            }
        }
    });
    (calls, posts, unattributed)
}

/// Writes on `plural` between two snapshots of the API server's counters, deletions left out:
/// the namespace controller empties the floors' namespaces (every kind's resource) meanwhile, and
/// nothing in this phase deletes.
fn kind_writes(
    before: &Option<BTreeMap<(String, String, String), f64>>,
    after: &Option<BTreeMap<(String, String, String), f64>>,
    plural: &str,
) -> Option<f64> {
    let (before, after) = (before.as_ref()?, after.as_ref()?);
    let sum = |m: &BTreeMap<(String, String, String), f64>| -> f64 {
        m.iter()
            .filter(|((r, _, verb), _)| {
                r == plural && matches!(verb.as_str(), "POST" | "PUT" | "PATCH" | "APPLY")
            })
            .map(|(_, v)| v)
            .sum()
    };
    Some(sum(after) - sum(before))
}

/// Marks every member for an immediate sync (the annotation every kind honours).
async fn annotate_members(apis: &[Api<DynamicObject>], members: &[Member]) -> Res<()> {
    futures::stream::iter(members)
        .map(|m| {
            let api = apis[m.kind].clone();
            async move {
                let value = uuid::Uuid::new_v4().to_string();
                let patch = json!({"metadata": {"annotations": {RECONCILE_REQUESTED_AT_ANNOTATION: value}}});
                api.patch(&m.name, &PatchParams::default(), &Patch::Merge(&patch))
                    .await
                    .map_err(|e| format!("annotating {}: {e}", m.name))?;
                Ok::<_, BoxError>(())
            }
        })
        .buffer_unordered(CREATE_CONCURRENCY)
        .try_collect::<Vec<_>>()
        .await?;
    Ok(())
}

/// Removes every finalizer of every kind in the namespace (no operator runs any more).
async fn release_dynamic(api: &Api<DynamicObject>) -> Res<()> {
    let list = api.list(&ListParams::default()).await?;
    futures::stream::iter(list.items)
        .map(|r| {
            let api = api.clone();
            async move {
                let name = r.metadata.name.unwrap_or_default();
                let patch = json!({"metadata": {"finalizers": null}});
                let _ = api
                    .patch(&name, &PatchParams::default(), &Patch::Merge(&patch))
                    .await;
            }
        })
        .buffer_unordered(LARGE_CONCURRENCY)
        .collect::<Vec<_>>()
        .await;
    Ok(())
}

/// `n` resources across the kinds with the raw budget; `floor` is the bare-patch floor of the
/// same `n`, measured in this run.
pub(super) async fn phase(table: &mut Table, client: &Client, n: usize, floor: &Floor) -> Res<()> {
    table.settings(Settings::Raw);
    let kinds = [OIDC, SAML, LDAP];
    // One private slapd for the phase (killed on drop, at the end of the phase).
    let directory = support::ldap::Directory::start();
    log(format!(
        "mixed: slapd pid {} at {}",
        directory.pid(),
        directory.url
    ));
    let env = TestEnv::new("bench-mixed").await;
    let control = env.emulator.control();
    control.set_request_log_capacity(REQUEST_LOG_CAPACITY);
    // slapd listens on loopback, which Infisical refuses unless the instance allows the host.
    control.set_allowed_internal_hosts(vec!["127.0.0.1".into()]);
    env.put_secret(LDAP_BIND_SECRET, &[("password", directory.bind_password())])
        .await;
    let namespace = env.namespace.clone();
    let specs = Specs {
        host_api: env.emulator.base_url(),
        oidc: env.spec(json!({})),
        saml_cert: rcgen::generate_simple_self_signed(vec!["idp.example.com".into()])?
            .cert
            .pem(),
        ldap_url: directory.url.clone(),
        ldap_bind_dn: directory.bind_dn.clone(),
        ldap_ca: directory.ca_pem.clone(),
    };
    let mut workload = Workload {
        secrets: Api::namespaced(env.client.clone(), &namespace),
        env,
        orgs: Vec::new(),
    };
    let split = kinds
        .iter()
        .enumerate()
        .map(|(k, kind)| {
            format!(
                "{} {}",
                n / kinds.len() + usize::from(k < n % kinds.len()),
                kind.label
            )
        })
        .collect::<Vec<_>>()
        .join(" / ");
    log(format!(
        "mixed: seeding {n} orgs, identities and Secrets in {namespace} ({split})"
    ));
    workload.seed(n, LARGE_CONCURRENCY).await?;
    let members: Vec<Member> = (0..n)
        .map(|i| {
            let kind = i % kinds.len();
            Member {
                name: format!("{}-{i}", kinds[kind].prefix),
                kind,
                index: i,
            }
        })
        .collect();
    let org_kind: HashMap<String, usize> = members
        .iter()
        .map(|m| (workload.orgs[m.index].clone(), m.kind))
        .collect();
    let per_kind: Vec<usize> = (0..kinds.len())
        .map(|k| members.iter().filter(|m| m.kind == k).count())
        .collect();
    let apis: Vec<Api<DynamicObject>> = kinds.iter().map(|k| k.api(client, &namespace)).collect();
    let objects = members
        .iter()
        .map(|m| {
            let kind = &kinds[m.kind];
            let object = json!({
                "apiVersion": format!("{GROUP}/{VERSION}"),
                "kind": kind.kind,
                "metadata": {"name": m.name},
                "spec": specs.spec(kind, &workload.orgs[m.index], m.index),
            });
            Ok((m.kind, serde_json::from_value::<DynamicObject>(object)?))
        })
        .collect::<Res<Vec<_>>>()?;

    let ready: ReadyMap = Arc::default();
    for api in &apis {
        track_ready_dynamic(api.clone(), ready.clone());
    }
    let operator = OperatorProcess::start(&namespace, Budget::Raw, "mixed").await?;
    log(format!(
        "mixed: operator pid {} ready (raw budget)",
        operator.pid
    ));
    let since = next_seq(&control);
    let before = operator.counters().await?;
    let api_before = apiserver_requests(client).await;

    log(format!(
        "mixed: creating {n} resources ({split}), {CREATE_CONCURRENCY} in flight"
    ));
    let t0 = Instant::now();
    create_all(
        objects
            .into_iter()
            .map(|(k, object)| (apis[k].clone(), object)),
        CREATE_CONCURRENCY,
    )
    .await?;
    let names: Vec<String> = members.iter().map(|m| m.name.clone()).collect();
    let done = match wait_ready_core(&ready, &names, Duration::from_secs(300)).await {
        Ok(done) => done,
        Err((seen, missing)) => {
            let kind = members
                .iter()
                .find(|m| m.name == missing)
                .map_or(0, |m| m.kind);
            let state = apis[kind]
                .get_opt(&missing)
                .await
                .ok()
                .flatten()
                .map(|o| o.data["status"].to_string());
            table.plain(
                &format!("mixed {n} ({split}): first create -> all Ready"),
                format!("FAILED: {seen}/{n} Ready within 300 s"),
            );
            let _ = operator.stop().await;
            return fail(format!(
                "mixed: only {seen}/{n} resources became Ready; e.g. {missing}: {state:?}"
            ));
        }
    };
    let took = done.saturating_duration_since(t0);
    table.row(
        &format!("mixed {n} ({split}; preflight Skip): first create -> all Ready"),
        format!("{} ({:.1}/s)", secs(took), n as f64 / took.as_secs_f64()),
        format!("{n} bare status patches {}", secs(floor.patch_wall)),
        ratio(took.as_secs_f64(), floor.patch_wall.as_secs_f64()),
    );
    table.row(
        &format!("mixed {n}: all Ready vs bare create+patch"),
        secs(took),
        secs(floor.create_wall + floor.patch_wall),
        ratio(
            took.as_secs_f64(),
            (floor.create_wall + floor.patch_wall).as_secs_f64(),
        ),
    );

    // Per create, once the trailing passes (started by the operator's own writes) settle.
    operator
        .quiesce(
            before.reconciles + n as f64,
            Duration::from_secs(2),
            Duration::from_secs(120),
        )
        .await?;
    let after = operator.counters().await?;
    let api_after = apiserver_requests(client).await;
    let d = after.delta(&before);
    log(format!(
        "mixed create pass: reconciles {} errors {} requests [{}]",
        d.reconciles,
        d.errors,
        d.describe_requests()
    ));
    table.plain(
        &format!("mixed {n}: reconcile passes per create, errors"),
        format!("{:.2}, {}", d.reconciles / n as f64, d.errors),
    );
    table.plain(
        &format!("mixed {n}: Kubernetes status writes per create (operator)"),
        format!("{:.2}", d.status_writes / n as f64),
    );
    let (calls, posts, unattributed) = calls_by_kind(&control, since, &kinds, &org_kind);
    for (k, kind) in kinds.iter().enumerate() {
        let count = per_kind[k] as f64;
        let c = calls[k];
        let per = |v: u64| v as f64 / count;
        table.row(
            &format!(
                "mixed {n}, {} ({}): Infisical calls per create: POST / PATCH / login / GET",
                kind.label, per_kind[k]
            ),
            format!(
                "{:.2} / {:.2} / {:.2} / {:.2}{}",
                per(c.posts),
                per(c.patches),
                per(c.logins),
                per(c.gets),
                if c.other > 0 {
                    format!(" (+{:.2} other)", per(c.other))
                } else {
                    String::new()
                }
            ),
            "1 / 0 / 1 / 1".into(),
            ratio(
                (c.posts + c.patches + c.logins + c.gets + c.other) as f64,
                3.0 * count,
            ),
        );
        log(format!(
            "mixed create pass, apiserver writes on {} (incl. the bench's {} POSTs): {}",
            kind.plural,
            per_kind[k],
            api_breakdown(&api_before, &api_after, kind.plural)
        ));
        if let Some(w) = kind_writes(&api_before, &api_after, kind.plural) {
            let writes = (w - count) / count;
            table.row(
                &format!(
                    "mixed {n}, {}: Kubernetes writes per create, operator (apiserver count)",
                    kind.label
                ),
                format!("{writes:.2}"),
                "3".into(),
                ratio(writes, 3.0),
            );
        }
        // Duplicate creates: the gate of the OIDC phases, per kind.
        let wanted: std::collections::HashSet<&str> = members
            .iter()
            .filter(|m| m.kind == k)
            .map(|m| workload.orgs[m.index].as_str())
            .collect();
        let duplicates = posts[k].values().filter(|&&c| c > 1).count();
        let stray = posts[k]
            .keys()
            .filter(|o| !wanted.contains(o.as_str()))
            .count();
        let missing = wanted
            .iter()
            .filter(|o| !posts[k].contains_key(**o))
            .count();
        table.plain(
            &format!(
                "mixed {n}, {}: duplicate creates (orgs with > 1 POST, emulator log)",
                kind.label
            ),
            format!(
                "{duplicates} ({} POSTs for {} resources, {missing} without one, {stray} stray)",
                posts[k].values().sum::<u64>(),
                per_kind[k]
            ),
        );
        if duplicates > 0 || stray > 0 {
            table.failures.push(format!(
                "mixed {}: {duplicates} organisations were created more than once, {stray} created without a resource of this kind",
                kind.label
            ));
        }
    }
    if unattributed > 0 {
        log(format!(
            "mixed: {unattributed} Infisical requests without an organisation of the phase"
        ));
    }
    if let Some(w) = api_writes(&api_before, &api_after, "events") {
        table.plain(
            &format!("mixed {n}: Kubernetes Event writes per create"),
            format!("{:.2}", w / n as f64),
        );
    }
    let stats = control.request_log_stats();
    if stats.dropped > 0 && control.with_requests(|mut e| e.next().is_some_and(|e| e.seq > since)) {
        table.failures.push(
            "mixed: the emulator's request log dropped entries of this phase; raise its capacity"
                .into(),
        );
    }

    // Idle resync of everything: nothing may be written, anywhere.
    let since = next_seq(&control);
    let before = operator.counters().await?;
    let api_before = apiserver_requests(client).await;
    log(format!("mixed idle resync: annotating {n} resources"));
    annotate_members(&apis, &members).await?;
    operator
        .quiesce(
            before.reconciles + n as f64,
            Duration::from_secs(2),
            Duration::from_secs(180),
        )
        .await?;
    let after = operator.counters().await?;
    let api_after = apiserver_requests(client).await;
    let d = after.delta(&before);
    let (calls, _, _) = calls_by_kind(&control, since, &kinds, &org_kind);
    let infisical_writes: u64 = calls.iter().map(|c| c.posts + c.patches).sum();
    let infisical_gets: u64 = calls.iter().map(|c| c.gets).sum();
    let kube_writes: Option<f64> = kinds
        .iter()
        .zip(&per_kind)
        .map(|(kind, &count)| {
            kind_writes(&api_before, &api_after, kind.plural).map(|w| w - count as f64)
        })
        .sum();
    let events = api_writes(&api_before, &api_after, "events");
    table.plain(
        &format!(
            "mixed idle resync of {n}: Kubernetes writes (operator) / Events / Infisical writes"
        ),
        format!(
            "{} / {} / {} (status writes {}, {} passes, {infisical_gets} GETs)",
            kube_writes.map_or("n/a".into(), |w| w.to_string()),
            events.map_or("n/a".into(), |w| w.to_string()),
            infisical_writes,
            d.status_writes,
            d.reconciles
        ),
    );
    if infisical_writes > 0 || kube_writes.is_some_and(|w| w > 0.0) || d.status_writes > 0.0 {
        table.failures.push(format!(
            "mixed idle resync: {infisical_writes} Infisical writes, {kube_writes:?} Kubernetes writes, {} status writes (want 0)",
            d.status_writes
        ));
    }
    let _ = operator.stop().await;

    // Unlike the OIDC phases, its objects go at once whatever BENCH_SKIP_CLEANUP says: the
    // phases after it run against the same API server and should not carry them.
    for api in &apis {
        release_dynamic(api).await?;
    }
    workload.env.cleanup().await;
    drop(directory);
    wait_namespace_gone(client, &namespace).await;
    Ok(())
}

/// Waits (at most 3 minutes) until the namespace controller has removed `namespace`: its
/// deletions would otherwise load the API server during the next phase's measurements.
async fn wait_namespace_gone(client: &Client, namespace: &str) {
    let namespaces: Api<Namespace> = Api::all(client.clone());
    let t = Instant::now();
    while t.elapsed() < Duration::from_secs(180) {
        if let Ok(None) = namespaces.get_opt(namespace).await {
            log(format!(
                "mixed: namespace {namespace} removed in {}",
                secs(t.elapsed())
            ));
            return;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    log(format!(
        "mixed: namespace {namespace} still being removed after 180 s; going on"
    ));
}
