//! The netdiag controller: fulfils NetProbes with short-lived agent pods; must not depend on
//! comfy-table or any presentation crate (it writes status, the plugin renders it).
//!
//! It turns a NetProbe into agent pods on the nodes involved, reads their reports and writes one
//! merged path back into the NetProbe's status. Folders follow the pipeline:
//! - [`netprobe`]: one NetProbe's reconcile, a named pipeline: decode -> validate (pure) ->
//!   resolve (API reads) -> plan (pure) -> decide (pure) -> act -> status (pure, applied
//!   server-side);
//! - [`agents`]: the agent pods: their construction and the `render-agent-pod` audit, collecting
//!   their state and report, and sweeping leftovers;
//! - [`runtime`]: what runs it: the controller wiring and shutdown, leader election, the HTTP
//!   endpoints, metrics, Events and watch health.
//!
//! The binary (`main.rs`) and the tests share this library.

pub mod agents;
pub mod inspection;
pub mod netprobe;
pub mod rbac;
pub mod runtime;

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
