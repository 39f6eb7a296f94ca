//! Step 7 of the pipeline, status (pure, no client required): a run's state and merged path ->
//! the NetProbe status, applied server-side by the reconciler.
//!
//! Conditions:
//! - `Completed`: the latest run finished (True) or is under way (False).
//! - `Reachable`: True / False / Unknown, with the first failure's reason.
//! - `Ready` (kstatus): True when the latest run completed and the target was reachable.
//! - `Reconciling` (kstatus): True while a run is under way or queued.
//! - `Queued`: True while a run waits for a limit on agent pods or runs (phase Pending); the
//!   reason names the limit and the message when it retries. Gone once the run starts.
//!
//! While a periodic probe re-runs, the previous run's result (hops, dns, firstFailure, summary,
//! Reachable, Ready) stays, so dashboards keep the latest answer. A new generation starts clean.

use jiff::Timestamp;
use netdiag_crds::{NetProbeStatus, NodeRun, Phase, StatusCondition};
use netdiag_model::merge::MergedPath;
use netdiag_model::{HopKind, Reason};

use crate::netprobe::schedule::INVALID_SPEC;

pub const COMPLETED: &str = "Completed";
pub const REACHABLE: &str = "Reachable";
pub const READY: &str = "Ready";
pub const RECONCILING: &str = "Reconciling";
pub const QUEUED: &str = "Queued";

/// Reason while a run is under way.
pub const RUN_IN_PROGRESS: &str = "RunInProgress";

/// A run that could not produce a path: invalid spec, unusable target, stuck or failed agent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failure {
    /// Stable category: `InvalidSpec`, `NoReadyEndpoints`, `Unschedulable`...
    pub reason: &'static str,
    pub message: String,
    /// What the failure says about reachability, if anything.
    pub reachable: Option<bool>,
    /// Whether this counts as a finished run (an invalid spec never ran).
    pub counts_as_run: bool,
}

impl Failure {
    /// A run that ended without a path: an agent failed or got stuck, a report was missing.
    pub fn of_run(reason: &'static str, message: String) -> Self {
        Failure {
            reason,
            message,
            reachable: None,
            counts_as_run: true,
        }
    }

    /// A spec only a change to it can fix; it never ran, so it does not count as a run.
    pub fn invalid_spec(message: String) -> Self {
        Failure {
            reason: INVALID_SPEC,
            message,
            reachable: None,
            counts_as_run: false,
        }
    }

    /// A probe the controller's settings refuse to run (a node source where none is allowed):
    /// it never ran, so it does not count as a run.
    pub fn refused(reason: &'static str, message: String) -> Self {
        Failure {
            counts_as_run: false,
            ..Failure::of_run(reason, message)
        }
    }

    /// A target that cannot be used (missing, headless, no ready endpoint...), which may
    /// already say the target is unreachable.
    pub fn unusable_target(reason: &'static str, message: String, reachable: Option<bool>) -> Self {
        Failure {
            reachable,
            ..Failure::of_run(reason, message)
        }
    }
}

/// What is the same for every status of one probe and generation.
#[derive(Clone, Debug, PartialEq)]
pub struct StatusInput<'a> {
    pub previous: &'a NetProbeStatus,
    pub generation: i64,
    /// The target in short form, for `kubectl get`.
    pub target: String,
    pub now: Timestamp,
}

