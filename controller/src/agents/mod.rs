//! The agent pods a run creates: their exact construction ([`pod`], audited by [`render`] as
//! `render-agent-pod`), what their state and log mean ([`collect`]), and the sweep of leftovers
//! ([`gc`]).

pub mod collect;
pub mod gc;
pub mod pod;
pub mod render;
