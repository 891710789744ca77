//! Prometheus metrics. Labels are resource-independent (reasons, endpoints, status codes), never
//! names or values, so cardinality stays bounded and no secret can reach a label.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ReasonLabel {
    pub reason: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    pub endpoint: String,
    pub status: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct WriteLabels {
    pub kind: String,
}

pub struct Metrics {
    pub registry: Registry,
    pub reconciles: Counter,
    pub reconcile_errors: Family<ReasonLabel, Counter>,
    pub reconcile_duration: Histogram,
    pub infisical_requests: Family<RequestLabels, Counter>,
    pub infisical_writes: Family<WriteLabels, Counter>,
    pub kubernetes_status_writes: Counter,
    pub ready_resources: Gauge,
    /// Resources retried at once because the Infisical instance they waited on answered again.
    pub recovery_retries: Counter,
    /// 1 while this replica holds the Lease (always 1 without leader election).
    pub leader: Gauge,
    /// Changes of the Lease's holder this replica has seen.
    pub leader_transitions: Counter,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("infisical_oidc_operator");
        let reconciles = Counter::default();
        let reconcile_errors = Family::<ReasonLabel, Counter>::default();
        let reconcile_duration = Histogram::new(exponential_buckets(0.005, 2.0, 14));
        let infisical_requests = Family::<RequestLabels, Counter>::default();
        let infisical_writes = Family::<WriteLabels, Counter>::default();
        let kubernetes_status_writes = Counter::default();
        let ready_resources = Gauge::default();
        let recovery_retries = Counter::default();
        let leader = Gauge::default();
        let leader_transitions = Counter::default();
        registry.register(
            "leader",
            "1 while this replica is the leader and may write; 0 on a standby",
            leader.clone(),
        );
        registry.register(
            "leader_transitions",
            "Changes of the leader election Lease's holder seen by this replica",
            leader_transitions.clone(),
        );
        registry.register(
            "recovery_retries",
            "Resources retried at once because the Infisical instance they waited on answers again",
            recovery_retries.clone(),
        );
        registry.register("reconciles", "Reconcile passes", reconciles.clone());
        registry.register(
            "reconcile_errors",
            "Failed reconcile passes by reason",
            reconcile_errors.clone(),
        );
        registry.register(
            "reconcile_duration_seconds",
            "Duration of reconcile passes",
            reconcile_duration.clone(),
        );
        registry.register(
            "infisical_requests",
            "Requests to Infisical by endpoint and HTTP status (or error)",
            infisical_requests.clone(),
        );
        registry.register(
            "infisical_config_writes",
            "OIDC configuration writes to Infisical by kind (create, update)",
            infisical_writes.clone(),
        );
        registry.register(
            "status_writes",
            "Status writes to Kubernetes",
            kubernetes_status_writes.clone(),
        );
        registry.register(
            "ready_resources",
            "Resources whose last pass ended Ready",
            ready_resources.clone(),
        );
        Self {
            registry,
            reconciles,
            reconcile_errors,
            reconcile_duration,
            infisical_requests,
            infisical_writes,
            kubernetes_status_writes,
            ready_resources,
            recovery_retries,
            leader,
            leader_transitions,
        }
    }
}

impl Metrics {
    pub fn infisical_request(&self, endpoint: &str, status: &str) {
        self.infisical_requests
            .get_or_create(&RequestLabels {
                endpoint: endpoint.to_string(),
                status: status.to_string(),
            })
            .inc();
    }

    /// A configuration write to Infisical that succeeded (`create` or `update`).
    pub fn infisical_write(&self, kind: &str) {
        self.infisical_writes
            .get_or_create(&WriteLabels {
                kind: kind.to_string(),
            })
            .inc();
    }

    pub fn reconcile_error(&self, reason: &str) {
        self.reconcile_errors
            .get_or_create(&ReasonLabel {
                reason: reason.to_string(),
            })
            .inc();
    }

    pub fn encode(&self) -> String {
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.registry)
            .expect("writing to a String cannot fail");
        out
    }
}
