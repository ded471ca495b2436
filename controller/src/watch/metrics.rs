//! The controller's Prometheus metrics: reconciles and their duration, drift, actions by kind
//! and outcome, the time of the last successful reconcile.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;

/// Counters and gauges, updated by the loop, read by `GET /metrics`.
#[derive(Debug, Default)]
pub struct Metrics {
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    reconciles: u64,
    failed_reconciles: u64,
    duration_sum: f64,
    last_duration: f64,
    drift_objects: u64,
    actions: BTreeMap<(String, String), u64>,
    last_success: Option<f64>,
}

impl Metrics {
    /// A reconcile ended after `seconds`; `ok` when it converged (or only reported).
    pub fn reconciled(&self, seconds: f64, ok: bool, now_unix: f64) {
        let mut m = self.inner.lock().expect("metrics lock");
        m.reconciles += 1;
        m.duration_sum += seconds;
        m.last_duration = seconds;
        if ok {
            m.last_success = Some(now_unix);
        } else {
            m.failed_reconciles += 1;
        }
    }

    /// Objects that differ from the manifests, at the last reconcile.
    pub fn drift(&self, objects: usize) {
        self.inner.lock().expect("metrics lock").drift_objects = objects as u64;
    }

    /// An action of `kind` ended with `outcome`.
    pub fn action(&self, kind: &str, outcome: &str) {
        *self.inner.lock().expect("metrics lock").actions.entry((kind.to_owned(), outcome.to_owned())).or_default() +=
            1;
    }

    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        let m = self.inner.lock().expect("metrics lock");
        let mut s = String::new();
        let one = |v: String| vec![(String::new(), v)];
        metric(&mut s, "powerplane_reconcile_total", "counter", "Reconciles run.", &one(m.reconciles.to_string()));
        metric(
            &mut s,
            "powerplane_reconcile_failures_total",
            "counter",
            "Reconciles that did not converge.",
            &one(m.failed_reconciles.to_string()),
        );
        metric(
            &mut s,
            "powerplane_reconcile_duration_seconds",
            "summary",
            "Time reconciles took.",
            &[("_sum".to_owned(), m.duration_sum.to_string()), ("_count".to_owned(), m.reconciles.to_string())],
        );
        metric(
            &mut s,
            "powerplane_last_reconcile_duration_seconds",
            "gauge",
            "Time the last reconcile took.",
            &one(m.last_duration.to_string()),
        );
        metric(
            &mut s,
            "powerplane_drift_objects",
            "gauge",
            "Objects that differed from the manifests at the last reconcile.",
            &one(m.drift_objects.to_string()),
        );
        let actions: Vec<(String, String)> =
            m.actions.iter().map(|((k, o), n)| (format!("{{kind=\"{k}\",outcome=\"{o}\"}}"), n.to_string())).collect();
        metric(&mut s, "powerplane_actions_total", "counter", "Actions executed, by kind and outcome.", &actions);
        let last = m.last_success.map_or_else(|| "0".to_owned(), |t| format!("{t:.3}"));
        metric(
            &mut s,
            "powerplane_last_success_timestamp_seconds",
            "gauge",
            "Unix time of the last reconcile that converged.",
            &one(last),
        );
        s
    }
}

/// One metric: HELP, TYPE and its samples (`suffix_or_labels`, value).
fn metric(s: &mut String, name: &str, kind: &str, help: &str, samples: &[(String, String)]) {
    let _ = writeln!(s, "# HELP {name} {help}\n# TYPE {name} {kind}");
    for (rest, v) in samples {
        let _ = writeln!(s, "{name}{rest} {v}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_prometheus_text() {
        let m = Metrics::default();
        m.reconciled(0.5, true, 1_700_000_000.0);
        m.action("StartPartition", "succeeded");
        m.drift(2);
        let t = m.render();
        assert!(t.contains("# TYPE powerplane_reconcile_total counter\npowerplane_reconcile_total 1\n"), "{t}");
        assert!(t.contains("powerplane_actions_total{kind=\"StartPartition\",outcome=\"succeeded\"} 1"), "{t}");
        assert!(t.contains("powerplane_drift_objects 2"));
        assert!(t.contains("powerplane_reconcile_duration_seconds_sum 0.5"));
        assert!(t.contains("powerplane_last_success_timestamp_seconds 1700000000.000"));
    }
}
