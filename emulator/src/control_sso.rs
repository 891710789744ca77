//! [`Control`] for the SAML and LDAP configurations: inspect what an organisation holds, change
//! it behind the API's back (drift), and play the logins that touch it.

use serde_json::Value;

use crate::clock::iso8601_now;
use crate::sso_types::{LdapConfigState, SamlConfigState, SsoState};
use crate::state::{Control, Org};

impl Control {
    /// An organisation's SAML and LDAP configurations, their call counters and the flags their
    /// rules read or reset. `None` for an unknown organisation.
    pub fn sso_state(&self, org_id: &str) -> Option<SsoState> {
        self.shared.lock().orgs.get(org_id).map(sso_state)
    }

    /// Create-or-merge SAML config fields (camelCase, as [`SamlConfigState`] serialises) out of
    /// band: no rule, no side effect, no counter. A new config starts from an inactive
    /// `okta-saml` one with empty strings. `false` for an unknown organisation or fields that do
    /// not fit.
    pub fn put_saml_config_out_of_band(&self, org_id: &str, fields: Value) -> bool {
        let mut inner = self.shared.lock();
        let Some(org) = inner.orgs.get_mut(org_id) else {
            return false;
        };
        let current = org.saml.clone().unwrap_or_else(|| blank_saml(org_id));
        match merged(&current, fields) {
            Some(mut cfg) => {
                cfg.org_id = org_id.to_string();
                org.saml = Some(cfg);
                true
            }
            None => false,
        }
    }

    /// Create-or-merge LDAP config fields out of band, as [`Control::put_saml_config_out_of_band`].
    /// A new config starts inactive with Infisical's create defaults.
    pub fn put_ldap_config_out_of_band(&self, org_id: &str, fields: Value) -> bool {
        let mut inner = self.shared.lock();
        let Some(org) = inner.orgs.get_mut(org_id) else {
            return false;
        };
        let current = org.ldap.clone().unwrap_or_else(|| blank_ldap(org_id));
        match merged(&current, fields) {
            Some(mut cfg) => {
                cfg.org_id = org_id.to_string();
                org.ldap = Some(cfg);
                true
            }
            None => false,
        }
    }

    /// Delete the SAML config (Infisical has no API for it; its database can). `true` when one
    /// was there.
    pub fn remove_saml_config(&self, org_id: &str) -> bool {
        self.shared
            .lock()
            .orgs
            .get_mut(org_id)
            .and_then(|o| o.saml.take())
            .is_some()
    }

    /// Delete the LDAP config. `true` when one was there.
    pub fn remove_ldap_config(&self, org_id: &str) -> bool {
        self.shared
            .lock()
            .orgs
            .get_mut(org_id)
            .and_then(|o| o.ldap.take())
            .is_some()
    }

    /// What a SAML login does to the config (`samlLogin`: `lastUsed = new Date()`). `false`
    /// when the organisation has no SAML config.
    pub fn mark_saml_used(&self, org_id: &str) -> bool {
        match self
            .shared
            .lock()
            .orgs
            .get_mut(org_id)
            .and_then(|o| o.saml.as_mut())
        {
            Some(cfg) => {
                cfg.last_used = Some(iso8601_now());
                true
            }
            None => false,
        }
    }
}

fn sso_state(org: &Org) -> SsoState {
    SsoState {
        auth_enforced: org.auth_enforced,
        scim_enabled: org.scim_enabled,
        google_sso_enforced: org.google_sso_enforced,
        plan_saml_sso: org.plan_saml_sso,
        plan_ldap: org.plan_ldap,
        plan_groups: org.plan_groups,
        saml: org.saml.clone(),
        ldap: org.ldap.clone(),
        saml_calls: org.saml_calls,
        ldap_calls: org.ldap_calls,
        ldap_binds: org.ldap_binds,
    }
}

fn merged<T: serde::Serialize + serde::de::DeserializeOwned>(
    current: &T,
    fields: Value,
) -> Option<T> {
    let mut value = serde_json::to_value(current).ok()?;
    let (Value::Object(target), Value::Object(fields)) = (&mut value, fields) else {
        return None;
    };
    target.extend(fields);
    serde_json::from_value(value).ok()
}

fn blank_saml(org_id: &str) -> SamlConfigState {
    let now = iso8601_now();
    SamlConfigState {
        id: uuid::Uuid::new_v4().to_string(),
        org_id: org_id.to_string(),
        auth_provider: "okta-saml".into(),
        is_active: false,
        entry_point: String::new(),
        issuer: String::new(),
        cert: String::new(),
        enable_group_sync: false,
        last_used: None,
        created_at: now.clone(),
        updated_at: now,
    }
}

fn blank_ldap(org_id: &str) -> LdapConfigState {
    let now = iso8601_now();
    LdapConfigState {
        id: uuid::Uuid::new_v4().to_string(),
        org_id: org_id.to_string(),
        is_active: false,
        url: String::new(),
        bind_dn: String::new(),
        bind_pass: String::new(),
        unique_user_attribute: crate::ldap_defaults::UNIQUE_USER_ATTRIBUTE.into(),
        search_base: String::new(),
        search_filter: crate::ldap_defaults::SEARCH_FILTER.into(),
        group_search_base: String::new(),
        group_search_filter: crate::ldap_defaults::GROUP_SEARCH_FILTER.into(),
        ca_cert: String::new(),
        client_certificate: String::new(),
        client_key_certificate: String::new(),
        created_at: now.clone(),
        updated_at: now,
    }
}
