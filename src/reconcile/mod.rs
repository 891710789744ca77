//! One reconcile pass over a resource that is not being deleted:
//! `dereference → validate → observe → decide → preflight → apply → report`, each step a module
//! that takes typed input and returns a typed value, computed once and handed on.
//!
//! 1. `dereference`: read the Secrets and ConfigMaps the kind's spec points to
//!    (`SsoKind::references`), and `fingerprint` them. A pass whose inputs did not change since
//!    its outcome was reported waits instead (`retry`).
//! 2. `validate`: the spec as Infisical would check it, into the desired state. Its common fields
//!    (`hostAPI`, `resyncInterval`) are checked before step 1, so that no Secret is read for a
//!    spec that cannot work. Then the claim on the organisation (`ownership`,
//!    `decide::check_claim`); a first pass after a start may defer its check (`resume`).
//! 3. `observe`: what Infisical holds.
//! 4. `decide` (pure): the plan. Under `managementPolicy: Observe` the pass stops here.
//! 5. `preflight`: what Infisical will be told to trust, before a create or an update.
//! 6. `apply`: the create (behind the create-pending mark, `pending`), the update, or nothing.
//! 7. `report`: status, Events, the resource's memory and the next requeue.
//!
//! What the controller calls is `entry` (panic isolation, malformed objects, deletion). The
//! kind-specific parts (wire types, validation, diff, preflight) are the `kind::SsoKind` seam;
//! the kinds are `oidc`, `saml` and `ldap`, one controller each (`lifecycle`).

pub mod apply;
pub mod cached;
pub mod checks;
pub mod context;
pub mod decide;
pub mod delete;
pub mod dereference;
pub mod entry;
pub mod finalizer;
pub mod fingerprint;
pub mod idp_hosts;
pub mod index;
pub mod keys;
pub mod kind;
pub mod ldap;
pub mod malformed;
pub mod memory;
pub mod notify;
pub mod observe;
pub mod oidc;
pub mod outcome;
pub mod ownership;
pub mod pending;
pub mod preflight;
pub mod references;
pub mod report;
pub mod resume;
pub mod retry;
pub mod saml;
pub mod settings;
pub mod status;
pub mod validate;
pub mod waiting;

use std::time::Duration;

use kube::runtime::controller::Action;
use kube::{Resource, ResourceExt};

use crate::api::{ManagementPolicy, SsoResource};
use crate::error::{Error, Result};
use crate::infisical::Connection;

use apply::Applying;
use context::Context;
use decide::Hints;
use fingerprint::Fingerprints;
use kind::SsoKind;
use memory::Memory;
use outcome::{Outcome, Progress};
use waiting::Waiter;

/// The pipeline for a resource that is not being deleted.
pub async fn sync<K: SsoKind>(ctx: &Context, resource: &K::Resource) -> Result<Action> {
    let memory = ctx.memory.of(resource.meta());
    // Parsed once: the pipeline reports it if it is invalid, and retries are timed by it.
    let resync = validate::resync_interval(resource.spec(), ctx.settings.default_resync);
    let retry_resync = *resync.as_ref().unwrap_or(&ctx.settings.default_resync);
    // Writes during the pass move `current` to the version they produced, so the status write's
    // resourceVersion precondition holds only if nobody else changed the object meanwhile.
    let mut current = resource.clone();
    if resource.spec().suspend {
        let outcome = Outcome::Suspended;
        return report::report::<K>(ctx, &current, &memory, outcome, None, retry_resync).await;
    }
    let mut progress = Progress::default();
    let last = memory.read();
    let outcome = run_pipeline::<K>(ctx, &mut current, &last, resync, &mut progress)
        .await
        .unwrap_or_else(Outcome::Failed);
    report::report::<K>(
        ctx,
        &current,
        &memory,
        outcome,
        Some(&progress),
        retry_resync,
    )
    .await
}

