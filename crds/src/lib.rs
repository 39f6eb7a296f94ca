//! The netdiag API: the `NetProbe` custom resource, and the node report model that the agent writes,
//! the controller merges and the plugin renders.
//!
//! Everything here is pure data and pure functions: no I/O, no async, no cluster access.

pub mod merge;
pub mod plan;
pub mod probe;
pub mod render;
pub mod report;
pub mod validate;

pub use plan::{DnsServer, PlanRole, PlanTarget, TracePlan};
pub use probe::{
    Check, NetProbe, NetProbeSpec, NetProbeStatus, NodeRun, Phase, PortRef, ProbeSource,
    ProbeTarget, Protocol, StatusCondition, TargetRef,
};
pub use report::{DnsResult, Endpoint, FirstFailure, Hop, HopDetail, HopKind, NodeReport, Verdict};

/// The API group of every netdiag resource.
pub const GROUP: &str = "netdiag.dev";
/// Label put on every agent pod: the UID of the NetProbe it works for.
pub const PROBE_LABEL: &str = "netdiag.dev/probe";
/// Label put on every agent pod: the node it runs on.
pub const NODE_LABEL: &str = "netdiag.dev/node";
