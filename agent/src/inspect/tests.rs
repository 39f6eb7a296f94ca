//! The pure join over hand-built node and namespace facts, shaped like the seeds' kind node:
//! `veth81ebcd7c@if5` on the node, `eth0@if4` in the pod.

use std::collections::HashSet;
use std::net::Ipv4Addr;

use netdiag_model::inspect::{Attachment, FindingKind, NetnsIdentity, NsProcess};

use super::join::{NodeSide, NsFacts, join, leads_here};
use crate::kernel::rtnl::{Address, DefaultGateway, Link, LinkKind, OperState};

fn link(index: u32, name: &str, kind: LinkKind) -> Link {
    Link {
        mac: Some("3a:f7:b7:a1:56:ac".into()),
        ..Link::new(index, name, Some(kind))
    }
}

fn veth(index: u32, name: &str, peer: u32, nsid: i32, master: Option<u32>) -> Link {
    Link {
        link: Some(peer),
        link_netnsid: Some(nsid),
        master,
        ..link(index, name, LinkKind::Veth)
    }
}

fn addr(ifindex: u32, ip: [u8; 4], prefix_len: u8) -> Address {
    Address {
        ifindex,
        ip: Ipv4Addr::from(ip),
        prefix_len,
    }
}

/// A node with `cni0` (3), its uplink `eth0` (2, towards nsid 0) and one veth per pod:
/// veth `10 + i` leads to nsid `i + 1`.
fn node(pods: usize) -> NodeSide {
    let mut links = vec![
        veth(2, "eth0", 99, 0, None),
        link(3, "cni0", LinkKind::Bridge),
    ];
    for i in 0..pods as u32 {
        links.push(veth(
            10 + i,
            &format!("veth{i:08x}"),
            2,
            i as i32 + 1,
            Some(3),
        ));
    }
    NodeSide {
        links,
        addresses: vec![addr(2, [172, 18, 0, 2], 16), addr(3, [10, 244, 1, 1], 24)],
    }
}

/// Pod `i`: eth0 (ifindex 2) paired with node veth `10 + i`, at 10.244.1.(2 + i), one pause.
fn pod(i: u32) -> NsFacts {
    NsFacts {
        identity: NetnsIdentity {
            path: format!("/var/run/netns/cni-{i}"),
            name: Some(format!("cni-{i}")),
            dev: 4,
            inode: 1000 + u64::from(i),
        },
        processes: vec![NsProcess {
            pid: 100 + i,
            comm: "pause".into(),
            start_ticks: 5,
        }],
        node_nsid: Some(i as i32 + 1),
        nsid_of_node: Some(0),
        links: vec![
            link(1, "lo", LinkKind::Other("loopback".into())),
            veth(2, "eth0", 10 + i, 0, None),
        ],
        addresses: vec![addr(2, [10, 244, 1, 2 + i as u8], 24)],
        gateway: Some(DefaultGateway {
            gateway: Ipv4Addr::new(10, 244, 1, 1),
            oif: Some(2),
        }),
        resolv_conf: None,
    }
}

fn known(n: usize) -> HashSet<i32> {
    (0..=n as i32).collect()
}

#[test]
fn each_pod_namespace_is_mapped_to_its_host_veth_and_bridge() {
    let (pods, findings) = join(&node(2), vec![pod(0), pod(1)], &known(2));
    assert!(findings.is_empty(), "{findings:?}");
    assert_eq!(pods.len(), 2);
    let p = &pods[1];
    let eth0 = p.eth0.as_ref().expect("eth0");
    assert_eq!((eth0.ifindex, eth0.peer_ifindex), (2, 11));
    assert_eq!(eth0.addresses, ["10.244.1.3/24"]);
    assert_eq!(eth0.gateway.as_deref(), Some("10.244.1.1"));
    let host = p.host_veth.as_ref().expect("host veth");
    assert_eq!((host.name.as_str(), host.ifindex), ("veth00000001", 11));
    assert_eq!(
        p.attachment,
        Some(Attachment::Bridge {
            name: "cni0".into()
        })
    );
    assert_eq!(p.holder().map(|h| h.pid), Some(101));
}

