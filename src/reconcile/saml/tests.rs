//! The SAML kind's validation, diff and preflight, with certificates made on the spot.

use std::time::Duration;

use super::certificate::{self, CERTIFICATE_EXPIRY_WARNING};
use super::desired::{Desired, desired_state};
use super::diff::{diff, spec_differs_from_last_sync};
use super::{Saml, Written};
use crate::api::{SamlSsoConfigSpec, SamlSsoConfigStatus, reasons};
use crate::error::Error;
use crate::infisical::wire::saml::{SamlConfig, SamlConfigSummary};
use crate::reconcile::kind::SsoKind;

/// A self-signed certificate valid from `from` to `until` (days from today, UTC midnights).
fn certificate(from: i64, until: i64) -> String {
    let day = |offset: i64| {
        let date = k8s_openapi::jiff::Timestamp::now()
            .checked_add(k8s_openapi::jiff::SignedDuration::from_hours(24 * offset))
            .unwrap()
            .to_zoned(k8s_openapi::jiff::tz::TimeZone::UTC)
            .date();
        rcgen::date_time_ymd(i32::from(date.year()), date.month() as u8, date.day() as u8)
    };
    let key = rcgen::KeyPair::generate().unwrap();
    let mut params = rcgen::CertificateParams::new(vec!["idp.example.com".into()]).unwrap();
    params.not_before = day(from);
    params.not_after = day(until);
    params.self_signed(&key).unwrap().pem()
}

fn spec(cert: &str) -> SamlSsoConfigSpec {
    serde_json::from_value(serde_json::json!({
        "organizationId": " 7c1e0000-0000-4000-8000-000000000001 ",
        "authentication": {"universalAuth": {"credentialsRef": {"name": "creds"}}},
        "authProvider": "okta-saml",
        "entryPoint": " https://idp.example.com/sso/saml ",
        "issuer": " https://idp.example.com/metadata ",
        "cert": cert,
    }))
    .unwrap()
}

fn desired(cert: &str) -> Desired {
    desired_state(&spec(cert), None).unwrap()
}

fn stored(d: &Desired) -> SamlConfig {
    SamlConfig {
        id: "cfg".into(),
        org_id: Some(d.organization_id.clone()),
        organization: Some(d.organization_id.clone()),
        auth_provider: d.auth_provider.as_str().into(),
        is_active: d.is_active,
        entry_point: d.entry_point.clone(),
        issuer: d.issuer.clone(),
        cert: d.cert.clone(),
        enable_group_sync: None,
    }
}

fn field_of(error: Error) -> String {
    match error {
        Error::InvalidSpec { field, .. } => field,
        other => panic!("not InvalidSpec: {other}"),
    }
}

#[test]
fn the_spec_is_trimmed_as_infisical_stores_it() {
    let pem = certificate(-1, 365);
    let d = desired(&format!("\n{pem}\n\n"));
    assert_eq!(d.organization_id, "7c1e0000-0000-4000-8000-000000000001");
    assert_eq!(d.entry_point, "https://idp.example.com/sso/saml");
    assert_eq!(d.issuer, "https://idp.example.com/metadata");
    assert_eq!(d.cert, pem.trim());
    assert_eq!(d.cert_field, "spec.cert");
    let body = serde_json::to_value(d.create_body()).unwrap();
    assert_eq!(body["authProvider"], "okta-saml");
    assert_eq!(body["isActive"], true);
    assert_eq!(body["enableGroupSync"], false);
}

#[test]
fn bad_input_is_refused_naming_the_field() {
    let pem = certificate(-1, 365);
    let mut s = spec(&pem);
    s.entry_point = "http://idp.example.com/sso".into();
    assert_eq!(
        field_of(desired_state(&s, None).unwrap_err()),
        "spec.entryPoint"
    );
    let mut s = spec(&pem);
    s.issuer = "  ".into();
    assert_eq!(
        field_of(desired_state(&s, None).unwrap_err()),
        "spec.issuer"
    );
    let mut s = spec(&pem);
    s.issuer = "https://idp.example.com/\u{200b}metadata".into();
    assert_eq!(
        field_of(desired_state(&s, None).unwrap_err()),
        "spec.issuer"
    );
    let mut s = spec(&pem);
    s.enable_group_sync = true;
    assert_eq!(
        field_of(desired_state(&s, None).unwrap_err()),
        "spec.enableGroupSync"
    );
    s.auth_provider = crate::api::SamlProvider::Google;
    assert!(desired_state(&s, None).unwrap().enable_group_sync);
    let mut s = spec(" ");
    assert_eq!(field_of(desired_state(&s, None).unwrap_err()), "spec.cert");
    s.cert = None;
    assert_eq!(field_of(desired_state(&s, None).unwrap_err()), "spec.cert");
    let mut s = spec(&pem);
    s.organization_id = "acme".into();
    assert_eq!(
        field_of(desired_state(&s, None).unwrap_err()),
        "spec.organizationId"
    );
}

