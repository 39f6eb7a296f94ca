//! The node's route back to its own pod, like `ip route get POD_IP` on the node: replies to the
//! pod, and on a routed CNI even the proxy ARP answer for its gateway, need it. Only a node with
//! no usable route at all is judged (no route, unreachable, prohibit, blackhole): every CNI's
//! own route to a local pod (a bridge's subnet, Calico's and kindnet's /32 on the veth,
//! Cilium's via cilium_host) is some route, so none of them is second-guessed. Pure.

use std::net::Ipv4Addr;

use netdiag_model::{Hop, Reason, Verdict};

use crate::kernel::rtnl::{RouteInfo, RouteKind};

/// The HostVeth hop failed when `route` (the node's lookup of the pod's own `ip`) goes nowhere.
pub fn judge(host_veth: &Hop, pod_ip: Ipv4Addr, route: &RouteInfo) -> Option<Hop> {
    // A veth that is down took its routes with it: that is the cause to name, not the route.
    if host_veth.verdict == Verdict::Fail {
        return None;
    }
    let what = match route.kind {
        RouteKind::NoRoute => "no route",
        RouteKind::Unreachable => "an unreachable route",
        RouteKind::Prohibit => "a prohibit route",
        RouteKind::Blackhole => "a blackhole route",
        _ => return None,
    };
    let mut hop = host_veth.clone();
    hop.verdict = Verdict::Fail;
    hop.reason = Some(Reason::NoRouteToPod);
    hop.detail = format!(
        "{}; but {} has {what} back to the pod's {pod_ip}: replies to the pod (and, on a routed CNI, the proxy ARP answer for its gateway) have nowhere to go (`ip route get {pod_ip}` on the node; the CNI writes this route: Calico's Felix a /32 on the cali* veth, bridge CNIs the pod CIDR on the bridge)",
        host_veth.detail, host_veth.node
    );
    Some(hop)
}

#[cfg(test)]
mod tests {
    use super::*;
    use netdiag_model::HopKind;

    #[test]
    fn a_node_without_a_route_to_its_own_pod_fails_the_host_veth() {
        let veth = Hop::new(
            "node-a",
            HopKind::HostVeth,
            "cali427e4b79b1f",
            Verdict::Ok,
            "cali427e4b79b1f@if2 up mtu 1500, the node side of the pod's eth0",
        );
        let ip = Ipv4Addr::new(10, 244, 1, 2);
        let mut route = RouteInfo {
            destination: ip,
            kind: RouteKind::NoRoute,
            gateway: None,
            oif: None,
            device: None,
            prefsrc: None,
            table: None,
        };
        let hop = judge(&veth, ip, &route).expect("a failure");
        assert_eq!(
            (hop.verdict, hop.reason),
            (Verdict::Fail, Some(Reason::NoRouteToPod))
        );
        assert!(
            hop.detail
                .contains("node-a has no route back to the pod's 10.244.1.2"),
            "{}",
            hop.detail
        );
        // Any route at all is the CNI's business: a bridge, a /32, Cilium's cilium_host.
        route.kind = RouteKind::Unicast;
        route.device = Some("cilium_host".into());
        assert_eq!(judge(&veth, ip, &route), None);
        // A downed veth's routes went with it: HostVethDown stays the cause.
        route.kind = RouteKind::NoRoute;
        let mut down = veth.clone();
        down.verdict = Verdict::Fail;
        assert_eq!(judge(&down, ip, &route), None);
    }
}
