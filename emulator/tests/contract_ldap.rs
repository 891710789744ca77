//! Contract tests for the LDAP configuration API (`/api/v1/ldap/config`) that need no directory:
//! validation, permission, plan, Google enforcement, the URL guard, the PEM checks, failed
//! connections, soft deletion and the GET shape (see `src/ldap.rs`, `src/ldap_bind.rs`). The
//! rules that need a real bind run against slapd in the root crate's `tests/emulator_ldap.rs`.

mod common;

use common::*;
use infisical_emulator::{OrgFlags, OrgSeed};
use serde_json::{Value, json};

const PATH: &str = "/api/v1/ldap/config";
const CONNECTION: &str = "Failed to establish connection to LDAP directory. Please verify that your credentials are correct.";
const GOOGLE: &str = "You cannot enable LDAP SSO while Google OAuth is enforced. Disable Google OAuth enforcement to enable LDAP SSO.";
const LOCAL: &str = "Local IPs not allowed as URL";

/// A port nothing listens on: bound, then released.
fn closed_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

fn create_body(org: &str, url: &str) -> Value {
    json!({
        "organizationId": org,
        "isActive": true,
        "url": url,
        "bindDN": "cn=infisical,ou=services,dc=example,dc=org",
        "bindPass": "s3cret",
        "searchBase": "ou=people,dc=example,dc=org",
        "groupSearchBase": "ou=groups,dc=example,dc=org",
    })
}

fn seeded(e: &Env, url: &str) {
    assert!(e.c.put_ldap_config_out_of_band(
        &e.org,
        json!({
            "isActive": true,
            "url": url,
            "bindDN": "cn=infisical,ou=services,dc=example,dc=org",
            "bindPass": "s3cret",
            "searchBase": "ou=people,dc=example,dc=org",
            "clientCertificate": "CERT",
            "clientKeyCertificate": "KEY",
        }),
    ));
}

fn binds(e: &Env) -> u64 {
    e.c.sso_state(&e.org).unwrap().ldap_binds
}

#[tokio::test]
async fn create_validates_like_zod() {
    let e = env().await;
    let t = e.token().await;
    let got = send(&e, "POST", PATH, &t, Some(json!({"organizationId": e.org}))).await;
    let found = issues(&got);
    let named: Vec<&str> = found
        .iter()
        .map(|i| i["path"][0].as_str().unwrap())
        .collect();
    assert_eq!(
        named,
        [
            "isActive",
            "url",
            "bindDN",
            "bindPass",
            "searchBase",
            "groupSearchBase"
        ]
    );
    assert!(found.iter().all(|i| i["message"] == "Required"));
    let mut body = create_body(&e.org, "ldap://127.0.0.1:1");
    body["caCert"] = json!(null);
    let got = send(&e, "POST", PATH, &t, Some(body)).await;
    assert_eq!(issues(&got)[0]["message"], "Expected string, received null");
    let got = send(&e, "PATCH", PATH, &t, Some(json!({"bindPass": 1}))).await;
    let named: Vec<Value> = issues(&got).iter().map(|i| i["path"].clone()).collect();
    assert_eq!(named, [json!(["bindPass"]), json!(["organizationId"])]);
}

