//! The operator's Infisical client against `infisical-emulator`, over real HTTP(S): request bodies
//! and the seed schema, error mapping (reason, class, reqId), token lifecycle, rate limits,
//! faults, private CAs, and that no secret ever reaches a log line or an error.

mod support;

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use infisical_emulator::{
    Control, Emulator, EmulatorConfig, Fault, FaultKind, IdentityCredentials, IdentitySeed,
    LoggedRequest, OrgFlags, OrgSeed, TokenMint,
};
use infisical_oidc_operator::error::{ApiError, Error, ErrorClass};
use infisical_oidc_operator::infisical::wire::{CreateOidcConfig, UpdateOidcConfig};
use infisical_oidc_operator::infisical::{
    AllowedHosts, BaseUrl, Connection, Credentials, HttpSettings, Infisical, Priority, SecretString,
};
use infisical_oidc_operator::metrics::Metrics;
use serde_json::{Value, json};
use support::pki;

/// Every secret in this file contains the canary; it must never surface anywhere but the wire.
const CANARY: &str = "CANARY-client-7e2a";
const LOGIN: &str = "/api/v1/auth/universal-auth/login";
const RENEW: &str = "/api/v1/auth/token/renew";
const CONFIG: &str = "/api/v1/sso/oidc/config";
const SCHEMA: &str = include_str!("fixtures/create-oidc-config.request.schema.json");

fn idp_secret() -> String {
    format!("{CANARY}-idp")
}

fn identity_secret() -> String {
    format!("{CANARY}-identity")
}

fn crypto() {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
}

/// Client-side budgets high enough that they never shape a test's timing.
fn fast_settings() -> HttpSettings {
    HttpSettings {
        reads_per_minute: 6000,
        writes_per_minute: 6000,
        ..HttpSettings::default()
    }
}

struct World {
    emu: Emulator,
    control: Control,
    org: String,
    identity: IdentityCredentials,
    conn: Connection,
    client: Infisical,
    metrics: Arc<Metrics>,
}

async fn world() -> World {
    world_with(fast_settings()).await
}

async fn world_with(settings: HttpSettings) -> World {
    crypto();
    let emu = Emulator::start(EmulatorConfig::default())
        .await
        .expect("emulator starts");
    let control = emu.control();
    let org = control.seed_org(OrgSeed::default());
    let identity = seed_identity(&control, &org);
    let conn = connection(&emu.base_url(), None, &identity);
    let metrics = Arc::new(Metrics::default());
    let client = Infisical::new(settings, metrics.clone());
    World {
        emu,
        control,
        org,
        identity,
        conn,
        client,
        metrics,
    }
}

fn seed_identity(control: &Control, org: &str) -> IdentityCredentials {
    control.seed_identity(IdentitySeed {
        org_id: org.to_string(),
        client_secret: Some(identity_secret()),
        ..Default::default()
    })
}

fn allowed() -> AllowedHosts {
    AllowedHosts::new(["127.0.0.1", "localhost"])
}

fn connection(base: &str, ca_pem: Option<Vec<u8>>, identity: &IdentityCredentials) -> Connection {
    Connection {
        base: BaseUrl::parse(base, &allowed()).expect("base URL"),
        ca_pem,
        credentials: Credentials::UniversalAuth {
            client_id: identity.client_id.clone(),
            client_secret: SecretString::new(identity.client_secret.clone()),
        },
        priority: Priority::Foreground,
    }
}

fn discovery_config(org: &str) -> CreateOidcConfig {
    CreateOidcConfig {
        allowed_email_domains: "example.com,example.org".into(),
        configuration_type: "discoveryURL".into(),
        issuer: String::new(),
        discovery_url: "https://idp.example.com/.well-known/openid-configuration".into(),
        authorization_endpoint: String::new(),
        jwks_uri: String::new(),
        token_endpoint: String::new(),
        userinfo_endpoint: String::new(),
        client_id: "infisical".into(),
        client_secret: SecretString::new(idp_secret()),
        is_active: true,
        organization_id: org.into(),
        manage_group_memberships: false,
        jwt_signature_algorithm: "RS256".into(),
    }
}

fn custom_config(org: &str) -> CreateOidcConfig {
    CreateOidcConfig {
        allowed_email_domains: String::new(),
        configuration_type: "custom".into(),
        issuer: "https://idp.example.com".into(),
        discovery_url: String::new(),
        authorization_endpoint: "https://idp.example.com/oauth2/authorize".into(),
        jwks_uri: "https://idp.example.com/oauth2/jwks".into(),
        token_endpoint: "https://idp.example.com/oauth2/token".into(),
        userinfo_endpoint: "https://idp.example.com/oauth2/userinfo".into(),
        client_id: "infisical-custom".into(),
        client_secret: SecretString::new(idp_secret()),
        is_active: false,
        organization_id: org.into(),
        manage_group_memberships: true,
        jwt_signature_algorithm: "RS512".into(),
    }
}

/// The Infisical answer inside `err`; every one must carry a well-formed reqId, shown in Display.
#[track_caller]
fn api(err: &Error) -> &ApiError {
    let Error::Infisical(api) = err else {
        panic!("expected an Infisical API error, got {err:?}");
    };
    let req_id = api
        .req_id
        .as_deref()
        .unwrap_or_else(|| panic!("no reqId in {api:?}"));
    assert!(
        req_id.starts_with("req-")
            && req_id.len() == 18
            && req_id[4..].chars().all(|c| c.is_ascii_alphanumeric()),
        "malformed reqId {req_id:?}"
    );
    assert!(
        err.to_string().contains(&format!("(reqId {req_id})")),
        "reqId missing from {err}"
    );
    api
}

fn requests_to(control: &Control, method: &str, path: &str) -> Vec<LoggedRequest> {
    control
        .requests()
        .into_iter()
        .filter(|r| r.method == method && r.path.split('?').next() == Some(path))
        .collect()
}

fn logins(control: &Control) -> usize {
    requests_to(control, "POST", LOGIN).len()
}

fn renewals(control: &Control) -> usize {
    requests_to(control, "POST", RENEW).len()
}

fn keys(body: &Value) -> BTreeSet<String> {
    body.as_object()
        .expect("a JSON object")
        .keys()
        .cloned()
        .collect()
}

fn set<const N: usize>(names: [&str; N]) -> BTreeSet<String> {
    names.into_iter().map(str::to_string).collect()
}

fn stored_config(control: &Control, org: &str) -> Option<serde_json::Map<String, Value>> {
    control
        .org_state(org)
        .expect("org exists")
        .config
        .map(|c| c.as_object().expect("config object").clone())
}

fn envelope(status: u16, error: &str, message: &str) -> Value {
    json!({
        "reqId": "req-abcdefghijklmn",
        "statusCode": status,
        "message": message,
        "error": error,
    })
}

fn fault(method: &str, path: &str, count: u32, kind: FaultKind) -> Fault {
    Fault {
        method: Some(method.into()),
        path_prefix: Some(path.into()),
        count,
        kind,
    }
}

/// Infisical answers the next call of `method` on the configuration endpoint with `status` (and
/// `body`, else the emulator's default answer for that status); later calls are served again.
fn answer_config_once(control: &Control, method: &str, status: u16, body: Option<Value>) {
    control.inject_fault(fault(method, CONFIG, 1, FaultKind::Status { status, body }));
}

// ---------------------------------------------------------------------------------------------
// Create, read, update

