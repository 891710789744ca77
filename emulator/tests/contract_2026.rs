//! Contract tests for what changed in Infisical in 2026 (docs/infisical-contract.md): the
//! DNS-resolving URL guard, the Universal Auth login lockout, the machine identity token redesign,
//! `/api/status`, and the emulator's own bounded memory. Each test names the Infisical source file
//! it follows (paths under `Infisical/infisical:backend/src/`).

mod common;

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine;
use common::*;
use infisical_emulator::{
    ConfigFile, Emulator, EmulatorConfig, HostAnswer, LockoutSettings, Seed, TokenMint,
};
use serde_json::{Value, json};

const LOCAL: &str = "Local IPs not allowed as URL";
const NO_ADDRESS: &str = "Could not resolve hostname to any IP address";
const LOCKED: &str = "This identity auth method is temporarily locked, please try again later";
const EXPIRED: &str = "Your token has expired. Please re-authenticate.";
const DAY: u64 = 86_400;

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn claims(token: &str) -> Value {
    let part = token.split('.').nth(1).expect("payload");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(part)
        .expect("b64");
    serde_json::from_slice(&bytes).expect("json")
}

fn addrs(list: &[&str]) -> HostAnswer {
    HostAnswer::Addresses(list.iter().map(|a| a.parse().unwrap()).collect())
}

impl Env {
    async fn post_discovery(&self, token: &str, field: &str, url: &str) -> (u16, Value) {
        let mut body = self.discovery_body();
        body[field] = json!(url);
        self.post_cfg(token, body).await
    }

    async fn details(&self, token: &str) -> (u16, Value) {
        body_of(
            self.http
                .get(self.url("/api/v1/identities/details"))
                .bearer_auth(token)
                .send()
                .await
                .unwrap(),
        )
        .await
    }

    async fn token_call(&self, action: &str, token: &str) -> (u16, Value) {
        body_of(
            self.http
                .post(self.url(&format!("/api/v1/auth/token/{action}")))
                .json(&json!({"accessToken": token}))
                .send()
                .await
                .unwrap(),
        )
        .await
    }

    async fn control(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut req = self.http.request(method, self.url(path));
        if let Some(b) = body {
            req = req.json(&b);
        }
        body_of(req.send().await.unwrap()).await
    }
}

// ================================================================ DNS-resolving URL guard
// lib/validator/validate-url.ts `blockLocalAndPrivateIpAddresses`, lib/ip/ipRange.ts `isPrivateIp`,
// called from ee/services/oidc/oidc-config-service.ts `createOidcCfg` and `updateOidcCfg`.

#[tokio::test]
async fn dns_name_resolving_to_a_private_address_is_refused() {
    let e = env().await;
    let token = e.token().await;
    e.c.set_host("idp.corp.example.com", addrs(&["10.20.30.40"]));
    e.c.set_host("v6.corp.example.com", addrs(&["fd00::7"]));
    // One private address among public ones is enough (`entries.some(isPrivateIp)`).
    e.c.set_host("mixed.example.com", addrs(&["93.184.215.14", "172.16.0.9"]));
    // RFC 5737 documentation addresses are "reserved" in ipRange.ts, so refused too.
    e.c.set_host("docs.example.com", addrs(&["192.0.2.10"]));
    for (field, url) in [
        (
            "discoveryURL",
            "https://idp.corp.example.com/.well-known/openid-configuration",
        ),
        ("jwksUri", "https://v6.corp.example.com/jwks"),
        ("tokenEndpoint", "https://mixed.example.com/token"),
        ("userinfoEndpoint", "https://docs.example.com/userinfo"),
    ] {
        assert_err(
            &e.post_discovery(&token, field, url).await,
            400,
            "BadRequest",
            LOCAL,
        );
    }
    assert!(e.c.org_state(&e.org).unwrap().config.is_none());
}

#[tokio::test]
async fn dns_name_resolving_to_loopback_or_link_local_is_refused() {
    let e = env().await;
    let token = e.token().await;
    e.c.set_host("loop.example.com", addrs(&["127.0.0.1"]));
    e.c.set_host("loop6.example.com", addrs(&["::1"]));
    e.c.set_host("metadata.example.com", addrs(&["169.254.169.254"]));
    e.c.set_host("mapped.example.com", addrs(&["::ffff:127.0.0.1"]));
    for host in ["loop", "loop6", "metadata", "mapped"] {
        let url = format!("https://{host}.example.com/.well-known/openid-configuration");
        assert_err(
            &e.post_discovery(&token, "discoveryURL", &url).await,
            400,
            "BadRequest",
            LOCAL,
        );
    }
    // The literal names are refused before any lookup.
    for url in ["http://localhost:5556/", "http://host.docker.internal/"] {
        assert_err(
            &e.post_discovery(&token, "discoveryURL", url).await,
            400,
            "BadRequest",
            LOCAL,
        );
    }
}

