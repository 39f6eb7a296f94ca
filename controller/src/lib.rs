//! The netdiag controller: turns a NetProbe into short-lived agent pods on the nodes involved,
//! reads their reports and writes one merged path back into the NetProbe's status.
//!
//! The reconcile is a named pipeline (see [`reconcile`]):
//! validate (pure, [`spec`]) -> resolve (API reads, [`resolve`]) -> plan (pure, [`plan`]) ->
//! run agents ([`pod`], pure pod construction) -> collect ([`collect`]) -> merge (pure,
//! `netdiag_model::merge`) -> status (pure, [`status`]; applied server-side) -> clean up.
//!
//! The binary (`main.rs`) and the tests share this library.

pub mod collect;
pub mod decode;
pub mod events;
pub mod gc;
pub mod health;
pub mod http;
pub mod leader;
pub mod metrics;
pub mod plan;
pub mod pod;
pub mod rbac;
pub mod reconcile;
pub mod render;
pub mod resolve;
pub mod runner;
pub mod schedule;
pub mod spec;
pub mod status;

/// The field manager of every server-side apply and the reporting controller of Events.
pub const MANAGER: &str = "netdiag-controller";
/// Version of this crate: the default agent image tag.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
/// The namespace the controller and its agent pods run in, unless told otherwise.
pub const DEFAULT_NAMESPACE: &str = "netdiag-system";

/// The default agent image: the project's image at this crate's version.
pub fn default_agent_image() -> String {
    format!("ghcr.io/netdiag/netdiag:{VERSION}")
}