#[tokio::test]
async fn creates_a_discovery_url_config_and_reads_it_back() {
    let w = world().await;
    assert_eq!(w.client.get_config(&w.conn, &w.org).await.unwrap(), None);

    let body = discovery_config(&w.org);
    let summary = w.client.create_config(&w.conn, &body).await.unwrap();
    uuid::Uuid::parse_str(&summary.id).expect("config id is a UUID");
    assert_eq!(summary.org_id, w.org);
    assert_eq!(summary.configuration_type, "discoveryURL");
    assert!(summary.is_active);
    assert_eq!(
        summary.discovery_url.as_deref(),
        Some(body.discovery_url.as_str())
    );
    assert_eq!(summary.issuer.as_deref(), Some(""));
    assert_eq!(summary.jwks_uri.as_deref(), Some(""));
    // Infisical normalises the comma list.
    assert_eq!(
        summary.allowed_email_domains.as_deref(),
        Some("example.com, example.org")
    );
    assert!(!summary.manage_group_memberships);
    assert_eq!(summary.jwt_signature_algorithm.as_deref(), Some("RS256"));

    let got = w
        .client
        .get_config(&w.conn, &w.org)
        .await
        .unwrap()
        .expect("the config exists after create");
    assert_eq!(got.config.id, summary.id);
    assert_eq!(got.client_id, "infisical");
    assert_eq!(got.client_secret.expose(), idp_secret());
    assert_eq!(got.config.clone(), summary);

    let stored = stored_config(&w.control, &w.org).unwrap();
    assert_eq!(stored["clientSecret"], json!(idp_secret()));
    let state = w.control.org_state(&w.org).unwrap();
    assert_eq!((state.posts, state.gets, state.patches), (1, 2, 0));
    assert_eq!(logins(&w.control), 1, "one login serves every call");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_passes_at_once_for_one_identity_share_one_login() {
    // What twenty resources sharing an identity do on the operator's first passes: they ask for
    // a token at the same moment, and one login serves them all. (Infisical identities belong
    // to one organisation, so in the operator such resources are passes for one organisation;
    // the token cache is what they share, and this is its contract.)
    let w = world().await;
    let passes = (0..20).map(|_| w.client.get_config(&w.conn, &w.org));
    for answer in futures::future::join_all(passes).await {
        assert_eq!(answer.unwrap(), None);
    }
    assert_eq!(requests_to(&w.control, "GET", CONFIG).len(), 20);
    assert_eq!(logins(&w.control), 1, "{:?}", w.control.requests());
    // And later passes, within the token's lifetime, log in no more.
    for _ in 0..5 {
        w.client.get_config(&w.conn, &w.org).await.unwrap();
    }
    assert_eq!(logins(&w.control), 1);
    assert_eq!(renewals(&w.control), 0);
}

#[tokio::test]
async fn a_closed_leader_fence_sends_nothing_to_infisical() {
    let fence = infisical_oidc_operator::leader::Fence::closed(Duration::from_secs(60));
    let w = world_with(HttpSettings {
        fence: fence.clone(),
        ..fast_settings()
    })
    .await;
    let refused = w.client.get_config(&w.conn, &w.org).await.unwrap_err();
    assert_eq!(refused.reason(), "NotLeader");
    assert_eq!(refused.class(), ErrorClass::Transient);
    let created = w
        .client
        .create_config(&w.conn, &discovery_config(&w.org))
        .await;
    assert_eq!(created.unwrap_err().reason(), "NotLeader");
    assert!(
        w.control.requests().is_empty(),
        "{:?}",
        w.control.requests()
    );

    fence.confirm(Instant::now());
    assert_eq!(w.client.get_config(&w.conn, &w.org).await.unwrap(), None);
    assert_eq!(logins(&w.control), 1);
    assert_eq!(requests_to(&w.control, "GET", CONFIG).len(), 1);
}

#[tokio::test]
async fn creates_a_custom_config_with_all_five_endpoints() {
    let w = world().await;
    let body = custom_config(&w.org);
    let summary = w.client.create_config(&w.conn, &body).await.unwrap();
    assert_eq!(summary.org_id, w.org);
    assert_eq!(summary.configuration_type, "custom");
    assert!(!summary.is_active);
    assert_eq!(summary.issuer.as_deref(), Some("https://idp.example.com"));
    assert_eq!(
        summary.authorization_endpoint.as_deref(),
        Some("https://idp.example.com/oauth2/authorize")
    );
    assert_eq!(
        summary.jwks_uri.as_deref(),
        Some("https://idp.example.com/oauth2/jwks")
    );
    assert_eq!(
        summary.token_endpoint.as_deref(),
        Some("https://idp.example.com/oauth2/token")
    );
    assert_eq!(
        summary.userinfo_endpoint.as_deref(),
        Some("https://idp.example.com/oauth2/userinfo")
    );
    assert_eq!(summary.discovery_url.as_deref(), Some(""));
    assert_eq!(summary.allowed_email_domains.as_deref(), Some(""));
    assert!(summary.manage_group_memberships);
    assert_eq!(summary.jwt_signature_algorithm.as_deref(), Some("RS512"));

    let got = w.client.get_config(&w.conn, &w.org).await.unwrap().unwrap();
    assert_eq!(got.config.clone(), summary);
    assert_eq!(got.client_id, "infisical-custom");
    assert_eq!(got.client_secret, SecretString::new(idp_secret()));
}

#[tokio::test]
async fn a_second_create_is_infisicals_transient_500() {
    let w = world().await;
    let first = w
        .client
        .create_config(&w.conn, &discovery_config(&w.org))
        .await
        .unwrap();
    let err = w
        .client
        .create_config(&w.conn, &custom_config(&w.org))
        .await
        .unwrap_err();
    let answer = api(&err);
    assert_eq!(answer.status, 500);
    assert_eq!(answer.error, "Create");
    assert_eq!(answer.message, "Something went wrong");
    assert_eq!(err.class(), ErrorClass::Transient);
    assert_eq!(err.reason(), "InfisicalUnavailable");
    // The first configuration is untouched.
    let got = w.client.get_config(&w.conn, &w.org).await.unwrap().unwrap();
    assert_eq!(got.config.id, first.id);
    assert_eq!(got.config.configuration_type, "discoveryURL");
}

#[tokio::test]
async fn get_answers_none_for_an_organization_without_config() {
    let w = world().await;
    assert_eq!(w.client.get_config(&w.conn, &w.org).await.unwrap(), None);
    // Infisical answers the same 404 for an organization it does not know (before any
    // permission check), so this is also None.
    let unknown = uuid::Uuid::new_v4().to_string();
    assert_eq!(w.client.get_config(&w.conn, &unknown).await.unwrap(), None);
    let gets = requests_to(&w.control, "GET", CONFIG);
    assert_eq!(gets.len(), 2);
    assert!(gets.iter().all(|r| r.status == 404), "{gets:?}");
    assert!(
        gets[0]
            .path
            .ends_with(&format!("?organizationId={}", w.org)),
        "{}",
        gets[0].path
    );
}

#[tokio::test]
async fn patch_sends_only_the_changed_fields_and_changes_only_them() {
    let w = world().await;
    w.client
        .create_config(&w.conn, &discovery_config(&w.org))
        .await
        .unwrap();
    let before = stored_config(&w.control, &w.org).unwrap();
    w.control.clear_requests();

    let rotated = format!("{CANARY}-rotated");
    let update = UpdateOidcConfig {
        organization_id: w.org.clone(),
        allowed_email_domains: Some("example.net".into()),
        client_secret: Some(SecretString::new(rotated.clone())),
        ..Default::default()
    };
    let summary = w
        .client
        .update_config(&w.conn, &update)
        .await
        .unwrap()
        .expect("a config exists, so PATCH answers with it");
    assert_eq!(
        summary.allowed_email_domains.as_deref(),
        Some("example.net")
    );
    assert_eq!(summary.configuration_type, "discoveryURL");
    assert!(summary.is_active);
    // Infisical's PATCH answer has no jwtSignatureAlgorithm.
    assert_eq!(summary.jwt_signature_algorithm, None);

    let patches = requests_to(&w.control, "PATCH", CONFIG);
    assert_eq!(patches.len(), 1);
    let sent = patches[0].body.as_ref().expect("PATCH has a body");
    assert_eq!(
        keys(sent),
        set(["organizationId", "allowedEmailDomains", "clientSecret"])
    );
    assert_eq!(sent["organizationId"], json!(w.org));
    assert_eq!(sent["allowedEmailDomains"], json!("example.net"));
    assert_eq!(sent["clientSecret"], json!("[REDACTED]"));

    let after = stored_config(&w.control, &w.org).unwrap();
    let all: BTreeSet<&String> = before.keys().chain(after.keys()).collect();
    let changed: BTreeSet<String> = all
        .into_iter()
        .filter(|k| before.get(*k) != after.get(*k))
        .cloned()
        .collect();
    assert_eq!(changed, set(["allowedEmailDomains", "clientSecret"]));
    assert_eq!(after["clientSecret"], json!(rotated));

    let got = w.client.get_config(&w.conn, &w.org).await.unwrap().unwrap();
    assert_eq!(got.client_secret.expose(), rotated);
    assert_eq!(w.control.org_state(&w.org).unwrap().patches, 1);
}

#[tokio::test]
async fn patch_without_a_config_answers_none() {
    let w = world().await;
    let update = UpdateOidcConfig {
        organization_id: w.org.clone(),
        is_active: Some(false),
        ..Default::default()
    };
    assert_eq!(
        w.client.update_config(&w.conn, &update).await.unwrap(),
        None
    );
    assert_eq!(stored_config(&w.control, &w.org), None);
}

// ---------------------------------------------------------------------------------------------
// Infisical's refusals: reason, class, message, reqId

/// Empties one endpoint of a custom configuration.
type Clear = fn(&mut CreateOidcConfig);

#[tokio::test]
async fn refinement_messages_surface_in_the_error() {
    let w = world().await;
    let endpoints: [(&str, &str, Clear); 5] = [
        ("issuer", "Issuer is required", |c| c.issuer.clear()),
        (
            "authorizationEndpoint",
            "Authorization endpoint is required",
            |c| c.authorization_endpoint.clear(),
        ),
        ("jwksUri", "JWKS URI is required", |c| c.jwks_uri.clear()),
        ("tokenEndpoint", "Token endpoint is required", |c| {
            c.token_endpoint.clear()
        }),
        ("userinfoEndpoint", "Userinfo endpoint is required", |c| {
            c.userinfo_endpoint.clear()
        }),
    ];

    // All five missing: every issue is reported, path first.
    let mut body = custom_config(&w.org);
    for (_, _, clear) in &endpoints {
        clear(&mut body);
    }
    let err = w.client.create_config(&w.conn, &body).await.unwrap_err();
    assert_eq!(err.reason(), "ValidationFailed");
    assert_eq!(err.class(), ErrorClass::Permanent);
    let answer = api(&err);
    assert_eq!(
        (answer.status, answer.error.as_str()),
        (422, "ValidationFailure")
    );
    for (field, message, _) in &endpoints {
        let expected = format!("{field}: {message}");
        assert!(answer.message.contains(&expected), "{}", answer.message);
        assert!(err.to_string().contains(&expected), "{err}");
    }

    // One missing at a time: exactly that issue.
    for (field, message, clear) in &endpoints {
        let mut body = custom_config(&w.org);
        clear(&mut body);
        let err = w.client.create_config(&w.conn, &body).await.unwrap_err();
        assert_eq!(err.reason(), "ValidationFailed");
        assert_eq!(api(&err).message, format!("{field}: {message}"));
    }

    // Infisical trims before refining: a blank issuer is a missing issuer.
    let mut body = custom_config(&w.org);
    body.issuer = "   ".into();
    let err = w.client.create_config(&w.conn, &body).await.unwrap_err();
    assert_eq!(api(&err).message, "issuer: Issuer is required");

    let mut body = discovery_config(&w.org);
    body.discovery_url.clear();
    let err = w.client.create_config(&w.conn, &body).await.unwrap_err();
    assert_eq!(err.reason(), "ValidationFailed");
    assert_eq!(api(&err).message, "discoveryURL: Discovery URL is required");

    // Schema (not refinement) issues are flattened the same way.
    let mut body = discovery_config(&w.org);
    body.configuration_type = "oidc".into();
    let err = w.client.create_config(&w.conn, &body).await.unwrap_err();
    assert_eq!(err.reason(), "ValidationFailed");
    assert_eq!(
        api(&err).message,
        "configurationType: Invalid enum value. Expected 'custom' | 'discoveryURL', received 'oidc'"
    );

    // Nothing reached the service layer, nothing was stored.
    let state = w.control.org_state(&w.org).unwrap();
    assert_eq!((state.posts, state.config), (0, None));
}

#[tokio::test]
async fn plan_restriction_is_permanent() {
    let w = world().await;
    w.control.set_org_flags(
        &w.org,
        OrgFlags {
            plan_oidc_sso: Some(false),
            ..Default::default()
        },
    );
    let err = w
        .client
        .create_config(&w.conn, &discovery_config(&w.org))
        .await
        .unwrap_err();
    assert_eq!(err.reason(), "PlanRestricted");
    assert_eq!(err.class(), ErrorClass::Permanent);
    let answer = api(&err);
    assert_eq!(answer.status, 400);
    assert!(
        answer
            .message
            .starts_with("Failed to create OIDC SSO configuration due to plan restriction"),
        "{}",
        answer.message
    );

    let update = UpdateOidcConfig {
        organization_id: w.org.clone(),
        is_active: Some(false),
        ..Default::default()
    };
    let err = w.client.update_config(&w.conn, &update).await.unwrap_err();
    assert_eq!(err.reason(), "PlanRestricted");
    assert!(api(&err).message.starts_with("Failed to update OIDC SSO"));
    assert_eq!(stored_config(&w.control, &w.org), None);
}

#[tokio::test]
async fn missing_permission_is_permanent_and_not_retried() {
    let w = world().await;
    w.control
        .set_identity_permissions(&w.identity.identity_id, vec!["read".into()]);
    let err = w
        .client
        .create_config(&w.conn, &discovery_config(&w.org))
        .await
        .unwrap_err();
    assert_eq!(err.reason(), "PermissionDenied");
    assert_eq!(err.class(), ErrorClass::Permanent);
    let answer = api(&err);
    assert_eq!(answer.status, 403);
    assert_eq!(answer.error, "PermissionDenied");
    assert_eq!(answer.message, "You are not allowed to create on sso");
    assert!(
        err.to_string()
            .contains("You are not allowed to create on sso")
    );
    // A 403 PermissionDenied is not a refused token: no second login, no second attempt.
    assert_eq!(logins(&w.control), 1);
    assert_eq!(requests_to(&w.control, "POST", CONFIG).len(), 1);

    w.control
        .put_config_out_of_band(&w.org, json!({"clientId": "x"}));
    let update = UpdateOidcConfig {
        organization_id: w.org.clone(),
        is_active: Some(false),
        ..Default::default()
    };
    let err = w.client.update_config(&w.conn, &update).await.unwrap_err();
    assert_eq!(err.reason(), "PermissionDenied");
    assert_eq!(api(&err).message, "You are not allowed to edit on sso");

    w.control
        .set_identity_permissions(&w.identity.identity_id, vec![]);
    let err = w.client.get_config(&w.conn, &w.org).await.unwrap_err();
    assert_eq!(err.reason(), "PermissionDenied");
    assert_eq!(api(&err).message, "You are not allowed to read on sso");
}

#[tokio::test]
async fn a_static_token_without_expiry_refused_by_infisical_gets_its_own_reason() {
    let w = world().await;
    // A token issued before Infisical's 2026 redesign: no `exp`.
    let legacy = w
        .control
        .mint_token(
            &w.identity.identity_id,
            TokenMint {
                legacy: true,
                ..TokenMint::default()
            },
        )
        .expect("the identity exists");
    assert_eq!(legacy.exp, None);
    let conn = Connection {
        credentials: Credentials::StaticToken(SecretString::new(legacy.access_token.clone())),
        ..w.conn.clone()
    };
    // Inside the grace window Infisical still takes it.
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    w.control.set_legacy_token_expiration_enforced_at(now);
    assert_eq!(w.client.get_config(&conn, &w.org).await.unwrap(), None);

    // Past the cut-off (enforcement date plus 90 days) it is refused, and the reason says why.
    w.control
        .set_legacy_token_expiration_enforced_at(now - 90 * 86_400 - 60);
    let err = w.client.get_config(&conn, &w.org).await.unwrap_err();
    assert_eq!(err.reason(), "TokenWithoutExpiry", "{err}");
    assert_eq!(err.class(), ErrorClass::Permanent);
    let text = err.to_string();
    assert!(
        text.contains("Identity access token exceeded max age, please re-authenticate"),
        "Infisical's own answer is kept: {text}"
    );
    assert!(text.contains("no expiry"), "{text}");
    assert!(
        !text.contains(&legacy.access_token),
        "no token in the message"
    );

    // A token with an expiry that Infisical refuses is still a plain authentication failure.
    let revoked = w
        .control
        .mint_token(&w.identity.identity_id, TokenMint::default())
        .unwrap();
    let answer = reqwest::Client::new()
        .post(format!("{}/api/v1/auth/token/revoke", w.emu.base_url()))
        .json(&json!({"accessToken": revoked.access_token}))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    let conn = Connection {
        credentials: Credentials::StaticToken(SecretString::new(revoked.access_token)),
        ..w.conn.clone()
    };
    let err = w.client.get_config(&conn, &w.org).await.unwrap_err();
    assert_eq!(err.reason(), "AuthenticationFailed", "{err}");
}

#[tokio::test]
async fn an_identity_of_another_organization_is_denied() {
    let w = world().await;
    let other = w.control.seed_org(OrgSeed {
        name: "Other".into(),
        slug: "other".into(),
        ..Default::default()
    });
    let err = w
        .client
        .create_config(&w.conn, &discovery_config(&other))
        .await
        .unwrap_err();
    assert_eq!(err.reason(), "PermissionDenied");
    assert_eq!(err.class(), ErrorClass::Permanent);
    let answer = api(&err);
    assert_eq!(answer.status, 403);
    assert_eq!(answer.error, "ForbiddenError");
    assert_eq!(
        answer.message,
        format!(
            "Your token is scoped to organization with ID {}, but this resource belongs to a different organization.",
            w.org
        )
    );
    assert_eq!(stored_config(&w.control, &other), None);

    w.control
        .put_config_out_of_band(&other, json!({"clientSecret": idp_secret()}));
    let err = w.client.get_config(&w.conn, &other).await.unwrap_err();
    assert_eq!(err.reason(), "PermissionDenied");
    assert_eq!(api(&err).status, 403);
    let update = UpdateOidcConfig {
        organization_id: other.clone(),
        client_id: Some("hijack".into()),
        ..Default::default()
    };
    let err = w.client.update_config(&w.conn, &update).await.unwrap_err();
    assert_eq!(err.reason(), "PermissionDenied");
    assert_eq!(stored_config(&w.control, &other).unwrap()["clientId"], "");
    assert_eq!(logins(&w.control), 1);
}

#[tokio::test]
async fn every_infisical_error_carries_its_req_id() {
    let w = world_with(HttpSettings {
        max_inline_retry_wait: Duration::ZERO,
        ..fast_settings()
    })
    .await;
    let mut errors = Vec::new();

    let mut invalid = custom_config(&w.org);
    invalid.jwks_uri.clear();
    errors.push(w.client.create_config(&w.conn, &invalid).await.unwrap_err());

    let unknown_org = uuid::Uuid::new_v4().to_string();
    let err = w
        .client
        .create_config(&w.conn, &discovery_config(&unknown_org))
        .await
        .unwrap_err();
    assert_eq!(err.reason(), "OrganizationNotFound");
    errors.push(err);

    let mut local = discovery_config(&w.org);
    local.discovery_url = "http://127.0.0.1:9/.well-known/openid-configuration".into();
    let err = w.client.create_config(&w.conn, &local).await.unwrap_err();
    assert_eq!(err.reason(), "RejectedByInfisical");
    assert_eq!(api(&err).message, "Local IPs not allowed as URL");
    errors.push(err);

    w.client
        .create_config(&w.conn, &discovery_config(&w.org))
        .await
        .unwrap();
    errors.push(
        w.client
            .create_config(&w.conn, &discovery_config(&w.org))
            .await
            .unwrap_err(),
    );

    answer_config_once(&w.control, "GET", 429, None);
    errors.push(w.client.get_config(&w.conn, &w.org).await.unwrap_err());
    answer_config_once(&w.control, "GET", 503, None);
    errors.push(w.client.get_config(&w.conn, &w.org).await.unwrap_err());

    w.control
        .set_identity_permissions(&w.identity.identity_id, vec![]);
    errors.push(w.client.get_config(&w.conn, &w.org).await.unwrap_err());

    let wrong = IdentityCredentials {
        client_secret: format!("{CANARY}-wrong"),
        ..w.identity.clone()
    };
    let err = w
        .client
        .get_config(&connection(&w.emu.base_url(), None, &wrong), &w.org)
        .await
        .unwrap_err();
    assert_eq!(err.reason(), "AuthenticationFailed");
    assert_eq!(err.class(), ErrorClass::Auth);
    assert_eq!(api(&err).message, "Invalid credentials");
    errors.push(err);

    let statuses: Vec<u16> = errors.iter().map(|e| api(e).status).collect();
    assert_eq!(statuses, [422, 404, 400, 500, 429, 503, 403, 401]);
    let ids: BTreeSet<&str> = errors
        .iter()
        .map(|e| api(e).req_id.as_deref().unwrap())
        .collect();
    assert_eq!(ids.len(), errors.len(), "each answer has its own reqId");
}

// ---------------------------------------------------------------------------------------------
// Tokens

async fn relogin_after_expiry(expired_status: Option<u16>) {
    let w = world().await;
    if let Some(status) = expired_status {
        w.control.set_expired_token_status(status);
    }
    w.control.set_token_ttls(&w.identity.identity_id, 1, 100);
    // Start early in a wall-clock second, so Infisical's whole-second `exp` does not end the
    // token before the first call is done.
    let fraction = wall_clock_fraction();
    if fraction > Duration::from_millis(400) {
        tokio::time::sleep(Duration::from_secs(1) - fraction + Duration::from_millis(20)).await;
    }
    w.client
        .create_config(&w.conn, &discovery_config(&w.org))
        .await
        .unwrap();
    assert_eq!(logins(&w.control), 1);
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let got = w.client.get_config(&w.conn, &w.org).await.unwrap();
    assert!(got.is_some());
    assert_eq!(logins(&w.control), 2, "{:?}", w.control.requests());
    let gets = requests_to(&w.control, "GET", CONFIG);
    assert_eq!(gets.last().unwrap().status, 200);
}

#[tokio::test]
async fn an_expired_token_is_replaced_by_a_new_login() {
    crypto();
    relogin_after_expiry(None).await;
}

#[tokio::test]
async fn an_expired_token_is_replaced_by_a_new_login_on_401_servers() {
    crypto();
    relogin_after_expiry(Some(401)).await;
}

fn wall_clock_fraction() -> Duration {
    Duration::from_nanos(u64::from(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .subsec_nanos(),
    ))
}

/// A token the client still holds fresh can be expired to Infisical: its clock runs ahead of the
/// client's, or a short token's `exp` (whole seconds) falls before the client's renewal point.
/// Infisical then refuses it, and the client must log in again and retry once.
async fn refused_token_is_replaced(expired_status: u16) {
    let w = world().await;
    w.control.set_expired_token_status(expired_status);
    w.control.set_token_ttls(&w.identity.identity_id, 60, 600);
    assert_eq!(w.client.get_config(&w.conn, &w.org).await.unwrap(), None);
    // Infisical's clock moves past the token's expiry; the client's does not.
    w.control.set_clock_ahead(61);
    assert_eq!(w.client.get_config(&w.conn, &w.org).await.unwrap(), None);

    let gets = requests_to(&w.control, "GET", CONFIG);
    let statuses: Vec<u16> = gets.iter().map(|r| r.status).collect();
    assert_eq!(
        statuses,
        [404, expired_status, 404],
        "found nothing, refused once, found nothing with the new token"
    );
    assert_eq!(logins(&w.control), 2, "{:?}", w.control.requests());
    assert_eq!(renewals(&w.control), 0);
}

#[tokio::test]
async fn a_token_refused_as_expired_403_leads_to_one_new_login() {
    crypto();
    refused_token_is_replaced(403).await;
}

#[tokio::test]
async fn a_token_refused_as_expired_401_leads_to_one_new_login() {
    crypto();
    refused_token_is_replaced(401).await;
}

#[tokio::test]
async fn a_refused_token_is_retried_once_then_reported() {
    let w = world().await;
    w.client.get_config(&w.conn, &w.org).await.unwrap();
    for (status, error) in [(401, "UnauthorizedError"), (403, "TokenError")] {
        w.control.clear_requests();
        answer_config_once(
            &w.control,
            "GET",
            status,
            Some(envelope(
                status,
                error,
                "Your token has expired. Please re-authenticate.",
            )),
        );
        assert_eq!(w.client.get_config(&w.conn, &w.org).await.unwrap(), None);
        assert_eq!(logins(&w.control), 1, "one new login after {status}");
        assert_eq!(requests_to(&w.control, "GET", CONFIG).len(), 2);
    }

    // Refused again after the fresh login: reported, not looped.
    w.control.clear_requests();
    w.control.inject_fault(fault(
        "GET",
        CONFIG,
        2,
        FaultKind::Status {
            status: 401,
            body: Some(envelope(401, "UnauthorizedError", "Token missing")),
        },
    ));
    let err = w.client.get_config(&w.conn, &w.org).await.unwrap_err();
    assert_eq!(err.class(), ErrorClass::Auth);
    assert_eq!(err.reason(), "AuthenticationFailed");
    assert_eq!(logins(&w.control), 1);
    assert_eq!(requests_to(&w.control, "GET", CONFIG).len(), 2);
}

#[tokio::test]
async fn past_max_ttl_the_next_call_logs_in_again() {
    let w = world().await;
    w.control.set_token_ttls(&w.identity.identity_id, 2, 3);
    assert_eq!(w.client.get_config(&w.conn, &w.org).await.unwrap(), None);
    tokio::time::sleep(Duration::from_millis(3200)).await;
    assert_eq!(w.client.get_config(&w.conn, &w.org).await.unwrap(), None);
    assert_eq!((logins(&w.control), renewals(&w.control)), (2, 0));
    let gets = requests_to(&w.control, "GET", CONFIG);
    assert!(gets.iter().all(|r| r.status == 404), "{gets:?}");
}

#[tokio::test]

async fn near_max_ttl_the_client_logs_in_instead_of_renewing() {
    let w = world().await;
    w.control.set_token_ttls(&w.identity.identity_id, 2, 3);
    assert_eq!(w.client.get_config(&w.conn, &w.org).await.unwrap(), None);
    // Past 70% of the TTL, 1.5 s before max TTL: a renewal could only be capped at max TTL,
    // so the client should log in again rather than renew.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(w.client.get_config(&w.conn, &w.org).await.unwrap(), None);
    assert_eq!(
        (logins(&w.control), renewals(&w.control)),
        (2, 0),
        "{:#?}",
        w.control.requests()
    );
}

#[test]

fn the_login_answer_max_ttl_is_read() {
    use infisical_oidc_operator::infisical::wire::AccessToken;
    // The body Infisical (and the emulator) answer to a login or renewal.
    let answer: AccessToken = serde_json::from_value(json!({
        "accessToken": "eyJ.x.y",
        "expiresIn": 7200,
        "accessTokenMaxTTL": 2592000,
        "tokenType": "Bearer",
    }))
    .unwrap();
    assert_eq!(answer.expires_in, 7200);
    assert_eq!(answer.access_token_max_ttl, 2_592_000);
}

#[tokio::test]
async fn a_token_past_70_percent_of_its_ttl_is_renewed() {
    let w = world().await;
    w.control.set_token_ttls(&w.identity.identity_id, 5, 1000);
    assert_eq!(w.client.get_config(&w.conn, &w.org).await.unwrap(), None);
    tokio::time::sleep(Duration::from_millis(1000)).await;
    assert_eq!(w.client.get_config(&w.conn, &w.org).await.unwrap(), None);
    assert_eq!((logins(&w.control), renewals(&w.control)), (1, 0));
    // 70% of 5 s is 3.5 s; Infisical's whole-second exp keeps the token alive for at least 4 s.
    tokio::time::sleep(Duration::from_millis(2600)).await;
    assert_eq!(w.client.get_config(&w.conn, &w.org).await.unwrap(), None);
    assert_eq!((logins(&w.control), renewals(&w.control)), (1, 1));
    let renew = &requests_to(&w.control, "POST", RENEW)[0];
    assert_eq!(renew.status, 200);
    assert_eq!(
        renew.body.as_ref().map(keys),
        Some(set(["accessToken"])),
        "renew sends only the token"
    );
    // The renewed token is used, and is fresh again.
    assert_eq!(w.client.get_config(&w.conn, &w.org).await.unwrap(), None);
    assert_eq!((logins(&w.control), renewals(&w.control)), (1, 1));
    let gets = requests_to(&w.control, "GET", CONFIG);
    assert_eq!(gets.len(), 4);
    assert!(gets.iter().all(|r| r.status == 404), "{gets:?}");
}

// ---------------------------------------------------------------------------------------------
// Rate limits

#[tokio::test]
async fn a_short_429_is_waited_out_and_retried() {
    let w = world().await;
    w.client.get_config(&w.conn, &w.org).await.unwrap();

    // Default fault: Retry-After header and message both say 1 s.
    answer_config_once(&w.control, "GET", 429, None);
    let start = Instant::now();
    assert_eq!(w.client.get_config(&w.conn, &w.org).await.unwrap(), None);
    let elapsed = start.elapsed();
    assert!(
        elapsed >= Duration::from_secs(1) && elapsed < Duration::from_secs(4),
        "{elapsed:?}"
    );

    // No header: the wait comes from the message.
    answer_config_once(
        &w.control,
        "GET",
        429,
        Some(envelope(
            429,
            "RateLimitExceeded",
            "Rate limit exceeded. Please try again in 1 seconds",
        )),
    );
    let start = Instant::now();
    assert_eq!(w.client.get_config(&w.conn, &w.org).await.unwrap(), None);
    let elapsed = start.elapsed();
    assert!(
        elapsed >= Duration::from_secs(1) && elapsed < Duration::from_secs(4),
        "{elapsed:?}"
    );

    let statuses: Vec<u16> = requests_to(&w.control, "GET", CONFIG)
        .iter()
        .map(|r| r.status)
        .collect();
    assert_eq!(statuses, [404, 429, 404, 429, 404]);
    assert_eq!(logins(&w.control), 1);
}

#[tokio::test]
async fn a_429_longer_than_the_inline_budget_is_returned_with_its_wait() {
    let w = world_with(HttpSettings {
        max_inline_retry_wait: Duration::from_millis(500),
        ..fast_settings()
    })
    .await;
    w.client.get_config(&w.conn, &w.org).await.unwrap();

    answer_config_once(
        &w.control,
        "GET",
        429,
        Some(envelope(
            429,
            "RateLimitExceeded",
            "Rate limit exceeded. Please try again in 3 seconds",
        )),
    );
    let start = Instant::now();
    let err = w.client.get_config(&w.conn, &w.org).await.unwrap_err();
    assert!(
        start.elapsed() < Duration::from_millis(500),
        "not waited inline"
    );
    assert_eq!(err.class(), ErrorClass::RateLimited);
    assert_eq!(err.reason(), "RateLimited");
    assert_eq!(err.retry_after(), Some(Duration::from_secs(3)));
    assert_eq!(api(&err).status, 429);

    // The Retry-After header (1 s) also exceeds a 500 ms budget.
    answer_config_once(&w.control, "POST", 429, None);
    let err = w
        .client
        .create_config(&w.conn, &discovery_config(&w.org))
        .await
        .unwrap_err();
    assert_eq!(err.class(), ErrorClass::RateLimited);
    assert_eq!(err.retry_after(), Some(Duration::from_secs(1)));
    assert_eq!(requests_to(&w.control, "GET", CONFIG).len(), 2);
    assert_eq!(requests_to(&w.control, "POST", CONFIG).len(), 1);
    assert_eq!(stored_config(&w.control, &w.org), None);
}

#[tokio::test]
async fn infisicals_own_rate_limit_is_reported_with_its_window() {
    let w = world().await;
    w.control.set_rate_limits(Some(1), None);
    assert_eq!(w.client.get_config(&w.conn, &w.org).await.unwrap(), None);
    let start = Instant::now();
    let err = w.client.get_config(&w.conn, &w.org).await.unwrap_err();
    // The window is a minute: far beyond the inline budget, so no waiting here.
    assert!(start.elapsed() < Duration::from_secs(1));
    assert_eq!(err.class(), ErrorClass::RateLimited);
    assert_eq!(err.reason(), "RateLimited");
    let wait = err.retry_after().expect("a wait");
    assert!(
        wait >= Duration::from_secs(55) && wait <= Duration::from_secs(60),
        "{wait:?}"
    );
    assert!(api(&err).message.starts_with("Rate limit exceeded"));
    let statuses: Vec<u16> = requests_to(&w.control, "GET", CONFIG)
        .iter()
        .map(|r| r.status)
        .collect();
    assert_eq!(statuses, [404, 429]);
    // Writes have their own budget.
    w.client
        .create_config(&w.conn, &discovery_config(&w.org))
        .await
        .unwrap();
}

// ---------------------------------------------------------------------------------------------
// Faults

#[tokio::test]
async fn server_errors_and_resets_are_transient() {
    let w = world().await;
    w.client.get_config(&w.conn, &w.org).await.unwrap();

    answer_config_once(&w.control, "GET", 503, None);
    let err = w.client.get_config(&w.conn, &w.org).await.unwrap_err();
    assert_eq!(api(&err).status, 503);
    assert_eq!(err.class(), ErrorClass::Transient);
    assert_eq!(err.reason(), "InfisicalUnavailable");

    w.control
        .inject_fault(fault("GET", CONFIG, 1, FaultKind::ConnectionReset));
    let err = w.client.get_config(&w.conn, &w.org).await.unwrap_err();
    assert!(matches!(err, Error::Transport { .. }), "{err:?}");
    assert_eq!(err.class(), ErrorClass::Transient);
    assert_eq!(err.reason(), "InfisicalUnreachable");

    w.control
        .inject_fault(fault("POST", CONFIG, 1, FaultKind::ConnectionReset));
    let err = w
        .client
        .create_config(&w.conn, &discovery_config(&w.org))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Transport { .. }), "{err:?}");
    assert_eq!(err.class(), ErrorClass::Transient);
    assert_eq!(stored_config(&w.control, &w.org), None);

    // Faults are one-shot: the client recovers on the next call.
    w.client
        .create_config(&w.conn, &discovery_config(&w.org))
        .await
        .unwrap();
    assert!(
        w.client
            .get_config(&w.conn, &w.org)
            .await
            .unwrap()
            .is_some()
    );
    assert_eq!(logins(&w.control), 1);
}

