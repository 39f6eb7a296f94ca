//! The agent pods a run creates: their exact construction ([`pod`], their plan in a ConfigMap:
//! [`plan_config_map`]; audited by [`render`] as
//! `render-agent-pod`), what their state and log mean ([`collect`]), and the sweep of leftovers
//! ([`gc`]).

pub mod collect;
pub mod gc;
pub mod plan_config_map;
pub mod pod;
pub mod render;
