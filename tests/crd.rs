//! The generated CRD: checked-in copies are current, and every CEL rule accepts what it should
//! and rejects what it should. The test kube-apiserver (1.20) does not enforce CEL, so the rules
//! are evaluated here, client-side, with kube's CEL evaluator.

use infisical_oidc_operator::api::{CRD_PATHS, OidcSsoConfig, crd_yaml};
use serde_json::{Value, json};

#[test]
fn checked_in_crds_are_current() {
    let expected = crd_yaml();
    for relative in CRD_PATHS {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(relative);
        let actual = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            actual == expected,
            "{relative} is stale: run `cargo run --bin crdgen` and commit the result"
        );
    }
}

#[test]
fn crd_carries_names_columns_and_schema_defaults() {
    let crd: Value = serde_yaml::from_str(&crd_yaml()).unwrap();
    assert_eq!(
        crd["metadata"]["name"],
        "oidcssoconfigs.oidc.infisical-operator.io"
    );
    assert_eq!(crd["spec"]["names"]["shortNames"][0], "oidcsso");
    let version = &crd["spec"]["versions"][0];
    assert_eq!(version["subresources"]["status"], json!({}));
    let columns: Vec<&str> = version["additionalPrinterColumns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    for column in ["Ready", "Reason", "ID", "Active", "Age"] {
        assert!(columns.contains(&column), "{columns:?}");
    }
    let spec = &version["schema"]["openAPIV3Schema"]["properties"]["spec"];
    assert_eq!(
        spec["properties"]["hostAPI"]["default"],
        "https://us.infisical.com"
    );
    assert_eq!(spec["properties"]["deletionPolicy"]["default"], "Orphan");
    assert_eq!(spec["properties"]["adoptionPolicy"]["default"], "Never");
    assert_eq!(
        spec["properties"]["jwtSignatureAlgorithm"]["default"],
        "RS256"
    );
    assert_eq!(spec["properties"]["isActive"]["default"], true);
    let required: Vec<&str> = spec["required"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    for field in [
        "organizationId",
        "authentication",
        "configurationType",
        "clientId",
        "clientSecretRef",
    ] {
        assert!(required.contains(&field), "{field} required: {required:?}");
    }
    // Every field is documented for `kubectl explain`.
    for (name, property) in spec["properties"].as_object().unwrap() {
        assert!(
            property["description"]
                .as_str()
                .is_some_and(|d| !d.is_empty()),
            "spec.{name} has no description"
        );
    }
}

fn resource(spec: Value) -> OidcSsoConfig {
    serde_json::from_value(json!({
        "apiVersion": "oidc.infisical-operator.io/v1alpha1",
        "kind": "OidcSsoConfig",
        "metadata": {"name": "acme-sso", "namespace": "platform"},
        "spec": spec,
    }))
    .unwrap()
}

fn valid_spec() -> Value {
    json!({
        "organizationId": "7c1e0000-0000-4000-8000-000000000000",
        "hostAPI": "https://us.infisical.com",
        "authentication": {"universalAuth": {"credentialsRef": {"name": "infisical-identity"}}},
        "configurationType": "discoveryURL",
        "discoveryURL": "https://idp.example.com/.well-known/openid-configuration",
        "clientId": "infisical",
        "clientSecretRef": {"name": "idp-client", "key": "clientSecret"},
        "allowedEmailDomains": ["example.com"],
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

fn custom_spec() -> Value {
    with(
        valid_spec(),
        json!({
            "configurationType": "custom", "discoveryURL": null,
            "issuer": "https://idp.example.com",
            "authorizationEndpoint": "https://idp.example.com/authorize",
            "jwksUri": "https://idp.example.com/jwks",
            "tokenEndpoint": "https://idp.example.com/token",
            "userinfoEndpoint": "https://idp.example.com/userinfo",
        }),
    )
}

fn rejection(spec: Value) -> String {
    match resource(spec).validate_cel() {
        Ok(()) => String::new(),
        Err(errors) => format!("{errors:?}"),
    }
}

#[test]
fn valid_resources_pass_every_rule() {
    resource(valid_spec()).validate_cel().unwrap();
    resource(custom_spec()).validate_cel().unwrap();
    resource(with(
        valid_spec(),
        json!({"authentication": {"token": {"secretRef": {"name": "t", "key": "accessToken"}}}}),
    ))
    .validate_cel()
    .unwrap();
    for host in [
        "http://127.0.0.1:8080",
        "http://localhost:8080",
        "https://eu.infisical.com",
    ] {
        resource(with(valid_spec(), json!({"hostAPI": host})))
            .validate_cel()
            .unwrap_or_else(|e| panic!("{host}: {e:?}"));
    }
}

#[test]
fn discovery_url_type_needs_the_url() {
    let message = rejection(with(valid_spec(), json!({"discoveryURL": null})));
    assert!(
        message.contains("discoveryURL is required when configurationType is discoveryURL"),
        "{message}"
    );
    let message = rejection(with(valid_spec(), json!({"discoveryURL": "  "})));
    assert!(message.contains("discoveryURL"), "{message}");
}

#[test]
fn custom_type_needs_each_of_its_five_endpoints() {
    for field in [
        "issuer",
        "authorizationEndpoint",
        "jwksUri",
        "tokenEndpoint",
        "userinfoEndpoint",
    ] {
        let message = rejection(with(custom_spec(), json!({field: null})));
        assert!(
            message.contains(&format!(
                "{field} is required when configurationType is custom"
            )),
            "{field}: {message}"
        );
    }
}

#[test]
fn exactly_one_authentication_method() {
    let both = with(
        valid_spec(),
        json!({"authentication": {"universalAuth": {"credentialsRef": {"name": "a"}}, "token": {"secretRef": {"name": "t", "key": "k"}}}}),
    );
    assert!(rejection(both).contains("set exactly one authentication method"));
    let none = with(valid_spec(), json!({"authentication": {}}));
    assert!(rejection(none).contains("set exactly one authentication method"));
}

#[test]
fn urls_must_use_http_schemes_and_host_api_https() {
    let message = rejection(with(
        valid_spec(),
        json!({"discoveryURL": "ftp://idp.example.com/x"}),
    ));
    assert!(
        message.contains("discoveryURL must be an http(s) URL"),
        "{message}"
    );
    let message = rejection(with(
        custom_spec(),
        json!({"jwksUri": "idp.example.com/jwks"}),
    ));
    assert!(
        message.contains("jwksUri must be an http(s) URL"),
        "{message}"
    );
    let message = rejection(with(
        valid_spec(),
        json!({"hostAPI": "http://infisical.example.com"}),
    ));
    assert!(message.contains("hostAPI must use https"), "{message}");
}

#[test]
fn email_domains_are_one_per_item() {
    let message = rejection(with(
        valid_spec(),
        json!({"allowedEmailDomains": ["a.com,b.com"]}),
    ));
    assert!(message.contains("allowedEmailDomains"), "{message}");
    let message = rejection(with(valid_spec(), json!({"allowedEmailDomains": [" "]})));
    assert!(message.contains("allowedEmailDomains"), "{message}");
}

#[test]
fn organization_id_is_immutable() {
    let old = resource(valid_spec());
    let same = resource(with(valid_spec(), json!({"clientId": "changed"})));
    same.validate_cel_update(&old).unwrap();
    let moved = resource(with(
        valid_spec(),
        json!({"organizationId": "7c1e0000-0000-4000-8000-000000000009"}),
    ));
    let message = format!("{:?}", moved.validate_cel_update(&old).unwrap_err());
    assert!(message.contains("organizationId is immutable"), "{message}");
}
