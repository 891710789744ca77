//! Leader election over a `coordination.k8s.io/v1` Lease, and the write fence that keeps a
//! replica which may have lost the Lease from writing anywhere.
//!
//! The protocol is client-go's: the holder renews the Lease every retry period; others take it
//! once they have seen the same record unchanged for a whole Lease duration (measured on their
//! own monotonic clock, so wall-clock skew between nodes does not matter), or at once when the
//! holder released it. Every write to the Lease carries the resourceVersion it was based on, so
//! of two replicas that try to take it at the same moment exactly one succeeds.
//!
//! The Helm chart creates the Lease without a holder, so that `helm uninstall` deletes it with
//! the rest of the release. A Lease without a holder is therefore not always a release: a fresh
//! one is taken at once, but one that lost its holder without a release (deleted, or replaced
//! by `helm upgrade --force`) while another replica held it is taken only after a Lease
//! duration, since that holder may still be writing (and, if it is, writes itself back first).
//! A leader whose Lease is deleted stands down rather than recreate it: the deletion is most
//! likely `helm uninstall`, which a recreated Lease would outlive. Writes keep the Lease's
//! metadata (the chart's labels and annotations).
//!
//! Why not `kube-lease-manager`: it reports only changes of leadership, never a successful
//! renewal, and keeps reporting leadership while renewals fail, so a fence on "the last
//! confirmed renewal" cannot be built on it; it also has no retry period or renew deadline.
//!
//! The fence: a replica may write (to Infisical or Kubernetes) only within `renew_deadline` of
//! the start of its last successful renewal. Others can take the Lease no earlier than
//! `lease_duration` after that start, so as long as
//! `lease_duration > renew_deadline + longest Infisical request`, every write a replica starts
//! while the fence is open has ended before anyone else can lead ([`ElectionSettings::check`]).
//! Kubernetes writes need no such margin: they carry resourceVersion preconditions or are
//! idempotent applies of this operator's own fields.
//!
//! Over 400 lines, on purpose: the elector and the fence keep that one invariant together (the
//! fence opens only on the elector's renewals, and [`ElectionSettings::check`] ties their
//! timings), so they stay in one file with their tests.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::StreamExt;
use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use kube::api::{Api, PostParams};
use kube::runtime::watcher;

use crate::metrics::Metrics;

/// How the Lease is named and timed (flags `--leader-elect-*`).
#[derive(Clone, Debug)]
pub struct ElectionSettings {
    pub lease_name: String,
    pub lease_namespace: String,
    /// This replica's name in the Lease (`holderIdentity`): unique per process.
    pub identity: String,
    /// How long others wait after the last renewal they saw before taking the Lease.
    pub lease_duration: Duration,
    /// How long the leader keeps writing after its last successful renewal; past it, the
    /// replica stops writing and exits.
    pub renew_deadline: Duration,
    /// Time between attempts to renew (leader) or take (others) the Lease.
    pub retry_period: Duration,
}

impl ElectionSettings {
    /// Refuses timings under which a replica that lost the Lease could still be writing when
    /// another takes over. `longest_request` is the longest an Infisical request may take.
    pub fn check(&self, longest_request: Duration) -> Result<(), String> {
        let seconds = |d: Duration| humantime::format_duration(d).to_string();
        if self.retry_period.is_zero() || self.retry_period >= self.renew_deadline {
            return Err(format!(
                "the retry period ({}) must be shorter than the renew deadline ({})",
                seconds(self.retry_period),
                seconds(self.renew_deadline)
            ));
        }
        if self.lease_duration <= self.renew_deadline + longest_request {
            return Err(format!(
                "the Lease duration ({}) must exceed the renew deadline ({}) plus the Infisical request timeout ({}), so that a replica that lost the Lease has finished every request before another takes over",
                seconds(self.lease_duration),
                seconds(self.renew_deadline),
                seconds(longest_request)
            ));
        }
        Ok(())
    }
}

