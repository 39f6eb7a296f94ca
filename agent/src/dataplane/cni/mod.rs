//! Which CNI built this node's pod network, and in which mode, told the way an engineer tells
//! it from `ip -d link`, `ip route` and `ls /etc/cni/net.d` (see dataplane.md, section 5):
//! - Cilium: `cilium_host`; `cilium_vxlan` or `cilium_geneve` for its tunnel modes, none for
//!   native routing;
//! - Calico: `cali*` veths with a /32 route each, no bridge; `vxlan.calico` (VXLAN), routes via
//!   `tunl0` onlink (IP-in-IP), or plain routes via the node IPs, often `proto bird` (BGP);
//! - flannel: `flannel.1` (VXLAN VNI 1, port 8472) with routes via it onlink; host-gw has no
//!   `flannel.1`, only its config file and routes via the node IPs, so the file tells it from
//!   the plain bridge plugin;
//! - kube-router: `kube-bridge`, routes via the node IPs (BGP, `proto 17`), `tun-*` IP-in-IP;
//! - weave: `weave`; kindnet: bridgeless veths with a /32 route each, `10-kindnet.conflist`;
//! - the bridge plugin: `cni0`; Docker: `docker0`;
//! - unknown: what was seen, so a reader can tell it.
//!
//! Links and routes decide first (they are what the data plane is); the config file in force
//! names the CNI when they cannot, and is evidence either way. Pure; [`read`] does the I/O.

mod config;
pub mod read;
mod view;

#[cfg(test)]
mod config_tests;
#[cfg(test)]
mod order_tests;
#[cfg(test)]
mod tests;

use netdiag_model::inspect::{CniFingerprint, CniVariant};

pub use config::{CniConfig, in_force, read_configs};
pub use read::read_node;

use crate::kernel::rtnl::{Link, LinkKind, Route};
use view::NodeView;

fn found(name: &str, variant: Option<CniVariant>, evidence: Vec<String>) -> CniFingerprint {
    CniFingerprint {
        name: name.into(),
        variant,
        evidence,
    }
}

/// The CNI the node's `links`, main-table `routes` and CNI `configs` (in the runtime's order)
/// point to, with the objects that say so. The most specific fingerprint wins: flannel and
/// kube-router also run a bridge, Calico and kindnet also run veths.
pub fn fingerprint(links: &[Link], routes: &[Route], configs: &[CniConfig]) -> CniFingerprint {
    let node = NodeView { links, routes };
    let config = in_force(configs);
    let mut f = by_links(&node)
        .or_else(|| {
            config
                .and_then(CniConfig::cni)
                .and_then(|n| by_config(&node, n))
        })
        .or_else(|| by_bridge(&node))
        .unwrap_or_else(|| unknown(&node));
    f.evidence.extend(config.map(CniConfig::describe));
    f
}

/// The CNIs whose own links or routes name them.
fn by_links(node: &NodeView) -> Option<CniFingerprint> {
    if node.named("cilium_host").is_some() || node.named("cilium_net").is_some() {
        return Some(cilium(node));
    }
    let cali = node
        .per_pod_routes()
        .iter()
        .filter(|n| n.starts_with("cali"))
        .count();
    if cali > 0 || node.named("vxlan.calico").is_some() {
        return Some(calico(node, cali));
    }
    if ["flannel.1", "flannel-wg", "flannel0"]
        .iter()
        .any(|n| node.named(n).is_some())
    {
        return Some(flannel(node));
    }
    if node.named("kube-bridge").is_some() {
        return Some(kube_router(node));
    }
    if let Some(l) = node.named("weave") {
        return Some(found("weave", None, vec![NodeView::described(l)]));
    }
    let routed = node.per_pod_routes();
    (!routed.is_empty()).then(|| kindnet(node, routed.len()))
}

/// The CNI the config file in force names, when the links alone did not tell (a node without
/// pods yet, flannel's host-gw). The bridge plugin's file is left to [`by_bridge`].
fn by_config(node: &NodeView, cni: &str) -> Option<CniFingerprint> {
    match cni {
        "flannel" => Some(flannel(node)),
        "calico" => Some(calico(node, 0)),
        "cilium" => Some(found("cilium", None, Vec::new())),
        "kindnet" => Some(kindnet(node, 0)),
        "kube-router" => Some(kube_router(node)),
        "weave" => Some(found("weave", None, Vec::new())),
        _ => None,
    }
}

