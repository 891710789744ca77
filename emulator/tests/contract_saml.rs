//! Contract tests for the SAML configuration API (`/api/v1/sso/config`): each rule of
//! `saml-router.ts` and `saml-config-service.ts` (see `src/saml.rs`), with exact texts.

mod common;

use common::*;
use infisical_emulator::{OrgFlags, OrgSeed};
use serde_json::{Value, json};

const PATH: &str = "/api/v1/sso/config";
const PROVIDERS: [&str; 6] = [
    "okta-saml",
    "azure-saml",
    "jumpcloud-saml",
    "google-saml",
    "keycloak-saml",
    "auth0-saml",
];
const GOOGLE_CREATE: &str = "You cannot enable SAML SSO while Google OAuth is enforced. Disable Google OAuth enforcement to enable SAML SSO.";
const GOOGLE_UPDATE: &str = "Cannot enable SAML SSO while Google OAuth is enforced. Disable Google OAuth enforcement to enable SAML SSO.";
const GROUP_SYNC_PROVIDER: &str = "Group sync is not supported for this SAML provider.";
const GROUP_SYNC_PLAN: &str =
    "Failed to enable SAML group sync due to plan restriction. Upgrade plan to enable group sync.";
const CERT: &str = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----";

fn create_body(org: &str) -> Value {
    json!({
        "organizationId": org,
        "authProvider": "okta-saml",
        "isActive": true,
        "entryPoint": "https://idp.example.com/sso/saml",
        "issuer": "http://www.okta.com/exk1",
        "cert": CERT,
    })
}

fn assert_iso_date(v: &Value) {
    let s = v.as_str().unwrap_or_else(|| panic!("not a date: {v}"));
    assert_eq!(s.len(), 24, "{s}");
    assert!(s.ends_with('Z') && s.as_bytes()[10] == b'T', "{s}");
}

fn keys(v: &Value) -> Vec<&str> {
    let mut k: Vec<&str> = v
        .as_object()
        .expect("object")
        .keys()
        .map(String::as_str)
        .collect();
    k.sort_unstable();
    k
}

#[tokio::test]
async fn create_answers_the_sanitized_row_and_get_the_plaintext_config() {
    let e = env().await;
    let t = e.token().await;
    let mut body = create_body(&e.org);
    body["issuer"] = json!("  http://www.okta.com/exk1  ");
    body["cert"] = json!(format!("\n{CERT}\n"));
    body["unknownKey"] = json!("stripped");
    let (s, created) = send(&e, "POST", PATH, &t, Some(body)).await;
    assert_eq!(s, 200, "{created}");
    assert_eq!(
        keys(&created),
        [
            "authProvider",
            "createdAt",
            "id",
            "isActive",
            "lastUsed",
            "orgId",
            "updatedAt"
        ]
    );
    assert_eq!(created["authProvider"], "okta-saml");
    assert_eq!(created["isActive"], true);
    assert_eq!(created["orgId"], json!(e.org));
    assert_eq!(created["lastUsed"], Value::Null);
    assert_iso_date(&created["createdAt"]);
    assert_iso_date(&created["updatedAt"]);

    let (s, got) = send(
        &e,
        "GET",
        &format!("{PATH}?organizationId={}", e.org),
        &t,
        None,
    )
    .await;
    assert_eq!(s, 200, "{got}");
    assert_eq!(
        got,
        json!({
            "id": created["id"],
            "organization": e.org,
            "orgId": e.org,
            "authProvider": "okta-saml",
            "isActive": true,
            "entryPoint": "https://idp.example.com/sso/saml",
            "issuer": "http://www.okta.com/exk1",
            "cert": CERT,
            "lastUsed": null,
            "enableGroupSync": false,
        })
    );
    let state = e.c.sso_state(&e.org).unwrap();
    assert_eq!(state.saml.unwrap().cert, CERT);
    assert_eq!((state.saml_calls.posts, state.saml_calls.gets), (1, 1));
}

