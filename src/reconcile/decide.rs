//! Step 4: the pure decision. Given what we want, what Infisical holds and what we know about
//! ownership, choose one action. No I/O, so every ownership and diff rule is unit-tested here.

use crate::api::{AdoptionPolicy, OidcSsoConfigStatus, PlannedChange};
use crate::error::Error;
use crate::infisical::wire::{OidcConfig, UpdateOidcConfig};

use super::validate::Desired;

/// What this resource knows about its claim on the organisation's configuration.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Ownership {
    /// `status.id`: the configuration this resource created or adopted.
    pub recorded_id: Option<String>,
    /// The `create-pending` annotation is set: a create may have happened before a crash.
    pub create_pending: bool,
    pub adoption_policy: AdoptionPolicy,
    /// Another resource that claims the same organisation and takes precedence.
    pub competing_owner: Option<String>,
}

/// Why an update is being made; decides the Event's reason.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UpdateCause {
    /// The spec changed since the last successful pass.
    SpecChanged,
    /// Only the client secret differs and the Secret's value changed since the last pass.
    SecretRotated,
    /// Infisical was changed elsewhere.
    Drift,
    /// An existing configuration was just taken over.
    Adopted,
}

impl UpdateCause {
    pub fn event_reason(self) -> &'static str {
        match self {
            Self::SpecChanged => "Updated",
            Self::SecretRotated => "SecretRotated",
            Self::Drift => "DriftCorrected",
            Self::Adopted => "Adopted",
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum Plan {
    /// The organisation has no configuration: create it.
    Create,
    /// The configuration is ours and differs: patch only `patch`'s fields.
    Update {
        id: String,
        patch: Box<UpdateOidcConfig>,
        cause: UpdateCause,
    },
    /// The configuration is ours and equal to the spec: write nothing.
    InSync { id: String, adopted: bool },
}

impl Plan {
    /// What `managementPolicy: Observe` reports of the plan.
    pub fn summary(&self) -> PlannedChange {
        let (action, fields) = match self {
            Self::Create => ("Create", Vec::new()),
            Self::Update { patch, .. } => ("Update", owned(patch.changed_fields())),
            Self::InSync { .. } => ("None", Vec::new()),
        };
        PlannedChange {
            action: action.into(),
            fields,
        }
    }

    /// The fields of an update that corrects drift; `None` for any other plan.
    pub fn drifted_fields(&self) -> Option<Vec<String>> {
        match self {
            Self::Update {
                patch,
                cause: UpdateCause::Drift,
                ..
            } => Some(owned(patch.changed_fields())),
            _ => None,
        }
    }
}

fn owned(fields: Vec<&str>) -> Vec<String> {
    fields.into_iter().map(str::to_string).collect()
}

/// Hints from outside the pure inputs, used only to name the cause of an update.
#[derive(Clone, Copy, Debug, Default)]
pub struct Hints {
    pub spec_changed: bool,
    pub secret_changed: bool,
}

pub fn decide(
    desired: &Desired,
    observed: Option<&OidcConfig>,
    ownership: &Ownership,
    hints: Hints,
) -> Result<Plan, Error> {
    if let Some(other) = &ownership.competing_owner {
        return Err(Error::OwnershipConflict {
            org: desired.organization_id.clone(),
            other: other.clone(),
        });
    }
    let Some(observed) = observed else {
        return Ok(Plan::Create);
    };

    let adopted = match &ownership.recorded_id {
        Some(id) if *id == observed.config.id => false,
        Some(id) if ownership.adoption_policy != AdoptionPolicy::Adopt => {
            return Err(Error::IdMismatch {
                recorded: id.clone(),
                found: observed.config.id.clone(),
            });
        }
        // Our create may have committed before we crashed: the configuration is ours.
        None if ownership.create_pending => false,
        _ if ownership.adoption_policy == AdoptionPolicy::Adopt => true,
        _ => {
            return Err(Error::AdoptionRequired {
                id: observed.config.id.clone(),
            });
        }
    };

    let patch = diff(desired, observed);
    if patch.is_empty() {
        return Ok(Plan::InSync {
            id: observed.config.id.clone(),
            adopted,
        });
    }
    let cause = if adopted {
        UpdateCause::Adopted
    } else if hints.spec_changed {
        UpdateCause::SpecChanged
    } else if hints.secret_changed && patch.changed_fields() == ["clientSecret"] {
        UpdateCause::SecretRotated
    } else {
        UpdateCause::Drift
    };
    Ok(Plan::Update {
        id: observed.config.id.clone(),
        patch: Box::new(patch),
        cause,
    })
}

/// Whether the spec asks for something other than what the last successful pass left in
/// Infisical, as recorded in status: a spec edit, rather than drift in Infisical. Derived from
/// status, not from `observedGeneration`, which also advances on failed passes: an edit whose
/// first attempt failed is still an edit when it finally applies. Unknown fields (a status
/// written by an older version) never count as a change.
pub fn spec_differs_from_last_sync(desired: &Desired, status: &OidcSsoConfigStatus) -> bool {
    let text = |v: &Option<String>| v.as_deref().unwrap_or("").to_string();
    let stored_domains = text(&status.allowed_email_domains);
    [
        Some(desired.configuration_type) != status.configuration_type.as_deref(),
        desired.issuer != text(&status.issuer),
        desired.discovery_url != text(&status.discovery_url),
        desired.authorization_endpoint != text(&status.authorization_endpoint),
        desired.jwks_uri != text(&status.jwks_uri),
        desired.token_endpoint != text(&status.token_endpoint),
        desired.userinfo_endpoint != text(&status.userinfo_endpoint),
        desired.allowed_email_domains != stored_domains,
        status.is_active.is_some_and(|a| a != desired.is_active),
        status
            .manage_group_memberships
            .is_some_and(|m| m != desired.manage_group_memberships),
        status
            .jwt_signature_algorithm
            .as_deref()
            .is_some_and(|a| a != desired.jwt_signature_algorithm),
        status
            .client_id
            .as_deref()
            .is_some_and(|c| c != desired.client_id),
    ]
    .into_iter()
    .any(|changed| changed)
}

/// The fields whose stored value differs from the desired one. A stored `null` equals `""`,
/// and stored strings are compared trimmed and, for domains, re-normalised, so a configuration
/// written through Infisical's UI compares equal when it means the same.
pub fn diff(desired: &Desired, stored: &OidcConfig) -> UpdateOidcConfig {
    let observed = &stored.config;
    fn text(stored: &Option<String>) -> &str {
        stored.as_deref().map(str::trim).unwrap_or("")
    }
    fn changed(want: &str, have: &str) -> Option<String> {
        (want != have).then(|| want.to_string())
    }
    let stored_domains = text(&observed.allowed_email_domains)
        .split(',')
        .map(str::trim)
        .filter(|d| !d.is_empty())
        .collect::<Vec<_>>()
        .join(", ");
    UpdateOidcConfig {
        organization_id: desired.organization_id.clone(),
        allowed_email_domains: changed(&desired.allowed_email_domains, &stored_domains),
        configuration_type: changed(
            desired.configuration_type,
            observed.configuration_type.trim(),
        ),
        issuer: changed(&desired.issuer, text(&observed.issuer)),
        discovery_url: changed(&desired.discovery_url, text(&observed.discovery_url)),
        authorization_endpoint: changed(
            &desired.authorization_endpoint,
            text(&observed.authorization_endpoint),
        ),
        jwks_uri: changed(&desired.jwks_uri, text(&observed.jwks_uri)),
        token_endpoint: changed(&desired.token_endpoint, text(&observed.token_endpoint)),
        userinfo_endpoint: changed(
            &desired.userinfo_endpoint,
            text(&observed.userinfo_endpoint),
        ),
        client_id: changed(&desired.client_id, stored.client_id.trim()),
        client_secret: (desired.client_secret.expose() != stored.client_secret.expose().trim())
            .then(|| desired.client_secret.clone()),
        is_active: (desired.is_active != observed.is_active).then_some(desired.is_active),
        manage_group_memberships: (desired.manage_group_memberships
            != observed.manage_group_memberships)
            .then_some(desired.manage_group_memberships),
        jwt_signature_algorithm: changed(
            desired.jwt_signature_algorithm,
            observed
                .jwt_signature_algorithm
                .as_deref()
                .unwrap_or("RS256")
                .trim(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::infisical::SecretString;

    fn desired() -> Desired {
        Desired {
            organization_id: "org".into(),
            configuration_type: "discoveryURL",
            issuer: String::new(),
            discovery_url: "https://idp.example.com/.well-known/openid-configuration".into(),
            authorization_endpoint: String::new(),
            jwks_uri: String::new(),
            token_endpoint: String::new(),
            userinfo_endpoint: String::new(),
            client_id: "infisical".into(),
            client_secret: SecretString::new("s3cret"),
            is_active: true,
            allowed_email_domains: "example.com, example.org".into(),
            manage_group_memberships: false,
            jwt_signature_algorithm: "RS256",
        }
    }

    /// What Infisical's GET returns for `desired()` created through the API.
    fn stored() -> OidcConfig {
        serde_json::from_value(serde_json::json!({
            "id": "cfg-1", "orgId": "org", "configurationType": "discoveryURL", "isActive": true,
            "issuer": "", "discoveryURL": "https://idp.example.com/.well-known/openid-configuration",
            "authorizationEndpoint": "", "jwksUri": "", "tokenEndpoint": "", "userinfoEndpoint": "",
            "allowedEmailDomains": "example.com, example.org", "manageGroupMemberships": false,
            "jwtSignatureAlgorithm": "RS256", "clientId": "infisical", "clientSecret": "s3cret"
        }))
        .unwrap()
    }

    fn ours() -> Ownership {
        Ownership {
            recorded_id: Some("cfg-1".into()),
            ..Ownership::default()
        }
    }

    #[test]
    fn absent_configuration_is_created() {
        assert_eq!(
            decide(&desired(), None, &Ownership::default(), Hints::default()).unwrap(),
            Plan::Create
        );
    }

    #[test]
    fn equal_configuration_needs_no_write() {
        let plan = decide(&desired(), Some(&stored()), &ours(), Hints::default()).unwrap();
        assert_eq!(
            plan,
            Plan::InSync {
                id: "cfg-1".into(),
                adopted: false
            }
        );
    }

    #[test]
    fn nulls_and_ui_formatting_compare_equal() {
        let mut s = stored();
        s.config.issuer = None;
        s.config.jwks_uri = None;
        s.config.allowed_email_domains = Some("example.com,example.org ".into());
        assert!(diff(&desired(), &s).is_empty());
    }

    #[test]
    fn only_changed_fields_are_patched() {
        let mut s = stored();
        s.config.is_active = false;
        s.config.allowed_email_domains = Some("example.com".into());
        let Plan::Update { patch, cause, .. } =
            decide(&desired(), Some(&s), &ours(), Hints::default()).unwrap()
        else {
            panic!()
        };
        assert_eq!(patch.changed_fields(), ["allowedEmailDomains", "isActive"]);
        assert_eq!(patch.is_active, Some(true));
        assert_eq!(
            patch.allowed_email_domains.as_deref(),
            Some("example.com, example.org")
        );
        assert_eq!(cause, UpdateCause::Drift);
        let body = serde_json::to_value(&patch).unwrap();
        assert_eq!(
            body.as_object().unwrap().len(),
            3,
            "organizationId plus the two fields: {body}"
        );
    }

    #[test]
    fn rotated_secret_patches_only_the_secret() {
        let mut s = stored();
        s.client_secret = SecretString::new("old");
        let hints = Hints {
            spec_changed: false,
            secret_changed: true,
        };
        let Plan::Update { patch, cause, .. } =
            decide(&desired(), Some(&s), &ours(), hints).unwrap()
        else {
            panic!()
        };
        assert_eq!(patch.changed_fields(), ["clientSecret"]);
        assert_eq!(cause, UpdateCause::SecretRotated);
    }

    #[test]
    fn spec_edit_is_named_as_such() {
        let mut s = stored();
        s.config.jwt_signature_algorithm = Some("RS512".into());
        let hints = Hints {
            spec_changed: true,
            secret_changed: false,
        };
        let Plan::Update { cause, .. } = decide(&desired(), Some(&s), &ours(), hints).unwrap()
        else {
            panic!()
        };
        assert_eq!(cause, UpdateCause::SpecChanged);
    }

    #[test]
    fn foreign_configuration_requires_adoption() {
        let err = decide(
            &desired(),
            Some(&stored()),
            &Ownership::default(),
            Hints::default(),
        )
        .unwrap_err();
        assert_eq!(err.reason(), "AdoptionRequired");
        assert!(err.to_string().contains("cfg-1"));
    }

    #[test]
    fn adopt_policy_takes_over_and_patches_only_differences() {
        let own = Ownership {
            adoption_policy: AdoptionPolicy::Adopt,
            ..Ownership::default()
        };
        assert_eq!(
            decide(&desired(), Some(&stored()), &own, Hints::default()).unwrap(),
            Plan::InSync {
                id: "cfg-1".into(),
                adopted: true
            }
        );
        let mut s = stored();
        s.client_id = "other".into();
        let Plan::Update { patch, cause, .. } =
            decide(&desired(), Some(&s), &own, Hints::default()).unwrap()
        else {
            panic!()
        };
        assert_eq!(patch.changed_fields(), ["clientId"]);
        assert_eq!(cause, UpdateCause::Adopted);
    }

    #[test]
    fn create_pending_claims_the_configuration_after_a_crash() {
        let own = Ownership {
            create_pending: true,
            ..Ownership::default()
        };
        assert_eq!(
            decide(&desired(), Some(&stored()), &own, Hints::default()).unwrap(),
            Plan::InSync {
                id: "cfg-1".into(),
                adopted: false
            }
        );
    }

    #[test]
    fn replaced_configuration_is_not_silently_taken() {
        let own = Ownership {
            recorded_id: Some("cfg-0".into()),
            ..Ownership::default()
        };
        assert_eq!(
            decide(&desired(), Some(&stored()), &own, Hints::default())
                .unwrap_err()
                .reason(),
            "IdMismatch"
        );
    }

    #[test]
    fn a_competing_owner_stalls_before_any_call() {
        let own = Ownership {
            competing_owner: Some("platform/first".into()),
            ..ours()
        };
        let err = decide(&desired(), None, &own, Hints::default()).unwrap_err();
        assert_eq!(err.reason(), "OwnershipConflict");
        assert!(err.to_string().contains("platform/first"));
    }

    fn status_after_sync() -> OidcSsoConfigStatus {
        let d = desired();
        OidcSsoConfigStatus {
            id: Some("cfg".into()),
            configuration_type: Some(d.configuration_type.into()),
            discovery_url: Some(d.discovery_url.clone()),
            allowed_email_domains: Some(d.allowed_email_domains.clone()),
            is_active: Some(d.is_active),
            manage_group_memberships: Some(d.manage_group_memberships),
            jwt_signature_algorithm: Some(d.jwt_signature_algorithm.into()),
            client_id: Some(d.client_id.clone()),
            ..OidcSsoConfigStatus::default()
        }
    }

    #[test]
    fn a_spec_edit_is_told_from_drift_by_what_status_recorded() {
        let status = status_after_sync();
        assert!(!spec_differs_from_last_sync(&desired(), &status));
        let mut edited = desired();
        edited.issuer = "https://idp.example.com".into();
        assert!(spec_differs_from_last_sync(&edited, &status));
        let mut edited = desired();
        edited.client_id = "other".into();
        assert!(spec_differs_from_last_sync(&edited, &status));
        // A status from before clientId was recorded: unknown, so not an edit.
        let old_status = OidcSsoConfigStatus {
            client_id: None,
            ..status
        };
        assert!(!spec_differs_from_last_sync(&edited, &old_status));
    }

    #[test]
    fn secret_never_appears_in_debug_of_a_plan() {
        let mut s = stored();
        s.client_secret = SecretString::new("old");
        let plan = decide(&desired(), Some(&s), &ours(), Hints::default()).unwrap();
        assert!(!format!("{plan:?}").contains("s3cret"));
    }
}
