//! The node's route to an endpoint, like `ip route get 10.244.2.7` on the node: out of the
//! local bridge, via another node, through a tunnel, or nowhere.

use std::net::Ipv4Addr;

use netdiag_model::Reason;
use netdiag_model::report::{HopDetail, RouteDetail};
use netdiag_model::{Hop, HopKind, Verdict};

use crate::kernel::rtnl::{LinkKind, RouteInfo, RouteKind, Rtnl};

/// Look up the calling thread's route to `dst` and judge it. The [`RouteInfo`] is returned
/// whenever the kernel answered (a "no route" answer included), None when it could not be
/// asked at all.
pub fn route_to(node: &str, dst: Ipv4Addr) -> (Hop, Option<RouteInfo>) {
    route_to_all(node, &[dst])
        .pop()
        .unwrap_or_else(|| (lookup_failed(node, dst, &"no answer"), None))
}

/// [`route_to`] for every destination, over one netlink socket and one link dump: a Service
/// may have many endpoints, and a node hundreds of links.
pub fn route_to_all(node: &str, dsts: &[Ipv4Addr]) -> Vec<(Hop, Option<RouteInfo>)> {
    let mut rtnl = match Rtnl::open() {
        Ok(r) => r,
        Err(e) => {
            return dsts
                .iter()
                .map(|d| (lookup_failed(node, *d, &e), None))
                .collect();
        }
    };
    // The device's kind tells a bridge (local pods) from a tunnel or an uplink.
    let links = rtnl.links().unwrap_or_default();
    dsts.iter()
        .map(|&dst| match rtnl.route_lookup(dst) {
            Ok(mut info) => {
                let link = info
                    .oif
                    .and_then(|oif| links.iter().find(|l| l.index == oif));
                info.device = link.map(|l| l.name.clone());
                let kind = link.and_then(|l| l.kind.as_ref());
                (judge(node, &info, kind), Some(info))
            }
            Err(e) => (lookup_failed(node, dst, &e), None),
        })
        .collect()
}

fn lookup_failed(node: &str, dst: Ipv4Addr, e: &dyn std::fmt::Display) -> Hop {
    Hop::new(
        node,
        HopKind::Route,
        dst.to_string(),
        Verdict::Warn,
        format!("cannot look up {node}'s route to {dst}: {e}"),
    )
    .with_reason(Reason::RouteLookupFailed)
}

/// How many other endpoints' broken routes are hops of their own; the rest are counted in one.
pub const MAX_OTHER_ROUTE_HOPS: usize = 5;

/// The route hops a report keeps (pure): the chosen endpoint's, and the broken ones of the
/// other endpoints, since DNAT will pick those sooner or later. Past
/// [`MAX_OTHER_ROUTE_HOPS`], one hop counts the rest, so a Service of 50,000 endpoints on an
/// unroutable range does not fill the report with 50,000 hops. `judged` pairs each route hop
/// with whether it is the chosen endpoint's.
pub fn report_hops(node: &str, judged: impl IntoIterator<Item = (bool, Hop)>) -> Vec<Hop> {
    let mut out = Vec::new();
    let mut others = 0;
    let mut rest: Vec<Hop> = Vec::new();
    for (chosen, hop) in judged {
        if chosen {
            out.push(hop);
        } else if hop.verdict == Verdict::Fail {
            others += 1;
            if others <= MAX_OTHER_ROUTE_HOPS {
                out.push(hop);
            } else {
                rest.push(hop);
            }
        }
    }
    if let Some(first) = rest.first() {
        let examples = rest
            .iter()
            .take(3)
            .map(|h| h.name.as_str())
            .collect::<Vec<_>>()
            .join(", ");
        let mut summary = Hop::new(
            node,
            HopKind::Route,
            format!("{} more endpoints", rest.len()),
            Verdict::Fail,
            format!(
                "{node} cannot route to {} more endpoints of the Service either ({examples}, ...): only the first {MAX_OTHER_ROUTE_HOPS} are shown one by one",
                rest.len()
            ),
        );
        summary.reason = first.reason.clone();
        out.push(summary);
    }
    out
}

/// Judge a route lookup: pure. `device_kind` is the output device's link kind (bridge, vxlan,
/// veth...), None for physical devices.
pub fn judge(node: &str, info: &RouteInfo, device_kind: Option<&LinkKind>) -> Hop {
    let dst = info.destination;
    let details = HopDetail::Route(RouteDetail {
        destination: dst.to_string(),
        gateway: info.gateway,
        device: info.device.clone(),
        prefsrc: info.prefsrc,
        route_type: info.kind.as_str().to_string(),
    });
    let fail = |text: String| {
        Hop::new(node, HopKind::Route, dst.to_string(), Verdict::Fail, text)
            .with_reason(Reason::NoRoute)
            .with_details(details.clone())
    };
    let dev = info.device.as_deref().unwrap_or("?");
    match info.kind {
        RouteKind::NoRoute => fail(format!(
            "{node} has no route to {dst} (the route to the pod CIDR {} of the other node is missing?)",
            likely_pod_cidr(dst)
        )),
        RouteKind::Unreachable => fail(format!(
            "{node} has no route to {dst}: an unreachable route covers it"
        )),
        RouteKind::Prohibit => fail(format!(
            "{node} refuses traffic to {dst}: a prohibit route covers it"
        )),
        RouteKind::Blackhole => fail(format!(
            "{node} drops traffic to {dst}: a blackhole route covers it (a CNI's route for a block of pod IPs whose pod is gone?)"
        )),
        RouteKind::Other => fail(format!(
            "{node} does not forward to {dst}: the route is of an unusual type"
        )),
        RouteKind::Local | RouteKind::Broadcast | RouteKind::Multicast => Hop::new(
            node,
            HopKind::Route,
            dst.to_string(),
            Verdict::Ok,
            format!("{dst} is {} on {node} (dev {dev})", info.kind.as_str()),
        )
        .with_details(details),
        RouteKind::Unicast => {
            let src = info
                .prefsrc
                .map(|p| format!(" src {p}"))
                .unwrap_or_default();
            let text = match (info.gateway, device_kind) {
                (None, Some(LinkKind::Bridge)) => format!("local bridge {dev}{src}"),
                (None, Some(kind)) => format!("dev {dev} ({kind}){src}"),
                (None, None) => format!("dev {dev}{src}"),
                (Some(gw), Some(kind)) if *kind != LinkKind::Bridge => {
                    format!("via {gw} dev {dev} ({kind}){src}")
                }
                (Some(gw), _) => format!("via {gw} dev {dev}{src}"),
            };
            Hop::new(node, HopKind::Route, dst.to_string(), Verdict::Ok, text).with_details(details)
        }
    }
}