#[tokio::test]
async fn an_outage_is_infisical_unreachable() {
    let w = world().await;
    w.control.set_outage(true);
    // Before any login.
    let err = w.client.get_config(&w.conn, &w.org).await.unwrap_err();
    assert!(matches!(err, Error::Transport { .. }), "{err:?}");
    assert_eq!(err.reason(), "InfisicalUnreachable");
    assert_eq!(err.class(), ErrorClass::Transient);
    assert!(
        err.to_string()
            .starts_with("cannot reach Infisical at 127.0.0.1"),
        "{err}"
    );

    w.control.set_outage(false);
    assert_eq!(w.client.get_config(&w.conn, &w.org).await.unwrap(), None);

    // With a cached token.
    w.control.set_outage(true);
    let err = w
        .client
        .create_config(&w.conn, &discovery_config(&w.org))
        .await
        .unwrap_err();
    assert_eq!(err.reason(), "InfisicalUnreachable");
    assert_eq!(err.class(), ErrorClass::Transient);
    w.control.set_outage(false);
    w.client
        .create_config(&w.conn, &discovery_config(&w.org))
        .await
        .unwrap();
}

#[tokio::test]
async fn a_slow_answer_times_out_as_transient() {
    let w = world_with(HttpSettings {
        request_timeout: Duration::from_millis(300),
        ..fast_settings()
    })
    .await;
    w.client.get_config(&w.conn, &w.org).await.unwrap();
    w.control
        .inject_fault(fault("GET", CONFIG, 1, FaultKind::Delay { millis: 2000 }));
    let start = Instant::now();
    let err = w.client.get_config(&w.conn, &w.org).await.unwrap_err();
    let elapsed = start.elapsed();
    assert!(
        elapsed >= Duration::from_millis(300) && elapsed < Duration::from_millis(1500),
        "{elapsed:?}"
    );
    assert!(matches!(err, Error::Transport { .. }), "{err:?}");
    assert_eq!(err.class(), ErrorClass::Transient);
    assert_eq!(err.reason(), "InfisicalUnreachable");
    assert_eq!(w.client.get_config(&w.conn, &w.org).await.unwrap(), None);
}

