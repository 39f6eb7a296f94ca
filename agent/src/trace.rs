//! One agent run: the plan in, one [`NodeReport`] out.
//!
//! The order of work follows the packet: the pod's namespace and interface, the node side of its
//! veth, kube-proxy's rules for the target, a real connect, the conntrack entry that connect
//! made (which endpoint DNAT chose), the route to that endpoint, and whether anything listens
//! there. Every step yields hops with verdicts; a failed step never stops the others, because a
//! later hop often explains an earlier symptom.

use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use netdiag_model::report::HopDetail;
use netdiag_model::{
    Check, Endpoint, Hop, HopKind, NodeReport, PlanRole, TracePlan, Verdict, merge,
};

use crate::netns::discover::find_pod_netns;
use crate::probe::{connect, conntrack, dns, listener, pod, route, settings};

/// Where the agent runs and where it looks for namespaces.
#[derive(Clone, Debug)]
pub struct AgentEnv {
    /// The node name written into every hop.
    pub node: String,
    /// Named network namespaces (`/var/run/netns` on a node).
    pub netns_dir: PathBuf,
    /// The host's procfs (`/proc` with hostPID, or `/host/proc`).
    pub proc: PathBuf,
}

/// A plan that cannot be carried out as written.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    #[error("plan field {field}: {value:?} is not an IPv4 address")]
    BadAddress { field: &'static str, value: String },
    #[error("plan role {role:?} needs the field {field}")]
    Missing { role: PlanRole, field: &'static str },
}

fn parse_ip(field: &'static str, value: &str) -> Result<Ipv4Addr, PlanError> {
    value.parse().map_err(|_| PlanError::BadAddress {
        field,
        value: value.to_string(),
    })
}

/// Check a plan before any work starts, so a bad plan is one clear error, not a trail of
/// failed hops.
pub fn check_plan(plan: &TracePlan) -> Result<(), PlanError> {
    match plan.role {
        PlanRole::Source => {
            let ip = plan.source_ip.as_deref().ok_or(PlanError::Missing {
                role: plan.role,
                field: "sourceIp",
            })?;
            parse_ip("sourceIp", ip)?;
            if plan.target.is_none() && plan.dns_name.is_none() {
                return Err(PlanError::Missing {
                    role: plan.role,
                    field: "target or dnsName",
                });
            }
        }
        PlanRole::Endpoint => {
            let ep = plan.endpoint.as_ref().ok_or(PlanError::Missing {
                role: plan.role,
                field: "endpoint",
            })?;
            parse_ip("endpoint.ip", &ep.ip)?;
        }
    }
    if let Some(t) = &plan.target {
        parse_ip("target.ip", &t.ip)?;
    }
    for e in &plan.expected_endpoints {
        parse_ip("expectedEndpoints[].ip", &e.ip)?;
    }
    Ok(())
}

/// Carry out a plan in the current network namespace (the node's) and report.
pub fn run(plan: &TracePlan, env: &AgentEnv) -> Result<NodeReport, PlanError> {
    check_plan(plan)?;
    let started = Instant::now();
    let mut report = NodeReport {
        node: env.node.clone(),
        agent_version: env!("CARGO_PKG_VERSION").to_string(),
        source: plan.source_ip.clone(),
        target: plan.target.as_ref().map(ToString::to_string),
        ..Default::default()
    };
    match plan.role {
        PlanRole::Source => trace_from_source(plan, env, &mut report)?,
        PlanRole::Endpoint => check_endpoint(plan, env, &mut report)?,
    }
    let source = plan.source_ip.clone().unwrap_or_else(|| env.node.clone());
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

fn step_timeout(plan: &TracePlan) -> Duration {
    Duration::from_millis(plan.step_timeout_ms.max(1))
}

fn trace_from_source(
    plan: &TracePlan,
    env: &AgentEnv,
    report: &mut NodeReport,
) -> Result<(), PlanError> {
    let source_ip = parse_ip("sourceIp", plan.source_ip.as_deref().unwrap_or_default())?;
    let node = env.node.as_str();
    let pod_ns = match find_pod_netns(source_ip, &env.netns_dir, &env.proc) {
        Ok(ns) => ns,
        Err(e) => {
            report.hops.push(
                Hop::new(
                    node,
                    HopKind::PodInterface,
                    source_ip.to_string(),
                    Verdict::Fail,
                    e.to_string(),
                )
                .with_reason("PodNetnsNotFound"),
            );
            return Ok(());
        }
    };
    let pod_path = pod::trace_pod(node, &pod_ns, &env.proc);
    report.hops.extend(pod_path.hops.iter().cloned());

    let target = match &plan.target {
        Some(t) => Some((
            SocketAddrV4::new(parse_ip("target.ip", &t.ip)?, t.port),
            t.protocol,
        )),
        None => None,
    };

    // kube-proxy's view of the Service: which endpoints DNAT may pick, and with what share.
    let mut rule_endpoints: Vec<Endpoint> = Vec::new();
    let mut is_service = plan.target_is_service;
    if let (Some(t), true) = (&plan.target, is_service && plan.wants(Check::Path)) {
        let mut hop = crate::kubeproxy::service_rules(node, t, &plan.expected_endpoints);
        // With no endpoints to expect (a bare `--to IP:PORT`), an address kube-proxy has no
        // rule for is most likely a pod IP: say so instead of failing a Service that isn't one.
        if plan.expected_endpoints.is_empty() && hop.reason.as_deref() == Some("NoServiceRule") {
            is_service = false;
            hop = Hop::new(
                node,
                HopKind::ServiceRules,
                t.to_string(),
                Verdict::Info,
                format!("kube-proxy on {node} has no rule for {t}: traced as a plain pod address"),
            );
        }
        if let Some(HopDetail::ServiceRules(d)) = &hop.details {
            rule_endpoints = d
                .endpoints
                .iter()
                .map(|e| Endpoint {
                    ip: e.ip.clone(),
                    port: e.port,
                })
                .collect();
        }
        report.hops.push(hop);
    }

    if let (Some(name), true) = (&plan.dns_name, plan.wants(Check::DNS)) {
        let servers = dns::servers_from(pod_path.resolv_conf.as_ref(), &plan.dns_servers);
        let expect = match (target, is_service) {
            (Some((addr, _)), true) => Some(*addr.ip()),
            _ => None,
        };
        let outcome = dns::query_all(
            node,
            &pod_ns.path,
            name,
            &servers,
            expect,
            step_timeout(plan),
        );
        report.hops.push(outcome.hop);
        report.dns = outcome.results;
    }

    let Some((target_addr, protocol)) = target else {
        return Ok(());
    };

    let mut chosen: Option<Endpoint> = None;
    if plan.wants(Check::Connect) {
        // Subscribed before the connect: a refused connection's entry is gone by the time the
        // table could be read, but its NEW event still names the endpoint DNAT chose.
        let events = if plan.wants(Check::Conntrack) {
            conntrack::watch()
        } else {
            None
        };
        let outcome = connect::connect(
            node,
            &pod_ns.path,
            target_addr,
            protocol,
            step_timeout(plan),
        );
        report.hops.push(outcome.hop);
        if let (Some(local), true) = (outcome.local, plan.wants(Check::Conntrack)) {
            let ct = conntrack::lookup_watched(node, protocol, local, target_addr, events);
            report.hops.push(ct.hop);
            chosen = ct.chosen;
        }
    }
    // A plain pod IP is its own endpoint: no DNAT to learn it from.
    if chosen.is_none() && !is_service {
        chosen = Some(Endpoint {
            ip: target_addr.ip().to_string(),
            port: target_addr.port(),
        });
    }
    report.chosen_endpoint = chosen.clone();

    if plan.wants(Check::Path) {
        // Routes to every endpoint the traffic may take: the chosen one becomes a hop, the
        // others feed the node-settings judgement (which bridges and devices the path uses).
        let mut candidates: Vec<Endpoint> = plan.expected_endpoints.clone();
        for e in rule_endpoints.iter().chain(chosen.iter()) {
            if !candidates.contains(e) {
                candidates.push(e.clone());
            }
        }
        let mut egress_devices: Vec<String> = Vec::new();
        let mut endpoint_on_source_bridge = false;
        // Addresses were checked by `check_plan` and come from parsed rules, so none is dropped.
        let candidates: Vec<(Endpoint, Ipv4Addr)> = candidates
            .into_iter()
            .filter_map(|e| e.ip.parse().ok().map(|ip| (e, ip)))
            .collect();
        let dsts: Vec<Ipv4Addr> = candidates.iter().map(|(_, ip)| *ip).collect();
        let routes = route::route_to_all(node, &dsts);
        for ((e, _), (hop, info)) in candidates.iter().zip(routes) {
            if let Some(dev) = info.as_ref().and_then(|i| i.device.clone()) {
                if pod_path.bridge.as_deref() == Some(dev.as_str()) {
                    endpoint_on_source_bridge = true;
                }
                if !egress_devices.contains(&dev) {
                    egress_devices.push(dev);
                }
            }
            // The chosen endpoint's route is a hop of the path; another endpoint's route is
            // one only when it is broken, since DNAT will pick that endpoint sooner or later.
            if Some(e) == chosen.as_ref() || hop.verdict == Verdict::Fail {
                report.hops.push(hop);
            }
        }
        let input = settings::SettingsInput {
            source_bridge: pod_path.bridge.clone(),
            egress_devices,
            endpoint_on_source_bridge,
            is_service,
        };
        // Traffic from the pod enters the node by its bridge, or by its host veth on a routed
        // CNI: strict rp_filter there drops it when the route back leaves elsewhere.
        let ingress: Vec<settings::Ingress> = pod_path
            .bridge
            .clone()
            .or_else(|| pod_path.host_veth.clone())
            .map(|ingress| settings::Ingress {
                source: source_ip,
                ingress,
            })
            .into_iter()
            .collect();
        report
            .hops
            .push(settings::node_settings_with_ingress(node, &input, &ingress));
    }

    if let Some(e) = &chosen
        && let Ok(ip) = e.ip.parse::<Ipv4Addr>()
        && let Some(hop) = listener::check_listener(
            node,
            SocketAddrV4::new(ip, e.port),
            protocol,
            &env.netns_dir,
            &env.proc,
        )
    {
        report.hops.push(hop);
    }
    Ok(())
}

fn check_endpoint(
    plan: &TracePlan,
    env: &AgentEnv,
    report: &mut NodeReport,
) -> Result<(), PlanError> {
    let node = env.node.as_str();
    let ep = plan.endpoint.as_ref().ok_or(PlanError::Missing {
        role: plan.role,
        field: "endpoint",
    })?;
    let ip = parse_ip("endpoint.ip", &ep.ip)?;
    let protocol = plan.target.as_ref().map(|t| t.protocol).unwrap_or_default();
    let (hop, _) = route::route_to(node, ip);
    report.hops.push(hop);
    match listener::check_listener(
        node,
        SocketAddrV4::new(ip, ep.port),
        protocol,
        &env.netns_dir,
        &env.proc,
    ) {
        Some(hop) => report.hops.push(hop),
        None => report.hops.push(
            Hop::new(
                node,
                HopKind::Listener,
                ep.to_string(),
                Verdict::Warn,
                format!("no pod on {node} holds {ip}: the endpoint is not on this node"),
            )
            .with_reason("EndpointNotOnNode"),
        ),
    }
    report.chosen_endpoint = Some(ep.clone());
    Ok(())
}

/// Parse `IP[:PORT]` as a DNS server address, port 53 by default.
pub fn dns_server_addr(s: &str) -> Option<SocketAddr> {
    if let Ok(a) = s.parse::<SocketAddr>() {
        return Some(a);
    }
    s.parse::<Ipv4Addr>()
        .ok()
        .map(|ip| SocketAddr::from((ip, 53)))
}
