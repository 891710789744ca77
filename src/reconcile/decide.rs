//! Step 4: the pure decision. Given what we want, what Infisical holds and what we know about
//! ownership, choose one action. No I/O, so every ownership and diff rule is unit-tested here;
//! the kind supplies the diff (`kind::SsoKind`).
//!
//! [`check_claim`] runs before Infisical is called (a resource that another takes precedence over
//! never calls it), [`plan`] once the configuration is observed; [`decide`] is both.

use crate::api::reasons;
use crate::api::{AdoptionPolicy, PlannedChange};
use crate::error::Error;

use super::kind::SsoKind;

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
            Self::SpecChanged => reasons::UPDATED,
            Self::SecretRotated => reasons::SECRET_ROTATED,
            Self::Drift => reasons::DRIFT_CORRECTED,
            Self::Adopted => reasons::ADOPTED,
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum Plan<K: SsoKind> {
    /// The organisation has no configuration: create it.
    Create,
    /// The configuration is ours and differs: patch only `patch`'s fields.
    Update {
        id: String,
        patch: Box<K::Patch>,
        cause: UpdateCause,
    },
    /// The configuration is ours and equal to the spec: write nothing.
    InSync { id: String, adopted: bool },
}

impl<K: SsoKind> Plan<K> {
    /// What `managementPolicy: Observe` reports of the plan.
    pub fn summary(&self) -> PlannedChange {
        let (action, fields) = match self {
            Self::Create => ("Create", Vec::new()),
            Self::Update { patch, .. } => ("Update", owned(K::changed_fields(patch))),
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
            } => Some(owned(K::changed_fields(patch))),
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

/// The whole decision: [`check_claim`], then [`plan`].
pub fn decide<K: SsoKind>(
    desired: &K::Desired,
    observed: Option<&K::Stored>,
    ownership: &Ownership,
    hints: Hints,
) -> Result<Plan<K>, Error> {
    check_claim::<K>(ownership, K::organization_id(desired))?;
    plan::<K>(desired, observed, ownership, hints)
}

/// A resource that another resource takes precedence over for the organisation stops here,
/// before it calls Infisical: never a tug of war.
pub fn check_claim<K: SsoKind>(ownership: &Ownership, organization_id: &str) -> Result<(), Error> {
    match &ownership.competing_owner {
        Some(other) => Err(Error::OwnershipConflict {
            label: K::LABEL,
            org: organization_id.to_string(),
            other: other.clone(),
        }),
        None => Ok(()),
    }
}

/// What to do about the observed configuration, for a resource whose claim stands.
pub fn plan<K: SsoKind>(
    desired: &K::Desired,
    observed: Option<&K::Stored>,
    ownership: &Ownership,
    hints: Hints,
) -> Result<Plan<K>, Error> {
    let Some(observed) = observed else {
        return Ok(Plan::Create);
    };
    let id = K::id(observed);

    let adopted = match &ownership.recorded_id {
        Some(recorded) if recorded == id => false,
        Some(recorded) if ownership.adoption_policy != AdoptionPolicy::Adopt => {
            return Err(Error::IdMismatch {
                recorded: recorded.clone(),
                found: id.to_string(),
            });
        }
        // Our create may have committed before we crashed: the configuration is ours.
        None if ownership.create_pending => false,
        _ if ownership.adoption_policy == AdoptionPolicy::Adopt => true,
        _ => {
            return Err(Error::AdoptionRequired {
                label: K::LABEL,
                id: id.to_string(),
            });
        }
    };

    let patch = K::diff(desired, observed);
    let fields = K::changed_fields(&patch);
    if fields.is_empty() {
        return Ok(Plan::InSync {
            id: id.to_string(),
            adopted,
        });
    }
    let cause = if adopted {
        UpdateCause::Adopted
    } else if hints.spec_changed {
        UpdateCause::SpecChanged
    } else if hints.secret_changed && fields.iter().all(|f| K::SECRET_FIELDS.contains(f)) {
        UpdateCause::SecretRotated
    } else {
        UpdateCause::Drift
    };
    Ok(Plan::Update {
        id: id.to_string(),
        patch: Box::new(patch),
        cause,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::infisical::SecretString;
    use crate::infisical::wire::OidcConfig;
    use crate::reconcile::oidc::diff::tests::{desired, stored};
    use crate::reconcile::oidc::{Desired, Oidc};

    /// The decision for the OIDC kind.
    fn decide(
        desired: &Desired,
        observed: Option<&OidcConfig>,
        ownership: &Ownership,
        hints: Hints,
    ) -> Result<Plan<Oidc>, Error> {
        super::decide::<Oidc>(desired, observed, ownership, hints)
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

    #[test]
    fn secret_never_appears_in_debug_of_a_plan() {
        let mut s = stored();
        s.client_secret = SecretString::new("old");
        let plan = decide(&desired(), Some(&s), &ours(), Hints::default()).unwrap();
        assert!(!format!("{plan:?}").contains("s3cret"));
    }
}