fn cilium(node: &NodeView) -> CniFingerprint {
    let variant = if node.named("cilium_vxlan").is_some() {
        CniVariant::Vxlan
    } else if node.named("cilium_geneve").is_some() {
        CniVariant::Geneve
    } else {
        CniVariant::Routed
    };
    let names = ["cilium_host", "cilium_net", "cilium_vxlan", "cilium_geneve"];
    found("cilium", Some(variant), node.present(&names))
}

/// Calico with `cali` per-pod routes: VXLAN when `vxlan.calico` exists, IP-in-IP when routes
/// leave by `tunl0` (the device exists wherever the ipip module is loaded, so only its routes
/// count), routed when the other pod CIDRs are reached via the node IPs.
fn calico(node: &NodeView, cali: usize) -> CniFingerprint {
    let mut evidence = Vec::new();
    if cali > 0 {
        evidence.push(format!("{cali} cali* veths with a /32 route each"));
    }
    let tunl0 = node
        .named("tunl0")
        .filter(|l| l.kind == Some(LinkKind::IpIp));
    let ipip_routes = tunl0.and_then(|t| node.routes_via_device_evidence(t));
    let variant = if let Some(l) = node.named("vxlan.calico") {
        evidence.push(NodeView::described(l));
        evidence.extend(node.routes_via_device_evidence(l));
        Some(CniVariant::Vxlan)
    } else if let (Some(t), Some(routes)) = (tunl0, ipip_routes) {
        evidence.extend([NodeView::described(t), routes]);
        Some(CniVariant::IpIp)
    } else if let Some(routes) = node.routes_via_nodes_evidence() {
        evidence.push(routes);
        Some(CniVariant::Routed)
    } else {
        None
    };
    evidence.extend(node.blackhole_blocks());
    found("calico", variant, evidence)
}

/// flannel: VXLAN by `flannel.1`; host-gw (told by its config file) by routes via the node IPs.
fn flannel(node: &NodeView) -> CniFingerprint {
    let mut evidence = node.present(&["flannel.1", "flannel-wg", "flannel0"]);
    let variant = if let Some(l) = node.named("flannel.1") {
        evidence.extend(node.routes_via_device_evidence(l));
        Some(CniVariant::Vxlan)
    } else if evidence.is_empty()
        && let Some(routes) = node.routes_via_nodes_evidence()
    {
        evidence.push(routes);
        Some(CniVariant::HostGw)
    } else {
        None
    };
    evidence.extend(node.present(&["cni0"]));
    found("flannel", variant, evidence)
}

fn kube_router(node: &NodeView) -> CniFingerprint {
    let mut evidence = node.present(&["kube-bridge"]);
    let routes = node.routes_via_nodes_evidence();
    let variant = routes.is_some().then_some(CniVariant::Routed);
    evidence.extend(routes);
    evidence.extend(node.prefixed("tun-", LinkKind::IpIp));
    found("kube-router", variant, evidence)
}

fn kindnet(node: &NodeView, pods: usize) -> CniFingerprint {
    let mut evidence = Vec::new();
    if pods > 0 {
        evidence.push(format!("{pods} bridgeless veths with a /32 route each"));
    }
    evidence.extend(node.routes_via_nodes_evidence());
    found("kindnet", None, evidence)
}

/// The bridge plugin's `cni0`, or Docker's `docker0`.
fn by_bridge(node: &NodeView) -> Option<CniFingerprint> {
    let bridge = |n: &str| node.named(n).filter(|l| l.kind == Some(LinkKind::Bridge));
    if let Some(l) = bridge("cni0") {
        let mut evidence = vec![NodeView::described(l)];
        evidence.extend(node.routes_via_nodes_evidence());
        return Some(found("bridge", None, evidence));
    }
    bridge("docker0").map(|l| found("docker", None, vec![NodeView::described(l)]))
}

/// What was seen instead: the bridges, the overlay devices and how many veths, so a reader can
/// still tell the CNI.
fn unknown(node: &NodeView) -> CniFingerprint {
    let mut evidence: Vec<String> = (node.links.iter())
        .filter(|l| l.kind == Some(LinkKind::Bridge) || l.tunnel.is_some())
        .map(NodeView::described)
        .collect();
    let veths: Vec<&Link> = (node.links.iter())
        .filter(|l| l.kind == Some(LinkKind::Veth))
        .collect();
    if !veths.is_empty() {
        let ports = veths.iter().filter(|l| l.master.is_some()).count();
        evidence.push(format!(
            "{} veths ({ports} of them bridge ports)",
            veths.len()
        ));
    }
    if evidence.is_empty() {
        evidence.push("no bridge, overlay device or veth".into());
    }
    found("unknown", None, evidence)
}
