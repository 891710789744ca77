//! kstatus conditions: `Ready` always, `Reconciling` and `Stalled` only while true.
//!
//! Conditions are rebuilt from a [`Health`] each pass; a condition keeps its
//! `lastTransitionTime` unless its status flips, so a pass that changes nothing produces the
//! same conditions and therefore no status write.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};

pub const READY: &str = "Ready";
pub const RECONCILING: &str = "Reconciling";
pub const STALLED: &str = "Stalled";
/// Present (True) while the static access token expires within the warning period; its reason
/// is the same word.
pub const TOKEN_EXPIRING: &str = super::reasons::TOKEN_EXPIRING;
/// SAML: the identity provider's certificate expires soon (or has expired).
pub const IDP_CERTIFICATE_EXPIRING: &str = super::reasons::IDP_CERTIFICATE_EXPIRING;

/// Where a resource stands after a pass.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Health {
    /// Infisical matches the spec.
    Ready {
        reason: &'static str,
        message: String,
    },
    /// Work in progress or a transient failure that will be retried.
    Reconciling {
        reason: &'static str,
        message: String,
    },
    /// A failure that needs a change to the spec, a Secret or Infisical.
    Stalled {
        reason: &'static str,
        message: String,
    },
}

impl Health {
    pub fn reason(&self) -> &'static str {
        match self {
            Self::Ready { reason, .. }
            | Self::Reconciling { reason, .. }
            | Self::Stalled { reason, .. } => reason,
        }
    }

    pub fn message(&self) -> &str {
        match self {
            Self::Ready { message, .. }
            | Self::Reconciling { message, .. }
            | Self::Stalled { message, .. } => message,
        }
    }

    pub fn is_ready(&self) -> bool {
        matches!(self, Self::Ready { .. })
    }
}

/// The conditions for `health`, carrying transition times over from `existing`.
pub fn conditions_for(
    existing: &[Condition],
    health: &Health,
    generation: i64,
    now: &Time,
) -> Vec<Condition> {
    let (ready_status, extra) = match health {
        Health::Ready { .. } => ("True", None),
        Health::Reconciling { .. } => ("False", Some(RECONCILING)),
        Health::Stalled { .. } => ("False", Some(STALLED)),
    };
    let mut out = vec![condition(
        existing,
        READY,
        ready_status,
        health,
        generation,
        now,
    )];
    if let Some(type_) = extra {
        out.push(condition(existing, type_, "True", health, generation, now));
    }
    out
}

/// A condition of `type_` that is True with `reason` and `message`, keeping its transition time.
pub fn true_condition(
    existing: &[Condition],
    type_: &str,
    reason: &'static str,
    message: &str,
    generation: i64,
    now: &Time,
) -> Condition {
    let health = Health::Ready {
        reason,
        message: message.to_string(),
    };
    condition(existing, type_, "True", &health, generation, now)
}

fn condition(
    existing: &[Condition],
    type_: &str,
    status: &str,
    health: &Health,
    generation: i64,
    now: &Time,
) -> Condition {
    let last_transition_time = existing
        .iter()
        .find(|c| c.type_ == type_ && c.status == status)
        .map(|c| c.last_transition_time.clone())
        .unwrap_or_else(|| now.clone());
    Condition {
        type_: type_.to_string(),
        status: status.to_string(),
        reason: health.reason().to_string(),
        message: health.message().to_string(),
        observed_generation: Some(generation),
        last_transition_time,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::jiff::Timestamp;

    fn at(secs: i64) -> Time {
        Time(Timestamp::from_second(secs).unwrap())
    }

    fn ready() -> Health {
        Health::Ready {
            reason: "Synced",
            message: "in sync".into(),
        }
    }

    #[test]
    fn ready_has_only_the_ready_condition() {
        let c = conditions_for(&[], &ready(), 3, &at(10));
        assert_eq!(c.len(), 1);
        assert_eq!((c[0].type_.as_str(), c[0].status.as_str()), (READY, "True"));
        assert_eq!(c[0].observed_generation, Some(3));
    }

    #[test]
    fn stalled_sets_ready_false_and_stalled_true() {
        let h = Health::Stalled {
            reason: "InvalidSpec",
            message: "bad".into(),
        };
        let c = conditions_for(&[], &h, 1, &at(10));
        assert_eq!(c.len(), 2);
        assert_eq!(c[0].status, "False");
        assert_eq!(
            (
                c[1].type_.as_str(),
                c[1].status.as_str(),
                c[1].reason.as_str()
            ),
            (STALLED, "True", "InvalidSpec")
        );
    }

    #[test]
    fn transition_time_is_kept_while_status_is_unchanged() {
        let first = conditions_for(&[], &ready(), 1, &at(10));
        let again = conditions_for(&first, &ready(), 2, &at(99));
        assert_eq!(again[0].last_transition_time, at(10));
        let flipped = conditions_for(
            &again,
            &Health::Reconciling {
                reason: "Backoff",
                message: "x".into(),
            },
            2,
            &at(120),
        );
        assert_eq!(flipped[0].last_transition_time, at(120));
    }
}