#[tokio::test]
async fn create_checks_permission_on_ldap_then_plan_then_google() {
    let e = env().await;
    let t = e.token().await;
    let body = create_body(&e.org, "ldap://127.0.0.1:1");
    e.c.set_identity_permissions(
        &e.creds.identity_id,
        ["read", "create", "edit"].map(String::from).to_vec(),
    );
    let got = send(&e, "POST", PATH, &t, Some(body.clone())).await;
    assert_err(
        &got,
        403,
        "PermissionDenied",
        "You are not allowed to create on ldap",
    );
    let other = e.c.seed_org(OrgSeed {
        slug: "other".into(),
        ..Default::default()
    });
    let got = send(
        &e,
        "POST",
        PATH,
        &t,
        Some(create_body(&other, "ldap://127.0.0.1:1")),
    )
    .await;
    assert_err(
        &got,
        403,
        "ForbiddenError",
        &format!(
            "Your token is scoped to organization with ID {}, but this resource belongs to a different organization.",
            e.org
        ),
    );
    e.c.set_identity_permissions(&e.creds.identity_id, vec!["ldap:create".into()]);
    e.c.set_org_flags(
        &e.org,
        OrgFlags {
            plan_ldap: Some(false),
            google_sso_enforced: Some(true),
            ..Default::default()
        },
    );
    let got = send(&e, "POST", PATH, &t, Some(body.clone())).await;
    assert_err(
        &got,
        400,
        "BadRequest",
        "Failed to create LDAP configuration due to plan restriction. Upgrade plan to create LDAP configuration.",
    );
    e.c.set_org_flags(
        &e.org,
        OrgFlags {
            plan_ldap: Some(true),
            ..Default::default()
        },
    );
    let got = send(&e, "POST", PATH, &t, Some(body)).await;
    assert_err(&got, 400, "BadRequest", GOOGLE);
    assert_eq!(binds(&e), 0);
    assert!(e.c.sso_state(&e.org).unwrap().ldap.is_none());
}

#[tokio::test]
async fn create_runs_the_url_guard_always_before_any_bind() {
    let e = env().await;
    let t = e.token().await;
    e.c.set_allowed_internal_hosts(vec![]);
    let cases = [
        ("ldaps://127.0.0.1:636", 400, "BadRequest", LOCAL),
        ("LDAP://LOCALHOST", 400, "BadRequest", LOCAL),
        ("ldap://10.1.2.3", 400, "BadRequest", LOCAL),
        (
            "ldaps://user:pw@ldap.example.com",
            400,
            "BadRequest",
            "URLs with user credentials (e.g., user:pass@) are not allowed",
        ),
        ("", 500, "InternalServerError", "Something went wrong"),
        (
            "ldaps://ldap.test",
            500,
            "InternalServerError",
            "Something went wrong",
        ),
    ];
    for (url, status, error, message) in cases {
        let got = send(&e, "POST", PATH, &t, Some(create_body(&e.org, url))).await;
        assert_err(&got, status, error, message);
    }
    assert_eq!(binds(&e), 0, "the guard runs before the connection test");
    // Infisical's ALLOW_INTERNAL_IP_CONNECTIONS: the guard passes, the bind then fails.
    e.c.set_allow_internal_ip_connections(true);
    let url = format!("ldap://127.0.0.1:{}", closed_port());
    let got = send(&e, "POST", PATH, &t, Some(create_body(&e.org, &url))).await;
    assert_err(&got, 400, "BadRequest", CONNECTION);
    assert_eq!(binds(&e), 1);
    // With the guard off (Infisical's development mode) URLs it would refuse reach the bind,
    // which fails for a scheme or a host ldapjs cannot dial.
    e.c.set_url_guard(false);
    for url in [
        "ldap:no-host",
        "http://127.0.0.1:1",
        "ldapi:///run/slapd.sock",
    ] {
        let got = send(&e, "POST", PATH, &t, Some(create_body(&e.org, url))).await;
        assert_err(&got, 400, "BadRequest", CONNECTION);
    }
}

#[tokio::test]
async fn a_failed_connection_is_one_message_and_stores_nothing_even_inactive() {
    let e = env().await;
    let t = e.token().await;
    let mut body = create_body(&e.org, &format!("ldaps://127.0.0.1:{}", closed_port()));
    body["isActive"] = json!(false);
    let got = send(&e, "POST", PATH, &t, Some(body)).await;
    assert_err(&got, 400, "BadRequest", CONNECTION);
    let state = e.c.sso_state(&e.org).unwrap();
    assert_eq!(
        (
            state.ldap.is_none(),
            state.ldap_binds,
            state.ldap_calls.posts
        ),
        (true, 1, 1)
    );
}

