//! Prometheus metrics. Every label value is a `&'static str` category (a result, a reason, a
//! role, a hop kind), never free text, so label sets stay bounded.

use std::time::Instant;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ResultLabels {
    /// reachable, unreachable, unknown, failed
    pub result: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct FailureLabels {
    /// A controller reason (`NoReadyEndpoints`, `Unschedulable`...) or `PathFailure`.
    pub reason: &'static str,
    /// The hop kind of a path failure, `none` otherwise.
    pub hop: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RoleLabels {
    /// source or endpoint
    pub role: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ErrorLabels {
    /// The reconcile error's category.
    pub error: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct WatchLabels {
    /// netprobes or pods
    pub resource: &'static str,
}

/// The controller's metrics, registered once.
#[derive(Clone)]
pub struct Metrics {
    pub probe_runs: Family<ResultLabels, Counter>,
    pub failures: Family<FailureLabels, Counter>,
    pub reconcile_duration: Histogram,
    pub reconcile_errors: Family<ErrorLabels, Counter>,
    pub agent_pod_run_seconds: Family<RoleLabels, Histogram>,
    pub watch_errors: Family<WatchLabels, Counter>,
}

fn agent_histogram() -> Histogram {
    Histogram::new([0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0, 300.0])
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics {
            probe_runs: Family::default(),
            failures: Family::default(),
            reconcile_duration: Histogram::new([
                0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0,
            ]),
            reconcile_errors: Family::default(),
            agent_pod_run_seconds: Family::new_with_constructor(agent_histogram),
            watch_errors: Family::default(),
        }
    }
}

impl Metrics {
    /// Register every metric under the `netdiag` prefix.
    pub fn register(self, registry: &mut Registry) -> Self {
        let r = registry.sub_registry_with_prefix("netdiag");
        r.register(
            "probe_runs",
            "Finished probe runs by result",
            self.probe_runs.clone(),
        );
        r.register(
            "probe_failures",
            "Probe runs that found or hit a failure, by reason and hop",
            self.failures.clone(),
        );
        r.register(
            "reconcile_duration_seconds",
            "Duration of one reconcile",
            self.reconcile_duration.clone(),
        );
        r.register(
            "reconcile_errors",
            "Reconciles that returned an error, by category",
            self.reconcile_errors.clone(),
        );
        r.register(
            "agent_pod_run_seconds",
            "Time from an agent pod's creation to its report",
            self.agent_pod_run_seconds.clone(),
        );
        r.register(
            "watch_errors",
            "Failed list or watch requests of the controller's watches, by resource",
            self.watch_errors.clone(),
        );
        self
    }

    pub fn watch_error(&self, resource: &'static str) {
        self.watch_errors
            .get_or_create(&WatchLabels { resource })
            .inc();
    }

    pub fn run_finished(&self, result: &'static str) {
        self.probe_runs
            .get_or_create(&ResultLabels { result })
            .inc();
    }

    pub fn failure(&self, reason: &'static str, hop: &'static str) {
        self.failures
            .get_or_create(&FailureLabels { reason, hop })
            .inc();
    }

    pub fn agent_pod_ran(&self, role: &'static str, seconds: f64) {
        self.agent_pod_run_seconds
            .get_or_create(&RoleLabels { role })
            .observe(seconds);
    }

    pub fn reconcile_error(&self, error: &'static str) {
        self.reconcile_errors
            .get_or_create(&ErrorLabels { error })
            .inc();
    }

    /// Records the reconcile's duration when dropped, whichever way the reconcile returns.
    pub fn reconcile_timer(&self) -> ReconcileTimer {
        ReconcileTimer {
            start: Instant::now(),
            histogram: self.reconcile_duration.clone(),
        }
    }
}

pub struct ReconcileTimer {
    start: Instant,
    histogram: Histogram,
}

impl Drop for ReconcileTimer {
    fn drop(&mut self) {
        self.histogram.observe(self.start.elapsed().as_secs_f64());
    }
}

/// The registry rendered in the OpenMetrics text format.
pub fn encode(registry: &Registry) -> Result<String, std::fmt::Error> {
    let mut out = String::new();
    prometheus_client::encoding::text::encode(&mut out, registry)?;
    Ok(out)
}
