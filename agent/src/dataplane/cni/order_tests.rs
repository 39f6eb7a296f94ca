//! Which fingerprint wins when a node shows several, and what is no pod route.

use super::tests::{eth0, flannel_conflist, host_route, link, port, route};
use super::*;

#[test]
fn the_most_specific_fingerprint_wins() {
    let with = |extra: Link| {
        let links = [
            link(3, "cni0", LinkKind::Bridge),
            port(5, "veth1", 3),
            link(8, "docker0", LinkKind::Bridge),
            extra,
        ];
        fingerprint(&links, &[], &[]).name
    };
    assert_eq!(with(link(9, "cilium_host", LinkKind::Veth)), "cilium");
    assert_eq!(
        with(link(9, "kube-bridge", LinkKind::Bridge)),
        "kube-router"
    );
    assert_eq!(with(link(9, "weave", LinkKind::Bridge)), "weave");
    assert_eq!(with(link(9, "eth1", LinkKind::Veth)), "bridge");
    // The links are the data plane: a leftover flannel file does not make a Calico node flannel.
    let calico = [link(5, "cali0123456789a", LinkKind::Veth)];
    let f = fingerprint(
        &calico,
        &[host_route([10, 244, 1, 2], 5)],
        &[flannel_conflist()],
    );
    assert_eq!(f.name, "calico");
    assert!(
        f.evidence.iter().any(|e| e.contains("10-flannel.conflist")),
        "{f:?}"
    );
}

#[test]
fn a_route_through_a_gateway_or_the_default_route_is_no_pod_route() {
    let links = [eth0()];
    let default = route([0, 0, 0, 0], 0, Some([172, 18, 0, 1]), 2, 3, false);
    let via = route([10, 0, 0, 9], 32, Some([10, 0, 0, 1]), 2, 3, false);
    let f = fingerprint(&links, &[default, via], &[]);
    assert_eq!((f.name.as_str(), f.variant), ("unknown", None));
    assert_eq!(f.evidence, ["1 veths (0 of them bridge ports)"]);
}
