//! Unit tests of LDAP's rules (`desired.rs`); `spec_with` serves the kind's other tests too.

use super::*;
use serde_json::json;

/// A spec with only the required fields, and `overrides` merged in (`null` removes a field).
pub fn spec_with(overrides: serde_json::Value) -> LdapSsoConfigSpec {
    let mut spec = json!({
        "organizationId": " 7c1e0000-0000-4000-8000-000000000001 ",
        "authentication": {"token": {"secretRef": {"name": "t", "key": "token"}}},
        "url": "ldaps://ldap.example.org",
        "bindDN": "cn=infisical,ou=services,dc=example,dc=org",
        "bindPassRef": {"name": "ldap", "key": "password"},
        "searchBase": "ou=people,dc=example,dc=org",
    });
    for (key, value) in overrides.as_object().unwrap() {
        if value.is_null() {
            spec.as_object_mut().unwrap().remove(key);
        } else {
            spec[key] = value.clone();
        }
    }
    serde_json::from_value(spec).unwrap()
}

pub fn password(text: &str) -> LdapInputs {
    LdapInputs {
        bind_password: SecretString::new(text),
        ..LdapInputs::default()
    }
}

/// The invalid-spec message for `spec`, which must name `field`.
fn refused(spec: &LdapSsoConfigSpec, inputs: &LdapInputs, field: &str) -> String {
    let error = desired_state(spec, inputs).expect_err("accepted");
    assert_eq!(error.reason(), crate::api::reasons::INVALID_SPEC, "{error}");
    let text = error.to_string();
    assert!(text.contains(field), "{field} not named: {text}");
    text
}

/// A CA certificate and a client certificate with its key (PEM).
fn pem_pair() -> (String, String) {
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = rcgen::CertificateParams::new(vec!["client".to_string()])
        .unwrap()
        .self_signed(&key)
        .unwrap();
    (cert.pem(), key.serialize_pem())
}

#[test]
fn defaults_and_normalisation_follow_infisical() {
    let d = desired_state(&spec_with(json!({})), &password(" s3cret\n")).unwrap();
    assert_eq!(d.organization_id, "7c1e0000-0000-4000-8000-000000000001");
    assert_eq!(d.bind_pass.expose(), "s3cret");
    assert_eq!(d.unique_user_attribute, "uidNumber");
    assert_eq!(d.search_filter, "(uid={{username}})");
    assert_eq!(
        d.group_search_filter,
        "(|(memberUid={{.Username}})(member={{.UserDN}})(uniqueMember={{.UserDN}}))"
    );
    assert_eq!(d.group_search_base, "");
    assert_eq!(d.ca_cert, "");
    assert!(d.is_active && d.client.is_none());
    assert!(
        !format!("{d:?}").contains("s3cret"),
        "the desired state's Debug shows the password"
    );
}

#[test]
fn the_create_body_has_the_routers_fields_and_the_mtls_pair_only_when_set() {
    let d = desired_state(&spec_with(json!({})), &password("x")).unwrap();
    let body = serde_json::to_value(d.create_body()).unwrap();
    let mut keys: Vec<&str> = body
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "bindDN",
            "bindPass",
            "caCert",
            "groupSearchBase",
            "groupSearchFilter",
            "isActive",
            "organizationId",
            "searchBase",
            "searchFilter",
            "uniqueUserAttribute",
            "url"
        ]
    );
    let (cert, key) = pem_pair();
    let inputs = LdapInputs {
        client_certificate: Some(cert.clone()),
        client_key: Some(SecretString::new(key.clone())),
        ..password("x")
    };
    let d = desired_state(&spec_with(json!({})), &inputs).unwrap();
    let body = serde_json::to_value(d.create_body()).unwrap();
    assert_eq!(body["clientCertificate"], cert.trim());
    assert_eq!(body["clientKeyCertificate"], key.trim());
}

#[test]
fn the_url_is_ldaps_or_ldap_on_loopback_and_nothing_else() {
    for good in [
        "ldaps://ldap.example.org",
        "ldaps://ldap.example.org:636/",
        "ldaps://10.0.0.5:3269",
        "ldap://127.0.0.1:389",
        "ldap://localhost",
        "ldap://[::1]:389",
    ] {
        assert_eq!(check_url(good).map_err(|e| e.to_string()), Ok(()), "{good}");
    }
    for (bad, why) in [
        ("ldap://ldap.example.org", "ldaps://"),
        ("ldap://2130706433", "ldaps://"),
        ("ldap://0x7f.0.0.1", "ldaps://"),
        ("https://ldap.example.org", "ldaps://"),
        ("ldap.example.org", "ldaps://"),
        ("LDAPS://ldap.example.org", "ldaps://"),
        ("ldaps://", "no host"),
        ("ldaps://admin:pw@ldap.example.org", "credentials"),
        ("ldaps://ldap.example.org/dc=example,dc=org", "address only"),
        ("ldaps://ldap.example.org?cn", "address only"),
        ("ldaps://ldap\u{200b}.example.org", "printable ASCII"),
        ("ldaps://ldap .example.org", "printable ASCII"),
    ] {
        let text = check_url(bad).unwrap_err().to_string();
        assert!(
            text.contains("spec.url") && text.contains(why),
            "{bad:?}: {text}"
        );
    }
    refused(
        &spec_with(json!({"url": "ldap://dc.corp.example"})),
        &password("x"),
        "spec.url",
    );
}

