use std::net::SocketAddr;
use std::time::Duration;

use clap::Parser;
use infisical_oidc_operator::api::PreflightPolicy;
use infisical_oidc_operator::controller::{OperatorConfig, run};
use infisical_oidc_operator::infisical::{AllowedHosts, HttpSettings};
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

    let client = match kube::Client::try_default().await {
        Ok(client) => client,
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
            ..HttpSettings::default()
        },
        concurrency: args.concurrency,
        http_address: Some(args.http_address),
        instance: std::env::var("POD_NAME").unwrap_or_else(|_| "infisical-oidc-operator".into()),
    };
    tracing::info!(version = env!("CARGO_PKG_VERSION"), namespaces = ?config.namespaces, allowed_hosts = %config.settings.allowed_hosts, "starting");
    match run(client, config, Default::default(), shutdown_signal()).await {
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
