//! The seam between a pass and the kind of SSO configuration it manages. A kind supplies its wire
//! types and calls (what Infisical stores, accepts and answers), its validation (the spec's own
//! fields, checked as Infisical would, into the normalised desired state), its diff (which stored
//! fields differ, and whether the spec changed since the last sync), and its preflight (what to
//! check before Infisical is told to trust something). Everything else in a pass is shared:
//! dereference, ownership and the create-pending mark, the budget and auth, Observe, drift
//! reports, the enforcement-reset warning, deletion, conditions, retries and metrics.
//!
//! OIDC (`oidc`) and SAML (`saml`) implement it. README's Development section says how another
//! kind plugs in.

use std::fmt::Debug;
use std::hash::Hash;
use std::ops::{Deref, DerefMut};

use super::idp_hosts::IdpResolver;
use crate::api::{CaBundleRef, CommonSpec, CommonStatus, SsoResource};
use crate::error::Result;
use crate::infisical::{Connection, Infisical};

pub use super::references::{KeyRef, Referenced, Source};

pub trait SsoKind: Clone + Copy + Debug + PartialEq + Eq + Hash + Send + Sync + 'static {
    /// The custom resource (`OidcSsoConfig`): its spec and status embed the common fields.
    type Resource: SsoResource<Spec = Self::Spec, Status = Self::Status>;
    /// The resource's spec.
    type Spec: Deref<Target = CommonSpec> + Clone + Debug + Send + Sync;
    /// The resource's status, where the stored configuration is mirrored.
    type Status: Deref<Target = CommonStatus>
        + DerefMut
        + Clone
        + Debug
        + Default
        + PartialEq
        + serde::Serialize
        + Send
        + Sync;
    /// The configuration Infisical should hold, normalised as Infisical stores it.
    type Desired: Debug + Send + Sync;
    /// The organisation's configuration as Infisical's GET answers it (secrets included: compared,
    /// never logged or stored).
    type Stored: Debug + Send + Sync;
    /// A partial update: the fields that differ, and nothing else.
    type Patch: Clone + Debug + PartialEq + Send + Sync;
    /// What Infisical answers to a create or an update.
    type Answer: Debug + Send;
    /// What status mirrors of the configuration Infisical now holds.
    type Written: Debug + Send;

    /// How messages and Events name a configuration of this kind ("OIDC").
    const LABEL: &'static str;
    /// The patch fields that hold a secret read from a Secret: an update of only these, after
    /// that Secret changed, is a rotation.
    const SECRET_FIELDS: &'static [&'static str];
    /// Whether every update makes Infisical turn the organisation's enforce-SSO and SCIM
    /// settings off (OIDC and SAML do; LDAP does not): the enforcement-reset warning.
    const RESETS_ENFORCEMENT: bool = true;

    // Validation.
    /// The keys of Secrets (or ConfigMaps) the kind's own fields read, beyond the connection's
    /// (the IdP client secret for OIDC). A pass reads them all before `desired`; the index
    /// watches the Secrets among them, so changing one starts a pass.
    fn references(spec: &Self::Spec) -> Vec<KeyRef<'_>>;
    /// The CA bundle the preflight trusts for the identity provider, when the kind has one.
    fn preflight_ca(spec: &Self::Spec) -> Option<&CaBundleRef> {
        let _ = spec;
        None
    }
    /// Checks the spec's kind-specific fields and builds the desired state; `values` holds what
    /// `references` names, read.
    fn desired(spec: &Self::Spec, values: &Referenced) -> Result<Self::Desired>;
    /// The organisation the desired configuration belongs to, normalised.
    fn organization_id(desired: &Self::Desired) -> &str;

    // Diff.
    fn id(stored: &Self::Stored) -> &str;
    fn diff(desired: &Self::Desired, stored: &Self::Stored) -> Self::Patch;
    /// The fields a patch changes, by their API names, in a stable order.
    fn changed_fields(patch: &Self::Patch) -> Vec<&'static str>;
    /// Whether the spec asks for something other than what the last successful pass recorded
    /// in status: a spec edit, rather than drift in Infisical.
    fn differs_from_last_sync(desired: &Self::Desired, status: &Self::Status) -> bool;
    /// What Infisical holds after a create, an update, or when it was found in sync.
    fn created(answer: Self::Answer, desired: &Self::Desired) -> Self::Written;
    fn updated(answer: Self::Answer, desired: &Self::Desired) -> Self::Written;
    fn in_sync(stored: Self::Stored, desired: &Self::Desired) -> Self::Written;
    /// The configuration's id in what Infisical holds.
    fn written_id(written: &Self::Written) -> &str;
    /// Mirrors what Infisical holds into status (never a secret).
    fn mirror(status: &mut Self::Status, written: &Self::Written);
    /// Whether the stored configuration lets people log in (what `Deactivate` turns off).
    fn is_active(stored: &Self::Stored) -> bool;
    /// The update that turns the configuration off (`deletionPolicy: Deactivate`).
    fn deactivation(organization_id: &str) -> Self::Patch;

    /// Something in the desired state that will stop working by itself (an IdP certificate
    /// that expires soon): reported as a warning condition and a Warning Event, never a
    /// failure. `None` by default.
    fn expiring(desired: &Self::Desired) -> Option<Expiring> {
        let _ = desired;
        None
    }

    // Preflight.
    /// Before a create (`patch` `None`) or an update, the hosts Infisical resolves when it saves
    /// the configuration must resolve (checked whatever the preflight policy).
    fn check_hosts(
        resolver: &IdpResolver,
        desired: &Self::Desired,
        patch: Option<&Self::Patch>,
    ) -> impl Future<Output = Result<()>> + Send;
    /// Whether a create (`None`) or this update changes what people log in through.
    fn preflight_needed(patch: Option<&Self::Patch>) -> bool;
    /// Checks the identity provider; `ca_pem` replaces the trusted roots when set.
    fn preflight(
        desired: &Self::Desired,
        ca_pem: Option<&[u8]>,
    ) -> impl Future<Output = Result<()>> + Send;

    // Wire.
    fn get(
        infisical: &Infisical,
        connection: &Connection,
        organization_id: &str,
    ) -> impl Future<Output = Result<Option<Self::Stored>>> + Send;
    fn create(
        infisical: &Infisical,
        connection: &Connection,
        desired: &Self::Desired,
    ) -> impl Future<Output = Result<Self::Answer>> + Send;
    /// `None` when Infisical answered with an empty body (the configuration vanished).
    fn update(
        infisical: &Infisical,
        connection: &Connection,
        patch: &Self::Patch,
    ) -> impl Future<Output = Result<Option<Self::Answer>>> + Send;
}

/// A warning about something that expires soon (see [`SsoKind::expiring`]).
#[derive(Clone, Debug, PartialEq)]
pub struct Expiring {
    /// The condition type set while it lasts (`IdpCertificateExpiring`).
    pub condition: &'static str,
    /// The condition's and the Event's reason.
    pub reason: &'static str,
    /// What expires when, and what to do: whole days, so it changes at most once a day.
    pub message: String,
}
