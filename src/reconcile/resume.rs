//! A resource's first pass after the operator starts.
//!
//! Memory is lost on a restart, so without this every resource's first pass would call Infisical
//! (a login, which Infisical counts as a write, and a read), and a resource edited while the
//! operator was away would wait behind all of them for the request budget. The status records a
//! digest of what the last successful sync worked from ([`status_digest`]); a resource whose
//! status is Ready for its generation with the same digest is not checked at once but at a point
//! spread over its resync interval ([`first_pass`]). Everything else (a spec edit, a Secret
//! changed, a resource not Ready, an interrupted create) goes first.

use std::time::Duration;

use sha2::{Digest, Sha256};

use crate::api::conditions::READY;
use crate::api::{CommonStatus, SsoResource};
use crate::infisical::Priority;

/// `status.inputsDigest`: the pass's input fingerprint hashed with the object's uid, in hex, so
/// the status shows whether inputs changed but cannot be matched across objects or against a
/// precomputed table of values.
pub fn status_digest(uid: &str, inputs: &[u8; 32]) -> String {
    let mut hasher = Sha256::new();
    hasher.update(b"infisical-oidc-operator/inputs/v1\0");
    hasher.update(uid.as_bytes());
    hasher.update([0]);
    hasher.update(inputs);
    format!("{:x}", hasher.finalize())
}

/// What a resource's first pass since the operator started does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FirstPass {
    /// Call Infisical now, as any pass would.
    CheckNow,
    /// The status already describes these inputs in sync: check again after this long.
    RecheckIn(Duration),
}

/// What the status records, set against this pass's inputs.
#[derive(Clone, Copy, Debug)]
pub struct Record<'a> {
    pub status: Option<&'a CommonStatus>,
    pub generation: Option<i64>,
    /// The create-pending mark is set: a create may need completing.
    pub create_pending: bool,
    /// [`status_digest`] of this pass's inputs.
    pub digest: &'a str,
}

impl<'a> Record<'a> {
    /// What `resource`'s status records, set against inputs of status digest `digest`.
    pub fn of<R: SsoResource>(resource: &'a R, create_pending: bool, digest: &'a str) -> Self {
        Self {
            status: resource.status().map(|s| &**s),
            generation: resource.meta().generation,
            create_pending,
            digest,
        }
    }

    /// The status says the resource was Ready for this generation with exactly these inputs,
    /// and no create may need completing.
    pub fn in_sync(&self) -> bool {
        let Some(status) = self.status else {
            return false;
        };
        let ready_now = status.observed_generation.is_some()
            && status.observed_generation == self.generation
            && status
                .condition(READY)
                .is_some_and(|c| c.status == "True" && c.observed_generation == self.generation);
        let same_inputs = status.inputs_digest.as_deref() == Some(self.digest);
        ready_now && same_inputs && !self.create_pending
    }
}

/// The facts [`first_pass`] decides on.
#[derive(Clone, Copy, Debug)]
pub struct Start<'a> {
    pub record: Record<'a>,
    pub uid: &'a str,
    pub resync: Duration,
    /// Wall-clock time since the Unix epoch.
    pub now: Duration,
}

/// Checks now unless the status says the resource was Ready for this generation with exactly
/// these inputs. Deferred rechecks fall on a slot of the wall clock fixed by the uid (a phase
/// within the resync interval), so they are spread evenly over the interval, and an operator
/// that restarts often still checks each resource once per interval instead of pushing the
/// check back on every start.
pub fn first_pass(start: Start<'_>) -> FirstPass {
    if !start.record.in_sync() {
        return FirstPass::CheckNow;
    }
    let period = u64::try_from(start.resync.as_millis())
        .unwrap_or(u64::MAX)
        .max(1);
    let phase = phase_of(start.uid) % period;
    let now = u64::try_from(start.now.as_millis()).unwrap_or(u64::MAX) % period;
    let wait = (phase + period - now) % period;
    if wait == 0 {
        FirstPass::CheckNow
    } else {
        FirstPass::RecheckIn(Duration::from_millis(wait))
    }
}

