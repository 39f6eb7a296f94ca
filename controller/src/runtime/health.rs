//! Whether the controller's watches work, for `/readyz`: a controller whose NetProbe list keeps
//! failing reconciles nothing, so it must not say it is ready.
//!
//! The watcher retries on its own (with backoff) and says nothing when a retry succeeds but no
//! object changed, so a watch counts as failing from its first error until an event arrives, or
//! until it has been quiet for [`RECOVERED_AFTER`] (a watch that still fails errs again sooner:
//! the client's read timeout plus the longest backoff). `/readyz` fails once a watch has failed
//! twice in a row and for longer than the grace period, so one dropped connection never does.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Default grace before a failing watch makes `/readyz` fail.
pub const DEFAULT_GRACE: Duration = Duration::from_secs(60);
/// Quiet time after an error that counts as recovered: kube's 295 s read timeout plus the
/// watcher's 30 s longest backoff, and some slack.
pub const RECOVERED_AFTER: Duration = Duration::from_secs(330);

#[derive(Clone, Debug)]
struct Failing {
    since: Instant,
    last: Instant,
    errors: u32,
    cause: String,
}

/// The health of each watch, by resource (`netprobes`, `pods`).
#[derive(Debug)]
pub struct WatchHealth {
    grace: Duration,
    failing: Mutex<BTreeMap<&'static str, Failing>>,
}

impl WatchHealth {
    pub fn new(grace: Duration) -> Self {
        WatchHealth {
            grace,
            failing: Mutex::new(BTreeMap::new()),
        }
    }

    fn with<T>(&self, f: impl FnOnce(&mut BTreeMap<&'static str, Failing>) -> T) -> T {
        // A panic while holding this lock leaves a map that is still consistent.
        let mut guard = self.failing.lock().unwrap_or_else(|e| e.into_inner());
        f(&mut guard)
    }

    /// The watch of `resource` delivered an event: it works.
    pub fn ok(&self, resource: &'static str) {
        self.with(|m| m.remove(resource));
    }

    /// The watch of `resource` failed at `now` with `cause`.
    pub fn failed_at(&self, resource: &'static str, cause: String, now: Instant) {
        self.with(|m| {
            let streak = m
                .get(resource)
                .filter(|f| now.saturating_duration_since(f.last) < RECOVERED_AFTER);
            let next = match streak {
                Some(f) => Failing {
                    since: f.since,
                    last: now,
                    errors: f.errors.saturating_add(1),
                    cause,
                },
                None => Failing {
                    since: now,
                    last: now,
                    errors: 1,
                    cause,
                },
            };
            m.insert(resource, next);
        });
    }

    pub fn failed(&self, resource: &'static str, cause: String) {
        self.failed_at(resource, cause, Instant::now());
    }

    /// Why the controller is not ready at `now`, if a watch has been failing past the grace.
    pub fn problem_at(&self, now: Instant) -> Option<String> {
        self.with(|m| {
            m.iter()
                .find(|(_, f)| {
                    f.errors >= 2
                        && now.saturating_duration_since(f.since) >= self.grace
                        && now.saturating_duration_since(f.last) < RECOVERED_AFTER
                })
                .map(|(resource, f)| {
                    format!(
                        "watching {resource} has failed for {}s ({} errors in a row), last: {}; check the controller's RBAC, the CRD and the API server",
                        now.saturating_duration_since(f.since).as_secs(),
                        f.errors,
                        f.cause
                    )
                })
        })
    }

    pub fn problem(&self) -> Option<String> {
        self.problem_at(Instant::now())
    }
}

impl Default for WatchHealth {
    fn default() -> Self {
        WatchHealth::new(DEFAULT_GRACE)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: Duration = Duration::from_secs(1);

    #[test]
    fn a_watch_failing_past_the_grace_is_a_problem_naming_the_cause() {
        let h = WatchHealth::new(60 * S);
        let t0 = Instant::now();
        h.failed_at("netprobes", "HTTP 500".into(), t0);
        h.failed_at("netprobes", "HTTP 500".into(), t0 + 30 * S);
        assert_eq!(h.problem_at(t0 + 59 * S), None);
        let why = h.problem_at(t0 + 61 * S).expect("a problem");
        assert!(
            why.contains("netprobes") && why.contains("HTTP 500"),
            "{why}"
        );
    }

    #[test]
    fn one_dropped_connection_is_never_a_problem() {
        let h = WatchHealth::new(Duration::ZERO);
        let t0 = Instant::now();
        h.failed_at("pods", "reset".into(), t0);
        assert_eq!(h.problem_at(t0 + 100 * S), None);
    }

    #[test]
    fn an_event_or_a_long_quiet_clears_the_failure() {
        let h = WatchHealth::new(Duration::ZERO);
        let t0 = Instant::now();
        h.failed_at("netprobes", "x".into(), t0);
        h.failed_at("netprobes", "x".into(), t0 + S);
        assert!(h.problem_at(t0 + 2 * S).is_some());
        assert_eq!(h.problem_at(t0 + S + RECOVERED_AFTER), None);
        h.ok("netprobes");
        assert_eq!(h.problem_at(t0 + 2 * S), None);
    }
}