#[tokio::test]
async fn pem_inputs_are_checked_in_order_before_connecting() {
    let e = env().await;
    let t = e.token().await;
    let url = format!("ldaps://127.0.0.1:{}", closed_port());
    let cases = [
        (
            json!({"caCert": "not a pem"}),
            "Invalid CA Certificate. Expected a PEM-encoded X.509 certificate.",
        ),
        (
            json!({"caCert": "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----", "clientCertificate": "x"}),
            "Invalid CA Certificate. Expected a PEM-encoded X.509 certificate.",
        ),
        (
            json!({"clientCertificate": "x", "clientKeyCertificate": "y"}),
            "Invalid Client Certificate. Expected a PEM-encoded X.509 certificate.",
        ),
        (
            json!({"clientKeyCertificate": "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----"}),
            "Invalid Client Private Key. Expected a PEM-encoded private key.",
        ),
    ];
    for (extra, message) in cases {
        let mut body = create_body(&e.org, &url);
        body.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        let got = send(&e, "POST", PATH, &t, Some(body)).await;
        assert_err(&got, 400, "BadRequest", message);
    }
    assert_eq!(binds(&e), 0);
}

#[tokio::test]
async fn get_checks_permission_first_then_answers_404_or_the_plaintext_config() {
    let e = env().await;
    let t = e.token().await;
    let get = format!("{PATH}?organizationId={}", e.org);
    e.c.set_identity_permissions(&e.creds.identity_id, vec!["read".into()]);
    let got = send(&e, "GET", &get, &t, None).await;
    assert_err(
        &got,
        403,
        "PermissionDenied",
        "You are not allowed to read on ldap",
    );
    let got = send(
        &e,
        "GET",
        &format!("{PATH}?organizationId=not-a-uuid"),
        &t,
        None,
    )
    .await;
    assert_eq!(got.0, 403, "no lookup before the permission: {}", got.1);
    e.c.set_identity_permissions(&e.creds.identity_id, vec!["ldap:read".into()]);
    let got = send(&e, "GET", &get, &t, None).await;
    assert_err(
        &got,
        404,
        "NotFound",
        &format!(
            "Failed to find organization LDAP data in organization with ID '{}'",
            e.org
        ),
    );
    seeded(&e, "ldaps://ldap.example.com");
    let id = e.c.sso_state(&e.org).unwrap().ldap.unwrap().id;
    let (s, v) = send(&e, "GET", &get, &t, None).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(
        v,
        json!({
            "id": id,
            "organization": e.org,
            "isActive": true,
            "url": "ldaps://ldap.example.com",
            "bindDN": "cn=infisical,ou=services,dc=example,dc=org",
            "bindPass": "s3cret",
            "uniqueUserAttribute": "uidNumber",
            "searchBase": "ou=people,dc=example,dc=org",
            "searchFilter": "(uid={{username}})",
            "groupSearchBase": "",
            "groupSearchFilter": "(|(memberUid={{.Username}})(member={{.UserDN}})(uniqueMember={{.UserDN}}))",
            "caCert": "",
            "clientCertificate": "CERT",
            "hasClientKeyCertificate": true,
        })
    );
}

#[tokio::test]
async fn patch_without_a_config_is_404_and_checks_edit_on_ldap_then_plan() {
    let e = env().await;
    let t = e.token().await;
    let body = json!({"organizationId": e.org, "isActive": false});
    e.c.set_identity_permissions(
        &e.creds.identity_id,
        vec!["edit".into(), "ldap:read".into()],
    );
    let got = send(&e, "PATCH", PATH, &t, Some(body.clone())).await;
    assert_err(
        &got,
        403,
        "PermissionDenied",
        "You are not allowed to edit on ldap",
    );
    e.c.set_identity_permissions(&e.creds.identity_id, vec!["ldap:edit".into()]);
    let got = send(&e, "PATCH", PATH, &t, Some(body.clone())).await;
    assert_err(
        &got,
        404,
        "NotFound",
        &format!(
            "Failed to find organization LDAP data in organization with ID '{}'",
            e.org
        ),
    );
    e.c.set_org_flags(
        &e.org,
        OrgFlags {
            plan_ldap: Some(false),
            ..Default::default()
        },
    );
    let got = send(&e, "PATCH", PATH, &t, Some(body)).await;
    assert_err(
        &got,
        400,
        "BadRequest",
        "Failed to update LDAP configuration due to plan restriction. Upgrade plan to update LDAP configuration.",
    );
}

