//! Step 3 of the pipeline, plan (pure, no client required): resolved facts -> one TracePlan per
//! node run. The planner itself is the model's ([`netdiag_model::planner`]), shared with the
//! lab; this module only turns a validated spec into the planner's options.

use netdiag_model::NodeReport;
use netdiag_model::planner;
pub use netdiag_model::planner::{
    NoEndpointRun, NodePlan, PlanOptions, Watch, needs_endpoint_step,
};

use crate::agents::pod::ProbeRef;

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

/// The runs that start together ([`planner::initial_plans`]). With `run`, an endpoint run on
/// another node watches for the probe's packets there ([`watch`]).
pub fn initial_plans(
    spec: &ValidSpec,
    resolved: &Resolved,
    run: Option<&ProbeRef>,
) -> Vec<NodePlan> {
    let options = PlanOptions {
        watch: run.map(|r| watch(spec, r)),
        ..options(spec)
    };
    planner::initial_plans(&options, resolved)
}

/// The watch of one run: a source port drawn from the probe's uid and run number (the same
/// on every reconcile of the run, so a source pod created later gets the port its watcher
/// armed for), and a window of most of the probe's timeout (the watcher waits for the source
/// pod to be created and started).
pub fn watch(spec: &ValidSpec, run: &ProbeRef) -> Watch {
    use std::hash::{Hash, Hasher};
    // SipHash with fixed keys: the same port for the same run, in every controller process.
    let mut h = std::hash::DefaultHasher::new();
    (&run.uid, run.run).hash(&mut h);
    let timeout_ms = u64::try_from(spec.timeout_seconds()).unwrap_or(0) * 1000;
    Watch {
        source_port: Watch::port_from(h.finish()),
        window_ms: (timeout_ms * 3 / 4).max(MIN_WATCH_MS),
    }
}

/// The shortest watch window: a source pod rarely starts faster.
const MIN_WATCH_MS: u64 = 2000;

/// The endpoint run for the endpoint DNAT chose ([`planner::endpoint_step`]).
pub fn endpoint_step(
    spec: &ValidSpec,
    resolved: &Resolved,
    source_report: &NodeReport,
) -> Result<NodePlan, NoEndpointRun> {
    planner::endpoint_step(&options(spec), resolved, source_report)
}