/// Whether this replica may write now. Shared by the Infisical client and the Kubernetes
/// client's request stack; without election it is always open.
#[derive(Clone, Debug, Default)]
pub struct Fence(Option<Arc<FenceState>>);

#[derive(Debug)]
struct FenceState {
    renew_deadline: Duration,
    /// Start of the last renewal the API server accepted.
    confirmed: Mutex<Option<Instant>>,
}

/// A write refused because this replica is not (or may no longer be) the leader.
#[derive(Debug, thiserror::Error)]
#[error("not the leader: this replica may no longer write")]
pub struct NotLeader;

impl Fence {
    /// A fence that stays closed until [`Fence::confirm`] is called.
    pub fn closed(renew_deadline: Duration) -> Self {
        Self(Some(Arc::new(FenceState {
            renew_deadline,
            confirmed: Mutex::new(None),
        })))
    }

    /// Checked immediately before each request leaves the process. A process frozen between
    /// this check and the send could still send that one request late: Infisical takes no
    /// fencing token, so this is as late as a client can check.
    pub fn check(&self) -> Result<(), NotLeader> {
        match self.open_until() {
            None => Ok(()),
            Some(Some(until)) if Instant::now() < until => Ok(()),
            Some(_) => Err(NotLeader),
        }
    }

    /// `None` without election; otherwise when the fence closes (`None` inside: it is closed).
    fn open_until(&self) -> Option<Option<Instant>> {
        let state = self.0.as_ref()?;
        let confirmed = *state.confirmed.lock().unwrap_or_else(|p| p.into_inner());
        Some(confirmed.map(|at| at + state.renew_deadline))
    }

    /// Opens the fence until `renew_deadline` after `started`: called with the start of each
    /// renewal the API server accepted.
    pub fn confirm(&self, started: Instant) {
        if let Some(state) = &self.0 {
            *state.confirmed.lock().unwrap_or_else(|p| p.into_inner()) = Some(started);
        }
    }

    fn close(&self) {
        if let Some(state) = &self.0 {
            *state.confirmed.lock().unwrap_or_else(|p| p.into_inner()) = None;
        }
    }
}

/// The parts of a Lease the election reads (all empty for a Lease that does not exist).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Record {
    holder: Option<String>,
    renew_time: Option<MicroTime>,
    transitions: i32,
}

impl Record {
    fn of(lease: &Lease) -> Self {
        let spec = lease.spec.clone().unwrap_or_default();
        Self {
            holder: spec.holder_identity.filter(|h| !h.is_empty()),
            renew_time: spec.renew_time,
            transitions: spec.lease_transitions.unwrap_or(0),
        }
    }

    /// A holder gave the Lease up on shutdown: it cleared the holder in a renewal (client-go's
    /// release does the same). A Lease that never had a holder, or was replaced or deleted,
    /// has no renewal time.
    fn released(&self) -> bool {
        self.holder.is_none() && self.renew_time.is_some()
    }
}

/// The last Lease seen (`None`: it did not exist), its record, and when that record was first
/// seen.
#[derive(Clone, Debug)]
struct Seen {
    lease: Option<Lease>,
    record: Record,
    since: Instant,
}

/// What to do with the Lease, given what was last seen of it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    /// We hold it: renew.
    Renew,
    /// Nobody holds it, or its holder stopped renewing: take it.
    Take,
    /// Someone else holds it and renews: wait.
    Follow,
}

/// What a replica knows of the Lease when it decides.
#[derive(Clone, Copy, Debug)]
pub struct View<'a> {
    /// The Lease exists.
    pub exists: bool,
    /// The current holder (`None` also when the Lease does not exist).
    pub holder: Option<&'a str>,
    /// The last holder cleared it on shutdown.
    pub released: bool,
    /// The last holder this replica saw, if any.
    pub last_holder: Option<&'a str>,
    /// How long the current record (or the Lease's absence) has been seen unchanged.
    pub unchanged_for: Duration,
}

