//! A fault as build actions (pure): the actions that break it, the ones that fix it, and the two
//! views of the lab that faults change: what kube-proxy is told ([`kube_proxy_view`]) and what
//! the API says ([`api_view`], which `lab trace` resolves against, as the controller reads the
//! API). Rules are regenerated from the view with every fault in force, the way kube-proxy
//! rewrites them on each sync, so two rule faults compose and fixing one keeps the other.

use std::net::Ipv4Addr;

use super::Fault;
use crate::build::{
    self, Action, FLANNEL_DEVICE, HostTools, OverlayEntry, calico_pod_route, overlay_entries,
};
use crate::names::{LabNames, host_veth};
use crate::spec::{Cni, LabSpec, PodSpec, ServiceSpec};
use crate::{LabTools, ProxyMode};

/// Why a fault cannot be made in this lab.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{fault} does not apply to this lab: {why}")]
pub struct NotApplicable {
    pub fault: Fault,
    pub why: String,
}

/// What the actions are built for.
#[derive(Clone, Copy)]
pub struct LabContext<'a> {
    pub spec: &'a LabSpec,
    pub names: &'a LabNames,
    pub host: &'a HostTools,
    pub tools: &'a LabTools,
}

/// The table `firewall-drop` adds to each node: a host firewall, apart from kube-proxy's rules.
pub const FIREWALL_TABLE: &str = "inet firewall";

/// The table `mtu-blackhole` adds to each node: the underlay network, not the node, drops.
pub const UNDERLAY_TABLE: &str = "netdev underlay";

/// A cloud network that drops frames above its MTU without an ICMP error: on each node's eth0,
/// as the frames arrive, every IPv4 packet over 1414 bytes is dropped. A VXLAN pod's full 1450
/// bytes become 1500 outside; on the bridge lab the pods' 1500 pass as they are.
const UNDERLAY_BLACKHOLE: &str = "table netdev underlay {\n  chain ingress {\n    type filter hook ingress device \"eth0\" priority filter; policy accept;\n    meta protocol ip ip length > 1414 counter drop comment \"lab break mtu-blackhole\"\n  }\n}\n";

/// The Service the Service faults hit: the first one that is not cluster DNS and has endpoints
/// (echo-service in the default lab).
pub fn target_service(spec: &LabSpec) -> Option<&ServiceSpec> {
    spec.services
        .iter()
        .find(|s| s.cluster_ip != spec.dns.cluster_ip && !s.endpoints.is_empty())
}

/// The pod `veth-down` cuts off: the lab's first pod (curl in the default lab, where traces start).
fn source_pod(spec: &LabSpec) -> Option<&PodSpec> {
    spec.pods.first()
}

/// Whether `fault` can be made in `spec`'s lab.
pub fn applies(fault: Fault, spec: &LabSpec) -> Result<(), NotApplicable> {
    let no = |why: &str| {
        Err(NotApplicable {
            fault,
            why: why.into(),
        })
    };
    match fault {
        Fault::NoListener
        | Fault::NoVipRule
        | Fault::StaleDnat
        | Fault::NoEndpoints
        | Fault::WrongTargetPort
            if target_service(spec).is_none() =>
        {
            no("it has no Service with endpoints besides kube-dns")
        }
        Fault::NoRoute | Fault::FirewallDrop if spec.nodes.len() < 2 => {
            no("it has one node, so no traffic crosses between nodes")
        }
        Fault::VethDown if source_pod(spec).is_none() => no("it has no pods"),
        Fault::StaleDnat if stale_address(spec).is_none() => {
            no("no free address is left in the endpoints' pod CIDR")
        }
        Fault::NoFdb | Fault::NoNeighbour | Fault::OverlayDown | Fault::PodMtu
            if spec.cni != Cni::Vxlan =>
        {
            no(&format!(
                "its pod network is {} with no VXLAN overlay to break; make one with `lab up --cni vxlan`",
                spec.cni
            ))
        }
        Fault::NoFdb
        | Fault::NoNeighbour
        | Fault::OverlayDown
        | Fault::PodMtu
        | Fault::MtuBlackhole
            if spec.nodes.len() < 2 =>
        {
            no("it has one node, so no traffic crosses between nodes")
        }
        Fault::PodMtu if source_pod(spec).is_none() => no("it has no pods"),
        Fault::HairpinOff | Fault::BridgeNfOff if spec.cni == Cni::Routed => no(
            "its pod network is routed (Calico's shape): no bridge, so no bridge port or bridge netfilter to switch off",
        ),
        _ => Ok(()),
    }
}

/// The address `stale-dnat` leaves in kube-proxy's rules: a free one in the pod CIDR of the
/// target Service's last endpoint, as a deleted pod's address would be.
fn stale_address(spec: &LabSpec) -> Option<Ipv4Addr> {
    let svc = target_service(spec)?;
    let last = spec.pod(svc.endpoints.last()?)?;
    let cidr = spec.node(&last.node)?.pod_cidr;
    (2..255u32)
        .rev()
        .map(|i| cidr.nth(i))
        .find(|ip| spec.pod_by_ip(*ip).is_none())
}

