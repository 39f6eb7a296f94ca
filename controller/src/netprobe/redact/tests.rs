use netdiag_model::report::{HopDetail, RuleEndpoint, ServiceRulesDetail};
use netdiag_model::{Endpoint, Hop, HopKind, NodeReport, Verdict};

use super::*;

/// A bare-address trace of kube-dns's ClusterIP from namespace `default`.
fn reports() -> Vec<NodeReport> {
    let rules = Hop::new(
        "node-a",
        HopKind::ServiceRules,
        "10.96.0.10:53/udp",
        Verdict::Ok,
        "kube-system/kube-dns:dns -> 1 endpoint: 10.244.2.4:53 (100%)",
    )
    .with_details(HopDetail::ServiceRules(ServiceRulesDetail {
        mode: "iptables".into(),
        service_address: "10.96.0.10:53/udp".into(),
        service: Some("kube-system/kube-dns:dns".into()),
        chains: vec!["KUBE-SERVICES".into(), "KUBE-SVC-TCOU7JCQXEZGVUNU".into()],
        endpoints: vec![RuleEndpoint {
            ip: [10, 244, 2, 4].into(),
            port: 53,
            probability: 1.0,
            chain: "KUBE-SEP-IT2ZTR26TO4XFPTO".into(),
        }],
        ..Default::default()
    }));
    let conntrack = Hop::new(
        "node-a",
        HopKind::Conntrack,
        "10.244.1.2:40000 -> 10.96.0.10:53/udp",
        Verdict::Ok,
        "UNREPLIED, DNAT to 10.244.2.4:53; 10.244.2.45 is another pod",
    );
    let route = Hop::new(
        "node-a",
        HopKind::Route,
        "10.244.2.4",
        Verdict::Ok,
        "via 172.18.0.3 dev eth0",
    );
    vec![NodeReport {
        node: "node-a".into(),
        hops: vec![rules, conntrack, route],
        chosen_endpoint: Some(Endpoint {
            ip: [10, 244, 2, 4].into(),
            port: 53,
        }),
        summary: "reached kube-system/kube-dns:dns via 10.244.2.4:53".into(),
        ..Default::default()
    }]
}

#[test]
fn another_namespaces_service_and_its_endpoints_are_hidden_everywhere() {
    let out = foreign_services(&reports(), "default");
    let text = serde_json::to_string(&out).unwrap();
    for secret in [
        "kube-dns",
        "10.244.2.4:",
        "\"10.244.2.4\"",
        "KUBE-SVC-",
        "KUBE-SEP-",
    ] {
        assert!(!text.contains(secret), "{secret} leaks: {text}");
    }
    let r = &out[0];
    assert_eq!(
        r.hops[0].detail,
        "a Service in another namespace -> 1 endpoint: (endpoint hidden) (100%)"
    );
    assert_eq!(r.hops[0].verdict, Verdict::Ok, "verdicts stay");
    assert!(
        r.hops[1].detail.contains("DNAT to (endpoint hidden);")
            && r.hops[1].detail.contains("10.244.2.45 is another pod"),
        "a longer address is not a match: {}",
        r.hops[1].detail
    );
    assert_eq!(r.hops[2].name, "(endpoint hidden)");
    assert_eq!(r.chosen_endpoint, None);
}

#[test]
fn the_probes_own_namespace_is_shown_as_it_is() {
    let own = foreign_services(&reports(), "kube-system");
    assert_eq!(own, reports());
}
