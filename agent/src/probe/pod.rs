//! The pod's end of the path: its eth0, the veth peer on the node, and the bridge behind it.
//!
//! Automates the seed's manual steps: `ip a` inside the pod (`eth0@if4`), `ip a` on the node
//! to find interface 4 (`veth81ebcd7c@if5 ... link-netns cni-...`), `ip link show master`,
//! `ip route` and `ip neigh` in the pod for its gateway, and `cat /etc/resolv.conf`.
//! Reading is I/O; judging is the pure [`judge`] over the facts read.

use std::path::Path;

use netdiag_model::report::{
    BridgeDetail, HopDetail, HostVethDetail, PodInterfaceDetail, ResolvConf,
};
use netdiag_model::{Hop, HopKind, Verdict};

use crate::links::{Address, DefaultGateway, Link, Neighbour, Rtnl};
use crate::netns::discover::PodNetns;
use crate::netns::run_in;

/// The pod's part of the path, with what later probes need from it.
#[derive(Clone, Debug, PartialEq)]
pub struct PodPath {
    /// PodInterface, HostVeth, Bridge, in that order (fewer when a hop could not be found).
    pub hops: Vec<Hop>,
    pub resolv_conf: Option<ResolvConf>,
    /// The node side of the pod's veth (`veth81ebcd7c`, `cali...`).
    pub host_veth: Option<String>,
    /// The bridge the host veth is a port of (`cni0`); None for routed CNIs.
    pub bridge: Option<String>,
    pub pod_mtu: u32,
}

/// What was read inside the pod's namespace.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PodFacts {
    pub eth0: Option<Link>,
    pub addresses: Vec<Address>,
    pub gateway: Option<DefaultGateway>,
    pub gateway_neighbour: Option<Neighbour>,
}

/// What was read in the node's namespace (the caller's).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct NodeFacts {
    pub links: Vec<Link>,
    pub addresses: Vec<Address>,
}

/// Follow the pod's eth0 to the node: run from the node's namespace.
pub fn trace_pod(node: &str, pod: &PodNetns, proc: &Path) -> PodPath {
    let pod_facts = read_pod(pod);
    let node_facts = read_node();
    let mut path = judge(node, pod, &pod_facts, &node_facts);
    path.resolv_conf = pod
        .pid
        .and_then(|pid| crate::resolv::read_pod_resolv(proc, pid));
    if let (
        Some(rc),
        Some(Hop {
            details: Some(HopDetail::PodInterface(d)),
            ..
        }),
    ) = (&path.resolv_conf, path.hops.first_mut())
    {
        d.resolv_conf = Some(rc.clone());
    }
    path
}

/// Read eth0, its addresses, the default gateway and its neighbour entry, like `ip a`,
/// `ip route` and `ip neigh` inside the pod. The error text says which step failed.
pub fn read_pod(pod: &PodNetns) -> Result<PodFacts, String> {
    let mut rtnl = run_in(&pod.path, Rtnl::open)
        .map_err(|e| e.to_string())?
        .map_err(|e| format!("in {}: {e}", pod.label))?;
    let in_pod = |e: crate::links::LinksError| format!("in {}: {e}", pod.label);
    let eth0 = rtnl
        .links()
        .map_err(in_pod)?
        .into_iter()
        .find(|l| l.index == pod.ifindex);
    let addresses = rtnl
        .addresses()
        .map_err(in_pod)?
        .into_iter()
        .filter(|a| a.ifindex == pod.ifindex)
        .collect();
    let gateway = rtnl.default_gateway().map_err(in_pod)?;
    let gateway_neighbour = match gateway {
        Some(gw) => rtnl
            .neighbours()
            .map_err(in_pod)?
            .into_iter()
            .find(|n| n.ip == gw.gateway),
        None => None,
    };
    Ok(PodFacts {
        eth0,
        addresses,
        gateway,
        gateway_neighbour,
    })
}

