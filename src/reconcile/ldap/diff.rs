//! LDAP's diff: the fields whose stored value differs from the desired one, and whether the spec
//! changed since the last sync (which names an update's cause).
//!
//! Infisical never returns the client key, only whether it holds one. A key cannot change
//! without its certificate (the certificate carries the key's public half), so the key is sent
//! with every change of the certificate, and whenever Infisical's "holds a key" differs from the
//! spec's.

use super::desired::Desired;
use crate::api::{DEFAULT_GROUP_SEARCH_FILTER, DEFAULT_SEARCH_FILTER, LdapSsoConfigStatus};
use crate::infisical::SecretString;
use crate::infisical::wire::ldap::{LdapConfig, UpdateLdapConfig};

/// A stored filter as Infisical uses it at login: `""` means its default (`bootLdap` for the
/// user filter, the login strategy for the group filter), so it is not a difference worth a
/// write (each LDAP write binds to the directory).
fn effective<'a>(stored: &'a str, default: &'a str) -> &'a str {
    match stored.trim() {
        "" => default,
        text => text,
    }
}

fn changed(want: &str, have: &str) -> Option<String> {
    (want != have.trim()).then(|| want.to_string())
}

/// The fields whose stored value differs from the desired one (stored strings compared trimmed).
pub fn diff(desired: &Desired, stored: &LdapConfig) -> UpdateLdapConfig {
    let certificate_changed = desired.client_certificate() != stored.client_certificate.trim()
        || desired.client.is_some() != stored.has_client_key_certificate;
    let (client_certificate, client_key_certificate) = if certificate_changed {
        match &desired.client {
            Some(c) => (Some(c.certificate.clone()), Some(c.key.clone())),
            // Both emptied: how Infisical's own UI turns mutual TLS off.
            None => (Some(String::new()), Some(SecretString::default())),
        }
    } else {
        (None, None)
    };
    UpdateLdapConfig {
        organization_id: desired.organization_id.clone(),
        is_active: (desired.is_active != stored.is_active).then_some(desired.is_active),
        url: changed(&desired.url, &stored.url),
        bind_dn: changed(&desired.bind_dn, &stored.bind_dn),
        bind_pass: (desired.bind_pass.expose() != stored.bind_pass.expose().trim())
            .then(|| desired.bind_pass.clone()),
        unique_user_attribute: changed(
            &desired.unique_user_attribute,
            &stored.unique_user_attribute,
        ),
        search_base: changed(&desired.search_base, &stored.search_base),
        search_filter: changed(
            &desired.search_filter,
            effective(&stored.search_filter, DEFAULT_SEARCH_FILTER),
        ),
        group_search_base: changed(&desired.group_search_base, &stored.group_search_base),
        group_search_filter: changed(
            &desired.group_search_filter,
            effective(&stored.group_search_filter, DEFAULT_GROUP_SEARCH_FILTER),
        ),
        ca_cert: changed(&desired.ca_cert, &stored.ca_cert),
        client_certificate,
        client_key_certificate,
    }
}

