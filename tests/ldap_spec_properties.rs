//! Property test of the LDAP kind's validation (`reconcile::ldap::desired::desired_state`).
//!
//! Each case is a generated `LdapSsoConfig` spec, written as JSON and deserialised with serde as
//! the controller does, plus generated values of the Secrets it references (the bind password,
//! a CA certificate, an mTLS pair). Every generated value is labelled valid or invalid by how it
//! was made, and the verdict is judged against the labels:
//!
//! - nothing panics, whatever the input;
//! - a spec whose values are all valid is accepted, one with an invalid value is rejected;
//! - every rejection is `InvalidSpec`, permanent, names a `spec.` field, and never carries the
//!   bind password or the client key;
//! - every acceptance holds what the preflight and Infisical rely on: an `ldaps://` URL (or
//!   `ldap://` on loopback) without credentials, trimmed text, a user filter naming the user.
//!
//! Set `LDAP_SPEC_PROPERTIES_SEED` (a number) to replay a run; the seed is printed.

use std::panic::{AssertUnwindSafe, catch_unwind};

use infisical_oidc_operator::api::LdapSsoConfigSpec;
use infisical_oidc_operator::error::{Error, ErrorClass};
use infisical_oidc_operator::infisical::SecretString;
use infisical_oidc_operator::reconcile::ldap::desired::{LdapInputs, desired_state};
use proptest::prelude::*;
use proptest::sample::select;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use serde_json::json;

const CASES: u32 = 20_000;
/// In every generated password and key: no message may carry it.
const CANARY: &str = "CANARY-ldap-";

/// A generated value and whether the operator must accept it.
#[derive(Clone, Debug)]
struct Labelled {
    value: String,
    valid: bool,
}

/// Valid values nine times in ten, so that wholly valid specs are common too.
fn labelled(
    valid: &'static [&'static str],
    invalid: &'static [&'static str],
) -> BoxedStrategy<Labelled> {
    prop_oneof![
        9 => select(valid).prop_map(|v| Labelled {
            value: v.to_string(),
            valid: true,
        }),
        1 => select(invalid).prop_map(|v| Labelled {
            value: v.to_string(),
            valid: false,
        }),
    ]
    .boxed()
}

/// Valid text with spaces around it stays valid (Infisical trims); hostile bytes inside do not.
fn padded(base: BoxedStrategy<Labelled>) -> BoxedStrategy<Labelled> {
    (base, select(&["", " ", "\n", "\t "][..]))
        .prop_map(|(l, pad)| Labelled {
            value: format!("{pad}{}{pad}", l.value),
            valid: l.valid,
        })
        .boxed()
}

fn urls() -> BoxedStrategy<Labelled> {
    padded(labelled(
        &[
            "ldaps://ldap.example.org",
            "ldaps://dc1.corp.example:3269",
            "ldaps://10.0.0.5/",
            "ldap://127.0.0.1:389",
            "ldap://localhost",
            "ldaps://[2001:db8::1]:636",
        ],
        &[
            "ldap://ldap.example.org",
            "ldap://2130706433",
            "https://ldap.example.org",
            "ldaps://",
            "ldaps://u:p@ldap.example.org",
            "ldaps://ldap.example.org/dc=x",
            "ldaps://ldap\u{200b}.example.org",
            "ldaps://ldap example.org",
            "LDAPS://HOST",
            "ldaps:ldap.example.org",
            "ldaps://h?x",
            "",
        ],
    ))
}

fn dns() -> BoxedStrategy<Labelled> {
    padded(labelled(
        &[
            "cn=infisical,ou=services,dc=example,dc=org",
            "uid=svc,dc=example,dc=org",
            "CN=Infisical Bind,OU=Service Accounts,DC=corp,DC=example",
            "o=Example",
        ],
        &[
            "",
            "   ",
            "admin",
            "cn=admin\u{200b},dc=example",
            "cn=a\u{0007},dc=b",
            "dc=example\u{feff}",
        ],
    ))
}