/// The pure decision.
pub fn decide(view: View<'_>, me: &str, lease_duration: Duration) -> Step {
    let expired = view.unchanged_for >= lease_duration;
    match view.holder {
        Some(holder) if holder == me => Step::Renew,
        Some(_) if expired => Step::Take,
        Some(_) => Step::Follow,
        None if view.released => Step::Take,
        None => match view.last_holder {
            // Never seen held: the chart's new Lease, or none yet.
            None => Step::Take,
            // Replaced without a holder under this replica, the holder: write itself back.
            Some(last) if last == me && view.exists => Step::Take,
            // Deleted under this replica: `helm uninstall` (or a person) removed it. Recreating
            // it could outlive the release; stand down instead.
            Some(last) if last == me => Step::Follow,
            // Emptied or deleted under another holder, which may still be writing: if it is
            // alive it writes itself back within a retry period.
            Some(_) if expired => Step::Take,
            Some(_) => Step::Follow,
        },
    }
}

/// This replica's side of the election.
pub struct Elector {
    api: Api<Lease>,
    settings: ElectionSettings,
    fence: Fence,
    metrics: Arc<Metrics>,
    seen: Option<Seen>,
    /// The holder of the last Lease this replica saw held.
    last_holder: Option<String>,
}

/// The Lease's holder as this replica saw it after an attempt.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Role {
    Leader,
    Follower { holder: Option<String> },
}

impl Elector {
    /// `client` must not carry the fence: renewing the Lease is how the fence opens.
    pub fn new(
        client: kube::Client,
        settings: ElectionSettings,
        fence: Fence,
        metrics: Arc<Metrics>,
    ) -> Self {
        Self {
            api: Api::namespaced(client, &settings.lease_namespace),
            settings,
            fence,
            metrics,
            seen: None,
            last_holder: None,
        }
    }

    pub fn settings(&self) -> &ElectionSettings {
        &self.settings
    }

    /// One attempt to take or renew the Lease. On success the fence is open until
    /// `renew_deadline` after the attempt started.
    pub async fn attempt(&mut self) -> Result<Role, kube::Error> {
        let started = Instant::now();
        let me = self.settings.identity.clone();
        let lease = self.api.get_opt(&self.settings.lease_name).await?;
        let record = lease.as_ref().map(Record::of).unwrap_or_default();
        self.observe(lease.clone(), &record);
        let unchanged_for = self
            .seen
            .as_ref()
            .map_or(Duration::ZERO, |s| s.since.elapsed());
        let view = View {
            exists: lease.is_some(),
            holder: record.holder.as_deref(),
            released: record.released(),
            last_holder: self.last_holder.as_deref(),
            unchanged_for,
        };
        let step = decide(view, &me, self.settings.lease_duration);
        let (transitions, acquired) = match step {
            Step::Follow => {
                return Ok(Role::Follower {
                    holder: record.holder,
                });
            }
            Step::Renew => (
                record.transitions,
                lease
                    .as_ref()
                    .and_then(|l| l.spec.as_ref())
                    .and_then(|s| s.acquire_time.clone()),
            ),
            Step::Take => (record.transitions + 1, None),
        };
        let spec = self.spec(transitions, acquired);
        let written = match lease {
            None => {
                self.api
                    .create(&PostParams::default(), &self.new_lease(spec))
                    .await
            }
            Some(mut lease) => {
                // The read object, resourceVersion and metadata included: the write is
                // conditional, and keeps what others (the chart) put in the metadata.
                lease.spec = Some(spec);
                self.api
                    .replace(&self.settings.lease_name, &PostParams::default(), &lease)
                    .await
            }
        };
        match written {
            Ok(written) => Ok(self.took(written, started)),
            // Someone else created or wrote it since we read it: they renewed or took it.
            Err(kube::Error::Api(status)) if status.code == 409 => Ok(Role::Follower {
                holder: record.holder,
            }),
            Err(error) => Err(error),
        }
    }

