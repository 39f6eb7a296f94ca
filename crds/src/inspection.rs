//! The `NodeInspection` resource: inspect one node's pod network namespaces (node mode), or
//! compare one Service's rules on every node with its EndpointSlices (service mode).
//!
//! Cluster-scoped, unlike the NetProbe: an inspection reveals pods of every namespace, so only
//! those who may list pods cluster-wide may create one (config/admission/ enforces it, and the
//! RBAC in config/rbac/ grants it to no one by default).

use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use netdiag_model::inspect::InspectReport;

use crate::probe::{MAX_TTL_SECONDS_AFTER_FINISHED, NodeRun, Phase, StatusCondition};

/// What to inspect: one node, or one Service across every node.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[kube(
    group = "netdiag.dev",
    version = "v1alpha1",
    kind = "NodeInspection",
    plural = "nodeinspections",
    status = "NodeInspectionStatus",
    shortname = "ninspect",
    category = "netdiag",
    printcolumn = r#"{"name":"Node","type":"string","jsonPath":".spec.node"}"#,
    printcolumn = r#"{"name":"Service","type":"string","jsonPath":".status.target"}"#,
    printcolumn = r#"{"name":"Phase","type":"string","jsonPath":".status.phase"}"#,
    printcolumn = r#"{"name":"Findings","type":"integer","jsonPath":".status.findings"}"#,
    printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp"}"#
)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-validations" = [{
    "rule": "has(self.node) != has(self.service)",
    "message": "spec must set exactly one of node or service"
}]))]
pub struct NodeInspectionSpec {
    /// Inspect this node: every pod network namespace on it, joined to its Pod.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(
        length(min = 1, max = 253),
        regex(
            pattern = crate::validate::DNS_SUBDOMAIN_PATTERN
        )
    )]
    pub node: Option<String>,
    /// Compare this Service's rules on every node with its EndpointSlices.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<ServiceRef>,
    /// Delete the NodeInspection this many seconds after it finished (0 to 2592000, 30 days).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(
        range(min = 0, max = 2592000),
        extend("x-kubernetes-validations" = [{"rule": "self >= 0 && self <= 2592000", "message": "spec.ttlSecondsAfterFinished must be between 0 and 2592000 (30 days)"}])
    )]
    pub ttl_seconds_after_finished: Option<i32>,
}

/// A Service by namespace and name.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ServiceRef {
    #[schemars(
        length(min = 1, max = 63),
        regex(pattern = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
    )]
    pub namespace: String,
    #[schemars(
        length(min = 1, max = 63),
        regex(pattern = r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
    )]
    pub name: String,
}

/// The spec with exactly one mode chosen.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InspectionMode<'a> {
    Node(&'a str),
    Service(&'a ServiceRef),
}

/// Why a NodeInspection spec cannot run (the API server's schema says the same; an old or
/// schema-less server still gets the controller's answer).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum InspectionSpecError {
    #[error("spec must set exactly one of node or service")]
    NotExactlyOne,
    #[error(
        "spec.ttlSecondsAfterFinished {0} is out of range: use 0 to {MAX_TTL_SECONDS_AFTER_FINISHED} (30 days)"
    )]
    Ttl(i32),
}

impl NodeInspectionSpec {
    /// The one mode set, checked with the rest of the spec.
    pub fn mode(&self) -> Result<InspectionMode<'_>, InspectionSpecError> {
        if let Some(ttl) = self.ttl_seconds_after_finished
            && !(0..=MAX_TTL_SECONDS_AFTER_FINISHED).contains(&ttl)
        {
            return Err(InspectionSpecError::Ttl(ttl));
        }
        match (&self.node, &self.service) {
            (Some(node), None) => Ok(InspectionMode::Node(node)),
            (None, Some(svc)) => Ok(InspectionMode::Service(svc)),
            _ => Err(InspectionSpecError::NotExactlyOne),
        }
    }
}

/// What was found.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct NodeInspectionStatus {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<Phase>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// `Completed` and the kstatus pair `Ready` / `Reconciling`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<StatusCondition>,
    /// Service mode: `svc/NAMESPACE/NAME`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// One line: what was inspected and what stands out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    /// How many findings the reports hold (service mode: nodes that disagree).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub findings: Option<i64>,
    /// Node mode: the node's inspection, each namespace joined to its Pod.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reports: Vec<InspectReport>,
    /// Service mode: per node, what its rules program against what the EndpointSlices say.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub service_nodes: Vec<ServiceOnNode>,
    /// The agent runs, one per node.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub nodes: Vec<NodeRun>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_time: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completion_time: Option<String>,
}

/// One node's rules for the Service, compared with its EndpointSlices.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ServiceOnNode {
    pub node: String,
    /// The proxy mode read (`iptables (nf_tables)`, `nftables`, `ipvs`).
    pub mode: String,
    /// `IP:PORT` endpoints the node's rules send to, per Service port (`80/TCP`).
    pub programmed: Vec<PortEndpoints>,
    /// Endpoints the EndpointSlices list as ready that the node's rules lack.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub missing: Vec<String>,
    /// Endpoints the node's rules send to that no EndpointSlice lists as ready (stale).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub stale: Vec<String>,
    /// The node's rules agree with the EndpointSlices.
    pub agrees: bool,
}

/// The endpoints of one Service port.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PortEndpoints {
    /// `80/TCP`.
    pub port: String,
    pub endpoints: Vec<String>,
}

/// The CRD as YAML, exactly as checked in at `crds/nodeinspection.yaml`.
pub fn crd_yaml() -> Result<String, serde_saphyr::ser::Error> {
    use kube::CustomResourceExt;
    let header = "# Generated by `cargo run -p netdiag-crds --bin crdgen -- --kind NodeInspection crds/nodeinspection.yaml config/crd/nodeinspection.yaml`; do not edit.\n";
    Ok(format!(
        "{header}{}",
        serde_saphyr::to_string(&NodeInspection::crd())?
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(node: Option<&str>, service: Option<(&str, &str)>) -> NodeInspectionSpec {
        NodeInspectionSpec {
            node: node.map(str::to_string),
            service: service.map(|(namespace, name)| ServiceRef {
                namespace: namespace.into(),
                name: name.into(),
            }),
            ttl_seconds_after_finished: None,
        }
    }

    #[test]
    fn exactly_one_mode_is_accepted() {
        assert_eq!(
            spec(Some("worker-1"), None).mode(),
            Ok(InspectionMode::Node("worker-1"))
        );
        let svc = spec(None, Some(("default", "echo")));
        assert!(matches!(svc.mode(), Ok(InspectionMode::Service(s)) if s.name == "echo"));
        assert_eq!(
            spec(None, None).mode(),
            Err(InspectionSpecError::NotExactlyOne)
        );
        assert_eq!(
            spec(Some("a"), Some(("default", "echo"))).mode(),
            Err(InspectionSpecError::NotExactlyOne)
        );
    }

    #[test]
    fn a_ttl_out_of_range_is_refused_with_its_bounds() {
        let mut s = spec(Some("worker-1"), None);
        s.ttl_seconds_after_finished = Some(-1);
        let e = s.mode().unwrap_err();
        assert!(e.to_string().contains("use 0 to 2592000"), "{e}");
    }

    #[test]
    fn the_crd_is_cluster_scoped_with_its_names() {
        let yaml = crd_yaml().expect("renders");
        assert!(yaml.contains("scope: Cluster"), "{yaml}");
        assert!(yaml.contains("kind: NodeInspection"));
        assert!(yaml.contains("- ninspect"));
    }
}