fn filters() -> BoxedStrategy<Labelled> {
    padded(labelled(
        &[
            "(uid={{username}})",
            "(&(objectClass=user)(sAMAccountName={{username}}))",
            "(|(mail={{username}})(uid={{username}}))",
        ],
        &[
            "(uid=alice)",
            "(uid={{username}}",
            "uid={{username}})",
            "(&(uid={{username}})",
            "",
        ],
    ))
}

fn group_filters() -> BoxedStrategy<Labelled> {
    padded(labelled(
        &[
            "(member={{.UserDN}})",
            "(|(memberUid={{.Username}})(member={{.UserDN}}))",
            "(objectClass=groupOfNames)",
            // No outer parentheses: ldap3 accepts a bare item, and ldapjs (Infisical) wraps one.
            "member={{.UserDN}}",
        ],
        &["(member={{.UserDN}}", ""],
    ))
}

fn attributes() -> BoxedStrategy<Labelled> {
    padded(labelled(
        &[
            "uidNumber",
            "uid",
            "mail",
            "objectGUID",
            "entryUUID",
            "1.3.6.1.1.16.4",
        ],
        &[
            "uid number",
            "1uid",
            "uid;binary",
            "",
            "1..2",
            "ui\u{200b}d",
        ],
    ))
}

fn passwords() -> BoxedStrategy<Labelled> {
    prop_oneof![
        9 => "[ -~]{0,40}".prop_map(|p| Labelled {
            value: format!(" {CANARY}{p} "),
            valid: true
        }),
        1 => select(&["", " ", "\n\t"][..]).prop_map(|p| Labelled {
            value: p.to_string(),
            valid: false
        }),
    ]
    .boxed()
}

/// A CA given inline or read, or none: (inline, read, valid).
fn cas(ca: String) -> BoxedStrategy<(Option<String>, Option<String>, bool)> {
    let good = ca.clone();
    prop_oneof![
        Just((None, None, true)),
        Just((Some(format!("\n{good}\n")), None, true)),
        Just((None, Some(ca), true)),
        select(
            &[
                "not a certificate",
                "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----"
            ][..]
        )
        .prop_map(|bad| (Some(bad.to_string()), None, false)),
    ]
    .boxed()
}

