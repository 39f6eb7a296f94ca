//! Judging an overlay hop (pure): device and underlay up, the next hop resolved on the device,
//! a forwarding entry for its MAC, that entry's VTEP the endpoint node's, and MTUs that fit.

use std::net::Ipv4Addr;

use netdiag_model::report::{HopDetail, TunnelDetail};
use netdiag_model::{Hop, HopKind, PlanNode, Reason, Verdict};

use super::{TunnelFacts, next_hop};
use crate::kernel::rtnl::{FdbEntry, Link, RouteInfo, RouteKind, TunnelConfig};

/// Everything the judgement needs.
pub struct TunnelInput<'a> {
    pub node: &'a str,
    pub route: &'a RouteInfo,
    pub facts: &'a TunnelFacts,
    /// The nodes the plan named, to tell whose VTEP an address is.
    pub nodes: &'a [PlanNode],
    /// The source pod's eth0 MTU, when the run has a source pod.
    pub pod_mtu: Option<u32>,
}

/// The node whose pod CIDRs hold `ip`.
pub fn node_of_destination(nodes: &[PlanNode], ip: Ipv4Addr) -> Option<&PlanNode> {
    nodes
        .iter()
        .find(|n| n.pod_cidrs.iter().any(|c| cidr_contains(c, ip)))
}

/// The node whose address is `ip`.
pub fn node_of_address(nodes: &[PlanNode], ip: Ipv4Addr) -> Option<&PlanNode> {
    nodes.iter().find(|n| n.address == ip)
}

fn cidr_contains(cidr: &str, ip: Ipv4Addr) -> bool {
    let Some((net, len)) = cidr.split_once('/') else {
        return false;
    };
    let (Ok(net), Ok(len)) = (net.parse::<Ipv4Addr>(), len.parse::<u32>()) else {
        return false;
    };
    if len > 32 {
        return false;
    }
    let mask = u32::MAX.checked_shl(32 - len).unwrap_or(0);
    u32::from(net) & mask == u32::from(ip) & mask
}

/// The hop when the node's tables could not be read.
pub(super) fn unreadable(node: &str, route: &RouteInfo, e: &dyn std::fmt::Display) -> Hop {
    let dev = route.device.as_deref().unwrap_or("the overlay device");
    Hop::new(
        node,
        HopKind::Tunnel,
        dev.to_string(),
        Verdict::Warn,
        format!("cannot read {dev}'s settings, neighbours or forwarding entries on {node}: {e}"),
    )
    .with_reason(Reason::TunnelUnreadable)
}

/// The Tunnel hop for a destination with no route at all, when an overlay device is down (pure):
/// the kernel deletes a device's routes when it goes down, so flannel's `10.244.2.0/24 via
/// 10.244.2.0 dev flannel.1 onlink` vanishes with flannel.1, and the missing route is the down
/// device's doing. None when no overlay device is down, or the plan's nodes say the destination
/// is in no node's pod CIDR (then nothing says an overlay should carry it).
pub fn down_overlay_took_route(
    node: &str,
    links: &[Link],
    route: &RouteInfo,
    nodes: &[PlanNode],
) -> Option<Hop> {
    if route.kind != RouteKind::NoRoute {
        return None;
    }
    let dst = route.destination;
    let endpoint_node = node_of_destination(nodes, dst);
    if !nodes.is_empty() && endpoint_node.is_none() {
        return None;
    }
    let dev = links
        .iter()
        .find(|l| l.tunnel.is_some() && !l.is_usable())?;
    let tunnel = dev.tunnel.as_ref()?;
    let detail = TunnelDetail {
        vni: tunnel.vni(),
        ..TunnelDetail::new(&dev.name, tunnel.kind(), dst, dev.mtu)
    };
    let whose = endpoint_node.map_or(String::new(), |n| format!(" on {}", n.name));
    Some(
        Hop::new(
            node,
            HopKind::Tunnel,
            dev.name.clone(),
            Verdict::Fail,
            format!(
                "{node}'s overlay device {} is {} (admin {}), and the kernel removed its routes with it: {node} has no route to {dst}{whose} (`ip link set {} up`, then restart the CNI's node agent so it writes its routes again)",
                dev.name,
                dev.oper_state,
                if dev.admin_up { "up" } else { "down" },
                dev.name
            ),
        )
        .with_reason(Reason::TunnelDown)
        .with_details(HopDetail::Tunnel(detail)),
    )
}

