//! Scale benchmark: the release operator binary against a real kube-apiserver and the in-process
//! emulator. Every figure is printed next to a floor measured in the same run (a bare status patch
//! round trip, the create path done by the bench itself, the wall time of bare status patches at
//! the same concurrency, the idle RSS, the time the shipped request budget allows), so the ratios
//! stay meaningful on any machine. Every row names the operator settings it was measured with.
//!
//! Phases: floors; the mixed phase (`scale/mixed.rs`: N resources across the OIDC, SAML and
//! LDAP kinds, raw budget, in a namespace, emulator and slapd of its own); raw budget (latency,
//! 1,000 creates, idle resync, RSS); a restart with the shipped budget over those resources (edit
//! one at once, time until its PATCH); a batch of creates with the shipped budget (time against
//! the budget's floor, busiest 60 s); the large phase (raw budget, up to 10,000). Duplicate
//! creates are counted in every phase from the emulator's request log; a duplicate or a busiest
//! minute over the budget fails the run (after every phase has reported).
//!
//!   bash hack/bench.sh                              # starts its own kube-apiserver
//!   KUBECONFIG=... cargo bench --bench scale        # any cluster; BENCH_LARGE=1 adds 10,000 objects
//!
//! Knobs: BENCH_PHASES (default all; `mixed` or `oidc` runs those alone after the floors; the
//! mixed phase's slapd comes from SLAPD_DIR or hack/ldap/install.sh), BENCH_N (default 1000),
//! BENCH_LATENCY_SAMPLES (50), BENCH_LARGE (0; 1 adds objects up to BENCH_LARGE_TOTAL, default
//! 10,000), BENCH_APISERVER_PID / BENCH_ETCD_PID (RSS as context), BENCH_SKIP_CLEANUP=1 (leave the
//! namespaces behind, e.g. on a throwaway cluster; the mixed phase removes its own at once),
//! BENCH_BUDGET_N (120 creates with the shipped budget; 0 skips), BENCH_RESTART_TIMEOUT_S (120:
//! how long the restart phase waits for the edited resource's PATCH), BENCH_OPERATOR_BIN (another
//! operator binary, e.g. one built with another allocator; default: this build's).
//!
//! Not a libtest harness: under `cargo test`/`cargo nextest` (no `--bench` argument) it does nothing.

#[path = "../tests/support/mod.rs"]
mod support;

#[path = "scale/mixed.rs"]
mod mixed;

use std::collections::{BTreeMap, HashMap};
use std::process::{ExitCode, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::{StreamExt, TryStreamExt};
use infisical_emulator::OrgSeed;
use infisical_oidc_operator::api::{
    CREATE_PENDING_ANNOTATION, FINALIZER, OidcSsoConfig, RECONCILE_REQUESTED_AT_ANNOTATION,
};
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
/// Enough for every request of a full run (about 3 per create, 2 per resync).
const REQUEST_LOG_CAPACITY: usize = 200_000;

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

/// The settings a row was measured with: the column `settings` of the table, explained under it.
#[derive(Clone, Copy, Default, PartialEq)]
enum Settings {
    /// The bench alone, no operator involved (the floors).
    #[default]
    Bench,
    /// The operator with the raw budget (see [`Budget::Raw`]).
    Raw,
    /// The operator with the shipped defaults (see [`Budget::Shipped`]).
    Shipped,
}

impl Settings {
    fn tag(self) -> &'static str {
        match self {
            Settings::Bench => "bench",
            Settings::Raw => "raw",
            Settings::Shipped => "default",
        }
    }
}

#[derive(Default)]
struct Table {
    rows: Vec<[String; 5]>,
    settings: Settings,
    legend: Vec<String>,
    /// Gates that failed: the run goes on (every phase reports), then fails with these.
    failures: Vec<String>,
}

impl Table {
    /// Rows from now on were measured with `settings`.
    fn settings(&mut self, settings: Settings) {
        self.settings = settings;
    }

    fn row(&mut self, metric: &str, value: String, floor: String, ratio: String) {
        let tag = self.settings.tag();
        println!("  [{tag}] {metric}: {value} (floor {floor}, ratio {ratio})");
        self.rows
            .push([metric.to_string(), tag.to_string(), value, floor, ratio]);
    }

    fn plain(&mut self, metric: &str, value: String) {
        self.row(metric, value, "-".into(), "-".into());
    }

