//! One reconcile pass, for a resource that is not being deleted:
//!
//! 1. `validate` what needs no Secret: `hostAPI` against the allow-list, `resyncInterval`;
//! 2. `dereference`: read the Secrets (and fingerprint them, `fingerprint`); a pass whose inputs
//!    did not change since its outcome was reported waits (`retry`);
//! 3. `validate` with the Secrets' values: the kind's rules, the static token, the organisation;
//!    ownership's claim (`ownership`, `decide::check_claim`); a first pass after a start may
//!    defer its check (`resume`);
//! 4. `observe` what Infisical holds;
//! 5. `decide` (pure) the plan; under `managementPolicy: Observe` the pass stops here;
//! 6. `preflight` and `apply` the plan;
//! 7. `report` status, Events, memory and the requeue.
//!
//! Each step takes typed input and returns a typed value, computed once. What the controller
//! calls is `entry` (panic isolation, malformed objects, deletion). The kind-specific parts
//! (wire types, validation, diff, preflight) are the `kind::SsoKind` seam; OIDC is `oidc`.

pub mod apply;
pub mod cached;
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
pub mod malformed;
pub mod memory;
pub mod notify;
pub mod observe;
pub mod oidc;
pub mod outcome;
pub mod ownership;
pub mod pending;
pub mod preflight;
pub mod report;
pub mod resume;
pub mod retry;
pub mod settings;
pub mod status;
pub mod validate;
pub mod waiting;

use std::time::Duration;

use kube::ResourceExt;
use kube::runtime::controller::Action;

use crate::api::{ManagementPolicy, OidcSsoConfig};
use crate::error::{Error, Result};
use crate::infisical::Connection;

use apply::Applying;
use context::Context;
use decide::Hints;
use fingerprint::Fingerprints;
use kind::SsoKind;
use memory::Memory;
use oidc::Oidc;
use outcome::{Outcome, Progress};
use waiting::Waiter;

/// The pipeline for a resource that is not being deleted.
pub async fn sync(ctx: &Context, resource: &OidcSsoConfig) -> Result<Action> {
    let memory = ctx.memory.of(&resource.metadata);
    // Parsed once: the pipeline reports it if it is invalid, and retries are timed by it.
    let resync = validate::resync_interval(&resource.spec, ctx.settings.default_resync);
    let retry_resync = *resync.as_ref().unwrap_or(&ctx.settings.default_resync);
    // Writes during the pass move `current` to the version they produced, so the status write's
    // resourceVersion precondition holds only if nobody else changed the object meanwhile.
    let mut current = resource.clone();
    if resource.spec.suspend {
        let outcome = Outcome::Suspended;
        return report::report(ctx, &current, &memory, outcome, None, retry_resync).await;
    }
    let mut progress = Progress::default();
    let last = memory.read();
    let outcome = run_pipeline(ctx, &mut current, &last, resync, &mut progress)
        .await
        .unwrap_or_else(Outcome::Failed);
    report::report(
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
async fn run_pipeline(
    ctx: &Context,
    resource: &mut OidcSsoConfig,
    last: &Memory,
    resync: Result<Duration>,
    progress: &mut Progress,
) -> Result<Outcome> {
    let target = validate::target(&resource.spec, &ctx.settings.allowed_hosts, resync)?;
    let namespace = resource.namespace().unwrap_or_default();
    let inputs = dereference::dereference(&ctx.client, &namespace, &resource.spec).await?;
    let fingerprints = progress
        .fingerprints
        .insert(Fingerprints::of(resource, &inputs));
    if let Some(wait) = retry::held(last, &fingerprints.inputs) {
        return Ok(Outcome::Held(wait));
    }
    let checked = validate::checked::<Oidc>(resource, target, &inputs)?;
    let organization_id = Oidc::organization_id(&checked.desired);
    let owner = ownership::ownership(
        resource,
        &checked.base,
        &ctx.claimants(&resource.spec.organization_id),
    );
    decide::check_claim(&owner, organization_id)?;
    if !last.started {
        progress.started = true;
        let digest = fingerprints.status_digest.as_deref();
        let recheck = resume::recheck_later(resource, owner.create_pending, digest, checked.resync);
        if let Some(wait) = recheck {
            // The status says Ready with exactly these inputs: it stays as it is until the
            // recheck, and the budget goes to resources that changed while we were away.
            tracing::debug!(
                recheck_in_s = wait.as_secs(),
                "in sync when last checked; rechecking later"
            );
            return Ok(Outcome::Deferred(wait));
        }
    }

    let connection = Connection {
        base: checked.base.clone(),
        ca_pem: inputs.ca_pem,
        credentials: inputs.credentials,
        priority: resume::pass_priority(
            resource,
            owner.create_pending,
            fingerprints.status_digest.as_deref(),
            fingerprints.sync_requested_since(last),
        ),
    };
    let waiter = Waiter::of(resource);
    let observed = observe::observe::<Oidc>(ctx, &connection, organization_id, &waiter).await?;

    let hints = hints(resource, &checked.desired, fingerprints, last);
    let plan = match decide::plan::<Oidc>(&checked.desired, observed.as_ref(), &owner, hints) {
        Err(error @ (Error::AdoptionRequired { .. } | Error::IdMismatch { .. })) => {
            // A configuration that looks foreign may be our own create, recorded in a version
            // of the object this pass has not read: check before reporting it.
            if observe::newer_version_exists(ctx, resource).await? {
                tracing::debug!("cached copy is stale; retrying with the newer version");
                return Ok(Outcome::Held(retry::STALE_COPY));
            }
            return Err(error);
        }
        other => other?,
    };
    tracing::debug!(?plan, "decided");
    let drift = plan.drifted_fields();
    if resource.spec.management_policy == ManagementPolicy::Observe {
        return Ok(Outcome::Observed {
            plan: plan.summary(),
            drift,
        });
    }
    if let Some(fields) = &drift {
        // Reported before it is corrected, so the record shows what someone changed.
        notify::publish(ctx, resource, notify::drift_detected(fields)).await;
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
    apply::apply(ctx, resource, with, plan, observed).await
}

/// What names the cause of an update: whether the spec changed since the last sync (as status
/// recorded it), and whether the client secret changed since the last pass that synced it.
fn hints(
    resource: &OidcSsoConfig,
    desired: &<Oidc as SsoKind>::Desired,
    fingerprints: &Fingerprints,
    last: &Memory,
) -> Hints {
    let status = resource.status.clone().unwrap_or_default();
    Hints {
        spec_changed: if status.id.is_some() {
            Oidc::differs_from_last_sync(desired, &status)
        } else {
            status
                .observed_generation
                .is_some_and(|g| Some(g) != resource.metadata.generation)
        },
        secret_changed: fingerprints.secret_changed_since(last),
    }
}
