//! NodePort targets (`node/NAME:PORT`) and node sources (`--from node/NAME`): on the source's
//! own node, kube-proxy's NodePort rules (KUBE-NODEPORTS, `service-nodeports`) are walked down to
//! the Service's endpoints; another node's NodePort gets a run on that node, whose rules decide;
//! externalTrafficPolicy Local drops a node's traffic on a node without a local endpoint, and
//! not a pod's (kube-proxy short-circuits pod traffic to every endpoint); a pod on another node
//! loses the reply instead (AsymmetricNodePort).

use netdiag_e2e::*;
use netdiag_lab::ProxyMode;
use netdiag_lab::spec::{ServicePortSpec, ServiceSpec, TrafficPolicy};
use netdiag_model::{HopKind, Protocol, Reason, Verdict};

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

/// The default lab plus `local-echo`: externalTrafficPolicy Local, NodePort 30081, its only
/// endpoint echo-1 on node-a.
fn lab_with_local_service(mode: ProxyMode) -> Fixture {
    require_lab_prerequisites();
    Fixture::builder("etp")
        .edit(|s| {
            s.proxy_mode = mode;
            s.services.push(ServiceSpec {
                namespace: "default".into(),
                name: "local-echo".into(),
                cluster_ip: "10.96.45.11".parse().unwrap(),
                ports: vec![ServicePortSpec {
                    name: Some("http".into()),
                    port: 80,
                    protocol: Protocol::TCP,
                    target_port: 8080,
                    node_port: Some(30081),
                }],
                endpoints: vec!["echo-1".into()],
                external_traffic_policy: TrafficPolicy::Local,
            });
        })
        .up()
}

fn node_sources_and_local_traffic_policy(mode: ProxyMode) {
    let lab = lab_with_local_service(mode);
    // node-a's host network to a ClusterIP: no pod hops, the connect from the node's address
    let t = trace_to(&lab, "node/node-a", "svc/echo-service");
    let first = &t.path.hops[0];
    assert_eq!(
        (first.name.as_str(), first.verdict),
        ("host network", Verdict::Info),
        "{}",
        describe(&t.path.hops)
    );
    assert!(t.path.first_failure.is_none(), "{}", describe(&t.path.hops));
    assert_eq!(t.path.reachable, Some(true));

    // Local policy, no endpoint on node-b: node-b drops node-a's traffic, and says why
    let t = trace_to(&lab, "node/node-a", "node/node-b:30081");
    let first = t.path.first_failure.as_ref().expect("a failure");
    assert_eq!(
        (first.node.as_str(), &first.hop, &first.reason),
        ("node-b", &HopKind::ServiceRules, &Reason::NoLocalEndpoints),
        "{}",
        describe(&t.path.hops)
    );
    assert_eq!(t.path.reachable, Some(false));
    // node-a runs the endpoint: its own NodePort answers
    let t = trace_to(&lab, "node/node-a", "node/node-a:30081");
    assert!(t.path.first_failure.is_none(), "{}", describe(&t.path.hops));
    // A pod's traffic is not dropped by the Local policy: node-b's rules send it on to echo-1
    // on node-a without masquerading it, so echo-1 answers curl directly, past node-b's NAT, and
    // curl drops the reply. The connect times out; node-b's hop says why.
    let t = trace_to(&lab, "curl", "node/node-b:30081");
    let first = t.path.first_failure.as_ref().expect("a failure");
    assert_eq!(
        (first.node.as_str(), &first.hop, &first.reason),
        (
            "node-b",
            &HopKind::ServiceRules,
            &Reason::AsymmetricNodePort
        ),
        "{}",
        describe(&t.path.hops)
    );
    assert!(
        first
            .message
            .contains("10.244.1.3:8080 on node-a without masquerading"),
        "{}",
        first.message
    );
    assert_eq!(t.path.reachable, Some(false), "{}", describe(&t.path.hops));
    // The same Service's NodePort on the node that runs its endpoint works for the pod.
    let t = trace_to(&lab, "curl", "node/node-a:30081");
    assert!(t.path.first_failure.is_none(), "{}", describe(&t.path.hops));
    assert_eq!(t.path.reachable, Some(true));
}

#[test]
fn a_node_source_meets_external_traffic_policy_local_and_a_pod_does_not() {
    node_sources_and_local_traffic_policy(ProxyMode::Iptables);
}

#[test]
fn external_traffic_policy_local_in_nftables_mode() {
    node_sources_and_local_traffic_policy(ProxyMode::Nftables);
}