/// Read the node namespace's links and addresses, like `ip -d link` and `ip -4 addr`.
pub fn read_node() -> Result<NodeFacts, String> {
    let mut rtnl = Rtnl::open().map_err(|e| format!("in the node namespace: {e}"))?;
    let links = rtnl
        .links()
        .map_err(|e| format!("in the node namespace: {e}"))?;
    let addresses = rtnl
        .addresses()
        .map_err(|e| format!("in the node namespace: {e}"))?;
    Ok(NodeFacts { links, addresses })
}

/// Judge the facts: pure, so every verdict is tested without root.
pub fn judge(
    node: &str,
    pod: &PodNetns,
    pod_facts: &Result<PodFacts, String>,
    node_facts: &Result<NodeFacts, String>,
) -> PodPath {
    let mut path = PodPath {
        hops: Vec::new(),
        resolv_conf: None,
        host_veth: None,
        bridge: None,
        pod_mtu: 0,
    };
    path.hops
        .push(pod_interface_hop(node, pod, pod_facts, &mut path.pod_mtu));
    let node_facts = match node_facts {
        Ok(f) => f,
        Err(e) => {
            path.hops.push(
                Hop::new(
                    node,
                    HopKind::HostVeth,
                    format!("if{}", pod.peer_ifindex),
                    Verdict::Warn,
                    format!(
                        "cannot read the node's links to find interface {}: {e}",
                        pod.peer_ifindex
                    ),
                )
                .with_reason("NodeLinksUnreadable"),
            );
            return path;
        }
    };
    let Some(veth) = node_facts
        .links
        .iter()
        .find(|l| l.index == pod.peer_ifindex)
    else {
        path.hops.push(
            Hop::new(
                node,
                HopKind::HostVeth,
                format!("if{}", pod.peer_ifindex),
                Verdict::Fail,
                format!(
                    "{node} has no interface {} for the pod's {}@if{}: the veth pair is broken",
                    pod.peer_ifindex, pod.ifname, pod.peer_ifindex
                ),
            )
            .with_reason("HostVethMissing"),
        );
        return path;
    };
    path.host_veth = Some(veth.name.clone());
    path.hops.push(host_veth_hop(node, pod, veth, path.pod_mtu));
    let (hop, bridge) = bridge_hop(node, veth, node_facts);
    path.bridge = bridge;
    path.hops.push(hop);
    path
}

fn pod_interface_hop(
    node: &str,
    pod: &PodNetns,
    facts: &Result<PodFacts, String>,
    mtu: &mut u32,
) -> Hop {
    let facts = match facts {
        Ok(f) => f,
        Err(e) => {
            return Hop::new(
                node,
                HopKind::PodInterface,
                pod.ifname.clone(),
                Verdict::Fail,
                format!("cannot read the pod's interfaces: {e}"),
            )
            .with_reason("PodNetnsUnreadable");
        }
    };
    let Some(eth0) = &facts.eth0 else {
        return Hop::new(
            node,
            HopKind::PodInterface,
            pod.ifname.clone(),
            Verdict::Fail,
            format!(
                "{} (ifindex {}) vanished from {}: is the pod being deleted?",
                pod.ifname, pod.ifindex, pod.label
            ),
        )
        .with_reason("PodInterfaceMissing");
    };
    *mtu = eth0.mtu;
    let addrs: Vec<String> = facts.addresses.iter().map(ToString::to_string).collect();
    let neighbour = facts
        .gateway_neighbour
        .as_ref()
        .map(|n| format!("{} {}", n.mac.as_deref().unwrap_or("no-mac"), n.state));
    let gw_text = match (&facts.gateway, &neighbour) {
        (Some(gw), Some(n)) => format!(" gw {} ({n})", gw.gateway),
        (Some(gw), None) => format!(" gw {} (no neighbour entry yet)", gw.gateway),
        (None, _) => " no default route".to_string(),
    };
    let detail = format!(
        "{}@if{} {} mtu {}{} in {}",
        eth0.name,
        pod.peer_ifindex,
        addrs.join(","),
        eth0.mtu,
        gw_text,
        pod.label
    );
    let details = HopDetail::PodInterface(PodInterfaceDetail {
        netns: pod.label.clone(),
        ifname: eth0.name.clone(),
        ifindex: eth0.index,
        mac: eth0.mac.clone().unwrap_or_default(),
        addresses: addrs,
        mtu: eth0.mtu,
        peer_ifindex: Some(pod.peer_ifindex),
        gateway: facts.gateway.map(|g| g.gateway.to_string()),
        gateway_neighbor: neighbour,
        resolv_conf: None,
    });
    let hop = |verdict, text: String| {
        Hop::new(
            node,
            HopKind::PodInterface,
            eth0.name.clone(),
            verdict,
            text,
        )
        .with_details(details.clone())
    };
    if !eth0.admin_up {
        return hop(
            Verdict::Fail,
            format!(
                "{} in {} is down (ip link set {} up)",
                eth0.name, pod.label, eth0.name
            ),
        )
        .with_reason("PodInterfaceDown");
    }
    if !eth0.is_usable() {
        // The peer being down shows here as no carrier; the HostVeth hop names the cause.
        return hop(
            Verdict::Warn,
            format!(
                "{detail}: no carrier ({}), its node-side peer is down",
                eth0.oper_state
            ),
        )
        .with_reason("PodInterfaceNoCarrier");
    }
    if facts.gateway.is_none() {
        return hop(Verdict::Fail, format!("{detail}: without a default route the pod reaches only its own subnet, not Services or other nodes"))
            .with_reason("NoDefaultRoute");
    }
    if let Some(n) = &facts.gateway_neighbour
        && matches!(n.state.as_str(), "FAILED" | "INCOMPLETE")
    {
        return hop(
            Verdict::Warn,
            format!("{detail}: the gateway does not answer ARP"),
        )
        .with_reason("GatewayUnresolved");
    }
    hop(Verdict::Ok, detail)
}

