//! The nodes, the pods and what joins them, in the spec's CNI shape:
//! - every CNI: `nd-<lab>-net` (a bridge `br0` standing in for the nodes' shared network, no
//!   uplink), and per node `eth0` on it, `ip_forward=1`, the Service CIDR routed on `eth0`;
//! - `bridge` (kind): `cni0` with the pod gateway and the pods' veths, routes to the other
//!   nodes' pod CIDRs via their node IPs;
//! - `vxlan` (flannel): `cni0` as above, `flannel.1` with the neighbour and FDB entries
//!   flanneld writes, routes `via 10.244.N.0 dev flannel.1 onlink`, MTU 1450 for the pods;
//! - `routed` (Calico): `cali*` host veths with proxy ARP and a `/32` route per pod, no bridge,
//!   the pods' default route via 169.254.1.1, other nodes' pod CIDRs via their node IPs.

use super::{Action, ip};
use crate::dns;
use crate::names::{LabNames, cluster_port, host_veth};
use crate::spec::{Cni, LabSpec, NodeSpec, PodSpec};

/// flannel's VXLAN device: VNI 1 on UDP port 8472 (the Linux default, not IANA's 4789).
pub const FLANNEL_DEVICE: &str = "flannel.1";
const FLANNEL_VNI: &str = "1";
const FLANNEL_PORT: &str = "8472";
/// Calico's link-local gateway every pod routes by; proxy ARP on the host veth answers for it.
pub const CALICO_GATEWAY: &str = "169.254.1.1";

/// The MAC of node `i`'s flannel.1 (locally administered, stable), so the other nodes'
/// neighbour and FDB entries can name it before it exists, as flanneld's node annotations do.
pub fn vtep_mac(i: usize) -> String {
    format!("0e:6e:64:00:00:{:02x}", (i + 1) % 256)
}

pub(super) fn network(spec: &LabSpec, names: &LabNames) -> Vec<Action> {
    let mut a = Vec::new();
    let net = names.cluster_netns();
    a.push(Action::AddNetns(net.clone()));
    a.push(ip(&net, &["link", "set", "lo", "up"]));
    a.push(ip(&net, &["link", "add", "br0", "type", "bridge"]));
    a.push(ip(&net, &["link", "set", "br0", "up"]));
    for (i, node) in spec.nodes.iter().enumerate() {
        a.extend(node_underlay(spec, names, i, node));
        let ns = names.netns(&node.name);
        if spec.cni != Cni::Routed {
            a.extend(pod_bridge(spec, &ns, node));
        }
        a.extend(match spec.cni {
            Cni::Bridge | Cni::Routed => routes_via_nodes(spec, &ns, node),
            Cni::Vxlan => flannel_vxlan(spec, &ns, i, node),
        });
        if spec.cni == Cni::Routed {
            // Proxy ARP answers for an address only when the node routes it out of another
            // interface: a Calico node's default route does that for 169.254.1.1. The lab's
            // nodes have no default route (no uplink), so they get one for that address alone.
            a.push(calico_gateway_route(&ns));
        }
        // Service VIPs must be routable for the node's own sockets (nodelocaldns forwarding to
        // the kube-dns ClusterIP) before kube-proxy's OUTPUT DNAT rewrites them.
        let services = spec.service_cidr.to_string();
        a.push(ip(&ns, &["route", "add", &services, "dev", "eth0"]));
    }
    for pod in &spec.pods {
        let Some(node) = spec.node(&pod.node) else {
            continue; // validate() guarantees the node exists
        };
        a.extend(pod_network(spec, names, node, pod));
    }
    a
}

/// A node's namespace and its `eth0` on the node network.
fn node_underlay(spec: &LabSpec, names: &LabNames, i: usize, node: &NodeSpec) -> Vec<Action> {
    let net = names.cluster_netns();
    let ns = names.netns(&node.name);
    let port = cluster_port(i);
    let addr = format!("{}/{}", node.ip, spec.node_network.prefix);
    let mut a = vec![
        Action::AddNetns(ns.clone()),
        ip(&ns, &["link", "set", "lo", "up"]),
        ip(
            &net,
            &[
                "link", "add", &port, "type", "veth", "peer", "name", "eth0", "netns", &ns,
            ],
        ),
        ip(&net, &["link", "set", &port, "master", "br0", "up"]),
        ip(&ns, &["addr", "add", &addr, "dev", "eth0"]),
        ip(&ns, &["link", "set", "eth0", "up"]),
    ];
    let mut settings = vec!["net.ipv4.ip_forward=1".to_string()];
    if spec.cni != Cni::Routed {
        settings.push("net.bridge.bridge-nf-call-iptables=1".into());
    }
    a.push(Action::Sysctl {
        netns: ns,
        settings,
    });
    a
}

