//! HTTPS serving with an rcgen certificate, and a smoke test of the built binary.

use std::io::{BufRead, BufReader, Read};
use std::process::{Command, Stdio};
use std::time::Duration;

use infisical_emulator::{Emulator, EmulatorConfig, IdentitySeed, OrgSeed, TlsFiles};
use serde_json::{Value, json};

const CANARY: &str = "CANARY-emulator-secret-9f3a";

#[tokio::test]
async fn https_with_rcgen_certificate() {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let ck =
        rcgen::generate_simple_self_signed(vec!["localhost".to_string(), "127.0.0.1".to_string()])
            .expect("cert");
    let cert_pem = ck.cert.pem();
    let tls = TlsFiles {
        cert_pem: cert_pem.clone().into_bytes(),
        key_pem: ck.signing_key.serialize_pem().into_bytes(),
    };
    let emu = Emulator::start_on(
        EmulatorConfig::default(),
        "127.0.0.1:0".parse().unwrap(),
        Some(tls),
    )
    .await
    .expect("start tls");
    let base = emu.base_url();
    assert!(base.starts_with("https://localhost:"), "{base}");
    let c = emu.control();
    let org = c.seed_org(OrgSeed::default());
    let creds = c.seed_identity(IdentitySeed {
        org_id: org.clone(),
        ..Default::default()
    });
    let client = reqwest::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(cert_pem.as_bytes()).unwrap()])
        .build()
        .unwrap();
    let v: Value = client
        .get(format!("{base}/api/status"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["message"], "Ok");
    let r = client
        .post(format!("{base}/api/v1/auth/universal-auth/login"))
        .json(&json!({"clientId": creds.client_id, "clientSecret": creds.client_secret}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    // A client that does not trust the certificate fails.
    let untrusting = reqwest::Client::builder()
        .tls_certs_only(Vec::<reqwest::Certificate>::new())
        .build()
        .unwrap();
    assert!(
        untrusting
            .get(format!("{base}/api/status"))
            .send()
            .await
            .is_err()
    );
    emu.shutdown().await;
}

struct Child(std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn spawn(args: &[&str]) -> (Child, Value, BufReader<std::process::ChildStdout>) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_infisical-emulator"))
        .args(args)
        .env("RUST_LOG", "info,infisical_emulator=debug")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn binary");
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    out.read_line(&mut line).expect("first line");
    let banner: Value = serde_json::from_str(&line).expect("first line is JSON");
    (Child(child), banner, out)
}

#[tokio::test]
async fn binary_smoke_demo_seed() {
    let (mut child, banner, _out) = spawn(&["--listen", "127.0.0.1:0"]);
    let base = banner["baseUrl"].as_str().unwrap().to_string();
    assert!(base.starts_with("http://127.0.0.1:"));
    assert_eq!(
        banner["orgs"],
        json!([{"id": "6f1c0b64-2a4e-4c55-9d1e-0a9b8c7d6e5f", "slug": "acme"}])
    );
    let ident = &banner["identities"][0];
    assert_eq!(ident["clientId"], "demo-identity-client-id");
    assert_eq!(ident["clientSecret"], "demo-identity-client-secret");
    assert_eq!(ident["orgId"], "6f1c0b64-2a4e-4c55-9d1e-0a9b8c7d6e5f");
    let http = reqwest::Client::new();
    let v: Value = http
        .get(format!("{base}/api/status"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["message"], "Ok");
    let v: Value = http
        .post(format!("{base}/api/v1/auth/universal-auth/login"))
        .json(&json!({"clientId": "demo-identity-client-id", "clientSecret": "demo-identity-client-secret"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(v["accessToken"].is_string());
    // SIGTERM exits cleanly.
    let pid = child.0.id().to_string();
    let _ = Command::new("kill").args(["-TERM", &pid]).status();
    let mut status = None;
    for _ in 0..50 {
        if let Some(s) = child.0.try_wait().unwrap() {
            status = Some(s);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(status.expect("exited after SIGTERM").success());
}

#[tokio::test]
async fn binary_with_config_never_logs_secrets() {
    let dir = std::env::temp_dir().join(format!("infisical-emulator-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let cfg = dir.join("seed.yaml");
    std::fs::write(
        &cfg,
        format!(
            "orgs:\n  - name: Beta\n    slug: beta\n    id: 11111111-2222-4333-8444-555555555555\n\
             identities:\n  - orgId: beta\n    clientId: beta-client\n    clientSecret: {CANARY}\n\
             allowedInternalHosts: [\"127.0.0.1\"]\n"
        ),
    )
    .unwrap();
    let (mut child, banner, _out) =
        spawn(&["--listen", "127.0.0.1:0", "--config", cfg.to_str().unwrap()]);
    let base = banner["baseUrl"].as_str().unwrap().to_string();
    let org = "11111111-2222-4333-8444-555555555555";
    assert_eq!(banner["identities"][0]["orgId"], org);
    let http = reqwest::Client::new();
    let v: Value = http
        .post(format!("{base}/api/v1/auth/universal-auth/login"))
        .json(&json!({"clientId": "beta-client", "clientSecret": CANARY}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = v["accessToken"].as_str().unwrap().to_string();
    let r = http
        .post(format!("{base}/api/v1/sso/oidc/config"))
        .bearer_auth(&token)
        .json(&json!({
            "organizationId": org, "configurationType": "discoveryURL",
            "discoveryURL": "http://127.0.0.1:1/.well-known/openid-configuration",
            "clientId": "c", "clientSecret": CANARY, "isActive": true,
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let r = http
        .get(format!(
            "{base}/api/v1/sso/oidc/config?organizationId={org}"
        ))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let _ = child.0.kill();
    let _ = child.0.wait();
    let mut stderr = String::new();
    child
        .0
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    assert!(stderr.contains("/api/v1/sso/oidc/config"), "{stderr}");
    assert!(!stderr.contains(CANARY), "{stderr}");
    assert!(!stderr.contains(&token), "{stderr}");
    let _ = std::fs::remove_dir_all(&dir);
}
