//! The planner (pure): what a probe resolved to -> one [`TracePlan`] per agent run. The
//! controller feeds it facts read from the API, the lab facts read from its spec, so a lab trace
//! plans exactly as a cluster probe does.
//!
//! - The source node always runs the full trace (pod interface, kube-proxy rules compared with
//!   the ready endpoints, connect, conntrack, DNS).
//! - The node of the endpoint the traffic reaches runs the endpoint side (route and listener).
//!   When that endpoint is known from the facts alone (a pod target, or a Service with one ready
//!   endpoint) both runs start together; otherwise the endpoint is the one DNAT picked, which
//!   only the source report tells, so the endpoint run is a second step ([`endpoint_step`]).

use std::net::Ipv4Addr;

mod watch;

pub use watch::Watch;
use watch::arm_watch;

use crate::{
    Check, DnsServer, Endpoint, NodeReport, PlanNode, PlanRole, PlanTarget, Protocol, TracePlan,
};

/// The source pod: where the traffic starts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SourcePod {
    pub namespace: String,
    pub name: String,
    pub ip: Ipv4Addr,
    pub node: String,
    /// Not required: a not-ready pod can still open connections, but the status says so.
    pub ready: bool,
    /// The source is the node itself (`name` and `node` are the node's, `ip` its address).
    pub is_node: bool,
}

/// A ready endpoint of a Service, with the node it runs on when the EndpointSlice says (in a
/// cluster, which endpoints count as ready is `netdiag_kube::endpoints::for_port`'s to say).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReadyEndpoint {
    pub ip: Ipv4Addr,
    pub port: u16,
    pub node: Option<String>,
}

