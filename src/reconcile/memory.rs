//! What the operator remembers about each resource between passes, and the one handle a pass
//! holds on it: looked up once when the pass starts, read once, and updated once when its
//! outcome is reported (lost on restart, by design: it only tunes retries, holds and the cause
//! named for an update; `resume` covers the first pass after a start).

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use prometheus_client::metrics::gauge::Gauge;

use super::keys::memory_key;

/// What the operator remembers about one resource.
#[derive(Clone, Debug, Default)]
pub struct Memory {
    pub consecutive_failures: u32,
    /// SHA-256 of the client secret last synced or observed: tells a rotation from drift.
    pub secret_digest: Option<[u8; 32]>,
    /// The last pass ended Ready.
    pub ready: bool,
    /// (generation, error) last reported on a malformed object (boxed: rare, and every
    /// resource has a `Memory`).
    pub reported_malformed: Option<Box<(i64, String)>>,
    /// Digest of everything the last pass acted on (generation, sync-now annotation, Secret
    /// values; see `fingerprint`).
    pub last_inputs: Option<[u8; 32]>,
    /// The part of `last_inputs` a configuration is synced from (no sync-now annotation).
    pub last_synced_from: Option<[u8; 32]>,
    /// Passes with these inputs wait instead of calling Infisical (see `retry`).
    pub hold: Option<Hold>,
    /// A pass of this process has reached the point of calling Infisical, or decided when to
    /// (`resume::first_pass`): false until then, after every start of the operator.
    pub started: bool,
}

/// Until `until`, a pass whose inputs digest is `inputs` changes nothing (see `retry::held`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hold {
    pub inputs: [u8; 32],
    pub until: std::time::Instant,
}

/// Every resource's memory, and the `ready_resources` gauge kept exact beside it.
pub struct Memories {
    /// Keyed by 128 bits of the SHA-256 of the memory key, so that an entry costs 16 bytes of
    /// key instead of a uid string and its allocation.
    entries: Mutex<HashMap<u128, Memory>>,
    ready_gauge: Gauge,
}

impl Memories {
    pub fn new(ready_gauge: Gauge) -> Self {
        Self {
            entries: Mutex::default(),
            ready_gauge,
        }
    }

    /// The handle on one resource's memory, for the length of a pass.
    pub fn of(&self, meta: &ObjectMeta) -> ResourceMemory<'_> {
        self.by_key(&memory_key(meta))
    }

    /// The handle on the memory kept under `key` (see `keys::memory_key`).
    pub fn by_key(&self, key: &str) -> ResourceMemory<'_> {
        ResourceMemory {
            memories: self,
            id: memory_id(key),
        }
    }

    /// Drops what is remembered about resources whose keys are not in `live`.
    pub fn retain(&self, live: &HashSet<String>) {
        let live: HashSet<u128> = live.iter().map(|key| memory_id(key)).collect();
        let mut entries = self.entries.lock().expect("memory lock");
        let mut ready_gone = 0;
        entries.retain(|id, memory| {
            let keep = live.contains(id);
            if !keep && memory.ready {
                ready_gone += 1;
            }
            keep
        });
        drop(entries);
        self.ready_gauge.dec_by(ready_gone);
    }

    /// How many resources are remembered (tests check that deletes prune it).
    pub fn len(&self) -> usize {
        self.entries.lock().expect("memory lock").len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// One resource's memory.
pub struct ResourceMemory<'a> {
    memories: &'a Memories,
    id: u128,
}

impl ResourceMemory<'_> {
    /// What is remembered now (a copy: a pass decides on what it read when it started).
    pub fn read(&self) -> Memory {
        self.memories
            .entries
            .lock()
            .expect("memory lock")
            .get(&self.id)
            .cloned()
            .unwrap_or_default()
    }

    /// Changes the memory under one lock, keeping the `ready_resources` gauge exact.
    pub fn update<R>(&self, change: impl FnOnce(&mut Memory) -> R) -> R {
        let mut entries = self.memories.entries.lock().expect("memory lock");
        let memory = entries.entry(self.id).or_default();
        let was_ready = memory.ready;
        let result = change(memory);
        match (was_ready, memory.ready) {
            (false, true) => self.memories.ready_gauge.inc(),
            (true, false) => self.memories.ready_gauge.dec(),
            _ => 0,
        };
        result
    }

    /// Forgets the resource (it was deleted).
    pub fn forget(&self) {
        let removed = self
            .memories
            .entries
            .lock()
            .expect("memory lock")
            .remove(&self.id);
        if removed.is_some_and(|m| m.ready) {
            self.memories.ready_gauge.dec();
        }
    }
}

fn memory_id(key: &str) -> u128 {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(key.as_bytes());
    u128::from_le_bytes(
        digest[..16]
            .try_into()
            .expect("16 bytes of a 32-byte digest"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(uid: &str) -> ObjectMeta {
        ObjectMeta {
            uid: Some(uid.into()),
            ..ObjectMeta::default()
        }
    }

    #[test]
    fn the_ready_gauge_follows_updates_forgetting_and_pruning() {
        let gauge = Gauge::default();
        let memories = Memories::new(gauge.clone());
        memories.of(&meta("a")).update(|m| m.ready = true);
        memories.of(&meta("b")).update(|m| m.ready = true);
        memories.of(&meta("c")).update(|m| m.ready = false);
        assert_eq!((gauge.get(), memories.len()), (2, 3));
        memories.of(&meta("b")).update(|m| m.ready = true);
        assert_eq!(gauge.get(), 2, "ready again is not counted twice");
        memories.of(&meta("a")).forget();
        assert_eq!((gauge.get(), memories.len()), (1, 2));
        memories.retain(&HashSet::from(["c".to_string()]));
        assert_eq!((gauge.get(), memories.len()), (0, 1));
        assert!(!memories.of(&meta("c")).read().ready);
    }
}