/// What kube-proxy on every node is told, with `faults` in force.
pub fn kube_proxy_view(spec: &LabSpec, faults: &[Fault]) -> LabSpec {
    let mut view = api_view(spec, faults);
    let Some(name) = target_service(spec).map(|s| s.name.clone()) else {
        return view;
    };
    if faults.contains(&Fault::StaleDnat)
        && let Some(ip) = stale_address(spec)
        && let Some(svc) = view.services.iter_mut().find(|s| s.name == name)
        && let Some(last) = svc.endpoints.last().and_then(|p| spec.pod(p))
    {
        let phantom = PodSpec {
            name: "stale-endpoint".into(),
            ip,
            tcp: vec![],
            udp: vec![],
            ..last.clone()
        };
        svc.endpoints.push(phantom.name.clone());
        view.pods.push(phantom);
    }
    if faults.contains(&Fault::NoVipRule) {
        view.services.retain(|s| s.name != name);
    }
    view
}

/// What the API says, with `faults` in force: the Service faults a user makes in the API (a
/// selector that matches nothing, a wrong targetPort) show there too.
pub fn api_view(spec: &LabSpec, faults: &[Fault]) -> LabSpec {
    let mut view = spec.clone();
    let Some(name) = target_service(spec).map(|s| s.name.clone()) else {
        return view;
    };
    if let Some(svc) = view.services.iter_mut().find(|s| s.name == name) {
        if faults.contains(&Fault::NoEndpoints) {
            svc.endpoints.clear();
        }
        if faults.contains(&Fault::WrongTargetPort) {
            for p in &mut svc.ports {
                p.target_port = p.target_port.wrapping_add(1).max(1);
            }
        }
    }
    view
}

/// The actions that make `fault`; `in_force` is every fault in force once it is made.
pub fn break_actions(
    fault: Fault,
    ctx: LabContext,
    in_force: &[Fault],
) -> Result<Vec<Action>, NotApplicable> {
    applies(fault, ctx.spec)?;
    Ok(actions(fault, ctx, in_force, true))
}

/// The actions that undo `fault`; `in_force` is every fault still in force after it.
pub fn fix_actions(fault: Fault, ctx: LabContext, in_force: &[Fault]) -> Vec<Action> {
    actions(fault, ctx, in_force, false)
}