impl ReadyEndpoint {
    /// The address a plan names it by.
    pub fn endpoint(&self) -> Endpoint {
        Endpoint {
            ip: self.ip,
            port: self.port,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResolvedService {
    pub namespace: String,
    pub name: String,
    pub cluster_ip: Ipv4Addr,
    pub port: u16,
    /// The Service port's name ("" when it has one unnamed port), as EndpointSlices name it.
    pub port_name: String,
    pub protocol: Protocol,
    pub endpoints: Vec<ReadyEndpoint>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResolvedPod {
    pub namespace: String,
    pub name: String,
    pub ip: Ipv4Addr,
    pub node: String,
    pub port: u16,
    pub protocol: Protocol,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ResolvedTarget {
    Service(ResolvedService),
    Pod(ResolvedPod),
    Address {
        ip: Ipv4Addr,
        port: u16,
        protocol: Protocol,
    },
    Dns {
        name: String,
    },
}

/// Everything the plan needs: read from the API by the controller, from the lab's spec by the lab.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Resolved {
    pub source: SourcePod,
    pub target: ResolvedTarget,
    /// The name to resolve from the source pod, if any.
    pub dns_name: Option<String>,
    /// Cluster DNS servers to ask besides the pod's resolv.conf.
    pub dns_servers: Vec<DnsServer>,
    /// The nodes the traffic may reach, for the overlay's VTEP check (see [`TracePlan::nodes`]);
    /// at most [`MAX_PLAN_NODES`] reach the plan.
    pub nodes: Vec<PlanNode>,
}

/// The most nodes a plan names: the ConfigMap stays small on a cluster of thousands of nodes,
/// whose larger Services then get their VTEPs reported rather than checked.
pub const MAX_PLAN_NODES: usize = 256;

/// Longest wait for one connect or DNS answer.
const MAX_STEP_TIMEOUT_MS: u64 = 2000;

/// One agent run: which node, which role, and the plan it gets.
#[derive(Clone, Debug, PartialEq)]
pub struct NodePlan {
    pub node: String,
    pub role: PlanRole,
    pub plan: TracePlan,
}

/// Why no endpoint run happens.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NoEndpointRun {
    /// An address or DNS target: there is no endpoint pod to check.
    NoEndpointPod,
    /// The endpoint run was planned with the source run.
    AlreadyPlanned,
    /// The source report names no endpoint (the connect failed or conntrack saw nothing).
    NoChosenEndpoint,
    /// The endpoint DNAT chose is not a ready endpoint the API lists with a node.
    EndpointNodeUnknown,
}

impl NoEndpointRun {
    pub fn as_str(self) -> &'static str {
        match self {
            NoEndpointRun::NoEndpointPod => "NoEndpointPod",
            NoEndpointRun::AlreadyPlanned => "AlreadyPlanned",
            NoEndpointRun::NoChosenEndpoint => "NoChosenEndpoint",
            NoEndpointRun::EndpointNodeUnknown => "EndpointNodeUnknown",
        }
    }
}

/// What every plan of one probe shares, whatever its role.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PlanOptions {
    /// The checks to run; empty: every check that applies.
    pub checks: Vec<Check>,
    /// Longest wait for one connect or DNS answer.
    pub step_timeout_ms: u64,
    /// When set, an endpoint run on another node that starts with the source run watches the
    /// probe's own packets arrive there ([`Watch`]). The caller chooses the port: the planner
    /// stays pure.
    pub watch: Option<Watch>,
}

impl PlanOptions {
    /// All checks, with the step budget of a run that may take `timeout_seconds`.
    pub fn for_timeout(checks: Vec<Check>, timeout_seconds: u32) -> Self {
        PlanOptions {
            checks,
            step_timeout_ms: step_timeout_ms(timeout_seconds),
            watch: None,
        }
    }
}

/// Per-step network budget: a quarter of the run's timeout, at most 2 s, so a run with several
/// silent DNS servers still ends within its timeout.
pub fn step_timeout_ms(timeout_seconds: u32) -> u64 {
    let quarter = u64::from(timeout_seconds) * 1000 / 4;
    quarter.clamp(100, MAX_STEP_TIMEOUT_MS)
}

fn base_plan(options: &PlanOptions, resolved: &Resolved, role: PlanRole) -> TracePlan {
    TracePlan {
        source_ip: Some(resolved.source.ip),
        source_is_node: resolved.source.is_node,
        ..TracePlan::empty(role, options.checks.clone(), options.step_timeout_ms)
    }
}

/// The source node's plan.
pub fn source_plan(options: &PlanOptions, resolved: &Resolved) -> NodePlan {
    let mut plan = base_plan(options, resolved, PlanRole::Source);
    if resolved.nodes.len() <= MAX_PLAN_NODES {
        plan.nodes = resolved.nodes.clone();
    }
    plan.dns_name = resolved.dns_name.clone();
    plan.dns_servers = resolved.dns_servers.clone();
    match &resolved.target {
        ResolvedTarget::Service(s) => {
            plan.target = Some(PlanTarget {
                ip: s.cluster_ip,
                port: s.port,
                protocol: s.protocol,
            });
            plan.target_is_service = true;
            plan.expected_endpoints = s.endpoints.iter().map(ReadyEndpoint::endpoint).collect();
        }
        ResolvedTarget::Pod(p) => {
            plan.target = Some(PlanTarget {
                ip: p.ip,
                port: p.port,
                protocol: p.protocol,
            });
        }
        ResolvedTarget::Address { ip, port, protocol } => {
            // The address may be a ClusterIP someone copied from `kubectl get svc`: let the agent
            // walk kube-proxy's rules for it. With no endpoints to expect, an address kube-proxy
            // has no rule for is traced as a plain address (an Info hop, not a failure).
            plan.target = Some(PlanTarget {
                ip: *ip,
                port: *port,
                protocol: *protocol,
            });
            plan.target_is_service = true;
        }
        ResolvedTarget::Dns { .. } => {}
    }
    NodePlan {
        node: resolved.source.node.clone(),
        role: PlanRole::Source,
        plan,
    }
}

fn endpoint_plan(
    options: &PlanOptions,
    resolved: &Resolved,
    node: &str,
    endpoint: Endpoint,
) -> NodePlan {
    let mut plan = base_plan(options, resolved, PlanRole::Endpoint);
    if let Some(t) = target_of(resolved) {
        plan.target = Some(t);
    }
    plan.endpoint = Some(endpoint);
    NodePlan {
        node: node.to_string(),
        role: PlanRole::Endpoint,
        plan,
    }
}

fn target_of(resolved: &Resolved) -> Option<PlanTarget> {
    match &resolved.target {
        ResolvedTarget::Service(s) => Some(PlanTarget {
            ip: s.cluster_ip,
            port: s.port,
            protocol: s.protocol,
        }),
        ResolvedTarget::Pod(p) => Some(PlanTarget {
            ip: p.ip,
            port: p.port,
            protocol: p.protocol,
        }),
        ResolvedTarget::Address { ip, port, protocol } => Some(PlanTarget {
            ip: *ip,
            port: *port,
            protocol: *protocol,
        }),
        ResolvedTarget::Dns { .. } => None,
    }
}

/// The endpoint (and its node) known before any agent ran, if any.
fn endpoint_known_upfront(resolved: &Resolved) -> Option<(String, Endpoint)> {
    match &resolved.target {
        ResolvedTarget::Pod(p) => Some((
            p.node.clone(),
            Endpoint {
                ip: p.ip,
                port: p.port,
            },
        )),
        ResolvedTarget::Service(s) => match s.endpoints.as_slice() {
            [only] => only.node.clone().map(|node| (node, only.endpoint())),
            _ => None,
        },
        _ => None,
    }
}

/// The node whose own address an address target is, when that is not the source's node: a
/// NodePort there is that node's kube-proxy's to DNAT (it matches NodePorts only on its own
/// addresses), so only a run there can read the rules that decide.
fn node_port_node(resolved: &Resolved) -> Option<&PlanNode> {
    let ResolvedTarget::Address { ip, .. } = &resolved.target else {
        return None;
    };
    (resolved.nodes.iter()).find(|n| n.address == *ip && n.name != resolved.source.node)
}

/// The run on that node: its NodePort rules for the target (an endpoint-role plan with a
/// target and no endpoint).
fn node_port_plan(options: &PlanOptions, resolved: &Resolved, node: &str) -> NodePlan {
    let mut plan = base_plan(options, resolved, PlanRole::Endpoint);
    plan.target = target_of(resolved);
    plan.target_is_service = true;
    // To name the nodes of the endpoints its rules send the traffic to.
    if resolved.nodes.len() <= MAX_PLAN_NODES {
        plan.nodes = resolved.nodes.clone();
    }
    NodePlan {
        node: node.to_string(),
        role: PlanRole::Endpoint,
        plan,
    }
}

/// The runs that start together: the source node's, plus the endpoint node's when the endpoint
/// is known before any report (same node or not: each role is its own run), or the node whose
/// NodePort an address target names.
pub fn initial_plans(options: &PlanOptions, resolved: &Resolved) -> Vec<NodePlan> {
    let mut source = source_plan(options, resolved);
    let other = match endpoint_known_upfront(resolved) {
        Some((node, ep)) => Some(endpoint_plan(options, resolved, &node, ep)),
        None => node_port_node(resolved).map(|n| node_port_plan(options, resolved, &n.name)),
    };
    let Some(mut other) = other else {
        return vec![source];
    };
    arm_watch(options, &mut source, &mut other);
    vec![source, other]
}

/// Whether the endpoint run waits for the source report.
pub fn needs_endpoint_step(resolved: &Resolved) -> bool {
    matches!(&resolved.target, ResolvedTarget::Service(_))
        && endpoint_known_upfront(resolved).is_none()
}

/// The second step: the endpoint run for the endpoint DNAT chose, as the source report names it.
pub fn endpoint_step(
    options: &PlanOptions,
    resolved: &Resolved,
    source_report: &NodeReport,
) -> Result<NodePlan, NoEndpointRun> {
    let ResolvedTarget::Service(svc) = &resolved.target else {
        return Err(match resolved.target {
            ResolvedTarget::Pod(_) => NoEndpointRun::AlreadyPlanned,
            _ => NoEndpointRun::NoEndpointPod,
        });
    };
    if endpoint_known_upfront(resolved).is_some() {
        return Err(NoEndpointRun::AlreadyPlanned);
    }
    let chosen = source_report
        .chosen_endpoint
        .as_ref()
        .ok_or(NoEndpointRun::NoChosenEndpoint)?;
    let node = svc
        .endpoints
        .iter()
        .find(|e| e.endpoint() == *chosen)
        .and_then(|e| e.node.clone())
        .ok_or(NoEndpointRun::EndpointNodeUnknown)?;
    Ok(endpoint_plan(options, resolved, &node, *chosen))
}
