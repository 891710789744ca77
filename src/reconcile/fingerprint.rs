//! What a pass acts on, as digests computed once when its Secrets are read: they decide whether
//! a pass is held (`retry`), whether it may defer its first check after a start (`resume`), how
//! its requests rank in the budget, and whether a differing client secret is a rotation.

use kube::ResourceExt;
use sha2::{Digest, Sha256};

use super::dereference::Inputs;
use super::memory::Memory;
use super::resume;
use crate::api::{OidcSsoConfig, RECONCILE_REQUESTED_AT_ANNOTATION};

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
    /// SHA-256 of the client secret as sent (trimmed): a changed value is a rotation.
    pub client_secret: [u8; 32],
}

impl Fingerprints {
    pub fn of(resource: &OidcSsoConfig, inputs: &Inputs) -> Self {
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
                .metadata
                .uid
                .as_deref()
                .map(|uid| resume::status_digest(uid, &synced_from)),
            client_secret: Sha256::digest(inputs.client_secret.expose().trim().as_bytes()).into(),
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
fn synced_from(resource: &OidcSsoConfig, inputs: &Inputs) -> [u8; 32] {
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
