//! A NodeInspection's status (pure, no client required), in the NetProbe's conventions:
//! `Completed`, and the kstatus pair `Ready` (True once it finished with reports) and
//! `Reconciling` (True while its agents run).

use jiff::Timestamp;
use netdiag_crds::inspection::{NodeInspectionStatus, ServiceOnNode};
use netdiag_crds::{NodeRun, Phase, StatusCondition};
use netdiag_model::inspect::InspectReport;

use crate::netprobe::status::{COMPLETED, READY, RECONCILING, RUN_IN_PROGRESS, rfc3339};

/// What every status of one inspection generation shares.
#[derive(Clone, Copy, Debug)]
pub struct Input<'a> {
    pub previous: &'a NodeInspectionStatus,
    pub generation: i64,
    pub now: Timestamp,
    pub start: Timestamp,
}

fn condition(
    input: &Input<'_>,
    type_: &str,
    status: &str,
    reason: &str,
    message: &str,
) -> StatusCondition {
    // The transition time moves only when the status does.
    let last = (input.previous.conditions.iter())
        .find(|c| c.type_ == type_ && c.status == status)
        .and_then(|c| c.last_transition_time.clone())
        .unwrap_or_else(|| rfc3339(input.now));
    StatusCondition {
        type_: type_.into(),
        status: status.into(),
        reason: Some(reason.into()),
        message: Some(message.into()),
        last_transition_time: Some(last),
        observed_generation: Some(input.generation),
    }
}

fn base(input: &Input<'_>, phase: Phase, nodes: Vec<NodeRun>) -> NodeInspectionStatus {
    NodeInspectionStatus {
        phase: Some(phase),
        observed_generation: Some(input.generation),
        nodes,
        start_time: Some(rfc3339(input.start)),
        ..Default::default()
    }
}

/// Agents are at work on `nodes`.
pub fn running(
    input: &Input<'_>,
    target: Option<String>,
    nodes: Vec<NodeRun>,
) -> NodeInspectionStatus {
    let message = format!("inspecting {} node(s)", nodes.len());
    NodeInspectionStatus {
        target,
        conditions: vec![
            condition(input, COMPLETED, "False", RUN_IN_PROGRESS, &message),
            condition(input, READY, "False", RUN_IN_PROGRESS, &message),
            condition(input, RECONCILING, "True", RUN_IN_PROGRESS, &message),
        ],
        ..base(input, Phase::Running, nodes)
    }
}

fn finished(
    mut s: NodeInspectionStatus,
    input: &Input<'_>,
    summary: String,
) -> NodeInspectionStatus {
    s.conditions = vec![
        condition(input, COMPLETED, "True", "Inspected", &summary),
        condition(input, READY, "True", "Inspected", &summary),
        condition(input, RECONCILING, "False", "Inspected", &summary),
    ];
    s.summary = Some(summary);
    s.completion_time = Some(rfc3339(input.now));
    s
}

/// A node inspection finished: its report, joined to the node's Pods.
pub fn inspected_node(
    input: &Input<'_>,
    report: InspectReport,
    nodes: Vec<NodeRun>,
) -> NodeInspectionStatus {
    let findings = report.findings.len();
    let mut summary = format!(
        "node {}: {} pod network namespaces, {} mapped to a Pod, {findings} finding(s)",
        report.node,
        report.namespaces.len(),
        report.namespaces.iter().filter(|n| n.pod.is_some()).count(),
    );
    if let Some(first) = report.findings.first() {
        summary.push_str(&format!("; first: {}", first.message));
    }
    let mut s = base(input, Phase::Succeeded, nodes);
    s.findings = Some(findings as i64);
    s.reports = vec![report];
    finished(s, input, summary)
}

/// A service inspection finished: every node's rules against the EndpointSlices.
pub fn inspected_service(
    input: &Input<'_>,
    target: String,
    service_nodes: Vec<ServiceOnNode>,
    nodes: Vec<NodeRun>,
) -> NodeInspectionStatus {
    let disagree: Vec<&str> = (service_nodes.iter())
        .filter(|n| !n.agrees)
        .map(|n| n.node.as_str())
        .collect();
    let summary = if disagree.is_empty() {
        format!(
            "{target}: the rules of all {} node(s) agree with its EndpointSlices",
            service_nodes.len()
        )
    } else {
        format!(
            "{target}: {} of {} node(s) disagree with its EndpointSlices: {}",
            disagree.len(),
            service_nodes.len(),
            disagree.join(", ")
        )
    };
    let mut s = base(input, Phase::Succeeded, nodes);
    s.target = Some(target);
    s.findings = Some(disagree.len() as i64);
    s.service_nodes = service_nodes;
    finished(s, input, summary)
}

/// The inspection could not be done: `reason` is a stable category, `message` says what to do.
pub fn failed(
    input: &Input<'_>,
    target: Option<String>,
    reason: &str,
    message: &str,
    nodes: Vec<NodeRun>,
) -> NodeInspectionStatus {
    NodeInspectionStatus {
        target,
        summary: Some(message.to_string()),
        completion_time: Some(rfc3339(input.now)),
        conditions: vec![
            condition(input, COMPLETED, "True", reason, message),
            condition(input, READY, "False", reason, message),
            condition(input, RECONCILING, "False", reason, message),
        ],
        ..base(input, Phase::Failed, nodes)
    }
}