/// `cni0` with the pod gateway, at the pods' MTU.
fn pod_bridge(spec: &LabSpec, ns: &str, node: &NodeSpec) -> Vec<Action> {
    let gw = format!("{}/{}", node.pod_cidr.nth(1), node.pod_cidr.prefix);
    let mtu = spec.cni.pod_mtu().to_string();
    vec![
        ip(ns, &["link", "add", "cni0", "mtu", &mtu, "type", "bridge"]),
        ip(ns, &["addr", "add", &gw, "dev", "cni0"]),
        ip(ns, &["link", "set", "cni0", "up"]),
    ]
}

/// The other nodes' pod CIDRs via their node IPs (kind's routes, Calico's BGP routes).
fn routes_via_nodes(spec: &LabSpec, ns: &str, node: &NodeSpec) -> Vec<Action> {
    (spec.nodes.iter())
        .filter(|o| o.name != node.name)
        .map(|other| {
            let (cidr, via) = (other.pod_cidr.to_string(), other.ip.to_string());
            ip(ns, &["route", "add", &cidr, "via", &via, "dev", "eth0"])
        })
        .collect()
}

/// What flanneld's VXLAN backend leaves on node `i`: its `flannel.1`, and per remote node a
/// route, a permanent neighbour entry for the remote `10.244.N.0` and an FDB entry sending that
/// MAC to the remote node's IP.
fn flannel_vxlan(spec: &LabSpec, ns: &str, i: usize, node: &NodeSpec) -> Vec<Action> {
    let (mac, local) = (vtep_mac(i), node.ip.to_string());
    let vtep_addr = format!("{}/32", node.pod_cidr.nth(0));
    let mut a = vec![
        ip(
            ns,
            &[
                "link",
                "add",
                FLANNEL_DEVICE,
                "address",
                &mac,
                "mtu",
                "1450",
                "type",
                "vxlan",
                "id",
                FLANNEL_VNI,
                "local",
                &local,
                "dev",
                "eth0",
                "dstport",
                FLANNEL_PORT,
                "nolearning",
            ],
        ),
        ip(ns, &["addr", "add", &vtep_addr, "dev", FLANNEL_DEVICE]),
        ip(ns, &["link", "set", FLANNEL_DEVICE, "up"]),
    ];
    a.extend(overlay_entries(spec, ns, i, &OverlayEntry::ALL, true));
    a
}

/// One kind of entry flanneld writes on a node for each remote node.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OverlayEntry {
    /// `10.244.N.0/24 via 10.244.N.0 dev flannel.1 onlink`
    Route,
    /// `10.244.N.0 lladdr <remote VTEP MAC> dev flannel.1 nud permanent`
    Neighbour,
    /// `<remote VTEP MAC> dev flannel.1 dst <remote node IP>`
    Fdb,
}

impl OverlayEntry {
    pub const ALL: [OverlayEntry; 3] = [
        OverlayEntry::Route,
        OverlayEntry::Neighbour,
        OverlayEntry::Fdb,
    ];
}

/// Node `i`'s `kinds` of entries for every other node, written (`replace`, as flanneld's
/// netlink calls do, so writing twice is harmless) or deleted.
pub fn overlay_entries(
    spec: &LabSpec,
    ns: &str,
    i: usize,
    kinds: &[OverlayEntry],
    write: bool,
) -> Vec<Action> {
    let verb = if write { "replace" } else { "del" };
    let mut a = Vec::new();
    for (j, other) in spec.nodes.iter().enumerate().filter(|(j, _)| *j != i) {
        let (cidr, via) = (
            other.pod_cidr.to_string(),
            other.pod_cidr.nth(0).to_string(),
        );
        let (mac, dst) = (vtep_mac(j), other.ip.to_string());
        for kind in kinds {
            a.push(match kind {
                OverlayEntry::Route => {
                    let mut args = vec!["route", verb, &cidr, "via", &via, "dev", FLANNEL_DEVICE];
                    if write {
                        args.push("onlink");
                    }
                    ip(ns, &args)
                }
                OverlayEntry::Neighbour => {
                    let mut args = vec!["neigh", verb, &via];
                    if write {
                        args.extend(["lladdr", &mac]);
                    }
                    args.extend(["dev", FLANNEL_DEVICE]);
                    if write {
                        args.extend(["nud", "permanent"]);
                    }
                    ip(ns, &args)
                }
                OverlayEntry::Fdb => Action::Bridge {
                    netns: ns.to_string(),
                    args: ["fdb", verb, &mac, "dev", FLANNEL_DEVICE, "dst", &dst]
                        .map(String::from)
                        .to_vec(),
                },
            });
        }
    }
    a
}

