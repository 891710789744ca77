//! Events on a resource: recording one (its note cut to the API's limit), asking whether one is
//! already recorded, and the texts of the notes a pass writes. Reasons are `api::reasons`.

use kube::runtime::events::{Event, EventType};
use kube::{Api, ResourceExt};

use super::context::Context;
use crate::api::{SsoResource, reasons};
use crate::error::Result;

/// An Event to record: its type, reason and note.
pub type EventNote = (EventType, &'static str, String);

/// What every update makes Infisical do, and what only a person can undo.
pub const ENFORCEMENT_RESET: &str = "Infisical turned off enforce-SSO and SCIM for the organisation when its OIDC or SAML configuration was updated (it does so on every update, and a machine identity cannot turn them back on): an organisation admin must re-enable them in Infisical's Organization Settings";

/// What a new configuration needs before anyone can sign in through it, which only an
/// organisation admin can do (Infisical's email-domain API takes user sessions only).
pub const SIGN_IN_NEEDS_VERIFIED_DOMAIN: &str = "Infisical lets members sign in through it only with an email whose domain is a verified email domain of the organisation (Organization Settings in Infisical) and, for OIDC, is allowed by allowedEmailDomains";

/// The warning that follows every update.
pub fn enforcement_reset() -> EventNote {
    (
        EventType::Warning,
        reasons::SSO_ENFORCEMENT_RESET,
        ENFORCEMENT_RESET.into(),
    )
}

pub fn created(label: &str, id: &str) -> EventNote {
    (
        EventType::Normal,
        reasons::CREATED,
        format!("created {label} configuration {id}. {SIGN_IN_NEEDS_VERIFIED_DOMAIN}"),
    )
}

/// A create that an earlier pass made but could not record, completed by this one.
pub fn created_before_restart(label: &str, id: &str) -> EventNote {
    (
        EventType::Normal,
        reasons::CREATED,
        format!(
            "created {label} configuration {id} (recorded after the operator restarted mid-create). {SIGN_IN_NEEDS_VERIFIED_DOMAIN}"
        ),
    )
}

pub fn updated(reason: &'static str, label: &str, id: &str, fields: &[&str]) -> EventNote {
    (
        EventType::Normal,
        reason,
        format!("updated {label} configuration {id}: {}", fields.join(", ")),
    )
}

pub fn adopted(label: &str, id: &str) -> EventNote {
    (
        EventType::Normal,
        reasons::ADOPTED,
        format!("adopted existing {label} configuration {id}"),
    )
}

pub fn deactivated(label: &str, id: &str) -> EventNote {
    (
        EventType::Normal,
        reasons::DEACTIVATED,
        format!("deactivated {label} configuration {id}"),
    )
}

/// The DriftDetected note: the fields that differ, never a value (a secret's only as differing).
pub fn drift_detected(fields: &[String]) -> EventNote {
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
    (
        EventType::Warning,
        reasons::DRIFT_DETECTED,
        format!(
            "Infisical differs from the spec, which did not change (an edit made elsewhere): {}; correcting it",
            named.join(", ")
        ),
    )
}

/// The warning for a static token that expires at `at`. Whole days, so the message (and the
/// status) changes at most once a day.
pub fn token_expiring_message(at: std::time::SystemTime) -> String {
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

/// Records an Event on the resource. A failure to record is logged, never fails the pass.
pub async fn publish<R: SsoResource>(
    ctx: &Context,
    resource: &R,
    (type_, reason, note): EventNote,
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

/// Whether an Event with `reason` is already recorded for this object (this uid).
pub async fn recorded<R: SsoResource>(ctx: &Context, resource: &R, reason: &str) -> Result<bool> {
    let Some(uid) = resource.meta().uid.as_deref() else {
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
