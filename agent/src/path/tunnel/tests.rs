use std::net::Ipv4Addr;

use netdiag_model::report::HopDetail;
use netdiag_model::{PlanNode, Reason, Verdict};

use super::{TunnelFacts, TunnelInput, judge};
use crate::kernel::rtnl::{
    FdbEntry, Link, LinkKind, Neighbour, NeighbourState, OperState, RouteInfo, RouteKind,
    TunnelConfig,
};

const PEER_MAC: &str = "6e:13:e8:42:bb:03";

fn nodes() -> Vec<PlanNode> {
    ["a", "b", "c"]
        .iter()
        .enumerate()
        .map(|(i, n)| PlanNode {
            name: format!("node-{n}"),
            address: [172, 18, 0, i as u8 + 2].into(),
            pod_cidrs: vec![format!("10.244.{}.0/24", i + 1)],
        })
        .collect()
}

fn link(index: u32, name: &str, mtu: u32, tunnel: Option<TunnelConfig>) -> Link {
    Link {
        index,
        name: name.into(),
        kind: tunnel.as_ref().map(|t| LinkKind::from_kernel(t.kind())),
        mac: None,
        mtu,
        oper_state: OperState::Unknown,
        admin_up: true,
        link: None,
        link_netnsid: None,
        master: None,
        hairpin: None,
        promiscuity: 0,
        tunnel,
    }
}

/// node-a's flannel.1 as flanneld leaves it, with node-b's entries.
fn flannel() -> (RouteInfo, TunnelFacts) {
    let vxlan = TunnelConfig::Vxlan {
        vni: Some(1),
        port: Some(8472),
        local: Some(Ipv4Addr::new(172, 18, 0, 2)),
        underlay: Some(2),
        learning: Some(false),
    };
    let route = RouteInfo {
        destination: Ipv4Addr::new(10, 244, 2, 7),
        kind: RouteKind::Unicast,
        gateway: Some(Ipv4Addr::new(10, 244, 2, 0)),
        oif: Some(5),
        device: Some("flannel.1".into()),
        prefsrc: None,
        table: None,
    };
    let facts = TunnelFacts {
        device: link(5, "flannel.1", 1450, Some(vxlan)),
        underlay: Some(link(2, "eth0", 1500, None)),
        neighbour: Some(Neighbour {
            ifindex: 5,
            ip: Ipv4Addr::new(10, 244, 2, 0),
            mac: Some(PEER_MAC.into()),
            state: NeighbourState::Permanent,
        }),
        fdb: vec![FdbEntry {
            ifindex: 5,
            mac: PEER_MAC.into(),
            dst: Some(Ipv4Addr::new(172, 18, 0, 3)),
            state: NeighbourState::Permanent,
        }],
    };
    (route, facts)
}

fn judged(route: &RouteInfo, facts: &TunnelFacts, pod_mtu: u32) -> netdiag_model::Hop {
    judge(&TunnelInput {
        node: "node-a",
        route,
        facts,
        nodes: &nodes(),
        pod_mtu: Some(pod_mtu),
    })
}

#[test]
fn a_healthy_flannel_overlay_names_vni_port_and_the_endpoint_nodes_vtep() {
    let (route, facts) = flannel();
    let hop = judged(&route, &facts, 1450);
    assert_eq!(hop.verdict, Verdict::Ok, "{}", hop.detail);
    assert_eq!(
        hop.detail,
        "vxlan flannel.1 on node-a carries 10.244.2.7 to 172.18.0.3 (node-b)"
    );
    let Some(HopDetail::Tunnel(d)) = &hop.details else {
        panic!("tunnel details: {:?}", hop.details);
    };
    assert_eq!((d.vni, d.port), (Some(1), Some(8472)));
    assert_eq!(d.next_hop_mac.as_deref(), Some(PEER_MAC));
    assert_eq!(
        d.remote.map(|v| v.to_string()).as_deref(),
        Some("172.18.0.3")
    );
    assert_eq!(d.remote_node.as_deref(), Some("node-b"));
    assert_eq!(d.underlay.as_deref(), Some("eth0"));
}

/// One injected fault: its name, how it breaks the facts, the reason and the words the detail must carry.
type FaultCase = (&'static str, fn(&mut TunnelFacts), Reason, &'static str);

#[test]
fn each_overlay_fault_is_named_with_its_entry_and_node() {
    let cases: Vec<FaultCase> = vec![
        (
            "device down",
            |f| f.device.admin_up = false,
            Reason::TunnelDown,
            "overlay device flannel.1",
        ),
        (
            "underlay down",
            |f| {
                if let Some(u) = f.underlay.as_mut() {
                    u.oper_state = OperState::Down;
                }
            },
            Reason::TunnelDown,
            "underlay device eth0",
        ),
        (
            "no neighbour",
            |f| f.neighbour = None,
            Reason::OverlayNeighbourMissing,
            "no neighbour entry for 10.244.2.0 on flannel.1",
        ),
        (
            "unresolved neighbour",
            |f| {
                if let Some(n) = f.neighbour.as_mut() {
                    n.state = NeighbourState::Failed;
                    n.mac = None;
                }
            },
            Reason::OverlayNeighbourMissing,
            "(only a FAILED entry)",
        ),
        (
            "no fdb entry",
            |f| f.fdb.clear(),
            Reason::OverlayFdbMissing,
            "no forwarding entry for 6e:13:e8:42:bb:03",
        ),
        (
            "fdb to node-c",
            |f| f.fdb[0].dst = Some(Ipv4Addr::new(172, 18, 0, 4)),
            Reason::OverlayWrongVtep,
            "to 172.18.0.4 (node node-c), but 10.244.2.7 is on node-b (172.18.0.3)",
        ),
    ];
    for (what, break_it, reason, text) in cases {
        let (route, mut facts) = flannel();
        break_it(&mut facts);
        let hop = judged(&route, &facts, 1450);
        assert_eq!(hop.verdict, Verdict::Fail, "{what}: {}", hop.detail);
        assert_eq!(hop.reason, Some(reason), "{what}: {}", hop.detail);
        assert!(hop.detail.contains(text), "{what}: {}", hop.detail);
        assert!(hop.detail.contains("node-a"), "{what}: {}", hop.detail);
    }
}

