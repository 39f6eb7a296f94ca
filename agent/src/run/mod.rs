//! One agent run: the task in, one [`NodeReport`] out. A task becomes an ordered list of
//! [`Step`]s ([`steps`], pure), each carried out by its hop module in [`crate::path`].
//!
//! The order follows the packet: the pod's namespace and interface, the node side of its veth,
//! kube-proxy's rules for the target, DNS, a real connect with its observers armed around it
//! ([`observe`]: the conntrack entry that connect made, which endpoint DNAT chose), the bridge
//! port judged again for hairpin mode once it is known whether DNAT sent the pod to itself (a
//! Bridge hop, so the merge puts it before the Connect it explains), the route to that endpoint, the node settings the path depends on, and whether anything listens there.
//! Every step yields hops with verdicts; a failed step never stops the others, because a later
//! hop often explains an earlier symptom. Only a pod that cannot be found ends a run early.

mod facts;
pub mod observe;
mod steps;

use std::path::PathBuf;
use std::time::Instant;

use netdiag_model::report::Evidence;
use netdiag_model::{Check, NodeReport, PlanRole, TracePlan, merge};

/// Where the agent runs and where it looks for namespaces.
#[derive(Clone, Debug)]
pub struct AgentEnv {
    /// The node name written into every hop.
    pub node: String,
    /// Named network namespaces (`/var/run/netns` on a node).
    pub netns_dir: PathBuf,
    /// The host's procfs (`/proc` with hostPID, or `/host/proc`).
    pub proc: PathBuf,
    /// A watching endpoint run creates this file once armed (`--armed-file`).
    pub armed_file: Option<PathBuf>,
    /// A watching endpoint run stops waiting once this file exists (`--done-file`).
    pub done_file: Option<PathBuf>,
}

/// A plan that cannot be carried out as written.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    #[error("plan role {role} needs the field {field}")]
    Missing { role: PlanRole, field: &'static str },
    #[error(
        "the plan's {what} is not known to this agent (netdiag-agent {}): run an agent image as new as the controller",
        env!("CARGO_PKG_VERSION")
    )]
    NotKnown { what: &'static str },
}

/// Check a plan before any work starts, so a bad plan is one clear error, not a trail of
/// failed hops.
pub fn check_plan(plan: &TracePlan) -> Result<(), PlanError> {
    match plan.role {
        PlanRole::Source => {
            plan.source_ip.ok_or(PlanError::Missing {
                role: plan.role,
                field: "sourceIp",
            })?;
            if plan.target.is_none() && plan.dns_name.is_none() {
                return Err(PlanError::Missing {
                    role: plan.role,
                    field: "target or dnsName",
                });
            }
        }
        // With a target and no endpoint: the node a NodePort target names, whose rules decide.
        PlanRole::Endpoint if plan.endpoint.is_none() && plan.target.is_some() => {}
        PlanRole::Endpoint => {
            plan.endpoint.as_ref().ok_or(PlanError::Missing {
                role: plan.role,
                field: "endpoint (or a target, for a NodePort's node)",
            })?;
        }
        PlanRole::Unknown => return Err(PlanError::NotKnown { what: "role" }),
    }
    if plan.watch_ms.is_some() && (plan.source_ip.is_none() || plan.source_port.is_none()) {
        return Err(PlanError::Missing {
            role: plan.role,
            field: "sourceIp and sourcePort (the connection to watch for)",
        });
    }
    if let Some(t) = &plan.target
        && t.protocol == netdiag_model::Protocol::Unknown
    {
        return Err(PlanError::NotKnown {
            what: "target protocol",
        });
    }
    Ok(())
}

