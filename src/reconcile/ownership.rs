//! Which resource may manage an organisation's configuration when several target it.
//!
//! The organisation has one configuration, so two resources for it would fight. Precedence:
//! a resource that already holds the configuration's id (or is mid-create) beats one that does
//! not; otherwise the older resource wins, ties broken by namespace/name. The loser is Stalled
//! with `OwnershipConflict` and never calls Infisical.

use kube::ResourceExt;
use kube::core::DeserializeGuard;
use kube::runtime::reflector::Store;

use crate::api::{CREATE_PENDING_ANNOTATION, OidcSsoConfig};

/// The facts precedence is decided on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Claimant {
    pub key: String,
    pub target: (String, String),
    pub holds_claim: bool,
    pub created: Option<i64>,
}

impl Claimant {
    pub fn of(resource: &OidcSsoConfig) -> Self {
        let holds_claim = resource.status.as_ref().is_some_and(|s| s.id.is_some())
            || resource
                .annotations()
                .contains_key(CREATE_PENDING_ANNOTATION);
        Self {
            key: super::context::resource_key(&resource.metadata),
            target: target(resource),
            holds_claim,
            created: resource.creation_timestamp().map(|t| t.0.as_second()),
        }
    }

    /// Whether `self` goes before `other` for the same target.
    fn precedes(&self, other: &Claimant) -> bool {
        (
            !self.holds_claim,
            self.created.unwrap_or(i64::MAX),
            &self.key,
        ) < (
            !other.holds_claim,
            other.created.unwrap_or(i64::MAX),
            &other.key,
        )
    }
}

/// The organisation and instance a resource targets, normalised for comparison.
fn target(resource: &OidcSsoConfig) -> (String, String) {
    let host = resource
        .spec
        .host_api
        .trim()
        .trim_end_matches('/')
        .trim_end_matches("/api")
        .to_ascii_lowercase();
    (resource.spec.organization_id.trim().to_string(), host)
}

/// The resource that takes precedence over `me` for the same organisation, if any.
pub fn competing_owner<'a>(
    me: &Claimant,
    others: impl IntoIterator<Item = &'a Claimant>,
) -> Option<String> {
    others
        .into_iter()
        .filter(|other| other.key != me.key && other.target == me.target)
        .filter(|other| other.precedes(me))
        .min_by(|a, b| {
            if a.precedes(b) {
                std::cmp::Ordering::Less
            } else {
                std::cmp::Ordering::Greater
            }
        })
        .map(|other| other.key.clone())
}

/// Claimants for `organization_id` visible in the controller's caches, skipping resources being
/// deleted. Filters inside the cache without copying objects: this runs on every pass.
pub fn claimants(
    stores: &[Store<DeserializeGuard<OidcSsoConfig>>],
    organization_id: &str,
) -> Vec<Claimant> {
    let organization_id = organization_id.trim();
    stores
        .iter()
        .flat_map(|store| {
            store.state_filter(|guard| {
                guard.0.as_ref().is_ok_and(|r| {
                    r.metadata.deletion_timestamp.is_none()
                        && r.spec.organization_id.trim() == organization_id
                })
            })
        })
        .filter_map(|guard| guard.0.as_ref().ok().map(Claimant::of))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claimant(key: &str, holds: bool, created: i64) -> Claimant {
        Claimant {
            key: key.into(),
            target: ("org".into(), "https://us.infisical.com".into()),
            holds_claim: holds,
            created: Some(created),
        }
    }

    #[test]
    fn older_resource_wins_when_neither_holds_the_configuration() {
        let first = claimant("a/first", false, 100);
        let second = claimant("b/second", false, 200);
        assert_eq!(
            competing_owner(&second, [&first, &second]),
            Some("a/first".into())
        );
        assert_eq!(competing_owner(&first, [&first, &second]), None);
    }

    #[test]
    fn the_holder_wins_over_an_older_resource() {
        let older = claimant("a/older", false, 100);
        let holder = claimant("b/holder", true, 200);
        assert_eq!(
            competing_owner(&older, [&older, &holder]),
            Some("b/holder".into())
        );
        assert_eq!(competing_owner(&holder, [&older, &holder]), None);
    }

    #[test]
    fn other_organisations_do_not_compete() {
        let mine = claimant("a/mine", false, 200);
        let mut other = claimant("b/other", true, 100);
        other.target.0 = "org-2".into();
        assert_eq!(competing_owner(&mine, [&other]), None);
    }

    #[test]
    fn ties_break_by_name_deterministically() {
        let x = claimant("a/x", false, 100);
        let y = claimant("a/y", false, 100);
        assert_eq!(competing_owner(&y, [&x, &y]), Some("a/x".into()));
        assert_eq!(competing_owner(&x, [&x, &y]), None);
    }
}