#[tokio::test]
async fn get_is_404_before_the_permission_check_and_checks_read_on_sso() {
    let e = env().await;
    let t = e.token().await;
    e.c.set_identity_permissions(&e.creds.identity_id, vec![]);
    let not_found =
        |org: &str| format!("SAML configuration for organization with ID '{org}' not found");
    let got = send(
        &e,
        "GET",
        &format!("{PATH}?organizationId={}", e.org),
        &t,
        None,
    )
    .await;
    assert_err(&got, 404, "NotFound", &not_found(&e.org));
    let other = uuid_like();
    let got = send(
        &e,
        "GET",
        &format!("{PATH}?organizationId={other}"),
        &t,
        None,
    )
    .await;
    assert_err(&got, 404, "NotFound", &not_found(&other));
    let got = send(
        &e,
        "GET",
        &format!("{PATH}?organizationId=not-a-uuid"),
        &t,
        None,
    )
    .await;
    assert_err(&got, 500, "Find one", "Something went wrong");
    let got = send(&e, "GET", PATH, &t, None).await;
    assert_eq!(issues(&got)[0]["message"], "Required");

    e.c.put_saml_config_out_of_band(&e.org, json!({"issuer": "drifted"}));
    let got = send(
        &e,
        "GET",
        &format!("{PATH}?organizationId=%20{}%20", e.org),
        &t,
        None,
    )
    .await;
    assert_err(
        &got,
        403,
        "PermissionDenied",
        "You are not allowed to read on sso",
    );
    e.c.set_identity_permissions(&e.creds.identity_id, vec!["ldap:read".into()]);
    let got = send(
        &e,
        "GET",
        &format!("{PATH}?organizationId={}", e.org),
        &t,
        None,
    )
    .await;
    assert_err(
        &got,
        403,
        "PermissionDenied",
        "You are not allowed to read on sso",
    );
    e.c.set_identity_permissions(&e.creds.identity_id, vec!["sso:read".into()]);
    let (s, got) = send(
        &e,
        "GET",
        &format!("{PATH}?organizationId={}", e.org),
        &t,
        None,
    )
    .await;
    assert_eq!((s, &got["issuer"]), (200, &json!("drifted")));
}

#[tokio::test]
async fn create_checks_permission_then_plan_then_organisation() {
    let e = env().await;
    let t = e.token().await;
    e.c.set_org_flags(
        &e.org,
        OrgFlags {
            plan_saml_sso: Some(false),
            ..Default::default()
        },
    );
    e.c.set_identity_permissions(&e.creds.identity_id, vec!["read".into(), "edit".into()]);
    let got = send(&e, "POST", PATH, &t, Some(create_body(&e.org))).await;
    assert_err(
        &got,
        403,
        "PermissionDenied",
        "You are not allowed to create on sso",
    );
    e.c.set_identity_permissions(&e.creds.identity_id, vec!["create".into()]);
    let got = send(&e, "POST", PATH, &t, Some(create_body(&e.org))).await;
    assert_err(
        &got,
        400,
        "BadRequest",
        "Failed to create SAML SSO configuration due to plan restriction. Upgrade plan to create SSO configuration.",
    );
    // Another organisation's id is refused by the permission check, never looked up.
    let other = e.c.seed_org(OrgSeed {
        slug: "other".into(),
        ..Default::default()
    });
    for org in [other.as_str(), "not-a-uuid"] {
        let got = send(&e, "POST", PATH, &t, Some(create_body(org))).await;
        assert_err(
            &got,
            403,
            "ForbiddenError",
            &format!(
                "Your token is scoped to organization with ID {}, but this resource belongs to a different organization.",
                e.org
            ),
        );
    }
    assert!(e.c.sso_state(&e.org).unwrap().saml.is_none());
}

