//! One path from the source pod to the endpoint, across nodes: what every view of a trace shows.

use serde::{Deserialize, Serialize};

use crate::report::{DnsResult, Endpoint, FirstFailure, Hop};
use crate::report::{Evidence, TraceNodeFacts};

/// The merged path of one trace: built by [`crate::merge::merge`] from node reports, or read
/// back from a NetProbe status. Renderers take this, never a Kubernetes object.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct MergedPath {
    /// The target in short form (`svc/echo:http`), when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// How far the trace got: a path still being traced has no verdict yet.
    #[serde(default)]
    pub progress: Progress,
    pub hops: Vec<Hop>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dns: Vec<DnsResult>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_failure: Option<FirstFailure>,
    /// The connect's outcome, when a connect ran (or what the controller concluded).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reachable: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chosen_endpoint: Option<Endpoint>,
    pub summary: String,
    /// Evidence of the probe's packets, per node that gathered some.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub evidence: Vec<Evidence>,
    /// What each node the trace ran on runs (CNI, proxy mode), the source node's first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub node_facts: Vec<TraceNodeFacts>,
}

/// How far a trace got.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub enum Progress {
    /// Not started yet.
    Pending,
    /// Agents are still at work.
    Running,
    /// Traced to the end: the hops carry the verdict.
    #[default]
    Done,
    /// The run failed before it could judge the path; why, when known.
    Failed(Option<String>),
}

impl Progress {
    /// Whether the hops carry a verdict yet.
    pub fn is_finished(&self) -> bool {
        matches!(self, Progress::Done | Progress::Failed(_))
    }
}