/// Steps 1 to 6; `last` is what the resource's memory held when the pass started, `progress`
/// what the pass establishes on its way (for `report`, whatever the outcome).
async fn run_pipeline<K: SsoKind>(
    ctx: &Context,
    resource: &mut K::Resource,
    last: &Memory,
    resync: Result<Duration>,
    progress: &mut Progress,
) -> Result<Outcome<K>> {
    let target = validate::target(resource.spec(), &ctx.settings.allowed_hosts, resync)?;
    let namespace = resource.namespace().unwrap_or_default();
    let inputs = dereference::dereference::<K>(&ctx.client, &namespace, resource.spec()).await?;
    let fingerprints = progress
        .fingerprints
        .insert(Fingerprints::of(&*resource, &inputs));
    if let Some(wait) = retry::held(last, &fingerprints.inputs) {
        return Ok(Outcome::Held(wait));
    }
    let checked = validate::checked::<K>(resource, target, &inputs)?;
    let claimants = ctx.claimants::<K>(&resource.spec().organization_id);
    let owner = ownership::ownership(&*resource, &checked.base, &claimants);
    let organization_id = K::organization_id(&checked.desired);
    decide::check_claim::<K>(&owner, organization_id)?;
    let status_digest = fingerprints.status_digest.as_deref();
    let create_pending = owner.create_pending;
    if !last.started {
        progress.started = true;
        let resync = checked.resync;
        if let Some(wait) = resume::recheck_later(&*resource, create_pending, status_digest, resync)
        {
            return Ok(Outcome::Deferred(wait));
        }
    }

    let sync_requested = fingerprints.sync_requested_since(last);
    let priority = resume::pass_priority(&*resource, create_pending, status_digest, sync_requested);
    let connection = Connection {
        base: checked.base.clone(),
        ca_pem: inputs.ca_pem,
        credentials: inputs.credentials,
        priority,
    };
    let waiter = Waiter::of(&*resource);
    let observed = observe::observe::<K>(ctx, &connection, organization_id, &waiter).await?;

    let hints = hints::<K>(resource, &checked.desired, fingerprints, last);
    let plan = match decide::plan::<K>(&checked.desired, observed.as_ref(), &owner, hints) {
        Ok(plan) => plan,
        Err(error) => return stale_copy_or(ctx, &*resource, error).await,
    };
    tracing::debug!(?plan, "decided");
    let drift = plan.drifted_fields();
    if resource.spec().management_policy == ManagementPolicy::Observe {
        let plan = plan.summary();
        return Ok(Outcome::Observed { plan, drift });
    }
    if let Some(fields) = &drift {
        // Reported before it is corrected, so the record shows what someone changed.
        notify::publish(ctx, &*resource, notify::drift_detected(fields)).await;
    }
    let with = Applying {
        desired: &checked.desired,
        connection: &connection,
        owner: &owner,
        idp_ca_pem: inputs.idp_ca_pem.as_deref(),
        waiter: &waiter,
        token_expires: checked.token_expires,
        drift,
    };
    apply::apply::<K>(ctx, resource, with, plan, observed).await
}

/// A configuration that looks foreign (`AdoptionRequired`, `IdMismatch`) may be our own create,
/// recorded in a version of the object this pass has not read: checked before it is reported.
async fn stale_copy_or<K: SsoKind>(
    ctx: &Context,
    resource: &K::Resource,
    error: Error,
) -> Result<Outcome<K>> {
    let foreign = matches!(
        error,
        Error::AdoptionRequired { .. } | Error::IdMismatch { .. }
    );
    if foreign && observe::newer_version_exists(ctx, resource).await? {
        tracing::debug!("cached copy is stale; retrying with the newer version");
        return Ok(Outcome::Held(retry::STALE_COPY));
    }
    Err(error)
}

/// What names the cause of an update: whether the spec changed since the last sync (as status
/// recorded it), and whether the client secret changed since the last pass that synced it.
fn hints<K: SsoKind>(
    resource: &K::Resource,
    desired: &K::Desired,
    fingerprints: &Fingerprints,
    last: &Memory,
) -> Hints {
    let status = resource.status().cloned().unwrap_or_default();
    Hints {
        spec_changed: if status.id.is_some() {
            K::differs_from_last_sync(desired, &status)
        } else {
            status
                .observed_generation
                .is_some_and(|g| Some(g) != resource.meta().generation)
        },
        secret_changed: fingerprints.secret_changed_since(last),
    }
}
