//! The controller's Prometheus metrics (`GET /metrics`, through the `prometheus-client` crate):
//! what an Argo CD or Flux user looks for — reconciles and a histogram of their duration,
//! actions by kind and outcome, objects drifted, actions in flight and held, and the time of
//! the last successful reconcile.

use std::sync::atomic::AtomicU64;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

/// The labels of `powerplane_actions_total`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ActionLabels {
    kind: String,
    outcome: String,
}

/// Counters, gauges and the duration histogram, updated by the loop, read by `GET /metrics`.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    reconciles: Counter,
    failed_reconciles: Counter,
    duration: Histogram,
    last_duration: Gauge<f64, AtomicU64>,
    drift_objects: Gauge,
    actions: Family<ActionLabels, Counter>,
    in_flight: Gauge,
    held: Gauge,
    last_success: Gauge<f64, AtomicU64>,
    manifests_invalid: Gauge,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::default();
        let m = Metrics {
            reconciles: Counter::default(),
            failed_reconciles: Counter::default(),
            // 10 ms .. about 80 min: a scoped replan up to an evacuation.
            duration: Histogram::new(exponential_buckets(0.01, 2.0, 19)),
            last_duration: Gauge::default(),
            drift_objects: Gauge::default(),
            actions: Family::default(),
            in_flight: Gauge::default(),
            held: Gauge::default(),
            last_success: Gauge::default(),
            manifests_invalid: Gauge::default(),
            registry: Registry::default(),
        };
        registry.register("powerplane_reconcile", "Reconciles run", m.reconciles.clone());
        registry.register(
            "powerplane_reconcile_failures",
            "Reconciles that did not converge",
            m.failed_reconciles.clone(),
        );
        registry.register("powerplane_reconcile_duration_seconds", "Time reconciles took", m.duration.clone());
        registry.register(
            "powerplane_last_reconcile_duration_seconds",
            "Time the last reconcile took",
            m.last_duration.clone(),
        );
        registry.register(
            "powerplane_drift_objects",
            "Objects that differed from the manifests at the last full reconcile",
            m.drift_objects.clone(),
        );
        registry.register("powerplane_actions", "Actions executed, by kind and outcome", m.actions.clone());
        registry.register("powerplane_actions_in_flight", "Actions started and not yet ended", m.in_flight.clone());
        registry.register(
            "powerplane_actions_held",
            "Actions held back: a VIOS down outside powerplane, objects backing off, maintenance windows",
            m.held.clone(),
        );
        registry.register(
            "powerplane_last_success_timestamp_seconds",
            "Unix time of the last reconcile that converged",
            m.last_success.clone(),
        );
        registry.register(
            "powerplane_manifests_invalid",
            "1 while the manifests are invalid (nothing of them is applied; the last valid ones are kept), else 0",
            m.manifests_invalid.clone(),
        );
        Metrics { registry, ..m }
    }
}

impl Metrics {
    /// A reconcile ended after `seconds`; `converged` when the estate matches the manifests
    /// and nothing is in flight (only then is it the last success).
    pub fn reconciled(&self, seconds: f64, converged: bool, now_unix: f64) {
        self.reconciles.inc();
        self.duration.observe(seconds);
        self.last_duration.set(seconds);
        if converged {
            self.last_success.set(now_unix);
        } else {
            self.failed_reconciles.inc();
        }
    }

    /// Whether the manifests are refused now.
    pub fn manifests_invalid(&self, invalid: bool) {
        self.manifests_invalid.set(i64::from(invalid));
    }

    /// Objects that differ from the manifests, at the last reconcile.
    pub fn drift(&self, objects: usize) {
        self.drift_objects.set(objects as i64);
    }

    /// An action of `kind` ended with `outcome`.
    pub fn action(&self, kind: &str, outcome: &str) {
        self.actions.get_or_create(&ActionLabels { kind: kind.to_owned(), outcome: outcome.to_owned() }).inc();
    }

    /// Actions in flight now.
    pub fn in_flight(&self, n: usize) {
        self.in_flight.set(n as i64);
    }

    /// Actions held back now.
    pub fn held(&self, n: usize) {
        self.held.set(n as i64);
    }

    /// The OpenMetrics text exposition (which Prometheus reads).
    pub fn render(&self) -> String {
        let mut s = String::new();
        prometheus_client::encoding::text::encode(&mut s, &self.registry).expect("writing to a String");
        s
    }

    /// The content type of [`Metrics::render`].
    pub const CONTENT_TYPE: &'static str = "application/openmetrics-text; version=1.0.0; charset=utf-8";
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_openmetrics_text() {
        let m = Metrics::default();
        m.reconciled(0.5, true, 1_700_000_000.0);
        m.action("StartPartition", "succeeded");
        m.drift(2);
        m.in_flight(3);
        let t = m.render();
        assert!(t.contains("# TYPE powerplane_reconcile counter\npowerplane_reconcile_total 1\n"), "{t}");
        assert!(t.contains("powerplane_actions_total{kind=\"StartPartition\",outcome=\"succeeded\"} 1"), "{t}");
        assert!(t.contains("powerplane_drift_objects 2"), "{t}");
        assert!(t.contains("powerplane_actions_in_flight 3"), "{t}");
        assert!(t.contains("powerplane_reconcile_duration_seconds_sum 0.5"), "{t}");
        assert!(t.contains("powerplane_reconcile_duration_seconds_bucket{le=\"0.64\"} 1"), "{t}");
        assert!(t.contains("powerplane_last_success_timestamp_seconds 1700000000.0"), "{t}");
        assert!(t.ends_with("# EOF\n"), "{t}");
    }
}
