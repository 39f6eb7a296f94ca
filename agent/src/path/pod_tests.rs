//! The pod's end of the path, judged hop by hop from facts (no namespaces needed).

use super::*;
use crate::kernel::netns::NsId;
use crate::kernel::rtnl::{
    Address, DefaultGateway, Link, LinkKind, Neighbour, NeighbourState, OperState,
};
use crate::path::host_veth::NodeFacts;
use crate::path::pod_interface::PodFacts;
use netdiag_model::Reason;
use netdiag_model::{HopKind, Verdict};
use std::net::Ipv4Addr;
use std::path::PathBuf;

fn pod() -> PodNetns {
    PodNetns {
        path: PathBuf::from("/var/run/netns/cni-1"),
        label: "/var/run/netns/cni-1".into(),
        id: NsId {
            dev: 4,
            ino: 4026532000,
        },
        pid: None,
        ifname: "eth0".into(),
        ifindex: 2,
        peer_ifindex: 7,
    }
}

fn link(index: u32, name: &str, kind: &str, master: Option<u32>) -> Link {
    Link {
        index,
        name: name.into(),
        kind: Some(LinkKind::from_kernel(kind)),
        mac: Some("6e:13:e8:42:bb:13".into()),
        mtu: 1500,
        oper_state: OperState::Up,
        admin_up: true,
        link: None,
        link_netnsid: None,
        master,
        hairpin: None,
        promiscuity: 0,
        tunnel: None,
    }
}

fn facts() -> (Result<PodFacts, String>, Result<NodeFacts, String>) {
    let gw = Ipv4Addr::new(10, 244, 1, 1);
    let pod = PodFacts {
        eth0: Some(link(2, "eth0", "veth", None)),
        addresses: vec![Address {
            ifindex: 2,
            ip: Ipv4Addr::new(10, 244, 1, 2),
            prefix_len: 24,
        }],
        gateway: Some(DefaultGateway {
            gateway: gw,
            oif: Some(2),
        }),
        gateway_neighbour: Some(Neighbour {
            ifindex: 2,
            ip: gw,
            mac: Some("aa:bb:cc:dd:ee:ff".into()),
            state: NeighbourState::Reachable,
        }),
    };
    let node = NodeFacts {
        links: vec![
            link(3, "cni0", "bridge", None),
            link(7, "veth81ebcd7c", "veth", Some(3)),
        ],
        addresses: vec![Address {
            ifindex: 3,
            ip: gw,
            prefix_len: 24,
        }],
    };
    (Ok(pod), Ok(node))
}

fn verdicts(p: &PodPath) -> Vec<(HopKind, Verdict, Option<Reason>)> {
    p.hops
        .iter()
        .map(|h| (h.kind.clone(), h.verdict, h.reason.clone()))
        .collect()
}

#[test]
fn a_healthy_bridged_pod_is_ok_on_every_hop() {
    let (p, n) = facts();
    let path = judge_pod("node-a", &pod(), &p, &n);
    assert_eq!(
        verdicts(&path),
        vec![
            (HopKind::PodInterface, Verdict::Ok, None),
            (HopKind::HostVeth, Verdict::Ok, None),
            (HopKind::Bridge, Verdict::Ok, None),
        ]
    );
    assert_eq!(
        path.hops[0].detail,
        "eth0@if7 10.244.1.2/24 mtu 1500 gw 10.244.1.1 (aa:bb:cc:dd:ee:ff REACHABLE) in /var/run/netns/cni-1"
    );
    assert_eq!(path.host_veth.as_deref(), Some("veth81ebcd7c"));
    assert_eq!(path.bridge.as_deref(), Some("cni0"));
    assert_eq!(path.pod_mtu, 1500);
}

#[test]
fn a_host_veth_set_down_fails_and_names_the_veth() {
    let (p, mut n) = facts();
    if let Ok(n) = &mut n {
        n.links[1].admin_up = false;
        n.links[1].oper_state = OperState::Down;
    }
    let path = judge_pod("node-a", &pod(), &p, &n);
    assert_eq!(path.hops[1].verdict, Verdict::Fail);
    assert_eq!(path.hops[1].reason.clone(), Some(Reason::HostVethDown));
    assert_eq!(
        path.hops[1].detail,
        "veth81ebcd7c, the node side of the pod's eth0, is down"
    );
}

#[test]
fn an_mtu_mismatch_warns() {
    let (p, mut n) = facts();
    if let Ok(n) = &mut n {
        n.links[1].mtu = 1450;
    }
    let path = judge_pod("node-a", &pod(), &p, &n);
    assert_eq!(
        (path.hops[1].verdict, path.hops[1].reason.clone()),
        (Verdict::Warn, Some(Reason::MtuMismatch))
    );
}

#[test]
fn a_bridge_set_down_fails() {
    let (p, mut n) = facts();
    if let Ok(n) = &mut n {
        n.links[0].admin_up = false;
        n.links[0].oper_state = OperState::Down;
    }
    let path = judge_pod("node-a", &pod(), &p, &n);
    assert_eq!(
        (path.hops[2].verdict, path.hops[2].reason.clone()),
        (Verdict::Fail, Some(Reason::BridgeDown))
    );
}

#[test]
fn a_routed_cni_has_no_bridge_and_that_is_fine() {
    let (p, mut n) = facts();
    if let Ok(n) = &mut n {
        n.links[1].master = None;
    }
    let path = judge_pod("node-a", &pod(), &p, &n);
    assert_eq!(path.hops[2].verdict, Verdict::Info);
    assert!(
        path.hops[2].detail.starts_with("none (routed)"),
        "{}",
        path.hops[2].detail
    );
    assert_eq!(path.bridge, None);
}

#[test]
fn a_missing_peer_or_default_route_fails() {
    let (mut p, mut n) = facts();
    if let Ok(n) = &mut n {
        n.links.remove(1);
    }
    if let Ok(p) = &mut p {
        p.gateway = None;
    }
    let path = judge_pod("node-a", &pod(), &p, &n);
    assert_eq!(
        verdicts(&path),
        vec![
            (
                HopKind::PodInterface,
                Verdict::Fail,
                Some(Reason::NoDefaultRoute)
            ),
            (
                HopKind::HostVeth,
                Verdict::Fail,
                Some(Reason::HostVethMissing)
            ),
        ]
    );
}

#[test]
fn an_unreadable_pod_namespace_fails_without_panicking() {
    let (_, n) = facts();
    let path = judge_pod("node-a", &pod(), &Err("gone".into()), &n);
    assert_eq!(
        (path.hops[0].verdict, path.hops[0].reason.clone()),
        (Verdict::Fail, Some(Reason::PodNetnsUnreadable))
    );
}
