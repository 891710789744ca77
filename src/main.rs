use std::net::SocketAddr;
use std::time::Duration;

use clap::Parser;
use infisical_oidc_operator::api::PreflightPolicy;
use infisical_oidc_operator::infisical::{AllowedHosts, HttpSettings};
use infisical_oidc_operator::leader::{self, ElectionSettings, Elector, Fence};
use infisical_oidc_operator::lifecycle::{OperatorConfig, context, run_leading};
use infisical_oidc_operator::metrics::Metrics;
use infisical_oidc_operator::reconcile::context::Settings;
use infisical_oidc_operator::reconcile::idp_hosts::IdpResolver;
use infisical_oidc_operator::reconcile::validate::{
    MAX_RESYNC_INTERVAL, MIN_RESYNC_INTERVAL, parse_duration,
};
use infisical_oidc_operator::telemetry::{self, LogFormat};

/// Keeps Infisical organisations' OIDC SSO configurations equal to OidcSsoConfig resources.
#[derive(Parser, Debug)]
#[command(version, about)]
struct Args {
    /// Namespaces to watch, comma-separated; empty watches all namespaces.
    #[arg(
        long,
        env = "WATCH_NAMESPACES",
        value_delimiter = ',',
        default_value = ""
    )]
    watch_namespaces: Vec<String>,
    /// Infisical hosts the operator may send credentials to: names, `*.suffix`, or `*`.
    #[arg(
        long,
        env = "ALLOWED_HOSTS",
        value_delimiter = ',',
        default_value = "app.infisical.com,us.infisical.com,eu.infisical.com"
    )]
    allowed_hosts: Vec<String>,
    /// Resources reconciled at once, across every watched namespace (at least 1).
    #[arg(long, env = "CONCURRENCY", default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..))]
    concurrency: u16,
    /// Drift check period for resources without spec.resyncInterval.
    #[arg(long, env = "DEFAULT_RESYNC_INTERVAL", default_value = "10m", value_parser = resync_interval)]
    default_resync_interval: Duration,
    /// Log format.
    #[arg(long, env = "LOG_FORMAT", value_enum, default_value = "text")]
    log_format: LogFormat,
    /// Log filter in RUST_LOG syntax.
    #[arg(long, env = "LOG_LEVEL", default_value = "info")]
    log_level: String,
    /// Address serving /healthz, /readyz and /metrics.
    #[arg(long, env = "HTTP_ADDRESS", default_value = "0.0.0.0:8080")]
    http_address: SocketAddr,
    /// Timeout of each request to Infisical.
    #[arg(long, env = "INFISICAL_REQUEST_TIMEOUT", default_value = "30s", value_parser = request_timeout)]
    request_timeout: Duration,
    /// Client-side budget of read requests per Infisical host and minute.
    #[arg(long, env = "MAX_READS_PER_MINUTE", default_value_t = 150, value_parser = clap::value_parser!(u32).range(1..))]
    max_reads_per_minute: u32,
    /// The IdP preflight for resources that do not set spec.preflight: Enforce, Warn or Skip.
    #[arg(long, env = "DEFAULT_PREFLIGHT", default_value = "Enforce", value_parser = preflight_policy)]
    default_preflight: PreflightPolicy,
    /// A hosts(5)-format file of IdP host names and addresses, consulted before DNS when checking
    /// that the hosts of an IdP's URLs resolve (split-horizon DNS, or machines without DNS).
    #[arg(long, env = "IDP_HOST_ALIASES")]
    idp_host_aliases: Option<std::path::PathBuf>,
    /// Client-side budget of write requests per Infisical host and minute.
    #[arg(long, env = "MAX_WRITES_PER_MINUTE", default_value_t = 60, value_parser = clap::value_parser!(u32).range(1..))]
    max_writes_per_minute: u32,
    /// Run as one of several replicas: only the holder of a Lease reconciles and writes; the
    /// others stand by and take over when it stops renewing.
    #[arg(long, env = "LEADER_ELECT")]
    leader_elect: bool,
    /// Name of the leader election Lease.
    #[arg(
        long,
        env = "LEADER_ELECT_LEASE_NAME",
        default_value = "infisical-oidc-operator"
    )]
    leader_elect_lease_name: String,
    /// Namespace of the leader election Lease (default: the pod's namespace, POD_NAMESPACE).
    #[arg(long, env = "POD_NAMESPACE")]
    leader_elect_lease_namespace: Option<String>,
    /// How long standbys wait after the leader's last renewal before taking over. Must exceed
    /// the renew deadline plus --request-timeout.
    #[arg(long, env = "LEADER_ELECT_LEASE_DURATION", default_value = "60s", value_parser = election_period)]
    leader_elect_lease_duration: Duration,
    /// How long the leader goes on writing without a successful renewal before it stops.
    #[arg(long, env = "LEADER_ELECT_RENEW_DEADLINE", default_value = "15s", value_parser = election_period)]
    leader_elect_renew_deadline: Duration,
    /// Time between attempts to renew or take the Lease.
    #[arg(long, env = "LEADER_ELECT_RETRY_PERIOD", default_value = "2s", value_parser = election_period)]
    leader_elect_retry_period: Duration,
}

fn election_period(text: &str) -> Result<Duration, String> {
    duration_between(text, Duration::from_secs(1), Duration::from_secs(600))
}

