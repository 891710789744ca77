//! Step 7: turn a pass's outcome into status, Events and the next requeue. What the pass
//! established is handed in (the fingerprints of its inputs, its resync interval); the memory is
//! updated once when the outcome is known, and the hold once it is on the object.

use std::time::Duration;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::Resource;
use kube::runtime::controller::Action;
use kube::runtime::events::EventType;

use super::context::Context;
use super::fingerprint::Fingerprints;
use super::kind::SsoKind;
use super::memory::{Memory, ResourceMemory};
use super::notify;
use super::outcome::{Outcome, Progress};
use super::pending::clear_create_pending;
use super::retry;
use crate::api::conditions::{Health, READY, TOKEN_EXPIRING, conditions_for, true_condition};
use crate::api::{Drift, EnforcementReset, PlannedChange, SsoResource, reasons};
use crate::error::{Error, ErrorClass, Result};

/// Writes status (only when it changed), records Events, updates the resource's memory, and
/// picks the requeue. `progress` is `None` for a pass whose progress is unknown (it panicked)
/// or that did not run the pipeline (suspended): the memory of its inputs stands.
pub async fn report<K: SsoKind>(
    ctx: &Context,
    resource: &K::Resource,
    memory: &ResourceMemory<'_>,
    outcome: Outcome<K>,
    progress: Option<&Progress>,
    resync: Duration,
) -> Result<Action> {
    let fingerprints = progress.and_then(|p| p.fingerprints.as_ref());
    let (health, wait) = match &outcome {
        Outcome::Held(wait) => {
            memory.update(|m| remember(m, progress, false));
            return Ok(Action::requeue(*wait));
        }
        Outcome::Deferred(wait) => {
            memory.update(|m| {
                remember(m, progress, true);
                m.ready = true;
                if let Some(f) = fingerprints {
                    retry::hold_for(m, f.inputs, *wait);
                }
            });
            return Ok(Action::requeue(*wait));
        }
        Outcome::Synced { config, .. } => {
            let next = memory.update(|m| {
                remember(m, progress, true);
                m.ready = true;
                retry::after_success(m, resync)
            });
            let health = Health::Ready {
                reason: reasons::SYNCED,
                message: format!(
                    "{} configuration {} is in sync",
                    K::LABEL,
                    K::written_id(config)
                ),
            };
            (health, Some(next))
        }
        Outcome::Observed { plan, drift } => {
            let health = observed_health(K::LABEL, plan, drift.is_some());
            let next = memory.update(|m| {
                remember(m, progress, true);
                m.ready = health.is_ready();
                retry::after_success(m, resync)
            });
            (health, Some(next))
        }
        Outcome::Suspended => {
            memory.update(|m| m.ready = false);
            let health = Health::Reconciling {
                reason: reasons::SUSPENDED,
                message: "spec.suspend is true: no changes are made to Infisical".into(),
            };
            (health, None)
        }
        Outcome::Failed(error) => {
            ctx.metrics.reconcile_error(error.reason());
            let wait = memory.update(|m| {
                remember(m, progress, false);
                m.ready = false;
                retry::after_failure(&ctx.settings, m, error, resync)
            });
            (failure(error, wait), Some(wait))
        }
    };
    // Suspension and an observed plan are neither progress nor failure.
    let quiet = matches!(outcome, Outcome::Suspended | Outcome::Observed { .. });
    let (events, clear_pending, expiring) = match &outcome {
        Outcome::Synced {
            events,
            clear_create_pending,
            token_expires,
            expiring,
            ..
        } => {
            let token = token_expires.map(|at| Warning {
                condition: TOKEN_EXPIRING,
                reason: reasons::TOKEN_EXPIRING,
                message: notify::token_expiring_message(at),
            });
            let kind = expiring.as_ref().map(|e| Warning {
                condition: e.condition,
                reason: e.reason,
                message: e.message.clone(),
            });
            let warnings: Vec<Warning> = token.into_iter().chain(kind).collect();
            (events.clone(), *clear_create_pending, warnings)
        }
        _ => (Vec::new(), false, Vec::new()),
    };

    let old = resource.status().cloned().unwrap_or_default();
    let status = status_for::<K>(resource, &old, &outcome, &health, &expiring, fingerprints);
    if status != old {
        super::status::write::<K::Resource>(ctx, resource.meta(), &status).await?;
    }
    if let Some(wait) = wait {
        // Only now that the outcome is on the object: a held pass could never report it.
        memory.update(|m| {
            let inputs = match progress {
                Some(p) => p.fingerprints.as_ref().map(|f| f.inputs),
                None => m.last_inputs,
            };
            retry::hold_after_outcome(m, inputs, wait);
        });
    }

    // Events go out before the create-pending mark is cleared: a crash in between leaves the
    // mark, and the next pass finds the Created Event already recorded instead of losing it.
    let old_reason = old.condition(READY).map(|c| c.reason.as_str());
    if !events.is_empty() {
        for event in events {
            notify::publish(ctx, resource, event).await;
        }
    } else if old_reason != Some(health.reason()) {
        let type_ = if health.is_ready() || quiet {
            EventType::Normal
        } else {
            EventType::Warning
        };
        let note = (type_, health.reason(), health.message().to_string());
        notify::publish(ctx, resource, note).await;
    }
    for warning in expiring {
        if old.condition(warning.condition).is_none() {
            let note = (EventType::Warning, warning.reason, warning.message);
            notify::publish(ctx, resource, note).await;
        }
    }
    if clear_pending {
        clear_create_pending(ctx, resource).await?;
    }
    Ok(match wait {
        Some(wait) => Action::requeue(wait),
        None => Action::await_change(),
    })
}

