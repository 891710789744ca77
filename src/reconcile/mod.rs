//! One reconcile pass: `dereference → validate → observe → decide → apply → report`.
//!
//! [`reconcile`] is the thin wrapper the controller calls: it owns the tracing span, the
//! metrics timer, malformed objects and the finalizer; [`sync`] is the pipeline itself.

pub mod apply;
pub mod cached;
pub mod context;
pub mod decide;
pub mod dereference;
pub mod finalizer;
pub mod idp_hosts;
pub mod index;
pub mod ownership;
pub mod preflight;
pub mod report;
pub mod resume;
pub mod retry;
pub mod validate;

use std::sync::Arc;
use std::time::Instant;

use kube::api::Patch;
use kube::core::DeserializeGuard;
use kube::runtime::controller::Action;
use kube::runtime::events::EventType;
use kube::{Api, Resource, ResourceExt};
use sha2::{Digest, Sha256};
use tracing::Instrument;

use crate::api::conditions::{READY, STALLED};
use crate::api::{
    CREATE_PENDING_ANNOTATION, DeletionPolicy, ManagementPolicy, OidcSsoConfig, PreflightPolicy,
};
use crate::error::{Error, Result};
use crate::infisical::wire::UpdateOidcConfig;
use crate::infisical::{Connection, Credentials, Priority};

use context::Context;
use decide::{Hints, Ownership, Plan};
use report::Outcome;

/// Entry point for the controller: reads the resource the cache names (the cache keeps only
/// what routes events, see `cached`), then runs a pass over it.
pub async fn reconcile(cached: Arc<cached::Cached>, ctx: Arc<Context>) -> Result<Action> {
    let started = Instant::now();
    ctx.metrics.reconciles.inc();
    // One pass at a time per permit, across every watched namespace.
    let _permit = ctx.permits.acquire().await;
    let api: Api<DeserializeGuard<OidcSsoConfig>> = Api::namespaced(
        ctx.client.clone(),
        cached.meta().namespace.as_deref().unwrap_or_default(),
    );
    let result = match api.get_opt(&cached.name_any()).await {
        Ok(Some(guard)) => pass(guard, &ctx).await,
        // Deleted since the event: its Delete event tidies up.
        Ok(None) => Ok(Action::await_change()),
        Err(error) => Err(error.into()),
    };
    ctx.metrics
        .reconcile_duration
        .observe(started.elapsed().as_secs_f64());
    result
}

/// One pass over a resource as read from the API server, readable or not.
pub async fn pass(guard: DeserializeGuard<OidcSsoConfig>, ctx: &Arc<Context>) -> Result<Action> {
    match guard.0 {
        Ok(resource) => {
            // A panic in one resource's pass must not end the controller (kube-runtime does not
            // catch it): it is reported on that resource and retried like a transient failure.
            let pass = std::panic::AssertUnwindSafe(reconcile_valid(resource.clone(), ctx));
            match futures::FutureExt::catch_unwind(pass).await {
                Ok(result) => result,
                Err(panic) => report_panic(ctx, &resource, panic).await,
            }
        }
        Err(invalid) => report_malformed(ctx, &invalid).await,
    }
}

async fn report_panic(
    ctx: &Context,
    resource: &OidcSsoConfig,
    panic: Box<dyn std::any::Any + Send>,
) -> Result<Action> {
    let what = panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic".into());
    tracing::error!(resource = %context::resource_key(&resource.metadata), panic = %what, "a reconcile pass panicked; reporting it on the resource");
    // The panic's text stays in the log: it is not ours to show on the object.
    let error = Error::Panicked;
    let resync = resync_of(ctx, resource);
    report::report(ctx, resource, Outcome::Failed(error), resync).await
}

async fn reconcile_valid(resource: OidcSsoConfig, ctx: &Arc<Context>) -> Result<Action> {
    let namespace = resource.namespace().unwrap_or_default();
    // Not `name`: a span's JSON object already has a `name` key, the span's own.
    let span = tracing::info_span!("reconcile", namespace = %namespace, resource = %resource.name_any(), generation = resource.metadata.generation);
    let api: Api<OidcSsoConfig> = Api::namespaced(ctx.client.clone(), &namespace);
    let ctx = ctx.clone();
    async move {
        if let Some(hook) = &ctx.settings.before_pass {
            (hook.0)(&resource);
        }
        if resource.metadata.deletion_timestamp.is_some() {
            if !finalizer::has_finalizer(&resource) {
                return Ok(Action::await_change());
            }
            let action = cleanup(&ctx, &resource).await?;
            finalizer::remove(&api, &resource).await?;
            return Ok(action);
        }
        // The finalizer is added by the pipeline, just before the resource first owns a
        // configuration (see `finalizer`); under Observe never.
        sync(&ctx, &resource).await
    }
    .instrument(span)
    .await
}

