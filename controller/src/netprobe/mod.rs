//! One NetProbe's reconcile: a named pipeline.
//!
//! decode ([`decode`], each watched object on its own) -> validate (pure, [`spec`]; a node
//! source only where [`node_source`] allows it) -> resolve (API reads, [`resolve`]) -> plan (pure, [`plan`]) -> admission (pure, [`admission`]: within
//! the limits on agent pods and runs, or queued; counted by [`limiter`]) -> run agents (create
//! each plan's ConfigMap and pod, or adopt them) -> decide (pure, [`decide`]: what the run's
//! pods mean now) -> collect (logs) -> merge (pure) -> status (pure, [`status`]; applied
//! server-side) -> clean up (delete the agent pods and their ConfigMaps). When a probe runs at
//! all is [`schedule`]'s pure decision.
//!
//! It never blocks on an agent: each reconcile looks at the run's pods, acts, and requeues; pod
//! changes wake it up too. It is idempotent: the run's pods are found by label (probe UID,
//! generation, run number) and named deterministically, so a restarted controller adopts them
//! and never starts duplicates.

pub mod admission;
mod agent_pods;
pub mod decide;
pub mod decode;
mod invalid;
pub mod limiter;
pub mod node_source;
pub mod plan;
mod progress;
mod reconcile;
pub mod redact;
pub mod resolve;
pub mod schedule;
pub mod spec;
mod start;
pub mod status;

pub use invalid::{error_policy_object, reconcile_object};
pub use reconcile::{
    Context, DEADLINE_GRACE_SECONDS, ReconcileError, Settings, error_policy, reconcile,
    retry_after_error, role_of,
};