#[tokio::test]
async fn dns_empty_answer_is_400() {
    let e = env().await;
    let token = e.token().await;
    e.c.set_host("blank.example.com", HostAnswer::Empty);
    e.c.set_host("none.example.com", HostAnswer::Addresses(vec![]));
    for host in ["blank", "none"] {
        assert_err(
            &e.post_discovery(
                &token,
                "jwksUri",
                &format!("https://{host}.example.com/jwks"),
            )
            .await,
            400,
            "BadRequest",
            NO_ADDRESS,
        );
    }
}

#[tokio::test]
async fn dns_lookup_error_escapes_as_the_generic_500() {
    // validate-url.ts does not catch the dns.lookup error; server/plugins/error-handler.ts
    // answers anything unknown with exactly these four keys.
    let e = env().await;
    let token = e.token().await;
    e.c.set_host("typo.example.com", HostAnswer::Nxdomain);
    let got = e
        .post_discovery(
            &token,
            "discoveryURL",
            "https://typo.example.com/.well-known/openid-configuration",
        )
        .await;
    assert_err(&got, 500, "InternalServerError", "Something went wrong");
    let keys: Vec<&str> = got
        .1
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(keys.len(), 4, "{keys:?}");
    // Built-in table: RFC 6761 `.test` names fail the same way, without the network.
    assert_err(
        &e.post_discovery(&token, "tokenEndpoint", "https://idp.corp.test/token")
            .await,
        500,
        "InternalServerError",
        "Something went wrong",
    );
    // IPv6 literals keep their brackets in `URL.hostname`, so `isIP` is 0 and the lookup fails.
    assert_err(
        &e.post_discovery(
            &token,
            "jwksUri",
            "https://[2606:2800:21f:cb07:6820:80da:af6b:8b2c]/jwks",
        )
        .await,
        500,
        "InternalServerError",
        "Something went wrong",
    );
    assert!(e.c.org_state(&e.org).unwrap().config.is_none());
}

#[tokio::test]
async fn dns_internal_allow_list_and_allow_internal_ip_connections() {
    let e = env().await;
    let token = e.token().await;
    e.c.set_host("idp.lab.example.com", addrs(&["127.0.0.1"]));
    e.c.set_host("gone.lab.example.com", HostAnswer::Nxdomain);
    let url = "http://idp.lab.example.com:5556/.well-known/openid-configuration";
    assert_err(
        &e.post_discovery(&token, "discoveryURL", url).await,
        400,
        "BadRequest",
        LOCAL,
    );
    // The allow-list is ALLOW_INTERNAL_IP_CONNECTIONS scoped to the listed hosts: the private
    // answer passes, the name is still resolved ...
    e.c.set_allowed_internal_hosts(vec![
        "idp.lab.example.com:5556".into(),
        "gone.lab.example.com".into(),
        "localhost".into(),
    ]);
    assert_err(
        &e.post_discovery(&token, "jwksUri", "https://gone.lab.example.com/jwks")
            .await,
        500,
        "InternalServerError",
        "Something went wrong",
    );
    // ... and `localhost` is refused regardless, as in validate-url.ts.
    assert_err(
        &e.post_discovery(&token, "jwksUri", "http://localhost/jwks")
            .await,
        400,
        "BadRequest",
        LOCAL,
    );
    let (s, v) = e.post_discovery(&token, "discoveryURL", url).await;
    assert_eq!(s, 200, "{v}");
    // The instance-wide switch.
    e.c.set_host("private.example.com", addrs(&["192.168.7.7"]));
    let patch = json!({"organizationId": e.org, "jwksUri": "https://private.example.com/jwks"});
    assert_err(
        &e.patch_cfg(&token, patch.clone()).await,
        400,
        "BadRequest",
        LOCAL,
    );
    e.c.set_allow_internal_ip_connections(true);
    assert_eq!(e.patch_cfg(&token, patch).await.0, 200);
}

