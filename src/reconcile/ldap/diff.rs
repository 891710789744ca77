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
use crate::infisical::ldap_wire::{LdapConfig, UpdateLdapConfig};

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