#[tokio::test]
async fn every_patch_binds_again_and_a_failure_changes_nothing() {
    let e = env().await;
    let t = e.token().await;
    let url = format!("ldap://127.0.0.1:{}", closed_port());
    seeded(&e, &url);
    e.c.put_ldap_config_out_of_band(
        &e.org,
        json!({"clientCertificate": "", "clientKeyCertificate": ""}),
    );
    let before = e.c.sso_state(&e.org).unwrap().ldap.unwrap();
    for body in [
        json!({"organizationId": e.org, "isActive": false}),
        json!({"organizationId": e.org, "groupSearchFilter": "(member={{.UserDN}})"}),
    ] {
        let got = send(&e, "PATCH", PATH, &t, Some(body)).await;
        assert_err(&got, 400, "BadRequest", CONNECTION);
    }
    assert_eq!(binds(&e), 2);
    assert_eq!(
        e.c.sso_state(&e.org).unwrap().ldap.unwrap(),
        before,
        "rolled back"
    );
    // The URL guard runs on a non-empty url in the body only.
    e.c.set_allowed_internal_hosts(vec![]);
    let got = send(
        &e,
        "PATCH",
        PATH,
        &t,
        Some(json!({"organizationId": e.org, "url": "ldap://10.0.0.9"})),
    )
    .await;
    assert_err(&got, 400, "BadRequest", LOCAL);
    assert_eq!(binds(&e), 2);
}

#[tokio::test]
async fn soft_deletion_skips_the_bind_and_no_org_flag_is_reset() {
    let e = env().await;
    let t = e.token().await;
    seeded(&e, &format!("ldap://127.0.0.1:{}", closed_port()));
    e.c.set_org_flags(
        &e.org,
        OrgFlags {
            auth_enforced: Some(true),
            scim_enabled: Some(true),
            ..Default::default()
        },
    );
    let created = e.c.sso_state(&e.org).unwrap().ldap.unwrap().created_at;
    let (s, v) = send(
        &e,
        "PATCH",
        PATH,
        &t,
        Some(json!({"organizationId": e.org, "isActive": false, "url": "", "bindDN": "", "bindPass": "", "searchBase": ""})),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    let mut k: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    k.sort_unstable();
    assert_eq!(
        k,
        [
            "createdAt",
            "groupSearchBase",
            "groupSearchFilter",
            "id",
            "isActive",
            "orgId",
            "searchBase",
            "searchFilter",
            "uniqueUserAttribute",
            "updatedAt",
            "url"
        ]
    );
    assert_eq!(
        (&v["url"], &v["isActive"], &v["createdAt"]),
        (&json!(""), &json!(false), &json!(created))
    );
    let state = e.c.sso_state(&e.org).unwrap();
    assert_eq!(state.ldap_binds, 0);
    assert!(
        state.auth_enforced && state.scim_enabled,
        "LDAP PATCH resets no org flag"
    );
    let cfg = state.ldap.unwrap();
    assert_eq!(
        (cfg.client_key_certificate.as_str(), cfg.bind_pass.as_str()),
        ("KEY", ""),
        "omitted fields are kept"
    );
}

#[tokio::test]
async fn the_request_log_keeps_ldap_requests_without_their_secrets() {
    let e = env().await;
    let t = e.token().await;
    let mut body = create_body(&e.org, &format!("ldap://127.0.0.1:{}", closed_port()));
    body["clientKeyCertificate"] = json!("-----BEGIN PRIVATE KEY-----");
    let _ = send(&e, "POST", PATH, &t, Some(body)).await;
    let logged = e.c.requests_matching("POST", PATH);
    assert_eq!(logged.len(), 1);
    let b = logged[0].body.as_ref().unwrap();
    assert_eq!(
        (&b["bindPass"], &b["clientKeyCertificate"]),
        (&json!("[REDACTED]"), &json!("[REDACTED]"))
    );
    assert_eq!(b["bindDN"], "cn=infisical,ou=services,dc=example,dc=org");
    assert_eq!(logged[0].org_id.as_deref(), Some(e.org.as_str()));
    assert_eq!(logged[0].status, 400);
}
