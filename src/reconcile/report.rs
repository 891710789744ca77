//! Step 6: turn a pass's outcome into status, Events and the next requeue.

use std::time::Duration;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::api::Patch;
use kube::runtime::controller::Action;
use kube::runtime::events::{Event, EventType};
use kube::{Api, Resource, ResourceExt};

use crate::api::conditions::{Health, TOKEN_EXPIRING, conditions_for};
use crate::api::{OidcSsoConfig, OidcSsoConfigStatus};
use crate::error::{Error, ErrorClass, Result};
use crate::infisical::wire::OidcConfigSummary;

use super::apply::{clear_create_pending, status_apply_params};
use super::context::Context;

/// An Event to record: its type, reason and note.
pub type EventNote = (EventType, &'static str, String);

/// What a pass achieved.
#[derive(Debug)]
pub enum Outcome {
    /// Infisical matches the spec (possibly after a write).
    Synced {
        config: Box<OidcConfigSummary>,
        /// Events to record for what happened, in order.
        events: Vec<EventNote>,
        clear_create_pending: bool,
        /// The client ID Infisical now holds (its answers do not include it).
        client_id: String,
        /// The static access token expires soon: when.
        token_expires: Option<std::time::SystemTime>,
        /// The fields found drifted (and corrected).
        drift: Option<Vec<String>>,
        /// The configuration was updated, which resets enforce-SSO and SCIM.
        enforcement_reset: bool,
    },
    /// `managementPolicy: Observe`: what Manage would do; nothing was written.
    Observed {
        plan: crate::api::PlannedChange,
        drift: Option<Vec<String>>,
    },
    Suspended,
    Failed(Error),
    /// A recent failure with the same inputs is still being waited out: change nothing.
    Held(Duration),
}

/// Writes status (only when it changed), records Events, and picks the requeue.
pub async fn report(
    ctx: &Context,
    resource: &OidcSsoConfig,
    outcome: Outcome,
    resync: Duration,
) -> Result<Action> {
    let key = super::context::memory_key(&resource.metadata);
    if let Outcome::Held(remaining) = outcome {
        return Ok(Action::requeue(remaining));
    }
    let old = resource.status.clone().unwrap_or_default();
    let mut status = old.clone();
    let generation = resource.metadata.generation.unwrap_or_default();

    let mut hold_for = None;
    let (health, action, clear_pending, write_events) = match &outcome {
        Outcome::Synced {
            config,
            events,
            clear_create_pending,
            client_id,
            drift,
            enforcement_reset,
            ..
        } => {
            mirror(&mut status, config);
            status.client_id = Some(client_id.clone());
            status.plan = None;
            let now = Time(k8s_openapi::jiff::Timestamp::now());
            if let Some(fields) = drift {
                status.last_drift = Some(crate::api::Drift {
                    detected_at: now.clone(),
                    fields: fields.clone(),
                });
            }
            if *enforcement_reset {
                status.sso_enforcement_reset = Some(crate::api::EnforcementReset {
                    at: now,
                    message: super::ENFORCEMENT_RESET.into(),
                });
            }
            ctx.update_memory(&key, |m| m.consecutive_failures = 0);
            // Until the next resync, passes with the same inputs (our own status and mark
            // writes wake the controller too) change nothing and must not call Infisical.
            let next = super::retry::jitter(resync);
            hold_for = Some(next);
            let message = format!("OIDC configuration {} is in sync", config.id);
            (
                Health::Ready {
                    reason: "Synced".into(),
                    message,
                },
                Action::requeue(next),
                *clear_create_pending,
                events.clone(),
            )
        }
        Outcome::Observed { plan, drift } => {
            ctx.update_memory(&key, |m| m.consecutive_failures = 0);
            let next = super::retry::jitter(resync);
            hold_for = Some(next);
            if let Some(fields) = drift
                && status
                    .last_drift
                    .as_ref()
                    .is_none_or(|d| &d.fields != fields)
            {
                status.last_drift = Some(crate::api::Drift {
                    detected_at: Time(k8s_openapi::jiff::Timestamp::now()),
                    fields: fields.clone(),
                });
            }
            status.plan = Some(plan.clone());
            let health = match plan.action.as_str() {
                "None" => Health::Ready {
                    reason: "Observing".into(),
                    message: "managementPolicy is Observe: Infisical matches the spec, nothing would change".into(),
                },
                "Create" => Health::Reconciling {
                    reason: "WouldCreate".into(),
                    message: "managementPolicy is Observe: Manage would create the OIDC configuration".into(),
                },
                _ => Health::Reconciling {
                    reason: "WouldUpdate".into(),
                    message: format!(
                        "managementPolicy is Observe: Manage would update {}{}",
                        plan.fields.join(", "),
                        if drift.is_some() { " (drift: the spec did not change)" } else { "" }
                    ),
                },
            };
            (health, Action::requeue(next), false, Vec::new())
        }
        Outcome::Suspended => (
            Health::Reconciling {
                reason: "Suspended".into(),
                message: "spec.suspend is true: no changes are made to Infisical".into(),
            },
            Action::await_change(),
            false,
            Vec::new(),
        ),
        Outcome::Failed(error) => {
            let (health, wait) = failure(ctx, &key, error, resync);
            hold_for = Some(wait);
            (health, Action::requeue(wait), false, Vec::new())
        }
        Outcome::Held(_) => unreachable!("returned above"),
    };
    // Suspension is neither progress nor failure: report it on Ready only.
    let mut conditions = conditions_for(
        &old.conditions,
        &health,
        generation,
        &Time(k8s_openapi::jiff::Timestamp::now()),
    );
    // Suspension and an observed plan are neither progress nor failure: Ready only.
    if matches!(outcome, Outcome::Suspended | Outcome::Observed { .. }) {
        conditions.truncate(1);
    }
    let expiring = match &outcome {
        Outcome::Synced {
            token_expires: Some(at),
            ..
        } => Some(token_expiring_message(*at)),
        _ => None,
    };
    if let Some(message) = &expiring {
        conditions.push(crate::api::conditions::true_condition(
            &old.conditions,
            TOKEN_EXPIRING,
            "TokenExpiring",
            message,
            generation,
            &Time(k8s_openapi::jiff::Timestamp::now()),
        ));
    }
    ctx.set_ready(&key, health.is_ready());
    status.conditions = conditions;
    status.observed_generation = Some(generation);
    // The digest is refreshed only with a status that changes anyway (or lacks one): a new
    // identity secret that changes nothing else must not cost a write. A stale digest only makes
    // the first pass after a restart check at once. (A sync-now request is not part of it.)
    if matches!(outcome, Outcome::Synced { .. } | Outcome::Observed { .. })
        && (status != old || old.inputs_digest.is_none())
        && let (Some(uid), Some(inputs)) = (
            resource.metadata.uid.as_deref(),
            ctx.memory(&key).last_synced_from,
        )
    {
        status.inputs_digest = Some(super::resume::status_digest(uid, &inputs));
    }

    if status != old {
        write_status(ctx, resource, &status).await?;
    }
    if let Some(wait) = hold_for {
        hold(ctx, &key, wait);
    }

    let old_reason = old
        .condition(crate::api::conditions::READY)
        .map(|c| c.reason.clone());
    // Events go out before the create-pending mark is cleared: a crash in between leaves the
    // mark, and the next pass finds the Created Event already recorded instead of losing it.
    if !write_events.is_empty() {
        for (type_, reason, note) in write_events {
            publish(ctx, resource, type_, reason, note).await;
        }
    } else if old_reason.as_deref() != Some(health.reason()) {
        let type_ = if health.is_ready()
            || matches!(outcome, Outcome::Suspended | Outcome::Observed { .. })
        {
            EventType::Normal
        } else {
            EventType::Warning
        };
        publish(
            ctx,
            resource,
            type_,
            health.reason(),
            health.message().to_string(),
        )
        .await;
    }
    if let Some(message) = expiring
        && old.condition(TOKEN_EXPIRING).is_none()
    {
        publish(ctx, resource, EventType::Warning, "TokenExpiring", message).await;
    }
    if clear_pending {
        clear_create_pending(ctx, resource).await?;
    }
    Ok(action)
}

/// Holds passes with the same inputs until `wait` is over: after a failure, until its retry is
/// due; after a success, until the next resync. Set only once the outcome is on the object, or a
/// held pass could never report it.
fn hold(ctx: &Context, key: &str, wait: Duration) {
    ctx.update_memory(key, |m| {
        m.hold = m.last_inputs.map(|inputs| super::context::Hold {
            inputs,
            until: std::time::Instant::now() + wait.saturating_sub(Duration::from_millis(50)),
        });
    });
}

/// Health and retry delay for a failed pass (the delay from the one retry policy).
fn failure(ctx: &Context, key: &str, error: &Error, resync: Duration) -> (Health, Duration) {
    let reason = error.reason().to_string();
    let message = error.to_string();
    ctx.metrics.reconcile_error(&reason);
    let wait = super::retry::after_failure(ctx, key, error, resync);
    match error.class() {
        ErrorClass::Permanent | ErrorClass::Auth => {
            tracing::warn!(%reason, error = %message, "stalled");
            (Health::Stalled { reason, message }, wait)
        }
        ErrorClass::RateLimited => {
            tracing::info!(wait_s = wait.as_secs(), "rate limited by Infisical");
            (Health::Reconciling { reason, message }, wait)
        }
        ErrorClass::Transient => {
            tracing::warn!(%reason, error = %message, retry_in_s = wait.as_secs_f64(), "transient failure; backing off");
            (
                Health::Reconciling {
                    reason,
                    message: format!("{message}; retrying with backoff"),
                },
                wait,
            )
        }
    }
}

fn mirror(status: &mut OidcSsoConfigStatus, c: &OidcConfigSummary) {
    let text = |v: &Option<String>| {
        v.as_ref()
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
    };
    status.id = Some(c.id.clone());
    status.org_id = Some(c.org_id.clone());
    status.is_active = Some(c.is_active);
    status.configuration_type = Some(c.configuration_type.clone());
    status.issuer = text(&c.issuer);
    status.discovery_url = text(&c.discovery_url);
    status.authorization_endpoint = text(&c.authorization_endpoint);
    status.jwks_uri = text(&c.jwks_uri);
    status.token_endpoint = text(&c.token_endpoint);
    status.userinfo_endpoint = text(&c.userinfo_endpoint);
    status.allowed_email_domains = text(&c.allowed_email_domains);
    status.manage_group_memberships = Some(c.manage_group_memberships);
    if let Some(alg) = text(&c.jwt_signature_algorithm) {
        status.jwt_signature_algorithm = Some(alg);
    }
}

async fn write_status(
    ctx: &Context,
    resource: &OidcSsoConfig,
    status: &OidcSsoConfigStatus,
) -> Result<()> {
    let api: Api<OidcSsoConfig> = Api::namespaced(
        ctx.client.clone(),
        &resource.namespace().unwrap_or_default(),
    );
    // The resourceVersion makes the write conditional: a pass that worked from a stale cached
    // object gets a 409 and is retried, instead of overwriting a newer status (and its id).
    let patch = serde_json::json!({
        "apiVersion": OidcSsoConfig::api_version(&()),
        "kind": OidcSsoConfig::kind(&()),
        "metadata": {"resourceVersion": resource.metadata.resource_version},
        "status": status,
    });
    api.patch_status(
        &resource.name_any(),
        &status_apply_params(),
        &Patch::Apply(&patch),
    )
    .await?;
    ctx.metrics.kubernetes_status_writes.inc();
    Ok(())
}

/// The warning for a static token that expires at `at`. Whole days, so the message (and the
/// status) changes at most once a day.
fn token_expiring_message(at: std::time::SystemTime) -> String {
    let left = at
        .duration_since(std::time::SystemTime::now())
        .unwrap_or_default();
    let days = left.as_secs() / 86_400;
    let when = k8s_openapi::jiff::Timestamp::try_from(at)
        .map(|t| t.strftime("%Y-%m-%d").to_string())
        .unwrap_or_default();
    format!(
        "the static access token expires on {when} (in {days} days, rounded down): put a new token in the Secret before then, or use Universal Auth"
    )
}

/// Whether an Event with `reason` is already recorded for this object (this uid).
pub async fn event_recorded(ctx: &Context, resource: &OidcSsoConfig, reason: &str) -> Result<bool> {
    let Some(uid) = resource.metadata.uid.as_deref() else {
        return Ok(false);
    };
    let events: Api<k8s_openapi::api::core::v1::Event> = Api::namespaced(
        ctx.client.clone(),
        &resource.namespace().unwrap_or_default(),
    );
    let selector = format!("involvedObject.uid={uid},reason={reason}");
    let found = events
        .list_metadata(&kube::api::ListParams::default().fields(&selector).limit(1))
        .await?;
    Ok(!found.items.is_empty())
}

pub async fn publish(
    ctx: &Context,
    resource: &OidcSsoConfig,
    type_: EventType,
    reason: &str,
    note: String,
) {
    let event = Event {
        type_,
        reason: reason.to_string(),
        note: Some(truncate(note, 1000)),
        action: "Reconcile".into(),
        secondary: None,
    };
    if let Err(error) = ctx
        .recorder
        .publish(&event, &resource.object_ref(&()))
        .await
    {
        tracing::warn!(%error, "could not record event");
    }
}

fn truncate(mut text: String, max: usize) -> String {
    if text.len() > max {
        let mut cut = max;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        text.truncate(cut);
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncation_respects_char_boundaries() {
        assert_eq!(truncate("ééé".into(), 3), "é");
    }
}
