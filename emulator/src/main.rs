//! `infisical-emulator` binary: serves the emulator until SIGTERM / Ctrl-C.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Parser;
use infisical_emulator::{
    ConfigFile, Emulator, EmulatorConfig, IdentitySeed, OrgSeed, Seed, TlsFiles,
};
use serde_json::json;

const DEMO_ORG_ID: &str = "6f1c0b64-2a4e-4c55-9d1e-0a9b8c7d6e5f";

/// A local emulator of Infisical's OIDC SSO, auth and identity API.
#[derive(Parser, Debug)]
#[command(name = "infisical-emulator", version)]
struct Args {
    /// Address to listen on (port 0 picks a free port).
    #[arg(
        long,
        env = "INFISICAL_EMULATOR_LISTEN",
        default_value = "127.0.0.1:8080"
    )]
    listen: SocketAddr,
    /// Config file (YAML, camelCase): the seed (orgs, identities, allowedInternalHosts) and settings
    /// (urlGuard, hosts, lockout, maxMachineIdentityTokenAge, requestLogCapacity, ...).
    /// Default: a demo org + identity and default settings.
    #[arg(long, env = "INFISICAL_EMULATOR_CONFIG")]
    config: Option<PathBuf>,
    /// PEM certificate chain; serve HTTPS (requires --tls-key).
    #[arg(long, requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// PEM private key (requires --tls-cert).
    #[arg(long, requires = "tls_cert")]
    tls_key: Option<PathBuf>,
}

fn demo_seed() -> Seed {
    Seed {
        orgs: vec![OrgSeed {
            id: Some(DEMO_ORG_ID.to_string()),
            name: "Acme".into(),
            slug: "acme".into(),
            ..Default::default()
        }],
        identities: vec![IdentitySeed {
            org_id: DEMO_ORG_ID.to_string(),
            client_id: Some("demo-identity-client-id".into()),
            client_secret: Some("demo-identity-client-secret".into()),
            ..Default::default()
        }],
        allowed_internal_hosts: vec![],
    }
}

async fn run(args: Args) -> Result<(), String> {
    let file = match &args.config {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            serde_yaml::from_str::<ConfigFile>(&text)
                .map_err(|e| format!("invalid config file {}: {e}", path.display()))?
        }
        None => ConfigFile {
            seed: demo_seed(),
            config: EmulatorConfig::default(),
        },
    };
    let seed = file.seed;
    let tls = match (&args.tls_cert, &args.tls_key) {
        (Some(c), Some(k)) => Some(TlsFiles {
            cert_pem: std::fs::read(c).map_err(|e| format!("cannot read {}: {e}", c.display()))?,
            key_pem: std::fs::read(k).map_err(|e| format!("cannot read {}: {e}", k.display()))?,
        }),
        _ => None,
    };
    // Orgs and identities are seeded below, to report them in the banner.
    let config = EmulatorConfig {
        seed: Seed {
            allowed_internal_hosts: seed.allowed_internal_hosts.clone(),
            ..Default::default()
        },
        ..file.config
    };
    let emulator = Emulator::start_on(config, args.listen, tls)
        .await
        .map_err(|e| format!("cannot start on {}: {e}", args.listen))?;
    let control = emulator.control();
    let mut orgs = Vec::new();
    for org in seed.orgs {
        let slug = org.slug.clone();
        let id = control.seed_org(org);
        orgs.push(json!({"id": id, "slug": slug}));
    }
    let mut identities = Vec::new();
    for identity in seed.identities {
        let requested_org = identity.org_id.clone();
        let creds = control.seed_identity(identity);
        // Report the resolved org id (the seed may name the org by slug).
        let org_id = orgs
            .iter()
            .find(|o| o["slug"] == requested_org.as_str())
            .map(|o| o["id"].as_str().unwrap_or_default().to_string())
            .unwrap_or(requested_org);
        identities.push(json!({
            "identityId": creds.identity_id,
            "orgId": org_id,
            "clientId": creds.client_id,
            "clientSecret": creds.client_secret,
        }));
    }
    let base = emulator.base_url();
    let banner = json!({"baseUrl": base, "orgs": orgs, "identities": identities});
    {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{banner}");
        let _ = writeln!(out, "infisical-emulator listening on {base}");
        let _ = writeln!(out, "  health:  curl -s {base}/api/status");
        if let (Some(o), Some(i)) = (orgs.first(), identities.first()) {
            let _ = writeln!(
                out,
                "  login:   curl -s -X POST {base}/api/v1/auth/universal-auth/login -H 'content-type: application/json' -d '{{\"clientId\":\"{}\",\"clientSecret\":\"<clientSecret from the JSON line>\"}}'",
                i["clientId"].as_str().unwrap_or_default()
            );
            let _ = writeln!(
                out,
                "  read:    curl -s '{base}/api/v1/sso/oidc/config?organizationId={}' -H \"authorization: Bearer $TOKEN\"",
                o["id"].as_str().unwrap_or_default()
            );
        }
        let _ = writeln!(
            out,
            "  control: curl -s {base}/__emulator/requests   (see README.md)"
        );
        let _ = out.flush();
    }
    tracing::info!(base_url = %base, "emulator started");
    wait_for_signal().await;
    tracing::info!("shutting down");
    emulator.shutdown().await;
    Ok(())
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = match signal(SignalKind::terminate()) {
            Ok(s) => s,
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
                return;
            }
        };
        tokio::select! {
            _ = term.recv() => {}
            _ = tokio::signal::ctrl_c() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

#[tokio::main]
async fn main() {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let args = Args::parse();
    if let Err(e) = run(args).await {
        eprintln!("infisical-emulator: {e}");
        std::process::exit(1);
    }
}
