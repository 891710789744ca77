//! The `LdapSsoConfig` CRD's validation rules accept what they should and refuse what they should,
//! client-side with kube's CEL evaluator and on the real API server (which also estimates each
//! rule's cost and enforces the schema's bounds), and its schema carries the names, columns and
//! defaults users see.

mod support;

use infisical_oidc_operator::api::{LDAP_CRD_PATHS, LdapSsoConfig, ldap_crd_yaml};
use kube::CustomResourceExt;
use kube::api::{Api, DynamicObject, PostParams};
use kube::core::ApiResource;
use serde_json::{Value, json};

fn resource(spec: Value) -> LdapSsoConfig {
    serde_json::from_value(json!({
        "apiVersion": "oidc.infisical-operator.io/v1alpha1",
        "kind": "LdapSsoConfig",
        "metadata": {"name": "acme-ldap", "namespace": "platform"},
        "spec": spec,
    }))
    .unwrap()
}

fn valid_spec() -> Value {
    json!({
        "organizationId": "7c1e0000-0000-4000-8000-000000000000",
        "authentication": {"universalAuth": {"credentialsRef": {"name": "infisical-identity"}}},
        "url": "ldaps://ldap.example.org:636",
        "bindDN": "cn=infisical,ou=services,dc=example,dc=org",
        "bindPassRef": {"name": "ldap-bind", "key": "password"},
        "searchBase": "ou=people,dc=example,dc=org",
    })
}

fn with(mut spec: Value, changes: Value) -> Value {
    for (k, v) in changes.as_object().unwrap() {
        if v.is_null() {
            spec.as_object_mut().unwrap().remove(k);
        } else {
            spec[k] = v.clone();
        }
    }
    spec
}

fn rejection(spec: Value) -> Option<String> {
    resource(spec)
        .validate_cel()
        .err()
        .map(|errors| format!("{errors:?}"))
}

#[test]
fn checked_in_crds_are_current() {
    let expected = ldap_crd_yaml();
    for relative in LDAP_CRD_PATHS {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(relative);
        let actual = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            actual == expected,
            "{relative} is stale: run `cargo run --bin crdgen` and commit the result"
        );
    }
}

#[test]
fn the_crd_names_columns_and_defaults() {
    let crd = serde_json::to_value(LdapSsoConfig::crd()).unwrap();
    assert_eq!(
        crd["metadata"]["name"],
        "ldapssoconfigs.oidc.infisical-operator.io"
    );
    let names = &crd["spec"]["names"];
    assert_eq!(names["kind"], "LdapSsoConfig");
    assert_eq!(names["shortNames"], json!(["ldapsso"]));
    assert_eq!(names["categories"], json!(["infisical"]));
    let version = &crd["spec"]["versions"][0];
    let columns: Vec<&str> = version["additionalPrinterColumns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        columns,
        [
            "Ready", "Reason", "ID", "Active", "URL", "Org", "Message", "Age"
        ]
    );
    let spec = &version["schema"]["openAPIV3Schema"]["properties"]["spec"];
    let props = &spec["properties"];
    assert_eq!(props["uniqueUserAttribute"]["default"], "uidNumber");
    assert_eq!(props["searchFilter"]["default"], "(uid={{username}})");
    assert_eq!(props["isActive"]["default"], true);
    let mut required: Vec<&str> = spec["required"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_str().unwrap())
        .collect();
    required.sort_unstable();
    assert_eq!(
        required,
        [
            "authentication",
            "bindDN",
            "bindPassRef",
            "organizationId",
            "searchBase",
            "url"
        ]
    );
    // The password is only ever a reference.
    assert!(props.get("bindPass").is_none());
    assert!(props.get("bindPassword").is_none());
}

/// Specs every rule accepts.
fn acceptable() -> Vec<(&'static str, Value)> {
    let (cert, key_ref) = (
        json!("-----BEGIN CERTIFICATE-----\n...\n-----END CERTIFICATE-----"),
        json!({"name": "ldap-client", "key": "tls.key"}),
    );
    vec![
        ("minimal", valid_spec()),
        (
            "loopback ldap",
            with(valid_spec(), json!({"url": "ldap://127.0.0.1:389"})),
        ),
        (
            "ldaps with slash",
            with(valid_spec(), json!({"url": "ldaps://ldap.example.org/"})),
        ),
        (
            "CA inline",
            with(valid_spec(), json!({"caCertificate": cert})),
        ),
        (
            "CA from a ConfigMap",
            with(
                valid_spec(),
                json!({"caCertificateRef": {"kind": "ConfigMap", "name": "ca", "key": "ca.crt"}}),
            ),
        ),
        (
            "mTLS",
            with(
                valid_spec(),
                json!({"clientCertificateRef": {"name": "ldap-client", "key": "tls.crt"}, "clientKeyRef": key_ref}),
            ),
        ),
        (
            "AD filter",
            with(
                valid_spec(),
                json!({"searchFilter": "(&(objectClass=user)(sAMAccountName={{username}}))", "uniqueUserAttribute": "objectGUID"}),
            ),
        ),
        (
            "OID attribute",
            with(
                valid_spec(),
                json!({"uniqueUserAttribute": "1.3.6.1.1.16.4"}),
            ),
        ),
    ]
}

