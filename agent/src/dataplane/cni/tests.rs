//! Table tests from the shapes the CNIs leave on a node (`ip -d link`, `ip route`,
//! `/etc/cni/net.d`), as dataplane.md section 5 and the CNIs' own sources write them.

use std::net::Ipv4Addr;

use netdiag_model::inspect::CniVariant;

use super::*;
use crate::kernel::rtnl::RouteKind;
use crate::kernel::rtnl::tunnel::TunnelConfig;

pub(super) fn link(index: u32, name: &str, kind: LinkKind) -> Link {
    Link::new(index, name, Some(kind))
}

pub(super) fn port(index: u32, name: &str, master: u32) -> Link {
    Link {
        master: Some(master),
        ..link(index, name, LinkKind::Veth)
    }
}

fn vxlan(index: u32, name: &str, vni: u32, port: u16) -> Link {
    Link {
        tunnel: Some(TunnelConfig::Vxlan {
            vni: Some(vni),
            port: Some(port),
            local: Some(Ipv4Addr::new(172, 18, 0, 2)),
            underlay: Some(2),
            learning: Some(false),
        }),
        ..link(index, name, LinkKind::Vxlan)
    }
}

fn ipip(index: u32, name: &str) -> Link {
    Link {
        tunnel: Some(TunnelConfig::IpIp {
            local: None,
            remote: None,
            underlay: None,
        }),
        ..link(index, name, LinkKind::IpIp)
    }
}

/// `A.B.C.D/len [via G] dev OIF [proto P] [onlink]`.
pub(super) fn route(
    dst: [u8; 4],
    len: u8,
    via: Option<[u8; 4]>,
    oif: u32,
    proto: u8,
    onlink: bool,
) -> Route {
    Route {
        gateway: via.map(Ipv4Addr::from),
        oif: Some(oif),
        protocol: proto,
        onlink,
        ..Route::new(Ipv4Addr::from(dst), len)
    }
}

pub(super) fn host_route(ip: [u8; 4], oif: u32) -> Route {
    route(ip, 32, None, oif, 3, false)
}

const BIRD: u8 = 12;
const KUBE_ROUTER: u8 = 17;

pub(super) fn eth0() -> Link {
    link(2, "eth0", LinkKind::Veth)
}

fn config(file: &str, json: &str) -> CniConfig {
    CniConfig::parse(file, json.as_bytes())
}

pub(super) fn flannel_conflist() -> CniConfig {
    config(
        "10-flannel.conflist",
        r#"{"name":"cbr0","cniVersion":"0.3.1","plugins":[{"type":"flannel","delegate":{"hairpinMode":true,"isDefaultGateway":true}},{"type":"portmap","capabilities":{"portMappings":true}}]}"#,
    )
}

struct Case {
    what: &'static str,
    links: Vec<Link>,
    routes: Vec<Route>,
    configs: Vec<CniConfig>,
    name: &'static str,
    variant: Option<CniVariant>,
    /// Evidence lines that must be there (each a substring of one line).
    evidence: &'static [&'static str],
}

