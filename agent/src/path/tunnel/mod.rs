//! The overlay between two nodes, when the route to the endpoint leaves over one: the manual
//! `ip -d link show flannel.1`, `ip neigh show dev flannel.1` (the next hop's MAC) and `bridge
//! fdb show dev flannel.1` (which node's VTEP holds that MAC), checked against the node that
//! holds the endpoint.

mod judge;
#[cfg(test)]
mod tests;

use std::net::Ipv4Addr;

use netdiag_model::{Hop, HopKind, PlanNode, Reason, Verdict};

use crate::kernel::netlink::NetlinkError;
use crate::kernel::rtnl::{FdbEntry, Link, Neighbour, RouteInfo, Rtnl, TunnelConfig};

pub use judge::{
    TunnelInput, down_overlay_took_route, judge, node_of_address, node_of_destination,
};

/// What the node holds for one overlay route, read in the calling thread's namespace.
#[derive(Clone, Debug, PartialEq)]
pub struct TunnelFacts {
    pub device: Link,
    pub underlay: Option<Link>,
    /// The entry for the route's next hop on the device, if any.
    pub neighbour: Option<Neighbour>,
    /// The device's forwarding entries (VXLAN).
    pub fdb: Vec<FdbEntry>,
}

/// The node's overlay state, read once for every route of a run: a Service may have thousands
/// of endpoints behind one device.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct NodeOverlay {
    pub links: Vec<Link>,
    pub neighbours: Vec<Neighbour>,
    pub fdb: Vec<FdbEntry>,
}

impl NodeOverlay {
    /// Links, neighbours and (when a VXLAN device exists) forwarding entries of the calling
    /// thread's namespace: one dump of each.
    pub fn read() -> Result<NodeOverlay, NetlinkError> {
        let mut rtnl = Rtnl::open()?;
        let links = rtnl.links()?;
        if !links.iter().any(|l| l.tunnel.is_some()) {
            return Ok(NodeOverlay {
                links,
                ..Default::default()
            });
        }
        let neighbours = rtnl.neighbours()?;
        let fdb = if links
            .iter()
            .any(|l| matches!(l.tunnel, Some(TunnelConfig::Vxlan { .. })))
        {
            rtnl.fdb()?
        } else {
            Vec::new()
        };
        Ok(NodeOverlay {
            links,
            neighbours,
            fdb,
        })
    }

    /// The facts behind `route` (pure), None when it does not leave over an overlay device.
    pub fn facts_for(&self, route: &RouteInfo) -> Option<TunnelFacts> {
        let oif = route.oif?;
        let device = self.links.iter().find(|l| l.index == oif)?;
        let tunnel = device.tunnel.as_ref()?;
        let underlay = tunnel
            .underlay()
            .and_then(|i| self.links.iter().find(|l| l.index == i))
            .cloned();
        let hop_to = next_hop(route);
        Some(TunnelFacts {
            device: device.clone(),
            underlay,
            neighbour: (self.neighbours.iter())
                .find(|n| n.ifindex == oif && n.ip == hop_to)
                .cloned(),
            fdb: (self.fdb.iter())
                .filter(|e| e.ifindex == oif)
                .cloned()
                .collect(),
        })
    }
}

/// The address the device must resolve: the route's gateway (flannel's `via 10.244.2.0 dev
/// flannel.1 onlink`), else the destination itself.
pub fn next_hop(route: &RouteInfo) -> Ipv4Addr {
    route.gateway.unwrap_or(route.destination)
}

/// The overlay hops of a run (pure): the chosen endpoint's route when it takes an overlay, and
/// the failing ones of the other routes (the endpoints DNAT will pick sooner or later), one
/// per device and next hop.
pub fn tunnel_hops(
    node: &str,
    overlay: &Result<NodeOverlay, NetlinkError>,
    routes: &[(bool, &RouteInfo)],
    nodes: &[PlanNode],
    pod_mtu: Option<u32>,
) -> Vec<Hop> {
    let mut out: Vec<Hop> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for (chosen, route) in routes {
        let overlay = match overlay {
            Ok(o) => o,
            Err(e) => {
                let over_overlay = route.device.is_some() && *chosen;
                if over_overlay && out.is_empty() {
                    out.push(judge::unreadable(node, route, e));
                }
                continue;
            }
        };
        let Some(facts) = overlay.facts_for(route) else {
            if let Some(hop) = down_overlay_took_route(node, &overlay.links, route, nodes)
                && seen.insert((hop.name.clone(), Ipv4Addr::UNSPECIFIED))
            {
                out.push(hop);
            }
            continue;
        };
        let hop = judge(&TunnelInput {
            node,
            route,
            facts: &facts,
            nodes,
            pod_mtu,
        });
        let key = (facts.device.name.clone(), next_hop(route));
        if (*chosen || hop.verdict == Verdict::Fail) && seen.insert(key) {
            out.push(hop);
        }
    }
    out
}

/// Once a down overlay device explains the missing routes, the Route hops that found none are a
/// Warn pointing at it (pure): the first failure must be the device, which is what to fix;
/// adding the route by hand would only hide it until the CNI's next sync.
pub fn defer_missing_routes_to_down_overlay(node: &str, hops: &mut [Hop]) {
    let Some(dev) = hops
        .iter()
        .find(|h| {
            h.node == node && h.kind == HopKind::Tunnel && h.reason == Some(Reason::TunnelDown)
        })
        .map(|h| h.name.clone())
    else {
        return;
    };
    for h in hops.iter_mut().filter(|h| {
        h.node == node
            && h.kind == HopKind::Route
            && h.verdict == Verdict::Fail
            && h.reason == Some(Reason::NoRoute)
    }) {
        h.verdict = Verdict::Warn;
        h.detail.push_str(&format!(
            " (its route went with the down overlay device {dev}: see the Tunnel hop)"
        ));
    }
}