/// Judge the overlay hop.
pub fn judge(input: &TunnelInput<'_>) -> Hop {
    let TunnelInput {
        node,
        route,
        facts,
        nodes,
        pod_mtu: _,
    } = *input;
    let dev = &facts.device;
    let Some(tunnel) = dev.tunnel.as_ref() else {
        return unreadable(node, route, &"it is no overlay device");
    };
    let hop_to = next_hop(route);
    let dst = route.destination;
    let mut detail = TunnelDetail {
        underlay: facts.underlay.as_ref().map(|u| u.name.clone()),
        next_hop_mac: facts.neighbour.as_ref().and_then(|n| n.mac.clone()),
        ..TunnelDetail::new(&dev.name, tunnel.kind(), hop_to, dev.mtu)
    };
    let endpoint_node = node_of_destination(nodes, dst);
    let hop = |verdict: Verdict, text: String, detail: &TunnelDetail| {
        Hop::new(node, HopKind::Tunnel, dev.name.clone(), verdict, text)
            .with_details(HopDetail::Tunnel(detail.clone()))
    };
    let fail = |reason: Reason, text: String, detail: &TunnelDetail| {
        hop(Verdict::Fail, text, detail).with_reason(reason)
    };
    if !dev.is_usable() {
        return fail(
            Reason::TunnelDown,
            format!(
                "{node}'s overlay device {} is {} (admin {}): nothing reaches {dst} on the other node",
                dev.name,
                dev.oper_state,
                if dev.admin_up { "up" } else { "down" }
            ),
            &detail,
        );
    }
    if let Some(u) = facts.underlay.as_ref().filter(|u| !u.is_usable()) {
        return fail(
            Reason::TunnelDown,
            format!(
                "{}'s underlay device {} on {node} is {}: encapsulated packets cannot leave",
                dev.name, u.name, u.oper_state
            ),
            &detail,
        );
    }
    let remote = match tunnel {
        TunnelConfig::Vxlan {
            vni,
            port,
            local,
            learning,
            ..
        } => {
            detail.vni = *vni;
            detail.port = *port;
            detail.local = *local;
            let mac = match facts.neighbour.as_ref() {
                Some(n) if !n.state.is_unresolved() && n.mac.is_some() => n.mac.clone(),
                other => {
                    let state = other.map(|n| format!(" (only a {} entry)", n.state));
                    return fail(
                        Reason::OverlayNeighbourMissing,
                        format!(
                            "{node} has no neighbour entry for {hop_to} on {}{}: it cannot learn the MAC of {}'s end of the overlay, so nothing is sent towards {dst} (`ip neigh show dev {}`; the CNI's node agent writes one per remote node)",
                            dev.name,
                            state.unwrap_or_default(),
                            endpoint_node.map_or("the other node", |n| n.name.as_str()),
                            dev.name
                        ),
                        &detail,
                    );
                }
            };
            let mac = mac.unwrap_or_default();
            match vtep_for(&facts.fdb, &mac, learning.unwrap_or(true)) {
                Some(vtep) => vtep,
                None => {
                    return fail(
                        Reason::OverlayFdbMissing,
                        format!(
                            "{node}'s {} has no forwarding entry for {mac} (the MAC of next hop {hop_to}): the kernel does not know which node's VTEP to send {dst}'s packets to (`bridge fdb show dev {}`)",
                            dev.name, dev.name
                        ),
                        &detail,
                    );
                }
            }
        }
        TunnelConfig::Geneve { vni, port, remote } => {
            detail.vni = *vni;
            detail.port = *port;
            match remote {
                Some(r) => *r,
                None => {
                    detail.remote = None;
                    return hop(
                        Verdict::Ok,
                        format!(
                            "{} {} on {node} (collect-metadata): the CNI's eBPF picks the remote for {dst} per packet",
                            tunnel.kind(),
                            dev.name
                        ),
                        &detail,
                    );
                }
            }
        }
        TunnelConfig::IpIp { local, remote, .. } => {
            detail.local = *local;
            // tunl0 is `remote any`: the route's gateway is the remote node
            remote.or(route.gateway).unwrap_or(dst)
        }
    };
    detail.remote = Some(remote);
    let remote_node = node_of_address(nodes, remote);
    detail.remote_node = remote_node.map(|n| n.name.clone());
    if let Some(expected) = endpoint_node
        && expected.address != remote
    {
        let whose = remote_node.map_or("no node the probe knows".to_string(), |n| {
            format!("node {}", n.name)
        });
        return fail(
            Reason::OverlayWrongVtep,
            format!(
                "{node}'s {} sends {dst}'s packets to {remote} ({whose}), but {dst} is on {} ({}): a stale {} entry for next hop {hop_to}",
                dev.name,
                expected.name,
                expected.address,
                if matches!(tunnel, TunnelConfig::Vxlan { .. }) {
                    "forwarding"
                } else {
                    "route or tunnel"
                },
            ),
            &detail,
        );
    }
    if let Some(warn) = mtu_mismatch(node, input, tunnel) {
        return hop(Verdict::Warn, warn, &detail).with_reason(Reason::OverlayMtuMismatch);
    }
    let whose = remote_node.map(|n| format!(" ({})", n.name));
    hop(
        Verdict::Ok,
        format!(
            "{} {} on {node} carries {dst} to {remote}{}",
            tunnel.kind(),
            dev.name,
            whose.unwrap_or_default()
        ),
        &detail,
    )
}

/// The VTEP frames for `mac` go to: its own entry, or on a learning device the all-zeros
/// entry it floods unknown MACs to.
fn vtep_for(fdb: &[FdbEntry], mac: &str, learning: bool) -> Option<Ipv4Addr> {
    let own = fdb.iter().find(|e| e.mac == mac).and_then(|e| e.dst);
    own.or_else(|| {
        learning
            .then(|| fdb.iter().find(|e| e.is_default()).and_then(|e| e.dst))
            .flatten()
    })
}

/// A Warn's text when the MTUs along the overlay do not fit.
fn mtu_mismatch(node: &str, input: &TunnelInput<'_>, tunnel: &TunnelConfig) -> Option<String> {
    let dev = &input.facts.device;
    if let Some(pod) = input.pod_mtu.filter(|m| *m > dev.mtu) {
        return Some(format!(
            "the pod's MTU {pod} is larger than {}'s {} on {node}: packets between {} and {pod} bytes are dropped or fragmented on the way to the other node",
            dev.name,
            dev.mtu,
            dev.mtu + 1
        ));
    }
    let underlay = input.facts.underlay.as_ref()?;
    let needed = dev.mtu + tunnel.overhead();
    (needed > underlay.mtu).then(|| {
        format!(
            "{}'s MTU {} plus {} bytes of {} is {needed}, larger than underlay {}'s {} on {node}: full-size packets do not fit once encapsulated",
            dev.name,
            dev.mtu,
            tunnel.overhead(),
            tunnel.kind(),
            underlay.name,
            underlay.mtu
        )
    })
}