fn actions(fault: Fault, ctx: LabContext, in_force: &[Fault], breaking: bool) -> Vec<Action> {
    let spec = ctx.spec;
    let node_ns = |node: &str| ctx.names.netns(node);
    let ip = |netns: String, args: &[&str]| Action::Ip {
        netns: Some(netns),
        args: args.iter().map(|s| s.to_string()).collect(),
    };
    let every_node_sysctl = |key: &str, on: bool| -> Vec<Action> {
        let setting = format!("{key}={}", if on { 1 } else { 0 });
        spec.nodes
            .iter()
            .map(|n| Action::Sysctl {
                netns: node_ns(&n.name),
                settings: vec![setting.clone()],
            })
            .collect()
    };
    let every_node_overlay = |kinds: &[OverlayEntry], write: bool| -> Vec<Action> {
        (spec.nodes.iter().enumerate())
            .flat_map(|(i, n)| overlay_entries(spec, &node_ns(&n.name), i, kinds, write))
            .collect()
    };
    let endpoint_pods: Vec<String> = target_service(spec)
        .map(|s| s.endpoints.clone())
        .unwrap_or_default();
    match fault {
        Fault::NoListener => processes(
            ctx,
            endpoint_pods.iter().map(|p| format!("pod-{p}")).collect(),
            breaking,
        ),
        Fault::NoVipRule | Fault::StaleDnat | Fault::NoEndpoints | Fault::WrongTargetPort => {
            reload_kube_proxy(ctx, in_force)
        }
        Fault::NodelocaldnsDown => processes(
            ctx,
            spec.nodes
                .iter()
                .map(|n| format!("nodelocaldns-{}", n.name))
                .collect(),
            breaking,
        ),
        Fault::KubeDnsDown => processes(ctx, vec!["kube-dns".into()], breaking),
        Fault::NoRoute if spec.cni == Cni::Vxlan => {
            every_node_overlay(&[OverlayEntry::Route], !breaking)
        }
        Fault::NoRoute => {
            let verb = if breaking { "del" } else { "add" };
            let mut a = Vec::new();
            for n in &spec.nodes {
                for other in spec.nodes.iter().filter(|o| o.name != n.name) {
                    let (cidr, via) = (other.pod_cidr.to_string(), other.ip.to_string());
                    a.push(ip(
                        node_ns(&n.name),
                        &["route", verb, &cidr, "via", &via, "dev", "eth0"],
                    ));
                }
            }
            a
        }
        Fault::VethDown => source_pod(spec)
            .map(|p| {
                let state = if breaking { "down" } else { "up" };
                let veth = host_veth(spec.cni, &p.name);
                let mut a = vec![ip(node_ns(&p.node), &["link", "set", &veth, state])];
                // The pod's /32 route went with the veth; Calico's Felix writes it again.
                if !breaking && spec.cni == Cni::Routed {
                    a.push(calico_pod_route(&node_ns(&p.node), &veth, p));
                }
                a
            })
            .unwrap_or_default(),
        Fault::IpForwardOff => every_node_sysctl("net.ipv4.ip_forward", !breaking),
        Fault::BridgeNfOff => every_node_sysctl("net.bridge.bridge-nf-call-iptables", !breaking),
        Fault::FirewallDrop => spec
            .nodes
            .iter()
            .map(|n| Action::NftLoad {
                netns: node_ns(&n.name),
                script: if breaking {
                    firewall_script(spec, &n.name)
                } else {
                    format!("delete table {FIREWALL_TABLE}\n")
                },
            })
            .collect(),
        Fault::HairpinOff => {
            let mode = if breaking { "off" } else { "on" };
            spec.pods
                .iter()
                .map(|p| {
                    ip(
                        node_ns(&p.node),
                        &[
                            "link",
                            "set",
                            "dev",
                            &host_veth(spec.cni, &p.name),
                            "type",
                            "bridge_slave",
                            "hairpin",
                            mode,
                        ],
                    )
                })
                .collect()
        }
        Fault::NoFdb => every_node_overlay(&[OverlayEntry::Fdb], !breaking),
        Fault::NoNeighbour => every_node_overlay(&[OverlayEntry::Neighbour], !breaking),
        Fault::OverlayDown => {
            let state = if breaking { "down" } else { "up" };
            let mut a: Vec<Action> = (spec.nodes.iter())
                .map(|n| ip(node_ns(&n.name), &["link", "set", FLANNEL_DEVICE, state]))
                .collect();
            // The kernel dropped the routes and neighbours with the device; flanneld writes
            // them again when it sees the device back.
            if !breaking {
                a.extend(every_node_overlay(
                    &[OverlayEntry::Route, OverlayEntry::Neighbour],
                    true,
                ));
            }
            a
        }
        Fault::PodMtu => source_pod(spec)
            .map(|p| {
                let mtu = if breaking { 1500 } else { spec.cni.pod_mtu() }.to_string();
                vec![
                    ip(
                        ctx.names.netns(&p.name),
                        &["link", "set", "eth0", "mtu", &mtu],
                    ),
                    ip(
                        node_ns(&p.node),
                        &["link", "set", &host_veth(spec.cni, &p.name), "mtu", &mtu],
                    ),
                ]
            })
            .unwrap_or_default(),
        Fault::MtuBlackhole => spec
            .nodes
            .iter()
            .map(|n| Action::NftLoad {
                netns: node_ns(&n.name),
                script: if breaking {
                    UNDERLAY_BLACKHOLE.to_string()
                } else {
                    format!("delete table {UNDERLAY_TABLE}\n")
                },
            })
            .collect(),
    }
}

/// Stop the lab processes `whats` (breaking), or start them again as `lab up` did.
fn processes(ctx: LabContext, whats: Vec<String>, breaking: bool) -> Vec<Action> {
    if breaking {
        return whats
            .into_iter()
            .map(|what| Action::Stop { what })
            .collect();
    }
    build::plan(ctx.spec, ctx.names, ctx.host, ctx.tools, build::Parts::ALL)
        .into_iter()
        .filter(|a| matches!(a, Action::Spawn { what, .. } if whats.contains(what)))
        .collect()
}

/// kube-proxy's rules in every node, regenerated from what it is told with `in_force`, and
/// loaded whole as its own sync would leave them.
fn reload_kube_proxy(ctx: LabContext, in_force: &[Fault]) -> Vec<Action> {
    let view = kube_proxy_view(ctx.spec, in_force);
    build::kube_proxy_actions(&view, ctx.names)
        .into_iter()
        .map(|a| match a {
            // `nft -f` adds to what is there: replace the table in the same transaction.
            Action::NftLoad { netns, script } if view.proxy_mode == ProxyMode::Nftables => {
                Action::NftLoad {
                    netns,
                    script: format!(
                        "add table ip kube-proxy\ndelete table ip kube-proxy\n{script}"
                    ),
                }
            }
            other => other,
        })
        .collect()
}

/// The host firewall `firewall-drop` loads into `node`: forwarded traffic to every other node's
/// pod CIDR is dropped, as a too-strict host firewall or a cloud agent's rule would.
fn firewall_script(spec: &LabSpec, node: &str) -> String {
    let cidrs: Vec<String> = spec
        .nodes
        .iter()
        .filter(|n| n.name != node)
        .map(|n| n.pod_cidr.to_string())
        .collect();
    format!(
        "table {FIREWALL_TABLE} {{\n  chain forward {{\n    type filter hook forward priority filter; policy accept;\n    ip daddr {{ {} }} counter drop comment \"lab break firewall-drop\"\n  }}\n}}\n",
        cidrs.join(", ")
    )
}