    fn print(&self) {
        let header = ["metric", "settings", "value", "floor", "ratio"];
        let mut widths = header.map(str::len);
        for row in &self.rows {
            for (w, cell) in widths.iter_mut().zip(row) {
                *w = (*w).max(cell.chars().count());
            }
        }
        let line = |cells: [&str; 5]| {
            println!(
                "{:<w0$} | {:<w1$} | {:>w2$} | {:>w3$} | {:>w4$}",
                cells[0],
                cells[1],
                cells[2],
                cells[3],
                cells[4],
                w0 = widths[0],
                w1 = widths[1],
                w2 = widths[2],
                w3 = widths[3],
                w4 = widths[4]
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
            line([&row[0], &row[1], &row[2], &row[3], &row[4]]);
        }
        println!();
        println!("settings:");
        for line in &self.legend {
            println!("  {line}");
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

/// RssAnon (the process's own heap and stacks) and RssFile (resident pages of the binary and the
/// shared libraries, reclaimable page cache) in KiB, as a row.
fn rss_split(table: &mut Table, pid: u32, objects: &str) {
    let Ok(status) = std::fs::read_to_string(format!("/proc/{pid}/status")) else {
        return;
    };
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<u64>().ok())
    };
    if let (Some(anon), Some(file)) = (field("RssAnon:"), field("RssFile:")) {
        table.plain(
            &format!("operator RSS split, {objects}: anonymous / file-backed (the binary)"),
            format!("{} / {}", mib(anon), mib(file)),
        );
    }
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

/// The operator's Infisical budget and concurrency.
#[derive(Clone, Copy, PartialEq)]
enum Budget {
    /// `--max-reads-per-minute 1000000 --max-writes-per-minute 1000000 --concurrency 16`: measures
    /// the operator, not Infisical's limits.
    Raw,
    /// No budget or concurrency flags: what the operator ships with.
    Shipped,
}

/// A pause in reconciles that counts as settled while in-sync resources are being rechecked.
const RECHECK_LULL: Duration = Duration::from_millis(500);

/// Flags every operator process gets, whatever its budget.
const COMMON_FLAGS: &str = "--default-preflight Skip --idp-host-aliases hack/demo-idp-hosts --log-level warn \
(the examples' IdP is fictional; the preflight has tests of its own)";

impl Budget {
    fn args(self) -> Vec<String> {
        match self {
            Budget::Raw => vec![
                "--max-reads-per-minute".into(),
                "1000000".into(),
                "--max-writes-per-minute".into(),
                "1000000".into(),
                "--concurrency".into(),
                OPERATOR_CONCURRENCY.to_string(),
            ],
            Budget::Shipped => Vec::new(),
        }
    }
}

/// The operator's shipped defaults, read from its own `--help` so the floors follow the binary.
#[derive(Clone, Copy, Debug)]
struct Shipped {
    reads_per_minute: u32,
    writes_per_minute: u32,
    concurrency: u32,
}

/// The operator binary: this build's, or `BENCH_OPERATOR_BIN` (e.g. a build with another
/// allocator), copied once into `.work/` so that every phase runs the same binary even if a
/// shared target directory is rebuilt meanwhile.
fn operator_binary() -> String {
    static COPY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    COPY.get_or_init(|| {
        let source = std::env::var("BENCH_OPERATOR_BIN")
            .ok()
            .filter(|v| !v.trim().is_empty())
            .unwrap_or_else(|| env!("CARGO_BIN_EXE_infisical-oidc-operator").to_string());
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(".work");
        let copy = dir.join("bench-infisical-oidc-operator");
        match std::fs::create_dir_all(&dir).and_then(|()| std::fs::copy(&source, &copy)) {
            Ok(_) => copy.display().to_string(),
            Err(error) => {
                log(format!(
                    "cannot copy {source} ({error}); running it in place"
                ));
                source
            }
        }
    })
    .clone()
}

fn shipped_defaults() -> Res<Shipped> {
    let binary = operator_binary();
    let out = std::process::Command::new(&binary)
        .arg("--help")
        .output()
        .map_err(|e| format!("running {binary} --help: {e}"))?;
    let help = String::from_utf8_lossy(&out.stdout);
    // clap prints `--flag <VALUE>  text [env: NAME=] [default: 150]`, possibly over several lines.
    let default_of = |flag: &str| -> Res<u32> {
        let start = help
            .find(&format!("{flag} "))
            .ok_or_else(|| format!("{flag} is not in the operator's --help"))?;
        let rest = &help[start + flag.len()..];
        // Up to the next option line.
        let end = rest
            .match_indices('\n')
            .map(|(i, _)| i)
            .find(|&i| rest[i + 1..].trim_start().starts_with('-'))
            .unwrap_or(rest.len());
        let text = &rest[..end];
        let value = text
            .split("[default: ")
            .nth(1)
            .and_then(|v| v.split(']').next())
            .ok_or_else(|| format!("no default for {flag} in the operator's --help"))?;
        Ok(value.trim().parse()?)
    };
    Ok(Shipped {
        reads_per_minute: default_of("--max-reads-per-minute")?,
        writes_per_minute: default_of("--max-writes-per-minute")?,
        concurrency: default_of("--concurrency")?,
    })
}

struct OperatorProcess {
    child: tokio::process::Child,
    pid: u32,
    metrics_url: String,
    readyz_url: String,
    http: reqwest::Client,
    log_path: std::path::PathBuf,
}

impl OperatorProcess {
    async fn start(namespace: &str, budget: Budget, label: &str) -> Res<Self> {
        let mut me = Self::spawn(namespace, budget, label)?;
        me.wait_ready().await?;
        Ok(me)
    }

    /// Starts the process without waiting for it to be ready.
    fn spawn(namespace: &str, budget: Budget, label: &str) -> Res<Self> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(".work");
        std::fs::create_dir_all(&dir)?;
        let log_path = dir.join(format!("bench-operator-{label}.log"));
        let log_file = std::fs::File::create(&log_path)?;
        let binary = operator_binary();
        let http_address = format!("127.0.0.1:{port}");
        let mut args: Vec<String> = [
            "--watch-namespaces",
            namespace,
            "--allowed-hosts",
            "127.0.0.1",
            "--http-address",
            &http_address,
            "--log-level",
            "warn",
            "--idp-host-aliases",
            concat!(env!("CARGO_MANIFEST_DIR"), "/hack/demo-idp-hosts"),
            "--default-preflight",
            "Skip",
        ]
        .map(String::from)
        .to_vec();
        args.extend(budget.args());
        let child = tokio::process::Command::new(&binary)
            .args(&args)
            // The shipped defaults must be the binary's, not the environment's.
            .env_remove("MAX_READS_PER_MINUTE")
            .env_remove("MAX_WRITES_PER_MINUTE")
            .env_remove("CONCURRENCY")
            .stdin(Stdio::null())
            .stdout(log_file.try_clone()?)
            .stderr(log_file)
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| format!("starting {binary}: {e}"))?;
        let pid = child.id().ok_or("operator exited at once")?;
        Ok(Self {
            child,
            pid,
            metrics_url: format!("http://127.0.0.1:{port}/metrics"),
            readyz_url: format!("http://127.0.0.1:{port}/readyz"),
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .build()?,
            log_path,
        })
    }

    async fn wait_ready(&mut self) -> Res<()> {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(status) = self.child.try_wait()? {
                return fail(format!(
                    "the operator exited ({status}) before becoming ready; see {}",
                    self.log_path.display()
                ));
            }
            if let Ok(r) = self.http.get(&self.readyz_url).send().await
                && r.status().is_success()
            {
                return Ok(());
            }
            if Instant::now() > deadline {
                return fail(format!(
                    "the operator was not ready within 60 s; see {}",
                    self.log_path.display()
                ));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
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
    match wait_ready_core(ready, names, timeout).await {
        Ok(at) => Ok(at),
        Err((done, missing)) => {
            let state = api.get_opt(&missing).await.ok().flatten().map(|r| r.status);
            fail(format!(
                "only {done}/{} resources became Ready within {timeout:?}; e.g. {missing}: {state:?}",
                names.len()
            ))
        }
    }
}

/// [`wait_all_ready`] for any kind: on timeout, how many were Ready and the first name that was
/// not.
async fn wait_ready_core(
    ready: &ReadyMap,
    names: &[String],
    timeout: Duration,
) -> Result<Instant, (usize, String)> {
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
            return Err((done, missing));
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
            let (org_id, identity) = support::seed_org_and_identity(
                &control,
                OrgSeed {
                    name: format!("Org {i}"),
                    slug: format!("org-{i}"),
                    ..OrgSeed::default()
                },
            );
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
        create_all(objects.into_iter().map(|o| (api.clone(), o)), concurrency).await
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

/// A new namespace named `<prefix>-<8 random hex digits>`.
async fn fresh_namespace(client: &Client, prefix: &str) -> Res<String> {
    let suffix = uuid::Uuid::new_v4().simple().to_string()[..8].to_string();
    let namespace = format!("{prefix}-{suffix}");
    let namespaces: Api<Namespace> = Api::all(client.clone());
    namespaces
        .create(
            &PostParams::default(),
            &serde_json::from_value(json!({"metadata": {"name": namespace}}))?,
        )
        .await?;
    Ok(namespace)
}

struct Floor {
    p50: Duration,
    p99: Duration,
    create_wall: Duration,
    patch_wall: Duration,
}

async fn measure_floor(client: &Client, workload: &Workload, n: usize) -> Res<Floor> {
    let namespace = fresh_namespace(client, "bench-floor").await?;
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
    let _ = Api::<Namespace>::all(client.clone())
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

// ---------------------------------------------------------------------------------------------
// Floor: the create path done by the bench itself (no operator, no watch)

/// The minimal sequence a create must cost, one resource at a time, against the same API server
/// and emulator: merge-patch the create-pending mark with the finalizer, Universal Auth login,
/// GET the organisation's config (absent), POST it, server-side apply the status, merge-patch
/// the mark away. Each sample uses a fresh organisation and identity, as each resource does.
async fn measure_create_floor(client: &Client, workload: &Workload, samples: usize) -> Res<Floor> {
    let namespace = fresh_namespace(client, "bench-cfloor").await?;
    let api: Api<OidcSsoConfig> = Api::namespaced(client.clone(), &namespace);
    let control = workload.env.emulator.control();
    let base = workload.env.emulator.base_url();
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()?;
    // Warm the connection, as the operator's shared client is.
    http.get(format!("{base}/api/status")).send().await?;
    let warmup = 3;
    let mut durations = Vec::with_capacity(samples);
    for i in 0..samples + warmup {
        let (org_id, identity) = support::seed_org_and_identity(
            &control,
            OrgSeed {
                name: format!("Floor org {i}"),
                slug: format!("floor-org-{i}-{namespace}"),
                ..OrgSeed::default()
            },
        );
        let name = format!("cfloor-{i}");
        api.create(&PostParams::default(), &workload.resource(&name, 0)?)
            .await?;
        let t = Instant::now();
        let mark = json!({"metadata": {
            "finalizers": [FINALIZER],
            "annotations": {CREATE_PENDING_ANNOTATION: jiff_now()},
        }});
        let marked = api
            .patch_metadata(&name, &PatchParams::default(), &Patch::Merge(&mark))
            .await?;
        let login: serde_json::Value = http
            .post(format!("{base}/api/v1/auth/universal-auth/login"))
            .json(&json!({"clientId": identity.client_id, "clientSecret": identity.client_secret}))
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        let token = login["accessToken"]
            .as_str()
            .ok_or("the emulator's login answer has no accessToken")?
            .to_string();
        let absent = http
            .get(format!(
                "{base}/api/v1/sso/oidc/config?organizationId={org_id}"
            ))
            .bearer_auth(&token)
            .send()
            .await?;
        if absent.status() != reqwest::StatusCode::NOT_FOUND {
            return fail(format!(
                "create floor: GET of a fresh org's config answered {}",
                absent.status()
            ));
        }
        let _ = absent.bytes().await?;
        let created: serde_json::Value = http
            .post(format!("{base}/api/v1/sso/oidc/config"))
            .bearer_auth(&token)
            .json(&json!({
                "allowedEmailDomains": "example.com, example.org",
                "configurationType": "discoveryURL",
                "issuer": "",
                "discoveryURL": "https://idp.example.com/.well-known/openid-configuration",
                "authorizationEndpoint": "",
                "jwksUri": "",
                "tokenEndpoint": "",
                "userinfoEndpoint": "",
                "clientId": "infisical",
                "clientSecret": "floor-client-secret",
                "isActive": true,
                "organizationId": org_id,
                "manageGroupMemberships": false,
                "jwtSignatureAlgorithm": "RS256",
            }))
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        let mut status = serde_json::Map::new();
        for key in [
            "id",
            "orgId",
            "isActive",
            "configurationType",
            "issuer",
            "discoveryURL",
            "authorizationEndpoint",
            "jwksUri",
            "tokenEndpoint",
            "userinfoEndpoint",
            "allowedEmailDomains",
            "manageGroupMemberships",
            "jwtSignatureAlgorithm",
        ] {
            if let Some(v) = created.get(key).filter(|v| !v.is_null()) {
                status.insert(key.into(), v.clone());
            }
        }
        let generation = marked.metadata.generation.unwrap_or(1);
        let condition = |type_: &str, value: &str, reason: &str| {
            json!({"type": type_, "status": value, "reason": reason, "message": "",
                   "lastTransitionTime": jiff_now(), "observedGeneration": generation})
        };
        status.insert("orgId".into(), json!(org_id));
        status.insert("observedGeneration".into(), json!(generation));
        status.insert(
            "conditions".into(),
            json!([
                condition("Ready", "True", "Synced"),
                condition("Reconciling", "False", "Synced"),
                condition("Stalled", "False", "Synced"),
            ]),
        );
        let apply = json!({
            "apiVersion": "oidc.infisical-operator.io/v1alpha1",
            "kind": "OidcSsoConfig",
            "status": status,
        });
        api.patch_status(
            &name,
            &PatchParams::apply("bench-floor").force(),
            &Patch::Apply(&apply),
        )
        .await?;
        let unmark = json!({"metadata": {"annotations": {CREATE_PENDING_ANNOTATION: null}}});
        api.patch_metadata(&name, &PatchParams::default(), &Patch::Merge(&unmark))
            .await?;
        if i >= warmup {
            durations.push(t.elapsed());
        }
    }
    // The finalizers hold the objects: drop them with the namespace.
    let list = api.list_metadata(&ListParams::default()).await?;
    for r in list.items {
        let name = r.metadata.name.unwrap_or_default();
        let _ = api
            .patch_metadata(
                &name,
                &PatchParams::default(),
                &Patch::Merge(json!({"metadata": {"finalizers": null}})),
            )
            .await;
    }
    let _ = Api::<Namespace>::all(client.clone())
        .delete(&namespace, &DeleteParams::default())
        .await;
    Ok(Floor {
        p50: percentile(&durations, 50.0),
        p99: percentile(&durations, 99.0),
        create_wall: Duration::ZERO,
        patch_wall: durations.iter().sum(),
    })
}

fn jiff_now() -> String {
    k8s_openapi::jiff::Timestamp::now().to_string()
}

// ---------------------------------------------------------------------------------------------
// The emulator's request log: duplicate creates and the busiest 60-second windows

/// Successful config POSTs per organisation among the log entries with `seq >= since`.
fn posts_by_org(control: &infisical_emulator::Control, since: u64) -> HashMap<String, u64> {
    let mut out = HashMap::new();
    control.with_requests(|entries| {
        for e in entries.filter(|e| e.seq >= since) {
            if e.method == "POST"
                && e.path.starts_with("/api/v1/sso/oidc/config")
                && (200..300).contains(&e.status)
            {
                let org = e.org_id.clone().or_else(|| {
                    e.body
                        .as_ref()
                        .and_then(|b| b["organizationId"].as_str().map(String::from))
                });
                *out.entry(org.unwrap_or_default()).or_default() += 1;
            }
        }
    });
    out
}

/// Checks the creates of a phase against the resources it created (`expected` organisations):
/// one row, and a failure of the run on any duplicate or any create for an organisation not in
/// `expected`.
fn check_creates(
    table: &mut Table,
    label: &str,
    control: &infisical_emulator::Control,
    since: u64,
    expected: &[String],
) -> Res<()> {
    let stats = control.request_log_stats();
    if stats.dropped > 0 && control.with_requests(|mut e| e.next().is_some_and(|e| e.seq > since)) {
        return fail(format!(
            "{label}: the emulator's request log dropped entries of this phase; raise its capacity"
        ));
    }
    let posts = posts_by_org(control, since);
    let wanted: std::collections::HashSet<&str> = expected.iter().map(String::as_str).collect();
    let duplicates = posts.values().filter(|&&c| c > 1).count();
    let stray = posts
        .keys()
        .filter(|o| !wanted.contains(o.as_str()))
        .count();
    let missing = wanted.iter().filter(|o| !posts.contains_key(**o)).count();
    let total: u64 = posts.values().sum();
    table.plain(
        &format!("{label}: duplicate creates (orgs with > 1 POST, emulator log)"),
        format!(
            "{duplicates} ({total} POSTs for {} resources, {missing} without one)",
            expected.len()
        ),
    );
    if duplicates > 0 || stray > 0 {
        table.failures.push(format!(
            "{label}: {duplicates} organisations were created more than once, {stray} created without a resource of this phase"
        ));
    }
    Ok(())
}

/// The largest number of Infisical reads (GET) and writes (everything else: logins, POST,
/// PATCH, renew) whose arrival falls in any 60-second window, over entries with `seq >= since`.
fn busiest_minute(control: &infisical_emulator::Control, since: u64) -> (usize, usize) {
    let (mut reads, mut writes) = (Vec::new(), Vec::new());
    control.with_requests(|entries| {
        for e in entries.filter(|e| e.seq >= since && e.path.starts_with("/api/")) {
            if e.method == "GET" {
                reads.push(e.at_unix_micros);
            } else {
                writes.push(e.at_unix_micros);
            }
        }
    });
    (max_in_window(&mut reads), max_in_window(&mut writes))
}

fn max_in_window(times: &mut [u64]) -> usize {
    const WINDOW_US: u64 = 60_000_000;
    times.sort_unstable();
    let (mut start, mut best) = (0, 0);
    for end in 0..times.len() {
        while times[end] - times[start] >= WINDOW_US {
            start += 1;
        }
        best = best.max(end - start + 1);
    }
    best
}

/// Reports the busiest minute against the budget; a failure of the run when it is exceeded.
fn check_budget(
    table: &mut Table,
    label: &str,
    control: &infisical_emulator::Control,
    since: u64,
    shipped: Shipped,
) -> Res<()> {
    let (reads, writes) = busiest_minute(control, since);
    table.row(
        &format!("{label}: most Infisical reads in any 60 s"),
        reads.to_string(),
        format!("budget {}", shipped.reads_per_minute),
        ratio(reads as f64, f64::from(shipped.reads_per_minute)),
    );
    table.row(
        &format!("{label}: most Infisical writes in any 60 s (logins included)"),
        writes.to_string(),
        format!("budget {}", shipped.writes_per_minute),
        ratio(writes as f64, f64::from(shipped.writes_per_minute)),
    );
    if reads > shipped.reads_per_minute as usize || writes > shipped.writes_per_minute as usize {
        table.failures.push(format!(
            "{label}: the operator exceeded its budget: at most {reads} reads and {writes} writes in one 60-second window (budget {} / {})",
            shipped.reads_per_minute, shipped.writes_per_minute
        ));
    }
    Ok(())
}

fn next_seq(control: &infisical_emulator::Control) -> u64 {
    control.request_log_stats().next_seq
}

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
    let budget_n = env_usize("BENCH_BUDGET_N", 120);
    let restart_timeout = Duration::from_secs(env_usize("BENCH_RESTART_TIMEOUT_S", 120) as u64);
    let shipped = shipped_defaults()?;
    table.legend = vec![
        "bench: the bench alone, no operator (the floors)".into(),
        format!(
            "raw: operator --max-reads-per-minute 1000000 --max-writes-per-minute 1000000 --concurrency {OPERATOR_CONCURRENCY} (measures the operator, not Infisical's limits)"
        ),
        format!(
            "default: operator with the shipped budget and concurrency (no such flags): {} reads/min, {} writes/min (logins count as writes), concurrency {}",
            shipped.reads_per_minute, shipped.writes_per_minute, shipped.concurrency
        ),
        format!("every operator: {COMMON_FLAGS}"),
        format!(
            "operator binary: {}",
            std::env::var("BENCH_OPERATOR_BIN")
                .unwrap_or_else(|_| { env!("CARGO_BIN_EXE_infisical-oidc-operator").to_string() })
        ),
        format!(
            "workload: one organisation and identity per resource; the bench creates {CREATE_CONCURRENCY} at a time ({LARGE_CONCURRENCY} in the large phase)"
        ),
    ];

    log("connecting to the cluster and installing the CRD");
    let client = support::kube_client().await;
    let env = TestEnv::new("bench").await;
    log(format!(
        "namespace {}, emulator {}",
        env.namespace,
        env.emulator.base_url()
    ));
    let control = env.emulator.control();
    // Every phase's creates are checked in the log: keep all of it.
    control.set_request_log_capacity(REQUEST_LOG_CAPACITY);
    let mut workload = Workload {
        secrets: Api::namespaced(env.client.clone(), &env.namespace),
        env,
        orgs: Vec::new(),
    };
    workload.seed(1, 1).await?; // index 0 backs the floor objects' spec (never reconciled)

    // 1. Floors.
    table.settings(Settings::Bench);
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
    log(format!(
        "create-path floor: {samples} creates done by the bench, one at a time"
    ));
    let create_floor = measure_create_floor(&client, &workload, samples).await?;
    table.plain(
        "floor: create path p50 (mark+finalizer, login, GET, POST, status apply, unmark)",
        ms(create_floor.p50),
    );
    table.plain("floor: create path p99", ms(create_floor.p99));

    // The mixed phase: every kind at once, in a namespace and emulator of its own (removed after
    // it). A failure is recorded and the other phases still run and report.
    let phases = Phases::from_env();
    if phases.mixed
        && let Err(error) = mixed::phase(table, &client, n, &floor).await
    {
        table.failures.push(format!("mixed phase: {error}"));
    }
    if !phases.oidc {
        return finish(table, workload).await;
    }

    // 5a. Idle RSS with nothing to manage.
    table.settings(Settings::Raw);
    let namespace = workload.env.namespace.clone();
    let operator = OperatorProcess::start(&namespace, Budget::Raw, "raw").await?;
    log(format!("operator pid {} ready (raw budget)", operator.pid));
    tokio::time::sleep(Duration::from_secs(2)).await;
    let (rss0, _) = operator.rss()?;
    table.plain("operator RSS, 0 resources (floor)", mib(rss0));
    rss_split(table, operator.pid, "0 resources");
    if let Some(detail) = memory_detail(operator.pid) {
        log(format!("operator memory at 0: {detail}"));
    }

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
    let raw_since = next_seq(&control);
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
        "apply->Ready p50 (operator idle) vs create-path floor p50 (target <= 1.5x)",
        ms(p50),
        ms(create_floor.p50),
        ratio(p50.as_secs_f64(), create_floor.p50.as_secs_f64()),
    );
    table.row(
        "apply->Ready p99 (operator idle) vs create-path floor p99",
        ms(p99),
        ms(create_floor.p99),
        ratio(p99.as_secs_f64(), create_floor.p99.as_secs_f64()),
    );
    table.row(
        "apply->Ready p50 vs bare status patch p50",
        ms(p50),
        ms(floor.p50),
        ratio(p50.as_secs_f64(), floor.p50.as_secs_f64()),
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
    let (posts, patches, gets, _) = workload.org_counters(range.clone());
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
    let total = samples + n;
    check_creates(
        table,
        &format!("raw creates, all {total} (latency sample included)"),
        &control,
        raw_since,
        &workload.orgs[first..first + total],
    )?;
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
    let (rss1, hwm1) = operator.rss()?;
    table.row(
        &format!("operator RSS, {total} Ready (target <= 24 MiB)"),
        mib(rss1),
        mib(rss0),
        ratio(rss1 as f64, rss0 as f64),
    );
    table.plain(
        &format!("operator RSS per 1000 objects above floor, {total}"),
        mib(((rss1.saturating_sub(rss0)) as f64 * 1000.0 / total as f64) as u64),
    );
    table.plain("operator peak RSS (VmHWM) so far", mib(hwm1));
    rss_split(table, operator.pid, &format!("{total} Ready"));
    if let Some(detail) = memory_detail(operator.pid) {
        log(format!("operator memory at {total}: {detail}"));
    }

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
    let lines = operator.log_lines();
    table.plain("operator log lines at warn level", lines.to_string());
    let stopping = operator.stop().await;
    table.plain(
        &format!("operator SIGTERM -> exit, {total} Ready"),
        stopping.map_or_else(|| "> 30 s (killed)".into(), ms),
    );

    // 6. Restart with the shipped budget: how soon does an edit made right away reach Infisical?
    table.settings(Settings::Shipped);
    restart_phase(
        table,
        &workload,
        &api,
        &names,
        first + samples,
        total,
        shipped,
        restart_timeout,
    )
    .await?;

    // 7. A batch of creates with the shipped budget, against the budget's own floor.
    budget_phase(table, budget_n, shipped).await?;

    // 5c. Large.
    if large && large_total > total {
        table.settings(Settings::Raw);
        let operator = OperatorProcess::start(&namespace, Budget::Raw, "raw-large").await?;
        log(format!(
            "large: operator pid {} ready (raw budget); letting it go over the {total} it finds",
            operator.pid
        ));
        // Its first pass over each resource it finds; the in-sync ones are then rechecked, spread
        // over the resync interval (about 1.7 a second for 1,050 at 10 minutes), so the operator is
        // never quiet for long: a short lull after the last first pass is the settled point.
        operator
            .quiesce(total as f64, RECHECK_LULL, Duration::from_secs(300))
            .await?;
        let extra = large_total - total;
        log(format!(
            "large: seeding {extra} more orgs, identities and Secrets"
        ));
        let base = workload.orgs.len();
        workload.seed(base + extra, LARGE_CONCURRENCY).await?;
        let items: Vec<(String, usize)> =
            (0..extra).map(|i| (format!("big-{i}"), base + i)).collect();
        let names: Vec<String> = items.iter().map(|(n, _)| n.clone()).collect();
        let before = operator.counters().await?;
        let large_since = next_seq(&control);
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
                RECHECK_LULL,
                Duration::from_secs(300),
            )
            .await?;
        let d = operator.counters().await?.delta(&before);
        let (posts, patches, _, _) = workload.org_counters(base..base + extra);
        table.plain(
            &format!("{extra} more: Infisical POST / PATCH per create"),
            format!(
                "{:.2} / {:.2}",
                posts as f64 / extra as f64,
                patches as f64 / extra as f64
            ),
        );
        check_creates(
            table,
            &format!("large creates, {extra}"),
            &control,
            large_since,
            &workload.orgs[base..base + extra],
        )?;
        table.plain(
            &format!(
                "{extra} more: reconcile passes per create (rechecks of the first {total} included), errors"
            ),
            format!("{:.2}, {}", d.reconciles / extra as f64, d.errors),
        );
        let (rss2, hwm2) = operator.rss()?;
        table.row(
            &format!("operator RSS, {large_total} Ready (target <= 64 MiB)"),
            mib(rss2),
            mib(rss0),
            ratio(rss2 as f64, rss0 as f64),
        );
        table.plain(
            &format!("operator RSS per 1000 objects above floor, {large_total}"),
            mib(((rss2.saturating_sub(rss0)) as f64 * 1000.0 / large_total as f64) as u64),
        );
        table.plain("operator peak RSS (VmHWM)", mib(hwm2));
        rss_split(table, operator.pid, &format!("{large_total} Ready"));
        if let Some(detail) = memory_detail(operator.pid) {
            log(format!("operator memory at {large_total}: {detail}"));
        }
        let stopping = operator.stop().await;
        table.plain(
            &format!("operator SIGTERM -> exit, {large_total} Ready"),
            stopping.map_or_else(|| "> 30 s (killed)".into(), ms),
        );
    }
    finish(table, workload).await
}

/// Which phases run (`BENCH_PHASES`, comma-separated; default all): `mixed` (every kind),
/// `oidc` (the OIDC phases: latency, throughput, restart, shipped budget, large). The floors
/// always run.
struct Phases {
    mixed: bool,
    oidc: bool,
}

impl Phases {
    fn from_env() -> Self {
        let value = std::env::var("BENCH_PHASES").unwrap_or_default();
        let listed: Vec<&str> = value
            .split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .collect();
        let wants =
            |phase: &str| listed.is_empty() || listed.contains(&"all") || listed.contains(&phase);
        Self {
            mixed: wants("mixed"),
            oidc: wants("oidc"),
        }
    }
}

/// The API server's and etcd's memory as context, the cleanup, and the run's gates.
async fn finish(table: &mut Table, workload: Workload) -> Res<()> {
    table.settings(Settings::Bench);
    other_rss(table, "kube-apiserver", "BENCH_APISERVER_PID");
    other_rss(table, "etcd", "BENCH_ETCD_PID");

    if env_flag("BENCH_SKIP_CLEANUP") {
        log("leaving the namespaces behind (BENCH_SKIP_CLEANUP=1)");
    } else {
        log("cleaning up");
        release_all(&workload.env.api).await?;
        workload.env.cleanup().await;
    }
    if !table.failures.is_empty() {
        return fail(table.failures.join("; "));
    }
    Ok(())
}

/// Removes every finalizer in `api`'s namespace (no operator runs any more).
async fn release_all(api: &Api<OidcSsoConfig>) -> Res<()> {
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
    Ok(())
}

/// The operator restarts (SIGTERM, start) with the shipped budget over `total` Ready resources;
/// right after the start, the bench edits the spec of the resource the initial list returns last
/// and measures until the emulator sees that resource's PATCH.
#[allow(clippy::too_many_arguments)]
async fn restart_phase(
    table: &mut Table,
    workload: &Workload,
    api: &Api<OidcSsoConfig>,
    names: &[String],
    names_first: usize,
    total: usize,
    shipped: Shipped,
    timeout: Duration,
) -> Res<()> {
    let control = workload.env.emulator.control();
    // The API server lists in key order: the last name in byte order is listed last.
    let (index, name) = names
        .iter()
        .enumerate()
        .max_by(|a, b| a.1.cmp(b.1))
        .ok_or("no resources to edit")?;
    let org = workload.orgs[names_first + index].clone();
    let since = next_seq(&control);
    log(format!(
        "restart: starting the operator with the shipped budget over {total} Ready resources, then editing {name}"
    ));
    let t_start = Instant::now();
    let mut operator = OperatorProcess::spawn(&workload.env.namespace, Budget::Shipped, "restart")?;
    let patch = json!({"spec": {"clientId": format!("infisical-edited-{}", &uuid::Uuid::new_v4().simple().to_string()[..8])}});
    api.patch(name, &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .map_err(|e| format!("editing {name}: {e}"))?;
    let edited = support_unix_micros();
    let edited_after = t_start.elapsed();
    operator.wait_ready().await?;
    let ready_after = t_start.elapsed();
    let deadline = Instant::now() + timeout;
    let seen = loop {
        let found = control.with_requests(|entries| {
            entries
                .filter(|e| e.seq >= since)
                .find(|e| {
                    e.method == "PATCH"
                        && e.path.starts_with("/api/v1/sso/oidc/config")
                        && e.org_id.as_deref() == Some(org.as_str())
                })
                .map(|e| e.at_unix_micros)
        });
        if let Some(at) = found {
            break Some(Duration::from_micros(at.saturating_sub(edited)));
        }
        if Instant::now() > deadline {
            break None;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    // What the operator did meanwhile: config reads and logins before the PATCH (or the timeout).
    let (gets, logins) = control.with_requests(|entries| {
        let mut counts = (0, 0);
        for e in entries.filter(|e| e.seq >= since) {
            if e.method == "PATCH" && e.org_id.as_deref() == Some(org.as_str()) {
                break;
            }
            if e.method == "GET" && e.path.starts_with("/api/v1/sso/oidc/config") {
                counts.0 += 1;
            } else if e.path.starts_with("/api/v1/auth/universal-auth/login") {
                counts.1 += 1;
            }
        }
        counts
    });
    table.plain(
        &format!("restart over {total} Ready: operator start -> spec edit done / -> ready"),
        format!("{} / {}", secs(edited_after), secs(ready_after)),
    );
    table.row(
        &format!(
            "restart over {total} Ready: edit of {name} (listed last) -> its PATCH (target <= 10 s)"
        ),
        seen.map_or_else(|| format!("not within {} s", timeout.as_secs()), secs),
        "-".into(),
        "-".into(),
    );
    table.plain(
        &format!("restart over {total} Ready: config GETs / logins before that PATCH"),
        format!(
            "{gets} / {logins}{}",
            if seen.is_none() {
                " (by the timeout)"
            } else {
                ""
            }
        ),
    );
    let budget = check_budget(table, "restart", &control, since, shipped);
    let creates = check_creates(table, "restart", &control, since, &[]);
    let stopping = operator.stop().await;
    table.plain(
        "restart: operator SIGTERM -> exit, mid-way",
        stopping.map_or_else(|| "> 30 s (killed)".into(), ms),
    );
    budget?;
    creates?;
    Ok(())
}

/// `budget_n` creates with the shipped budget, in a namespace and emulator of their own.
async fn budget_phase(table: &mut Table, budget_n: usize, shipped: Shipped) -> Res<()> {
    if budget_n == 0 {
        return Ok(());
    }
    let env = TestEnv::new("bench-budget").await;
    let control = env.emulator.control();
    control.set_request_log_capacity(REQUEST_LOG_CAPACITY);
    let mut workload = Workload {
        secrets: Api::namespaced(env.client.clone(), &env.namespace),
        env,
        orgs: Vec::new(),
    };
    log(format!(
        "budget: seeding {budget_n} orgs, identities and Secrets in {}",
        workload.env.namespace
    ));
    workload.seed(budget_n, LARGE_CONCURRENCY).await?;
    let api = workload.env.api.clone();
    let ready = track_ready(api.clone());
    let operator =
        OperatorProcess::start(&workload.env.namespace, Budget::Shipped, "budget").await?;
    let since = next_seq(&control);
    let items: Vec<(String, usize)> = (0..budget_n).map(|i| (format!("bud-{i}"), i)).collect();
    let names: Vec<String> = items.iter().map(|(n, _)| n.clone()).collect();
    // What a create needs at least: a login per identity and a POST (writes), a GET (read).
    let writes_needed = 2 * budget_n;
    let reads_needed = budget_n;
    let floor = Duration::from_secs_f64(
        (writes_needed as f64 / f64::from(shipped.writes_per_minute))
            .max(reads_needed as f64 / f64::from(shipped.reads_per_minute))
            * 60.0,
    );
    log(format!(
        "budget: creating {budget_n} resources; floor {} ({writes_needed} writes / {} a minute, {reads_needed} reads / {} a minute)",
        secs(floor),
        shipped.writes_per_minute,
        shipped.reads_per_minute
    ));
    let t0 = Instant::now();
    workload.create_all(&items, CREATE_CONCURRENCY).await?;
    let result = wait_all_ready(&ready, &api, &names, floor * 2 + Duration::from_secs(120)).await;
    let took = result
        .as_ref()
        .map(|done| done.saturating_duration_since(t0));
    let counters = operator.counters().await.ok();
    let (rss, _) = operator.rss()?;
    let stopping = operator.stop().await;
    let _ = stopping;
    match &took {
        Ok(took) => table.row(
            &format!("{budget_n} creates: first create -> all Ready (target <= 1.2x)"),
            secs(*took),
            format!(
                "{} = max({writes_needed} writes / {}, {reads_needed} reads / {}) min",
                secs(floor),
                shipped.writes_per_minute,
                shipped.reads_per_minute
            ),
            ratio(took.as_secs_f64(), floor.as_secs_f64()),
        ),
        Err(error) => table.plain(
            &format!("{budget_n} creates: first create -> all Ready"),
            format!("FAILED: {error}"),
        ),
    }
    let (mut reads, mut writes) = (0, 0);
    control.with_requests(|entries| {
        for e in entries.filter(|e| e.seq >= since && e.path.starts_with("/api/")) {
            if e.method == "GET" {
                reads += 1;
            } else {
                writes += 1;
            }
        }
    });
    table.plain(
        &format!("{budget_n} creates: Infisical reads / writes per create (emulator)"),
        format!(
            "{:.2} / {:.2}",
            reads as f64 / budget_n as f64,
            writes as f64 / budget_n as f64
        ),
    );
    if let Some(c) = counters {
        log(format!(
            "budget pass: reconciles {} errors {} requests [{}]",
            c.reconciles,
            c.errors,
            c.describe_requests()
        ));
    }
    table.plain(&format!("operator RSS, {budget_n} Ready"), mib(rss));
    let budget = check_budget(
        table,
        &format!("{budget_n} creates"),
        &control,
        since,
        shipped,
    );
    let creates = check_creates(
        table,
        &format!("{budget_n} creates"),
        &control,
        since,
        &workload.orgs,
    );
    if !env_flag("BENCH_SKIP_CLEANUP") {
        release_all(&api).await?;
        let env = workload.env;
        env.cleanup().await;
    }
    if let Err(error) = result {
        table.failures.push(format!(
            "{budget_n} creates with the shipped budget: {error}"
        ));
    }
    budget?;
    creates?;
    Ok(())
}

fn support_unix_micros() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_micros() as u64)
        .unwrap_or(0)
}

/// Where the resident memory is, from /proc (for the log): RssAnon / RssFile, threads, the main
/// heap (`[heap]`, glibc's main arena) and the other anonymous mappings (thread arenas of 64 MiB
/// reserved each, large allocations, stacks).
fn memory_detail(pid: u32) -> Option<String> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let pick = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .map(|l| l[name.len()..].trim().to_string())
    };
    let smaps = std::fs::read_to_string(format!("/proc/{pid}/smaps")).unwrap_or_default();
    let (mut heap, mut anon, mut anon_maps, mut big_maps) = (0u64, 0u64, 0u64, 0u64);
    let mut current: Option<(bool, u64)> = None; // (is [heap], size in KiB)
    for line in smaps.lines() {
        let mut words = line.split_whitespace();
        let first = words.next().unwrap_or("");
        if first.contains('-') && first.chars().all(|c| c.is_ascii_hexdigit() || c == '-') {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let name = fields.get(5).copied().unwrap_or("");
            current = match name {
                "[heap]" => Some((true, 0)),
                "" => Some((false, 0)),
                _ => None,
            };
        } else if let Some((is_heap, size)) = current.as_mut() {
            let value = || {
                line.split_whitespace()
                    .nth(1)
                    .and_then(|v| v.parse::<u64>().ok())
                    .unwrap_or(0)
            };
            match first {
                "Size:" => *size = value(),
                "Rss:" if *is_heap => heap += value(),
                "Rss:" => {
                    anon += value();
                    anon_maps += 1;
                    big_maps += u64::from(*size >= 32 * 1024);
                }
                _ => {}
            }
        }
    }
    Some(format!(
        "RssAnon {} RssFile {} Threads {}; [heap] {} KiB resident, other anonymous {} KiB in {anon_maps} mappings ({big_maps} of 32 MiB or more: arenas)",
        pick("RssAnon:")?,
        pick("RssFile:")?,
        pick("Threads:")?,
        heap,
        anon
    ))
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

/// Creates each object through its API, `concurrency` at a time; the first failure ends it.
async fn create_all<K>(objects: impl Iterator<Item = (Api<K>, K)>, concurrency: usize) -> Res<()>
where
    K: kube::Resource + Clone + serde::Serialize + serde::de::DeserializeOwned + std::fmt::Debug,
{
    futures::stream::iter(objects)
        .map(|(api, object)| async move {
            api.create(&PostParams::default(), &object)
                .await
                .map_err(|e| format!("creating {}: {e}", object.meta().name.clone().unwrap()))?;
            Ok::<_, BoxError>(())
        })
        .buffer_unordered(concurrency)
        .try_collect::<Vec<_>>()
        .await?;
    Ok(())
}
