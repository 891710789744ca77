//! The LDAP kind's preflight against a real directory (`support::ldap`: a private slapd over
//! LDAPS with the test CA): the spec goes through the kind's validation into the desired state,
//! then `directory::check` connects, binds and reads the search bases as the operator will
//! before it sends anything to Infisical. No Kubernetes.

mod support;

use infisical_oidc_operator::api::LdapSsoConfigSpec;
use infisical_oidc_operator::error::{Error, ErrorClass};
use infisical_oidc_operator::infisical::SecretString;
use infisical_oidc_operator::reconcile::ldap::desired::{Desired, LdapInputs, desired_state};
use infisical_oidc_operator::reconcile::ldap::directory;
use serde_json::json;
use support::ldap::{self, Directory, DirectoryOptions};

/// The spec of a configuration for `dir`, with `overrides` merged in.
fn spec(dir: &Directory, overrides: serde_json::Value) -> LdapSsoConfigSpec {
    let mut spec = json!({
        "organizationId": "7c1e0000-0000-4000-8000-000000000001",
        "authentication": {"token": {"secretRef": {"name": "t", "key": "token"}}},
        "url": dir.url,
        "bindDN": dir.bind_dn,
        "bindPassRef": {"name": "ldap", "key": "password"},
        "searchBase": ldap::PEOPLE_DN,
        "groupSearchBase": ldap::GROUPS_DN,
        "caCertificate": dir.ca_pem,
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

fn desired(dir: &Directory, overrides: serde_json::Value, password: &str) -> Desired {
    let inputs = LdapInputs {
        bind_password: SecretString::new(password),
        client_certificate: dir.client.as_ref().map(|c| c.cert_pem.clone()),
        client_key: dir.client.as_ref().map(|c| SecretString::new(&c.key_pem)),
        ..LdapInputs::default()
    };
    desired_state(&spec(dir, overrides), &inputs).expect("a valid spec")
}

/// The failed check's reason and class, and its message.
fn failure(result: Result<(), Error>) -> (&'static str, ErrorClass, String) {
    let error = result.expect_err("the preflight passed");
    assert!(
        matches!(error, Error::LdapPreflightFailed { .. }),
        "{error:?}"
    );
    (error.reason(), error.class(), error.to_string())
}

#[tokio::test]
async fn the_right_dn_and_password_bind_and_both_bases_are_read() {
    let dir = Directory::start();
    let d = desired(&dir, json!({}), dir.bind_password());
    directory::check(&d).await.expect("the preflight passes");
    // It bound as the DN and read both bases, one base-scope search each.
    let log = dir.log();
    assert!(
        log.contains(&format!("BIND dn=\"{}\"", dir.bind_dn)),
        "{log}"
    );
    for base in [ldap::PEOPLE_DN, ldap::GROUPS_DN] {
        assert!(
            log.contains(&format!("SRCH base=\"{base}\" scope=0")),
            "{base} not searched:\n{log}"
        );
    }
    // Without a group search base, only the user base is read.
    let d = desired(&dir, json!({"groupSearchBase": ""}), dir.bind_password());
    directory::check(&d).await.expect("the preflight passes");
}

#[tokio::test]
async fn a_wrong_password_is_refused_by_name_and_never_shown() {
    let dir = Directory::start();
    let canary = format!("CANARY-ldap-bind-{}", uuid::Uuid::new_v4().simple());
    let d = desired(&dir, json!({}), &canary);
    let error = directory::check(&d)
        .await
        .expect_err("a wrong password binds");
    assert_eq!(error.reason(), "LdapBindRefused");
    assert_eq!(error.class(), ErrorClass::Permanent);
    let (shown, debug) = (error.to_string(), format!("{error:?}"));
    assert!(
        shown.contains(&dir.bind_dn) && shown.contains("invalid credentials"),
        "{shown}"
    );
    for text in [&shown, &debug, &format!("{d:?}")] {
        assert!(
            !text.contains(&canary),
            "the bind password is shown: {text}"
        );
        assert!(
            !text.contains("CANARY"),
            "part of the bind password is shown: {text}"
        );
    }
    // A DN the directory does not know is refused the same way (slapd does not tell them apart).
    let d = desired(
        &dir,
        json!({"bindDN": "cn=nobody,ou=services,dc=example,dc=org"}),
        dir.bind_password(),
    );
    assert_eq!(failure(directory::check(&d).await).0, "LdapBindRefused");
}

#[tokio::test]
async fn a_missing_search_base_is_named() {
    let dir = Directory::start();
    let d = desired(
        &dir,
        json!({"searchBase": "ou=staff,dc=example,dc=org"}),
        dir.bind_password(),
    );
    let (reason, class, message) = failure(directory::check(&d).await);
    assert_eq!(
        (reason, class),
        ("LdapSearchBaseNotFound", ErrorClass::Permanent)
    );
    assert!(
        message.contains("spec.searchBase") && message.contains("ou=staff,dc=example,dc=org"),
        "{message}"
    );
    let d = desired(
        &dir,
        json!({"groupSearchBase": "ou=teams,dc=example,dc=org"}),
        dir.bind_password(),
    );
    let (reason, _, message) = failure(directory::check(&d).await);
    assert_eq!(reason, "LdapSearchBaseNotFound");
    assert!(message.contains("spec.groupSearchBase"), "{message}");
}

#[tokio::test]
async fn a_directory_whose_certificate_the_given_ca_did_not_sign_fails_the_handshake() {
    let dir = Directory::start();
    let other_ca = support::pki().ca_pem;
    let d = desired(
        &dir,
        json!({"caCertificate": other_ca}),
        dir.bind_password(),
    );
    let (reason, class, message) = failure(directory::check(&d).await);
    assert_eq!((reason, class), ("LdapTlsFailed", ErrorClass::Permanent));
    assert!(message.contains("caCertificate"), "{message}");
    // No CA given: the system's roots, which do not hold the test CA either.
    let d = desired(&dir, json!({"caCertificate": null}), dir.bind_password());
    let (reason, _, message) = failure(directory::check(&d).await);
    assert_eq!(reason, "LdapTlsFailed", "{message}");
    // The bind never happened: no password went to a directory the operator could not verify.
    assert!(!dir.log().contains("BIND dn="), "{}", dir.log());
}

#[tokio::test]
async fn a_directory_requiring_client_certificates_accepts_the_configured_one() {
    let dir = Directory::start_with(DirectoryOptions {
        require_client_certificate: true,
    });
    let d = desired(&dir, json!({}), dir.bind_password());
    assert!(d.client.is_some());
    directory::check(&d).await.expect("mutual TLS binds");

    // Without the client certificate the directory refuses the handshake.
    let mut without = d.clone();
    without.client = None;
    let (reason, _, message) = failure(directory::check(&without).await);
    assert_eq!(reason, "LdapTlsFailed", "{message}");
}

#[tokio::test]
async fn a_directory_that_does_not_answer_is_unreachable_and_retried() {
    let mut dir = Directory::start();
    let d = desired(&dir, json!({}), dir.bind_password());
    dir.stop();
    let (reason, class, message) = failure(directory::check(&d).await);
    assert_eq!((reason, class), ("LdapUnreachable", ErrorClass::Transient));
    assert!(message.contains(&dir.url), "{message}");
}

#[tokio::test]
async fn plain_ldap_on_loopback_binds_without_tls() {
    let dir = Directory::start();
    let d = desired(
        &dir,
        json!({"url": dir.plain_url, "caCertificate": null}),
        dir.bind_password(),
    );
    directory::check(&d)
        .await
        .expect("plain LDAP on loopback binds");
}