/// The /24 around `dst`: what kubeadm-style clusters give each node. Only a hint in a message.
fn likely_pod_cidr(dst: Ipv4Addr) -> String {
    let [a, b, c, _] = dst.octets();
    format!("{a}.{b}.{c}.0/24")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broken_routes_of_many_other_endpoints_are_counted_in_one_hop() {
        let hop = |dst: String, verdict| Hop::new("node-a", HopKind::Route, dst, verdict, "x");
        let judged = (0..1000).map(|i| {
            let verdict = if i == 7 { Verdict::Ok } else { Verdict::Fail };
            (
                i == 7,
                hop(format!("10.200.0.{i}"), verdict).with_reason(Reason::NoRoute),
            )
        });
        let out = report_hops("node-a", judged);
        assert_eq!(
            out.len(),
            MAX_OTHER_ROUTE_HOPS + 2,
            "chosen, five, one summary"
        );
        assert!(
            out.iter()
                .any(|h| h.name == "10.200.0.7" && h.verdict == Verdict::Ok)
        );
        let last = out.last().expect("a summary");
        assert_eq!(last.name, "994 more endpoints");
        assert_eq!(last.reason, Some(Reason::NoRoute));
        assert!(
            last.detail.contains("10.200.0.6, 10.200.0.8"),
            "{}",
            last.detail
        );
        let healthy = (0..1000).map(|i| (false, hop(format!("10.244.2.{i}"), Verdict::Ok)));
        assert!(
            report_hops("node-a", healthy).is_empty(),
            "healthy routes are no hops"
        );
    }

    fn info(kind: RouteKind, gateway: Option<Ipv4Addr>, device: Option<&str>) -> RouteInfo {
        RouteInfo {
            destination: Ipv4Addr::new(10, 244, 2, 7),
            kind,
            gateway,
            oif: device.map(|_| 4),
            device: device.map(str::to_string),
            prefsrc: None,
            table: Some(254),
        }
    }

    #[test]
    fn a_pod_on_the_local_bridge_is_reached_directly() {
        let hop = judge(
            "node-a",
            &info(RouteKind::Unicast, None, Some("cni0")),
            Some(&LinkKind::Bridge),
        );
        assert_eq!(
            (hop.verdict, hop.detail.as_str()),
            (Verdict::Ok, "local bridge cni0")
        );
    }

    #[test]
    fn a_pod_on_another_node_is_reached_via_that_node() {
        let gw = Some(Ipv4Addr::new(172, 18, 0, 3));
        let hop = judge("node-a", &info(RouteKind::Unicast, gw, Some("eth0")), None);
        assert_eq!(
            (hop.verdict, hop.detail.as_str()),
            (Verdict::Ok, "via 172.18.0.3 dev eth0")
        );
        let gw = Some(Ipv4Addr::new(10, 244, 2, 0));
        let hop = judge(
            "node-a",
            &info(RouteKind::Unicast, gw, Some("flannel.1")),
            Some(&LinkKind::Vxlan),
        );
        assert_eq!(hop.detail, "via 10.244.2.0 dev flannel.1 (vxlan)");
    }

    #[test]
    fn no_route_fails_and_names_the_missing_pod_cidr() {
        let hop = judge("node-a", &info(RouteKind::NoRoute, None, None), None);
        assert_eq!(
            (hop.verdict, hop.reason.clone()),
            (Verdict::Fail, Some(Reason::NoRoute))
        );
        assert_eq!(
            hop.detail,
            "node-a has no route to 10.244.2.7 (the route to the pod CIDR 10.244.2.0/24 of the other node is missing?)"
        );
    }

    #[test]
    fn blackhole_unreachable_and_prohibit_routes_fail() {
        for kind in [
            RouteKind::Blackhole,
            RouteKind::Unreachable,
            RouteKind::Prohibit,
        ] {
            let hop = judge("node-a", &info(kind, None, None), None);
            assert_eq!(
                (hop.verdict, hop.reason.clone()),
                (Verdict::Fail, Some(Reason::NoRoute)),
                "{kind:?}"
            );
            let Some(HopDetail::Route(d)) = &hop.details else {
                panic!("no route detail")
            };
            assert_eq!(d.route_type, kind.as_str());
        }
    }
}