#[test]
fn every_ldap_spec_is_accepted_or_refused_by_name_without_panic_or_secret() {
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = rcgen::CertificateParams::new(vec!["client".to_string()])
        .unwrap()
        .self_signed(&key)
        .unwrap();
    let (cert_pem, key_pem) = (cert.pem(), key.serialize_pem());
    let seed: u64 = std::env::var("LDAP_SPEC_PROPERTIES_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(rand_seed);
    println!("LDAP_SPEC_PROPERTIES_SEED={seed}");
    let mut seed_bytes = [0u8; 32];
    seed_bytes[..8].copy_from_slice(&seed.to_le_bytes());
    let mut runner = TestRunner::new_with_rng(
        Config {
            cases: CASES,
            failure_persistence: None,
            ..Config::default()
        },
        TestRng::from_seed(RngAlgorithm::ChaCha, &seed_bytes),
    );
    let mtls = prop_oneof![
        Just((None, None, true)),
        Just((Some(cert_pem.clone()), Some(key_pem.clone()), true)),
        Just((Some(cert_pem.clone()), None, false)),
        Just((
            Some(cert_pem.clone()),
            Some(format!("{CANARY}not a key")),
            false
        )),
    ];
    let strategy = (
        (
            urls(),
            dns(),
            dns(),
            filters(),
            group_filters(),
            attributes(),
        ),
        (
            passwords(),
            cas(cert_pem.clone()),
            mtls,
            any::<bool>(),
            any::<bool>(),
        ),
    );
    let (accepted, refused) = (std::cell::Cell::new(0u32), std::cell::Cell::new(0u32));
    runner
        .run(
            &strategy,
            |(
                (url, bind_dn, base, filter, group_filter, attribute),
                (
                    password,
                    (ca_inline, ca_read, ca_ok),
                    (client_cert, client_key, mtls_ok),
                    with_group_base,
                    active,
                ),
            )| {
                let mut spec = json!({
                    "organizationId": "7c1e0000-0000-4000-8000-000000000001",
                    "authentication": {"token": {"secretRef": {"name": "t", "key": "token"}}},
                    "url": url.value,
                    "bindDN": bind_dn.value,
                    "bindPassRef": {"name": "ldap", "key": "password"},
                    "searchBase": base.value,
                    "searchFilter": filter.value,
                    "groupSearchFilter": group_filter.value,
                    "uniqueUserAttribute": attribute.value,
                    "isActive": active,
                });
                if with_group_base {
                    spec["groupSearchBase"] = json!("ou=groups,dc=example,dc=org");
                }
                if let Some(ca) = &ca_inline {
                    spec["caCertificate"] = json!(ca);
                }
                let spec: LdapSsoConfigSpec = serde_json::from_value(spec).unwrap();
                let inputs = LdapInputs {
                    bind_password: SecretString::new(password.value.clone()),
                    ca_certificate: ca_read.clone(),
                    client_certificate: client_cert.clone(),
                    client_key: client_key.clone().map(SecretString::new),
                };
                let all_valid = [
                    &url,
                    &bind_dn,
                    &base,
                    &filter,
                    &group_filter,
                    &attribute,
                    &password,
                ]
                .iter()
                .all(|l| l.valid)
                    && ca_ok
                    && mtls_ok;
                let verdict = catch_unwind(AssertUnwindSafe(|| desired_state(&spec, &inputs)))
                    .map_err(|_| TestCaseError::fail("desired_state panicked"))?;
                match verdict {
                    Ok(d) => {
                        accepted.set(accepted.get() + 1);
                        prop_assert!(all_valid, "accepted an invalid spec: {spec:?}");
                        prop_assert!(
                            d.url.starts_with("ldaps://")
                                || d.url.starts_with("ldap://127.")
                                || d.url.starts_with("ldap://localhost"),
                            "{}",
                            d.url
                        );
                        prop_assert!(!d.url.contains('@'));
                        prop_assert_eq!(d.bind_dn.trim(), d.bind_dn.as_str());
                        prop_assert_eq!(d.bind_pass.expose().trim(), d.bind_pass.expose());
                        prop_assert!(!d.bind_pass.expose().is_empty());
                        prop_assert!(d.search_filter.contains("{{username}}"));
                        let shown = format!("{d:?}");
                        prop_assert!(!shown.contains(CANARY), "{}", shown);
                    }
                    Err(error) => {
                        refused.set(refused.get() + 1);
                        prop_assert!(!all_valid, "refused a valid spec: {error}");
                        prop_assert!(matches!(error, Error::InvalidSpec { .. }), "{error:?}");
                        prop_assert_eq!(error.class(), ErrorClass::Permanent);
                        let text = error.to_string();
                        prop_assert!(text.starts_with("invalid spec: spec."), "{}", text);
                        prop_assert!(
                            !text.contains(CANARY) && !format!("{error:?}").contains(CANARY),
                            "{}",
                            text
                        );
                        prop_assert!(!text.contains("PRIVATE KEY"), "{}", text);
                        prop_assert!(text.len() < 1_000, "{}", text);
                    }
                }
                Ok(())
            },
        )
        .unwrap();
    let (accepted, refused) = (accepted.get(), refused.get());
    println!("accepted {accepted}, refused {refused}");
    assert!(
        accepted > CASES / 50 && refused > CASES / 50,
        "both verdicts must be common: accepted {accepted}, refused {refused}"
    );
}

fn rand_seed() -> u64 {
    use std::time::{SystemTime, UNIX_EPOCH};
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(1)
}
