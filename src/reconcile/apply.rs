//! Step 6: carry out the plan. A create or an update passes step 5 (`preflight`) first, then
//! is written; a configuration in sync is only claimed (the finalizer). The create path sets the
//! create-pending mark first (`pending`), so that a crash between Infisical's answer and the
//! status write cannot lead to a second create. Every PATCH is followed by the warning that
//! Infisical turned enforce-SSO and SCIM off.

use std::time::SystemTime;

use kube::{Api, ResourceExt};

use super::context::Context;
use super::decide::{Ownership, Plan, UpdateCause};
use super::kind::SsoKind;
use super::notify::{self, EventNote};
use super::outcome::Outcome;
use super::waiting::Waiter;
use super::{finalizer, pending, preflight};
use crate::api::{SsoResource, reasons};
use crate::error::{Error, ErrorClass, Result};
use crate::infisical::Connection;

/// What applying a plan works with, from the steps before it.
pub struct Applying<'a, K: SsoKind> {
    pub desired: &'a K::Desired,
    pub connection: &'a Connection,
    pub owner: &'a Ownership,
    /// `spec.idpCaBundleRef`: the CAs the preflight trusts for the IdP.
    pub idp_ca_pem: Option<&'a [u8]>,
    pub waiter: &'a Waiter,
    pub token_expires: Option<SystemTime>,
    /// The fields an update corrects, when it corrects drift.
    pub drift: Option<Vec<String>>,
}

/// Carries out `plan`, moving `resource` to the version its writes produced.
pub async fn apply<K: SsoKind>(
    ctx: &Context,
    resource: &mut K::Resource,
    with: Applying<'_, K>,
    plan: Plan<K>,
    observed: Option<K::Stored>,
) -> Result<Outcome<K>> {
    match plan {
        Plan::Create => preflight_then_apply(ctx, resource, with, Change::Create).await,
        Plan::Update { id, patch, cause } => {
            let change = Change::Update { id, patch, cause };
            preflight_then_apply(ctx, resource, with, change).await
        }
        Plan::InSync { id, adopted } => {
            let stored = observed.expect("in sync implies observed");
            in_sync(ctx, resource, with, stored, &id, adopted).await
        }
    }
}

/// A write to Infisical: a create, or an update of the fields in `patch`.
enum Change<K: SsoKind> {
    Create,
    Update {
        id: String,
        patch: Box<K::Patch>,
        cause: UpdateCause,
    },
}

/// The preflight (IdP hosts, then the identity provider as the policy says), then the write.
async fn preflight_then_apply<K: SsoKind>(
    ctx: &Context,
    resource: &mut K::Resource,
    with: Applying<'_, K>,
    change: Change<K>,
) -> Result<Outcome<K>> {
    let patch = match &change {
        Change::Create => None,
        Change::Update { patch, .. } => Some(patch.as_ref()),
    };
    preflight::check::<K>(ctx, &*resource, with.desired, with.idp_ca_pem, patch).await?;
    let (config, events, reset) = match change {
        Change::Create => {
            let created = create::<K>(ctx, resource, with.connection, with.desired).await;
            let answer = ctx.note_instance(with.waiter, with.connection, created)?;
            let config = K::created(answer, with.desired);
            let events = vec![notify::created(K::LABEL, K::written_id(&config))];
            (config, events, false)
        }
        Change::Update { id, patch, cause } => {
            ensure_finalizer(ctx, resource).await?;
            let mut events = recovered_create::<K>(ctx, &*resource, with.owner, &id).await?;
            let updated = update::<K>(ctx, with.connection, &patch).await;
            let answer = ctx.note_instance(with.waiter, with.connection, updated)?;
            let fields = K::changed_fields(&patch);
            events.push(notify::updated(
                cause.event_reason(),
                K::LABEL,
                &id,
                &fields,
            ));
            if K::RESETS_ENFORCEMENT {
                events.push(notify::enforcement_reset());
            }
            (K::updated(answer, with.desired), events, true)
        }
    };
    Ok(Outcome::Synced {
        config: Box::new(config),
        events,
        // A create clears the mark it set; an update completes a create an earlier pass made.
        clear_create_pending: !reset || with.owner.create_pending,
        token_expires: with.token_expires,
        expiring: K::expiring(with.desired),
        drift: if reset { with.drift } else { None },
        enforcement_reset: reset && K::RESETS_ENFORCEMENT,
    })
}

/// The configuration is ours and equal to the spec: nothing is written to Infisical.
async fn in_sync<K: SsoKind>(
    ctx: &Context,
    resource: &mut K::Resource,
    with: Applying<'_, K>,
    stored: K::Stored,
    id: &str,
    adopted: bool,
) -> Result<Outcome<K>> {
    ensure_finalizer(ctx, resource).await?;
    let mut events = Vec::new();
    if adopted {
        events.push(notify::adopted(K::LABEL, id));
    }
    events.extend(recovered_create::<K>(ctx, &*resource, with.owner, id).await?);
    Ok(Outcome::Synced {
        config: Box::new(K::in_sync(stored, with.desired)),
        events,
        clear_create_pending: with.owner.create_pending,
        token_expires: with.token_expires,
        expiring: K::expiring(with.desired),
        drift: None,
        enforcement_reset: false,
    })
}

/// A pass that starts with the create-pending mark and finds the configuration completes a
/// create that an earlier pass made but could not record: that create gets its Created Event
/// here, unless the earlier pass recorded it before it stopped.
async fn recovered_create<K: SsoKind>(
    ctx: &Context,
    resource: &K::Resource,
    owner: &Ownership,
    id: &str,
) -> Result<Vec<EventNote>> {
    if !owner.create_pending || notify::recorded(ctx, resource, reasons::CREATED).await? {
        return Ok(Vec::new());
    }
    Ok(vec![notify::created_before_restart(K::LABEL, id)])
}

/// Creates the configuration. Leaves the create-pending mark in place unless Infisical
/// definitely did not create anything (a 4xx answer).
async fn create<K: SsoKind>(
    ctx: &Context,
    resource: &mut K::Resource,
    connection: &Connection,
    desired: &K::Desired,
) -> Result<K::Answer> {
    pending::mark_create_pending(ctx, resource).await?;
    let result = K::create(&ctx.infisical, connection, desired).await;
    match &result {
        Ok(_) => ctx.metrics.infisical_write("create"),
        Err(error)
            if matches!(
                error.class(),
                ErrorClass::Permanent | ErrorClass::Auth | ErrorClass::RateLimited
            ) =>
        {
            pending::set_mark(ctx, resource, None).await?;
        }
        Err(_) => {}
    }
    result
}

/// Patches the fields in `patch`.
pub async fn update<K: SsoKind>(
    ctx: &Context,
    connection: &Connection,
    patch: &K::Patch,
) -> Result<K::Answer> {
    let answer = K::update(&ctx.infisical, connection, patch).await?;
    ctx.metrics.infisical_write("update");
    answer.ok_or_else(|| {
        Error::Decode(format!(
            "update answered with an empty body: the organization has no {} configuration",
            K::LABEL
        ))
    })
}

/// Adds the finalizer unless present, moving `resource` to the version written.
async fn ensure_finalizer<R: SsoResource>(ctx: &Context, resource: &mut R) -> Result<()> {
    if finalizer::has_finalizer(resource) {
        return Ok(());
    }
    let api: Api<R> = Api::namespaced(
        ctx.client.clone(),
        &resource.namespace().unwrap_or_default(),
    );
    *resource = finalizer::add(&api, resource).await?;
    Ok(())
}