    /// Gives the Lease up (on shutdown), so another replica takes over at once instead of after
    /// a Lease duration. Closes the fence first: nothing is written after this.
    pub async fn release(&mut self) -> Result<(), kube::Error> {
        self.fence.close();
        let Some(Seen {
            lease: Some(mut released),
            record,
            ..
        }) = self.seen.clone()
        else {
            return Ok(());
        };
        if record.holder.as_deref() != Some(self.settings.identity.as_str()) {
            return Ok(());
        }
        let mut spec = self.spec(record.transitions, None);
        spec.holder_identity = None;
        spec.acquire_time = None;
        spec.lease_duration_seconds = Some(1);
        released.spec = Some(spec);
        match self
            .api
            .replace(&self.settings.lease_name, &PostParams::default(), &released)
            .await
        {
            Ok(_) => Ok(()),
            // Already renewed or taken by someone else, or gone (`helm uninstall` deletes it):
            // nothing of ours to release.
            Err(kube::Error::Api(status)) if matches!(status.code, 404 | 409) => Ok(()),
            Err(error) => Err(error),
        }
    }

    fn took(&mut self, written: Lease, started: Instant) -> Role {
        let record = Record::of(&written);
        self.observe(Some(written), &record);
        self.fence.confirm(started);
        Role::Leader
    }

    /// Remembers the Lease as seen, and since when its record is unchanged; counts changes of
    /// holder.
    fn observe(&mut self, lease: Option<Lease>, record: &Record) {
        let version =
            |l: &Option<Lease>| l.as_ref().and_then(|l| l.metadata.resource_version.clone());
        if let Some(holder) = &record.holder {
            self.last_holder = Some(holder.clone());
        }
        match &mut self.seen {
            Some(seen) if seen.record == *record && version(&seen.lease) == version(&lease) => {
                seen.lease = lease;
            }
            seen => {
                if seen
                    .as_ref()
                    .is_some_and(|s| s.record.holder != record.holder)
                {
                    self.metrics.leader_transitions.inc();
                }
                *seen = Some(Seen {
                    lease,
                    record: record.clone(),
                    since: Instant::now(),
                });
            }
        }
    }

    /// The spec this replica writes as the holder.
    fn spec(&self, transitions: i32, acquired: Option<MicroTime>) -> LeaseSpec {
        let now = MicroTime(jiff::Timestamp::now());
        LeaseSpec {
            holder_identity: Some(self.settings.identity.clone()),
            lease_duration_seconds: Some(
                i32::try_from(self.settings.lease_duration.as_secs()).unwrap_or(i32::MAX),
            ),
            acquire_time: Some(acquired.unwrap_or_else(|| now.clone())),
            renew_time: Some(now),
            lease_transitions: Some(transitions),
            ..Default::default()
        }
    }

    /// A Lease this replica creates (without the chart, or after it was deleted).
    fn new_lease(&self, spec: LeaseSpec) -> Lease {
        Lease {
            metadata: ObjectMeta {
                name: Some(self.settings.lease_name.clone()),
                namespace: Some(self.settings.lease_namespace.clone()),
                ..Default::default()
            },
            spec: Some(spec),
        }
    }