/// RFC 3339, whole seconds, as Kubernetes writes times.
pub fn rfc3339(t: Timestamp) -> String {
    t.round(jiff::Unit::Second)
        .unwrap_or(t)
        .strftime("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

/// Parse a time this module wrote (or the API server did).
pub fn parse_time(s: &str) -> Option<Timestamp> {
    s.parse().ok()
}

fn tri(v: Option<bool>) -> &'static str {
    match v {
        Some(true) => "True",
        Some(false) => "False",
        None => "Unknown",
    }
}

/// Set a condition, keeping its lastTransitionTime when its status did not change.
fn set(
    conds: &mut Vec<StatusCondition>,
    previous: &NetProbeStatus,
    input: &StatusInput<'_>,
    type_: &str,
    status: &str,
    reason: &str,
    message: &str,
) {
    let last = previous
        .condition(type_)
        .filter(|c| c.status == status)
        .and_then(|c| c.last_transition_time.clone())
        .unwrap_or_else(|| rfc3339(input.now));
    conds.retain(|c| c.type_ != type_);
    conds.push(StatusCondition {
        type_: type_.to_string(),
        status: status.to_string(),
        reason: Some(reason.to_string()),
        message: Some(message.to_string()),
        last_transition_time: Some(last),
        observed_generation: Some(input.generation),
    });
}

fn base(input: &StatusInput<'_>) -> NetProbeStatus {
    let p = input.previous;
    let same_generation = p.observed_generation == Some(input.generation);
    NetProbeStatus {
        observed_generation: Some(input.generation),
        target: Some(input.target.clone()),
        runs: p.runs,
        // The latest result stays while the same generation re-runs.
        hops: if same_generation {
            p.hops.clone()
        } else {
            Vec::new()
        },
        dns: if same_generation {
            p.dns.clone()
        } else {
            Vec::new()
        },
        node_facts: if same_generation {
            p.node_facts.clone()
        } else {
            Vec::new()
        },
        first_failure: if same_generation {
            p.first_failure.clone()
        } else {
            None
        },
        summary: if same_generation {
            p.summary.clone()
        } else {
            None
        },
        completion_time: if same_generation {
            p.completion_time.clone()
        } else {
            None
        },
        ..Default::default()
    }
}

/// Keep the conditions of the last result when the same generation re-runs.
fn carried(input: &StatusInput<'_>, type_: &str) -> Option<StatusCondition> {
    (input.previous.observed_generation == Some(input.generation))
        .then(|| input.previous.condition(type_).cloned())
        .flatten()
}

/// The conditions of a run that has not finished: Completed False and Reconciling True with
/// `reason`, the last result's Reachable and Ready carried (or Unknown and False).
fn unfinished(input: &StatusInput<'_>, reason: &str, msg: &str) -> Vec<StatusCondition> {
    let mut conds = Vec::new();
    set(
        &mut conds,
        input.previous,
        input,
        COMPLETED,
        "False",
        reason,
        msg,
    );
    match carried(input, REACHABLE) {
        Some(c) => conds.push(c),
        None => set(
            &mut conds,
            input.previous,
            input,
            REACHABLE,
            "Unknown",
            reason,
            msg,
        ),
    }
    match carried(input, READY) {
        Some(c) => conds.push(c),
        None => set(
            &mut conds,
            input.previous,
            input,
            READY,
            "False",
            reason,
            msg,
        ),
    }
    set(
        &mut conds,
        input.previous,
        input,
        RECONCILING,
        "True",
        reason,
        msg,
    );
    conds
}

/// A run is under way: agent pods were created (or adopted) at `start`.
pub fn running(input: &StatusInput<'_>, start: Timestamp, nodes: Vec<NodeRun>) -> NetProbeStatus {
    let mut s = base(input);
    s.phase = Some(Phase::Running);
    s.start_time = Some(rfc3339(start));
    s.nodes = nodes;
    s.conditions = unfinished(input, RUN_IN_PROGRESS, "agent pods are tracing the path");
    s
}

/// A run waits for a limit (`reason` names it, `message` says when it retries): no agent pod
/// was created yet.
pub fn queued(input: &StatusInput<'_>, reason: &str, message: &str) -> NetProbeStatus {
    let mut s = base(input);
    s.phase = Some(Phase::Pending);
    let mut conds = unfinished(input, reason, message);
    set(
        &mut conds,
        input.previous,
        input,
        QUEUED,
        "True",
        reason,
        message,
    );
    s.conditions = conds;
    s
}

fn finish(s: &mut NetProbeStatus, input: &StatusInput<'_>, counts: bool, start: Option<Timestamp>) {
    s.start_time = start.map(rfc3339);
    s.completion_time = Some(rfc3339(input.now));
    if counts {
        s.runs = Some(input.previous.runs.unwrap_or(0) + 1);
    }
}

/// The run finished and produced a path.
pub fn completed(
    input: &StatusInput<'_>,
    path: &MergedPath,
    nodes: Vec<NodeRun>,
    start: Option<Timestamp>,
) -> NetProbeStatus {
    let mut s = base(input);
    s.phase = Some(Phase::Succeeded);
    s.nodes = nodes;
    s.apply_path(path);
    finish(&mut s, input, true, start);
    let has_dns_hop = path.hops.iter().any(|h| h.kind == HopKind::Dns);
    let (reachable, reason): (Option<bool>, String) = match (path.reachable, &path.first_failure) {
        (Some(true), _) => (Some(true), "Connected".to_string()),
        (_, Some(f)) => (Some(false), f.reason.to_string()),
        (Some(false), None) => (Some(false), Reason::ConnectFailed.to_string()),
        // No connect ran: a DNS-only probe whose answers were fine.
        (None, None) if has_dns_hop => (Some(true), "Resolved".to_string()),
        (None, None) => (None, "ConnectNotChecked".to_string()),
    };
    let summary = path.summary.as_str();
    let mut conds = Vec::new();
    set(
        &mut conds,
        input.previous,
        input,
        COMPLETED,
        "True",
        "RunFinished",
        summary,
    );
    set(
        &mut conds,
        input.previous,
        input,
        REACHABLE,
        tri(reachable),
        &reason,
        summary,
    );
    let ready = if reachable == Some(true) {
        "True"
    } else {
        "False"
    };
    set(
        &mut conds,
        input.previous,
        input,
        READY,
        ready,
        &reason,
        summary,
    );
    set(
        &mut conds,
        input.previous,
        input,
        RECONCILING,
        "False",
        "RunFinished",
        summary,
    );
    s.conditions = conds;
    s
}

/// The run ended without a path.
pub fn failed(
    input: &StatusInput<'_>,
    failure: &Failure,
    nodes: Vec<NodeRun>,
    start: Option<Timestamp>,
) -> NetProbeStatus {
    let mut s = base(input);
    s.phase = Some(Phase::Failed);
    s.nodes = nodes;
    // A failed run replaces the previous result: its path no longer describes the cluster.
    s.hops.clear();
    s.dns.clear();
    s.first_failure = None;
    s.summary = Some(format!("{}: {}", failure.reason, failure.message));
    finish(&mut s, input, failure.counts_as_run, start);
    let msg = failure.message.as_str();
    let mut conds = Vec::new();
    set(
        &mut conds,
        input.previous,
        input,
        COMPLETED,
        "True",
        failure.reason,
        msg,
    );
    set(
        &mut conds,
        input.previous,
        input,
        REACHABLE,
        tri(failure.reachable),
        failure.reason,
        msg,
    );
    set(
        &mut conds,
        input.previous,
        input,
        READY,
        "False",
        failure.reason,
        msg,
    );
    set(
        &mut conds,
        input.previous,
        input,
        RECONCILING,
        "False",
        failure.reason,
        msg,
    );
    s.conditions = conds;
    s
}