#[test]
fn a_learning_vxlan_floods_through_its_default_entry_and_nolearning_does_not() {
    let (route, mut facts) = flannel();
    facts.fdb = vec![FdbEntry {
        ifindex: 5,
        mac: "00:00:00:00:00:00".into(),
        dst: Some(Ipv4Addr::new(172, 18, 0, 3)),
        state: NeighbourState::Permanent,
    }];
    assert_eq!(judged(&route, &facts, 1450).verdict, Verdict::Fail);
    if let Some(TunnelConfig::Vxlan { learning, .. }) = facts.device.tunnel.as_mut() {
        *learning = Some(true);
    }
    assert_eq!(judged(&route, &facts, 1450).verdict, Verdict::Ok);
}

#[test]
fn mtus_that_do_not_fit_are_a_warn_naming_both() {
    let (route, facts) = flannel();
    let hop = judged(&route, &facts, 1500);
    assert_eq!(
        (hop.verdict, hop.reason.clone()),
        (Verdict::Warn, Some(Reason::OverlayMtuMismatch))
    );
    assert!(hop.detail.contains("MTU 1500") && hop.detail.contains("1450"));
    let (route, mut facts) = flannel();
    facts.device.mtu = 1500;
    let hop = judged(&route, &facts, 1500);
    assert_eq!(hop.reason, Some(Reason::OverlayMtuMismatch));
    assert!(hop.detail.contains("1550"), "{}", hop.detail);
}

#[test]
fn without_node_facts_the_vtep_is_reported_not_checked() {
    let (route, mut facts) = flannel();
    facts.fdb[0].dst = Some(Ipv4Addr::new(192, 168, 9, 9));
    let hop = judge(&TunnelInput {
        node: "node-a",
        route: &route,
        facts: &facts,
        nodes: &[],
        pod_mtu: None,
    });
    assert_eq!(hop.verdict, Verdict::Ok);
    assert!(hop.detail.ends_with("to 192.168.9.9"), "{}", hop.detail);
}

#[test]
fn calicos_tunl0_takes_the_remote_from_the_route() {
    let (mut route, mut facts) = flannel();
    facts.device = link(
        6,
        "tunl0",
        1480,
        Some(TunnelConfig::IpIp {
            local: None,
            remote: None,
            underlay: None,
        }),
    );
    facts.underlay = None;
    facts.neighbour = None;
    facts.fdb.clear();
    route.gateway = Some(Ipv4Addr::new(172, 18, 0, 3));
    let hop = judged(&route, &facts, 1480);
    assert_eq!(hop.verdict, Verdict::Ok, "{}", hop.detail);
    assert!(hop.detail.contains("ipip tunl0") && hop.detail.contains("(node-b)"));
    route.gateway = Some(Ipv4Addr::new(172, 18, 0, 4));
    assert_eq!(
        judged(&route, &facts, 1480).reason,
        Some(Reason::OverlayWrongVtep)
    );
}

#[test]
fn a_route_gone_with_its_down_overlay_device_is_the_devices_failure() {
    let (mut route, facts) = flannel();
    route.kind = RouteKind::NoRoute;
    (route.gateway, route.oif, route.device) = (None, None, None);
    let mut down = facts.device.clone();
    down.admin_up = false;
    down.oper_state = OperState::Down;
    let links = vec![facts.underlay.clone().unwrap(), down];
    let hop = super::down_overlay_took_route("node-a", &links, &route, &nodes()).unwrap();
    assert_eq!(
        (hop.kind.clone(), hop.verdict, hop.reason.clone()),
        (
            netdiag_model::HopKind::Tunnel,
            Verdict::Fail,
            Some(Reason::TunnelDown)
        )
    );
    assert!(
        hop.detail.contains("flannel.1 is down (admin down)")
            && hop.detail.contains("no route to 10.244.2.7 on node-b"),
        "{}",
        hop.detail
    );
    // An address in no node's pod CIDR is no overlay's business, nor is an up device.
    let mut outside = route.clone();
    outside.destination = Ipv4Addr::new(192, 0, 2, 1);
    assert!(super::down_overlay_took_route("node-a", &links, &outside, &nodes()).is_none());
    let up = [facts.device.clone()];
    assert!(super::down_overlay_took_route("node-a", &up, &route, &nodes()).is_none());

    // The Route hop that found nothing then points at the device instead of failing first.
    let route_hop = netdiag_model::Hop::new(
        "node-a",
        netdiag_model::HopKind::Route,
        "10.244.2.7",
        Verdict::Fail,
        "no route to 10.244.2.7",
    )
    .with_reason(Reason::NoRoute);
    let mut hops = vec![route_hop, hop];
    super::defer_missing_routes_to_down_overlay("node-a", &mut hops);
    assert_eq!(hops[0].verdict, Verdict::Warn);
    assert!(
        hops[0].detail.contains("see the Tunnel hop"),
        "{}",
        hops[0].detail
    );
    let first = netdiag_model::merge::first_failure(&hops).unwrap();
    assert_eq!(first.reason, Reason::TunnelDown);
}