fn cases() -> Vec<Case> {
    let cni0 = || link(3, "cni0", LinkKind::Bridge);
    let via_node = |proto| route([10, 244, 2, 0], 24, Some([172, 18, 0, 3]), 2, proto, false);
    vec![
        Case {
            what: "flannel vxlan: flannel.1 VNI 1 port 8472, routes via it onlink",
            links: vec![
                eth0(),
                cni0(),
                vxlan(4, "flannel.1", 1, 8472),
                port(5, "veth1a2b3c4d", 3),
            ],
            routes: vec![
                route([10, 244, 1, 0], 24, None, 3, 2, false),
                route([10, 244, 2, 0], 24, Some([10, 244, 2, 0]), 4, 3, true),
            ],
            configs: vec![flannel_conflist()],
            name: "flannel",
            variant: Some(CniVariant::Vxlan),
            evidence: &[
                "flannel.1 (vxlan VNI 1, port 8472)",
                "1 route via flannel.1 (10.244.2.0/24 via 10.244.2.0 dev flannel.1 onlink)",
                "cni0 (bridge)",
                "/etc/cni/net.d/10-flannel.conflist (flannel, portmap)",
            ],
        },
        Case {
            what: "flannel host-gw: its config, routes via the node IPs, no flannel.1",
            links: vec![eth0(), cni0(), port(5, "veth1a2b3c4d", 3)],
            routes: vec![via_node(3)],
            configs: vec![flannel_conflist()],
            name: "flannel",
            variant: Some(CniVariant::HostGw),
            evidence: &[
                "1 route to other pod CIDRs via node IPs (10.244.2.0/24 via 172.18.0.3 dev eth0)",
            ],
        },
        Case {
            what: "the bridge plugin: the same links and routes without flannel's file",
            links: vec![eth0(), cni0(), port(5, "veth1a2b3c4d", 3)],
            routes: vec![via_node(3)],
            configs: vec![config(
                "10-bridge.conflist",
                r#"{"cniVersion":"0.4.0","name":"lab","plugins":[{"type":"bridge","bridge":"cni0","isGateway":true,"ipam":{"type":"host-local"}}]}"#,
            )],
            name: "bridge",
            variant: None,
            evidence: &[
                "cni0 (bridge)",
                "via node IPs",
                "10-bridge.conflist (bridge)",
            ],
        },
        Case {
            what: "Calico routed (BGP): cali* /32 routes, routes via node IPs proto bird",
            links: vec![
                eth0(),
                link(5, "cali573926084b2", LinkKind::Veth),
                ipip(9, "tunl0"),
            ],
            routes: vec![
                route([10, 244, 208, 1], 32, None, 5, 3, false),
                Route {
                    kind: RouteKind::Blackhole,
                    protocol: BIRD,
                    ..Route::new(Ipv4Addr::new(10, 244, 208, 0), 26)
                },
                route([10, 244, 209, 0], 26, Some([172, 18, 0, 3]), 2, BIRD, false),
            ],
            configs: vec![config(
                "10-calico.conflist",
                r#"{"name":"k8s-pod-network","cniVersion":"0.3.1","plugins":[{"type":"calico","datastore_type":"kubernetes","ipam":{"type":"calico-ipam"}},{"type":"bandwidth"},{"type":"portmap"}]}"#,
            )],
            name: "calico",
            variant: Some(CniVariant::Routed),
            evidence: &[
                "1 cali* veths with a /32 route each",
                "10.244.209.0/26 via 172.18.0.3 dev eth0 proto bird",
                "blackhole 10.244.208.0/26 proto bird",
                "10-calico.conflist (calico, bandwidth, portmap)",
            ],
        },
        Case {
            what: "Calico IP-in-IP: routes via tunl0 onlink",
            links: vec![
                eth0(),
                link(5, "cali573926084b2", LinkKind::Veth),
                ipip(9, "tunl0"),
            ],
            routes: vec![
                host_route([10, 244, 208, 1], 5),
                route([10, 244, 209, 0], 26, Some([172, 18, 0, 3]), 9, BIRD, true),
            ],
            configs: vec![],
            name: "calico",
            variant: Some(CniVariant::IpIp),
            evidence: &[
                "tunl0 (ipip)",
                "10.244.209.0/26 via 172.18.0.3 dev tunl0 proto bird onlink",
            ],
        },
        Case {
            what: "Calico VXLAN: vxlan.calico VNI 4096 port 4789 (tunl0 left idle)",
            links: vec![
                eth0(),
                link(5, "cali573926084b2", LinkKind::Veth),
                ipip(9, "tunl0"),
                vxlan(10, "vxlan.calico", 4096, 4789),
            ],
            routes: vec![
                host_route([10, 244, 208, 1], 5),
                route(
                    [10, 244, 209, 0],
                    26,
                    Some([10, 244, 209, 192]),
                    10,
                    3,
                    true,
                ),
            ],
            configs: vec![],
            name: "calico",
            variant: Some(CniVariant::Vxlan),
            evidence: &[
                "vxlan.calico (vxlan VNI 4096, port 4789)",
                "via vxlan.calico",
            ],
        },
        Case {
            what: "Cilium VXLAN: cilium_host, cilium_vxlan, lxc* veths",
            links: vec![
                eth0(),
                link(3, "cilium_net", LinkKind::Veth),
                link(4, "cilium_host", LinkKind::Veth),
                vxlan(5, "cilium_vxlan", 0, 8472),
                link(6, "lxc1a2b3c4d5e6f", LinkKind::Veth),
            ],
            routes: vec![route([10, 0, 1, 0], 24, Some([10, 0, 0, 12]), 4, 3, false)],
            configs: vec![config(
                "05-cilium.conflist",
                r#"{"cniVersion":"0.3.1","name":"cilium","plugins":[{"type":"cilium-cni","enable-debug":false}]}"#,
            )],
            name: "cilium",
            variant: Some(CniVariant::Vxlan),
            evidence: &[
                "cilium_host (veth)",
                "cilium_vxlan (vxlan VNI 0, port 8472)",
                "05-cilium.conflist (cilium-cni)",
            ],
        },
        Case {
            what: "Cilium Geneve",
            links: vec![
                link(4, "cilium_host", LinkKind::Veth),
                link(5, "cilium_geneve", LinkKind::Geneve),
            ],
            routes: vec![],
            configs: vec![],
            name: "cilium",
            variant: Some(CniVariant::Geneve),
            evidence: &["cilium_geneve (geneve)"],
        },
        Case {
            what: "Cilium native routing: no tunnel device",
            links: vec![
                link(4, "cilium_host", LinkKind::Veth),
                link(3, "cilium_net", LinkKind::Veth),
            ],
            routes: vec![],
            configs: vec![],
            name: "cilium",
            variant: Some(CniVariant::Routed),
            evidence: &["cilium_host (veth)", "cilium_net (veth)"],
        },
        Case {
            what: "kube-router: kube-bridge, BGP routes proto 17, tun-* IP-in-IP",
            links: vec![
                eth0(),
                link(3, "kube-bridge", LinkKind::Bridge),
                port(5, "veth1a2b3c4d", 3),
                ipip(7, "tun-17218010-4"),
            ],
            routes: vec![via_node(KUBE_ROUTER)],
            configs: vec![config(
                "10-kuberouter.conflist",
                r#"{"cniVersion":"0.3.0","name":"mynet","plugins":[{"bridge":"kube-bridge","ipam":{"type":"host-local"},"isDefaultGateway":true,"name":"kubernetes","type":"bridge"},{"type":"portmap"}]}"#,
            )],
            name: "kube-router",
            variant: Some(CniVariant::Routed),
            evidence: &[
                "kube-bridge (bridge)",
                "dev eth0 proto 17",
                "tun-17218010-4 (ipip)",
            ],
        },
        Case {
            what: "kindnet: bridgeless veths with a /32 scope host route each",
            links: vec![eth0(), link(4, "veth81ebcd7c", LinkKind::Veth)],
            routes: vec![host_route([10, 244, 2, 2], 4), via_node(3)],
            configs: vec![config(
                "10-kindnet.conflist",
                r#"{"cniVersion":"0.4.0","name":"kindnet","plugins":[{"type":"cni-kindnet","capabilities":{"portMappings":true}}]}"#,
            )],
            name: "kindnet",
            variant: None,
            evidence: &[
                "1 bridgeless veths with a /32 route each",
                "10-kindnet.conflist (cni-kindnet)",
            ],
        },
        Case {
            what: "kindnet before its first pod: only its config file tells",
            links: vec![eth0()],
            routes: vec![via_node(3)],
            configs: vec![config(
                "10-kindnet.conflist",
                r#"{"cniVersion":"0.3.1","name":"kindnet","plugins":[{"type":"ptp","ipam":{"type":"host-local"}},{"type":"portmap"}]}"#,
            )],
            name: "kindnet",
            variant: None,
            evidence: &["10-kindnet.conflist (ptp, portmap)"],
        },
        Case {
            what: "Docker's docker0",
            links: vec![eth0(), link(3, "docker0", LinkKind::Bridge)],
            routes: vec![route([172, 17, 0, 0], 16, None, 3, 2, false)],
            configs: vec![],
            name: "docker",
            variant: None,
            evidence: &["docker0 (bridge)"],
        },
        Case {
            what: "weave",
            links: vec![eth0(), link(3, "weave", LinkKind::Bridge)],
            routes: vec![],
            configs: vec![],
            name: "weave",
            variant: None,
            evidence: &["weave (bridge)"],
        },
        Case {
            what: "unknown: what was seen is the evidence",
            links: vec![
                eth0(),
                link(3, "br-lan", LinkKind::Bridge),
                port(5, "vethA", 3),
                link(6, "vethB", LinkKind::Veth),
            ],
            routes: vec![],
            configs: vec![config("99-junk.conf", "not json")],
            name: "unknown",
            variant: None,
            evidence: &["br-lan (bridge)", "3 veths (1 of them bridge ports)"],
        },
    ]
}

#[test]
fn each_cni_and_variant_is_told_from_its_real_shape() {
    for c in cases() {
        let f = fingerprint(&c.links, &c.routes, &c.configs);
        assert_eq!(
            (f.name.as_str(), f.variant),
            (c.name, c.variant),
            "{}: {f:?}",
            c.what
        );
        for want in c.evidence {
            assert!(
                f.evidence.iter().any(|e| e.contains(want)),
                "{}: no evidence {want:?} in {:?}",
                c.what,
                f.evidence
            );
        }
    }
}
