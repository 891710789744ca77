//! The generated CRD: checked-in copies are current, and every validation rule accepts what it
//! should and rejects what it should, twice: client-side with kube's CEL evaluator (what the
//! operator can check itself) and on the real API server, which also estimates each rule's cost
//! and enforces the schema's bounds (what a user's cluster does).

mod support;

use infisical_oidc_operator::api::{CRD_PATHS, OidcSsoConfig, crd_yaml};
use kube::api::{Api, DynamicObject, Patch, PatchParams, PostParams};
use kube::core::ApiResource;
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

fn client_side_rejection(spec: &Value) -> Option<String> {
    resource(spec.clone())
        .validate_cel()
        .err()
        .map(|errors| format!("{errors:?}"))
}

/// One spec the CRD must refuse, and the words the refusal must carry.
struct Violation {
    what: &'static str,
    spec: Value,
    /// A substring of the API server's error (and, for CEL rules, of the client-side error).
    message: String,
    /// The field the API server names, as it prints it.
    field: &'static str,
    /// false for schema bounds (maxLength, maxItems, pattern), which are not CEL rules.
    cel: bool,
}

fn violation(what: &'static str, spec: Value, field: &'static str, message: &str) -> Violation {
    Violation {
        what,
        spec,
        message: message.to_string(),
        field,
        cel: true,
    }
}

fn bound(what: &'static str, spec: Value, field: &'static str, message: &str) -> Violation {
    Violation {
        cel: false,
        ..violation(what, spec, field, message)
    }
}

const IDP_URL_FIELDS: [&str; 6] = [
    "discoveryURL",
    "issuer",
    "authorizationEndpoint",
    "jwksUri",
    "tokenEndpoint",
    "userinfoEndpoint",
];

fn spec_for(field: &str) -> Value {
    if field == "discoveryURL" {
        valid_spec()
    } else {
        custom_spec()
    }
}

