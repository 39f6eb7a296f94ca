//! One module per hop, in path order. Each reads what it needs (`read`, I/O, in the calling
//! thread's namespace unless it says otherwise) and judges it (`judge`, pure, tested without
//! root), returning finished hops with verdicts:
//!
//! [`pod_interface`] -> [`host_veth`] -> [`bridge`] -> [`node_settings`] -> [`service_rules`] ->
//! [`conntrack`] -> [`route`] -> [`tunnel`] -> [`listener`], with [`dns`] and [`connect`] run from inside the
//! pod; [`hairpin`] judges the bridge port again once the connect has shown where DNAT went. The order a run takes them in is [`crate::run`]'s.

pub mod bridge;
pub mod connect;
pub mod conntrack;
pub mod dns;
pub mod firewall;
pub mod hairpin;
pub mod host_veth;
pub mod listener;
pub mod local_policy;
pub mod node_settings;
pub mod path_mtu;
pub mod pod_interface;
pub mod return_route;
pub mod route;
pub mod service_rules;
pub mod tunnel;

use std::path::Path;

use netdiag_model::Hop;
use netdiag_model::report::ResolvConf;

use self::host_veth::NodeFacts;
use self::pod_interface::PodFacts;
use crate::kernel::netns::discover::PodNetns;

/// The pod's end of the path: its eth0, the veth peer on the node, and what that veth is
/// attached to, with what later hops need from them.
#[derive(Clone, Debug, PartialEq)]
pub struct PodPath {
    /// PodInterface, HostVeth, Bridge, in that order (fewer when a hop could not be found).
    pub hops: Vec<Hop>,
    pub resolv_conf: Option<ResolvConf>,
    /// The node side of the pod's veth (`veth81ebcd7c`, `cali...`).
    pub host_veth: Option<String>,
    /// The bridge the host veth is a port of (`cni0`); None for routed CNIs.
    pub bridge: Option<String>,
    /// The host veth's flags as a port of that bridge, for the hairpin judgement.
    pub bridge_port: Option<hairpin::BridgePort>,
    pub pod_mtu: u32,
}

/// Follow the pod's eth0 to the node, like the seed's `ip a` in the pod (`eth0@if4`), `ip a`
/// on the node to find interface 4, `ip link show master` and `cat /etc/resolv.conf`. Run from
/// the node's namespace.
pub fn trace_pod(node: &str, pod: &PodNetns, proc: &Path) -> PodPath {
    let mut path = judge_pod(node, pod, &pod_interface::read(pod), &host_veth::read());
    path.resolv_conf = pod
        .pid
        .and_then(|pid| pod_interface::resolv::read_pod_resolv(proc, pid));
    if let (Some(rc), Some(first)) = (&path.resolv_conf, path.hops.first_mut()) {
        *first = pod_interface::with_resolv_conf(first.clone(), rc);
    }
    path
}

/// Judge the pod's end from facts already read: pure. Each hop is its module's judge; a hop
/// that cannot be found ends the walk.
pub fn judge_pod(
    node: &str,
    pod: &PodNetns,
    pod_facts: &Result<PodFacts, String>,
    node_facts: &Result<NodeFacts, String>,
) -> PodPath {
    let pod_mtu = pod_interface::pod_mtu(pod_facts);
    let mut path = PodPath {
        hops: vec![pod_interface::judge(node, pod, pod_facts)],
        resolv_conf: None,
        host_veth: None,
        bridge: None,
        bridge_port: None,
        pod_mtu,
    };
    let (hop, veth) = host_veth::judge(node, pod, node_facts, pod_mtu);
    path.hops.push(hop);
    let (Some(veth), Ok(facts)) = (veth, node_facts) else {
        return path;
    };
    path.host_veth = Some(veth.name.clone());
    let (hop, bridge) = bridge::judge(node, veth, facts);
    path.bridge = bridge;
    path.bridge_port = hairpin::BridgePort::of(veth, facts);
    path.hops.push(hop);
    path
}

#[cfg(test)]
mod pod_tests;