// ---------------------------------------------------------------------------------------------
// TLS with a private CA

#[tokio::test]
async fn https_with_a_private_ca() {
    crypto();
    let pki = pki();
    let emu = Emulator::start_on(
        EmulatorConfig::default(),
        "127.0.0.1:0".parse().unwrap(),
        Some(pki.server.clone()),
    )
    .await
    .unwrap();
    let base = emu.base_url();
    assert!(base.starts_with("https://localhost:"), "{base}");
    let control = emu.control();
    let org = control.seed_org(OrgSeed::default());
    let identity = seed_identity(&control, &org);
    let client = Infisical::new(fast_settings(), Arc::new(Metrics::default()));

    let trusted = connection(&base, Some(pki.ca_pem.clone().into_bytes()), &identity);
    let summary = client
        .create_config(&trusted, &discovery_config(&org))
        .await
        .unwrap();
    let got = client.get_config(&trusted, &org).await.unwrap().unwrap();
    assert_eq!(got.config.id, summary.id);
    // The certificate also names the IP.
    let by_ip = connection(
        &format!("https://127.0.0.1:{}", emu.local_addr().port()),
        Some(pki.ca_pem.clone().into_bytes()),
        &identity,
    );
    assert!(client.get_config(&by_ip, &org).await.unwrap().is_some());
    let served = control.requests().len();

    // Same host, no private CA: the system roots do not know ours.
    let untrusted = connection(&base, None, &identity);
    let err = client.get_config(&untrusted, &org).await.unwrap_err();
    assert!(matches!(err, Error::Transport { .. }), "{err:?}");
    assert_eq!(err.reason(), "InfisicalUnreachable");
    assert_eq!(err.class(), ErrorClass::Transient);

    // Some other CA.
    let stranger = connection(&base, Some(self::pki().ca_pem.into_bytes()), &identity);
    let err = client.get_config(&stranger, &org).await.unwrap_err();
    assert!(matches!(err, Error::Transport { .. }), "{err:?}");
    assert_eq!(
        control.requests().len(),
        served,
        "nothing reaches the API without a trusted handshake"
    );

    for garbage in [
        b"not a certificate at all".to_vec(),
        b"-----BEGIN CERTIFICATE-----\n!!!not base64!!!\n-----END CERTIFICATE-----\n".to_vec(),
    ] {
        let bad = connection(&base, Some(garbage), &identity);
        let err = client.get_config(&bad, &org).await.unwrap_err();
        assert_eq!(err.reason(), "InvalidCABundle", "{err:?}");
        assert_eq!(err.class(), ErrorClass::Permanent);
    }

    // The trusted connection is unaffected by the failures next to it.
    assert!(client.get_config(&trusted, &org).await.unwrap().is_some());
    // Tokens are cached per (base URL, identity): one login for localhost, one for 127.0.0.1.
    assert_eq!(logins(&control), 2);
}