/// Whether the spec asks for something other than what the last successful pass recorded in
/// status: a spec edit, rather than drift in Infisical. Unknown fields (a status written by an
/// older version) never count as a change. The password, CA and key are not in status: their
/// changes are told by the inputs' fingerprint.
pub fn spec_differs_from_last_sync(desired: &Desired, status: &LdapSsoConfigStatus) -> bool {
    let differs = |recorded: &Option<String>, want: &str| {
        recorded.as_deref().is_some_and(|have| have != want)
    };
    [
        status.is_active.is_some_and(|a| a != desired.is_active),
        differs(&status.url, &desired.url),
        differs(&status.bind_dn, &desired.bind_dn),
        differs(
            &status.unique_user_attribute,
            &desired.unique_user_attribute,
        ),
        differs(&status.search_base, &desired.search_base),
        differs(&status.search_filter, &desired.search_filter),
        differs(&status.group_search_base, &desired.group_search_base),
        differs(&status.group_search_filter, &desired.group_search_filter),
        status
            .client_certificate
            .is_some_and(|held| held != desired.client.is_some()),
    ]
    .into_iter()
    .any(|changed| changed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reconcile::ldap::desired::ClientIdentity;
    use crate::reconcile::ldap::desired::desired_state;
    use crate::reconcile::ldap::desired::tests::{password, spec_with};
    use serde_json::json;

    fn desired() -> Desired {
        desired_state(
            &spec_with(json!({"groupSearchBase": "ou=groups,dc=example,dc=org"})),
            &password("s3cret"),
        )
        .unwrap()
    }

    /// What Infisical's GET answers for `desired()` created through the API (an instance
    /// older than LDAP mTLS: no client certificate fields).
    fn stored() -> LdapConfig {
        serde_json::from_value(json!({
            "id": "cfg-1", "organization": "7c1e0000-0000-4000-8000-000000000001",
            "isActive": true, "url": "ldaps://ldap.example.org",
            "bindDN": "cn=infisical,ou=services,dc=example,dc=org", "bindPass": "s3cret",
            "uniqueUserAttribute": "uidNumber", "searchBase": "ou=people,dc=example,dc=org",
            "searchFilter": "(uid={{username}})", "groupSearchBase": "ou=groups,dc=example,dc=org",
            "groupSearchFilter": "(|(memberUid={{.Username}})(member={{.UserDN}})(uniqueMember={{.UserDN}}))",
            "caCert": ""
        }))
        .unwrap()
    }

    #[test]
    fn what_was_created_is_in_sync_and_empty_filters_mean_the_defaults() {
        assert!(diff(&desired(), &stored()).is_empty());
        let mut s = stored();
        s.search_filter = String::new();
        s.group_search_filter = " ".into();
        s.url = "ldaps://ldap.example.org ".into();
        assert!(
            diff(&desired(), &s).is_empty(),
            "{:?}",
            diff(&desired(), &s)
        );
        // Not so for the unique attribute: Infisical reads "" as "use uid as the username".
        s.unique_user_attribute = String::new();
        assert_eq!(
            diff(&desired(), &s).changed_fields(),
            ["uniqueUserAttribute"]
        );
    }

    #[test]
    fn a_changed_password_is_the_only_field_sent_and_never_shown() {
        let mut s = stored();
        s.bind_pass = SecretString::new("old-password");
        let patch = diff(&desired(), &s);
        assert_eq!(patch.changed_fields(), ["bindPass"]);
        assert_eq!(patch.bind_pass.as_ref().unwrap().expose(), "s3cret");
        assert!(!format!("{patch:?}").contains("s3cret"));
        let body = serde_json::to_value(&patch).unwrap();
        assert_eq!(
            body,
            json!({"organizationId": "7c1e0000-0000-4000-8000-000000000001", "bindPass": "s3cret"})
        );
    }

    #[test]
    fn the_client_key_goes_with_its_certificate() {
        let mut want = desired();
        want.client = Some(ClientIdentity {
            certificate: "CERT".into(),
            key: SecretString::new("KEY"),
        });
        let patch = diff(&want, &stored());
        assert_eq!(
            patch.changed_fields(),
            ["clientCertificate", "clientKeyCertificate"]
        );
        // Infisical holds that certificate and a key: nothing to send (it never shows the key).
        let mut s = stored();
        s.client_certificate = "CERT".into();
        s.has_client_key_certificate = true;
        assert!(diff(&want, &s).is_empty());
        // A key but no certificate, or a new certificate: both are sent.
        s.client_certificate = "OLD".into();
        assert_eq!(
            diff(&want, &s).client_key_certificate.unwrap().expose(),
            "KEY"
        );
        // Mutual TLS removed from the spec: both emptied.
        let patch = diff(&desired(), &s);
        assert_eq!(patch.client_certificate.as_deref(), Some(""));
        assert_eq!(patch.client_key_certificate.unwrap().expose(), "");
    }

    #[test]
    fn every_field_is_compared() {
        let mut s = stored();
        s.is_active = false;
        s.bind_dn = "cn=other".into();
        s.search_base = "ou=staff".into();
        s.search_filter = "(mail={{username}})".into();
        s.group_search_base = String::new();
        s.group_search_filter = "(member={{.UserDN}})".into();
        s.ca_cert = "PEM".into();
        s.url = "ldaps://other".into();
        assert_eq!(
            diff(&desired(), &s).changed_fields(),
            [
                "isActive",
                "url",
                "bindDN",
                "searchBase",
                "searchFilter",
                "groupSearchBase",
                "groupSearchFilter",
                "caCert"
            ]
        );
    }

    #[test]
    fn a_spec_edit_is_told_from_drift_by_what_status_recorded() {
        let d = desired();
        let mut status = LdapSsoConfigStatus {
            is_active: Some(true),
            url: Some(d.url.clone()),
            bind_dn: Some(d.bind_dn.clone()),
            unique_user_attribute: Some(d.unique_user_attribute.clone()),
            search_base: Some(d.search_base.clone()),
            search_filter: Some(d.search_filter.clone()),
            group_search_base: Some(d.group_search_base.clone()),
            group_search_filter: Some(d.group_search_filter.clone()),
            client_certificate: Some(false),
            ..LdapSsoConfigStatus::default()
        };
        status.id = Some("cfg-1".into());
        assert!(!spec_differs_from_last_sync(&d, &status));
        let mut edited = d.clone();
        edited.search_base = "ou=staff,dc=example,dc=org".into();
        assert!(spec_differs_from_last_sync(&edited, &status));
        let old_status = LdapSsoConfigStatus {
            search_base: None,
            ..status
        };
        assert!(!spec_differs_from_last_sync(&edited, &old_status));
    }

    #[test]
    fn the_get_answer_of_an_mtls_era_instance_reads_and_hides_the_password() {
        let answer = json!({
            "id": "cfg-1", "organization": "org", "isActive": true, "url": "ldaps://l",
            "bindDN": "cn=a", "bindPass": "CANARY-pw", "uniqueUserAttribute": "uid",
            "searchBase": "dc=x", "searchFilter": "", "groupSearchBase": "",
            "groupSearchFilter": "", "caCert": "", "clientCertificate": "CERT",
            "hasClientKeyCertificate": true
        });
        let stored: LdapConfig = serde_json::from_value(answer).unwrap();
        assert!(stored.has_client_key_certificate);
        assert_eq!(stored.client_certificate, "CERT");
        assert!(!format!("{stored:?}").contains("CANARY"));
    }
}
