//! What a run under way should do next (pure, no client required), the way
//! [`crate::netprobe::schedule::next`] decides when a probe runs: the reconcile gathers the run's
//! pods and their outcomes, [`decide`] names the one next step, and the reconcile carries it out.

use std::time::Duration;

use jiff::Timestamp;
use k8s_openapi::api::core::v1::Pod;

use crate::agents::collect::{self, PodOutcome};
use crate::netprobe::status::Failure;

/// How often to look at a run under way when no pod event comes.
pub const POLL: Duration = Duration::from_secs(5);

/// One agent pod of the run and what its state means.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AgentState {
    pub pod: String,
    pub outcome: PodOutcome,
}

/// A run under way as the reconcile found it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunFacts<'a> {
    pub now: Timestamp,
    /// The probe's timeout plus the controller's grace, from the run's start.
    pub deadline: Timestamp,
    pub timeout_seconds: i64,
    /// The run's agent pods, the source first; empty when the source pod is missing.
    pub agents: &'a [AgentState],
}

/// The next step of a run under way.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    /// The source pod was never created, or someone deleted it: plan and create it again.
    Recreate,
    /// The run cannot produce a path: finish it failed.
    Fail(Failure),
    /// The source agent failed: finish the run failed with this reason, its message followed
    /// by the last line of the agent's log when there is one.
    SourceFailed {
        reason: &'static str,
        message: String,
    },
    /// Pods are still working: write their states and look again after this long.
    Wait(Duration),
    /// Every pod has ended and the source agent succeeded: read the reports.
    Collect,
}

fn in_progress(o: &PodOutcome) -> bool {
    matches!(o, PodOutcome::InProgress { .. })
}

/// The next step of a run under way (pure).
pub fn decide(facts: &RunFacts<'_>) -> Step {
    let past_deadline = facts.now >= facts.deadline;
    let Some(source) = facts.agents.first() else {
        return if past_deadline {
            Step::Fail(Failure::of_run(
                "AgentPodLost",
                "the source agent pod disappeared before it reported".into(),
            ))
        } else {
            Step::Recreate
        };
    };
    // The first stuck pod, source first, names the reason.
    if let Some(stuck) = facts.agents.iter().find(|a| in_progress(&a.outcome)) {
        if past_deadline {
            let (reason, message) =
                collect::stuck_reason(&stuck.pod, &stuck.outcome, facts.timeout_seconds);
            return Step::Fail(Failure::of_run(reason, message));
        }
        let left = Duration::try_from(facts.deadline.duration_since(facts.now)).unwrap_or(POLL);
        return Step::Wait(left.clamp(Duration::from_secs(1), POLL));
    }
    match &source.outcome {
        PodOutcome::Failed { reason, message } => Step::SourceFailed {
            reason,
            message: message.clone(),
        },
        _ => Step::Collect,
    }
}

/// How long the source pod waits for a watching endpoint pod to be ready (armed) before it is
/// created anyway: that watcher then reports it saw nothing, and the source's own evidence
/// does not depend on it.
pub const ARM_WAIT: Duration = Duration::from_secs(20);

/// How often a run whose source waits for its watcher is looked at.
pub const ARM_POLL: Duration = Duration::from_secs(1);

/// A run's watching endpoint pod, as the start of the run sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Watcher {
    /// Not created yet.
    Missing,
    /// Created at `since`, not ready yet.
    Arming { since: Timestamp },
    /// Ready: its trace is armed.
    Armed,
    /// Ended (or failed) without ever being ready: nothing to wait for.
    Ended,
}

/// A watching endpoint pod's state for the start of its run (pure): ready means armed.
pub fn watcher(pod: Option<&Pod>) -> Watcher {
    let Some(pod) = pod else {
        return Watcher::Missing;
    };
    let ready = (pod.status.as_ref())
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|c| c.iter().any(|c| c.type_ == "Ready" && c.status == "True"));
    match (ready, collect::pod_outcome(pod)) {
        (true, _) => Watcher::Armed,
        (false, PodOutcome::InProgress { .. }) => Watcher::Arming {
            since: (pod.metadata.creation_timestamp.as_ref())
                .map_or(Timestamp::UNIX_EPOCH, |t| t.0),
        },
        (false, _) => Watcher::Ended,
    }
}