/// Every rule of the CRD, each broken at least once.
fn violations() -> Vec<Violation> {
    let mut all = vec![
        violation(
            "discoveryURL missing",
            with(valid_spec(), json!({"discoveryURL": null})),
            "spec.discoveryURL",
            "discoveryURL is required when configurationType is discoveryURL",
        ),
        violation(
            "discoveryURL blank",
            with(valid_spec(), json!({"discoveryURL": "   "})),
            "spec.discoveryURL",
            "discoveryURL is required when configurationType is discoveryURL",
        ),
        violation(
            "both authentication methods",
            with(
                valid_spec(),
                json!({"authentication": {"universalAuth": {"credentialsRef": {"name": "a"}}, "token": {"secretRef": {"name": "t", "key": "k"}}}}),
            ),
            "spec.authentication",
            "set exactly one authentication method",
        ),
        violation(
            "universal and Kubernetes auth together",
            with(
                valid_spec(),
                json!({"authentication": {"universalAuth": {"credentialsRef": {"name": "a"}},
                    "kubernetesAuth": {"identityId": "i", "serviceAccountRef": {"name": "sa"}}}}),
            ),
            "spec.authentication",
            "set exactly one authentication method",
        ),
        bound(
            "Kubernetes auth with 11 audiences",
            with(
                valid_spec(),
                json!({"authentication": {"kubernetesAuth": {"identityId": "i", "serviceAccountRef": {"name": "sa"},
                    "audiences": (0..11).map(|i| format!("aud-{i}")).collect::<Vec<_>>()}}}),
            ),
            "spec.authentication.kubernetesAuth.audiences",
            "must have at most 10 items",
        ),
        violation(
            "no authentication method",
            with(valid_spec(), json!({"authentication": {}})),
            "spec.authentication",
            "set exactly one authentication method",
        ),
        violation(
            "hostAPI over plain http to a public host",
            with(
                valid_spec(),
                json!({"hostAPI": "http://infisical.example.com"}),
            ),
            "spec.hostAPI",
            "hostAPI must use https",
        ),
        violation(
            "resyncInterval below 30s",
            with(valid_spec(), json!({"resyncInterval": "10s"})),
            "spec.resyncInterval",
            "resyncInterval must be between 30s and 24h",
        ),
        violation(
            "resyncInterval above 24h",
            with(valid_spec(), json!({"resyncInterval": "25h"})),
            "spec.resyncInterval",
            "resyncInterval must be between 30s and 24h",
        ),
        // The values that once panicked the operator: refused at admission now.
        bound(
            "resyncInterval too large for a duration",
            with(
                valid_spec(),
                json!({"resyncInterval": "99999999999999999999h"}),
            ),
            "spec.resyncInterval",
            "resyncInterval must be between 30s and 24h",
        ),
        bound(
            "resyncInterval of 3000000000000000h",
            with(valid_spec(), json!({"resyncInterval": "3000000000000000h"})),
            "spec.resyncInterval",
            "resyncInterval must be between 30s and 24h",
        ),
        bound(
            "resyncInterval summing past any duration",
            with(
                valid_spec(),
                json!({"resyncInterval": "10000000000000000000s10000000000000000000s"}),
            ),
            "spec.resyncInterval",
            "may not be more than 32 bytes",
        ),
        bound(
            "resyncInterval that is not a duration",
            with(valid_spec(), json!({"resyncInterval": "10 minutes"})),
            "spec.resyncInterval",
            "should match",
        ),
        bound(
            "organizationId that is not a UUID",
            with(valid_spec(), json!({"organizationId": "acme"})),
            "spec.organizationId",
            "should match",
        ),
        bound(
            "101 email domains",
            with(
                valid_spec(),
                json!({"allowedEmailDomains": (0..101).map(|i| format!("d{i}.example.com")).collect::<Vec<_>>()}),
            ),
            "spec.allowedEmailDomains",
            "must have at most 100 items",
        ),
        bound(
            "an email domain of 10 kB",
            with(
                valid_spec(),
                json!({"allowedEmailDomains": ["a".repeat(10_000) + ".com"]}),
            ),
            "spec.allowedEmailDomains[0]",
            "may not be more than 255 bytes",
        ),
        bound(
            "a discoveryURL longer than 2048",
            with(
                valid_spec(),
                json!({"discoveryURL": format!("https://idp.example.com/{}", "a".repeat(2048))}),
            ),
            "spec.discoveryURL",
            "may not be more than 2048 bytes",
        ),
    ];
    for field in [
        "issuer",
        "authorizationEndpoint",
        "jwksUri",
        "tokenEndpoint",
        "userinfoEndpoint",
    ] {
        all.push(Violation {
            message: format!("{field} is required when configurationType is custom"),
            ..violation(
                "a custom endpoint missing",
                with(custom_spec(), json!({field: null})),
                "",
                "",
            )
        });
    }
    for field in IDP_URL_FIELDS {
        for (what, url) in [
            ("plain http to a public host", "http://idp.example.com/x"),
            ("not http at all", "ftp://idp.example.com/x"),
            ("no scheme", "idp.example.com/x"),
            ("embedded credentials", "https://user:pw@idp.example.com/x"),
            ("whitespace inside", "https://idp.example.com/a b"),
            (
                "an invisible character",
                "https://idp\u{200b}.example.com/x",
            ),
            ("loopback spelt as a number", "http://2130706433/x"),
        ] {
            all.push(Violation {
                message: format!("{field} must be an https URL"),
                ..violation(what, with(spec_for(field), json!({field: url})), "", "")
            });
        }
    }
    for (what, domain) in [
        ("two domains in one entry", "a.com,b.com"),
        ("a blank entry", " "),
        ("an email address instead of a domain", "@example.com"),
        ("a zero-width space", "example\u{200b}.com"),
        ("a space inside", "example .com"),
        ("a wildcard in the middle", "a.*.example.com"),
        ("a trailing dot", "example.com."),
        ("a leading hyphen", "-example.com"),
    ] {
        all.push(violation(
            what,
            with(
                valid_spec(),
                json!({"allowedEmailDomains": ["example.org", domain]}),
            ),
            "spec.allowedEmailDomains[1]",
            "must be one domain name such as example.com",
        ));
    }
    all
}