#[test]
fn dns_are_distinguished_names_without_invisible_characters() {
    for (field, key) in [("spec.bindDN", "bindDN"), ("spec.searchBase", "searchBase")] {
        refused(&spec_with(json!({key: "  "})), &password("x"), field);
        refused(&spec_with(json!({key: "admin"})), &password("x"), field);
        let text = refused(
            &spec_with(json!({key: "cn=admin\u{200b},dc=example,dc=org"})),
            &password("x"),
            field,
        );
        assert!(text.contains("U+200B"), "{text}");
    }
    let text = refused(
        &spec_with(json!({"groupSearchBase": "groups"})),
        &password("x"),
        "spec.groupSearchBase",
    );
    assert!(text.contains("distinguished name"), "{text}");
}

#[test]
fn an_empty_password_is_refused_by_its_reference() {
    let text = refused(&spec_with(json!({})), &password(" \n"), "spec.bindPassRef");
    assert!(text.contains("empty"), "{text}");
}

#[test]
fn filters_must_parse_and_the_user_filter_must_name_the_user() {
    refused(
        &spec_with(json!({"searchFilter": "(uid=alice)"})),
        &password("x"),
        "spec.searchFilter",
    );
    refused(
        &spec_with(json!({"searchFilter": "(uid={{username}}"})),
        &password("x"),
        "spec.searchFilter",
    );
    refused(
        &spec_with(json!({"groupSearchFilter": "(member={{.UserDN}}"})),
        &password("x"),
        "spec.groupSearchFilter",
    );
    let d = desired_state(
        &spec_with(json!({
            "searchFilter": " (&(objectClass=user)(sAMAccountName={{username}})) ",
            "groupSearchFilter": "(member={{.UserDN}})",
        })),
        &password("x"),
    )
    .unwrap();
    assert_eq!(
        d.search_filter,
        "(&(objectClass=user)(sAMAccountName={{username}}))"
    );
}

#[test]
fn the_unique_user_attribute_is_a_name_or_an_oid() {
    for good in [
        "uid",
        "objectGUID",
        "entryUUID",
        "x-custom-id",
        "1.3.6.1.1.16.4",
    ] {
        let d = desired_state(
            &spec_with(json!({"uniqueUserAttribute": good})),
            &password("x"),
        )
        .unwrap();
        assert_eq!(d.unique_user_attribute, good);
    }
    for bad in ["uid number", "1uid", "uid;binary", "1..2"] {
        refused(
            &spec_with(json!({"uniqueUserAttribute": bad})),
            &password("x"),
            "spec.uniqueUserAttribute",
        );
    }
}

#[test]
fn certificates_and_the_key_must_parse_and_the_key_is_never_quoted() {
    let (cert, key) = pem_pair();
    let d = desired_state(
        &spec_with(json!({"caCertificate": format!("\n{cert}\n")})),
        &password("x"),
    )
    .unwrap();
    assert_eq!(d.ca_cert, cert.trim());
    refused(
        &spec_with(json!({"caCertificate": "not a certificate"})),
        &password("x"),
        "spec.caCertificate",
    );
    let referenced = LdapInputs {
        ca_certificate: Some("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----".into()),
        ..password("x")
    };
    refused(&spec_with(json!({})), &referenced, "spec.caCertificateRef");

    let half = LdapInputs {
        client_certificate: Some(cert.clone()),
        ..password("x")
    };
    refused(&spec_with(json!({})), &half, "spec.clientKeyRef");
    let canary = "CANARY-not-a-key";
    let bad_key = LdapInputs {
        client_certificate: Some(cert.clone()),
        client_key: Some(SecretString::new(canary)),
        ..password("x")
    };
    let text = refused(&spec_with(json!({})), &bad_key, "spec.clientKeyRef");
    assert!(!text.contains(canary), "{text}");
    let bad_cert = LdapInputs {
        client_certificate: Some(key.clone()),
        client_key: Some(SecretString::new(key.clone())),
        ..password("x")
    };
    let text = refused(
        &spec_with(json!({})),
        &bad_cert,
        "spec.clientCertificateRef",
    );
    assert!(!text.contains("PRIVATE KEY"), "{text}");
}

#[test]
fn organization_id_must_be_a_uuid() {
    refused(
        &spec_with(json!({"organizationId": "acme"})),
        &password("x"),
        "spec.organizationId",
    );
}