#[tokio::test]
async fn create_validates_like_zod() {
    let e = env().await;
    let t = e.token().await;
    let mut body = create_body(&e.org);
    body["authProvider"] = json!("saml");
    let got = send(&e, "POST", PATH, &t, Some(body)).await;
    let found = issues(&got);
    assert_eq!(
        found,
        [json!({
            "received": "saml",
            "code": "invalid_enum_value",
            "options": PROVIDERS,
            "path": ["authProvider"],
            "message": "Invalid enum value. Expected 'okta-saml' | 'azure-saml' | 'jumpcloud-saml' | 'google-saml' | 'keycloak-saml' | 'auth0-saml', received 'saml'",
        })]
    );
    let got = send(&e, "POST", PATH, &t, Some(json!({"organizationId": e.org}))).await;
    let found = issues(&got);
    let named: Vec<&str> = found
        .iter()
        .map(|i| i["path"][0].as_str().unwrap())
        .collect();
    assert_eq!(
        named,
        ["authProvider", "isActive", "entryPoint", "issuer", "cert"]
    );
    assert!(found.iter().all(|i| i["message"] == "Required"));
    // No length, URL or certificate check: empty strings are a valid config.
    let mut body = create_body(&e.org);
    body["entryPoint"] = json!("");
    body["cert"] = json!("not a certificate");
    let (s, v) = send(&e, "POST", PATH, &t, Some(body)).await;
    assert_eq!(s, 200, "{v}");
}

#[tokio::test]
async fn patch_validates_like_zod_partial_with_organization_id_last() {
    let e = env().await;
    let t = e.token().await;
    let got = send(&e, "PATCH", PATH, &t, Some(json!({"isActive": null}))).await;
    let found = issues(&got);
    assert_eq!(found.len(), 2, "{found:?}");
    assert_eq!(found[0]["path"], json!(["isActive"]));
    assert_eq!(found[0]["message"], "Expected boolean, received null");
    assert_eq!(found[1]["path"], json!(["organizationId"]));
    assert_eq!(found[1]["message"], "Required");
}

#[tokio::test]
async fn second_create_is_the_unique_index_500() {
    let e = env().await;
    let t = e.token().await;
    assert_eq!(
        send(&e, "POST", PATH, &t, Some(create_body(&e.org)))
            .await
            .0,
        200
    );
    let got = send(&e, "POST", PATH, &t, Some(create_body(&e.org))).await;
    assert_err(&got, 500, "Create", "Something went wrong");
}

#[tokio::test]
async fn google_enforcement_refuses_activation_with_create_and_update_wording() {
    let e = env().await;
    let t = e.token().await;
    e.c.set_org_flags(
        &e.org,
        OrgFlags {
            google_sso_enforced: Some(true),
            ..Default::default()
        },
    );
    let got = send(&e, "POST", PATH, &t, Some(create_body(&e.org))).await;
    assert_err(&got, 400, "BadRequest", GOOGLE_CREATE);
    let mut inactive = create_body(&e.org);
    inactive["isActive"] = json!(false);
    assert_eq!(send(&e, "POST", PATH, &t, Some(inactive)).await.0, 200);
    let got = send(
        &e,
        "PATCH",
        PATH,
        &t,
        Some(json!({"organizationId": e.org, "isActive": true})),
    )
    .await;
    assert_err(&got, 400, "BadRequest", GOOGLE_UPDATE);
    let (s, v) = send(
        &e,
        "PATCH",
        PATH,
        &t,
        Some(json!({"organizationId": e.org, "issuer": "x"})),
    )
    .await;
    assert_eq!(s, 200, "{v}");
}