#[test]
fn a_referenced_certificate_is_read_from_its_key() {
    let pem = certificate(-1, 365);
    let mut s = spec(&pem);
    s.cert = None;
    s.cert_ref = serde_json::from_value(
        serde_json::json!({"kind": "ConfigMap", "name": "idp", "key": "cert.pem"}),
    )
    .unwrap();
    let refs = Saml::references(&s);
    assert_eq!(refs.len(), 1);
    assert_eq!((refs[0].name, refs[0].key), ("idp", "cert.pem"));
    let mut values = crate::reconcile::kind::Referenced::default();
    values.push(&refs[0], crate::infisical::SecretString::new(pem.clone()));
    let d = Saml::desired(&s, &values).unwrap();
    assert_eq!(
        (d.cert.as_str(), d.cert_field),
        (pem.trim(), "spec.certRef")
    );
}

#[test]
fn the_diff_names_only_what_differs_and_compares_trimmed() {
    let d = desired(&certificate(-1, 365));
    let mut s = stored(&d);
    assert!(Saml::changed_fields(&diff(&d, &s)).is_empty());
    s.entry_point = format!(" {} ", d.entry_point);
    assert!(Saml::changed_fields(&diff(&d, &s)).is_empty());
    s.issuer = "https://other.example.com".into();
    s.cert = certificate(-1, 30);
    s.enable_group_sync = Some(true);
    let patch = diff(&d, &s);
    assert_eq!(
        Saml::changed_fields(&patch),
        ["issuer", "cert", "enableGroupSync"]
    );
    assert_eq!(patch.enable_group_sync, Some(false));
    let body = serde_json::to_value(&patch).unwrap();
    assert_eq!(
        body.as_object().unwrap().keys().collect::<Vec<_>>(),
        ["cert", "enableGroupSync", "issuer", "organizationId"]
    );
}

#[test]
fn an_edit_differs_from_the_last_sync_and_drift_does_not() {
    let d = desired(&certificate(-1, 365));
    let mut status = SamlSsoConfigStatus::default();
    // Nothing recorded: never a change.
    assert!(!spec_differs_from_last_sync(&d, &status));
    let written = Written::holding(
        SamlConfigSummary {
            id: "cfg".into(),
            org_id: d.organization_id.clone(),
            is_active: true,
            auth_provider: "okta-saml".into(),
        },
        &d,
    );
    Saml::mirror(&mut status, &written);
    assert!(!spec_differs_from_last_sync(&d, &status));
    assert!(status.certificate_not_after.is_some());
    let edited = desired(&certificate(-1, 400));
    assert!(spec_differs_from_last_sync(&edited, &status));
    let mut edited = d.clone();
    edited.entry_point = "https://idp.example.com/other".into();
    assert!(spec_differs_from_last_sync(&edited, &status));
}

#[test]
fn the_preflight_refuses_an_unparsable_or_expired_certificate_with_its_reason() {
    let reason = |cert: &str| certificate::check(&desired(cert)).unwrap_err().reason();
    assert_eq!(
        reason("not a certificate"),
        reasons::IDP_CERTIFICATE_INVALID
    );
    let truncated = certificate(-1, 365);
    assert_eq!(
        reason(&truncated[..truncated.len() / 2]),
        reasons::IDP_CERTIFICATE_INVALID
    );
    let key = rcgen::KeyPair::generate().unwrap().serialize_pem();
    assert_eq!(reason(&key), reasons::IDP_CERTIFICATE_INVALID);
    assert_eq!(
        reason(&certificate(-30, -1)),
        reasons::IDP_CERTIFICATE_EXPIRED
    );
    assert_eq!(
        reason(&certificate(2, 30)),
        reasons::IDP_CERTIFICATE_INVALID
    );
    assert!(certificate::check(&desired(&certificate(-1, 365))).is_ok());
    let mut http = desired(&certificate(-1, 365));
    http.entry_point = "http://127.0.0.1:8080/sso".into();
    assert_eq!(
        certificate::check(&http).unwrap_err().reason(),
        reasons::IDP_PREFLIGHT_FAILED
    );
}