fn duration_between(text: &str, min: Duration, max: Duration) -> Result<Duration, String> {
    parse_duration(text)
        .filter(|d| (min..=max).contains(d))
        .ok_or_else(|| {
            format!(
                "{text:?} is not a duration between {} and {}, like 30s, 10m or 1h",
                humantime::format_duration(min),
                humantime::format_duration(max)
            )
        })
}

fn preflight_policy(text: &str) -> Result<PreflightPolicy, String> {
    match text {
        "Enforce" => Ok(PreflightPolicy::Enforce),
        "Warn" => Ok(PreflightPolicy::Warn),
        "Skip" => Ok(PreflightPolicy::Skip),
        other => Err(format!("{other:?} is not Enforce, Warn or Skip")),
    }
}

fn resync_interval(text: &str) -> Result<Duration, String> {
    duration_between(text, MIN_RESYNC_INTERVAL, MAX_RESYNC_INTERVAL)
}

fn request_timeout(text: &str) -> Result<Duration, String> {
    duration_between(text, Duration::from_secs(1), Duration::from_secs(300))
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let args = Args::parse();
    if let Err(message) = telemetry::init(args.log_format, &args.log_level) {
        eprintln!("error: {message}");
        return std::process::ExitCode::from(2);
    }
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();

    // Unique per process, so a restarted pod is a new candidate, and logs on both sides
    // (Infisical, the API server's audit log) tell replicas apart.
    let identity = format!(
        "{}_{:08x}",
        std::env::var("POD_NAME").unwrap_or_else(|_| "infisical-oidc-operator".into()),
        rand::random::<u32>()
    );
    let user_agent = format!(
        "infisical-oidc-operator/{} ({identity})",
        env!("CARGO_PKG_VERSION")
    );
    let election = if args.leader_elect {
        let Some(namespace) = args.leader_elect_lease_namespace.filter(|n| !n.is_empty()) else {
            tracing::error!(
                "--leader-elect needs --leader-elect-lease-namespace (or POD_NAMESPACE)"
            );
            return std::process::ExitCode::from(2);
        };
        let settings = ElectionSettings {
            lease_name: args.leader_elect_lease_name,
            lease_namespace: namespace,
            identity: identity.clone(),
            lease_duration: args.leader_elect_lease_duration,
            renew_deadline: args.leader_elect_renew_deadline,
            retry_period: args.leader_elect_retry_period,
        };
        if let Err(error) = settings.check(args.request_timeout) {
            tracing::error!(%error, "invalid leader election timings");
            return std::process::ExitCode::from(2);
        }
        Some(settings)
    } else {
        None
    };
    let fence = match &election {
        Some(settings) => Fence::closed(settings.renew_deadline),
        None => Fence::default(),
    };
    let kube_config = match kube::Config::infer().await {
        Ok(mut config) => {
            if let Ok(value) = http::HeaderValue::from_str(&user_agent) {
                config.headers.push((http::header::USER_AGENT, value));
            }
            config
        }
        Err(error) => {
            tracing::error!(%error, "cannot configure a Kubernetes client");
            return std::process::ExitCode::FAILURE;
        }
    };
    // The Lease is written through its own client: renewing it is what opens the fence.
    let clients = leader::fenced_client(kube_config.clone(), fence.clone())
        .and_then(|fenced| Ok((fenced, kube::Client::try_from(kube_config)?)));
    let (client, lease_client) = match clients {
        Ok(clients) => clients,
        Err(error) => {
            tracing::error!(%error, "cannot build a Kubernetes client");
            return std::process::ExitCode::FAILURE;
        }
    };
    let idp_resolver = match &args.idp_host_aliases {
        None => IdpResolver::default(),
        Some(path) => match std::fs::read_to_string(path)
            .map_err(|e| e.to_string())
            .and_then(|text| IdpResolver::parse_hosts(&text))
        {
            Ok(aliases) => IdpResolver::with_aliases(aliases, true),
            Err(error) => {
                tracing::error!(path = %path.display(), %error, "cannot read --idp-host-aliases");
                return std::process::ExitCode::from(2);
            }
        },
    };
    let config = OperatorConfig {
        namespaces: args
            .watch_namespaces
            .into_iter()
            .map(|n| n.trim().to_string())
            .filter(|n| !n.is_empty())
            .collect(),
        settings: Settings {
            allowed_hosts: AllowedHosts::new(args.allowed_hosts),
            default_resync: args.default_resync_interval,
            idp_resolver,
            default_preflight: args.default_preflight,
            ..Settings::default()
        },
        http: HttpSettings {
            request_timeout: args.request_timeout,
            reads_per_minute: args.max_reads_per_minute,
            writes_per_minute: args.max_writes_per_minute,
            user_agent,
            fence: fence.clone(),
            ..HttpSettings::default()
        },
        concurrency: args.concurrency,
        http_address: Some(args.http_address),
        instance: std::env::var("POD_NAME").unwrap_or_else(|_| "infisical-oidc-operator".into()),
    };
    let metrics = std::sync::Arc::new(Metrics::default());
    let elector =
        election.map(|settings| Elector::new(lease_client, settings, fence, metrics.clone()));
    tracing::info!(version = env!("CARGO_PKG_VERSION"), namespaces = ?config.namespaces, allowed_hosts = %config.settings.allowed_hosts, "starting");
    let ctx = context(client, &config, metrics);
    match run_leading(ctx, config, elector, shutdown_signal()).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(stopped) => {
            tracing::error!(%stopped, "the operator stopped");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn shutdown_signal() {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .expect("SIGTERM handler");
    tokio::select! {
        _ = term.recv() => {}
        _ = tokio::signal::ctrl_c() => {}
    }
}