/// Specs that every rule must let through.
fn acceptable() -> Vec<(&'static str, Value)> {
    let mut all = vec![
        ("discoveryURL", valid_spec()),
        ("custom", custom_spec()),
        (
            "token auth",
            with(
                valid_spec(),
                json!({"authentication": {"token": {"secretRef": {"name": "t", "key": "accessToken"}}}}),
            ),
        ),
        (
            "Kubernetes auth",
            with(
                valid_spec(),
                json!({"authentication": {"kubernetesAuth": {"identityId": "2e9d1c3a-0000-4000-8000-000000000001",
                    "serviceAccountRef": {"name": "infisical-sso"}, "audiences": ["infisical"]}}}),
            ),
        ),
        (
            "wildcard and internationalised domains",
            with(
                valid_spec(),
                json!({"allowedEmailDomains": ["*.example.com", "xn--mnchen-3ya.de", "münchen.de", "a-b.example"]}),
            ),
        ),
        (
            "resync bounds",
            with(valid_spec(), json!({"resyncInterval": "30s"})),
        ),
        (
            "resync 24h",
            with(valid_spec(), json!({"resyncInterval": "24h"})),
        ),
        (
            "resync compound",
            with(valid_spec(), json!({"resyncInterval": "1h30m"})),
        ),
        (
            "loopback IdP over http",
            with(
                valid_spec(),
                json!({"discoveryURL": "http://127.0.0.1:5556/.well-known/openid-configuration"}),
            ),
        ),
    ];
    for host in [
        "http://127.0.0.1:8080",
        "http://localhost:8080",
        "https://eu.infisical.com",
    ] {
        all.push(("hostAPI", with(valid_spec(), json!({"hostAPI": host}))));
    }
    all
}

#[test]
fn acceptable_specs_pass_every_cel_rule_client_side() {
    for (what, spec) in acceptable() {
        assert_eq!(client_side_rejection(&spec), None, "{what}");
    }
}

#[test]
fn every_cel_violation_is_refused_client_side_with_its_message() {
    let violations = violations();
    assert!(violations.len() > 40, "the table covers every rule");
    for v in violations.iter().filter(|v| v.cel) {
        let message = client_side_rejection(&v.spec)
            .unwrap_or_else(|| panic!("{}: accepted client-side", v.what));
        assert!(message.contains(&v.message), "{}: {message}", v.what);
    }
}

#[test]
fn organization_id_is_immutable_client_side() {
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

fn dynamic_api(client: kube::Client, namespace: &str) -> Api<DynamicObject> {
    Api::namespaced_with(client, namespace, &ApiResource::erase::<OidcSsoConfig>(&()))
}

fn object(name: &str, spec: Value) -> DynamicObject {
    serde_json::from_value(json!({
        "apiVersion": "oidc.infisical-operator.io/v1alpha1",
        "kind": "OidcSsoConfig",
        "metadata": {"name": name},
        "spec": spec,
    }))
    .unwrap()
}

/// A dry-run create: the API server runs every admission check and stores nothing.
async fn server_verdict(api: &Api<DynamicObject>, spec: Value) -> Result<(), String> {
    let dry_run = PostParams {
        dry_run: true,
        ..PostParams::default()
    };
    match api.create(&dry_run, &object("probe", spec)).await {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(status)) => Err(format!("{} {}", status.code, status.message)),
        Err(other) => panic!("unexpected error: {other}"),
    }
}

#[tokio::test]
async fn the_api_server_refuses_every_violation_naming_the_field_and_the_rule() {
    let client = support::kube_client().await;
    let api = dynamic_api(client, "default");
    for (what, spec) in acceptable() {
        server_verdict(&api, spec)
            .await
            .unwrap_or_else(|e| panic!("{what}: refused by the API server: {e}"));
    }
    for v in violations() {
        let error = server_verdict(&api, v.spec.clone())
            .await
            .err()
            .unwrap_or_else(|| panic!("{}: accepted by the API server", v.what));
        assert!(error.starts_with("422 "), "{}: {error}", v.what);
        assert!(error.contains(&v.message), "{}: {error}", v.what);
        assert!(error.contains(v.field), "{}: {error}", v.what);
    }
}

