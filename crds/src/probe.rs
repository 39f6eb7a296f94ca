//! The `NetProbe` resource: what to trace (spec) and what was found (status).

use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use netdiag_model::{Check, DnsResult, FirstFailure, Hop};

pub use crate::source::{ProbeSource, SourceRef};
pub use crate::target::{
    AddressTarget, DnsTarget, PodTarget, PortRef, ProbeTarget, ServiceTarget, TargetRef,
};

/// Default for `spec.timeoutSeconds`.
pub const DEFAULT_TIMEOUT_SECONDS: i32 = 30;
/// Bounds for `spec.timeoutSeconds`, enforced in the schema and in [`crate::validate`].
pub const MIN_TIMEOUT_SECONDS: i32 = 1;
pub const MAX_TIMEOUT_SECONDS: i32 = 600;
/// Smallest allowed `spec.intervalSeconds`: a periodic probe starts privileged pods on nodes.
pub const MIN_INTERVAL_SECONDS: i32 = 30;
/// Largest allowed `spec.intervalSeconds` (a week). Every integer in the spec has an upper bound
/// in the schema, its CEL and [`crate::validate`]: the API server does not enforce
/// `format: int32`, and one stored value past `i32::MAX` once stopped the controller's watch.
pub const MAX_INTERVAL_SECONDS: i32 = 7 * 24 * 3600;
/// Largest allowed `spec.ttlSecondsAfterFinished` (30 days).
pub const MAX_TTL_SECONDS_AFTER_FINISHED: i32 = 30 * 24 * 3600;
/// Port numbers, in every place the spec takes one.
pub const MIN_PORT: i32 = 1;
pub const MAX_PORT: i32 = 65535;

/// A request to find out whether, and why not, a pod (or a node) can reach a target.
///
/// The controller fulfils it with short-lived agent pods on the nodes involved and writes the
/// result back as one ordered path of hops, each with a verdict.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[kube(
    group = "netdiag.dev",
    version = "v1alpha1",
    kind = "NetProbe",
    plural = "netprobes",
    namespaced,
    status = "NetProbeStatus",
    shortname = "nprobe",
    category = "netdiag",
    // The same columns, in the same order, as `kubectl netdiag get` (kubectl-netdiag's
    // list::GET_COLUMNS; tests/printer_columns.rs holds them together). Target comes from the
    // spec, which is there before the first run: the name (or IP) of whichever target is set.
    printcolumn = r#"{"name":"Source","type":"string","jsonPath":".spec.source.*","description":"The pod or node the traffic starts from"}"#,
    printcolumn = r#"{"name":"Target","type":"string","jsonPath":".spec.target.*['name','ip']","description":"The Service, pod or DNS name, or the IP, to reach"}"#,
    printcolumn = r#"{"name":"Phase","type":"string","jsonPath":".status.phase"}"#,
    printcolumn = r#"{"name":"Result","type":"string","jsonPath":".status.conditions[?(@.type==\"Reachable\")].reason","description":"Reachable, or the reason of the first failure"}"#,
    printcolumn = r#"{"name":"Runs","type":"integer","jsonPath":".status.runs"}"#,
    printcolumn = r#"{"name":"Last Run","type":"date","jsonPath":".status.completionTime"}"#,
    printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp"}"#,
    printcolumn = r#"{"name":"Interval","type":"integer","jsonPath":".spec.intervalSeconds","priority":1,"description":"Seconds between runs of a periodic probe"}"#,
    printcolumn = r#"{"name":"Summary","type":"string","jsonPath":".status.summary","priority":1}"#
)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-validations" = [{
    "rule": "!has(self.intervalSeconds) || !has(self.ttlSecondsAfterFinished)",
    "message": "spec.ttlSecondsAfterFinished applies only to one-shot probes: remove it or spec.intervalSeconds"
}]))]
pub struct NetProbeSpec {
    /// Where the traffic starts: exactly one of a pod (always in the NetProbe's own namespace)
    /// or a node (its host network; refused unless the controller allows node sources for this
    /// namespace).
    pub source: ProbeSource,
    /// What the source should reach: exactly one of service, pod, address or dns.
    pub target: ProbeTarget,
    /// Which checks to run. Default: every check that applies to the target.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checks: Option<Vec<Check>>,
    /// Also resolve this DNS name from the source pod, through each of its nameservers.
    /// Default for a Service target: the Service's cluster-local name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(
        length(min = 1, max = 253),
        regex(
            pattern = r"^[A-Za-z0-9_]([-A-Za-z0-9_]{0,61}[A-Za-z0-9_])?(\.[A-Za-z0-9_]([-A-Za-z0-9_]{0,61}[A-Za-z0-9_])?)*\.?$"
        )
    )]
    pub dns_name: Option<String>,
    /// How long one run may take, agent pods included (default 30).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(
        range(min = 1, max = 600),
        extend("x-kubernetes-validations" = [{"rule": "self >= 1 && self <= 600", "message": "spec.timeoutSeconds must be between 1 and 600"}])
    )]
    pub timeout_seconds: Option<i32>,
    /// Re-run the probe every this many seconds (30 to 604800, a week). Unset: run once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(
        range(min = 30, max = 604800),
        extend("x-kubernetes-validations" = [{"rule": "self >= 30 && self <= 604800", "message": "spec.intervalSeconds must be between 30 and 604800 (a week)"}])
    )]
    pub interval_seconds: Option<i32>,
    /// Delete a one-shot NetProbe this many seconds after it finished (0 to 2592000, 30 days).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(
        range(min = 0, max = 2592000),
        extend("x-kubernetes-validations" = [{"rule": "self >= 0 && self <= 2592000", "message": "spec.ttlSecondsAfterFinished must be between 0 and 2592000 (30 days)"}])
    )]
    pub ttl_seconds_after_finished: Option<i32>,
}