/// The pipeline for a resource that is not being deleted.
pub async fn sync(ctx: &Context, resource: &OidcSsoConfig) -> Result<Action> {
    let resync = resync_of(ctx, resource);
    // Writes during the pass move `current` to the version they produced, so the status write's
    // resourceVersion precondition holds only if nobody else changed the object meanwhile.
    let mut current = resource.clone();
    let outcome = if resource.spec.suspend {
        Outcome::Suspended
    } else {
        match run_pipeline(ctx, &mut current).await {
            Ok(outcome) => outcome,
            Err(error) => Outcome::Failed(error),
        }
    };
    report::report(ctx, &current, outcome, resync).await
}

async fn run_pipeline(ctx: &Context, resource: &mut OidcSsoConfig) -> Result<Outcome> {
    let spec = &resource.spec.clone();
    let namespace = resource.namespace().unwrap_or_default();
    let key = context::memory_key(&resource.metadata);

    let previous = ctx.memory(&key);
    ctx.update_memory(&key, |m| {
        m.last_inputs = None;
        m.last_synced_from = None;
    });
    // Cheap checks first: no Secret is read for a spec that cannot work.
    let base = validate::base_url(spec, &ctx.settings.allowed_hosts)?;
    validate::resync_interval(spec, ctx.settings.default_resync)?;

    let inputs = dereference::dereference(&ctx.client, &namespace, spec).await?;
    let synced_from = synced_from(resource, &inputs);
    let fingerprint = with_sync_request(resource, &synced_from);
    let memory = ctx.memory(&key);
    ctx.update_memory(&key, |m| {
        m.last_inputs = Some(fingerprint);
        m.last_synced_from = Some(synced_from);
    });
    if let Some(hold) = memory.hold.filter(|h| h.inputs == fingerprint) {
        let now = std::time::Instant::now();
        if now < hold.until {
            return Ok(Outcome::Held(hold.until - now));
        }
    }
    let token_expires = static_token_expiry(&inputs.credentials)?;
    let desired = validate::desired_state(spec, &inputs.client_secret)?;
    // The CRD makes organizationId immutable, but a cluster may not enforce CEL: never follow a
    // changed id into another organisation with this resource's recorded configuration.
    if let Some(recorded) = resource.status.as_ref().and_then(|s| s.org_id.as_deref())
        && !recorded.eq_ignore_ascii_case(&desired.organization_id)
    {
        return Err(Error::OrganizationChanged {
            recorded: recorded.to_string(),
            requested: desired.organization_id.clone(),
        });
    }

    let me = ownership::Claimant::of(resource);
    let competing_owner =
        ownership::competing_owner(&me, ctx.claimants(&spec.organization_id).iter());
    let status = resource.status.clone().unwrap_or_default();
    let owner = Ownership {
        recorded_id: status.id.clone(),
        create_pending: resource
            .annotations()
            .contains_key(CREATE_PENDING_ANNOTATION),
        adoption_policy: spec.adoption_policy,
        competing_owner,
    };
    if let Some(other) = &owner.competing_owner {
        return Err(Error::OwnershipConflict {
            org: desired.organization_id.clone(),
            other: other.clone(),
        });
    }

    let digest: [u8; 32] = Sha256::digest(desired.client_secret.expose().as_bytes()).into();
    // What `status.inputsDigest` holds when the status was written from these inputs.
    let inputs_digest = resource
        .metadata
        .uid
        .as_deref()
        .map(|uid| resume::status_digest(uid, &synced_from));
    if !memory.started {
        ctx.update_memory(&key, |m| m.started = true);
        if let Some(wait) = resume_later(
            resource,
            &owner,
            inputs_digest.as_deref(),
            resync_of(ctx, resource),
        ) {
            // The status says Ready with exactly these inputs: it stays as it is until the
            // recheck, and the budget goes to resources that changed while we were away.
            tracing::debug!(
                recheck_in_s = wait.as_secs(),
                "in sync when last checked; rechecking later"
            );
            ctx.set_ready(&key, true);
            ctx.update_memory(&key, |m| {
                m.secret_digest = Some(digest);
                m.hold = Some(context::Hold {
                    inputs: fingerprint,
                    until: std::time::Instant::now() + wait,
                });
            });
            return Ok(Outcome::Held(wait));
        }
    }

    // The sync-now annotation is all that changed since the last pass: someone asked for it.
    let sync_requested =
        previous.last_synced_from == Some(synced_from) && previous.last_inputs != Some(fingerprint);
    let connection = Connection {
        base,
        ca_pem: inputs.ca_pem,
        credentials: inputs.credentials,
        priority: pass_priority(resource, &owner, inputs_digest.as_deref(), sync_requested),
    };
    let observed = note_instance(
        ctx,
        resource,
        &connection,
        ctx.infisical
            .get_config(&connection, &desired.organization_id)
            .await,
    )?;

    let hints = Hints {
        spec_changed: if status.id.is_some() {
            decide::spec_differs_from_last_sync(&desired, &status)
        } else {
            status
                .observed_generation
                .is_some_and(|g| Some(g) != resource.metadata.generation)
        },
        secret_changed: memory.secret_digest.is_some_and(|d| d != digest),
    };
    let plan = match decide::decide(&desired, observed.as_ref(), &owner, hints) {
        Err(error @ (Error::AdoptionRequired { .. } | Error::IdMismatch { .. })) => {
            // A configuration that looks foreign may be our own create, recorded in a version
            // of the object the cache has not delivered yet: check before reporting it.
            let api: Api<OidcSsoConfig> = Api::namespaced(ctx.client.clone(), &namespace);
            let latest = api.get_metadata_opt(&resource.name_any()).await?;
            if latest
                .is_some_and(|l| l.metadata.resource_version != resource.metadata.resource_version)
            {
                tracing::debug!("cached copy is stale; retrying with the newer version");
                return Ok(Outcome::Held(std::time::Duration::from_millis(300)));
            }
            return Err(error);
        }
        other => other?,
    };
    tracing::debug!(?plan, "decided");
    let drift = plan.drifted_fields();
    if resource.spec.management_policy == ManagementPolicy::Observe {
        ctx.update_memory(&key, |m| m.secret_digest = Some(digest));
        return Ok(Outcome::Observed {
            plan: plan.summary(),
            drift,
        });
    }
    if let Some(fields) = &drift {
        // Reported before it is corrected, so the record shows what someone changed.
        report::publish(
            ctx,
            resource,
            EventType::Warning,
            "DriftDetected",
            describe_drift(fields),
        )
        .await;
    }

    let outcome = match plan {
        Plan::Create => {
            idp_hosts::check(&ctx.settings.idp_resolver, &desired, None).await?;
            run_preflight(ctx, resource, &desired, inputs.idp_ca_pem.as_deref(), None).await?;
            let created = apply::create(ctx, resource, &connection, &desired).await;
            let config = note_instance(ctx, resource, &connection, created)?;
            let note = format!(
                "created OIDC configuration {}. {SIGN_IN_NEEDS_VERIFIED_DOMAIN}",
                config.id
            );
            Outcome::Synced {
                config: Box::new(config),
                events: vec![(EventType::Normal, "Created", note)],
                clear_create_pending: true,
                client_id: desired.client_id.clone(),
                token_expires,
                drift: None,
                enforcement_reset: false,
            }
        }
        Plan::Update { id, patch, cause } => {
            idp_hosts::check(&ctx.settings.idp_resolver, &desired, Some(&patch)).await?;
            run_preflight(
                ctx,
                resource,
                &desired,
                inputs.idp_ca_pem.as_deref(),
                Some(&patch),
            )
            .await?;
            apply::ensure_finalizer(ctx, resource).await?;
            let mut events: Vec<_> = if owner.create_pending {
                recovered_create_event(ctx, resource, &id)
                    .await?
                    .into_iter()
                    .collect()
            } else {
                Vec::new()
            };
            let fields = patch.changed_fields().join(", ");
            let updated = apply::update(ctx, &connection, &patch).await;
            let mut config = note_instance(ctx, resource, &connection, updated)?;
            // The update's answer omits the algorithm; it now holds the desired one.
            config
                .jwt_signature_algorithm
                .get_or_insert_with(|| desired.jwt_signature_algorithm.to_string());
            events.push((
                EventType::Normal,
                cause.event_reason(),
                format!("updated OIDC configuration {id}: {fields}"),
            ));
            events.push((
                EventType::Warning,
                "SsoEnforcementReset",
                ENFORCEMENT_RESET.into(),
            ));
            Outcome::Synced {
                config: Box::new(config),
                events,
                clear_create_pending: owner.create_pending,
                client_id: desired.client_id.clone(),
                token_expires,
                drift,
                enforcement_reset: true,
            }
        }
        Plan::InSync { id, adopted } => {
            apply::ensure_finalizer(ctx, resource).await?;
            let config = observed.expect("in sync implies observed").config;
            let mut events = Vec::new();
            if adopted {
                events.push((
                    EventType::Normal,
                    "Adopted",
                    format!("adopted existing OIDC configuration {id}"),
                ));
            }
            if owner.create_pending {
                events.extend(recovered_create_event(ctx, resource, &id).await?);
            }
            Outcome::Synced {
                config: Box::new(config),
                events,
                clear_create_pending: owner.create_pending,
                client_id: desired.client_id.clone(),
                token_expires,
                drift: None,
                enforcement_reset: false,
            }
        }
    };
    ctx.update_memory(&key, |m| m.secret_digest = Some(digest));
    Ok(outcome)
}

