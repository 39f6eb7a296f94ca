//! NodePort targets (`node/NAME:PORT`): on the source pod's own node, kube-proxy's NodePort
//! rules (KUBE-NODEPORTS, `service-nodeports`) are walked down to the Service's endpoints; on
//! another node, the source's kube-proxy has no say and the hop says whose rules decide.

use netdiag_e2e::*;
use netdiag_lab::ProxyMode;
use netdiag_model::{HopKind, Verdict};

fn node_port(mode: ProxyMode) {
    let lab = lab_in("np", mode);
    // curl is on node-a: its own node's address
    let t = trace_to(&lab, "curl", "node/node-a:30080");
    let rules = hop(&t.path.hops, "node-a", HopKind::ServiceRules);
    assert_eq!(rules.verdict, Verdict::Ok, "{}", describe(&t.path.hops));
    assert!(
        rules
            .detail
            .contains("default/echo-service:http -> 3 endpoints"),
        "{}",
        rules.detail
    );
    assert!(t.path.first_failure.is_none(), "{}", describe(&t.path.hops));
    assert_eq!(t.path.reachable, Some(true));
    let chosen = t.path.chosen_endpoint.as_ref().expect("DNAT's endpoint");
    assert_eq!(
        chosen.port, 8080,
        "the NodePort's DNAT, not the node's port"
    );

    let t = trace_to(&lab, "curl", "node/node-b:30080");
    let rules = hop(&t.path.hops, "node-a", HopKind::ServiceRules);
    assert_eq!(rules.verdict, Verdict::Info);
    assert!(
        rules
            .detail
            .starts_with("172.18.0.3 is node node-b's address"),
        "{}",
        rules.detail
    );
    // node-b's own run walks its NodePort rules
    let there = hop(&t.path.hops, "node-b", HopKind::ServiceRules);
    assert_eq!(there.verdict, Verdict::Ok, "{}", describe(&t.path.hops));
    assert!(
        there
            .detail
            .contains("default/echo-service:http -> 3 endpoints"),
        "{}",
        there.detail
    );
    assert_eq!(t.path.reachable, Some(true), "{}", describe(&t.path.hops));
}

#[test]
fn a_node_port_on_the_sources_node_is_walked_to_the_services_endpoints() {
    node_port(ProxyMode::Iptables);
}

#[test]
fn a_node_port_in_nftables_mode_is_walked_the_same_way() {
    node_port(ProxyMode::Nftables);
}