fn host_veth_hop(node: &str, pod: &PodNetns, veth: &Link, pod_mtu: u32) -> Hop {
    let details = HopDetail::HostVeth(HostVethDetail {
        name: veth.name.clone(),
        ifindex: veth.index,
        oper_state: veth.oper_state.clone(),
        mtu: veth.mtu,
        pod_mtu,
    });
    let hop = |verdict, text: String| {
        Hop::new(node, HopKind::HostVeth, veth.name.clone(), verdict, text)
            .with_details(details.clone())
    };
    if !veth.admin_up || veth.oper_state == "down" {
        return hop(
            Verdict::Fail,
            format!(
                "{}, the node side of the pod's {}, is down",
                veth.name, pod.ifname
            ),
        )
        .with_reason("HostVethDown");
    }
    if !veth.is_usable() {
        return hop(
            Verdict::Fail,
            format!(
                "{}, the node side of the pod's {}, has no carrier ({}): the pod's {} is down",
                veth.name, pod.ifname, veth.oper_state, pod.ifname
            ),
        )
        .with_reason("HostVethDown");
    }
    if pod_mtu != 0 && veth.mtu != pod_mtu {
        return hop(Verdict::Warn, format!("{} mtu {} differs from the pod's {} mtu {}: packets larger than the smaller one are dropped", veth.name, veth.mtu, pod.ifname, pod_mtu))
            .with_reason("MtuMismatch");
    }
    hop(
        Verdict::Ok,
        format!(
            "{}@if{} {} mtu {}, the node side of the pod's {}",
            veth.name, pod.ifindex, veth.oper_state, veth.mtu, pod.ifname
        ),
    )
}

