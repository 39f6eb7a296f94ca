//! A node as the source: the connect starts in the node's own network namespace (the agent's),
//! as the seeds test NodePorts and ClusterIPs with `curl` on a node. There is no pod, veth or
//! bridge; the first hop names the node's interface that holds the source address.

use std::net::Ipv4Addr;
use std::path::PathBuf;

use netdiag_model::{Hop, HopKind, Reason, Verdict};

use super::{Flow, Trace};
use crate::kernel::netns::NsId;
use crate::kernel::netns::discover::PodNetns;
use crate::kernel::rtnl::{Address, Link, Rtnl};
use crate::path::PodPath;

/// The first hop of a node source (pure), and the interface holding `ip`.
pub fn node_source_hop(
    node: &str,
    ip: Ipv4Addr,
    addresses: &[Address],
    links: &[Link],
) -> (Hop, Option<Link>) {
    let held = (addresses.iter())
        .find(|a| a.ip == ip)
        .and_then(|a| links.iter().find(|l| l.index == a.ifindex).map(|l| (a, l)));
    match held {
        Some((addr, link)) => (
            Hop::new(
                node,
                HopKind::PodInterface,
                "host network",
                Verdict::Info,
                format!(
                    "the source is {node} itself: its host network namespace, {} {addr} mtu {} (no pod, veth or bridge on the way out)",
                    link.name, link.mtu
                ),
            ),
            Some(link.clone()),
        ),
        None => (
            Hop::new(
                node,
                HopKind::PodInterface,
                "host network",
                Verdict::Fail,
                format!(
                    "{node} holds no address {ip}: the node source's address is another node's, or the agent does not run in {node}'s host network"
                ),
            )
            .with_reason(Reason::PodNetnsNotFound),
            None,
        ),
    }
}

impl Trace<'_> {
    /// The node's own namespace stands in for the pod's: the connect, the DNS queries and the
    /// path MTU probe start there.
    pub(super) fn node_end(&mut self, hops: &mut Vec<Hop>) -> Flow {
        let node = self.node();
        let read = Rtnl::open().and_then(|mut r| Ok((r.addresses()?, r.links()?)));
        let (addresses, links) = read.unwrap_or_default();
        let (hop, link) = node_source_hop(node, self.source_ip, &addresses, &links);
        hops.push(hop);
        let (Some(link), Ok(id)) = (link, NsId::current()) else {
            self.stopped = true;
            return Flow::Stop;
        };
        let netns = PodNetns {
            // The process's namespace: the agent runs in the node's host network.
            path: PathBuf::from("/proc/self/ns/net"),
            label: format!("{node}'s host network"),
            id,
            pid: None,
            ifname: link.name.clone(),
            ifindex: link.index,
            peer_ifindex: 0,
        };
        let path = PodPath {
            hops: Vec::new(),
            resolv_conf: None,
            host_veth: None,
            bridge: None,
            bridge_port: None,
            pod_mtu: link.mtu,
        };
        self.pod = Some((netns, path));
        Flow::Continue
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_node_source_starts_at_the_interface_holding_its_address() {
        let eth0 = Link::new(2, "eth0", None);
        let addrs = [Address {
            ifindex: 2,
            ip: Ipv4Addr::new(172, 18, 0, 2),
            prefix_len: 16,
        }];
        let (hop, link) = node_source_hop("node-a", Ipv4Addr::new(172, 18, 0, 2), &addrs, &[eth0]);
        assert_eq!(
            (hop.verdict, link.map(|l| l.mtu)),
            (Verdict::Info, Some(1500))
        );
        assert!(
            hop.detail.contains("eth0 172.18.0.2/16 mtu 1500"),
            "{}",
            hop.detail
        );
        let (hop, link) = node_source_hop("node-a", Ipv4Addr::new(172, 18, 0, 3), &addrs, &[]);
        assert_eq!((hop.verdict, link), (Verdict::Fail, None));
        assert_eq!(hop.reason, Some(Reason::PodNetnsNotFound));
    }
}