/// The IdP preflight, as the resource's (or the operator's default) policy says.
async fn run_preflight(
    ctx: &Context,
    resource: &OidcSsoConfig,
    desired: &validate::Desired,
    ca_pem: Option<&[u8]>,
    patch: Option<&UpdateOidcConfig>,
) -> Result<()> {
    let policy = resource
        .spec
        .preflight
        .unwrap_or(ctx.settings.default_preflight);
    if policy == PreflightPolicy::Skip || !preflight::needed(patch) {
        return Ok(());
    }
    match preflight::check(desired, ca_pem).await {
        Ok(()) => Ok(()),
        Err(error) if policy == PreflightPolicy::Warn => {
            report::publish(
                ctx,
                resource,
                EventType::Warning,
                "IdpPreflightWarning",
                preflight::warning_note(&error),
            )
            .await;
            Ok(())
        }
        Err(error) => Err(error),
    }
}

/// What every update makes Infisical do, and what only a person can undo.
pub const ENFORCEMENT_RESET: &str = "Infisical turned off enforce-SSO and SCIM for the organisation when the OIDC configuration was updated (it does so on every update, and a machine identity cannot turn them back on): an organisation admin must re-enable them in Infisical's Organization Settings";

/// What a new configuration needs before anyone can sign in through it, which only an
/// organisation admin can do (Infisical's email-domain API takes user sessions only).
pub const SIGN_IN_NEEDS_VERIFIED_DOMAIN: &str = "Infisical lets members sign in through it only with an email whose domain is a verified email domain of the organisation (Organization Settings in Infisical) and is allowed by allowedEmailDomains";

