//! SAML's configuration route, `/api/v1/sso/config` (`ee/routes/v1/saml-router.ts`): the same
//! calls as OIDC's, on their own path and bodies (`wire::saml`).

use reqwest::Method;

use super::wire::saml::{CreateSamlConfig, SamlConfig, SamlConfigSummary, UpdateSamlConfig};
use super::{Connection, Infisical};
use crate::error::Result;

const SAML_CONFIG: &str = "/api/v1/sso/config";

impl Infisical {
    /// The organisation's SAML configuration (its certificate in plain text), or `None`.
    pub async fn get_saml_config(
        &self,
        connection: &Connection,
        organization_id: &str,
    ) -> Result<Option<SamlConfig>> {
        self.read_config(connection, "saml-config-get", SAML_CONFIG, organization_id)
            .await
    }

    pub async fn create_saml_config(
        &self,
        connection: &Connection,
        body: &CreateSamlConfig,
    ) -> Result<SamlConfigSummary> {
        self.write_config(
            connection,
            "saml-config-create",
            Method::POST,
            SAML_CONFIG,
            body,
        )
        .await?
        .json()
    }

    /// Applies a partial update. `None` when Infisical answered with an empty body (no config).
    pub async fn update_saml_config(
        &self,
        connection: &Connection,
        body: &UpdateSamlConfig,
    ) -> Result<Option<SamlConfigSummary>> {
        let answer = self
            .write_config(
                connection,
                "saml-config-update",
                Method::PATCH,
                SAML_CONFIG,
                body,
            )
            .await?;
        if answer.body.iter().all(u8::is_ascii_whitespace) {
            return Ok(None);
        }
        answer.json().map(Some)
    }
}
