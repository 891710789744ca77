//! The emulator's LDAP configuration API against a real directory (`support::ldap`: a private
//! slapd over LDAPS with the test CA): Infisical's `testLDAPConfig` binds on create and on every
//! PATCH, and only a successful bind stores anything. The emulator's other LDAP rules are in
//! `emulator/tests/contract_ldap.rs`; these live here because the slapd harness is this crate's.

mod support;

use infisical_emulator::{Emulator, EmulatorConfig, IdentityCredentials, IdentitySeed, OrgSeed};
use serde_json::{Value, json};
use support::ldap::{Directory, DirectoryOptions};

const PATH: &str = "/api/v1/ldap/config";
const CONNECTION: &str = "Failed to establish connection to LDAP directory. Please verify that your credentials are correct.";

struct Env {
    emu: Emulator,
    org: String,
    token: String,
    http: reqwest::Client,
}

async fn env() -> Env {
    let emu = Emulator::start(EmulatorConfig::default()).await.unwrap();
    let c = emu.control();
    let org = c.seed_org(OrgSeed::default());
    let creds: IdentityCredentials = c.seed_identity(IdentitySeed {
        org_id: org.clone(),
        ..Default::default()
    });
    let http = reqwest::Client::new();
    let login: Value = http
        .post(format!(
            "{}/api/v1/auth/universal-auth/login",
            emu.base_url()
        ))
        .json(&json!({"clientId": creds.client_id, "clientSecret": creds.client_secret}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = login["accessToken"].as_str().unwrap().to_string();
    Env {
        emu,
        org,
        token,
        http,
    }
}

impl Env {
    async fn send(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut r = self
            .http
            .request(method, format!("{}{path}", self.emu.base_url()))
            .bearer_auth(&self.token);
        if let Some(b) = body {
            r = r.json(&b);
        }
        let resp = r.send().await.unwrap();
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    async fn post(&self, body: Value) -> (u16, Value) {
        self.send(reqwest::Method::POST, PATH, Some(body)).await
    }

    async fn patch(&self, body: Value) -> (u16, Value) {
        self.send(reqwest::Method::PATCH, PATH, Some(body)).await
    }

    fn binds(&self) -> u64 {
        self.emu.control().sso_state(&self.org).unwrap().ldap_binds
    }
}

fn body(org: &str, dir: &Directory, url: &str) -> Value {
    json!({
        "organizationId": org,
        "isActive": true,
        "url": url,
        "bindDN": dir.bind_dn,
        "bindPass": dir.bind_password(),
        "searchBase": "ou=people,dc=example,dc=org",
        "groupSearchBase": "ou=groups,dc=example,dc=org",
        "caCert": dir.ca_pem,
    })
}

fn assert_message(got: &(u16, Value), status: u16, message: &str) {
    assert_eq!(got.0, status, "{}", got.1);
    assert_eq!(got.1["message"], message, "{}", got.1);
}

#[tokio::test]
async fn create_binds_over_ldaps_with_the_ca_and_get_returns_the_config() {
    let dir = Directory::start();
    let e = env().await;
    // slapd listens on 127.0.0.1: refused as Infisical refuses it without
    // ALLOW_INTERNAL_IP_CONNECTIONS, and nothing is dialled.
    let got = e.post(body(&e.org, &dir, &dir.url)).await;
    assert_message(&got, 400, "Local IPs not allowed as URL");
    assert_eq!(e.binds(), 0);
    e.emu.control().set_allow_internal_ip_connections(true);

    let (s, created) = e.post(body(&e.org, &dir, &dir.url)).await;
    assert_eq!(s, 200, "{created}");
    assert_eq!(created["url"], json!(dir.url));
    assert_eq!(created["uniqueUserAttribute"], "uidNumber");
    assert!(
        created.get("bindPass").is_none() && created.get("caCert").is_none(),
        "{created}"
    );
    assert_eq!(e.binds(), 1);
    let (s, got) = e
        .send(
            reqwest::Method::GET,
            &format!("{PATH}?organizationId={}", e.org),
            None,
        )
        .await;
    assert_eq!(s, 200, "{got}");
    assert_eq!(got["bindPass"], json!(dir.bind_password()));
    assert_eq!(got["caCert"], json!(dir.ca_pem.trim()));
    assert_eq!(got["hasClientKeyCertificate"], false);
    // The bind really reached slapd, as the configured DN.
    assert!(
        dir.log().contains(&dir.bind_dn),
        "slapd saw no bind as {}",
        dir.bind_dn
    );

    // A second create binds, then hits the unique index.
    let got = e.post(body(&e.org, &dir, &dir.url)).await;
    assert_message(&got, 500, "Something went wrong");
    assert_eq!(got.1["error"], "Create");
    assert_eq!(e.binds(), 2);
}

#[tokio::test]
async fn create_is_refused_for_a_wrong_password_an_untrusted_server_or_a_wrong_port() {
    let dir = Directory::start();
    let e = env().await;
    e.emu.control().set_allow_internal_ip_connections(true);
    let mut wrong_password = body(&e.org, &dir, &dir.url);
    wrong_password["bindPass"] = json!("not-the-password");
    let mut no_ca = body(&e.org, &dir, &dir.url);
    no_ca["caCert"] = json!("");
    let wrong_port = body(&e.org, &dir, &dir.plain_url.replace("ldap://", "ldaps://"));
    for b in [wrong_password, no_ca, wrong_port] {
        let got = e.post(b).await;
        assert_message(&got, 400, CONNECTION);
    }
    assert_eq!(e.binds(), 3);
    assert!(e.emu.control().sso_state(&e.org).unwrap().ldap.is_none());
    // Plain LDAP binds without TLS (the CA is checked but unused, as in ldapjs).
    let (s, v) = e.post(body(&e.org, &dir, &dir.plain_url)).await;
    assert_eq!(s, 200, "{v}");
}

#[tokio::test]
async fn every_patch_binds_with_the_merged_config_and_rolls_back_on_failure() {
    let dir = Directory::start();
    let e = env().await;
    e.emu.control().set_allow_internal_ip_connections(true);
    assert_eq!(e.post(body(&e.org, &dir, &dir.url)).await.0, 200);

    let (s, v) = e
        .patch(json!({"organizationId": e.org, "isActive": false}))
        .await;
    assert_eq!((s, &v["isActive"]), (200, &json!(false)), "{v}");
    assert_eq!(e.binds(), 2);

    // The directory's password changes: the stored one no longer binds, so even a PATCH that
    // only touches a filter is refused, and nothing changes.
    dir.set_password(&dir.bind_dn, "rotated-in-the-directory")
        .await;
    let before = e.emu.control().sso_state(&e.org).unwrap().ldap.unwrap();
    let got = e
        .patch(json!({"organizationId": e.org, "searchFilter": "(mail={{username}})"}))
        .await;
    assert_message(&got, 400, CONNECTION);
    assert_eq!(
        e.emu.control().sso_state(&e.org).unwrap().ldap.unwrap(),
        before
    );

    let (s, v) = e
        .patch(json!({"organizationId": e.org, "bindPass": " rotated-in-the-directory ", "isActive": true}))
        .await;
    assert_eq!(s, 200, "{v}");
    let stored = e.emu.control().sso_state(&e.org).unwrap().ldap.unwrap();
    assert_eq!(
        stored.bind_pass, "rotated-in-the-directory",
        "zod trims the password"
    );
    assert_eq!(e.binds(), 4);
}

#[tokio::test]
async fn mtls_directory_needs_the_client_certificate_and_key() {
    let dir = Directory::start_with(DirectoryOptions {
        require_client_certificate: true,
    });
    let client = dir.client.clone().unwrap();
    let e = env().await;
    e.emu.control().set_allow_internal_ip_connections(true);
    let got = e.post(body(&e.org, &dir, &dir.url)).await;
    assert_message(&got, 400, CONNECTION);
    let mut only_cert = body(&e.org, &dir, &dir.url);
    only_cert["clientCertificate"] = json!(client.cert_pem);
    let got = e.post(only_cert.clone()).await;
    assert_message(&got, 400, CONNECTION);

    let mut with_key = only_cert;
    with_key["clientKeyCertificate"] = json!(client.key_pem);
    let (s, v) = e.post(with_key).await;
    assert_eq!(s, 200, "{v}");
    let (_, got) = e
        .send(
            reqwest::Method::GET,
            &format!("{PATH}?organizationId={}", e.org),
            None,
        )
        .await;
    assert_eq!(got["clientCertificate"], json!(client.cert_pem));
    assert_eq!(got["hasClientKeyCertificate"], true);
    assert!(
        got.get("clientKeyCertificate").is_none(),
        "the key is never returned"
    );
    // A PATCH that omits the key keeps it: the bind still presents it.
    let (s, v) = e
        .patch(json!({"organizationId": e.org, "isActive": false}))
        .await;
    assert_eq!(s, 200, "{v}");
    // Clearing the key leaves a certificate without its key: no TLS client, no bind.
    let got = e
        .patch(json!({"organizationId": e.org, "clientKeyCertificate": ""}))
        .await;
    assert_message(&got, 400, CONNECTION);
}