/// One step of a run, named after the hops it yields.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    /// Find the source pod's namespace and follow its eth0 to the node: PodInterface, HostVeth,
    /// Bridge. A pod that cannot be found ends the run.
    PodEnd,
    ServiceRules,
    Dns,
    /// Connect from the pod, with the plan's observers (Conntrack) armed around it.
    Connect,
    /// Whether the pod reached (or may reach) itself through the Service across a bridge port
    /// without hairpin mode; it judges the Bridge hop again.
    Hairpin,
    /// The routes to every endpoint the traffic may take; the chosen one's is a hop.
    Route,
    /// The overlay device the chosen endpoint's route leaves by (and broken ones of the
    /// others'): VNI, neighbour and forwarding entries, the remote VTEP, MTUs.
    Tunnel,
    /// After a connect that worked: whether full-size packets reach the endpoint where small
    /// ones do (a path MTU black hole between the nodes).
    PathMtu,
    NodeSettings,
    /// Whether anything listens at the chosen endpoint, when it is on this node.
    Listener,
    /// The endpoint role on another node than the source's, when the plan says to watch:
    /// arm the evidence before the source connects and wait for the probe's packets.
    EndpointWatch,
    /// The endpoint role: this node's route to the endpoint it was given.
    EndpointRoute,
    /// The endpoint role: the listener at that endpoint, or that it is not on this node.
    EndpointListener,
}

/// The steps `plan` asks for, in order: pure.
pub fn steps(plan: &TracePlan) -> Vec<Step> {
    let mut out = Vec::new();
    match plan.role {
        PlanRole::Source => {
            out.push(Step::PodEnd);
            let target = plan.target.is_some();
            if target && plan.target_is_service && plan.wants(Check::Path) {
                out.push(Step::ServiceRules);
            }
            if plan.dns_name.is_some() && plan.wants(Check::DNS) {
                out.push(Step::Dns);
            }
            if target {
                if plan.wants(Check::Connect) {
                    out.push(Step::Connect);
                }
                if plan.wants(Check::Path) {
                    out.extend([Step::Hairpin, Step::Route, Step::Tunnel]);
                }
                // The probe pings the endpoint the connect reached: nothing to ping without it.
                if plan.wants(Check::Connect) && plan.wants(Check::MTU) {
                    out.push(Step::PathMtu);
                }
                if plan.wants(Check::Path) {
                    out.push(Step::NodeSettings);
                }
                out.push(Step::Listener);
            }
        }
        PlanRole::Endpoint => {
            if plan.watch_ms.is_some() && plan.wants(Check::Evidence) {
                out.push(Step::EndpointWatch);
            }
            match plan.endpoint {
                None => out.push(Step::ServiceRules),
                Some(_) => out.extend([Step::EndpointRoute, Step::EndpointListener]),
            }
        }
        // `check_plan` refuses a role this agent does not know: no steps.
        PlanRole::Unknown => {}
    }
    out
}

/// Carry out a plan in the current network namespace (the node's) and report.
pub fn run(plan: &TracePlan, env: &AgentEnv) -> Result<NodeReport, PlanError> {
    check_plan(plan)?;
    let started = Instant::now();
    let mut report = NodeReport {
        node: env.node.clone(),
        agent_version: env!("CARGO_PKG_VERSION").to_string(),
        source: plan.source_ip,
        target: plan.target.as_ref().map(ToString::to_string),
        ..Default::default()
    };
    let mut trace = steps::Trace::new(plan, env)?;
    for step in steps(plan) {
        if trace.step(step, &mut report.hops) == steps::Flow::Stop {
            break;
        }
    }
    report.dns = std::mem::take(&mut trace.dns);
    let evidence = Evidence {
        node: env.node.clone(),
        rule_trace: std::mem::take(&mut trace.rule_trace),
        counters: std::mem::take(&mut trace.counters),
        capture: std::mem::take(&mut trace.capture),
        pcap: trace
            .pcap
            .take()
            .map(|bytes| netdiag_model::base64::encode(&bytes)),
    };
    report.evidence = (!evidence.is_empty()).then_some(evidence);
    report.chosen_endpoint = trace.chosen_endpoint();
    report.node_facts = Some(facts::node_facts(&env.node, &report.hops, &env.proc));
    let source = (plan.source_ip).map_or_else(|| env.node.clone(), |ip| ip.to_string());
    let target = match (&plan.target, &plan.endpoint, &plan.dns_name) {
        (Some(t), _, _) => t.to_string(),
        (None, Some(e), _) => e.to_string(),
        (None, None, Some(n)) => format!("dns/{n}"),
        (None, None, None) => String::from("?"),
    };
    let path = merge::merge(std::slice::from_ref(&report), &source, &target);
    report.first_failure = path.first_failure;
    report.summary = path.summary;
    report.duration_ms = started.elapsed().as_secs_f64() * 1000.0;
    Ok(report)
}

#[cfg(test)]
mod tests;
