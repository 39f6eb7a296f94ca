//! Carrying out each [`Step`]: what the steps learn is kept in one [`Trace`], so each step
//! reads what an earlier one found (the pod's namespace, the endpoints kube-proxy may pick, the
//! endpoint the connect's observers saw chosen).

use std::net::{Ipv4Addr, SocketAddrV4};
use std::time::Duration;

use netdiag_model::Reason;
use netdiag_model::{
    Check, DnsResult, Endpoint, Hop, HopKind, PlanRole, Protocol, TracePlan, Verdict,
};

use super::observe::{Connected, Observation, Probe, observers};
mod endpoint;
mod local_endpoints;
mod node_source;
mod overlay;
mod return_route;
mod service_rules;
mod watch;

use super::{AgentEnv, PlanError, Step};
use crate::dataplane::kube_proxy::Replacement;
use crate::kernel::netns::discover::{DiscoverError, PodNetns, find_pod_netns};
use crate::kernel::rtnl::RouteInfo;
use crate::path::{self, PodPath, connect, dns, hairpin, listener, node_settings, route};
use netdiag_model::report::{CounterDelta, InterfaceCapture, TracedRule};

/// Whether the run goes on after a step.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Flow {
    Continue,
    Stop,
}

/// What the steps of one run have learnt so far.
pub(super) struct Trace<'a> {
    plan: &'a TracePlan,
    env: &'a AgentEnv,
    /// The source pod's IP (source role; unspecified for the endpoint role).
    source_ip: Ipv4Addr,
    target: Option<(SocketAddrV4, Protocol)>,
    pod: Option<(PodNetns, PodPath)>,
    /// Whether the target is taken for a Service; a bare address without kube-proxy rules
    /// turns out to be a pod address.
    is_service: bool,
    /// The endpoints kube-proxy's rules may pick.
    rule_endpoints: Vec<Endpoint>,
    /// What balances Services instead of kube-proxy (and keeps its own connection tracking).
    replaced: Option<Replacement>,
    /// The endpoint the connect's observers saw chosen.
    chosen: Option<Endpoint>,
    /// Whether the connect from the pod failed (false when none ran).
    connect_failed: bool,
    /// The routes found by the Route step, each with whether it is the chosen endpoint's,
    /// for the node settings and the overlay.
    routes: Vec<(bool, Option<RouteInfo>)>,
    stopped: bool,
    pub(super) dns: Vec<DnsResult>,
    /// The rules the probe's packets met, from the observers.
    pub(super) rule_trace: Vec<TracedRule>,
    /// Legacy dropping rules whose counters moved, from the observers.
    pub(super) counters: Vec<CounterDelta>,
    /// The probe's packets per interface, and as pcapng, from the capture observer.
    pub(super) capture: Vec<InterfaceCapture>,
    pub(super) pcap: Option<Vec<u8>>,
}