/// Lifecycle of one run, as `status.phase`.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, JsonSchema)]
pub enum Phase {
    Pending,
    Running,
    Succeeded,
    Failed,
}

impl Phase {
    pub fn is_finished(self) -> bool {
        matches!(self, Phase::Succeeded | Phase::Failed)
    }
}

impl std::fmt::Display for Phase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Phase::Pending => "Pending",
            Phase::Running => "Running",
            Phase::Succeeded => "Succeeded",
            Phase::Failed => "Failed",
        })
    }
}

/// What was found. `Succeeded` means the probe ran to the end; whether the target was reachable
/// is the `Reachable` condition and `firstFailure`.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct NetProbeStatus {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<Phase>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// `Completed`, `Reachable`, the kstatus pair `Ready` / `Reconciling`, and `Queued` while a
    /// limit on agent pods or runs holds a run back.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<StatusCondition>,
    /// The target in short form (`svc/echo:http`), for `kubectl get`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// One line: reachable or not, and through what.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    /// The first hop on the path whose verdict is Fail.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_failure: Option<FirstFailure>,
    /// The path from the source pod to the endpoint, in order, across nodes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hops: Vec<Hop>,
    /// One answer per DNS server asked.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dns: Vec<DnsResult>,
    /// Evidence of the probe's own packets, per node (rule trace, counters, capture).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub evidence: Vec<netdiag_model::report::Evidence>,
    /// What each node the trace ran on runs: its CNI (name, variant, evidence) and proxy mode.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub node_facts: Vec<netdiag_model::report::TraceNodeFacts>,
    /// The agent runs of the latest run, one per node.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub nodes: Vec<NodeRun>,
    /// RFC 3339 time the latest run started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_time: Option<String>,
    /// RFC 3339 time the latest run finished.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completion_time: Option<String>,
    /// How many runs have finished.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runs: Option<i64>,
}

/// A condition in the shape of `metav1.Condition`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct StatusCondition {
    #[serde(rename = "type")]
    pub type_: String,
    /// "True", "False" or "Unknown".
    pub status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_transition_time: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
}

/// One agent run on one node.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct NodeRun {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_pod: Option<String>,
    /// The agent pod's phase: Pending, Running, Succeeded, Failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// The CRD as YAML, exactly as checked in at `crds/netprobe.yaml`.
pub fn crd_yaml() -> Result<String, serde_saphyr::ser::Error> {
    use kube::CustomResourceExt;
    let header = "# Generated by `cargo run -p netdiag-crds --bin crdgen -- crds/netprobe.yaml config/crd/netprobe.yaml`; do not edit.\n";
    Ok(format!(
        "{header}{}",
        serde_saphyr::to_string(&NetProbe::crd())?
    ))
}
