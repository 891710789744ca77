//! The SAML test IdP (`support::saml_idp`): crewjam/saml's samlidp over HTTPS with the test CA,
//! publishing the entity id, the SSO endpoint (Infisical's entry point) and a signing certificate
//! whose validity the test chose. No Kubernetes.

mod support;

use base64::Engine;
use jiff::{SignedDuration, Timestamp};
use support::saml_idp::{SamlIdp, SigningCertificate, whole_second};
use x509_parser::prelude::{FromDer, X509Certificate};

const MD: &str = "urn:oasis:names:tc:SAML:2.0:metadata";
const DS: &str = "http://www.w3.org/2000/09/xmldsig#";
const HTTP_REDIRECT: &str = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect";

/// What a SAML configuration takes from an IdP's metadata.
#[derive(Debug)]
struct Metadata {
    entity_id: String,
    /// SingleSignOnService locations by binding.
    sso: Vec<(String, String)>,
    /// DER of each `KeyDescriptor use="signing"` certificate.
    signing_certificates: Vec<Vec<u8>>,
}

fn parse_metadata(xml: &str) -> Metadata {
    let doc = roxmltree::Document::parse(xml).expect("the metadata is XML");
    let root = doc.root_element();
    assert!(
        root.has_tag_name((MD, "EntityDescriptor")),
        "root element {:?}",
        root.tag_name()
    );
    let idp = root
        .children()
        .find(|n| n.has_tag_name((MD, "IDPSSODescriptor")))
        .expect("an IDPSSODescriptor");
    let sso = idp
        .children()
        .filter(|n| n.has_tag_name((MD, "SingleSignOnService")))
        .map(|n| {
            (
                n.attribute("Binding").unwrap().to_string(),
                n.attribute("Location").unwrap().to_string(),
            )
        })
        .collect();
    let signing_certificates = idp
        .children()
        .filter(|n| n.has_tag_name((MD, "KeyDescriptor")) && n.attribute("use") == Some("signing"))
        .flat_map(|kd| kd.descendants())
        .filter(|n| n.has_tag_name((DS, "X509Certificate")))
        .map(|n| {
            let b64: String = n.text().unwrap_or_default().split_whitespace().collect();
            base64::engine::general_purpose::STANDARD
                .decode(b64)
                .expect("base64 certificate")
        })
        .collect();
    Metadata {
        entity_id: root.attribute("entityID").expect("entityID").to_string(),
        sso,
        signing_certificates,
    }
}

fn pem_der(pem: &str) -> Vec<u8> {
    let der = rustls_pemfile::certs(&mut pem.as_bytes())
        .next()
        .expect("a PEM certificate")
        .unwrap();
    der.to_vec()
}

/// (notBefore, notAfter) of a DER certificate.
fn validity(der: &[u8]) -> (Timestamp, Timestamp) {
    let (_, cert) = X509Certificate::from_der(der).expect("an X.509 certificate");
    let v = cert.validity();
    (
        Timestamp::from_second(v.not_before.timestamp()).unwrap(),
        Timestamp::from_second(v.not_after.timestamp()).unwrap(),
    )
}

#[tokio::test]
async fn metadata_names_the_entity_id_the_entry_point_and_the_signing_certificate() {
    let idp = SamlIdp::start();
    assert!(
        idp.metadata_url.starts_with("https://127.0.0.1:"),
        "{}",
        idp.metadata_url
    );
    assert!(
        idp.entry_point.starts_with("https://127.0.0.1:"),
        "{}",
        idp.entry_point
    );

    let metadata = parse_metadata(&idp.fetch_metadata().await);
    assert_eq!(metadata.entity_id, idp.entity_id);
    assert!(
        metadata
            .sso
            .contains(&(HTTP_REDIRECT.to_string(), idp.entry_point.clone())),
        "{:?}",
        metadata.sso
    );
    assert_eq!(
        metadata.signing_certificates,
        [pem_der(&idp.certificate_pem)],
        "the metadata's signing certificate is not the one the IdP reported"
    );
    assert!(idp.log().contains("GET /metadata -> 200"), "{}", idp.log());
}

#[tokio::test]
async fn the_signing_certificate_is_valid_until_the_time_asked_for() {
    let now = Timestamp::now();
    let cases = [
        ("expired a day ago", now - SignedDuration::from_hours(24)),
        (
            "expires in 10 days",
            now + SignedDuration::from_hours(24 * 10),
        ),
        (
            "valid for a year",
            now + SignedDuration::from_hours(24 * 365),
        ),
    ];
    for (case, not_after) in cases {
        let signing = SigningCertificate::valid_until(not_after);
        let SigningCertificate::Validity {
            not_before: asked_from,
            ..
        } = signing
        else {
            unreachable!()
        };
        let idp = SamlIdp::start_with(signing);
        let metadata = parse_metadata(&idp.fetch_metadata().await);
        let [der] = &metadata.signing_certificates[..] else {
            panic!(
                "{case}: {} signing certificates",
                metadata.signing_certificates.len()
            )
        };
        assert_eq!(
            validity(der),
            (asked_from, whole_second(not_after)),
            "{case}: (notBefore, notAfter) served"
        );
        assert_eq!(der, &pem_der(&idp.certificate_pem), "{case}");
    }
}

#[tokio::test]
async fn a_signing_certificate_made_by_the_test_is_served_as_given() {
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_RSA_SHA256).unwrap();
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    params.distinguished_name.push(
        rcgen::DnType::CommonName,
        "test-made SAML signing certificate",
    );
    params.not_after = rcgen::date_time_ymd(2031, 5, 6);
    let cert = params.self_signed(&key).unwrap();

    let idp = SamlIdp::start_with(SigningCertificate::Given {
        cert_pem: cert.pem(),
        key_pem: key.serialize_pem(),
    });
    let metadata = parse_metadata(&idp.fetch_metadata().await);
    assert_eq!(metadata.signing_certificates, [cert.der().to_vec()]);
    assert_eq!(pem_der(&idp.certificate_pem), cert.der().to_vec());
    assert_eq!(
        validity(cert.der()).1,
        "2031-05-06T00:00:00Z".parse::<Timestamp>().unwrap()
    );
}

#[tokio::test]
async fn a_client_that_does_not_trust_the_test_ca_cannot_fetch_the_metadata() {
    let idp = SamlIdp::start();
    let other_ca = support::pki().ca_pem;
    let client = reqwest::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(other_ca.as_bytes()).unwrap()])
        .build()
        .unwrap();
    let err = client
        .get(&idp.metadata_url)
        .send()
        .await
        .expect_err("the metadata was fetched over an untrusted certificate");
    assert!(err.is_connect(), "{err:?}");
}

#[test]
fn dropping_the_idp_kills_it_and_removes_its_folder() {
    let idp = SamlIdp::start();
    let pid = idp.pid();
    let folder = idp.path().to_path_buf();
    let proc_entry = std::path::PathBuf::from(format!("/proc/{pid}"));
    assert!(proc_entry.exists(), "saml-idp (pid {pid}) is not running");
    drop(idp);
    assert!(
        !proc_entry.exists(),
        "saml-idp (pid {pid}) outlived its SamlIdp"
    );
    assert!(!folder.exists(), "{} is left behind", folder.display());
}
