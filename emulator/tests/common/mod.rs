//! Shared helpers for the contract tests.
#![allow(dead_code)]

use infisical_emulator::{
    Control, Emulator, EmulatorConfig, IdentityCredentials, IdentitySeed, OrgSeed, Seed,
};
use serde_json::{Value, json};

pub struct Env {
    pub emu: Emulator,
    pub c: Control,
    pub http: reqwest::Client,
    pub base: String,
    pub org: String,
    pub creds: IdentityCredentials,
}

pub fn client() -> reqwest::Client {
    // No connection reuse: fault tests close connections on purpose.
    reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .expect("client")
}

/// One org (plan on, SMTP ok), one identity with all sso permissions; 127.0.0.1 allow-listed.
pub async fn env() -> Env {
    let config = EmulatorConfig {
        seed: Seed {
            allowed_internal_hosts: vec!["127.0.0.1".into()],
            ..Default::default()
        },
        ..Default::default()
    };
    let emu = Emulator::start(config).await.expect("start");
    let c = emu.control();
    let org = c.seed_org(OrgSeed::default());
    let creds = c.seed_identity(IdentitySeed {
        org_id: org.clone(),
        ..Default::default()
    });
    let base = emu.base_url();
    Env {
        emu,
        c,
        http: client(),
        base,
        org,
        creds,
    }
}

pub async fn body_of(resp: reqwest::Response) -> (u16, Value) {
    let status = resp.status().as_u16();
    let text = resp.text().await.expect("body");
    let v = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or(Value::String(text))
    };
    (status, v)
}

impl Env {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub async fn login_with(&self, client_id: &str, client_secret: &str) -> (u16, Value) {
        let r = self
            .http
            .post(self.url("/api/v1/auth/universal-auth/login"))
            .json(&json!({"clientId": client_id, "clientSecret": client_secret}))
            .send()
            .await
            .expect("send");
        body_of(r).await
    }

    pub async fn login_creds(&self, creds: &IdentityCredentials) -> String {
        let (s, v) = self
            .login_with(&creds.client_id, &creds.client_secret)
            .await;
        assert_eq!(s, 200, "{v}");
        v["accessToken"].as_str().expect("token").to_string()
    }

    pub async fn token(&self) -> String {
        self.login_creds(&self.creds).await
    }

    pub async fn get_cfg(&self, token: &str, org: &str) -> (u16, Value) {
        let r = self
            .http
            .get(self.url(&format!("/api/v1/sso/oidc/config?organizationId={org}")))
            .bearer_auth(token)
            .send()
            .await
            .expect("send");
        body_of(r).await
    }

    pub async fn post_cfg(&self, token: &str, body: Value) -> (u16, Value) {
        let r = self
            .http
            .post(self.url("/api/v1/sso/oidc/config"))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .expect("send");
        body_of(r).await
    }

    pub async fn patch_cfg(&self, token: &str, body: Value) -> (u16, Value) {
        let r = self
            .http
            .patch(self.url("/api/v1/sso/oidc/config"))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .expect("send");
        body_of(r).await
    }

    /// A valid discoveryURL create body for this env's org.
    pub fn discovery_body(&self) -> Value {
        json!({
            "organizationId": self.org,
            "configurationType": "discoveryURL",
            "discoveryURL": "https://idp.example.com/.well-known/openid-configuration",
            "clientId": "client-1",
            "clientSecret": "secret-1",
            "isActive": true,
        })
    }
}

/// An API request with a bearer token and an optional JSON body.
pub async fn send(
    e: &Env,
    method: &str,
    path: &str,
    token: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
    let mut r = e.http.request(method, e.url(path)).bearer_auth(token);
    if let Some(b) = body {
        r = r.json(&b);
    }
    body_of(r.send().await.expect("send")).await
}

/// Assert an Infisical error envelope.
pub fn assert_err(got: &(u16, Value), status: u16, error: &str, message: &str) {
    let (s, v) = got;
    assert_eq!(*s, status, "status; body: {v}");
    assert_eq!(v["statusCode"], json!(status), "statusCode; body: {v}");
    assert_eq!(v["error"], json!(error), "error; body: {v}");
    assert_eq!(v["message"], json!(message), "message; body: {v}");
    let req_id = v["reqId"].as_str().expect("reqId");
    assert!(req_id.starts_with("req-") && req_id.len() == 18, "{req_id}");
    assert!(req_id[4..].chars().all(|c| c.is_ascii_alphanumeric()));
}

/// Assert a 422 and return its issues.
pub fn issues(got: &(u16, Value)) -> Vec<Value> {
    let (s, v) = got;
    assert_eq!(*s, 422, "{v}");
    assert_eq!(v["error"], "ValidationFailure", "{v}");
    assert_eq!(v["statusCode"], 422, "{v}");
    v["message"].as_array().expect("issues").clone()
}