// ---------------------------------------------------------------------------------------------
// Request bodies against the seed schema

fn create_schema() -> Value {
    serde_json::from_str(SCHEMA).expect("schema fixture is JSON")
}

/// PATCH takes the create schema `.partial()` plus a required `organizationId`.
fn patch_schema() -> Value {
    let mut schema = create_schema();
    schema["required"] = json!(["organizationId"]);
    schema
}

/// The subset of JSON Schema the seed uses; any other keyword fails loudly rather than passing.
fn schema_violations(schema: &Value, body: &Value) -> Vec<String> {
    let schema = schema.as_object().expect("schema object");
    for key in schema.keys() {
        assert!(
            [
                "$comment",
                "type",
                "properties",
                "required",
                "additionalProperties"
            ]
            .contains(&key.as_str()),
            "unsupported schema keyword {key}"
        );
    }
    assert_eq!(schema["type"], "object");
    let properties = schema["properties"].as_object().expect("properties");
    let Some(object) = body.as_object() else {
        return vec![format!("body is not an object: {body}")];
    };
    let mut violations = Vec::new();
    for (name, value) in object {
        let Some(property) = properties.get(name) else {
            if schema.get("additionalProperties") == Some(&json!(false)) {
                violations.push(format!("{name}: not a declared property"));
            }
            continue;
        };
        for key in property.as_object().expect("property schema").keys() {
            assert!(
                ["type", "enum", "default", "description"].contains(&key.as_str()),
                "unsupported property keyword {key}"
            );
        }
        let type_ok = match property["type"].as_str() {
            Some("string") => value.is_string(),
            Some("boolean") => value.is_boolean(),
            other => panic!("unsupported type {other:?}"),
        };
        if !type_ok {
            violations.push(format!("{name}: {value} is not a {}", property["type"]));
        }
        if let Some(allowed) = property.get("enum").and_then(Value::as_array)
            && !allowed.contains(value)
        {
            violations.push(format!("{name}: {value} is not one of {allowed:?}"));
        }
    }
    for required in schema["required"].as_array().expect("required") {
        let required = required.as_str().unwrap();
        if !object.contains_key(required) {
            violations.push(format!("{required}: required"));
        }
    }
    violations
}