/// The DriftDetected note: the fields that differ, never a value (a secret's only as differing).
fn describe_drift(fields: &[String]) -> String {
    let named: Vec<String> = fields
        .iter()
        .map(|f| {
            if f == "clientSecret" {
                "clientSecret (its value differs; not shown)".to_string()
            } else {
                f.to_string()
            }
        })
        .collect();
    format!(
        "Infisical differs from the spec, which did not change (an edit made elsewhere): {}; correcting it",
        named.join(", ")
    )
}

/// How far ahead a static token's expiry is reported (condition `TokenExpiring`, Warning Event).
pub const TOKEN_EXPIRY_WARNING: std::time::Duration = std::time::Duration::from_secs(7 * 86_400);

/// An expired static token stops the pass before Infisical is called (Stalled `TokenExpired`);
/// one that expires within [`TOKEN_EXPIRY_WARNING`] is returned, to be reported.
fn static_token_expiry(credentials: &Credentials) -> Result<Option<std::time::SystemTime>> {
    let Some(expires) = credentials.static_token_expiry() else {
        return Ok(None);
    };
    match expires.duration_since(std::time::SystemTime::now()) {
        Err(_) | Ok(std::time::Duration::ZERO) => Err(Error::TokenExpired {
            expired_at: k8s_openapi::jiff::Timestamp::try_from(expires)
                .map(|t| t.to_string())
                .unwrap_or_else(|_| "an unknown time".into()),
        }),
        Ok(left) if left <= TOKEN_EXPIRY_WARNING => Ok(Some(expires)),
        Ok(_) => Ok(None),
    }
}

