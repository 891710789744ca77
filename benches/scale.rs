//! Scale benchmark: the release operator binary against a real kube-apiserver and the in-process
//! emulator. Every figure is printed next to a floor measured in the same run (a bare status patch
//! round trip, the wall time of bare status patches at the same concurrency, the idle RSS), so the
//! ratios stay meaningful on any machine.
//!
//!   bash hack/bench.sh                              # starts its own kube-apiserver
//!   KUBECONFIG=... cargo bench --bench scale        # any cluster; BENCH_LARGE=1 adds 10,000 objects
//!
//! Knobs: BENCH_N (default 1000), BENCH_LATENCY_SAMPLES (50), BENCH_LARGE (0; 1 adds objects up to
//! BENCH_LARGE_TOTAL, default 10,000), BENCH_APISERVER_PID / BENCH_ETCD_PID (RSS as context),
//! BENCH_SKIP_CLEANUP=1 (leave the namespaces behind, e.g. on a throwaway cluster).
//!
//! Not a libtest harness: under `cargo test`/`cargo nextest` (no `--bench` argument) it does nothing.

#[path = "../tests/support/mod.rs"]
mod support;

use std::collections::{BTreeMap, HashMap};
use std::process::{ExitCode, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::{StreamExt, TryStreamExt};
use infisical_emulator::{IdentitySeed, OrgSeed};
use infisical_oidc_operator::api::{OidcSsoConfig, RECONCILE_REQUESTED_AT_ANNOTATION};
use k8s_openapi::api::core::v1::{Namespace, Secret};
use kube::api::{DeleteParams, ListParams, Patch, PatchParams, PostParams};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Api, Client};
use serde_json::json;
use support::TestEnv;

const CREATE_CONCURRENCY: usize = 32;
const LARGE_CONCURRENCY: usize = 64;
const FLOOR_SAMPLES: usize = 100;
const OPERATOR_CONCURRENCY: u16 = 16;

type BoxError = Box<dyn std::error::Error + Send + Sync>;
type Res<T> = Result<T, BoxError>;

fn fail<T>(message: impl Into<String>) -> Res<T> {
    Err(message.into().into())
}

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(default)
}

fn env_flag(name: &str) -> bool {
    matches!(
        std::env::var(name).as_deref().map(str::trim),
        Ok("1" | "true" | "yes")
    )
}

// ---------------------------------------------------------------------------------------------
// Output

#[derive(Default)]
struct Table {
    rows: Vec<[String; 4]>,
}

impl Table {
    fn row(&mut self, metric: &str, value: String, floor: String, ratio: String) {
        println!("  {metric}: {value} (floor {floor}, ratio {ratio})");
        self.rows.push([metric.to_string(), value, floor, ratio]);
    }

    fn plain(&mut self, metric: &str, value: String) {
        self.row(metric, value, "-".into(), "-".into());
    }

    fn print(&self) {
        let header = ["metric", "value", "floor", "ratio"];
        let mut widths = header.map(str::len);
        for row in &self.rows {
            for (w, cell) in widths.iter_mut().zip(row) {
                *w = (*w).max(cell.chars().count());
            }
        }
        let line = |cells: [&str; 4]| {
            println!(
                "{:<w0$} | {:>w1$} | {:>w2$} | {:>w3$}",
                cells[0],
                cells[1],
                cells[2],
                cells[3],
                w0 = widths[0],
                w1 = widths[1],
                w2 = widths[2],
                w3 = widths[3]
            );
        };
        line(header);
        println!(
            "{}",
            widths
                .iter()
                .map(|w| "-".repeat(*w))
                .collect::<Vec<_>>()
                .join("-|-")
        );
        for row in &self.rows {
            line([&row[0], &row[1], &row[2], &row[3]]);
        }
    }
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1e3)
}

fn secs(d: Duration) -> String {
    format!("{:.2} s", d.as_secs_f64())
}

fn ratio(a: f64, b: f64) -> String {
    if b > 0.0 {
        format!("{:.2}x", a / b)
    } else {
        "n/a".into()
    }
}

fn mib(kib: u64) -> String {
    format!("{:.1} MiB", kib as f64 / 1024.0)
}

fn percentile(samples: &[Duration], p: f64) -> Duration {
    let mut sorted = samples.to_vec();
    sorted.sort();
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    // Nearest rank.
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn log(message: impl AsRef<str>) {
    eprintln!(
        "[bench {:>7.1}s] {}",
        started().elapsed().as_secs_f64(),
        message.as_ref()
    );
}

fn started() -> Instant {
    static START: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    *START.get_or_init(Instant::now)
}

// ---------------------------------------------------------------------------------------------
// Process and metrics probes

/// (VmRSS, VmHWM) in KiB.
fn rss_kib(pid: u32) -> Option<(u64, u64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<u64>().ok())
    };
    Some((field("VmRSS:")?, field("VmHWM:")?))
}