#[test]
fn a_host_veth_without_a_bridge_is_routed() {
    let mut n = node(1);
    n.links[2].master = None;
    let (pods, _) = join(&n, vec![pod(0)], &known(1));
    assert_eq!(pods[0].attachment, Some(Attachment::Routed));
}

#[test]
fn a_namespace_without_an_eth0_to_this_node_is_no_pod() {
    // The lab's node network: its veth to the node is `node0`, not eth0.
    let mut other = pod(0);
    other.links[1].name = "node0".into();
    // A pod whose eth0 leads to another node (its link-netnsid names another namespace).
    let mut elsewhere = pod(1);
    elsewhere.nsid_of_node = Some(5);
    let (pods, findings) = join(&node(2), vec![other, elsewhere], &known(2));
    assert!(pods.is_empty(), "{pods:?}");
    assert!(findings.is_empty(), "{findings:?}");
}

#[test]
fn a_namespace_no_process_lives_in_is_leaked() {
    let mut leaked = pod(0);
    leaked.processes.clear();
    let (pods, findings) = join(&node(1), vec![leaked], &known(1));
    assert!(pods[0].holder().is_none());
    assert_eq!(
        findings.iter().map(|f| &f.kind).collect::<Vec<_>>(),
        [&FindingKind::LeakedNamespace {
            netns: "cni-0".into()
        }]
    );
}

#[test]
fn a_host_veth_that_is_down_is_flagged_with_its_namespace() {
    let mut n = node(1);
    n.links[2].admin_up = false;
    n.links[2].oper_state = OperState::Down;
    let (pods, findings) = join(&n, vec![pod(0)], &known(1));
    assert!(!pods[0].host_veth.as_ref().expect("veth").up);
    assert_eq!(
        findings[0].kind,
        FindingKind::VethDown {
            veth: "veth00000000".into(),
            netns: "cni-0".into()
        }
    );
}

#[test]
fn two_namespaces_holding_one_ip_are_flagged_once() {
    let mut twin = pod(1);
    twin.addresses = vec![addr(2, [10, 244, 1, 2], 24)];
    let (_, findings) = join(&node(2), vec![pod(0), twin], &known(2));
    assert_eq!(
        findings.iter().map(|f| &f.kind).collect::<Vec<_>>(),
        [&FindingKind::DuplicateIp {
            ip: "10.244.1.2".into(),
            netns: vec!["cni-0".into(), "cni-1".into()]
        }]
    );
}

#[test]
fn a_veth_into_an_unknown_namespace_dangles_but_the_uplink_does_not() {
    // veth 11 leads to nsid 2, which no path names; eth0 leads to nsid 0, outside the node.
    let mut ids = known(1);
    ids.remove(&0);
    let (_, findings) = join(&node(2), vec![pod(0)], &ids);
    assert_eq!(
        findings.iter().map(|f| &f.kind).collect::<Vec<_>>(),
        [&FindingKind::DanglingVeth {
            veth: "veth00000001".into(),
            ifindex: 11
        }]
    );
}

#[test]
fn only_namespaces_a_node_veth_leads_to_are_entered() {
    let n = node(1);
    assert!(leads_here(&n, Some(1)));
    assert!(!leads_here(&n, Some(7)));
    assert!(!leads_here(&n, None));
}

#[test]
fn a_synthetic_node_of_250_pods_joins_every_namespace_without_findings() {
    let n = super::synthetic::node_with_pods(250);
    let (pods, findings) = join(&n.node, n.namespaces, &n.known_nsids);
    assert_eq!(pods.len(), 250);
    assert!(findings.is_empty(), "{findings:?}");
    assert_eq!(
        pods[249].host_veth.as_ref().map(|v| v.ifindex),
        pods[249].eth0.as_ref().map(|e| e.peer_ifindex)
    );
}
