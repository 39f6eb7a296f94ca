//! The run's plan as a ConfigMap (pure): the agent pod of the same name mounts it read-only and
//! the agent reads it with `--plan-file`. It carries the pod's labels, annotations and owner
//! reference, so the run's clean-up and the sweep find it the way they find the pod.
//!
//! A ConfigMap holds at most 1 MiB. The plan's expected endpoints are grouped by port on the
//! wire (`netdiag_model::plan::endpoints_wire`), so 50,000 endpoints take at most 900 KB;
//! [`MAX_PLAN_BYTES`] refuses a plan that would not fit with a clear error instead of an API
//! rejection.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::ConfigMap;

use super::pod::{AgentSettings, PodError, ProbeRef, agent_metadata};
use crate::netprobe::plan::NodePlan;

/// The key (and file name) of the plan in the ConfigMap.
pub const PLAN_KEY: &str = "plan.json";
/// The largest plan written: a ConfigMap's 1 MiB, less room for its metadata.
pub const MAX_PLAN_BYTES: usize = 1_000_000;

/// The plan's JSON, refused when it would not fit a ConfigMap.
pub fn plan_json(node_plan: &NodePlan) -> Result<String, PodError> {
    let json = serde_json::to_string(&node_plan.plan).map_err(|source| PodError::Plan {
        role: node_plan.role,
        node: node_plan.node.clone(),
        source,
    })?;
    if json.len() > MAX_PLAN_BYTES {
        return Err(PodError::PlanTooLarge {
            role: node_plan.role,
            node: node_plan.node.clone(),
            endpoints: node_plan.plan.expected_endpoints.len(),
            bytes: json.len(),
            max: MAX_PLAN_BYTES,
        });
    }
    Ok(json)
}

/// The ConfigMap holding one node run's plan.
pub fn config_map(
    settings: &AgentSettings,
    probe: &ProbeRef,
    node_plan: &NodePlan,
) -> Result<ConfigMap, PodError> {
    Ok(ConfigMap {
        metadata: agent_metadata(settings, probe, node_plan),
        data: Some(BTreeMap::from([(
            PLAN_KEY.to_string(),
            plan_json(node_plan)?,
        )])),
        ..Default::default()
    })
}