/// The budget priority of a pass about to call Infisical: a recheck of what the status records
/// in sync is background, and yields the budget to every change (an edit, a rotated Secret, a
/// resource not Ready, an interrupted create); so is a recheck someone asked for with the
/// sync-now annotation, unless it was asked since the last pass (`sync_requested`).
pub fn priority(record: &Record<'_>, sync_requested: bool) -> Priority {
    if record.in_sync() && !sync_requested {
        Priority::Background
    } else {
        Priority::Foreground
    }
}

/// On a resource's first pass since the operator started: how long to wait before checking
/// Infisical, when its status already records these inputs (of status digest `digest`) in sync.
pub fn recheck_later<R: SsoResource>(
    resource: &R,
    create_pending: bool,
    digest: Option<&str>,
    resync: Duration,
) -> Option<Duration> {
    let uid = resource.meta().uid.as_deref()?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    match first_pass(Start {
        record: Record::of(resource, create_pending, digest?),
        uid,
        resync,
        now,
    }) {
        FirstPass::CheckNow => None,
        FirstPass::RecheckIn(wait) => {
            // The status says Ready with exactly these inputs: it stays as it is until the
            // recheck, and the budget goes to resources that changed while we were away.
            tracing::debug!(
                recheck_in_s = wait.as_secs(),
                "in sync when last checked; rechecking later"
            );
            Some(wait)
        }
    }
}

/// [`priority`] of a pass over `resource` whose inputs have status digest `digest`.
pub fn pass_priority<R: SsoResource>(
    resource: &R,
    create_pending: bool,
    digest: Option<&str>,
    sync_requested: bool,
) -> Priority {
    match digest {
        Some(digest) => priority(
            &Record::of(resource, create_pending, digest),
            sync_requested,
        ),
        None => Priority::Foreground,
    }
}

