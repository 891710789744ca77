//! What a pass produces, whatever its path: its outcome, and what it established on the way.
//! `report` turns both into status, Events, memory and the next requeue.

use std::time::{Duration, SystemTime};

use super::fingerprint::Fingerprints;
use super::kind::{Expiring, SsoKind};
use super::notify::EventNote;
use crate::api::PlannedChange;
use crate::error::Error;

/// What a pass achieved.
#[derive(Debug)]
pub enum Outcome<K: SsoKind> {
    /// Infisical matches the spec (possibly after a write).
    Synced {
        config: Box<K::Written>,
        /// Events to record for what happened, in order.
        events: Vec<EventNote>,
        clear_create_pending: bool,
        /// The static access token expires soon: when.
        token_expires: Option<SystemTime>,
        /// Something of the desired state expires soon (`kind::SsoKind::expiring`).
        expiring: Option<Expiring>,
        /// The fields found drifted (and corrected).
        drift: Option<Vec<String>>,
        /// The configuration was updated, which resets enforce-SSO and SCIM.
        enforcement_reset: bool,
    },
    /// `managementPolicy: Observe`: what Manage would do; nothing was written.
    Observed {
        plan: PlannedChange,
        drift: Option<Vec<String>>,
    },
    Suspended,
    Failed(Error),
    /// A recent outcome with the same inputs still stands: change nothing for this long.
    Held(Duration),
    /// The first pass after a start found the status in sync with these inputs: it stays as it
    /// is until the recheck, this long from now (see `resume`).
    Deferred(Duration),
}

/// What a pass established on its way, whatever its outcome.
#[derive(Debug, Default)]
pub struct Progress {
    /// The fingerprints of its inputs, once its Secrets were read.
    pub fingerprints: Option<Fingerprints>,
    /// It got as far as deciding whether to call Infisical (see `resume`).
    pub started: bool,
}
