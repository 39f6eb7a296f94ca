//! The netdiag API: the `NetProbe` and `NodeInspection` custom resources (spec, status,
//! validation) and their generated CRDs. Pure data and pure functions: no kube client or runtime, no tokio, no I/O.
//!
//! What a status holds about the path (hops, details, reasons) is the model's
//! (`netdiag-model`); this crate only carries it.

pub mod inspection;
pub mod probe;
pub mod shorthand;
mod source;
mod status;
mod target;
pub mod validate;

pub use inspection::{
    InspectionMode, NodeInspection, NodeInspectionSpec, NodeInspectionStatus, ServiceOnNode,
    ServiceRef,
};
pub use netdiag_model::{Check, Protocol};
pub use probe::{
    NetProbe, NetProbeSpec, NetProbeStatus, NodeRun, Phase, PortRef, ProbeSource, ProbeTarget,
    SourceRef, StatusCondition, TargetRef,
};

/// The API group of every netdiag resource.
pub const GROUP: &str = "netdiag.dev";
/// Label put on every agent pod: the UID of the NetProbe it works for.
pub const PROBE_LABEL: &str = "netdiag.dev/probe";
/// Label put on every agent pod: the node it runs on.
pub const NODE_LABEL: &str = "netdiag.dev/node";
/// Label put on every agent pod of a NodeInspection: the inspection's name (cluster-scoped, so
/// the name alone identifies it).
pub const INSPECTION_LABEL: &str = "netdiag.dev/inspection";