#[tokio::test]
async fn the_api_server_keeps_organization_id_immutable() {
    let env = support::TestEnv::new("crd-immutable").await;
    let api = dynamic_api(env.client.clone(), &env.namespace);
    api.create(&PostParams::default(), &object("acme", valid_spec()))
        .await
        .unwrap();
    let moved = json!({
        "apiVersion": "oidc.infisical-operator.io/v1alpha1",
        "kind": "OidcSsoConfig",
        "metadata": {"name": "acme"},
        "spec": {"organizationId": "7c1e0000-0000-4000-8000-000000000009"},
    });
    let error = api
        .patch("acme", &PatchParams::default(), &Patch::Merge(&moved))
        .await
        .expect_err("a changed organizationId is refused");
    let message = error.to_string();
    assert!(
        message.contains("spec.organizationId") && message.contains("organizationId is immutable"),
        "{message}"
    );
    // Any other field may change.
    let edited = json!({"spec": {"clientId": "changed"}});
    api.patch("acme", &PatchParams::default(), &Patch::Merge(&edited))
        .await
        .unwrap();
    env.cleanup().await;
}

/// `kubectl explain oidcsso.spec` shows every spec field with the first words of its documentation.
#[tokio::test]
async fn kubectl_explain_documents_every_spec_field() {
    assert_explained("oidcsso", &crd_yaml(), 20).await;
}

/// `kubectl explain SHORT.spec` (the API server's published OpenAPI) shows each spec field of the
/// CRD in `yaml` with the first words of its documentation; the kind has at least `at_least`.
async fn assert_explained(short: &str, yaml: &str, at_least: usize) {
    support::kube_client().await;
    let crd: Value = serde_yaml::from_str(yaml).unwrap();
    let spec = &crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"];
    // The API server publishes a new CRD's OpenAPI a moment after it is Established.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let text = loop {
        let explained = std::process::Command::new("kubectl")
            .args(["explain", &format!("{short}.spec")])
            .output()
            .expect("kubectl runs");
        if explained.status.success() {
            break String::from_utf8(explained.stdout).unwrap();
        }
        assert!(
            std::time::Instant::now() < deadline,
            "kubectl explain {short}.spec never succeeded: {explained:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    };
    let flattened = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let properties = spec["properties"].as_object().unwrap();
    assert!(properties.len() >= at_least, "{properties:?}");
    for (name, property) in properties {
        assert!(
            text.lines()
                .any(|l| l.trim_start().starts_with(&format!("{name}\t"))),
            "{short}.spec.{name} missing from kubectl explain:\n{text}"
        );
        let first_words: String = property["description"]
            .as_str()
            .unwrap()
            .split_whitespace()
            .take(4)
            .collect::<Vec<_>>()
            .join(" ");
        assert!(
            flattened.contains(&first_words),
            "{short}.spec.{name}: {first_words:?} not in kubectl explain"
        );
    }
}

// SamlSsoConfig: the second kind's CRD, generated and checked the same way.

#[test]
fn checked_in_saml_crds_are_current() {
    let expected = infisical_oidc_operator::api::saml_crd_yaml();
    for relative in infisical_oidc_operator::api::SAML_CRD_PATHS {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(relative);
        let actual = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            actual == expected,
            "{relative} is stale: run `cargo run --bin crdgen` and commit the result"
        );
    }
}

const SAML_CERT: &str = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----";

fn saml_spec() -> Value {
    json!({
        "organizationId": "7c1e0000-0000-4000-8000-000000000000",
        "authentication": {"universalAuth": {"credentialsRef": {"name": "infisical-identity"}}},
        "authProvider": "okta-saml",
        "entryPoint": "https://idp.example.com/sso/saml",
        "issuer": "https://idp.example.com/metadata",
        "cert": SAML_CERT,
    })
}

/// Specs the SamlSsoConfig CRD must refuse: what, spec, the words of the refusal, the field.
fn saml_violations() -> Vec<(&'static str, Value, &'static str, &'static str)> {
    vec![
        (
            "cert and certRef",
            with(
                saml_spec(),
                json!({"certRef": {"kind": "Secret", "name": "idp", "key": "cert.pem"}}),
            ),
            "set exactly one of cert and certRef",
            "spec.cert",
        ),
        (
            "neither cert nor certRef",
            with(saml_spec(), json!({"cert": null})),
            "set exactly one of cert and certRef",
            "spec.cert",
        ),
        (
            "group sync for okta",
            with(saml_spec(), json!({"enableGroupSync": true})),
            "enableGroupSync is supported for authProvider google-saml only",
            "spec.enableGroupSync",
        ),
        (
            "a plain-http entry point",
            with(
                saml_spec(),
                json!({"entryPoint": "http://idp.example.com/sso"}),
            ),
            "entryPoint must be an https URL",
            "spec.entryPoint",
        ),
    ]
}

