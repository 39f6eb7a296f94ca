//! A node of N pods as plain facts, shaped like a real node (a `cni0` bridge, an uplink, one
//! veth per pod and one pause per namespace): the input of the join benchmark, and of tests
//! that need scale rather than a particular fault.

use std::collections::HashSet;
use std::net::Ipv4Addr;

use netdiag_model::inspect::{NetnsIdentity, NsProcess};

use super::join::{NodeSide, NsFacts};
use crate::kernel::rtnl::{Address, DefaultGateway, Link, LinkKind};

/// What [`super::join::join`] takes.
pub struct SyntheticNode {
    pub node: NodeSide,
    pub namespaces: Vec<NsFacts>,
    pub known_nsids: HashSet<i32>,
}

fn link(index: u32, name: String, kind: LinkKind) -> Link {
    Link {
        mac: Some(format!(
            "0a:58:0a:f4:{:02x}:{:02x}",
            index >> 8,
            index & 0xff
        )),
        ..Link::new(index, &name, Some(kind))
    }
}

/// `pods` pod namespaces (at most 65,000), each with `eth0` on 10.<i>/16, its veth on the node a
/// `cni0` port, one pause process, a default route via the bridge.
pub fn node_with_pods(pods: u32) -> SyntheticNode {
    let gateway = Ipv4Addr::new(10, 244, 0, 1);
    let mut links = vec![
        Link {
            link: Some(99),
            link_netnsid: Some(0),
            ..link(2, "eth0".into(), LinkKind::Veth)
        },
        link(3, "cni0".into(), LinkKind::Bridge),
    ];
    let mut namespaces = Vec::with_capacity(pods as usize);
    for i in 0..pods {
        let (host_index, nsid) = (10 + i, i as i32 + 1);
        links.push(Link {
            link: Some(2),
            link_netnsid: Some(nsid),
            master: Some(3),
            ..link(host_index, format!("veth{i:08x}"), LinkKind::Veth)
        });
        let ip = Ipv4Addr::from(u32::from(Ipv4Addr::new(10, 244, 0, 2)) + i);
        namespaces.push(NsFacts {
            identity: NetnsIdentity {
                path: format!("/var/run/netns/cni-{i:08x}"),
                name: Some(format!("cni-{i:08x}")),
                dev: 4,
                inode: 4_026_532_000 + u64::from(i),
            },
            processes: vec![NsProcess {
                pid: 1000 + i,
                comm: "pause".into(),
                start_ticks: u64::from(i),
            }],
            node_nsid: Some(nsid),
            nsid_of_node: Some(0),
            links: vec![
                link(1, "lo".into(), LinkKind::Other("loopback".into())),
                Link {
                    link: Some(host_index),
                    link_netnsid: Some(0),
                    ..link(2, "eth0".into(), LinkKind::Veth)
                },
            ],
            addresses: vec![Address {
                ifindex: 2,
                ip,
                prefix_len: 16,
            }],
            gateway: Some(DefaultGateway {
                gateway,
                oif: Some(2),
            }),
            resolv_conf: None,
        });
    }
    SyntheticNode {
        node: NodeSide {
            links,
            addresses: vec![
                Address {
                    ifindex: 2,
                    ip: Ipv4Addr::new(172, 18, 0, 2),
                    prefix_len: 16,
                },
                Address {
                    ifindex: 3,
                    ip: gateway,
                    prefix_len: 16,
                },
            ],
        },
        known_nsids: (0..=pods as i32).collect(),
        namespaces,
    }
}