#[tokio::test]
async fn group_sync_needs_google_saml_and_the_groups_plan() {
    let e = env().await;
    let t = e.token().await;
    let mut body = create_body(&e.org);
    body["enableGroupSync"] = json!(true);
    let got = send(&e, "POST", PATH, &t, Some(body.clone())).await;
    assert_err(&got, 400, "BadRequest", GROUP_SYNC_PROVIDER);
    body["authProvider"] = json!("google-saml");
    e.c.set_org_flags(
        &e.org,
        OrgFlags {
            plan_groups: Some(false),
            ..Default::default()
        },
    );
    let got = send(&e, "POST", PATH, &t, Some(body.clone())).await;
    assert_err(&got, 400, "BadRequest", GROUP_SYNC_PLAN);
    body["enableGroupSync"] = json!(false);
    assert_eq!(send(&e, "POST", PATH, &t, Some(body)).await.0, 200);
    // Update checks the provider only when the body names one.
    let got = send(
        &e,
        "PATCH",
        PATH,
        &t,
        Some(
            json!({"organizationId": e.org, "authProvider": "okta-saml", "enableGroupSync": true}),
        ),
    )
    .await;
    assert_err(&got, 400, "BadRequest", GROUP_SYNC_PROVIDER);
    let got = send(
        &e,
        "PATCH",
        PATH,
        &t,
        Some(json!({"organizationId": e.org, "enableGroupSync": true})),
    )
    .await;
    assert_err(&got, 400, "BadRequest", GROUP_SYNC_PLAN);
    e.c.set_org_flags(
        &e.org,
        OrgFlags {
            plan_groups: Some(true),
            ..Default::default()
        },
    );
    e.c.put_saml_config_out_of_band(&e.org, json!({"authProvider": "okta-saml"}));
    let (s, v) = send(
        &e,
        "PATCH",
        PATH,
        &t,
        Some(json!({"organizationId": e.org, "enableGroupSync": true})),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert!(
        v.get("enableGroupSync").is_none(),
        "not in the sanitized answer: {v}"
    );
    let cfg = e.c.sso_state(&e.org).unwrap().saml.unwrap();
    assert_eq!(
        (cfg.auth_provider.as_str(), cfg.enable_group_sync),
        ("okta-saml", true)
    );
}

#[tokio::test]
async fn patch_resets_enforcement_scim_and_last_used_config_or_not() {
    let e = env().await;
    let t = e.token().await;
    let enforce = || {
        e.c.set_org_flags(
            &e.org,
            OrgFlags {
                auth_enforced: Some(true),
                scim_enabled: Some(true),
                ..Default::default()
            },
        )
    };
    // No config yet: 200 with an empty body, and the flags are reset all the same.
    enforce();
    let (s, v) = send(
        &e,
        "PATCH",
        PATH,
        &t,
        Some(json!({"organizationId": e.org, "isActive": false})),
    )
    .await;
    assert_eq!((s, v), (200, Value::Null));
    let state = e.c.sso_state(&e.org).unwrap();
    assert!(!state.auth_enforced && !state.scim_enabled && state.saml.is_none());

    let (_, created) = send(&e, "POST", PATH, &t, Some(create_body(&e.org))).await;
    assert!(e.c.mark_saml_used(&e.org));
    enforce();
    let state = e.c.sso_state(&e.org).unwrap();
    assert!(state.auth_enforced && state.scim_enabled && state.saml.unwrap().last_used.is_some());
    let (s, v) = send(
        &e,
        "PATCH",
        PATH,
        &t,
        Some(json!({"organizationId": format!(" {} ", e.org), "entryPoint": "", "cert": " new "})),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(
        keys(&v),
        [
            "authProvider",
            "createdAt",
            "id",
            "isActive",
            "lastUsed",
            "orgId",
            "updatedAt"
        ]
    );
    assert_eq!(
        (&v["id"], &v["lastUsed"], &v["createdAt"]),
        (&created["id"], &Value::Null, &created["createdAt"])
    );
    let state = e.c.sso_state(&e.org).unwrap();
    assert!(!state.auth_enforced && !state.scim_enabled);
    let cfg = state.saml.unwrap();
    assert_eq!(
        (cfg.entry_point.as_str(), cfg.cert.as_str(), cfg.last_used),
        ("", "new", None)
    );
    assert_eq!(
        cfg.issuer, "http://www.okta.com/exk1",
        "fields not given are kept"
    );
}

#[tokio::test]
async fn patch_checks_permission_then_plan() {
    let e = env().await;
    let t = e.token().await;
    e.c.set_org_flags(
        &e.org,
        OrgFlags {
            plan_saml_sso: Some(false),
            auth_enforced: Some(true),
            ..Default::default()
        },
    );
    e.c.set_identity_permissions(&e.creds.identity_id, vec!["read".into(), "create".into()]);
    let body = json!({"organizationId": e.org, "isActive": false});
    let got = send(&e, "PATCH", PATH, &t, Some(body.clone())).await;
    assert_err(
        &got,
        403,
        "PermissionDenied",
        "You are not allowed to edit on sso",
    );
    e.c.set_identity_permissions(&e.creds.identity_id, vec!["edit".into()]);
    let got = send(&e, "PATCH", PATH, &t, Some(body)).await;
    assert_err(
        &got,
        400,
        "BadRequest",
        "Failed to update SAML SSO configuration due to plan restriction. Upgrade plan to update SSO configuration.",
    );
    assert!(
        e.c.sso_state(&e.org).unwrap().auth_enforced,
        "a refused PATCH resets nothing"
    );
}

#[tokio::test]
async fn the_request_log_and_the_control_surface_cover_saml() {
    let e = env().await;
    let t = e.token().await;
    let ctl = |method: reqwest::Method, path: String, body: Option<Value>| {
        let mut r = e.http.request(method, e.url(&path));
        if let Some(b) = body {
            r = r.json(&b);
        }
        async move { body_of(r.send().await.unwrap()).await }
    };
    let (s, v) = ctl(
        reqwest::Method::PATCH,
        format!("/__emulator/orgs/{}", e.org),
        Some(json!({"planSamlSso": false, "planGroups": false, "scimEnabled": true})),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    let (_, v) = ctl(
        reqwest::Method::GET,
        format!("/__emulator/orgs/{}/sso", e.org),
        None,
    )
    .await;
    assert_eq!(
        (&v["planSamlSso"], &v["planGroups"], &v["planLdap"]),
        (&json!(false), &json!(false), &json!(true))
    );
    assert_eq!(v["scimEnabled"], true);
    let got = send(&e, "POST", PATH, &t, Some(create_body(&e.org))).await;
    assert_eq!(got.0, 400);
    let (s, v) = ctl(
        reqwest::Method::PUT,
        format!("/__emulator/orgs/{}/saml-config", e.org),
        Some(json!({"issuer": "oob", "isActive": true})),
    )
    .await;
    assert_eq!(
        (s, &v["saml"]["issuer"], &v["samlCalls"]["posts"]),
        (200, &json!("oob"), &json!(1))
    );
    let (_, v) = ctl(
        reqwest::Method::POST,
        format!("/__emulator/orgs/{}/saml-login", e.org),
        None,
    )
    .await;
    assert_eq!(v["ok"], true);
    let (_, v) = ctl(
        reqwest::Method::DELETE,
        format!("/__emulator/orgs/{}/saml-config", e.org),
        None,
    )
    .await;
    assert_eq!(v["removed"], true);

    let logged = e.c.requests_matching("POST", PATH);
    assert_eq!(logged.len(), 1);
    assert_eq!(logged[0].status, 400);
    assert_eq!(logged[0].org_id.as_deref(), Some(e.org.as_str()));
    assert_eq!(
        logged[0].identity_id.as_deref(),
        Some(e.creds.identity_id.as_str())
    );
    assert_eq!(logged[0].body.as_ref().unwrap()["cert"], CERT);
}

fn uuid_like() -> String {
    "3f2b9c1e-8d4a-4e6b-9f00-5a1c2d3e4f50".into()
}