    /// Returns once this replica leads. Between attempts it waits a retry period, or less when
    /// the Lease changes (a released Lease is taken within moments). `on_attempt` is told the
    /// outcome of every attempt (readiness of a standby).
    pub async fn lead(&mut self, mut on_attempt: impl FnMut(&Result<Role, kube::Error>)) {
        let config = watcher::Config::default()
            .fields(&format!("metadata.name={}", self.settings.lease_name));
        let mut changes = watcher(self.api.clone(), config).boxed();
        // The holder last logged: a standby says who leads when it starts waiting and when that
        // changes, not on every attempt.
        let mut logged: Option<Option<String>> = None;
        loop {
            let outcome = self.attempt().await;
            on_attempt(&outcome);
            match &outcome {
                Ok(Role::Leader) => return,
                Ok(Role::Follower {
                    holder: Some(holder),
                }) if logged.as_ref() != Some(&Some(holder.clone())) => {
                    let lease = &self.settings.lease_name;
                    tracing::info!(%holder, %lease, "standing by: another replica holds the Lease");
                    logged = Some(Some(holder.clone()));
                }
                // No holder, yet not taken: it lost its holder without a release (a lost race
                // for a free Lease is not worth a line: the next attempt sees the winner).
                Ok(Role::Follower { holder: None })
                    if logged != Some(None)
                        && self
                            .last_holder
                            .as_ref()
                            .is_some_and(|h| *h != self.settings.identity) =>
                {
                    let lease = &self.settings.lease_name;
                    let last_holder = self.last_holder.as_deref().unwrap_or_default();
                    tracing::info!(
                        %lease,
                        %last_holder,
                        "standing by: the Lease lost its holder without a release (deleted or replaced); taking it if nobody renews it within the Lease duration"
                    );
                    logged = Some(None);
                }
                Ok(Role::Follower { holder }) => {
                    tracing::debug!(holder = holder.as_deref().unwrap_or(""), "standing by")
                }
                Err(error) => tracing::warn!(%error, "cannot read or take the Lease; retrying"),
            }
            // Look again after a retry period, or at once when the Lease changes (a release).
            let wait = self.settings.retry_period;
            let _ = tokio::time::timeout(wait, async {
                while let Some(event) = changes.next().await {
                    if matches!(
                        event,
                        Ok(watcher::Event::Apply(_) | watcher::Event::Delete(_))
                    ) {
                        return;
                    }
                }
                // The watch ended (it retries inside; this is unexpected): wait out the period.
                std::future::pending::<()>().await
            })
            .await;
        }
    }

    /// While leading: renews every retry period; returns why leadership ended (another holder,
    /// or no successful renewal within the renew deadline). The fence closes on its own at the
    /// deadline, whether or not this task gets to run (a frozen process).
    pub async fn keep_leading(&mut self) -> String {
        loop {
            let Some(Some(deadline)) = self.fence.open_until() else {
                return "the renew deadline passed".into();
            };
            let deadline = tokio::time::Instant::from_std(deadline);
            tokio::select! {
                () = tokio::time::sleep(self.settings.retry_period) => {}
                () = tokio::time::sleep_until(deadline) => {
                    return "no renewal of the Lease succeeded within the renew deadline".into();
                }
            }
            let attempt = tokio::select! {
                outcome = self.attempt() => outcome,
                () = tokio::time::sleep_until(deadline) => {
                    return "no renewal of the Lease succeeded within the renew deadline".into();
                }
            };
            match attempt {
                Ok(Role::Leader) => {}
                Ok(Role::Follower { holder }) => {
                    self.fence.close();
                    return match holder {
                        Some(holder) => format!("the Lease is held by {holder}"),
                        None => "the Lease was deleted, or another replica wrote it first".into(),
                    };
                }
                Err(error) => tracing::warn!(%error, "renewing the Lease failed; retrying"),
            }
        }
    }
}

/// A Kubernetes client whose writes pass the fence first (see [`fence_layer`]).
pub fn fenced_client(config: kube::Config, fence: Fence) -> Result<kube::Client, kube::Error> {
    Ok(kube::client::ClientBuilder::try_from(config)?
        .with_layer(&fence_layer(fence))
        .build())
}

/// Refuses every Kubernetes request but GET (reads, lists, watches) while the fence is closed,
/// before it is sent. Events, status, finalizers, TokenRequests: every write of the operator
/// leaves through this one place.
pub fn fence_layer(
    fence: Fence,
) -> tower::filter::FilterLayer<
    impl Fn(http::Request<kube::client::Body>) -> Result<http::Request<kube::client::Body>, NotLeader>
    + Clone,
