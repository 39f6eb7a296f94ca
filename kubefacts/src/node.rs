//! A node's address as kube-proxy serves NodePorts on it.

use std::net::Ipv4Addr;

use k8s_openapi::api::core::v1::Node;

/// The node's first IPv4 `InternalIP` (what `kubectl get node -o wide` shows as INTERNAL-IP),
/// else its first IPv4 `ExternalIP`: kube-proxy accepts NodePorts on both by default.
pub fn internal_ip(node: &Node) -> Option<Ipv4Addr> {
    let addresses = node.status.as_ref()?.addresses.as_ref()?;
    let first_of = |kind: &str| {
        addresses
            .iter()
            .filter(|a| a.type_ == kind)
            .find_map(|a| a.address.parse::<Ipv4Addr>().ok())
    };
    first_of("InternalIP").or_else(|| first_of("ExternalIP"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::{NodeAddress, NodeStatus};

    fn node(addresses: &[(&str, &str)]) -> Node {
        Node {
            status: Some(NodeStatus {
                addresses: Some(
                    addresses
                        .iter()
                        .map(|(t, a)| NodeAddress {
                            type_: (*t).into(),
                            address: (*a).into(),
                        })
                        .collect(),
                ),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    #[test]
    fn the_first_ipv4_internal_ip_wins_over_external_and_ipv6() {
        let n = node(&[
            ("Hostname", "node-a"),
            ("InternalIP", "fd00::2"),
            ("ExternalIP", "203.0.113.9"),
            ("InternalIP", "172.18.0.2"),
        ]);
        assert_eq!(internal_ip(&n), Some(Ipv4Addr::new(172, 18, 0, 2)));
        let external_only = node(&[("ExternalIP", "203.0.113.9")]);
        assert_eq!(
            internal_ip(&external_only),
            Some(Ipv4Addr::new(203, 0, 113, 9))
        );
        assert_eq!(internal_ip(&node(&[("Hostname", "x")])), None);
        assert_eq!(internal_ip(&Node::default()), None);
    }
}
