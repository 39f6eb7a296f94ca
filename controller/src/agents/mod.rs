//! The agent pods a run creates: their exact construction ([`pod`]; the spec every agent pod
//! shares: [`pod_spec`]; their plan in a ConfigMap: [`plan_config_map`]; a NodeInspection's:
//! [`inspection_pod`]; audited by [`render`] as `render-agent-pod`; a watching endpoint pod's
//! readiness: [`watch_pod`]), what their state and log mean ([`collect`]), and the sweep of
//! leftovers ([`gc`]).

pub mod collect;
pub mod gc;
pub mod inspection_pod;
pub mod plan_config_map;
pub mod pod;
pub mod pod_spec;
pub mod render;
pub mod watch_pod;