> {
    tower::filter::FilterLayer::new(move |request: http::Request<kube::client::Body>| {
        let reads = [http::Method::GET, http::Method::HEAD, http::Method::OPTIONS];
        if !reads.contains(request.method()) {
            fence.check()?;
        }
        Ok(request)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(lease: u64, renew: u64, retry: u64) -> ElectionSettings {
        ElectionSettings {
            lease_name: "l".into(),
            lease_namespace: "n".into(),
            identity: "me".into(),
            lease_duration: Duration::from_secs(lease),
            renew_deadline: Duration::from_secs(renew),
            retry_period: Duration::from_secs(retry),
        }
    }

    #[test]
    fn the_lease_must_outlast_the_renew_deadline_plus_the_longest_request() {
        let request = Duration::from_secs(30);
        assert!(settings(60, 15, 2).check(request).is_ok());
        let error = settings(40, 10, 2).check(request).unwrap_err();
        assert!(error.contains("must exceed the renew deadline"), "{error}");
        assert!(
            settings(45, 15, 2).check(request).is_err(),
            "equal is not enough"
        );
        let error = settings(60, 2, 2).check(request).unwrap_err();
        assert!(error.contains("retry period"), "{error}");
        assert!(settings(60, 15, 0).check(request).is_err());
    }

    fn view<'a>(holder: Option<&'a str>, last_holder: Option<&'a str>, secs: u64) -> View<'a> {
        View {
            exists: true,
            holder,
            released: false,
            last_holder,
            unchanged_for: Duration::from_secs(secs),
        }
    }

    #[test]
    fn decisions_follow_the_holder_and_the_time_it_was_seen_unchanged() {
        let lease = Duration::from_secs(15);
        let me = "me";
        assert_eq!(
            decide(view(Some("me"), Some("me"), 0), me, lease),
            Step::Renew
        );
        let other = Some("other");
        assert_eq!(decide(view(other, other, 14), me, lease), Step::Follow);
        assert_eq!(decide(view(other, other, 15), me, lease), Step::Take);
    }

    #[test]
    fn a_lease_without_a_holder_is_taken_at_once_only_when_nobody_else_may_still_write() {
        let lease = Duration::from_secs(15);
        let me = "me";
        // The chart's new Lease, or one this replica never saw held: at once.
        assert_eq!(decide(view(None, None, 0), me, lease), Step::Take);
        // Released by its holder on shutdown: at once.
        let released = View {
            released: true,
            ..view(None, Some("other"), 0)
        };
        assert_eq!(decide(released, me, lease), Step::Take);
        // Emptied (replaced) or deleted while another held it: that holder may still be
        // writing, so only after a Lease duration with nobody writing it back.
        assert_eq!(
            decide(view(None, Some("other"), 0), me, lease),
            Step::Follow
        );
        assert_eq!(
            decide(view(None, Some("other"), 14), me, lease),
            Step::Follow
        );
        assert_eq!(decide(view(None, Some("other"), 15), me, lease), Step::Take);
        let deleted = |last_holder, secs| View {
            exists: false,
            ..view(None, last_holder, secs)
        };
        assert_eq!(decide(deleted(Some("other"), 0), me, lease), Step::Follow);
        assert_eq!(decide(deleted(Some("other"), 15), me, lease), Step::Take);
        assert_eq!(decide(deleted(None, 0), me, lease), Step::Take);
        // Emptied under this replica, the holder: it writes itself back at once. Deleted under
        // it (an uninstall): it stands down rather than recreate what the release removed.
        assert_eq!(decide(view(None, Some("me"), 0), me, lease), Step::Take);
        assert_eq!(decide(deleted(Some("me"), 0), me, lease), Step::Follow);
    }

    #[test]
    fn the_fence_opens_on_confirmation_and_closes_at_the_renew_deadline() {
        assert!(Fence::default().check().is_ok(), "no election: always open");
        let fence = Fence::closed(Duration::from_millis(200));
        assert!(fence.check().is_err(), "closed until the first renewal");
        fence.confirm(Instant::now());
        assert!(fence.check().is_ok());
        std::thread::sleep(Duration::from_millis(250));
        assert!(fence.check().is_err(), "closed once the deadline passed");
        fence.confirm(Instant::now());
        fence.close();
        assert!(fence.check().is_err(), "closed on release");
    }
}