#[test]
fn the_schema_check_catches_what_it_must() {
    let schema = create_schema();
    let good = serde_json::to_value(discovery_config("org")).unwrap();
    assert_eq!(schema_violations(&schema, &good), Vec::<String>::new());
    let cases: [(&str, Value); 5] = [
        (
            "unknown",
            json!({"groupMembershipReconciliationEnabled": true}),
        ),
        ("type", json!({"isActive": "true"})),
        ("enum", json!({"jwtSignatureAlgorithm": "ES256"})),
        ("null", json!({"issuer": null})),
        ("config type", json!({"configurationType": "oidc"})),
    ];
    for (what, patch) in cases {
        let mut body = good.clone();
        for (k, v) in patch.as_object().unwrap() {
            body[k] = v.clone();
        }
        assert_eq!(schema_violations(&schema, &body).len(), 1, "{what}");
    }
    let mut missing = good.clone();
    missing.as_object_mut().unwrap().remove("clientSecret");
    assert_eq!(
        schema_violations(&schema, &missing),
        ["clientSecret: required"]
    );
    assert_eq!(
        schema_violations(&patch_schema(), &json!({"organizationId": "o"})),
        Vec::<String>::new()
    );
    assert_eq!(schema_violations(&patch_schema(), &json!({})).len(), 1);
    // The fixture is the seed's schema: every field the client's wire type has, no more.
    let declared: BTreeSet<String> = schema["properties"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    assert_eq!(declared, keys(&good));
}

fn full_update(org: &str) -> UpdateOidcConfig {
    let c = custom_config(org);
    UpdateOidcConfig {
        organization_id: org.into(),
        allowed_email_domains: Some("example.com".into()),
        configuration_type: Some(c.configuration_type),
        issuer: Some(c.issuer),
        discovery_url: Some(String::new()),
        authorization_endpoint: Some(c.authorization_endpoint),
        jwks_uri: Some(c.jwks_uri),
        token_endpoint: Some(c.token_endpoint),
        userinfo_endpoint: Some(c.userinfo_endpoint),
        client_id: Some(c.client_id),
        client_secret: Some(SecretString::new(format!("{CANARY}-full"))),
        is_active: Some(true),
        manage_group_memberships: Some(false),
        jwt_signature_algorithm: Some("EdDSA".into()),
    }
}

/// The emulator's request log replaces the value of every key naming a secret, token or
/// password (so `tokenEndpoint` too) with `"[REDACTED]"`.
fn redacted(mut body: Value) -> Value {
    for (key, value) in body.as_object_mut().expect("object") {
        let key = key.to_ascii_lowercase();
        if ["secret", "token", "password"]
            .iter()
            .any(|word| key.contains(word))
        {
            *value = json!("[REDACTED]");
        }
    }
    body
}

#[tokio::test]
async fn every_request_body_fits_the_seed_schema() {
    let w = world().await;
    let second = w.control.seed_org(OrgSeed {
        slug: "second".into(),
        ..Default::default()
    });
    let second_identity = seed_identity(&w.control, &second);
    let second_conn = connection(&w.emu.base_url(), None, &second_identity);

    let creates = [discovery_config(&w.org), custom_config(&second)];
    let updates = [
        UpdateOidcConfig {
            organization_id: w.org.clone(),
            is_active: Some(false),
            ..Default::default()
        },
        UpdateOidcConfig {
            organization_id: w.org.clone(),
            client_secret: Some(SecretString::new(format!("{CANARY}-partial"))),
            jwt_signature_algorithm: Some("HS256".into()),
            ..Default::default()
        },
        full_update(&second),
    ];

    // What the client serialises.
    let mut expected_posts = Vec::new();
    for body in &creates {
        let value = serde_json::to_value(body).unwrap();
        assert_eq!(
            schema_violations(&create_schema(), &value),
            Vec::<String>::new(),
            "{value}"
        );
        expected_posts.push(redacted(value));
    }
    let mut expected_patches = Vec::new();
    for body in &updates {
        let value = serde_json::to_value(body).unwrap();
        assert_eq!(
            schema_violations(&patch_schema(), &value),
            Vec::<String>::new(),
            "{value}"
        );
        let changed: BTreeSet<String> = body
            .changed_fields()
            .into_iter()
            .map(str::to_string)
            .chain(["organizationId".to_string()])
            .collect();
        assert_eq!(keys(&value), changed, "only changed fields are sent");
        expected_patches.push(redacted(value));
    }

    // What Infisical receives.
    w.client.create_config(&w.conn, &creates[0]).await.unwrap();
    w.client
        .create_config(&second_conn, &creates[1])
        .await
        .unwrap();
    w.client.update_config(&w.conn, &updates[0]).await.unwrap();
    w.client.update_config(&w.conn, &updates[1]).await.unwrap();
    w.client
        .update_config(&second_conn, &updates[2])
        .await
        .unwrap();

    let received = |method: &str| -> Vec<Value> {
        requests_to(&w.control, method, CONFIG)
            .into_iter()
            .map(|r| r.body.expect("a JSON body"))
            .collect()
    };
    let posts = received("POST");
    let patches = received("PATCH");
    for body in &posts {
        assert_eq!(
            schema_violations(&create_schema(), body),
            Vec::<String>::new()
        );
    }
    for body in &patches {
        assert_eq!(
            schema_violations(&patch_schema(), body),
            Vec::<String>::new()
        );
    }
    assert_eq!(posts, expected_posts, "the client sends exactly its body");
    assert_eq!(patches, expected_patches);

    // Login bodies carry the credentials and nothing else.
    for login in requests_to(&w.control, "POST", LOGIN) {
        let body = login.body.expect("login body");
        assert_eq!(keys(&body), set(["clientId", "clientSecret"]));
        assert_eq!(body["clientSecret"], json!("[REDACTED]"));
    }
    assert_eq!(logins(&w.control), 2, "one login per identity");
}

// ---------------------------------------------------------------------------------------------
// Secret hygiene

#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Capture {
    type Writer = Capture;

    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

impl Capture {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

/// The canary and the forms it could take on the way out: base64 (standard and URL-safe) at
/// each of the three byte alignments, keeping only the characters that depend on canary bytes.
fn canary_forms() -> Vec<String> {
    let mut forms = vec![CANARY.to_string()];
    for engine in [
        base64::engine::general_purpose::STANDARD,
        base64::engine::general_purpose::URL_SAFE_NO_PAD,
    ] {
        for offset in 0..3 {
            let input = format!("{}{CANARY}", "x".repeat(offset));
            let encoded = engine.encode(&input);
            let start = if offset == 0 { 0 } else { 4 };
            let core = &encoded[start..encoded.len() - 4];
            assert!(core.len() >= 16, "{core}");
            forms.push(core.to_string());
        }
    }
    forms
}

#[test]
fn canary_forms_catch_encoded_canaries() {
    let forms = canary_forms();
    for prefix in ["", "a", "ab", "client-id:", "{\"clientSecret\":\""] {
        let plain = format!("{prefix}{CANARY}-identity");
        for encoded in [
            base64::engine::general_purpose::STANDARD.encode(&plain),
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&plain),
        ] {
            assert!(
                forms.iter().any(|form| encoded.contains(form.as_str())),
                "{plain:?} as {encoded}"
            );
        }
    }
}

#[track_caller]
fn assert_no_canary(what: &str, text: &str) {
    for form in canary_forms() {
        assert!(
            !text.contains(&form),
            "{what} leaks the canary (as {form:?}):\n{text}"
        );
    }
}

#[tokio::test(flavor = "current_thread")]
async fn no_secret_reaches_logs_or_errors() {
    crypto();
    let capture = Capture::default();
    let subscriber = || {
        tracing_subscriber::fmt()
            .with_writer(capture.clone())
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .finish()
    };
    // Global under nextest (one process per test; also bridges `log` records), thread-local
    // under `cargo test`, where everything here runs on this one thread.
    let _ = tracing_subscriber::util::SubscriberInitExt::try_init(subscriber());
    let _guard = tracing::subscriber::set_default(subscriber());

    let w = world().await;
    let mut texts = Vec::new();
    let mut errors = Vec::new();

    let body = discovery_config(&w.org);
    texts.push(format!("{body:?}"));
    texts.push(format!("{:?}", w.conn));
    let summary = w.client.create_config(&w.conn, &body).await.unwrap();
    texts.push(format!("{summary:?}"));
    let got = w.client.get_config(&w.conn, &w.org).await.unwrap().unwrap();
    assert_eq!(got.client_secret.expose(), idp_secret());
    texts.push(format!("{got:?}"));
    let update = UpdateOidcConfig {
        organization_id: w.org.clone(),
        client_secret: Some(SecretString::new(format!("{CANARY}-rotated"))),
        ..Default::default()
    };
    texts.push(format!("{update:?}"));
    let updated = w.client.update_config(&w.conn, &update).await.unwrap();
    texts.push(format!("{updated:?}"));

    // 422
    let other = w.control.seed_org(OrgSeed {
        slug: "other".into(),
        ..Default::default()
    });
    let other_identity = seed_identity(&w.control, &other);
    let other_conn = connection(&w.emu.base_url(), None, &other_identity);
    let mut invalid = custom_config(&other);
    invalid.issuer.clear();
    invalid.token_endpoint.clear();
    let err = w
        .client
        .create_config(&other_conn, &invalid)
        .await
        .unwrap_err();
    assert_eq!(err.reason(), "ValidationFailed");
    errors.push(err);

    // 401: wrong identity secret at login, then a token refused mid-flight (logged in again).
    let wrong = IdentityCredentials {
        client_secret: format!("{CANARY}-wrong"),
        ..w.identity.clone()
    };
    let err = w
        .client
        .get_config(&connection(&w.emu.base_url(), None, &wrong), &w.org)
        .await
        .unwrap_err();
    assert_eq!(api(&err).status, 401);
    errors.push(err);
    w.control.inject_fault(fault(
        "GET",
        CONFIG,
        2,
        FaultKind::Status {
            status: 401,
            body: Some(envelope(
                401,
                "UnauthorizedError",
                "Your token has expired. Please re-authenticate.",
            )),
        },
    ));
    let err = w.client.get_config(&w.conn, &w.org).await.unwrap_err();
    assert_eq!(err.class(), ErrorClass::Auth);
    errors.push(err);

    // 403
    w.control
        .set_identity_permissions(&other_identity.identity_id, vec!["read".into()]);
    let err = w
        .client
        .create_config(&other_conn, &custom_config(&other))
        .await
        .unwrap_err();
    assert_eq!(err.reason(), "PermissionDenied");
    errors.push(err);
    let err = w
        .client
        .create_config(&w.conn, &custom_config(&other))
        .await
        .unwrap_err();
    assert_eq!(api(&err).status, 403);
    errors.push(err);

    // Transport
    w.control.set_outage(true);
    errors.push(w.client.update_config(&w.conn, &update).await.unwrap_err());
    w.control.set_outage(false);

    for err in &errors {
        texts.push(format!("{err}"));
        texts.push(format!("{err:?}"));
    }
    for text in &texts {
        assert_no_canary("a value's Display or Debug", text);
    }

    let logs = capture.text();
    assert!(
        logs.contains("logging in again"),
        "the capture works and sees the client's own events:\n{logs}"
    );
    for line in logs.lines() {
        assert_no_canary("a log line", line);
    }
    assert_no_canary("the log", &logs);
    assert_no_canary("metrics", &w.metrics.encode());
    assert_no_canary(
        "the emulator's request log",
        &serde_json::to_string(&w.control.requests()).unwrap(),
    );
}

#[tokio::test]
async fn tokens_and_instances_nobody_uses_are_forgotten() {
    let w = world().await;
    w.client.get_config(&w.conn, &w.org).await.unwrap();
    assert_eq!(w.client.held(), (1, 1));
    // The identity's secret is rotated: the next calls log in under the new secret, and the
    // token of the old one must not stay in memory.
    let rotated = seed_identity(&w.control, &w.org);
    let conn = connection(&w.emu.base_url(), None, &rotated);
    tokio::time::sleep(Duration::from_millis(300)).await;
    w.client.get_config(&conn, &w.org).await.unwrap();
    assert_eq!(w.client.held(), (1, 2));
    assert_eq!(
        w.client.prune_unused(Duration::from_millis(150)),
        (0, 1),
        "only the old identity's token was unused"
    );
    assert_eq!(w.client.held(), (1, 1));
    // The remaining token is the rotated identity's: no new login is needed.
    let logins_before = logins(&w.control);
    w.client.get_config(&conn, &w.org).await.unwrap();
    assert_eq!(logins(&w.control), logins_before);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(w.client.prune_unused(Duration::from_millis(150)), (1, 1));
    assert_eq!(w.client.held(), (0, 0));
}

/// A server on loopback that answers every request with `status`, `content_type` and `body`.
async fn fixed_answer_server(
    status: u16,
    content_type: &'static str,
    body: &'static str,
) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buffer = [0u8; 4096];
                let _ = stream.read(&mut buffer).await;
                let answer = format!(
                    "HTTP/1.1 {status} X\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = stream.write_all(answer.as_bytes()).await;
            });
        }
    });
    format!("http://{address}")
}

