//! Step 4 of the pipeline, the agent pod (pure, no client required): a node plan and the probe's
//! identity -> the exact Pod the controller creates. `netdiag-controller render-agent-pod`
//! prints this object, so a reviewer audits what will run on their nodes.
//!
//! Nothing of the NetProbe's spec reaches the image, the command, a path or the node: the image
//! is the controller's flag, the node comes from the API (the source pod's or endpoint's node),
//! and the spec only shapes the JSON plan, whose addresses were validated and resolved.
//!
//! The plan is not an argument: Linux caps one argument at 128 KiB, which a Service of about
//! 3,800 endpoints exceeds. It travels in a ConfigMap of the run ([`super::plan_config_map`]),
//! created just before the pod, which mounts it read-only and passes the agent its path.
//!
//! The pod's spec, the same for every agent pod (its privileges and mounts), is
//! [`super::pod_spec`].

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};
use netdiag_crds::{NODE_LABEL, PROBE_LABEL};
use netdiag_model::PlanRole;

use super::plan_config_map;
use super::pod_spec::{NETNS_DIR, agent_pod_spec, plan_path};
use crate::netprobe::plan::NodePlan;

/// Label with the agent's role (`source` / `endpoint`).
pub const ROLE_LABEL: &str = "netdiag.dev/role";
/// Label with the probe generation the run serves.
pub const GENERATION_LABEL: &str = "netdiag.dev/generation";
/// Label with the run number (status.runs + 1 when the run started).
pub const RUN_LABEL: &str = "netdiag.dev/run";
/// Annotations naming the NetProbe, so a pod maps back to it across namespaces.
pub const PROBE_NAMESPACE_ANNOTATION: &str = "netdiag.dev/probe-namespace";
pub const PROBE_NAME_ANNOTATION: &str = "netdiag.dev/probe-name";
/// Every agent pod carries these; the controller lists and watches pods by them.
pub const MANAGED_BY: (&str, &str) = ("app.kubernetes.io/managed-by", crate::MANAGER);
pub const COMPONENT: (&str, &str) = ("app.kubernetes.io/component", "agent");
/// Selector for every agent pod this controller made.
pub fn agent_selector() -> String {
    format!(
        "{}={},{}={}",
        MANAGED_BY.0, MANAGED_BY.1, COMPONENT.0, COMPONENT.1
    )
}
/// What the controller decides about every agent pod, from its flags.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AgentSettings {
    pub image: String,
    /// The controller's namespace: agent pods live there and nowhere else.
    pub namespace: String,
}

/// The NetProbe a run works for, with its metadata already checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProbeRef {
    pub namespace: String,
    pub name: String,
    pub uid: String,
    pub generation: i64,
    /// The run number: 1 for the first run, status.runs + 1 after.
    pub run: i64,
}

#[derive(Debug, thiserror::Error)]
pub enum PodError {
    #[error("serialising the {role} plan for node {node} failed: {source}")]
    Plan {
        role: PlanRole,
        node: String,
        #[source]
        source: serde_json::Error,
    },
    #[error(
        "the {role} plan for node {node} takes {bytes} bytes ({endpoints} expected endpoints), more than the {max} a ConfigMap holds: netdiag traces Services of up to 50,000 ready endpoints; target one of the Service's pods instead"
    )]
    PlanTooLarge {
        role: PlanRole,
        node: String,
        endpoints: usize,
        bytes: usize,
        max: usize,
    },
}

impl PodError {
    /// The status reason when a run cannot start because of it.
    pub fn reason(&self) -> &'static str {
        match self {
            PodError::Plan { .. } => "PlanEncoding",
            PodError::PlanTooLarge { .. } => "PlanTooLarge",
        }
    }
}

pub fn role_str(role: PlanRole) -> &'static str {
    match role {
        PlanRole::Source => "source",
        PlanRole::Endpoint => "endpoint",
        PlanRole::Unknown => "unknown",
    }
}

/// Deterministic name: one pod per (probe, run, role), so a retried create hits AlreadyExists
/// instead of starting a duplicate.
pub fn agent_pod_name(probe: &ProbeRef, role: PlanRole) -> String {
    format!("netdiag-{}-r{}-{}", probe.uid, probe.run, role_str(role))
}

/// A label value must be at most 63 characters of `[A-Za-z0-9._-]`, alphanumeric at both ends;
/// node names (DNS subdomains up to 253) may not fit, and then the label is left out (the
/// pod's `spec.nodeName` still says it).
fn label_value_ok(v: &str) -> bool {
    !v.is_empty()
        && v.len() <= 63
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.')
        && v.as_bytes().first().is_some_and(u8::is_ascii_alphanumeric)
        && v.as_bytes().last().is_some_and(u8::is_ascii_alphanumeric)
}