/// Passes an Infisical call's result through, noting whether the resource now waits for the
/// instance to answer again (an outage, a 5xx): the recovery probe retries it as soon as it does.
fn note_instance<T>(
    ctx: &Context,
    resource: &OidcSsoConfig,
    connection: &Connection,
    result: Result<T>,
) -> Result<T> {
    let key = context::memory_key(&resource.metadata);
    match &result {
        Err(error) if error.is_instance_unavailable() => ctx.wait_for_instance(
            context::Waiting {
                base: connection.base.clone(),
                ca_pem: connection.ca_pem.clone(),
            },
            context::Waiter {
                object: kube::runtime::reflector::ObjectRef::new(&resource.name_any())
                    .within(&resource.namespace().unwrap_or_default()),
                memory_key: key,
            },
        ),
        _ => ctx.stop_waiting(&key),
    }
    result
}

/// A pass that starts with the create-pending mark and finds the configuration completes a
/// create that an earlier pass made but could not record: that create gets its Created Event
/// here, unless the earlier pass recorded it before it stopped.
async fn recovered_create_event(
    ctx: &Context,
    resource: &OidcSsoConfig,
    id: &str,
) -> Result<Option<report::EventNote>> {
    let recorded = report::event_recorded(ctx, resource, "Created").await?;
    Ok((!recorded).then(|| {
        (
            EventType::Normal,
            "Created",
            format!(
                "created OIDC configuration {id} (recorded after the operator restarted mid-create). {SIGN_IN_NEEDS_VERIFIED_DOMAIN}"
            ),
        )
    }))
}

fn resync_of(ctx: &Context, resource: &OidcSsoConfig) -> std::time::Duration {
    validate::resync_interval(&resource.spec, ctx.settings.default_resync)
        .unwrap_or(ctx.settings.default_resync)
}

/// On a resource's first pass since the operator started: how long to wait before checking
/// Infisical, when its status already records these inputs in sync (see `resume`).
fn resume_later(
    resource: &OidcSsoConfig,
    owner: &Ownership,
    inputs_digest: Option<&str>,
    resync: std::time::Duration,
) -> Option<std::time::Duration> {
    let uid = resource.metadata.uid.as_deref()?;
    let digest = inputs_digest?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    match resume::first_pass(resume::Start {
        record: record(resource, owner, digest),
        uid,
        resync,
        now,
    }) {
        resume::FirstPass::CheckNow => None,
        resume::FirstPass::RecheckIn(wait) => Some(wait),
    }
}

/// Whether this pass's Infisical requests yield the budget to changes (see `resume::priority`).
fn pass_priority(
    resource: &OidcSsoConfig,
    owner: &Ownership,
    inputs_digest: Option<&str>,
    sync_requested: bool,
) -> Priority {
    let Some(digest) = inputs_digest else {
        return Priority::Foreground;
    };
    resume::priority(&record(resource, owner, digest), sync_requested)
}

/// What the resource's status records, set against inputs of the given digest.
fn record<'a>(
    resource: &'a OidcSsoConfig,
    owner: &Ownership,
    digest: &'a str,
) -> resume::Record<'a> {
    resume::Record {
        status: resource.status.as_ref(),
        generation: resource.metadata.generation,
        create_pending: owner.create_pending,
        digest,
    }
}

/// What a configuration is synced from: the spec (its generation) and the values of the
/// Secrets it reads. Recorded in status (keyed, see `resume`) for the first pass after a start.
fn synced_from(resource: &OidcSsoConfig, inputs: &dereference::Inputs) -> [u8; 32] {
    let mut hasher = Sha256::new();
    hasher.update(
        resource
            .metadata
            .generation
            .unwrap_or_default()
            .to_le_bytes(),
    );
    hasher.update(inputs.client_secret.expose().as_bytes());
    hasher.update([0]);
    hasher.update(inputs.credentials.identity_key().as_bytes());
    hasher.update([0]);
    hasher.update(inputs.ca_pem.as_deref().unwrap_or_default());
    hasher.finalize().into()
}

/// What a pass acts on: [`synced_from`] and the sync-now annotation. A failed pass is retried
/// early only when one of these changed.
fn with_sync_request(resource: &OidcSsoConfig, synced_from: &[u8; 32]) -> [u8; 32] {
    let requested = resource
        .annotations()
        .get(crate::api::RECONCILE_REQUESTED_AT_ANNOTATION);
    let mut hasher = Sha256::new();
    hasher.update(synced_from);
    hasher.update(requested.map(String::as_str).unwrap_or("").as_bytes());
    hasher.finalize().into()
}