/// Prometheus/OpenMetrics text parsed into `series -> value` (series = name plus labels).
fn parse_metrics(text: &str) -> Vec<(String, BTreeMap<String, String>, f64)> {
    let mut out = Vec::new();
    for line in text.lines() {
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let (series, value) = match line.rsplit_once(' ') {
            Some(x) => x,
            None => continue,
        };
        // Lines may carry a timestamp after the value; OpenMetrics from prometheus-client does not.
        let Ok(value) = value.parse::<f64>() else {
            continue;
        };
        let (name, labels) = match series.split_once('{') {
            Some((name, rest)) => (name, rest.trim_end_matches('}')),
            None => (series, ""),
        };
        let mut map = BTreeMap::new();
        for pair in split_labels(labels) {
            if let Some((k, v)) = pair.split_once('=') {
                map.insert(k.trim().to_string(), v.trim().trim_matches('"').to_string());
            }
        }
        out.push((name.to_string(), map, value));
    }
    out
}

/// Splits `a="x",b="y,z"` on the commas outside quotes.
fn split_labels(labels: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut in_quotes = false;
    let mut start = 0;
    let bytes = labels.as_bytes();
    for (i, &b) in bytes.iter().enumerate() {
        match b {
            b'"' if i == 0 || bytes[i - 1] != b'\\' => in_quotes = !in_quotes,
            b',' if !in_quotes => {
                parts.push(&labels[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    if start < labels.len() {
        parts.push(&labels[start..]);
    }
    parts
}

/// The operator's counters of interest, summed over statuses.
#[derive(Clone, Debug, Default)]
struct OperatorCounters {
    reconciles: f64,
    status_writes: f64,
    requests: BTreeMap<String, f64>,
    config_writes: BTreeMap<String, f64>,
    errors: f64,
}

impl OperatorCounters {
    fn delta(&self, before: &Self) -> Self {
        let sub = |a: &BTreeMap<String, f64>, b: &BTreeMap<String, f64>| {
            a.iter()
                .map(|(k, v)| (k.clone(), v - b.get(k).copied().unwrap_or(0.0)))
                .collect()
        };
        Self {
            reconciles: self.reconciles - before.reconciles,
            status_writes: self.status_writes - before.status_writes,
            requests: sub(&self.requests, &before.requests),
            config_writes: sub(&self.config_writes, &before.config_writes),
            errors: self.errors - before.errors,
        }
    }

    fn request(&self, endpoint: &str) -> f64 {
        self.requests.get(endpoint).copied().unwrap_or(0.0)
    }

    fn requests_matching(&self, f: impl Fn(&str) -> bool) -> f64 {
        self.requests
            .iter()
            .filter(|(k, _)| f(k))
            .map(|(_, v)| v)
            .sum()
    }

    fn config_writes_total(&self) -> f64 {
        self.config_writes.values().sum()
    }

    fn describe_requests(&self) -> String {
        self.requests
            .iter()
            .filter(|(_, v)| **v != 0.0)
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

struct OperatorProcess {
    child: tokio::process::Child,
    pid: u32,
    metrics_url: String,
    http: reqwest::Client,
    log_path: std::path::PathBuf,
}

impl OperatorProcess {
    async fn start(namespace: &str) -> Res<Self> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(".work");
        std::fs::create_dir_all(&dir)?;
        let log_path = dir.join("bench-operator.log");
        let log_file = std::fs::File::create(&log_path)?;
        let binary = env!("CARGO_BIN_EXE_infisical-oidc-operator");
        let child = tokio::process::Command::new(binary)
            .args([
                "--watch-namespaces",
                namespace,
                "--allowed-hosts",
                "127.0.0.1",
                "--http-address",
                &format!("127.0.0.1:{port}"),
                "--max-reads-per-minute",
                "1000000",
                "--max-writes-per-minute",
                "1000000",
                "--concurrency",
                &OPERATOR_CONCURRENCY.to_string(),
                "--log-level",
                "warn",
                "--idp-host-aliases",
                concat!(env!("CARGO_MANIFEST_DIR"), "/hack/demo-idp-hosts"),
                "--default-preflight",
                "Skip",
            ])
            .stdin(Stdio::null())
            .stdout(log_file.try_clone()?)
            .stderr(log_file)
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| format!("starting {binary}: {e}"))?;
        let pid = child.id().ok_or("operator exited at once")?;
        let mut me = Self {
            child,
            pid,
            metrics_url: format!("http://127.0.0.1:{port}/metrics"),
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .build()?,
            log_path,
        };
        let readyz = format!("http://127.0.0.1:{port}/readyz");
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(status) = me.child.try_wait()? {
                return fail(format!(
                    "the operator exited ({status}) before becoming ready; see {}",
                    me.log_path.display()
                ));
            }
            if let Ok(r) = me.http.get(&readyz).send().await
                && r.status().is_success()
            {
                break;
            }
            if Instant::now() > deadline {
                return fail(format!(
                    "the operator was not ready within 60 s; see {}",
                    me.log_path.display()
                ));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Ok(me)
    }

    fn rss(&self) -> Res<(u64, u64)> {
        rss_kib(self.pid).ok_or_else(|| format!("cannot read /proc/{}/status", self.pid).into())
    }

    async fn counters(&self) -> Res<OperatorCounters> {
        let text = self
            .http
            .get(&self.metrics_url)
            .send()
            .await?
            .error_for_status()?
            .text()
            .await?;
        let mut c = OperatorCounters::default();
        for (name, labels, value) in parse_metrics(&text) {
            match name.as_str() {
                "infisical_oidc_operator_reconciles_total" => c.reconciles += value,
                "infisical_oidc_operator_status_writes_total" => c.status_writes += value,
                "infisical_oidc_operator_reconcile_errors_total" => c.errors += value,
                "infisical_oidc_operator_infisical_requests_total" => {
                    let endpoint = labels.get("endpoint").cloned().unwrap_or_default();
                    *c.requests.entry(endpoint).or_default() += value;
                }
                "infisical_oidc_operator_infisical_config_writes_total" => {
                    let kind = labels.get("kind").cloned().unwrap_or_default();
                    *c.config_writes.entry(kind).or_default() += value;
                }
                _ => {}
            }
        }
        Ok(c)
    }

    /// Waits until the reconcile counter reached `at_least` and then stayed still for `quiet`.
    async fn quiesce(&self, at_least: f64, quiet: Duration, timeout: Duration) -> Res<()> {
        let deadline = Instant::now() + timeout;
        let mut last = self.counters().await?.reconciles;
        let mut since = Instant::now();
        loop {
            tokio::time::sleep(Duration::from_millis(100)).await;
            let now = self.counters().await?.reconciles;
            if now != last {
                last = now;
                since = Instant::now();
            } else if now >= at_least && since.elapsed() >= quiet {
                return Ok(());
            }
            if Instant::now() > deadline {
                return fail(format!(
                    "the operator did not settle within {timeout:?}: reconciles {now}, expected at least {at_least}"
                ));
            }
        }
    }

    /// SIGTERM, then the time to exit.
    async fn stop(mut self) -> Option<Duration> {
        let t = Instant::now();
        let _ = std::process::Command::new("kill")
            .args(["-TERM", &self.pid.to_string()])
            .status();
        match tokio::time::timeout(Duration::from_secs(30), self.child.wait()).await {
            Ok(_) => Some(t.elapsed()),
            Err(_) => {
                let _ = self.child.start_kill();
                None
            }
        }
    }

    fn log_lines(&self) -> usize {
        std::fs::read_to_string(&self.log_path)
            .map(|s| s.lines().count())
            .unwrap_or(0)
    }
}

/// `apiserver_request_total` summed by (resource, subresource, verb), when the server exposes it.
async fn apiserver_requests(client: &Client) -> Option<BTreeMap<(String, String, String), f64>> {
    let request = http::Request::get("/metrics").body(Vec::new()).ok()?;
    let text = client.request_text(request).await.ok()?;
    let mut out = BTreeMap::new();
    for (name, labels, value) in parse_metrics(&text) {
        if name != "apiserver_request_total" {
            continue;
        }
        let key = (
            labels.get("resource").cloned().unwrap_or_default(),
            labels.get("subresource").cloned().unwrap_or_default(),
            labels.get("verb").cloned().unwrap_or_default(),
        );
        *out.entry(key).or_default() += value;
    }
    Some(out)
}

/// Mutating requests on `resource` between two snapshots.
fn api_writes(
    before: &Option<BTreeMap<(String, String, String), f64>>,
    after: &Option<BTreeMap<(String, String, String), f64>>,
    resource: &str,
) -> Option<f64> {
    let (before, after) = (before.as_ref()?, after.as_ref()?);
    let sum = |m: &BTreeMap<(String, String, String), f64>| -> f64 {
        m.iter()
            .filter(|((r, _, verb), _)| {
                r == resource
                    && matches!(verb.as_str(), "POST" | "PUT" | "PATCH" | "APPLY" | "DELETE")
            })
            .map(|(_, v)| v)
            .sum()
    };
    Some(sum(after) - sum(before))
}

/// Per-verb deltas on `resource` (`VERB` or `VERB/subresource`), for the log.
fn api_breakdown(
    before: &Option<BTreeMap<(String, String, String), f64>>,
    after: &Option<BTreeMap<(String, String, String), f64>>,
    resource: &str,
) -> String {
    let (Some(before), Some(after)) = (before, after) else {
        return "n/a".into();
    };
    after
        .iter()
        .filter(|((r, _, verb), _)| {
            r == resource && verb != "GET" && verb != "LIST" && verb != "WATCH"
        })
        .filter_map(|(key, v)| {
            let d = v - before.get(key).copied().unwrap_or(0.0);
            (d != 0.0).then(|| {
                let (_, sub, verb) = key;
                if sub.is_empty() {
                    format!("{verb}={d}")
                } else {
                    format!("{verb}/{sub}={d}")
                }
            })
        })
        .collect::<Vec<_>>()
        .join(" ")
}

// ---------------------------------------------------------------------------------------------
// Readiness tracking

type ReadyMap = Arc<Mutex<HashMap<String, Instant>>>;

fn is_ready(resource: &OidcSsoConfig) -> bool {
    support::ready(resource)
        .is_some_and(|(status, reason, _)| status == "True" && reason == "Synced")
        && resource.status.as_ref().and_then(|s| s.observed_generation)
            == resource.metadata.generation
}

/// Records the instant each resource was first seen Ready=True by a watch.
fn track_ready(api: Api<OidcSsoConfig>) -> ReadyMap {
    let ready: ReadyMap = Arc::default();
    let map = ready.clone();
    tokio::spawn(async move {
        let mut stream = watcher(api, watcher::Config::default())
            .default_backoff()
            .boxed();
        loop {
            match stream.try_next().await {
                Ok(Some(watcher::Event::Apply(r) | watcher::Event::InitApply(r))) => {
                    if is_ready(&r) {
                        let now = Instant::now();
                        if let Some(name) = r.metadata.name {
                            map.lock().unwrap().entry(name).or_insert(now);
                        }
                    }
                }
                Ok(Some(_)) => {}
                Ok(None) => break,
                Err(error) => eprintln!("[bench] ready watcher: {error} (retrying)"),
            }
        }
    });
    ready
}

/// Waits until every name is Ready; returns the instant the last one was seen Ready.
async fn wait_all_ready(
    ready: &ReadyMap,
    api: &Api<OidcSsoConfig>,
    names: &[String],
    timeout: Duration,
) -> Res<Instant> {
    let deadline = Instant::now() + timeout;
    let mut last_log = Instant::now();
    loop {
        let (done, latest, missing) = {
            let map = ready.lock().unwrap();
            let mut latest: Option<Instant> = None;
            let mut missing = None;
            let mut done = 0;
            for name in names {
                match map.get(name) {
                    Some(t) => {
                        done += 1;
                        latest = Some(latest.map_or(*t, |l| l.max(*t)));
                    }
                    None => {
                        if missing.is_none() {
                            missing = Some(name.clone());
                        }
                    }
                }
            }
            (done, latest, missing)
        };
        let Some(missing) = missing else {
            return Ok(latest.unwrap_or_else(Instant::now));
        };
        if Instant::now() > deadline {
            let state = api.get_opt(&missing).await.ok().flatten().map(|r| r.status);
            return fail(format!(
                "only {done}/{} resources became Ready within {timeout:?}; e.g. {missing}: {state:?}",
                names.len()
            ));
        }
        if last_log.elapsed() > Duration::from_secs(15) {
            log(format!("  {done}/{} Ready", names.len()));
            last_log = Instant::now();
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

// ---------------------------------------------------------------------------------------------
// Workload

struct Workload {
    env: TestEnv,
    secrets: Api<Secret>,
    /// Org id per identity index.
    orgs: Vec<String>,
}

impl Workload {
    /// Seeds orgs, identities and credential Secrets `identity-<i>` up to index `upto` (exclusive).
    async fn seed(&mut self, upto: usize, concurrency: usize) -> Res<()> {
        let control = self.env.emulator.control();
        let mut secrets = Vec::new();
        for i in self.orgs.len()..upto {
            let org_id = control.seed_org(OrgSeed {
                name: format!("Org {i}"),
                slug: format!("org-{i}"),
                ..OrgSeed::default()
            });
            let identity = control.seed_identity(IdentitySeed {
                org_id: org_id.clone(),
                ..IdentitySeed::default()
            });
            self.orgs.push(org_id);
            secrets.push((i, identity));
        }
        let api = self.secrets.clone();
        futures::stream::iter(secrets)
            .map(|(i, identity)| {
                let api = api.clone();
                async move {
                    let secret: Secret = serde_json::from_value(json!({
                        "metadata": {"name": format!("identity-{i}")},
                        "type": "Opaque",
                        "stringData": {"clientId": identity.client_id, "clientSecret": identity.client_secret},
                    }))?;
                    api.create(&PostParams::default(), &secret)
                        .await
                        .map_err(|e| format!("creating Secret identity-{i}: {e}"))?;
                    Ok::<_, BoxError>(())
                }
            })
            .buffer_unordered(concurrency)
            .try_collect::<Vec<_>>()
            .await?;
        Ok(())
    }

    fn resource(&self, name: &str, index: usize) -> Res<OidcSsoConfig> {
        let spec = self.env.spec(json!({
            "organizationId": self.orgs[index],
            "authentication": {"universalAuth": {"credentialsRef": {"name": format!("identity-{index}")}}},
        }));
        Ok(serde_json::from_value(json!({
            "apiVersion": "oidc.infisical-operator.io/v1alpha1",
            "kind": "OidcSsoConfig",
            "metadata": {"name": name},
            "spec": spec,
        }))?)
    }

    /// Creates `(name, identity index)` pairs with `concurrency` in flight.
    async fn create_all(&self, items: &[(String, usize)], concurrency: usize) -> Res<()> {
        let api = self.env.api.clone();
        let objects = items
            .iter()
            .map(|(name, i)| self.resource(name, *i))
            .collect::<Res<Vec<_>>>()?;
        futures::stream::iter(objects)
            .map(|object| {
                let api = api.clone();
                async move {
                    api.create(&PostParams::default(), &object)
                        .await
                        .map_err(|e| {
                            format!("creating {}: {e}", object.metadata.name.clone().unwrap())
                        })?;
                    Ok::<_, BoxError>(())
                }
            })
            .buffer_unordered(concurrency)
            .try_collect::<Vec<_>>()
            .await?;
        Ok(())
    }

    /// Sum of the emulator's per-org counters over `range` of identity indices:
    /// (posts, patches, gets, orgs with more than one POST).
    fn org_counters(&self, range: std::ops::Range<usize>) -> (u64, u64, u64, u64) {
        let control = self.env.emulator.control();
        let mut totals = (0, 0, 0, 0);
        for org in &self.orgs[range] {
            if let Some(state) = control.org_state(org) {
                totals.0 += state.posts;
                totals.1 += state.patches;
                totals.2 += state.gets;
                totals.3 += u64::from(state.posts > 1);
            }
        }
        totals
    }
}

// ---------------------------------------------------------------------------------------------
// Floor: bare status patches, no operator involved

struct Floor {
    p50: Duration,
    p99: Duration,
    create_wall: Duration,
    patch_wall: Duration,
}

async fn measure_floor(client: &Client, workload: &Workload, n: usize) -> Res<Floor> {
    let suffix = uuid::Uuid::new_v4().simple().to_string()[..8].to_string();
    let namespace = format!("bench-floor-{suffix}");
    let namespaces: Api<Namespace> = Api::all(client.clone());
    namespaces
        .create(
            &PostParams::default(),
            &serde_json::from_value(json!({"metadata": {"name": namespace}}))?,
        )
        .await?;
    let api: Api<OidcSsoConfig> = Api::namespaced(client.clone(), &namespace);
    let object = workload.resource("floor-single", 0)?;
    api.create(&PostParams::default(), &object).await?;

    let mut samples = Vec::with_capacity(FLOOR_SAMPLES);
    for i in 0..FLOOR_SAMPLES + 5 {
        let patch = json!({"status": {"observedGeneration": i}});
        let t = Instant::now();
        api.patch_status(
            "floor-single",
            &PatchParams::default(),
            &Patch::Merge(&patch),
        )
        .await?;
        if i >= 5 {
            samples.push(t.elapsed()); // the first few warm connections up
        }
    }

    // N objects, then N status patches on distinct objects at the creation concurrency.
    let names: Vec<String> = (0..n).map(|i| format!("floor-{i}")).collect();
    let objects = names
        .iter()
        .map(|name| workload.resource(name, 0))
        .collect::<Res<Vec<_>>>()?;
    let t = Instant::now();
    futures::stream::iter(objects)
        .map(|object| {
            let api = api.clone();
            async move { api.create(&PostParams::default(), &object).await }
        })
        .buffer_unordered(CREATE_CONCURRENCY)
        .try_collect::<Vec<_>>()
        .await?;
    let create_wall = t.elapsed();
    let t = Instant::now();
    futures::stream::iter(names.iter())
        .map(|name| {
            let api = api.clone();
            async move {
                let patch = json!({"status": {"observedGeneration": 1}});
                api.patch_status(name, &PatchParams::default(), &Patch::Merge(&patch))
                    .await
            }
        })
        .buffer_unordered(CREATE_CONCURRENCY)
        .try_collect::<Vec<_>>()
        .await?;
    let patch_wall = t.elapsed();

    // Nothing holds these (no finalizers): drop them now so they do not weigh on the server.
    let _ = api
        .delete_collection(&DeleteParams::default(), &ListParams::default())
        .await;
    let _ = namespaces
        .delete(&namespace, &DeleteParams::default())
        .await;

    Ok(Floor {
        p50: percentile(&samples, 50.0),
        p99: percentile(&samples, 99.0),
        create_wall,
        patch_wall,
    })
}

// ---------------------------------------------------------------------------------------------

fn other_rss(table: &mut Table, label: &str, var: &str) {
    if let Some(pid) = std::env::var(var)
        .ok()
        .and_then(|v| v.trim().parse::<u32>().ok())
        && let Some((rss, hwm)) = rss_kib(pid)
    {
        table.plain(
            &format!("{label} RSS (context)"),
            format!("{} (peak {})", mib(rss), mib(hwm)),
        );
    }
}

async fn annotate_all(api: &Api<OidcSsoConfig>, names: &[String]) -> Res<()> {
    futures::stream::iter(names.iter())
        .map(|name| {
            let api = api.clone();
            async move {
                let value = uuid::Uuid::new_v4().to_string();
                let patch = json!({"metadata": {"annotations": {RECONCILE_REQUESTED_AT_ANNOTATION: value}}});
                api.patch_metadata(name, &PatchParams::default(), &Patch::Merge(&patch))
                    .await
                    .map_err(|e| format!("annotating {name}: {e}"))?;
                Ok::<_, BoxError>(())
            }
        })
        .buffer_unordered(CREATE_CONCURRENCY)
        .try_collect::<Vec<_>>()
        .await?;
    Ok(())
}

async fn run(table: &mut Table) -> Res<()> {
    let n = env_usize("BENCH_N", 1000);
    let samples = env_usize("BENCH_LATENCY_SAMPLES", 50);
    let large = env_flag("BENCH_LARGE");
    let large_total = env_usize("BENCH_LARGE_TOTAL", 10_000);

    log("connecting to the cluster and installing the CRD");
    let client = support::kube_client().await;
    let env = TestEnv::new("bench").await;
    log(format!(
        "namespace {}, emulator {}",
        env.namespace,
        env.emulator.base_url()
    ));
    let mut workload = Workload {
        secrets: Api::namespaced(env.client.clone(), &env.namespace),
        env,
        orgs: Vec::new(),
    };
    workload.seed(1, 1).await?; // index 0 backs the floor objects' spec (never reconciled)

    // 1. Floor.
    log(format!(
        "floor: {FLOOR_SAMPLES} sequential bare status patches, then {n} at {CREATE_CONCURRENCY} in flight"
    ));
    let floor = measure_floor(&client, &workload, n).await?;
    table.plain("floor: bare status patch p50", ms(floor.p50));
    table.plain("floor: bare status patch p99", ms(floor.p99));
    table.plain(
        &format!("floor: {n} bare creates, {CREATE_CONCURRENCY} in flight"),
        secs(floor.create_wall),
    );
    table.plain(
        &format!("floor: {n} bare status patches, {CREATE_CONCURRENCY} in flight"),
        secs(floor.patch_wall),
    );

    // 5a. Idle RSS with nothing to manage.
    let operator = OperatorProcess::start(&workload.env.namespace).await?;
    log(format!("operator pid {} ready", operator.pid));
    tokio::time::sleep(Duration::from_secs(2)).await;
    let (rss0, _) = operator.rss()?;
    table.plain("operator RSS, 0 resources (floor)", mib(rss0));

    let api = workload.env.api.clone();
    let ready = track_ready(api.clone());

    // Credentials for everything up to N.
    let first = workload.orgs.len();
    log(format!(
        "seeding {} orgs, identities and credential Secrets",
        samples + n
    ));
    workload
        .seed(first + samples + n, LARGE_CONCURRENCY)
        .await?;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let (rss_secrets, _) = operator.rss()?;
    table.row(
        &format!("operator RSS, 0 resources + {} Secrets", samples + n + 1),
        mib(rss_secrets),
        mib(rss0),
        ratio(rss_secrets as f64, rss0 as f64),
    );

    // 2. Apply→Ready latency, one at a time.
    log(format!("latency: {samples} resources, one at a time"));
    let mut latencies = Vec::with_capacity(samples);
    for s in 0..samples {
        let name = format!("lat-{s}");
        workload.create_all(&[(name.clone(), first + s)], 1).await?;
        let returned = Instant::now();
        let at = wait_all_ready(
            &ready,
            &api,
            std::slice::from_ref(&name),
            Duration::from_secs(30),
        )
        .await?;
        latencies.push(at.saturating_duration_since(returned));
        // Let the trailing pass (triggered by the operator's own writes) finish: the operator is idle
        // when the next one is created.
        operator
            .quiesce(0.0, Duration::from_millis(300), Duration::from_secs(30))
            .await?;
    }
    let (p50, p99) = (percentile(&latencies, 50.0), percentile(&latencies, 99.0));
    table.row(
        "apply->Ready p50 (operator idle)",
        ms(p50),
        ms(floor.p50),
        ratio(p50.as_secs_f64(), floor.p50.as_secs_f64()),
    );
    table.row(
        "apply->Ready p99 (operator idle)",
        ms(p99),
        ms(floor.p50),
        ratio(p99.as_secs_f64(), floor.p50.as_secs_f64()),
    );
    table.plain(
        "apply->Ready min / max",
        format!(
            "{} / {}",
            ms(*latencies.iter().min().unwrap_or(&Duration::ZERO)),
            ms(*latencies.iter().max().unwrap_or(&Duration::ZERO))
        ),
    );

    // 3. Throughput.
    let items: Vec<(String, usize)> = (0..n)
        .map(|i| (format!("res-{i}"), first + samples + i))
        .collect();
    let names: Vec<String> = items.iter().map(|(n, _)| n.clone()).collect();
    let before = operator.counters().await?;
    let api_before = apiserver_requests(&client).await;
    workload.env.emulator.control().clear_requests();
    log(format!(
        "throughput: {n} resources, {CREATE_CONCURRENCY} in flight"
    ));
    let t0 = Instant::now();
    workload.create_all(&items, CREATE_CONCURRENCY).await?;
    let created = t0.elapsed();
    let done = wait_all_ready(&ready, &api, &names, Duration::from_secs(300)).await?;
    let took = done.saturating_duration_since(t0);
    table.plain(
        &format!("{n} creates returned ({CREATE_CONCURRENCY} in flight)"),
        secs(created),
    );
    table.row(
        &format!("{n} resources: first create -> all Ready"),
        secs(took),
        secs(floor.patch_wall),
        ratio(took.as_secs_f64(), floor.patch_wall.as_secs_f64()),
    );
    table.row(
        &format!("{n} resources: all Ready vs bare create+patch"),
        secs(took),
        secs(floor.create_wall + floor.patch_wall),
        ratio(
            took.as_secs_f64(),
            (floor.create_wall + floor.patch_wall).as_secs_f64(),
        ),
    );
    let floor_rate = n as f64 / floor.patch_wall.as_secs_f64();
    let rate = n as f64 / took.as_secs_f64();
    table.row(
        "throughput (resources/s vs bare patches/s)",
        format!("{rate:.1}/s"),
        format!("{floor_rate:.1}/s"),
        ratio(rate, floor_rate),
    );

    // 4a. Writes per create (after the trailing passes settle).
    operator
        .quiesce(
            before.reconciles + n as f64,
            Duration::from_secs(2),
            Duration::from_secs(120),
        )
        .await?;
    let after = operator.counters().await?;
    let api_after = apiserver_requests(&client).await;
    let d = after.delta(&before);
    let range = first + samples..first + samples + n;
    let (posts, patches, gets, duplicates) = workload.org_counters(range.clone());
    let per = |v: f64| format!("{:.2}", v / n as f64);
    log(format!(
        "create pass: reconciles {} errors {} requests [{}]",
        d.reconciles,
        d.errors,
        d.describe_requests()
    ));
    table.plain("reconcile passes per create", per(d.reconciles));
    table.plain(
        "Infisical POST per create (emulator / operator)",
        format!(
            "{} / {}",
            per(posts as f64),
            per(d.config_writes.get("create").copied().unwrap_or(0.0))
        ),
    );
    table.plain(
        "Infisical PATCH per create (emulator / operator)",
        format!(
            "{} / {}",
            per(patches as f64),
            per(d.config_writes.get("update").copied().unwrap_or(0.0))
        ),
    );
    table.plain(
        "Infisical config GET per create (emulator)",
        per(gets as f64),
    );
    table.plain(
        "Infisical requests per create, all endpoints (operator)",
        per(d.requests_matching(|_| true)),
    );
    table.plain(
        "Infisical logins per create",
        per(d.request("universal-auth-login")),
    );
    table.plain(
        "orgs with more than one POST (duplicates)",
        duplicates.to_string(),
    );
    table.plain("Kubernetes status writes per create", per(d.status_writes));
    log(format!(
        "create pass, apiserver writes on oidcssoconfigs (incl. the bench's {n} POSTs): {}",
        api_breakdown(&api_before, &api_after, "oidcssoconfigs")
    ));
    if let Some(w) = api_writes(&api_before, &api_after, "oidcssoconfigs") {
        // The bench's own creates are POSTs on the same resource.
        table.plain(
            "Kubernetes writes per create, operator (apiserver count)",
            per(w - n as f64),
        );
    }
    if let Some(w) = api_writes(&api_before, &api_after, "events") {
        table.plain("Kubernetes Event writes per create", per(w));
    }

    // 5b. RSS at N.
    let total = samples + n;
    let (rss1, hwm1) = operator.rss()?;
    table.row(
        &format!("operator RSS, {total} Ready"),
        mib(rss1),
        mib(rss0),
        ratio(rss1 as f64, rss0 as f64),
    );
    table.plain(
        &format!("operator RSS per 1000 objects above floor, {total}"),
        mib(((rss1.saturating_sub(rss0)) as f64 * 1000.0 / total as f64) as u64),
    );
    table.plain("operator peak RSS (VmHWM) so far", mib(hwm1));

    // 4b. Idle resync of everything.
    let all: Vec<String> = (0..samples)
        .map(|s| format!("lat-{s}"))
        .chain(names.iter().cloned())
        .collect();
    let before = operator.counters().await?;
    let api_before = apiserver_requests(&client).await;
    let emu_range = first..first + total;
    let (p0, pa0, g0, _) = workload.org_counters(emu_range.clone());
    log(format!("idle resync: annotating {} resources", all.len()));
    let t = Instant::now();
    annotate_all(&api, &all).await?;
    operator
        .quiesce(
            before.reconciles + all.len() as f64,
            Duration::from_secs(2),
            Duration::from_secs(180),
        )
        .await?;
    let idle_took = t.elapsed().saturating_sub(Duration::from_secs(2));
    let after = operator.counters().await?;
    let api_after = apiserver_requests(&client).await;
    let (p1, pa1, g1, _) = workload.org_counters(emu_range);
    let d = after.delta(&before);
    log(format!(
        "idle pass: reconciles {} errors {} requests [{}]",
        d.reconciles,
        d.errors,
        d.describe_requests()
    ));
    let m = all.len();
    table.plain(
        &format!("idle resync of {m}: reconcile passes"),
        format!("{}", d.reconciles),
    );
    table.plain(&format!("idle resync of {m}: wall time"), secs(idle_took));
    table.plain(
        &format!("idle resync of {m}: Kubernetes status writes"),
        format!("{}", d.status_writes),
    );
    if let Some(w) = api_writes(&api_before, &api_after, "oidcssoconfigs") {
        table.plain(
            &format!("idle resync of {m}: Kubernetes writes, operator (apiserver)"),
            format!("{}", w - m as f64),
        );
    }
    if let Some(w) = api_writes(&api_before, &api_after, "events") {
        table.plain(&format!("idle resync of {m}: Event writes"), format!("{w}"));
    }
    table.plain(
        &format!("idle resync of {m}: Infisical writes (POST+PATCH)"),
        format!(
            "{} (operator {})",
            (p1 - p0) + (pa1 - pa0),
            d.config_writes_total()
        ),
    );
    table.plain(
        &format!("idle resync of {m}: Infisical reads (config GET)"),
        format!("{}", g1 - g0),
    );
    table.plain(
        &format!("idle resync of {m}: Infisical requests, all (operator)"),
        format!(
            "{} [{}]",
            d.requests_matching(|_| true),
            d.describe_requests()
        ),
    );

    // 5c. Large.
    if large && large_total > total {
        let extra = large_total - total;
        workload.env.emulator.control().clear_requests();
        log(format!(
            "large: seeding {extra} more orgs, identities and Secrets"
        ));
        let base = workload.orgs.len();
        workload.seed(base + extra, LARGE_CONCURRENCY).await?;
        let items: Vec<(String, usize)> =
            (0..extra).map(|i| (format!("big-{i}"), base + i)).collect();
        let names: Vec<String> = items.iter().map(|(n, _)| n.clone()).collect();
        let before = operator.counters().await?;
        log(format!(
            "large: creating {extra} resources, {LARGE_CONCURRENCY} in flight"
        ));
        let t0 = Instant::now();
        workload.create_all(&items, LARGE_CONCURRENCY).await?;
        let timeout = Duration::from_secs(env_usize("BENCH_LARGE_TIMEOUT_S", 600) as u64);
        let done = match wait_all_ready(&ready, &api, &names, timeout).await {
            Ok(done) => done,
            Err(error) => {
                // Still report how far it got and what it holds, then fail.
                let seen = {
                    let map = ready.lock().unwrap();
                    names.iter().filter(|n| map.contains_key(*n)).count()
                };
                table.plain(
                    &format!("{extra} more resources: Ready after {}", secs(timeout)),
                    format!(
                        "{seen}/{extra} ({:.1}/s) - TIMED OUT",
                        seen as f64 / t0.elapsed().as_secs_f64()
                    ),
                );
                if let Ok((rss, hwm)) = operator.rss() {
                    let objects = total + seen;
                    table.row(
                        &format!("operator RSS, {objects} Ready (of {large_total} created)"),
                        mib(rss),
                        mib(rss0),
                        ratio(rss as f64, rss0 as f64),
                    );
                    table.plain("operator peak RSS (VmHWM)", mib(hwm));
                }
                other_rss(table, "kube-apiserver", "BENCH_APISERVER_PID");
                return Err(error);
            }
        };
        let took = done.saturating_duration_since(t0);
        table.plain(
            &format!("{extra} more resources ({LARGE_CONCURRENCY} in flight) -> all Ready"),
            format!(
                "{} ({:.1}/s)",
                secs(took),
                extra as f64 / took.as_secs_f64()
            ),
        );
        operator
            .quiesce(
                before.reconciles + extra as f64,
                Duration::from_secs(3),
                Duration::from_secs(300),
            )
            .await?;
        let d = operator.counters().await?.delta(&before);
        let (posts, patches, _, duplicates) = workload.org_counters(base..base + extra);
        table.plain(
            &format!("{extra} more: Infisical POST / PATCH per create, duplicates"),
            format!(
                "{:.2} / {:.2}, {duplicates}",
                posts as f64 / extra as f64,
                patches as f64 / extra as f64
            ),
        );
        table.plain(
            &format!("{extra} more: reconcile passes per create, errors"),
            format!("{:.2}, {}", d.reconciles / extra as f64, d.errors),
        );
        let (rss2, hwm2) = operator.rss()?;
        table.row(
            &format!("operator RSS, {large_total} Ready"),
            mib(rss2),
            mib(rss0),
            ratio(rss2 as f64, rss0 as f64),
        );
        table.plain(
            &format!("operator RSS per 1000 objects above floor, {large_total}"),
            mib(((rss2.saturating_sub(rss0)) as f64 * 1000.0 / large_total as f64) as u64),
        );
        table.plain("operator peak RSS (VmHWM)", mib(hwm2));
    }
    other_rss(table, "kube-apiserver", "BENCH_APISERVER_PID");
    other_rss(table, "etcd", "BENCH_ETCD_PID");

    let lines = operator.log_lines();
    table.plain("operator log lines at warn level", lines.to_string());
    let stopping = operator.stop().await;
    table.plain(
        "operator SIGTERM -> exit",
        stopping.map_or_else(|| "> 30 s (killed)".into(), ms),
    );

    if env_flag("BENCH_SKIP_CLEANUP") {
        log("leaving the namespace behind (BENCH_SKIP_CLEANUP=1)");
    } else {
        log("cleaning up");
        let api = workload.env.api.clone();
        let list = api.list_metadata(&ListParams::default()).await?;
        futures::stream::iter(list.items)
            .map(|r| {
                let api = api.clone();
                async move {
                    let name = r.metadata.name.unwrap_or_default();
                    let _ = api
                        .patch_metadata(
                            &name,
                            &PatchParams::default(),
                            &Patch::Merge(json!({"metadata": {"finalizers": null}})),
                        )
                        .await;
                }
            })
            .buffer_unordered(LARGE_CONCURRENCY)
            .collect::<Vec<_>>()
            .await;
        workload.env.cleanup().await;
    }
    Ok(())
}

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    if args.iter().any(|a| a == "--list") {
        return ExitCode::SUCCESS; // a test runner asking for tests: there are none
    }
    if !args.iter().any(|a| a == "--bench") {
        eprintln!("benches/scale.rs: run through `cargo bench --bench scale` (or hack/bench.sh)");
        return ExitCode::SUCCESS;
    }
    if std::env::var_os("KUBECONFIG").is_none() {
        eprintln!(
            "benches/scale.rs needs a Kubernetes API server: run it through hack/bench.sh, or set KUBECONFIG"
        );
        return ExitCode::FAILURE;
    }
    started();
    let mut table = Table::default();
    let result = run(&mut table).await;
    println!();
    println!(
        "== infisical-oidc-operator scale benchmark ({} s) ==",
        started().elapsed().as_secs()
    );
    table.print();
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("benchmark FAILED: {error}");
            ExitCode::FAILURE
        }
    }
}