#[tokio::test]
async fn dns_guard_runs_on_update_for_the_fields_present() {
    let e = env().await;
    let token = e.token().await;
    assert_eq!(e.post_cfg(&token, e.discovery_body()).await.0, 200);
    e.c.set_host("internal.example.com", addrs(&["10.1.1.1"]));
    e.c.set_host("blank.example.com", HostAnswer::Empty);
    e.c.set_host("typo.example.com", HostAnswer::Nxdomain);
    let patch = |field: &str, url: &str| json!({"organizationId": e.org, field: url});
    assert_err(
        &e.patch_cfg(
            &token,
            patch("userinfoEndpoint", "https://internal.example.com/u"),
        )
        .await,
        400,
        "BadRequest",
        LOCAL,
    );
    assert_err(
        &e.patch_cfg(
            &token,
            patch("tokenEndpoint", "https://blank.example.com/t"),
        )
        .await,
        400,
        "BadRequest",
        NO_ADDRESS,
    );
    assert_err(
        &e.patch_cfg(&token, patch("discoveryURL", "https://typo.example.com/d"))
            .await,
        500,
        "InternalServerError",
        "Something went wrong",
    );
    // issuer and authorizationEndpoint are never checked.
    let (s, v) = e
        .patch_cfg(
            &token,
            json!({"organizationId": e.org, "issuer": "https://typo.example.com", "authorizationEndpoint": "https://internal.example.com/a"}),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(e.c.org_state(&e.org).unwrap().patches, 4);
}

#[tokio::test]
async fn dns_default_table_keeps_example_names_offline_and_can_be_overridden() {
    let e = env().await;
    let token = e.token().await;
    // Built-in: *.example.com -> a public address, no network needed.
    assert_eq!(e.post_cfg(&token, e.discovery_body()).await.0, 200);
    for url in [
        "https://old-idp.example.com/jwks",
        "https://login.example.org/jwks",
        "https://example.net/jwks",
    ] {
        let (s, v) = e
            .patch_cfg(&token, json!({"organizationId": e.org, "jwksUri": url}))
            .await;
        assert_eq!(s, 200, "{url}: {v}");
    }
    // The configured table wins over the built-in one.
    e.c.set_host("idp.example.com", addrs(&["10.0.0.1"]));
    let patch = json!({"organizationId": e.org, "discoveryURL": "https://IDP.example.com./x"});
    assert_err(
        &e.patch_cfg(&token, patch.clone()).await,
        400,
        "BadRequest",
        LOCAL,
    );
    e.c.remove_host("idp.example.com");
    assert_eq!(e.patch_cfg(&token, patch).await.0, 200);
}

#[tokio::test]
async fn dns_hosts_from_config_and_control_surface() {
    let config = EmulatorConfig {
        seed: Seed::default(),
        hosts: BTreeMap::from([("*.corp.example.com".to_string(), addrs(&["10.9.9.9"]))]),
        ..Default::default()
    };
    let e = env_with(config).await;
    let token = e.token().await;
    assert_err(
        &e.post_discovery(&token, "discoveryURL", "https://sso.corp.example.com/d")
            .await,
        400,
        "BadRequest",
        LOCAL,
    );
    // PATCH merges (null removes), PUT replaces; answers are lists, one address, "nxdomain", "empty".
    let (s, v) = e
        .control(
            reqwest::Method::PATCH,
            "/__emulator/hosts",
            Some(json!({"*.corp.example.com": null, "a.example.com": "nxdomain", "b.example.com": "10.0.0.2", "c.example.com": ["93.184.215.14"], "d.example.com": "empty"})),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(
        v["hosts"],
        json!({"a.example.com": "nxdomain", "b.example.com": ["10.0.0.2"], "c.example.com": ["93.184.215.14"], "d.example.com": "empty"})
    );
    assert_eq!(v["defaultHosts"], true);
    assert_eq!(
        e.post_discovery(&token, "discoveryURL", "https://sso.corp.example.com/d")
            .await
            .0,
        200
    );
    let (s, v) = e
        .control(
            reqwest::Method::PUT,
            "/__emulator/hosts",
            Some(json!({"x.example.com": ["::1"]})),
        )
        .await;
    assert_eq!(
        (s, v["hosts"].clone()),
        (200, json!({"x.example.com": ["::1"]}))
    );
    let (s, _) = e
        .control(
            reqwest::Method::PUT,
            "/__emulator/hosts",
            Some(json!({"bad": "not-an-ip"})),
        )
        .await;
    assert_eq!(s, 400);
    // Without the built-in table, example names go to the system resolver (not used here).
    let (s, v) = e
        .control(
            reqwest::Method::PUT,
            "/__emulator/settings",
            Some(json!({"defaultHosts": false})),
        )
        .await;
    assert_eq!((s, v["defaultHosts"].clone()), (200, json!(false)));
}

#[test]
fn config_file_carries_hosts_lockout_and_limits() {
    let file: ConfigFile = serde_yaml::from_str(
        "orgs:\n  - name: Beta\n    slug: beta\nallowedInternalHosts: [\"127.0.0.1\"]\n\
         hosts:\n  idp.corp.example: [\"10.0.0.5\"]\n  typo.example.com: nxdomain\n\
         lockout:\n  durationSeconds: 2\nmaxMachineIdentityTokenAge: 3600\nrequestLogCapacity: 100\n",
    )
    .unwrap();
    assert_eq!(file.seed.orgs[0].slug, "beta");
    assert_eq!(file.seed.allowed_internal_hosts, ["127.0.0.1"]);
    assert_eq!(file.config.hosts["idp.corp.example"], addrs(&["10.0.0.5"]));
    assert_eq!(file.config.hosts["typo.example.com"], HostAnswer::Nxdomain);
    assert_eq!(
        file.config.lockout,
        LockoutSettings {
            duration_seconds: 2,
            ..Default::default()
        }
    );
    assert_eq!(file.config.max_machine_identity_token_age, 3600);
    assert_eq!(file.config.request_log_capacity, 100);
    assert!(file.config.url_guard && file.config.default_hosts);
}

// ================================================================ Universal Auth lockout
// services/identity-ua/identity-ua-service.ts `login`; defaults from
// server/routes/v1/identity-universal-auth-router.ts (lockoutThreshold 3, lockoutDurationSeconds 300,
// lockoutCounterResetSeconds 30, lockoutEnabled true).

#[tokio::test]
async fn lockout_three_failures_lock_even_the_right_secret() {
    let e = env().await;
    assert_eq!(e.c.lockout_settings(), LockoutSettings::default());
    for _ in 0..3 {
        assert_err(
            &e.login_with(&e.creds.client_id, "wrong").await,
            401,
            "UnauthorizedError",
            "Invalid credentials",
        );
    }
    // The lock is checked before the secret.
    assert_err(
        &e.login_with(&e.creds.client_id, &e.creds.client_secret)
            .await,
        401,
        "UnauthorizedError",
        LOCKED,
    );
    assert_err(
        &e.login_with(&e.creds.client_id, "wrong").await,
        401,
        "UnauthorizedError",
        LOCKED,
    );
    let stats = e.c.login_stats(&e.creds.identity_id).unwrap();
    assert_eq!((stats.succeeded, stats.failed, stats.locked), (0, 3, 2));
    let lock = stats.lockout.unwrap();
    assert!(lock.locked_out);
    assert_eq!(lock.failed_attempts, 3);
    assert!(
        lock.expires_in_ms > 290_000 && lock.expires_in_ms <= 300_000,
        "{lock:?}"
    );
    // Unknown client ids are never locked: there is no identity to lock.
    for _ in 0..4 {
        assert_err(
            &e.login_with("nobody", "x").await,
            401,
            "UnauthorizedError",
            "Invalid credentials",
        );
    }
    assert_eq!(e.c.lockouts().len(), 1);
    // Another identity is unaffected.
    let other = e.c.seed_identity(infisical_emulator::IdentitySeed {
        org_id: e.org.clone(),
        ..Default::default()
    });
    e.login_creds(&other).await;
}

#[tokio::test]
async fn lockout_expires_then_the_right_secret_works() {
    let e = env().await;
    e.c.set_lockout(LockoutSettings {
        duration_seconds: 2,
        ..Default::default()
    });
    for _ in 0..3 {
        assert_eq!(e.login_with(&e.creds.client_id, "wrong").await.0, 401);
    }
    assert_err(
        &e.login_with(&e.creds.client_id, &e.creds.client_secret)
            .await,
        401,
        "UnauthorizedError",
        LOCKED,
    );
    tokio::time::sleep(Duration::from_millis(2200)).await;
    e.login_creds(&e.creds).await;
    let stats = e.c.login_stats(&e.creds.identity_id).unwrap();
    assert_eq!((stats.succeeded, stats.failed, stats.locked), (1, 3, 1));
    assert!(stats.lockout.is_none());
}

#[tokio::test]
async fn lockout_count_resets_after_quiet_period_and_on_success() {
    let e = env().await;
    e.c.set_lockout(LockoutSettings {
        counter_reset_seconds: 1,
        ..Default::default()
    });
    for _ in 0..2 {
        assert_eq!(e.login_with(&e.creds.client_id, "wrong").await.0, 401);
    }
    tokio::time::sleep(Duration::from_millis(1200)).await;
    assert_err(
        &e.login_with(&e.creds.client_id, "wrong").await,
        401,
        "UnauthorizedError",
        "Invalid credentials",
    );
    let lock =
        e.c.login_stats(&e.creds.identity_id)
            .unwrap()
            .lockout
            .unwrap();
    assert_eq!((lock.failed_attempts, lock.locked_out), (1, false));
    // A successful login clears the record.
    e.login_creds(&e.creds).await;
    assert!(e.c.lockouts().is_empty());
    for _ in 0..2 {
        assert_eq!(e.login_with(&e.creds.client_id, "wrong").await.0, 401);
    }
    e.login_creds(&e.creds).await;
    // Disabled: failures are not counted.
    e.c.set_lockout(LockoutSettings {
        enabled: false,
        ..Default::default()
    });
    for _ in 0..5 {
        assert_eq!(e.login_with(&e.creds.client_id, "wrong").await.0, 401);
    }
    e.login_creds(&e.creds).await;
}

#[tokio::test]
async fn lockout_control_surface() {
    let e = env().await;
    let (s, v) = e
        .control(
            reqwest::Method::PUT,
            "/__emulator/settings",
            Some(json!({"lockout": {"threshold": 2, "durationSeconds": 60}})),
        )
        .await;
    assert_eq!(s, 200);
    assert_eq!(
        v["lockout"],
        json!({"enabled": true, "threshold": 2, "durationSeconds": 60, "counterResetSeconds": 30})
    );
    for _ in 0..2 {
        assert_eq!(e.login_with(&e.creds.client_id, "wrong").await.0, 401);
    }
    let (s, v) = e
        .control(reqwest::Method::GET, "/__emulator/lockouts", None)
        .await;
    assert_eq!(s, 200);
    let l = &v["lockouts"][0];
    assert_eq!(
        (
            l["identityId"].clone(),
            l["clientId"].clone(),
            l["failedAttempts"].clone(),
            l["lockedOut"].clone()
        ),
        (
            json!(e.creds.identity_id),
            json!(e.creds.client_id),
            json!(2),
            json!(true)
        )
    );
    let (s, v) = e
        .control(
            reqwest::Method::GET,
            &format!("/__emulator/identities/{}", e.creds.identity_id),
            None,
        )
        .await;
    assert_eq!(s, 200);
    assert_eq!(v["logins"]["failed"], 2);
    assert_eq!(v["logins"]["lockout"]["lockedOut"], true);
    let (s, _) = e
        .control(reqwest::Method::DELETE, "/__emulator/lockouts", None)
        .await;
    assert_eq!(s, 200);
    e.login_creds(&e.creds).await;
}

// ================================================================ token redesign (2026)
// services/identity-access-token/identity-access-token-fns.ts and identity-access-token-service.ts.

#[tokio::test]
async fn tokens_always_carry_exp_capped_by_max_token_age() {
    let e = env().await;
    // TTL 0 used to mean a JWT without exp; `computeIssuedTtl` caps it at the ceiling.
    e.c.set_token_ttls(&e.creds.identity_id, 0, 0);
    let (s, v) = e
        .login_with(&e.creds.client_id, &e.creds.client_secret)
        .await;
    assert_eq!(s, 200, "{v}");
    let c = claims(v["accessToken"].as_str().unwrap());
    assert_eq!(
        c["exp"].as_u64().unwrap() - c["iat"].as_u64().unwrap(),
        90 * DAY
    );
    assert_eq!(v["expiresIn"], 90 * DAY);
    assert_eq!(c["jti"], c["identityAccessTokenId"]);
    assert_eq!(c["orgId"], json!(e.org));
    assert_eq!(c["rootOrgId"], json!(e.org));
    assert_eq!(c["parentOrgId"], json!(e.org));
    assert_eq!(c["authMethod"], "universal-auth");
    assert_eq!(c["authTokenType"], "identityAccessToken");
    assert_eq!(c["accessTokenTTL"], 0);
    assert_eq!(c["creationEpoch"], c["iat"]);
    // A longer TTL is capped too, and the ceiling is configurable.
    e.c.set_max_machine_identity_token_age(3600);
    e.c.set_token_ttls(&e.creds.identity_id, 7200, 0);
    let (_, v) = e
        .login_with(&e.creds.client_id, &e.creds.client_secret)
        .await;
    let c = claims(v["accessToken"].as_str().unwrap());
    assert_eq!(
        c["exp"].as_u64().unwrap() - c["iat"].as_u64().unwrap(),
        3600
    );
    assert_eq!(
        (v["expiresIn"].clone(), v["accessTokenMaxTTL"].clone()),
        (json!(3600), json!(0))
    );
}

#[tokio::test]
async fn status_reports_max_identity_access_token_ttl() {
    // server/routes/index.ts `/api/status` (+ maxIdentityAccessTokenTTL since the redesign).
    let e = env().await;
    let (s, v) = body_of(e.http.get(e.url("/api/status")).send().await.unwrap()).await;
    assert_eq!(s, 200);
    assert_eq!(v["message"], "Ok");
    assert_eq!(v["maxIdentityAccessTokenTTL"], 7_776_000);
    let date = v["date"].as_str().unwrap();
    assert_eq!(date.len(), 24, "{date}");
    assert!(date.ends_with('Z') && date.as_bytes()[10] == b'T', "{date}");
    assert!(date.starts_with("20"), "{date}");
    e.c.set_max_machine_identity_token_age(600);
    let (_, v) = body_of(e.http.get(e.url("/api/status")).send().await.unwrap()).await;
    assert_eq!(v["maxIdentityAccessTokenTTL"], 600);
}

#[tokio::test]
async fn legacy_token_without_exp_is_refused_past_the_cutoff() {
    // `hasLegacyTokenWithoutExpExceededMaxAge`: refused once now > enforcedAt (2026-05-04) + 90 days.
    let e = env().await;
    let legacy =
        e.c.mint_token(
            &e.creds.identity_id,
            TokenMint {
                legacy: true,
                ..Default::default()
            },
        )
        .unwrap();
    let c = claims(&legacy.access_token);
    assert!(c.get("exp").is_none() && c.get("jti").is_none() && c.get("orgId").is_none());
    let msg = "Identity access token exceeded max age, please re-authenticate";
    e.c.set_legacy_token_expiration_enforced_at(now() - 90 * DAY - 10);
    assert_err(
        &e.details(&legacy.access_token).await,
        401,
        "UnauthorizedError",
        msg,
    );
    assert_err(
        &e.token_call("renew", &legacy.access_token).await,
        401,
        "UnauthorizedError",
        msg,
    );
    // Inside the grace window a legacy token still works, from its token row, and renews into a
    // new-format token.
    e.c.set_legacy_token_expiration_enforced_at(now());
    assert_eq!(e.details(&legacy.access_token).await.0, 200);
    let (s, v) = e.token_call("renew", &legacy.access_token).await;
    assert_eq!(s, 200, "{v}");
    let renewed = claims(v["accessToken"].as_str().unwrap());
    assert!(renewed["exp"].is_u64());
    assert_eq!(renewed["jti"], json!(legacy.token_id));
    assert_eq!(renewed["orgId"], json!(e.org));
}

#[tokio::test]
async fn revoke_is_idempotent_and_blocks_use_and_renewal() {
    // identity-access-token-revocation-dal.ts `insertRevocation` is an upsert.
    let e = env().await;
    let token = e.token().await;
    for _ in 0..2 {
        let (s, v) = e.token_call("revoke", &token).await;
        assert_eq!(
            (s, v),
            (200, json!({"message": "Successfully revoked access token"}))
        );
    }
    assert_err(
        &e.details(&token).await,
        401,
        "UnauthorizedError",
        "Failed to authorize: token has been revoked",
    );
    assert_err(
        &e.token_call("renew", &token).await,
        401,
        "UnauthorizedError",
        "Cannot renew: token has been revoked",
    );
    // A renewal keeps the token id, so revoking either JWT blocks both.
    let first = e.token().await;
    let (_, v) = e.token_call("renew", &first).await;
    let second = v["accessToken"].as_str().unwrap().to_string();
    assert_eq!(claims(&second)["jti"], claims(&first)["jti"]);
    assert_eq!(e.token_call("revoke", &second).await.0, 200);
    assert_eq!(e.details(&first).await.0, 401);
    assert_eq!(e.c.token_store_stats().revocations, 2);
}

#[tokio::test]
async fn renew_is_capped_by_the_max_ttl_budget_then_refused() {
    let e = env().await;
    let t = now();
    // 50 s of a 100 s budget left: the renewal gets 50 s, not its 3600 s TTL.
    let half =
        e.c.mint_token(
            &e.creds.identity_id,
            TokenMint {
                expires_in: Some(3600),
                access_token_ttl: Some(3600),
                access_token_max_ttl: Some(100),
                creation_epoch: Some(t - 50),
                ..Default::default()
            },
        )
        .unwrap();
    let (s, v) = e.token_call("renew", &half.access_token).await;
    assert_eq!(s, 200, "{v}");
    let left = v["expiresIn"].as_u64().unwrap();
    assert!((48..=50).contains(&left), "{v}");
    assert_eq!(v["accessTokenMaxTTL"], 100);
    // Budget spent while the JWT itself is still valid.
    let spent =
        e.c.mint_token(
            &e.creds.identity_id,
            TokenMint {
                expires_in: Some(3600),
                access_token_ttl: Some(3600),
                access_token_max_ttl: Some(100),
                creation_epoch: Some(t - 200),
                ..Default::default()
            },
        )
        .unwrap();
    assert_eq!(e.details(&spent.access_token).await.0, 200);
    assert_err(
        &e.token_call("renew", &spent.access_token).await,
        401,
        "UnauthorizedError",
        "Cannot renew: identity access token has reached its max TTL",
    );
}

#[tokio::test]
async fn minted_static_tokens_three_days_out_and_expired() {
    let e = env().await;
    let soon =
        e.c.mint_token(
            &e.creds.identity_id,
            TokenMint {
                expires_in: Some(3 * DAY as i64),
                iat: Some(now() - 87 * DAY),
                ..Default::default()
            },
        )
        .unwrap();
    let exp = soon.exp.unwrap();
    assert!((now() + 3 * DAY - 2..=now() + 3 * DAY).contains(&exp));
    assert_eq!(claims(&soon.access_token)["exp"], exp);
    assert_eq!(e.details(&soon.access_token).await.0, 200);
    // Expired a minute ago, minted through the HTTP control surface.
    let (s, v) = e
        .control(
            reqwest::Method::POST,
            &format!("/__emulator/identities/{}/tokens", e.creds.identity_id),
            Some(json!({"expiresIn": -60})),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    assert!(v["exp"].as_u64().unwrap() < now());
    let expired = v["accessToken"].as_str().unwrap();
    assert_err(&e.details(expired).await, 403, "TokenError", EXPIRED);
    assert_err(
        &e.token_call("renew", expired).await,
        403,
        "TokenError",
        EXPIRED,
    );
    assert_err(
        &e.token_call("revoke", expired).await,
        403,
        "TokenError",
        EXPIRED,
    );
    let (s, _) = e
        .control(
            reqwest::Method::POST,
            "/__emulator/identities/nope/tokens",
            Some(json!({})),
        )
        .await;
    assert_eq!(s, 404);
}

// ================================================================ bounded memory (emulator)

#[tokio::test]
async fn request_log_is_a_bounded_ring_buffer() {
    let e = env_with(EmulatorConfig {
        seed: Seed::default(),
        request_log_capacity: 20,
        ..Default::default()
    })
    .await;
    for _ in 0..50 {
        assert_eq!(
            e.http
                .get(e.url("/api/status"))
                .send()
                .await
                .unwrap()
                .status(),
            200
        );
    }
    let stats = e.c.request_log_stats();
    assert_eq!(
        (stats.len, stats.capacity, stats.dropped, stats.next_seq),
        (20, 20, 30, 51)
    );
    let all = e.c.requests();
    assert_eq!(all.len(), 20);
    assert_eq!((all[0].seq, all[19].seq), (31, 50));
    assert_eq!(e.c.requests_since(45).len(), 6);
    assert_eq!(e.c.requests_since(1).len(), 20);
    assert_eq!(
        e.c.with_requests(|it| it.filter(|r| r.status == 200).count()),
        20
    );
    let token = e.token().await;
    assert_eq!(e.get_cfg(&token, &e.org).await.0, 404);
    assert_eq!(
        e.c.requests_matching("get", "/api/v1/sso/oidc/config")
            .len(),
        1
    );
    assert_eq!(e.c.request_count(), 20);
    // HTTP: filtered reads and stats.
    let (s, v) = e
        .control(
            reqwest::Method::GET,
            "/__emulator/requests?since=51&method=POST&pathPrefix=/api/v1/auth",
            None,
        )
        .await;
    assert_eq!(s, 200);
    let entries = v.as_array().unwrap();
    assert_eq!(entries.len(), 1, "{v}");
    assert_eq!(entries[0]["seq"], 51);
    let (_, v) = e
        .control(reqwest::Method::GET, "/__emulator/requests/stats", None)
        .await;
    assert_eq!(
        v,
        json!({"len": 20, "capacity": 20, "dropped": 32, "nextSeq": 53})
    );
    // Shrinking drops the oldest; clearing keeps the numbering.
    let (_, v) = e
        .control(
            reqwest::Method::PUT,
            "/__emulator/settings",
            Some(json!({"requestLogCapacity": 5})),
        )
        .await;
    assert_eq!(v["requestLogCapacity"], 5);
    assert_eq!(e.c.request_count(), 5);
    e.c.clear_requests();
    e.http.get(e.url("/api/status")).send().await.unwrap();
    assert_eq!(e.c.requests()[0].seq, 53);
}

#[tokio::test]
async fn token_store_is_bounded() {
    let e = env().await;
    // Tokens are stateless JWTs: issuing many keeps no per-token state.
    for _ in 0..200 {
        e.token().await;
    }
    let stats = e.c.token_store_stats();
    assert_eq!(
        (stats.issued, stats.revocations, stats.legacy_rows),
        (200, 0, 0)
    );
    // Revocation markers expire once no JWT they block can be valid (computePerTokenMarkerExpiry),
    // then are pruned (removeExpiredRevocations). Zero skew to see it within the test.
    e.c.set_revocation_marker_skew(0);
    e.c.set_token_ttls(&e.creds.identity_id, 2, 2);
    for _ in 0..20 {
        let token = e.token().await;
        assert_eq!(e.token_call("revoke", &token).await.0, 200);
    }
    assert_eq!(e.c.token_store_stats().revocations, 20);
    // Lockout records expire too.
    e.c.set_lockout(LockoutSettings {
        counter_reset_seconds: 1,
        ..Default::default()
    });
    assert_eq!(e.login_with(&e.creds.client_id, "wrong").await.0, 401);
    assert_eq!(e.c.token_store_stats().lockouts, 1);
    tokio::time::sleep(Duration::from_millis(3100)).await;
    let stats = e.c.token_store_stats();
    assert_eq!(
        (stats.revocations, stats.pruned_revocations, stats.lockouts),
        (0, 20, 0)
    );
    let (s, v) = e
        .control(reqwest::Method::GET, "/__emulator/tokens", None)
        .await;
    assert_eq!(s, 200);
    assert_eq!(v["revocations"], 0);
    assert_eq!(v["issued"], 220);
}

async fn env_with(config: EmulatorConfig) -> Env {
    let emu = Emulator::start(config).await.expect("start");
    let c = emu.control();
    let org = c.seed_org(infisical_emulator::OrgSeed::default());
    let creds = c.seed_identity(infisical_emulator::IdentitySeed {
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

#[test]
fn readme_config_example_parses() {
    // The YAML example in emulator/README.md is a valid `--config` file.
    let readme = include_str!("../README.md");
    let start = readme.find("```yaml\n").expect("yaml block") + "```yaml\n".len();
    let end = start + readme[start..].find("```").expect("end of block");
    let file: ConfigFile = serde_yaml::from_str(&readme[start..end]).expect("README config parses");
    assert_eq!(
        file.seed.identities[0].client_id.as_deref(),
        Some("beta-client")
    );
    assert_eq!(file.config.hosts["typo.example.com"], HostAnswer::Nxdomain);
    assert_eq!(
        file.config.hosts["*.partner.example"],
        addrs(&["93.184.215.14"])
    );
    assert_eq!(file.config.lockout, LockoutSettings::default());
}
