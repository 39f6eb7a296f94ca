use std::net::Ipv4Addr;

use super::*;
use crate::kernel::rtnl::RouteKind;

fn link(index: u32, name: &str, kind: LinkKind, master: Option<u32>) -> Link {
    Link {
        master,
        ..Link::new(index, name, Some(kind))
    }
}

fn host_route(ip: [u8; 4], oif: u32) -> Route {
    Route {
        destination: Ipv4Addr::from(ip),
        prefix_len: 32,
        kind: RouteKind::Unicast,
        gateway: None,
        oif: Some(oif),
    }
}

#[test]
fn a_bridge_with_flannel_1_is_flannel() {
    let links = [
        link(3, "cni0", LinkKind::Bridge, None),
        link(4, "flannel.1", LinkKind::Vxlan, None),
        link(5, "veth1a2b3c4d", LinkKind::Veth, Some(3)),
    ];
    let f = fingerprint(&links, &[]);
    assert_eq!(f.name, "flannel");
    assert_eq!(f.evidence, ["flannel.1 (vxlan)", "cni0 (bridge)"]);
}

#[test]
fn cali_veths_with_host_routes_are_calico() {
    let links = [
        link(5, "cali0123456789a", LinkKind::Veth, None),
        link(6, "cali0123456789b", LinkKind::Veth, None),
    ];
    let routes = [
        host_route([10, 244, 1, 2], 5),
        host_route([10, 244, 1, 3], 6),
    ];
    let f = fingerprint(&links, &routes);
    assert_eq!(f.name, "calico");
    assert_eq!(f.evidence, ["2 cali* veths with a /32 route each"]);
}

#[test]
fn bridgeless_veths_with_host_routes_are_kindnet() {
    // The seed's kind node: veth81ebcd7c@if5 ... and `10.244.2.2 dev veth81ebcd7c scope host`.
    let links = [link(4, "veth81ebcd7c", LinkKind::Veth, None)];
    let f = fingerprint(&links, &[host_route([10, 244, 2, 2], 4)]);
    assert_eq!(f.name, "kindnet");
}

#[test]
fn the_most_specific_fingerprint_wins() {
    let with = |extra: Link| {
        let links = [
            link(3, "cni0", LinkKind::Bridge, None),
            link(5, "veth1", LinkKind::Veth, Some(3)),
            extra,
        ];
        fingerprint(&links, &[]).name
    };
    assert_eq!(with(link(9, "cilium_host", LinkKind::Veth, None)), "cilium");
    assert_eq!(
        with(link(9, "kube-bridge", LinkKind::Bridge, None)),
        "kube-router"
    );
    assert_eq!(with(link(9, "weave", LinkKind::Bridge, None)), "weave");
    assert_eq!(with(link(9, "eth1", LinkKind::Veth, None)), "bridge");
}

#[test]
fn a_node_without_any_known_object_is_unknown() {
    let links = [link(2, "eth0", LinkKind::Veth, None)];
    // A route through a gateway is no per-pod route.
    let mut via = host_route([10, 0, 0, 9], 2);
    via.gateway = Some(Ipv4Addr::new(10, 0, 0, 1));
    let f = fingerprint(&links, &[via]);
    assert_eq!((f.name.as_str(), f.evidence.len()), ("unknown", 0));
}
