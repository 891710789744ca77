//! The calls of Infisical's LDAP configuration API (`ee/routes/v1/ldap-router.ts`): GET, POST and
//! PATCH `/api/v1/ldap/config`, with a user's or a machine identity's token (the group-map and
//! test-connection routes take a user's only).

use reqwest::Method;

use super::wire::ldap::{CreateLdapConfig, LdapConfig, LdapConfigSummary, UpdateLdapConfig};
use super::{Connection, Infisical};
use crate::error::{Error, Result};

const PATH: &str = "/api/v1/ldap/config";

/// Infisical's answer when the organisation has no LDAP configuration: a 404 `NotFound` on GET
/// (`getLdapCfg`) and on PATCH (the update's transaction reads the merged row back), never an
/// empty body.
fn is_missing(error: &Error) -> bool {
    matches!(error, Error::Infisical(api) if api.status == 404 && api.error == "NotFound")
}

impl Infisical {
    /// The organisation's LDAP configuration, or `None` when it has none.
    pub async fn get_ldap_config(
        &self,
        connection: &Connection,
        organization_id: &str,
    ) -> Result<Option<LdapConfig>> {
        self.read_config(connection, "ldap-config-get", PATH, organization_id)
            .await
    }

    pub async fn create_ldap_config(
        &self,
        connection: &Connection,
        body: &CreateLdapConfig,
    ) -> Result<LdapConfigSummary> {
        self.write_config(connection, "ldap-config-create", Method::POST, PATH, body)
            .await?
            .json()
    }

    /// Applies a partial update. `None` when the configuration vanished (Infisical's 404).
    pub async fn update_ldap_config(
        &self,
        connection: &Connection,
        body: &UpdateLdapConfig,
    ) -> Result<Option<LdapConfigSummary>> {
        match self
            .write_config(connection, "ldap-config-update", Method::PATCH, PATH, body)
            .await
        {
            Ok(answer) => answer.json().map(Some),
            Err(error) if is_missing(&error) => Ok(None),
            Err(other) => Err(other),
        }
    }
}
