//! The node's route back to the source pod: on Calico's routed shape a node that lost the pod's
//! /32 cannot even answer the pod's ARP for 169.254.1.1. The trace names the HostVeth hop with
//! NoRouteToPod, not the DNS or connect failures that follow from it.

use netdiag_e2e::*;
use netdiag_lab::ProxyMode;
use netdiag_lab::spec::Cni;
use netdiag_model::{HopKind, Reason};

#[test]
fn a_node_without_its_pods_route_fails_the_host_veth_with_no_route_to_pod() {
    let lab = lab_with("rr", ProxyMode::Iptables, Cni::Routed);
    let t = trace_echo(&lab);
    assert!(t.path.first_failure.is_none(), "{}", describe(&t.path.hops));
    let veth = netdiag_lab::names::host_veth(Cni::Routed, "curl");
    lab.exec(
        "node-a",
        &["ip", "route", "del", "10.244.1.2/32", "dev", &veth],
    );
    let t = trace_echo(&lab);
    let first = t.path.first_failure.as_ref().expect("a failure");
    assert_eq!(
        (&first.hop, first.node.as_str(), &first.reason),
        (&HopKind::HostVeth, "node-a", &Reason::NoRouteToPod),
        "{}",
        describe(&t.path.hops)
    );
    assert!(
        first
            .message
            .contains("no route back to the pod's 10.244.1.2"),
        "{}",
        first.message
    );
}