/// The agent's command line: fixed flags only; the plan is a file from the run's ConfigMap.
pub fn agent_args(node_plan: &NodePlan) -> Vec<String> {
    [
        "trace",
        "--plan-file",
        &plan_path(),
        "-o",
        "json",
        "--node-name",
        &node_plan.node,
        "--netns-dir",
        NETNS_DIR,
        "--proc",
        "/proc",
    ]
    .map(String::from)
    .to_vec()
}

/// The labels every agent pod carries, whatever it works for: the controller lists and
/// watches agent pods by them.
pub fn agent_labels() -> BTreeMap<String, String> {
    BTreeMap::from([
        ("app.kubernetes.io/name".to_string(), "netdiag".to_string()),
        (
            "app.kubernetes.io/part-of".to_string(),
            "netdiag".to_string(),
        ),
        (COMPONENT.0.to_string(), COMPONENT.1.to_string()),
        (MANAGED_BY.0.to_string(), MANAGED_BY.1.to_string()),
    ])
}

/// What the pod and its plan ConfigMap both carry: the deterministic name, the labels the
/// controller lists them by, the annotations naming the NetProbe, and the owner reference.
pub fn agent_metadata(
    settings: &AgentSettings,
    probe: &ProbeRef,
    node_plan: &NodePlan,
) -> ObjectMeta {
    let mut labels = agent_labels();
    labels.extend([
        (PROBE_LABEL.to_string(), probe.uid.clone()),
        (ROLE_LABEL.to_string(), role_str(node_plan.role).to_string()),
        (GENERATION_LABEL.to_string(), probe.generation.to_string()),
        (RUN_LABEL.to_string(), probe.run.to_string()),
    ]);
    if label_value_ok(&node_plan.node) {
        labels.insert(NODE_LABEL.to_string(), node_plan.node.clone());
    }
    let annotations = BTreeMap::from([
        (
            PROBE_NAMESPACE_ANNOTATION.to_string(),
            probe.namespace.clone(),
        ),
        (PROBE_NAME_ANNOTATION.to_string(), probe.name.clone()),
    ]);
    // Kubernetes forbids owner references across namespaces: the garbage collector treats one
    // as absent and deletes the dependent at once. So the owner reference is set only when the
    // NetProbe lives in the controller's namespace; otherwise the run deletes its objects when
    // it ends, and the controller's sweep (gc.rs) deletes those whose NetProbe is gone.
    let owner_references = (probe.namespace == settings.namespace).then(|| {
        vec![OwnerReference {
            api_version: "netdiag.dev/v1alpha1".to_string(),
            kind: "NetProbe".to_string(),
            name: probe.name.clone(),
            uid: probe.uid.clone(),
            controller: Some(true),
            block_owner_deletion: Some(true),
        }]
    });
    ObjectMeta {
        name: Some(agent_pod_name(probe, node_plan.role)),
        namespace: Some(settings.namespace.clone()),
        labels: Some(labels),
        annotations: Some(annotations),
        owner_references,
        ..Default::default()
    }
}

/// What one node run creates, in this order: the plan's ConfigMap, then the pod that mounts it.
#[derive(Clone, Debug, PartialEq)]
pub struct AgentObjects {
    pub config_map: k8s_openapi::api::core::v1::ConfigMap,
    pub pod: Pod,
}

/// The plan ConfigMap and the agent pod for one node run. `deadline_seconds` bounds the pod's
/// life (the probe's timeout, or what is left of it for a second step).
pub fn agent_objects(
    settings: &AgentSettings,
    probe: &ProbeRef,
    node_plan: &NodePlan,
    deadline_seconds: i64,
) -> Result<AgentObjects, PodError> {
    Ok(AgentObjects {
        config_map: plan_config_map::config_map(settings, probe, node_plan)?,
        pod: agent_pod(settings, probe, node_plan, deadline_seconds),
    })
}

/// The agent pod for one node run; its plan is the ConfigMap of the same name.
fn agent_pod(
    settings: &AgentSettings,
    probe: &ProbeRef,
    node_plan: &NodePlan,
    deadline_seconds: i64,
) -> Pod {
    let metadata = agent_metadata(settings, probe, node_plan);
    let plan_config_map = metadata.name.clone().unwrap_or_default();
    let mut pod = Pod {
        metadata,
        spec: Some(agent_pod_spec(
            settings,
            &node_plan.node,
            agent_args(node_plan),
            deadline_seconds,
            Some(plan_config_map),
        )),
        status: None,
    };
    super::watch_pod::add_watch(&mut pod, node_plan);
    pod
}