#[test]
fn acceptable_specs_pass_every_rule() {
    for (what, spec) in acceptable() {
        assert_eq!(rejection(spec), None, "{what}");
    }
}

/// (what, the change to a valid spec, the words of the refusal).
fn violations() -> Vec<(&'static str, Value, &'static str)> {
    vec![
        (
            "ldap off loopback",
            json!({"url": "ldap://ldap.example.org"}),
            "url must be an ldaps:// URL",
        ),
        (
            "https url",
            json!({"url": "https://ldap.example.org"}),
            "url must be an ldaps:// URL",
        ),
        (
            "credentials",
            json!({"url": "ldaps://a:b@ldap.example.org"}),
            "url must be an ldaps:// URL",
        ),
        (
            "a DN in the url",
            json!({"url": "ldaps://ldap.example.org/dc=example"}),
            "url must be an ldaps:// URL",
        ),
        (
            "invisible",
            json!({"url": "ldaps://ldap\u{200b}.example.org"}),
            "url must be an ldaps:// URL",
        ),
        (
            "filter without user",
            json!({"searchFilter": "(uid=alice)"}),
            "searchFilter must contain {{username}}",
        ),
        (
            "attribute with space",
            json!({"uniqueUserAttribute": "uid number"}),
            "uniqueUserAttribute must be an attribute name",
        ),
        (
            "two CA sources",
            json!({"caCertificate": "x", "caCertificateRef": {"kind": "Secret", "name": "a", "key": "b"}}),
            "set at most one of caCertificate and caCertificateRef",
        ),
        (
            "certificate without key",
            json!({"clientCertificateRef": {"name": "c", "key": "tls.crt"}}),
            "clientCertificateRef and clientKeyRef must be set together",
        ),
        (
            "resync too short",
            json!({"resyncInterval": "10s"}),
            "resyncInterval must be between 30s and 24h",
        ),
        (
            "hostAPI http",
            json!({"hostAPI": "http://infisical.example.com"}),
            "hostAPI must use https",
        ),
    ]
}

#[test]
fn every_rule_refuses_with_its_message() {
    for (what, change, message) in violations() {
        let refused =
            rejection(with(valid_spec(), change)).unwrap_or_else(|| panic!("{what}: accepted"));
        assert!(refused.contains(message), "{what}: {refused}");
    }
}

#[test]
fn organization_id_is_immutable() {
    let old = resource(valid_spec());
    resource(with(valid_spec(), json!({"isActive": false})))
        .validate_cel_update(&old)
        .unwrap();
    let moved = resource(with(
        valid_spec(),
        json!({"organizationId": "7c1e0000-0000-4000-8000-000000000009"}),
    ));
    let message = format!("{:?}", moved.validate_cel_update(&old).unwrap_err());
    assert!(message.contains("organizationId is immutable"), "{message}");
}

/// A dry-run create on the real API server: every admission check runs, nothing is stored.
async fn server_verdict(api: &Api<DynamicObject>, spec: Value) -> Result<(), String> {
    let object: DynamicObject = serde_json::from_value(json!({
        "apiVersion": "oidc.infisical-operator.io/v1alpha1",
        "kind": "LdapSsoConfig",
        "metadata": {"name": "probe"},
        "spec": spec,
    }))
    .unwrap();
    let dry_run = PostParams {
        dry_run: true,
        ..PostParams::default()
    };
    match api.create(&dry_run, &object).await {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(status)) => Err(format!("{} {}", status.code, status.message)),
        Err(other) => panic!("unexpected error: {other}"),
    }
}

#[tokio::test]
async fn the_api_server_accepts_and_refuses_as_the_rules_say() {
    let client = support::kube_client().await;
    let api: Api<DynamicObject> =
        Api::namespaced_with(client, "default", &ApiResource::erase::<LdapSsoConfig>(&()));
    for (what, spec) in acceptable() {
        server_verdict(&api, spec)
            .await
            .unwrap_or_else(|e| panic!("{what}: refused by the API server: {e}"));
    }
    for (what, change, message) in violations() {
        let error = server_verdict(&api, with(valid_spec(), change))
            .await
            .err()
            .unwrap_or_else(|| panic!("{what}: accepted by the API server"));
        assert!(error.starts_with("422 "), "{what}: {error}");
        assert!(error.contains(message), "{what}: {error}");
    }
}
