//! Step 3 of the pipeline, plan (pure, no client required): resolved facts -> one TracePlan per
//! node run. The planner itself is the model's ([`netdiag_model::planner`]), shared with the
//! lab; this module only turns a validated spec into the planner's options.

use netdiag_model::NodeReport;
use netdiag_model::planner;
pub use netdiag_model::planner::{NoEndpointRun, NodePlan, PlanOptions, needs_endpoint_step};

use crate::netprobe::resolve::Resolved;
use crate::netprobe::spec::ValidSpec;

/// The checks and step budget a spec asks for.
pub fn options(spec: &ValidSpec) -> PlanOptions {
    PlanOptions::for_timeout(
        spec.get().checks.clone().unwrap_or_default(),
        u32::try_from(spec.timeout_seconds()).unwrap_or(0),
    )
}

/// Per-step network budget of a spec's runs ([`planner::step_timeout_ms`]).
pub fn step_timeout_ms(spec: &ValidSpec) -> u64 {
    options(spec).step_timeout_ms
}

/// The source node's plan.
pub fn source_plan(spec: &ValidSpec, resolved: &Resolved) -> NodePlan {
    planner::source_plan(&options(spec), resolved)
}

/// The runs that start together ([`planner::initial_plans`]).
pub fn initial_plans(spec: &ValidSpec, resolved: &Resolved) -> Vec<NodePlan> {
    planner::initial_plans(&options(spec), resolved)
}

/// The endpoint run for the endpoint DNAT chose ([`planner::endpoint_step`]).
pub fn endpoint_step(
    spec: &ValidSpec,
    resolved: &Resolved,
    source_report: &NodeReport,
) -> Result<NodePlan, NoEndpointRun> {
    planner::endpoint_step(&options(spec), resolved, source_report)
}