fn saml_resource(spec: Value) -> infisical_oidc_operator::api::SamlSsoConfig {
    serde_json::from_value(json!({
        "apiVersion": "oidc.infisical-operator.io/v1alpha1",
        "kind": "SamlSsoConfig",
        "metadata": {"name": "acme-saml", "namespace": "platform"},
        "spec": spec,
    }))
    .unwrap()
}

#[test]
fn the_saml_crd_carries_its_names_and_columns_and_refuses_what_infisical_cannot_use() {
    let crd: Value = serde_yaml::from_str(&infisical_oidc_operator::api::saml_crd_yaml()).unwrap();
    assert_eq!(
        crd["metadata"]["name"],
        "samlssoconfigs.oidc.infisical-operator.io"
    );
    assert_eq!(crd["spec"]["names"]["shortNames"][0], "samlsso");
    assert_eq!(crd["spec"]["names"]["categories"][0], "infisical");
    let version = &crd["spec"]["versions"][0];
    assert_eq!(version["name"], "v1alpha1");
    let columns: Vec<&str> = version["additionalPrinterColumns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    for column in ["Ready", "Reason", "ID", "Active", "Provider", "Age"] {
        assert!(columns.contains(&column), "{columns:?}");
    }
    let spec = &version["schema"]["openAPIV3Schema"]["properties"]["spec"];
    assert_eq!(
        spec["properties"]["authProvider"]["enum"],
        json!([
            "okta-saml",
            "azure-saml",
            "jumpcloud-saml",
            "google-saml",
            "keycloak-saml",
            "auth0-saml"
        ])
    );
    assert_eq!(spec["properties"]["deletionPolicy"]["default"], "Orphan");
    for (name, property) in spec["properties"].as_object().unwrap() {
        assert!(
            property["description"]
                .as_str()
                .is_some_and(|d| !d.is_empty()),
            "spec.{name} has no description"
        );
    }

    saml_resource(saml_spec()).validate_cel().unwrap();
    let google = with(
        saml_spec(),
        json!({"authProvider": "google-saml", "enableGroupSync": true}),
    );
    saml_resource(google).validate_cel().unwrap();
    for (what, spec, message, _) in saml_violations() {
        let refused = format!("{:?}", saml_resource(spec).validate_cel().expect_err(what));
        assert!(refused.contains(message), "{what}: {refused}");
    }
}

#[tokio::test]
async fn the_api_server_refuses_every_saml_violation_naming_the_field() {
    let client = support::kube_client().await;
    let api: Api<DynamicObject> = Api::namespaced_with(
        client,
        "default",
        &ApiResource::erase::<infisical_oidc_operator::api::SamlSsoConfig>(&()),
    );
    let verdict = |spec: Value| {
        let api = api.clone();
        async move {
            let object: DynamicObject = serde_json::from_value(json!({
                "apiVersion": "oidc.infisical-operator.io/v1alpha1",
                "kind": "SamlSsoConfig",
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
    };
    verdict(saml_spec())
        .await
        .expect("a valid spec is accepted");
    for (what, spec, message, field) in saml_violations() {
        let error = verdict(spec)
            .await
            .err()
            .unwrap_or_else(|| panic!("{what}: accepted by the API server"));
        assert!(error.starts_with("422 "), "{what}: {error}");
        assert!(error.contains(message), "{what}: {error}");
        assert!(error.contains(field), "{what}: {error}");
    }
}

/// `kubectl explain samlsso.spec` shows every SamlSsoConfig spec field with its documentation.
#[tokio::test]
async fn kubectl_explain_documents_every_saml_spec_field() {
    assert_explained(
        "samlsso",
        &infisical_oidc_operator::api::saml_crd_yaml(),
        16,
    )
    .await;
}

/// `kubectl explain ldapsso.spec` shows every LdapSsoConfig spec field with its documentation.
#[tokio::test]
async fn kubectl_explain_documents_every_ldap_spec_field() {
    assert_explained(
        "ldapsso",
        &infisical_oidc_operator::api::ldap_crd_yaml(),
        20,
    )
    .await;
}