#[tokio::test]
async fn a_host_api_that_is_not_infisical_is_named_as_such() {
    crypto();
    let identity = IdentityCredentials {
        identity_id: "i".into(),
        client_id: "c".into(),
        client_secret: "s".into(),
    };
    let org = uuid::Uuid::new_v4().to_string();
    for (status, content_type, body) in [
        // Another HTTP server: its own 404 page, no Infisical envelope.
        (404, "text/plain", "404 page not found"),
        (404, "application/json", r#"{"message":"Unknown"}"#),
        // Infisical's web app (or any site) at hostAPI: HTML with 200.
        (
            200,
            "text/html; charset=utf-8",
            "<!doctype html><html>app</html>",
        ),
    ] {
        let base = fixed_answer_server(status, content_type, body).await;
        let client = Infisical::new(fast_settings(), Arc::new(Metrics::default()));
        let error = client
            .get_config(&connection(&base, None, &identity), &org)
            .await
            .expect_err("not an Infisical answer");
        assert_eq!(
            error.reason(),
            "UnexpectedResponse",
            "{status} {content_type}: {error}"
        );
        assert_eq!(error.class(), ErrorClass::Permanent, "{error}");
        assert!(error.to_string().contains("spec.hostAPI"), "{error}");
    }
    // A gateway's 502 page in front of Infisical stays an outage.
    let base = fixed_answer_server(502, "text/html", "<html>bad gateway</html>").await;
    let client = Infisical::new(fast_settings(), Arc::new(Metrics::default()));
    let error = client
        .get_config(&connection(&base, None, &identity), &org)
        .await
        .unwrap_err();
    assert_eq!(error.class(), ErrorClass::Transient, "{error}");
}

#[tokio::test]
async fn no_configuration_is_known_by_infisicals_error_name_not_its_wording() {
    crypto();
    let org = uuid::Uuid::new_v4().to_string();
    let identity = IdentityCredentials {
        identity_id: "i".into(),
        client_id: "c".into(),
        client_secret: "s".into(),
    };
    // A future wording of the same answer.
    let base = fixed_answer_server(
        404,
        "application/json; charset=utf-8",
        r#"{"reqId":"req-1","statusCode":404,"error":"NotFound","message":"No SSO configuration exists yet"}"#,
    )
    .await;
    let client = Infisical::new(fast_settings(), Arc::new(Metrics::default()));
    let conn = Connection {
        credentials: Credentials::StaticToken(SecretString::new("t")),
        ..connection(&base, None, &identity)
    };
    assert_eq!(client.get_config(&conn, &org).await.unwrap(), None);
}