fn bridge_hop(node: &str, veth: &Link, facts: &NodeFacts) -> (Hop, Option<String>) {
    let master = veth
        .master
        .and_then(|m| facts.links.iter().find(|l| l.index == m));
    let Some(master) = master else {
        let hop = Hop::new(
            node,
            HopKind::Bridge,
            "none",
            Verdict::Info,
            format!(
                "none (routed): {} is no bridge port, the node routes the pod's traffic",
                veth.name
            ),
        )
        .with_details(HopDetail::Bridge(BridgeDetail::default()));
        return (hop, None);
    };
    let addresses: Vec<String> = facts
        .addresses
        .iter()
        .filter(|a| a.ifindex == master.index)
        .map(ToString::to_string)
        .collect();
    let details = HopDetail::Bridge(BridgeDetail {
        name: Some(master.name.clone()),
        ifindex: Some(master.index),
        addresses: addresses.clone(),
        oper_state: Some(master.oper_state.clone()),
    });
    let kind = master.kind.clone().unwrap_or_else(|| "device".into());
    if kind != "bridge" {
        let hop = Hop::new(
            node,
            HopKind::Bridge,
            master.name.clone(),
            Verdict::Info,
            format!(
                "{} is a port of {} ({kind}), not of a bridge",
                veth.name, master.name
            ),
        )
        .with_details(details);
        return (hop, None);
    }
    let hop = if !master.is_usable() {
        Hop::new(
            node,
            HopKind::Bridge,
            master.name.clone(),
            Verdict::Fail,
            format!(
                "bridge {} is {}: pods on it reach nothing off the bridge",
                master.name,
                if master.admin_up {
                    master.oper_state.as_str()
                } else {
                    "down"
                }
            ),
        )
        .with_reason("BridgeDown")
    } else {
        let addr_text = if addresses.is_empty() {
            String::new()
        } else {
            format!(" {}", addresses.join(","))
        };
        Hop::new(
            node,
            HopKind::Bridge,
            master.name.clone(),
            Verdict::Ok,
            format!(
                "bridge {}{addr_text} (state {}), {} is a port",
                master.name, master.oper_state, veth.name
            ),
        )
    };
    (hop.with_details(details), Some(master.name.clone()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::netns::NsId;
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
            kind: Some(kind.into()),
            mac: Some("6e:13:e8:42:bb:13".into()),
            mtu: 1500,
            oper_state: "up".into(),
            admin_up: true,
            link: None,
            link_netnsid: None,
            master,
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
                state: "REACHABLE".into(),
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

    fn verdicts(p: &PodPath) -> Vec<(HopKind, Verdict, Option<&str>)> {
        p.hops
            .iter()
            .map(|h| (h.kind, h.verdict, h.reason.as_deref()))
            .collect()
    }

    #[test]
    fn a_healthy_bridged_pod_is_ok_on_every_hop() {
        let (p, n) = facts();
        let path = judge("node-a", &pod(), &p, &n);
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
            n.links[1].oper_state = "down".into();
        }
        let path = judge("node-a", &pod(), &p, &n);
        assert_eq!(path.hops[1].verdict, Verdict::Fail);
        assert_eq!(path.hops[1].reason.as_deref(), Some("HostVethDown"));
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
        let path = judge("node-a", &pod(), &p, &n);
        assert_eq!(
            (path.hops[1].verdict, path.hops[1].reason.as_deref()),
            (Verdict::Warn, Some("MtuMismatch"))
        );
    }

    #[test]
    fn a_bridge_set_down_fails() {
        let (p, mut n) = facts();
        if let Ok(n) = &mut n {
            n.links[0].admin_up = false;
            n.links[0].oper_state = "down".into();
        }
        let path = judge("node-a", &pod(), &p, &n);
        assert_eq!(
            (path.hops[2].verdict, path.hops[2].reason.as_deref()),
            (Verdict::Fail, Some("BridgeDown"))
        );
    }

    #[test]
    fn a_routed_cni_has_no_bridge_and_that_is_fine() {
        let (p, mut n) = facts();
        if let Ok(n) = &mut n {
            n.links[1].master = None;
        }
        let path = judge("node-a", &pod(), &p, &n);
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
        let path = judge("node-a", &pod(), &p, &n);
        assert_eq!(
            verdicts(&path),
            vec![
                (HopKind::PodInterface, Verdict::Fail, Some("NoDefaultRoute")),
                (HopKind::HostVeth, Verdict::Fail, Some("HostVethMissing")),
            ]
        );
    }

    #[test]
    fn an_unreadable_pod_namespace_fails_without_panicking() {
        let (_, n) = facts();
        let path = judge("node-a", &pod(), &Err("gone".into()), &n);
        assert_eq!(
            (path.hops[0].verdict, path.hops[0].reason.as_deref()),
            (Verdict::Fail, Some("PodNetnsUnreadable"))
        );
    }
}