/// Runs the deletion policy. Orphan (or a suspended resource) leaves Infisical untouched.
async fn cleanup(ctx: &Context, resource: &OidcSsoConfig) -> Result<Action> {
    let key = context::memory_key(&resource.metadata);
    let recorded_id = resource.status.as_ref().and_then(|s| s.id.clone());
    let result = match (resource.spec.deletion_policy, recorded_id) {
        (DeletionPolicy::Deactivate, Some(id)) if !resource.spec.suspend => {
            deactivate(ctx, resource, &id).await
        }
        _ => Ok(()),
    };
    if let Err(error) = result {
        let error = Error::DeletionPolicyFailed {
            policy: "Deactivate",
            source: Box::new(error),
        };
        report::publish(
            ctx,
            resource,
            kube::runtime::events::EventType::Warning,
            error.reason(),
            error.to_string(),
        )
        .await;
        return Err(error);
    }
    ctx.forget(&key);
    Ok(Action::await_change())
}

async fn deactivate(ctx: &Context, resource: &OidcSsoConfig, id: &str) -> Result<()> {
    let namespace = resource.namespace().unwrap_or_default();
    let base = validate::base_url(&resource.spec, &ctx.settings.allowed_hosts)?;
    let (credentials, ca_pem) =
        dereference::connection_inputs(&ctx.client, &namespace, &resource.spec).await?;
    let connection = Connection {
        base,
        ca_pem,
        credentials,
        priority: Priority::Foreground,
    };
    let organization_id = resource.spec.organization_id.trim().to_string();
    let Some(observed) = ctx
        .infisical
        .get_config(&connection, &organization_id)
        .await?
    else {
        return Ok(());
    };
    if observed.config.id != id || !observed.config.is_active {
        return Ok(());
    }
    let patch = UpdateOidcConfig {
        organization_id,
        is_active: Some(false),
        ..UpdateOidcConfig::default()
    };
    apply::update(ctx, &connection, &patch).await?;
    report::publish(
        ctx,
        resource,
        EventType::Normal,
        "Deactivated",
        format!("deactivated OIDC configuration {id}"),
    )
    .await;
    report::publish(
        ctx,
        resource,
        EventType::Warning,
        "SsoEnforcementReset",
        ENFORCEMENT_RESET.into(),
    )
    .await;
    Ok(())
}

/// A stored object that does not match the schema this operator understands: report it on the
/// object itself and wait for it to change. Other resources are unaffected.
async fn report_malformed(
    ctx: &Context,
    invalid: &kube::core::error_boundary::InvalidObject,
) -> Result<Action> {
    let (Some(namespace), Some(name)) = (
        invalid.metadata.namespace.clone(),
        invalid.metadata.name.clone(),
    ) else {
        return Ok(Action::await_change());
    };
    let key = context::memory_key(&invalid.metadata);
    let reported = (
        invalid.metadata.generation.unwrap_or_default(),
        invalid.error.clone(),
    );
    if ctx.memory(&key).reported_malformed.as_deref() == Some(&reported) {
        // Already on the object: writing again would only trigger another pass.
        return Ok(Action::await_change());
    }
    tracing::warn!(%namespace, %name, error = %invalid.error, "malformed OidcSsoConfig");
    let error = Error::MalformedResource(invalid.error.clone());
    ctx.metrics.reconcile_error(error.reason());
    let now = k8s_openapi::jiff::Timestamp::now().to_string();
    let condition = |type_: &str, status: &str| {
        serde_json::json!({"type": type_, "status": status, "reason": error.reason(), "message": error.to_string(),
            "observedGeneration": invalid.metadata.generation, "lastTransitionTime": now})
    };
    // The same server-side apply, field manager and resourceVersion precondition as every other
    // status write: the object cannot be read as our type, so it goes out as untyped JSON.
    let patch = serde_json::json!({
        "apiVersion": OidcSsoConfig::api_version(&()),
        "kind": OidcSsoConfig::kind(&()),
        "metadata": {"resourceVersion": invalid.metadata.resource_version},
        "status": {
            "observedGeneration": invalid.metadata.generation,
            "conditions": [condition(READY, "False"), condition(STALLED, "True")],
        },
    });
    let api: Api<kube::core::DynamicObject> = Api::namespaced_with(
        ctx.client.clone(),
        &namespace,
        &kube::core::ApiResource::erase::<OidcSsoConfig>(&()),
    );
    api.patch_status(&name, &apply::status_apply_params(), &Patch::Apply(&patch))
        .await?;
    ctx.metrics.kubernetes_status_writes.inc();
    ctx.update_memory(&key, |m| m.reported_malformed = Some(Box::new(reported)));
    Ok(Action::await_change())
}