/// A number fixed by the uid and evenly spread over `u64`.
fn phase_of(uid: &str) -> u64 {
    let digest = Sha256::digest(format!("infisical-oidc-operator/phase/{uid}").as_bytes());
    u64::from_le_bytes(digest[..8].try_into().expect("eight bytes"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};

    const RESYNC: Duration = Duration::from_secs(600);

    fn status(ready: &str, generation: i64, digest: &str) -> CommonStatus {
        CommonStatus {
            id: Some("cfg".into()),
            observed_generation: Some(generation),
            inputs_digest: Some(digest.into()),
            conditions: vec![Condition {
                type_: READY.into(),
                status: ready.into(),
                reason: "Synced".into(),
                message: String::new(),
                observed_generation: Some(generation),
                last_transition_time: Time(k8s_openapi::jiff::Timestamp::UNIX_EPOCH),
            }],
            ..CommonStatus::default()
        }
    }

    fn start<'a>(status: Option<&'a CommonStatus>, digest: &'a str) -> Start<'a> {
        Start {
            record: Record {
                status,
                generation: Some(3),
                create_pending: false,
                digest,
            },
            uid: "0b4f6c1e-uid",
            resync: RESYNC,
            now: Duration::from_secs(1_800_000_123),
        }
    }

    fn deferred(decision: FirstPass) -> bool {
        matches!(decision, FirstPass::RecheckIn(wait) if wait > Duration::ZERO && wait < RESYNC)
    }

    #[test]
    fn an_in_sync_resource_with_the_same_inputs_is_rechecked_later() {
        let s = status("True", 3, "d1");
        assert!(deferred(first_pass(start(Some(&s), "d1"))));
    }

    #[test]
    fn a_changed_spec_secret_or_sync_request_is_checked_at_once() {
        // The digest covers the Secrets' values and the sync-now annotation.
        let s = status("True", 3, "d1");
        assert_eq!(first_pass(start(Some(&s), "d2")), FirstPass::CheckNow);
        // A spec edit the status has not caught up with.
        let old = status("True", 2, "d1");
        assert_eq!(first_pass(start(Some(&old), "d1")), FirstPass::CheckNow);
        // A Ready condition from an older generation, even with a current observedGeneration.
        let mut stale_condition = status("True", 3, "d1");
        stale_condition.conditions[0].observed_generation = Some(2);
        assert_eq!(
            first_pass(start(Some(&stale_condition), "d1")),
            FirstPass::CheckNow
        );
    }

    #[test]
    fn a_resource_that_is_not_ready_or_has_no_record_is_checked_at_once() {
        for ready in ["False", "Unknown"] {
            let s = status(ready, 3, "d1");
            assert_eq!(first_pass(start(Some(&s), "d1")), FirstPass::CheckNow);
        }
        assert_eq!(first_pass(start(None, "d1")), FirstPass::CheckNow);
        let mut no_digest = status("True", 3, "d1");
        no_digest.inputs_digest = None;
        assert_eq!(
            first_pass(start(Some(&no_digest), "d1")),
            FirstPass::CheckNow
        );
        let mut no_conditions = status("True", 3, "d1");
        no_conditions.conditions.clear();
        assert_eq!(
            first_pass(start(Some(&no_conditions), "d1")),
            FirstPass::CheckNow
        );
    }

    #[test]
    fn an_interrupted_create_is_completed_at_once() {
        let s = status("True", 3, "d1");
        let mut facts = start(Some(&s), "d1");
        facts.record.create_pending = true;
        assert_eq!(first_pass(facts), FirstPass::CheckNow);
    }

    #[test]
    fn only_a_recheck_of_what_is_in_sync_yields_the_budget() {
        let s = status("True", 3, "d1");
        assert_eq!(
            priority(&start(Some(&s), "d1").record, false),
            Priority::Background
        );
        // Someone asked for this check since the last pass.
        assert_eq!(
            priority(&start(Some(&s), "d1").record, true),
            Priority::Foreground
        );
        // A rotated Secret, an edit, a resource not Ready, no record, an interrupted create.
        assert_eq!(
            priority(&start(Some(&s), "d2").record, false),
            Priority::Foreground
        );
        let old = status("True", 2, "d1");
        assert_eq!(
            priority(&start(Some(&old), "d1").record, false),
            Priority::Foreground
        );
        let failing = status("False", 3, "d1");
        assert_eq!(
            priority(&start(Some(&failing), "d1").record, false),
            Priority::Foreground
        );
        assert_eq!(
            priority(&start(None, "d1").record, false),
            Priority::Foreground
        );
        let mut pending = start(Some(&s), "d1");
        pending.record.create_pending = true;
        assert_eq!(priority(&pending.record, false), Priority::Foreground);
    }

    #[test]
    fn rechecks_are_spread_over_the_interval_and_keep_their_slot_across_restarts() {
        let s = status("True", 3, "d1");
        let uids: Vec<String> = (0..1000).map(|i| format!("uid-{i}")).collect();
        let waits: Vec<Duration> = uids
            .iter()
            .map(|uid| {
                let mut facts = start(Some(&s), "d1");
                facts.uid = uid;
                match first_pass(facts) {
                    FirstPass::RecheckIn(wait) => wait,
                    FirstPass::CheckNow => Duration::ZERO,
                }
            })
            .collect();
        // Ten buckets of a minute each: every one holds roughly a tenth of the resources.
        let mut buckets = [0usize; 10];
        for wait in &waits {
            assert!(*wait < RESYNC, "{wait:?}");
            buckets[(wait.as_secs() / 60) as usize] += 1;
        }
        for (i, count) in buckets.iter().enumerate() {
            assert!((60..=140).contains(count), "minute {i}: {count} of 1000");
        }
        // A restart 100 s later keeps each resource's slot: its wait is 100 s shorter (or, for a
        // slot that just passed, one interval later).
        for (uid, before) in uids.iter().zip(&waits) {
            let mut facts = start(Some(&s), "d1");
            facts.uid = uid;
            facts.now += Duration::from_secs(100);
            let after = match first_pass(facts) {
                FirstPass::RecheckIn(wait) => wait,
                FirstPass::CheckNow => Duration::ZERO,
            };
            let expected = (before.as_millis() as i128 - 100_000).rem_euclid(600_000);
            assert_eq!(after.as_millis() as i128, expected, "{uid}");
        }
    }

    #[test]
    fn the_status_digest_is_keyed_by_the_uid_and_hides_the_inputs() {
        let inputs = [7u8; 32];
        let a = status_digest("uid-a", &inputs);
        assert_eq!(a, status_digest("uid-a", &inputs));
        assert_ne!(a, status_digest("uid-b", &inputs));
        assert_ne!(a, status_digest("uid-a", &[8u8; 32]));
        assert_eq!(a.len(), 64);
        assert!(a.chars().all(|c| c.is_ascii_hexdigit()));
        let raw: String = inputs.iter().map(|b| format!("{b:02x}")).collect();
        assert_ne!(a, raw);
    }
}
