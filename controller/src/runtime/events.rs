//! Kubernetes Events on the NetProbe: a run started, a failure was found, a run completed. Only
//! on change: which events a status transition deserves is decided purely by [`transition`], so
//! a periodic probe whose answer stays the same does not flood `kubectl describe`.

use k8s_openapi::api::core::v1::ObjectReference;
use kube::runtime::events::{Event, EventType, Recorder};
use netdiag_crds::{NetProbeStatus, Phase};

use crate::netprobe::status::REACHABLE;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProbeEvent {
    pub warning: bool,
    pub reason: &'static str,
    pub action: &'static str,
    pub note: String,
}

fn finished(s: &NetProbeStatus) -> bool {
    s.phase.is_some_and(Phase::is_finished)
}

/// The events that the move from `prev` to `next` deserves (pure).
///
/// - `Started`: the first run of a generation begins (not every periodic re-run).
/// - `FailureFound`: a run finished with a first failure other than the previous run's.
/// - `Completed` / `ProbeFailed`: a run finished and its answer (phase and Reachable status and
///   reason) differs from the previous run's, or it is the generation's first answer.
pub fn transition(prev: &NetProbeStatus, next: &NetProbeStatus) -> Vec<ProbeEvent> {
    let mut out = Vec::new();
    let same_generation = prev.observed_generation == next.observed_generation;
    let run_began = prev.phase != Some(Phase::Running) || !same_generation;
    if next.phase == Some(Phase::Running)
        && run_began
        && !(same_generation && prev.completion_time.is_some())
    {
        out.push(ProbeEvent {
            warning: false,
            reason: "Started",
            action: "Trace",
            note: format!(
                "tracing {} on {}",
                next.target.clone().unwrap_or_default(),
                next.nodes
                    .iter()
                    .map(|n| n.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        });
    }
    if !finished(next)
        || finished(prev) && same_generation && prev.completion_time == next.completion_time
    {
        return out;
    }
    let key = |f: &Option<netdiag_model::FirstFailure>| {
        f.as_ref()
            .map(|f| (f.hop.clone(), f.node.clone(), f.reason.clone()))
    };
    // `prev` may be the Running status of a re-run, which carries the previous answer.
    let prev_answer = same_generation.then_some(prev);
    if let Some(f) = &next.first_failure
        && prev_answer.is_none_or(|p| key(&p.first_failure) != key(&next.first_failure))
    {
        out.push(ProbeEvent {
            warning: true,
            reason: "FailureFound",
            action: "Trace",
            note: format!("{} on {}: {}", f.hop, f.node, f.message),
        });
    }
    // The answer a status gives: Reachable's status and reason (carried through a re-run).
    let answer = |s: &NetProbeStatus| {
        s.condition(REACHABLE)
            .map(|c| (c.status.clone(), c.reason.clone()))
    };
    let prev_has_answer = prev_answer.is_some_and(|p| p.completion_time.is_some());
    let changed = !prev_has_answer || prev_answer.map(answer) != Some(answer(next));
    if changed {
        let failed = next.phase == Some(Phase::Failed);
        out.push(ProbeEvent {
            warning: failed,
            reason: if failed { "ProbeFailed" } else { "Completed" },
            action: "Trace",
            note: next.summary.clone().unwrap_or_default(),
        });
    }
    out
}

/// Publish events about the NetProbe `reference` points at; a failure to publish is logged,
/// never fatal: the status already says it all.
pub async fn publish(recorder: &Recorder, reference: &ObjectReference, events: &[ProbeEvent]) {
    for e in events {
        let ev = Event {
            type_: if e.warning {
                EventType::Warning
            } else {
                EventType::Normal
            },
            reason: e.reason.to_string(),
            // The Events API caps the note at 1 kB.
            note: Some(e.note.chars().take(1000).collect()),
            action: e.action.to_string(),
            secondary: None,
        };
        if let Err(err) = recorder.publish(&ev, reference).await {
            tracing::warn!(reason = e.reason, error = %err, "could not publish an Event");
        }
    }
}
