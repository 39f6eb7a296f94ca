//! The pure half of node inspection: the node's links and what each namespace holds, joined
//! into pod namespaces (eth0 to host veth to bridge) and judged into findings. What the seeds
//! do by hand: read `eth0@if4` in the pod, find interface 4 on the node, read its `master`.

use std::collections::{BTreeMap, HashSet};

use netdiag_model::inspect::{
    Attachment, Finding, FindingKind, HostVeth, NetnsIdentity, NsProcess, PodEth0, PodNamespace,
};
use netdiag_model::report::ResolvConf;

use crate::kernel::rtnl::{Address, DefaultGateway, Link, LinkKind};

/// The interface name kubelet asks every CNI for (CRI's `eth0`): a namespace whose veth to
/// the node has another name (the lab's node network, a node's own uplink) is no pod's.
pub const POD_INTERFACE: &str = "eth0";

/// The node's own namespace, read once.
#[derive(Clone, Debug, Default)]
pub struct NodeSide {
    pub links: Vec<Link>,
    pub addresses: Vec<Address>,
}

/// One namespace as read from inside it, plus how the two sides name each other.
#[derive(Clone, Debug, Default)]
pub struct NsFacts {
    pub identity: NetnsIdentity,
    /// Holder first ([`super::process::holder_first`]).
    pub processes: Vec<NsProcess>,
    /// The id under which the node knows this namespace (RTM_GETNSID on the node).
    pub node_nsid: Option<i32>,
    /// The id under which this namespace knows the node's (RTM_GETNSID inside).
    pub nsid_of_node: Option<i32>,
    pub links: Vec<Link>,
    pub addresses: Vec<Address>,
    pub gateway: Option<DefaultGateway>,
    pub resolv_conf: Option<ResolvConf>,
}

/// Whether one of the node's links leads into the namespace the node knows as `nsid`: the
/// cheap test (no entering) that skips other nodes' and other labs' namespaces.
pub fn leads_here(node: &NodeSide, nsid: Option<i32>) -> bool {
    nsid.is_some_and(|id| node.links.iter().any(|l| l.link_netnsid == Some(id)))
}

/// Pod namespaces (those with an `eth0` paired to the node), in input order, and the findings.
/// `known_nsids` are the node's ids of every namespace that could be named, pod or not: a veth
/// leading anywhere else leads to a namespace nobody can see.
pub fn join(
    node: &NodeSide,
    namespaces: Vec<NsFacts>,
    known_nsids: &HashSet<i32>,
) -> (Vec<PodNamespace>, Vec<Finding>) {
    let mut pods = Vec::new();
    let mut findings = Vec::new();
    for ns in namespaces {
        let Some(pod) = pod_namespace(node, ns) else {
            continue;
        };
        findings.extend(namespace_findings(&pod));
        pods.push(pod);
    }
    findings.extend(duplicate_ips(&pods));
    findings.extend(dangling_veths(node, known_nsids));
    (pods, findings)
}

fn pod_namespace(node: &NodeSide, ns: NsFacts) -> Option<PodNamespace> {
    let node_nsid = ns.node_nsid?;
    let eth0 = ns.links.iter().find(|l| {
        l.name == POD_INTERFACE
            && l.kind == Some(LinkKind::Veth)
            && l.link_netnsid.is_some()
            && l.link_netnsid == ns.nsid_of_node
    })?;
    let peer_ifindex = eth0.link?;
    let host = node
        .links
        .iter()
        .find(|l| l.index == peer_ifindex && l.link_netnsid == Some(node_nsid))?;
    let attachment = match host.master {
        Some(m) => Attachment::Bridge {
            name: (node.links.iter().find(|l| l.index == m))
                .map_or_else(|| format!("ifindex {m}"), |b| b.name.clone()),
        },
        None => Attachment::Routed,
    };
    let addresses = (ns.addresses.iter())
        .filter(|a| a.ifindex == eth0.index)
        .map(ToString::to_string)
        .collect();
    let gateway = (ns.gateway)
        .filter(|g| g.oif.is_none_or(|o| o == eth0.index))
        .map(|g| g.gateway.to_string());
    Some(PodNamespace {
        netns: ns.identity,
        processes: ns.processes,
        eth0: Some(PodEth0 {
            name: eth0.name.clone(),
            ifindex: eth0.index,
            peer_ifindex,
            addresses,
            mac: eth0.mac.clone().unwrap_or_default(),
            mtu: eth0.mtu,
            up: eth0.is_usable(),
            gateway,
        }),
        host_veth: Some(HostVeth {
            name: host.name.clone(),
            ifindex: host.index,
            mac: host.mac.clone().unwrap_or_default(),
            mtu: host.mtu,
            up: host.is_usable(),
            oper_state: host.oper_state.to_string(),
        }),
        attachment: Some(attachment),
        resolv_conf: ns.resolv_conf,
        pod: None,
    })
}

fn namespace_findings(pod: &PodNamespace) -> Vec<Finding> {
    let netns = pod.netns.label().to_string();
    let mut out = Vec::new();
    if pod.processes.is_empty() {
        out.push(FindingKind::LeakedNamespace {
            netns: netns.clone(),
        });
    }
    if let Some(v) = pod.host_veth.as_ref().filter(|v| !v.up) {
        out.push(FindingKind::VethDown {
            veth: v.name.clone(),
            netns,
        });
    }
    out.into_iter().map(Finding::new).collect()
}

fn duplicate_ips(pods: &[PodNamespace]) -> Vec<Finding> {
    let mut holders: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for pod in pods {
        for ip in pod.ips() {
            holders
                .entry(ip)
                .or_default()
                .push(pod.netns.label().to_string());
        }
    }
    holders
        .into_iter()
        .filter(|(_, netns)| netns.len() > 1)
        .map(|(ip, netns)| {
            Finding::new(FindingKind::DuplicateIp {
                ip: ip.to_string(),
                netns,
            })
        })
        .collect()
}

/// Veths on the node whose peer is in a namespace no path names. The node's uplink is left
/// out: a veth holding an address of a real subnet (a kind node's `eth0@if7`, the lab's node
/// `eth0`) leads to the machine outside, which the agent is not meant to see. Routed CNIs put
/// a /32 gateway on each pod veth; those are still pod veths.
fn dangling_veths(node: &NodeSide, known_nsids: &HashSet<i32>) -> Vec<Finding> {
    let uplinks: HashSet<u32> = (node.addresses.iter())
        .filter(|a| a.prefix_len < 32 && !a.ip.is_loopback() && !a.ip.is_link_local())
        .map(|a| a.ifindex)
        .collect();
    node.links
        .iter()
        .filter(|l| l.kind == Some(LinkKind::Veth) && !uplinks.contains(&l.index))
        .filter(|l| l.link_netnsid.is_some_and(|id| !known_nsids.contains(&id)))
        .map(|l| {
            Finding::new(FindingKind::DanglingVeth {
                veth: l.name.clone(),
                ifindex: l.index,
            })
        })
        .collect()
}
