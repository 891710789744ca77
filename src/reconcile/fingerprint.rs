//! What a pass acts on, as digests computed once when its Secrets are read: they decide whether
//! a pass is held (`retry`), whether it may defer its first check after a start (`resume`), how
//! its requests rank in the budget, and whether a differing secret of the kind is a rotation.

use kube::{Resource, ResourceExt};
use sha2::{Digest, Sha256};

use super::dereference::Inputs;
use super::memory::Memory;
use super::resume;
use crate::api::RECONCILE_REQUESTED_AT_ANNOTATION;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fingerprints {
    /// What a configuration is synced from: the spec (its generation) and the values of the
    /// Secrets it reads.
    pub synced_from: [u8; 32],
    /// `synced_from` and the sync-now annotation: what the pass acts on. A failed pass is retried
    /// early only when this changed.
    pub inputs: [u8; 32],
    /// What `status.inputsDigest` holds when the status was written from these inputs (keyed by
    /// the uid, see `resume::status_digest`); `None` for an object without uid.
    pub status_digest: Option<String>,
    /// SHA-256 of the values the kind's own fields read, as sent (trimmed): a changed value is
    /// a rotation (the client secret, for OIDC).
    pub client_secret: [u8; 32],
}

impl Fingerprints {
    pub fn of(resource: &impl Resource, inputs: &Inputs) -> Self {
        let synced_from = synced_from(resource, inputs);
        let requested = resource
            .annotations()
            .get(RECONCILE_REQUESTED_AT_ANNOTATION);
        let mut hasher = Sha256::new();
        hasher.update(synced_from);
        hasher.update(requested.map(String::as_str).unwrap_or("").as_bytes());
        Self {
            synced_from,
            inputs: hasher.finalize().into(),
            status_digest: resource
                .meta()
                .uid
                .as_deref()
                .map(|uid| resume::status_digest(uid, &synced_from)),
            client_secret: kind_values_digest(inputs),
        }
    }

    /// The sync-now annotation is all that changed since the last pass: someone asked for it.
    pub fn sync_requested_since(&self, last: &Memory) -> bool {
        last.last_synced_from == Some(self.synced_from) && last.last_inputs != Some(self.inputs)
    }

    /// Whether the client secret differs from the one last synced or observed.
    pub fn secret_changed_since(&self, last: &Memory) -> bool {
        last.secret_digest
            .is_some_and(|digest| digest != self.client_secret)
    }
}

/// Recorded in status (keyed, see `resume`) for the first pass after a start.
fn synced_from(resource: &impl Resource, inputs: &Inputs) -> [u8; 32] {
    let mut hasher = Sha256::new();
    hasher.update(resource.meta().generation.unwrap_or_default().to_le_bytes());
    for value in inputs.values.values() {
        hasher.update(value.expose().as_bytes());
        hasher.update([0]);
    }
    hasher.update(inputs.credentials.identity_key().as_bytes());
    hasher.update([0]);
    hasher.update(inputs.ca_pem.as_deref().unwrap_or_default());
    hasher.finalize().into()
}

/// One value read: its digest as sent (trimmed), as OIDC's client secret always was; several,
/// each trimmed and separated.
fn kind_values_digest(inputs: &Inputs) -> [u8; 32] {
    let values: Vec<&str> = inputs.values.values().map(|v| v.expose().trim()).collect();
    match values.as_slice() {
        [one] => Sha256::digest(one.as_bytes()).into(),
        many => {
            let mut hasher = Sha256::new();
            for value in many {
                hasher.update(value.as_bytes());
                hasher.update([0]);
            }
            hasher.finalize().into()
        }
    }
}