impl<'a> Trace<'a> {
    /// The plan was checked by `check_plan`.
    pub(super) fn new(plan: &'a TracePlan, env: &'a AgentEnv) -> Result<Trace<'a>, PlanError> {
        let source_ip = match plan.role {
            PlanRole::Source => plan.source_ip.ok_or(PlanError::Missing {
                role: plan.role,
                field: "sourceIp",
            })?,
            PlanRole::Endpoint => Ipv4Addr::UNSPECIFIED,
            PlanRole::Unknown => return Err(PlanError::NotKnown { what: "role" }),
        };
        let target = (plan.target.as_ref()).map(|t| (SocketAddrV4::new(t.ip, t.port), t.protocol));
        Ok(Trace {
            plan,
            env,
            source_ip,
            target,
            pod: None,
            is_service: plan.target_is_service,
            rule_endpoints: Vec::new(),
            replaced: None,
            chosen: None,
            connect_failed: false,
            routes: Vec::new(),
            stopped: false,
            dns: Vec::new(),
            rule_trace: Vec::new(),
            counters: Vec::new(),
            capture: Vec::new(),
            pcap: None,
        })
    }

    fn node(&self) -> &'a str {
        self.env.node.as_str()
    }

    fn step_timeout(&self) -> Duration {
        Duration::from_millis(self.plan.step_timeout_ms.max(1))
    }

    /// The endpoint the traffic goes to: the one the observers saw chosen, or the target itself
    /// when it is a plain pod address (no DNAT to learn it from).
    pub(super) fn chosen_endpoint(&self) -> Option<Endpoint> {
        if self.plan.role == PlanRole::Endpoint {
            return self.plan.endpoint;
        }
        let (addr, _) = self.target.filter(|_| !self.stopped)?;
        self.chosen
            .or_else(|| (!self.is_service).then(|| Endpoint::from(addr)))
    }

    /// Carry out one step, appending its hops.
    pub(super) fn step(&mut self, step: Step, hops: &mut Vec<Hop>) -> Flow {
        match step {
            Step::PodEnd => return self.pod_end(hops),
            Step::ServiceRules => self.service_rules(hops),
            Step::Dns => self.dns(hops),
            Step::Connect => self.connect(hops),
            Step::Hairpin => self.hairpin(hops),
            Step::Route => self.route(hops),
            Step::Tunnel => self.tunnel(hops),
            Step::PathMtu => self.path_mtu(hops),
            Step::NodeSettings => self.node_settings(hops),
            Step::Listener => self.listener(hops),
            Step::EndpointWatch => self.endpoint_watch(hops),
            Step::EndpointRoute => self.endpoint_route(hops),
            Step::EndpointListener => self.endpoint_listener(hops),
        }
        Flow::Continue
    }

    fn pod_end(&mut self, hops: &mut Vec<Hop>) -> Flow {
        if self.plan.source_is_node {
            return self.node_end(hops);
        }
        let node = self.node();
        match find_pod_netns(self.source_ip, &self.env.netns_dir, &self.env.proc) {
            Ok(ns) => {
                let mut pod_path = path::trace_pod(node, &ns, &self.env.proc);
                self.judge_return_route(&mut pod_path);
                hops.extend(pod_path.hops.iter().cloned());
                self.pod = Some((ns, pod_path));
                Flow::Continue
            }
            Err(e) => {
                let reason = match e {
                    DiscoverError::Claimed { .. } => Reason::DuplicatePodIp,
                    _ => Reason::PodNetnsNotFound,
                };
                hops.push(
                    Hop::new(
                        node,
                        HopKind::PodInterface,
                        self.source_ip.to_string(),
                        Verdict::Fail,
                        e.to_string(),
                    )
                    .with_reason(reason),
                );
                self.stopped = true;
                Flow::Stop
            }
        }
    }

    fn dns(&mut self, hops: &mut Vec<Hop>) {
        let (Some(name), Some((pod_ns, pod_path))) = (&self.plan.dns_name, &self.pod) else {
            return;
        };
        let servers = dns::servers_from(pod_path.resolv_conf.as_ref(), &self.plan.dns_servers);
        let expect = match (self.target, self.is_service) {
            (Some((addr, _)), true) => Some(*addr.ip()),
            _ => None,
        };
        // With evidence, the queries are traced like the connect: a rule that drops one is
        // named, before the silence it causes.
        let evidence = self.plan.wants(Check::Evidence);
        let node = self.node();
        let mut armed = None;
        let outcome = dns::query_all_with(
            node,
            &pod_ns.path,
            name,
            &servers,
            expect,
            self.step_timeout(),
            |locals| {
                if evidence && !locals.is_empty() {
                    armed = Some(dns::traced::arm(node, locals, &servers));
                }
            },
        );
        let traced = armed.and_then(|a| {
            let (hop, rules) = a.finish();
            dns::traced::dropped(hop, rules, &servers)
        });
        if let Some((hop, rules)) = traced {
            hops.push(hop);
            self.rule_trace.extend(rules);
        }
        hops.push(outcome.hop);
        self.dns = outcome.results;
    }

    /// The connect from the pod, with every observer armed just before it and finished just
    /// after, in the node's namespace (the caller's).
    fn connect(&mut self, hops: &mut Vec<Hop>) {
        let (Some((target, protocol)), Some((pod_ns, pod_path))) = (self.target, &self.pod) else {
            return;
        };
        // Bound first: the source port is known before the first packet, so a rule trace
        // can match exactly this connection.
        let bound = connect::bind(&pod_ns.path, protocol, self.plan.source_port);
        let probe = Probe {
            node: self.node().to_string(),
            protocol,
            target,
            source: bound
                .as_ref()
                .ok()
                .map(|b| SocketAddrV4::new(self.source_ip, b.port)),
            replaced: self.replaced,
            endpoints: self.rule_endpoints.iter().map(|e| e.ip).collect(),
            host_veth: pod_path.host_veth.clone(),
            bridge: pod_path.bridge.clone(),
            endpoint_veths: if self.plan.wants(Check::Evidence) {
                self.local_endpoint_veths(target)
            } else {
                Vec::new()
            },
        };
        let armed: Vec<_> = observers(self.plan)
            .into_iter()
            .map(|o| o.arm(&probe))
            .collect();
        let outcome =
            connect::connect_bound(self.node(), bound, target, protocol, self.step_timeout());
        self.connect_failed = outcome.hop.verdict == Verdict::Fail;
        hops.push(outcome.hop);
        let done = Connected {
            local: outcome.local,
            failed: self.connect_failed,
        };
        for a in armed {
            self.keep(a.finish(&done), hops);
        }
    }

    /// Keep what an observer saw: its hops on the path, its evidence and the endpoint it saw
    /// chosen in the run's.
    fn keep(&mut self, seen: Observation, hops: &mut Vec<Hop>) {
        hops.extend(seen.hops);
        self.rule_trace.extend(seen.rule_trace);
        self.counters.extend(seen.counters);
        self.capture.extend(seen.capture);
        self.pcap = self.pcap.take().or(seen.pcap);
        self.chosen = self.chosen.take().or(seen.chosen);
    }

    /// Judge the Bridge hop again now that the connect has shown where DNAT went: a pod that
    /// reached itself through the Service needs hairpin mode on its bridge port.
    fn hairpin(&mut self, hops: &mut [Hop]) {
        let Some((_, pod_path)) = &self.pod else {
            return;
        };
        let Some(port) = pod_path.bridge_port.as_ref().filter(|_| self.is_service) else {
            return;
        };
        // By hash: a Service may bring tens of thousands of expected endpoints.
        let mut programmed = self.rule_endpoints.clone();
        let mut seen: std::collections::HashSet<&Endpoint> = programmed.iter().collect();
        let extra: Vec<Endpoint> = (self.plan.expected_endpoints.iter())
            .filter(|e| seen.insert(e))
            .cloned()
            .collect();
        programmed.extend(extra);
        let input = hairpin::HairpinInput {
            source: self.source_ip,
            chosen: self.chosen.as_ref(),
            programmed: &programmed,
            connect_failed: self.connect_failed,
        };
        let node = self.node();
        let bridge = hops
            .iter_mut()
            .find(|h| h.kind == HopKind::Bridge && h.node == node);
        if let Some(bridge) = bridge
            && let Some(judged) = hairpin::judge(bridge, port, &input)
        {
            *bridge = judged;
        }
    }

    /// Routes to every endpoint the traffic may take: the chosen one becomes a hop, the others
    /// feed the node-settings judgement (which bridges and devices the path uses).
    fn route(&mut self, hops: &mut Vec<Hop>) {
        let chosen = self.chosen_endpoint();
        let mut candidates: Vec<Endpoint> = self.plan.expected_endpoints.clone();
        for e in self.rule_endpoints.iter().chain(chosen.iter()) {
            if !candidates.contains(e) {
                candidates.push(*e);
            }
        }
        // Addresses were checked by `check_plan` and come from parsed rules, so none is dropped.
        let candidates: Vec<(Endpoint, Ipv4Addr)> =
            candidates.into_iter().map(|e| (e, e.ip)).collect();
        let dsts: Vec<Ipv4Addr> = candidates.iter().map(|(_, ip)| *ip).collect();
        let mut judged = Vec::new();
        for ((e, _), (hop, info)) in candidates
            .iter()
            .zip(route::route_to_all(self.node(), &dsts))
        {
            let is_chosen = Some(e) == chosen.as_ref();
            judged.push((is_chosen, hop));
            self.routes.push((is_chosen, info));
        }
        hops.extend(route::report_hops(self.node(), judged));
    }

    fn node_settings(&mut self, hops: &mut Vec<Hop>) {
        let Some((_, pod_path)) = &self.pod else {
            return;
        };
        let mut egress_devices: Vec<String> = Vec::new();
        let mut endpoint_on_source_bridge = false;
        for dev in (self.routes.iter())
            .filter_map(|(_, i)| i.as_ref())
            .filter_map(|i| i.device.clone())
        {
            if pod_path.bridge.as_deref() == Some(dev.as_str()) {
                endpoint_on_source_bridge = true;
            }
            if !egress_devices.contains(&dev) {
                egress_devices.push(dev);
            }
        }
        let input = node_settings::SettingsInput {
            source_bridge: pod_path.bridge.clone(),
            egress_devices,
            endpoint_on_source_bridge,
            is_service: self.is_service,
        };
        // Traffic from the pod enters the node by its bridge, or by its host veth on a routed
        // CNI: strict rp_filter there drops it when the route back leaves elsewhere.
        let ingress: Vec<node_settings::Ingress> = pod_path
            .bridge
            .clone()
            .or_else(|| pod_path.host_veth.clone())
            .map(|ingress| node_settings::Ingress {
                source: self.source_ip,
                ingress,
            })
            .into_iter()
            .collect();
        hops.push(node_settings::node_settings_with_ingress(
            self.node(),
            &input,
            &ingress,
        ));
    }

    fn listener(&mut self, hops: &mut Vec<Hop>) {
        let (Some(e), Some((_, protocol))) = (self.chosen_endpoint(), self.target) else {
            return;
        };
        // Only a pod the API named: the target pod (a plan whose target is no Service), or a
        // ready endpoint of the target Service. An address target (even one kube-proxy has no
        // rule for, then traced as a plain address), or an endpoint DNAT picked that the plan
        // does not list (a stale rule), is someone else's pod, whose listeners a probe's author
        // must not learn.
        let named_pod = !self.plan.target_is_service;
        if !named_pod && !self.plan.expected_endpoints.contains(&e) {
            return;
        }
        if let Some(hop) = listener::check_listener(
            self.node(),
            e.socket(),
            protocol,
            &self.env.netns_dir,
            &self.env.proc,
        ) {
            hops.push(hop);
        }
    }
}
