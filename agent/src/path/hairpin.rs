//! Hairpin: a pod that calls a Service it is itself an endpoint of, through a bridge.
//!
//! kube-proxy DNATs the pod's packet to the pod's own address; with br_netfilter the DNAT
//! happens as the frame crosses the bridge, and the bridge then has to send it back out the very
//! port it came in on. A bridge does that only for a port in hairpin mode (`bridge link set dev
//! VETH hairpin on`, what kubelet's `--hairpin-mode hairpin-veth` does to every pod veth), or
//! when the bridge itself is promiscuous (kubelet's `--hairpin-mode promiscuous-bridge`): then
//! the frame also goes up to the node, which routes it back down. Otherwise it is dropped
//! silently, and the connect times out one time in N endpoints.
//!
//! [`judge`] is pure: it takes the port's flags (read with the node's links by the HostVeth
//! hop, like `ip -d link show VETH`) and what the Connect learnt, and returns the Bridge hop to
//! put in place of the healthy one, or None when hairpin mode cannot matter.

use std::net::Ipv4Addr;

use netdiag_model::Reason;
use netdiag_model::{Endpoint, Hop, Verdict};

use super::bridge::Attachment;
use super::host_veth::NodeFacts;
use crate::kernel::rtnl::Link;

/// The pod's host veth as a port of its bridge, like `bridge -d link show dev VETH` and
/// `ip -d link show BRIDGE` (promiscuity).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BridgePort {
    /// The host veth (`veth81ebcd7c`).
    pub port: String,
    /// The bridge it is a port of (`cni0`).
    pub bridge: String,
    /// IFLA_BRPORT_MODE of the port; None when the kernel did not say.
    pub hairpin: Option<bool>,
    /// IFLA_PROMISCUITY of the bridge: above 0, frames also go up to the node.
    pub bridge_promiscuity: u32,
}

impl BridgePort {
    /// The port's flags when `veth` is a port of a bridge: pure.
    pub fn of(veth: &Link, facts: &NodeFacts) -> Option<BridgePort> {
        match super::bridge::attachment(veth, facts) {
            Attachment::Bridge(bridge) => Some(BridgePort {
                port: veth.name.clone(),
                bridge: bridge.name.clone(),
                hairpin: veth.hairpin,
                bridge_promiscuity: bridge.promiscuity,
            }),
            Attachment::Routed | Attachment::OtherMaster(_) => None,
        }
    }

    /// Whether the bridge sends a frame back out the port it came in on.
    fn hairpins(&self) -> bool {
        // An unknown flag is not judged: an old kernel that does not report it is no failure.
        self.hairpin != Some(false) || self.bridge_promiscuity > 0
    }
}

/// What the run learnt about the Service connection from the source pod.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HairpinInput<'a> {
    /// The source pod's address.
    pub source: Ipv4Addr,
    /// The endpoint DNAT chose, from conntrack.
    pub chosen: Option<&'a Endpoint>,
    /// Every endpoint kube-proxy may pick (its rules, and the endpoints the plan expects).
    pub programmed: &'a [Endpoint],
    /// Whether the connect from the pod failed.
    pub connect_failed: bool,
}

/// The Bridge hop in place of `bridge_hop` when the port's hairpin mode matters and is off:
/// pure. None when nothing changes: hairpin is on (or the bridge promiscuous), the pod is not
/// an endpoint of the Service, or the Bridge hop already failed for another cause.
///
/// A Fail when the connect failed and DNAT picked the pod itself (or conntrack did not say and
/// the pod is one of the endpoints): the bridge dropped the packet. A Warn otherwise: this
/// connect went elsewhere, the next one may not.
pub fn judge(bridge_hop: &Hop, port: &BridgePort, input: &HairpinInput<'_>) -> Option<Hop> {
    if bridge_hop.verdict != Verdict::Ok || port.hairpins() {
        return None;
    }
    let is_source = |e: &&Endpoint| e.ip == input.source;
    let reached_self = input.chosen.filter(is_source);
    let own = reached_self.or_else(|| input.programmed.iter().find(is_source))?;
    let BridgePort {
        port: veth, bridge, ..
    } = port;
    let node = &bridge_hop.node;
    let off = format!(
        "hairpin mode is off on {veth}, the pod's port of bridge {bridge} on {node}, and {bridge} is not promiscuous"
    );
    let kubelet = format!(
        "kubelet's --hairpin-mode hairpin-veth sets hairpin on every pod veth (`ip link set dev {veth} type bridge_slave hairpin on`), promiscuous-bridge makes {bridge} promiscuous"
    );
    let (verdict, what) = match (input.connect_failed, reached_self, input.chosen) {
        (true, Some(e), _) => (
            Verdict::Fail,
            format!(
                "DNAT picked the pod itself ({e}), and the bridge will not send the packet back out the port it came in on, so the connect fails"
            ),
        ),
        (true, None, None) => (
            Verdict::Fail,
            format!(
                "the pod is an endpoint of the Service ({own}) and the connect failed: the bridge will not send a packet back out the port it came in on, so it fails whenever DNAT picks the pod itself"
            ),
        ),
        (false, Some(e), _) => (
            Verdict::Warn,
            format!(
                "DNAT picked the pod itself ({e}) and this connect got through, so the node routed it back rather than the bridge; a connect the bridge has to send back out the port it came in on fails"
            ),
        ),
        _ => (
            Verdict::Warn,
            format!(
                "the pod is an endpoint of the Service ({own}): its connections to the Service fail whenever DNAT picks the pod itself, because the bridge will not send a packet back out the port it came in on"
            ),
        ),
    };
    let mut hop = bridge_hop.clone();
    hop.verdict = verdict;
    hop.detail = format!("{off}: {what}; {kubelet}");
    hop.reason = Some(Reason::HairpinOff);
    Some(hop)
}

#[cfg(test)]
mod tests;
