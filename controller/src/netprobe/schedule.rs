//! When a probe runs (pure, no client required): a fresh generation starts a run, a queued one
//! asks again, a run under way continues, a periodic probe re-runs `intervalSeconds` after its last run finished, and a
//! finished one-shot probe is deleted `ttlSecondsAfterFinished` after it finished.

use std::time::Duration;

use jiff::Timestamp;
use netdiag_crds::{NetProbeSpec, NetProbeStatus, Phase};

use crate::netprobe::status::{COMPLETED, QUEUED, parse_time};

/// Reason of a failure that only a spec change can clear.
pub const INVALID_SPEC: &str = "InvalidSpec";

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Next {
    /// Start a new run.
    Start,
    /// A run is under way since `start`: look at its agent pods.
    Continue { start: Timestamp },
    /// Nothing to do until this much time passes (None: until the object changes).
    Wait(Option<Duration>),
    /// The one-shot probe's TTL ran out: delete it.
    Expire,
}

fn until(now: Timestamp, then: Timestamp) -> Duration {
    let d = then.duration_since(now);
    // Never requeue at zero: the next look comes a second later at the earliest.
    Duration::try_from(d)
        .unwrap_or(Duration::ZERO)
        .max(Duration::from_secs(1))
}

fn seconds(n: i32) -> jiff::SignedDuration {
    jiff::SignedDuration::from_secs(i64::from(n))
}

/// What to do with a probe now.
pub fn next(spec: &NetProbeSpec, status: &NetProbeStatus, generation: i64, now: Timestamp) -> Next {
    if status.observed_generation != Some(generation) {
        return Next::Start;
    }
    let queued = status.condition(QUEUED).is_some_and(|c| c.status == "True");
    match status.phase {
        None => Next::Start,
        // A queued run created nothing yet: ask for admission again.
        Some(Phase::Pending) if queued => Next::Start,
        Some(Phase::Pending | Phase::Running) => Next::Continue {
            start: status
                .start_time
                .as_deref()
                .and_then(parse_time)
                .unwrap_or(now),
        },
        Some(Phase::Succeeded | Phase::Failed) => {
            let invalid = status
                .condition(COMPLETED)
                .is_some_and(|c| c.reason.as_deref() == Some(INVALID_SPEC));
            if invalid {
                return Next::Wait(None);
            }
            let done = status
                .completion_time
                .as_deref()
                .and_then(parse_time)
                .unwrap_or(now);
            if let Some(interval) = spec.interval_seconds {
                let due = done + seconds(interval);
                return if now >= due {
                    Next::Start
                } else {
                    Next::Wait(Some(until(now, due)))
                };
            }
            if let Some(ttl) = spec.ttl_seconds_after_finished {
                let expiry = done + seconds(ttl);
                return if now >= expiry {
                    Next::Expire
                } else {
                    Next::Wait(Some(until(now, expiry)))
                };
            }
            Next::Wait(None)
        }
    }
}

/// How long after a run finished to look again: the interval of a periodic probe, the TTL of
/// a one-shot one, or never.
pub fn after_finish(spec: &NetProbeSpec) -> Option<Duration> {
    spec.interval_seconds
        .or(spec.ttl_seconds_after_finished)
        .map(|s| Duration::from_secs(u64::try_from(s).unwrap_or(0)).max(Duration::from_secs(1)))
}
