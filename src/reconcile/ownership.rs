//! Which resource may manage an organisation's configuration when several target it.
//!
//! The organisation has one configuration, so two resources for it would fight. Precedence:
//! a resource that has recorded the configuration's id in `status.id` beats one that is only
//! mid-create (its create-pending mark may belong to a POST that lost the race), which beats one
//! with no claim; then the older resource wins, ties broken by namespace/name. The loser is
//! Stalled with `OwnershipConflict` and never calls Infisical.

use kube::ResourceExt;

use super::decide::Ownership;
use super::keys::resource_key;
use crate::api::{CREATE_PENDING_ANNOTATION, SsoResource};
use crate::infisical::{BaseUrl, instance_key};

/// The facts precedence is decided on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Claimant {
    pub key: String,
    pub target: (String, String),
    pub claim: Claim,
    pub created: Option<i64>,
}

/// How strongly a resource claims the organisation's configuration; stronger sorts first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Claim {
    /// `status.id` is recorded: the strongest claim.
    Recorded,
    /// The create-pending mark is set: a create may have committed.
    CreatePending,
    None,
}

impl Claimant {
    /// The resource's claim, its instance read from its `hostAPI` (which may not parse: a claim
    /// stands whatever the spec's validity).
    pub fn of<R: SsoResource>(resource: &R) -> Self {
        let host = instance_key(&resource.spec().host_api)
            .unwrap_or_else(|| resource.spec().host_api.trim().to_ascii_lowercase());
        Self::at(resource, host)
    }

    /// The resource's claim on `instance` (an instance key).
    fn at<R: SsoResource>(resource: &R, instance: String) -> Self {
        let claim = if resource.status().is_some_and(|s| s.id.is_some()) {
            Claim::Recorded
        } else if resource
            .annotations()
            .contains_key(CREATE_PENDING_ANNOTATION)
        {
            Claim::CreatePending
        } else {
            Claim::None
        };
        Self {
            key: resource_key(resource.meta()),
            target: (
                resource.spec().organization_id.trim().to_ascii_lowercase(),
                instance,
            ),
            claim,
            created: resource.creation_timestamp().map(|t| t.0.as_second()),
        }
    }

    /// Whether `self` goes before `other` for the same target.
    fn precedes(&self, other: &Claimant) -> bool {
        (self.claim, self.created.unwrap_or(i64::MAX), &self.key)
            < (other.claim, other.created.unwrap_or(i64::MAX), &other.key)
    }
}

/// What `resource` knows of its claim on its organisation's configuration at `base` (its
/// `hostAPI`, already parsed), against the other resources that claim it (`claimants`).
pub fn ownership<R: SsoResource>(
    resource: &R,
    base: &BaseUrl,
    claimants: &[Claimant],
) -> Ownership {
    let me = Claimant::at(resource, base.instance_key().to_string());
    Ownership {
        recorded_id: resource.status().and_then(|s| s.id.clone()),
        create_pending: resource
            .annotations()
            .contains_key(CREATE_PENDING_ANNOTATION),
        adoption_policy: resource.spec().adoption_policy,
        competing_owner: competing_owner(&me, claimants),
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn claimant(key: &str, holds: bool, created: i64) -> Claimant {
        with_claim(
            key,
            if holds { Claim::Recorded } else { Claim::None },
            created,
        )
    }

    fn with_claim(key: &str, claim: Claim, created: i64) -> Claimant {
        Claimant {
            key: key.into(),
            target: ("org".into(), "https://us.infisical.com".into()),
            claim,
            created: Some(created),
        }
    }

    #[test]
    fn a_recorded_id_beats_an_older_create_pending_mark() {
        // Two resources created together: the one whose POST lost keeps its mark (a 500 is
        // transient), is older and sorts first by name, and must still lose.
        let lost_race = with_claim("a/lost", Claim::CreatePending, 100);
        let owner = with_claim("b/owner", Claim::Recorded, 200);
        assert_eq!(
            competing_owner(&lost_race, [&lost_race, &owner]),
            Some("b/owner".into())
        );
        assert_eq!(competing_owner(&owner, [&lost_race, &owner]), None);
        let unclaimed = with_claim("0/unclaimed", Claim::None, 50);
        assert_eq!(
            competing_owner(&unclaimed, [&unclaimed, &lost_race]),
            Some("a/lost".into())
        );
    }

    fn resource(name: &str, host: &str) -> crate::api::OidcSsoConfig {
        serde_json::from_value(serde_json::json!({
            "apiVersion": "oidc.infisical-operator.io/v1alpha1",
            "kind": "OidcSsoConfig",
            "metadata": {"name": name, "namespace": "ns", "creationTimestamp": "2026-01-01T00:00:00Z"},
            "spec": {
                "organizationId": "7c1e0000-0000-4000-8000-000000000001",
                "hostAPI": host,
                "authentication": {"universalAuth": {"credentialsRef": {"name": "c"}}},
                "configurationType": "discoveryURL",
                "discoveryURL": "https://idp.example.com/.well-known/openid-configuration",
                "clientId": "x",
                "clientSecretRef": {"name": "s", "key": "k"},
            },
        }))
        .unwrap()
    }

    #[test]
    fn two_spellings_of_one_instance_compete_for_the_organisation() {
        let a = Claimant::of(&resource("a", "https://us.infisical.com"));
        for host in [
            "https://us.infisical.com:443/",
            "https://app.infisical.com/api",
        ] {
            let b = Claimant::of(&resource("b", host));
            assert_eq!(a.target, b.target, "{host}");
            assert_eq!(competing_owner(&b, [&a, &b]), Some("ns/a".into()), "{host}");
        }
        let eu = Claimant::of(&resource("b", "https://eu.infisical.com"));
        assert_eq!(competing_owner(&eu, [&a, &eu]), None);
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
