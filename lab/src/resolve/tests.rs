use super::*;
use netdiag_crds::shorthand::{parse_source, parse_target};
use netdiag_model::planner::{self, PlanOptions};
use netdiag_model::{PlanRole, PlanTarget};

fn lab_resolve(from: &str, to: &str) -> Result<LabProbe, TraceError> {
    resolve(
        &LabSpec::default(),
        &parse_source(from).unwrap(),
        &parse_target(to).unwrap(),
        None,
    )
}

fn ok(from: &str, to: &str) -> LabProbe {
    lab_resolve(from, to).unwrap_or_else(|e| panic!("{from} -> {to}: {e}"))
}

fn err(from: &str, to: &str) -> String {
    match lab_resolve(from, to) {
        Ok(p) => panic!("{from} -> {to} resolved: {p:?}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn a_service_resolves_to_its_clusterip_port_and_sorted_ready_endpoints() {
    let p = ok("curl", "svc/echo-service");
    let ResolvedTarget::Service(s) = &p.resolved.target else {
        panic!("{p:?}")
    };
    assert_eq!(
        (s.cluster_ip.to_string().as_str(), s.port),
        ("10.96.45.10", 80)
    );
    let eps: Vec<String> = s
        .endpoints
        .iter()
        .map(|e| format!("{}:{}@{}", e.ip, e.port, e.node.as_deref().unwrap_or("?")))
        .collect();
    assert_eq!(
        eps,
        [
            "10.244.1.3:8080@node-a",
            "10.244.2.2:8080@node-b",
            "10.244.2.3:8080@node-b"
        ]
    );
    assert_eq!(
        p.resolved.dns_name.as_deref(),
        Some("echo-service.default.svc.cluster.local")
    );
    assert_eq!(
        p.resolved.dns_servers[0].address.to_string(),
        "10.96.0.10:53"
    );
    assert_eq!(p.target.display("default"), "svc/echo-service");
    // by port name and number, across namespaces
    let p = ok("curl", "svc/kube-system/kube-dns:dns-tcp");
    let ResolvedTarget::Service(s) = &p.resolved.target else {
        panic!("{p:?}")
    };
    assert_eq!((s.port, s.protocol), (53, Protocol::TCP));
    assert_eq!(
        p.target.display("default"),
        "svc/kube-system/kube-dns:dns-tcp"
    );
    let p = ok("curl", "svc/kube-dns:53");
    let ResolvedTarget::Service(s) = &p.resolved.target else {
        panic!("{p:?}")
    };
    assert_eq!(s.protocol, Protocol::UDP);
}

#[test]
fn the_shared_planner_plans_a_lab_service_trace_as_the_controller_would() {
    let p = ok("curl", "svc/echo-service");
    let options = PlanOptions {
        checks: vec![],
        step_timeout_ms: 2000,
        watch: None,
    };
    let runs = planner::initial_plans(&options, &p.resolved);
    assert_eq!(
        runs.len(),
        1,
        "three endpoints: DNAT decides, so one run first"
    );
    let source = &runs[0];
    assert_eq!(
        (source.node.as_str(), source.role),
        ("node-a", PlanRole::Source)
    );
    assert_eq!(
        source.plan.source_ip.map(|v| v.to_string()).as_deref(),
        Some("10.244.1.2")
    );
    assert_eq!(
        source.plan.target,
        Some(PlanTarget {
            ip: [10, 96, 45, 10].into(),
            port: 80,
            protocol: Protocol::TCP
        })
    );
    assert!(source.plan.target_is_service);
    assert_eq!(source.plan.expected_endpoints.len(), 3);
    assert!(planner::needs_endpoint_step(&p.resolved));
    // a pod target: both runs start together, the endpoint run on the pod's node
    let p = ok("echo-1", "pod/echo-2:8080");
    let runs = planner::initial_plans(&options, &p.resolved);
    let nodes: Vec<(&str, PlanRole)> = runs.iter().map(|r| (r.node.as_str(), r.role)).collect();
    assert_eq!(
        nodes,
        [("node-a", PlanRole::Source), ("node-b", PlanRole::Endpoint)]
    );
    assert_eq!(
        runs[1]
            .plan
            .endpoint
            .as_ref()
            .map(|e| e.to_string())
            .as_deref(),
        Some("10.244.2.2:8080")
    );
}

#[test]
fn pods_addresses_nodes_and_names_resolve() {
    let p = ok("curl", "pod/coredns:53");
    let ResolvedTarget::Pod(t) = &p.resolved.target else {
        panic!("{p:?}")
    };
    // coredns serves 53 over TCP and UDP: a bare number is TCP, as on a cluster
    assert_eq!(
        (t.ip.to_string().as_str(), t.port, t.protocol),
        ("10.244.2.4", 53, Protocol::TCP)
    );
    assert_eq!(p.target.display("default"), "pod/kube-system/coredns:53");
    assert_eq!(p.resolved.dns_name, None);
    let p = ok("curl", "pod/echo-1");
    let ResolvedTarget::Pod(t) = &p.resolved.target else {
        panic!("{p:?}")
    };
    assert_eq!(t.port, 8080, "echo-1 serves one port");
    let p = ok("curl", "10.96.0.10:53/udp");
    assert_eq!(
        p.resolved.target,
        ResolvedTarget::Address {
            ip: [10, 96, 0, 10].into(),
            port: 53,
            protocol: Protocol::UDP
        }
    );
    let p = ok("curl", "node/node-b:30080");
    assert_eq!(
        p.resolved.target,
        ResolvedTarget::Address {
            ip: [172, 18, 0, 3].into(),
            port: 30080,
            protocol: Protocol::TCP
        }
    );
    assert_eq!(p.target.display("default"), "172.18.0.3:30080/tcp");
    // Another node's NodePort: that node's rules decide, so it gets a run of its own, with the
    // target and no endpoint; the source's own node needs none.
    let options = PlanOptions {
        checks: vec![],
        step_timeout_ms: 2000,
        watch: None,
    };
    let runs = planner::initial_plans(&options, &p.resolved);
    let roles: Vec<(&str, PlanRole)> = runs.iter().map(|r| (r.node.as_str(), r.role)).collect();
    assert_eq!(
        roles,
        [("node-a", PlanRole::Source), ("node-b", PlanRole::Endpoint)]
    );
    assert_eq!(runs[1].plan.endpoint, None);
    assert_eq!(runs[1].plan.target, runs[0].plan.target);
    // With the nodes, to name where that node's rules send the traffic.
    assert_eq!(runs[1].plan.nodes, runs[0].plan.nodes);
    assert_eq!(runs[1].plan.nodes.len(), 2);
    let own = ok("curl", "node/node-a:30080");
    assert_eq!(planner::initial_plans(&options, &own.resolved).len(), 1);
    let p = ok("curl", "dns/kube-dns.kube-system.svc.cluster.local");
    assert_eq!(
        p.resolved.dns_name.as_deref(),
        Some("kube-dns.kube-system.svc.cluster.local")
    );
    let p = resolve(
        &LabSpec::default(),
        &parse_source("pod/curl").unwrap(),
        &parse_target("svc/echo-service").unwrap(),
        Some("echo.example"),
    )
    .unwrap();
    assert_eq!(p.resolved.dns_name.as_deref(), Some("echo.example"));
}

#[test]
fn what_the_lab_lacks_is_named_with_what_to_do() {
    assert!(
        err("deploy/curl", "svc/echo-service")
            .contains("only pods and nodes: use pod/NAME or node/NAME")
    );
    assert!(err("node/node-z", "svc/echo-service").contains("no node named \"node-z\""));
    assert!(err("nope", "svc/echo-service").contains("no pod named \"nope\""));
    assert!(err("curl", "svc/nope").contains("no Service \"nope\""));
    assert!(err("curl", "svc/kube-system/echo-service").contains("kube-system/echo-service"));
    let e = err("curl", "svc/echo-service:https");
    assert!(
        e.contains("no port \"https\"") && e.contains("http (80/TCP)"),
        "{e}"
    );
    let e = err("curl", "svc/kube-dns");
    assert!(e.contains("several ports") && e.contains("dns-tcp"), "{e}");
    assert!(err("curl", "pod/nope:80").contains("no pod named \"nope\""));
    let e = err("curl", "pod/echo-1:http");
    assert!(
        e.contains("no named ports") && e.contains("8080/TCP"),
        "{e}"
    );
    let e = err("curl", "pod/coredns");
    assert!(e.contains("say which") && e.contains("53/UDP"), "{e}");
    assert!(err("curl", "pod/curl").contains("serves no ports"));
    assert!(err("curl", "node/node-z:30080").contains("no node named \"node-z\""));
}