/// Whether the source pod may be created now (pure): once its watcher is armed or gone, or
/// after [`ARM_WAIT`] (at most half the probe's `timeout_seconds`, so the source always has
/// time to run). A missing watcher is created first.
pub fn source_may_start(watcher: Watcher, now: Timestamp, timeout_seconds: i64) -> bool {
    let wait = (ARM_WAIT.as_secs() as i64).min(timeout_seconds / 2);
    match watcher {
        Watcher::Missing => false,
        Watcher::Arming { since } => now.duration_since(since).as_secs() >= wait,
        Watcher::Armed | Watcher::Ended => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(secs: i64) -> Timestamp {
        Timestamp::from_second(1_700_000_000 + secs).unwrap_or(Timestamp::UNIX_EPOCH)
    }

    fn agent(pod: &str, outcome: PodOutcome) -> AgentState {
        AgentState {
            pod: pod.into(),
            outcome,
        }
    }

    fn running() -> PodOutcome {
        PodOutcome::InProgress {
            phase: "Running",
            why: None,
        }
    }

    fn facts(now: i64, agents: &[AgentState]) -> RunFacts<'_> {
        RunFacts {
            now: t(now),
            deadline: t(45),
            timeout_seconds: 30,
            agents,
        }
    }

    #[test]
    fn the_source_starts_once_its_watcher_is_armed_gone_or_late() {
        assert!(!source_may_start(Watcher::Missing, t(0), 60));
        let arming = Watcher::Arming { since: t(0) };
        assert!(!source_may_start(arming, t(19), 60));
        assert!(source_may_start(arming, t(20), 60));
        assert!(source_may_start(arming, t(5), 10), "half a short timeout");
        assert!(source_may_start(Watcher::Armed, t(0), 60));
        assert!(source_may_start(Watcher::Ended, t(0), 60));
    }

    #[test]
    fn a_missing_source_pod_is_recreated_until_the_deadline_then_the_run_fails() {
        assert_eq!(decide(&facts(10, &[])), Step::Recreate);
        let Step::Fail(f) = decide(&facts(45, &[])) else {
            panic!("not a failure");
        };
        assert_eq!(f.reason, "AgentPodLost");
        assert!(f.counts_as_run);
    }

    #[test]
    fn working_pods_are_polled_at_most_every_5s_and_never_past_the_deadline() {
        let agents = [agent("src", running())];
        assert_eq!(decide(&facts(0, &agents)), Step::Wait(POLL));
        assert_eq!(
            decide(&facts(43, &agents)),
            Step::Wait(Duration::from_secs(2))
        );
    }

    #[test]
    fn a_pod_stuck_past_the_deadline_fails_the_run_with_its_own_reason() {
        let pending = PodOutcome::InProgress {
            phase: "Pending",
            why: Some(("ImagePullBackOff", "back-off pulling image".into())),
        };
        let agents = [
            agent("src", PodOutcome::Succeeded),
            agent("ep", pending.clone()),
        ];
        let Step::Fail(f) = decide(&facts(50, &agents)) else {
            panic!("not a failure");
        };
        assert_eq!(f.reason, "ImagePullBackOff");
        assert!(f.message.contains("agent pod ep"), "{}", f.message);
    }

    #[test]
    fn a_failed_source_agent_fails_the_run_and_a_succeeded_one_is_collected() {
        let failed = PodOutcome::Failed {
            reason: "OOMKilled",
            message: "agent exited with code 137".into(),
        };
        assert_eq!(
            decide(&facts(5, &[agent("src", failed)])),
            Step::SourceFailed {
                reason: "OOMKilled",
                message: "agent exited with code 137".into()
            }
        );
        let agents = [
            agent("src", PodOutcome::Succeeded),
            agent(
                "ep",
                PodOutcome::Failed {
                    reason: "AgentFailed",
                    message: "x".into(),
                },
            ),
        ];
        assert_eq!(decide(&facts(5, &agents)), Step::Collect);
    }
}
