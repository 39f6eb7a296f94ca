//! One NodeInspection's reconcile: validate (pure, `NodeInspectionSpec::mode`) -> resolve (API
//! reads, [`resolve`]) -> run one agent pod per node (`agents::inspection_pod`) -> collect
//! (logs) -> join (pure, [`join`]: namespaces to Pods by IP and node, sockets to host-network
//! Pods, a Service's rules to its EndpointSlices) -> status (pure, [`status`]; applied
//! server-side) -> clean up (delete the pods). See [`reconcile`].

pub mod join;
pub mod reconcile;
pub mod resolve;
pub mod status;

pub use reconcile::{InspectionError, error_policy, reconcile};