/// What every pass that read its inputs records of them (and, past the first-pass decision,
/// that this process has started on the resource).
fn remember(memory: &mut Memory, progress: Option<&Progress>, succeeded: bool) {
    let Some(progress) = progress else {
        return;
    };
    memory.last_inputs = progress.fingerprints.as_ref().map(|f| f.inputs);
    memory.last_synced_from = progress.fingerprints.as_ref().map(|f| f.synced_from);
    memory.started |= progress.started;
    if succeeded && let Some(f) = &progress.fingerprints {
        memory.secret_digest = Some(f.client_secret);
    }
}

/// The status for `outcome`: the configuration mirrored, conditions from `health`, drift, plan,
/// the enforcement reset, and the inputs digest.
fn status_for<K: SsoKind>(
    resource: &K::Resource,
    old: &K::Status,
    outcome: &Outcome<K>,
    health: &Health,
    expiring: &[Warning],
    fingerprints: Option<&Fingerprints>,
) -> K::Status {
    let mut status = old.clone();
    let generation = resource.meta().generation.unwrap_or_default();
    let now = Time(k8s_openapi::jiff::Timestamp::now());
    match outcome {
        Outcome::Synced {
            config,
            drift,
            enforcement_reset,
            ..
        } => {
            K::mirror(&mut status, config);
            status.plan = None;
            if let Some(fields) = drift {
                status.last_drift = Some(Drift {
                    detected_at: now.clone(),
                    fields: fields.clone(),
                });
            }
            if *enforcement_reset {
                status.sso_enforcement_reset = Some(EnforcementReset {
                    at: now.clone(),
                    message: notify::ENFORCEMENT_RESET.into(),
                });
            }
        }
        Outcome::Observed { plan, drift } => {
            if let Some(fields) = drift
                && status
                    .last_drift
                    .as_ref()
                    .is_none_or(|d| &d.fields != fields)
            {
                status.last_drift = Some(Drift {
                    detected_at: now.clone(),
                    fields: fields.clone(),
                });
            }
            status.plan = Some(plan.clone());
        }
        _ => {}
    }
    let mut conditions = conditions_for(&old.conditions, health, generation, &now);
    // Suspension and an observed plan are neither progress nor failure: Ready only.
    if matches!(outcome, Outcome::Suspended | Outcome::Observed { .. }) {
        conditions.truncate(1);
    }
    for warning in expiring {
        conditions.push(true_condition(
            &old.conditions,
            warning.condition,
            warning.reason,
            &warning.message,
            generation,
            &now,
        ));
    }
    status.conditions = conditions;
    status.observed_generation = Some(generation);
    // The digest is refreshed only with a status that changes anyway (or lacks one): a new
    // identity secret that changes nothing else must not cost a write. A stale digest only makes
    // the first pass after a restart check at once. (A sync-now request is not part of it.)
    if matches!(outcome, Outcome::Synced { .. } | Outcome::Observed { .. })
        && (status != *old || old.inputs_digest.is_none())
        && let Some(digest) = fingerprints.and_then(|f| f.status_digest.clone())
    {
        status.inputs_digest = Some(digest);
    }
    status
}

/// The Ready condition under `managementPolicy: Observe`.
fn observed_health(label: &str, plan: &PlannedChange, drift: bool) -> Health {
    let observe = "managementPolicy is Observe";
    match plan.action.as_str() {
        "None" => Health::Ready {
            reason: reasons::OBSERVING,
            message: format!("{observe}: Infisical matches the spec, nothing would change"),
        },
        "Create" => Health::Reconciling {
            reason: reasons::WOULD_CREATE,
            message: format!("{observe}: Manage would create the {label} configuration"),
        },
        _ => Health::Reconciling {
            reason: reasons::WOULD_UPDATE,
            message: format!(
                "{observe}: Manage would update {}{}",
                plan.fields.join(", "),
                if drift {
                    " (drift: the spec did not change)"
                } else {
                    ""
                }
            ),
        },
    }
}

/// A warning condition, with its Event when it first appears: a static token or something of
/// the kind's desired state that expires soon.
struct Warning {
    condition: &'static str,
    reason: &'static str,
    message: String,
}

/// The health of a failed pass that waits `wait` (the delay from the one retry policy).
fn failure(error: &Error, wait: Duration) -> Health {
    let reason = error.reason();
    let message = error.to_string();
    match error.class() {
        ErrorClass::Permanent | ErrorClass::Auth => {
            tracing::warn!(%reason, error = %message, "stalled");
            Health::Stalled { reason, message }
        }
        ErrorClass::RateLimited => {
            tracing::info!(wait_s = wait.as_secs(), "rate limited by Infisical");
            Health::Reconciling { reason, message }
        }
        ErrorClass::Transient => {
            tracing::warn!(%reason, error = %message, retry_in_s = wait.as_secs_f64(), "transient failure; backing off");
            Health::Reconciling {
                reason,
                message: format!("{message}; retrying with backoff"),
            }
        }
    }
}