/// A pod's namespace, its veth to the node, addresses, routes and resolv.conf.
fn pod_network(spec: &LabSpec, names: &LabNames, node: &NodeSpec, pod: &PodSpec) -> Vec<Action> {
    let node_ns = names.netns(&node.name);
    let ns = names.netns(&pod.name);
    let veth = host_veth(spec.cni, &pod.name);
    let mtu = spec.cni.pod_mtu().to_string();
    let mut a = vec![
        Action::AddNetns(ns.clone()),
        ip(&ns, &["link", "set", "lo", "up"]),
        ip(
            &node_ns,
            &[
                "link", "add", &veth, "mtu", &mtu, "type", "veth", "peer", "name", "eth0", "mtu",
                &mtu, "netns", &ns,
            ],
        ),
    ];
    if spec.cni == Cni::Routed {
        a.extend(calico_host_side(&node_ns, &veth, pod));
    } else {
        a.push(ip(
            &node_ns,
            &["link", "set", &veth, "master", "cni0", "up"],
        ));
        if spec.hairpin {
            // What kubelet's --hairpin-mode hairpin-veth does to each pod veth: without it the
            // bridge drops a pod's packet to its own Service when DNAT picks the pod itself.
            a.push(ip(
                &node_ns,
                &[
                    "link",
                    "set",
                    "dev",
                    &veth,
                    "type",
                    "bridge_slave",
                    "hairpin",
                    "on",
                ],
            ));
        }
    }
    let (addr, gateway) = match spec.cni {
        // Calico gives each pod a /32 and a link-local gateway that exists nowhere.
        Cni::Routed => (format!("{}/32", pod.ip), CALICO_GATEWAY.to_string()),
        Cni::Bridge | Cni::Vxlan => (
            format!("{}/{}", pod.ip, node.pod_cidr.prefix),
            node.pod_cidr.nth(1).to_string(),
        ),
    };
    a.push(ip(&ns, &["addr", "add", &addr, "dev", "eth0"]));
    a.push(ip(&ns, &["link", "set", "eth0", "up"]));
    if spec.cni == Cni::Routed {
        a.push(calico_gateway_route(&ns));
    }
    a.push(ip(&ns, &["route", "add", "default", "via", &gateway]));
    let etc = names.etc_netns_dir(&pod.name);
    a.push(Action::MakeDir(etc.clone()));
    a.push(Action::WriteFile {
        path: etc.join("resolv.conf"),
        contents: dns::resolv_conf(spec, pod),
    });
    a
}

/// Calico's node side of a pod: the `cali*` veth up with proxy ARP (it answers for
/// 169.254.1.1 with its own MAC) and the pod's `/32` route on it.
fn calico_host_side(node_ns: &str, veth: &str, pod: &PodSpec) -> Vec<Action> {
    vec![
        ip(node_ns, &["link", "set", veth, "up"]),
        Action::Sysctl {
            netns: node_ns.to_string(),
            settings: vec![
                format!("net.ipv4.conf.{veth}.proxy_arp=1"),
                // Calico's felix sets both, so the pod's ARP for 169.254.1.1 is answered at once
                format!("net.ipv4.neigh.{veth}.proxy_delay=0"),
            ],
        },
        calico_pod_route(node_ns, veth, pod),
    ]
}

/// The pod's `/32` route on its `cali*` veth, as Felix writes it (`replace`: the kernel drops
/// it when the veth goes down, and Felix writes it again when the veth is back).
pub fn calico_pod_route(node_ns: &str, veth: &str, pod: &PodSpec) -> Action {
    let addr = format!("{}/32", pod.ip);
    ip(
        node_ns,
        &["route", "replace", &addr, "dev", veth, "scope", "link"],
    )
}

/// Calico's 169.254.1.1 on a link: in a pod, the gateway it reaches by ARP; in a node, the route
/// that makes proxy ARP answer for it.
fn calico_gateway_route(netns: &str) -> Action {
    ip(
        netns,
        &[
            "route",
            "add",
            CALICO_GATEWAY,
            "dev",
            "eth0",
            "scope",
            "link",
        ],
    )
}