#[test]
fn a_certificate_ten_days_from_expiry_warns_and_one_a_year_away_does_not() {
    let soon = Saml::expiring(&desired(&certificate(-1, 10))).expect("a warning");
    assert_eq!(soon.condition, reasons::IDP_CERTIFICATE_EXPIRING);
    assert_eq!(soon.reason, reasons::IDP_CERTIFICATE_EXPIRING);
    assert!(soon.message.contains("expires on"), "{}", soon.message);
    assert!(Saml::expiring(&desired(&certificate(-1, 365))).is_none());
    let expired = Saml::expiring(&desired(&certificate(-30, -1))).expect("a warning");
    assert!(
        expired.message.contains("expired on"),
        "{}",
        expired.message
    );
    assert!(Saml::expiring(&desired("not a certificate")).is_none());
    assert!(CERTIFICATE_EXPIRY_WARNING >= Duration::from_secs(10 * 86_400));
}

#[test]
fn the_preflight_runs_for_a_create_and_an_update_of_what_people_log_in_through() {
    use crate::infisical::wire::saml::UpdateSamlConfig;
    assert!(Saml::preflight_needed(None));
    let only_group_sync = UpdateSamlConfig {
        enable_group_sync: Some(true),
        ..Default::default()
    };
    assert!(!Saml::preflight_needed(Some(&only_group_sync)));
    let cert = UpdateSamlConfig {
        cert: Some("x".into()),
        ..Default::default()
    };
    assert!(Saml::preflight_needed(Some(&cert)));
    let off = Saml::deactivation("org");
    assert!(!Saml::preflight_needed(Some(&off)));
}

mod properties {
    use proptest::prelude::*;

    use super::*;
    use crate::api::reasons::READY_REASONS;

    /// Text a person might paste: printable, whitespace, PEM markers, invisible characters.
    fn text() -> impl Strategy<Value = String> {
        prop_oneof![
            ".{0,80}",
            "[ -~]{0,80}",
            Just("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----".to_string()),
            Just("https://idp.example.com/sso\u{200b}".to_string()),
            Just("http://127.0.0.1:8080/sso".to_string()),
        ]
    }

    proptest! {
        /// Whatever the spec holds, validation and the preflight answer without panicking, and
        /// every refusal carries a named reason (InvalidSpec naming a spec field).
        #[test]
        fn any_saml_spec_is_refused_with_a_named_reason_or_accepted(
            entry in text(), issuer in text(), cert in text(),
            provider in prop::sample::select(vec!["okta-saml", "azure-saml", "jumpcloud-saml",
                "google-saml", "keycloak-saml", "auth0-saml"]),
            group_sync in any::<bool>(),
            organization in prop_oneof![
                3 => Just(" 7c1e0000-0000-4000-8000-000000000001 ".to_string()),
                1 => text(),
            ],
            valid_entry in any::<bool>(), valid_cert in any::<bool>(),
        ) {
            // Half the cases reach the later checks with a usable entry point or certificate.
            let entry = if valid_entry { "https://idp.example.com/sso".to_string() } else { entry };
            let cert = if valid_cert { certificate(-1, 30) } else { cert };
            let spec: SamlSsoConfigSpec = serde_json::from_value(serde_json::json!({
                "organizationId": organization,
                "authentication": {"universalAuth": {"credentialsRef": {"name": "creds"}}},
                "authProvider": provider,
                "entryPoint": entry,
                "issuer": issuer,
                "cert": cert,
                "enableGroupSync": group_sync,
            }))
            .unwrap();
            match desired_state(&spec, None) {
                Ok(d) => {
                    if let Err(e) = certificate::check(&d) {
                        prop_assert!(READY_REASONS.contains(&e.reason()), "{e}");
                    }
                    let _ = Saml::expiring(&d);
                }
                Err(e) => {
                    prop_assert!(READY_REASONS.contains(&e.reason()), "{e}");
                    let named = matches!(&e, Error::InvalidSpec { field, .. } if field.starts_with("spec."));
                    prop_assert!(named, "{e}");
                }
            }
        }
    }
}
