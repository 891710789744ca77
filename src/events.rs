//! Kubernetes Events (`events.k8s.io/v1`), recorded like kube's `Recorder` (a repeat within six
//! minutes becomes a series on the first Event instead of a new object) but remembering only
//! what a repeat needs: the Event's name and count, under a hash of what makes it a repeat. Only
//! an identical Event is a repeat: its note included.
//! kube's recorder keeps every whole Event for the six minutes, which at a few thousand creates
//! a minute was the operator's largest use of memory.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::ObjectReference;
use k8s_openapi::api::events::v1::{Event as K8sEvent, EventSeries};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use kube::api::{Api, Patch, PatchParams, PostParams};
pub use kube::runtime::events::{Event, EventType, Reporter};

/// How long a repeat joins the first Event's series (kube's and client-go's span).
const SERIES_SPAN: Duration = Duration::from_secs(6 * 60);

struct Seen {
    name: Box<str>,
    count: i32,
    last: Instant,
}

pub struct Recorder {
    client: kube::Client,
    reporter: Reporter,
    seen: Mutex<(HashMap<u64, Seen>, Instant)>,
}

impl Recorder {
    pub fn new(client: kube::Client, reporter: Reporter) -> Self {
        Self {
            client,
            reporter,
            seen: Mutex::new((HashMap::new(), Instant::now())),
        }
    }

    /// Creates the Event, or adds to its series when the same Event (type, reason, action, note,
    /// object) was recorded within the last six minutes.
    pub async fn publish(
        &self,
        event: &Event,
        regarding: &ObjectReference,
    ) -> Result<(), kube::Error> {
        let key = key(event, regarding);
        let namespace = regarding.namespace.as_deref().unwrap_or("default");
        let api: Api<K8sEvent> = Api::namespaced(self.client.clone(), namespace);
        let now = MicroTime(jiff::Timestamp::now());
        let repeat = self.repeat_of(key);
        if let Some((name, count)) = repeat {
            let series = serde_json::json!({
                "series": EventSeries { count, last_observed_time: now.clone() },
            });
            match api
                .patch(&name, &PatchParams::default(), &Patch::Merge(&series))
                .await
            {
                Ok(_) => {
                    self.remember(key, name.into(), count);
                    return Ok(());
                }
                // The first Event expired or was deleted: record a new one.
                Err(kube::Error::Api(status)) if status.code == 404 => {}
                Err(error) => return Err(error),
            }
        }
        let created = api
            .create(&PostParams::default(), &self.event(event, regarding, now))
            .await?;
        let name = created.metadata.name.unwrap_or_default();
        self.remember(key, name.into(), 1);
        Ok(())
    }

    /// The name and next count of the series `key` belongs to, if it is recent.
    fn repeat_of(&self, key: u64) -> Option<(String, i32)> {
        let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        let (entries, pruned) = &mut *seen;
        // Forget expired series at most once a minute, and give the memory back.
        if pruned.elapsed() > Duration::from_secs(60) {
            entries.retain(|_, s| s.last.elapsed() < SERIES_SPAN);
            entries.shrink_to_fit();
            *pruned = Instant::now();
        }
        entries
            .get(&key)
            .filter(|s| s.last.elapsed() < SERIES_SPAN)
            .map(|s| (s.name.to_string(), s.count + 1))
    }

    fn remember(&self, key: u64, name: Box<str>, count: i32) {
        let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        seen.0.insert(
            key,
            Seen {
                name,
                count,
                last: Instant::now(),
            },
        );
    }

    fn event(&self, event: &Event, regarding: &ObjectReference, now: MicroTime) -> K8sEvent {
        let controller = &self.reporter.controller;
        K8sEvent {
            action: Some(event.action.clone()),
            reason: Some(event.reason.clone()),
            event_time: Some(now.clone()),
            regarding: Some(regarding.clone()),
            note: event.note.clone(),
            metadata: ObjectMeta {
                namespace: regarding.namespace.clone(),
                name: Some(format!(
                    "{}.{:x}",
                    regarding.name.as_deref().unwrap_or(controller),
                    now.0.as_nanosecond()
                )),
                ..Default::default()
            },
            reporting_controller: Some(controller.clone()),
            reporting_instance: Some(
                self.reporter
                    .instance
                    .clone()
                    .unwrap_or_else(|| controller.clone()),
            ),
            type_: Some(
                match event.type_ {
                    EventType::Normal => "Normal",
                    EventType::Warning => "Warning",
                }
                .into(),
            ),
            related: event.secondary.clone(),
            ..Default::default()
        }
    }
}

/// What makes two Events the same. The note is part of it, as the message is in client-go's
/// `getEventKey` (`tools/record/events_cache.go`): a series keeps its first note, so folding
/// Events whose notes differ (kube's recorder does) would show a later drift under the fields of
/// the first.
fn key(event: &Event, regarding: &ObjectReference) -> u64 {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    matches!(event.type_, EventType::Warning).hash(&mut hasher);
    event.reason.hash(&mut hasher);
    event.action.hash(&mut hasher);
    event.note.hash(&mut hasher);
    for part in [
        &regarding.namespace,
        &regarding.name,
        &regarding.uid,
        &regarding.kind,
        &regarding.api_version,
    ] {
        part.hash(&mut hasher);
    }
    if let Some(related) = &event.secondary {
        related.uid.hash(&mut hasher);
        related.name.hash(&mut hasher);
    }
    hasher.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn drift(note: &str) -> Event {
        Event {
            type_: EventType::Warning,
            reason: "DriftDetected".into(),
            note: Some(note.into()),
            action: "Reconcile".into(),
            secondary: None,
        }
    }

    #[test]
    fn only_an_identical_event_is_a_repeat() {
        let object = ObjectReference {
            name: Some("acme-sso".into()),
            namespace: Some("platform".into()),
            uid: Some("u-1".into()),
            ..Default::default()
        };
        let first = key(&drift("differs: clientId"), &object);
        assert_eq!(first, key(&drift("differs: clientId"), &object));
        assert_ne!(first, key(&drift("differs: isActive"), &object));
        let other = ObjectReference {
            uid: Some("u-2".into()),
            ..object.clone()
        };
        assert_ne!(first, key(&drift("differs: clientId"), &other));
    }
}
