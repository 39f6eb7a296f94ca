//! Pure steps with YAML fixtures: validate, resolve (object -> facts) and plan. Merge, status,
//! events and the schedule are in status.rs.

mod common;

use common::{pod, probe, reports, service, slices};
use netdiag_controller::netprobe::plan::{self, NoEndpointRun};
use netdiag_controller::netprobe::resolve::{
    self, ReadyEndpoint, ResolveError, Resolved, ResolvedTarget, kube_dns_from, pod_target_from,
    service_from, source_from_pod,
};
use netdiag_controller::netprobe::spec::ValidSpec;
use netdiag_crds::{PortRef, Protocol};
use netdiag_model::PlanRole;

fn valid(yaml: &str) -> ValidSpec {
    ValidSpec::new(&probe("default", "p", yaml).spec).expect("valid spec")
}

fn resolved_service(spec: &ValidSpec, ns: &str, name: &str, port: Option<PortRef>) -> Resolved {
    let svc = service(ns, name);
    Resolved {
        source: source_from_pod("default", "curl1", Some(&pod("default", "curl1")))
            .expect("source"),
        target: ResolvedTarget::Service(
            service_from(ns, name, Some(&svc), &slices(ns, name), port.as_ref()).expect("service"),
        ),
        dns_name: resolve::dns_name_for(spec, "default", "cluster.local"),
        dns_servers: kube_dns_from(Some(&service("kube-system", "kube-dns")))
            .into_iter()
            .collect(),
        nodes: Vec::new(),
    }
}

#[test]
fn an_invalid_spec_never_becomes_a_valid_spec() {
    let p = probe(
        "default",
        "p",
        "{source: {pod: curl1}, target: {address: {ip: 10.96.0.300, port: 70000}}}",
    );
    let err = ValidSpec::new(&p.spec).expect_err("invalid");
    let fields: Vec<_> = err.0.iter().map(|e| e.field.as_str()).collect();
    assert_eq!(
        fields,
        ["spec.target.address.ip", "spec.target.address.port"]
    );
}

#[test]
fn a_running_source_pod_gives_its_ip_node_and_readiness() {
    let s = source_from_pod("default", "curl1", Some(&pod("default", "curl1"))).expect("source");
    assert_eq!(
        (s.ip.to_string().as_str(), s.node.as_str(), s.ready),
        ("10.244.1.2", "node-a", true)
    );
}

#[test]
fn a_source_pod_not_running_is_terminal_with_its_phase() {
    let e = source_from_pod(
        "default",
        "curl-pending",
        Some(&pod("default", "curl-pending")),
    )
    .expect_err("pending");
    assert_eq!(e.reason(), "SourcePodNotRunning");
    assert!(e.is_terminal());
    assert!(e.to_string().contains("is Pending, not Running"), "{e}");
    let missing = source_from_pod("default", "ghost", None).expect_err("missing");
    assert_eq!(missing.reason(), "SourcePodNotFound");
}

#[test]
fn a_named_service_port_resolves_to_the_slice_port_of_ready_endpoints_only() {
    let svc = service("default", "echo");
    let r = service_from(
        "default",
        "echo",
        Some(&svc),
        &slices("default", "echo"),
        Some(&PortRef::Name("http".into())),
    )
    .expect("resolves");
    assert_eq!(
        (
            r.cluster_ip.to_string().as_str(),
            r.port,
            r.port_name.as_str()
        ),
        ("10.96.0.50", 80, "http")
    );
    assert_eq!(
        r.endpoints,
        vec![
            ReadyEndpoint {
                ip: [10, 244, 1, 5].into(),
                port: 5678,
                node: Some("node-a".into())
            },
            ReadyEndpoint {
                ip: [10, 244, 2, 7].into(),
                port: 5678,
                node: Some("node-b".into())
            },
        ],
        "the not-ready 10.244.2.9 is left out and targetPort 'http' is 5678"
    );
    let by_number = service_from(
        "default",
        "echo",
        Some(&svc),
        &slices("default", "echo"),
        Some(&PortRef::Number(9090)),
    )
    .expect("by number");
    assert_eq!(by_number.endpoints[0].port, 9090);
}

#[test]
fn a_terminating_endpoint_is_not_traced_even_when_its_slice_says_ready() {
    // During a rollout a terminating pod can stay `ready: true` (publishNotReadyAddresses):
    // the plugin and the controller share netdiag_kube's rule that it is not a ready endpoint.
    let svc = service("default", "echo");
    let mut sl = slices("default", "echo");
    for s in &mut sl {
        for e in &mut s.endpoints {
            let c = e.conditions.get_or_insert_with(Default::default);
            c.ready = Some(true);
            c.terminating = Some(true);
        }
    }
    let e = service_from(
        "default",
        "echo",
        Some(&svc),
        &sl,
        Some(&PortRef::Name("http".into())),
    )
    .expect_err("no ready endpoint");
    assert_eq!(e.reason(), "NoReadyEndpoints");
}

#[test]
fn unknown_and_ambiguous_ports_headless_and_endpointless_services_are_terminal() {
    let echo = service("default", "echo");
    let sl = slices("default", "echo");
    let e = service_from(
        "default",
        "echo",
        Some(&echo),
        &sl,
        Some(&PortRef::Name("grpc".into())),
    )
    .expect_err("grpc");
    assert_eq!(e.reason(), "UnknownPortName");
    assert!(e.to_string().contains("http (80), metrics (9090)"), "{e}");
    let e = service_from("default", "echo", Some(&echo), &sl, None).expect_err("two ports");
    assert_eq!(e.reason(), "AmbiguousPort");
    let e = service_from(
        "default",
        "headless",
        Some(&service("default", "headless")),
        &[],
        None,
    )
    .expect_err("headless");
    assert_eq!(e.reason(), "HeadlessService");
    let e = service_from(
        "default",
        "broken",
        Some(&service("default", "broken")),
        &slices("default", "broken"),
        None,
    )
    .expect_err("no ready endpoints");
    assert_eq!(e.reason(), "NoReadyEndpoints");
    assert_eq!(e.reachable(), Some(false));
    let e = service_from("default", "nope", None, &[], None).expect_err("missing");
    assert!(matches!(e, ResolveError::ServiceNotFound { .. }));
}

#[test]
fn a_pod_target_resolves_named_container_ports_with_their_protocol() {
    let p = pod("default", "echo-b");
    let r = pod_target_from("default", "echo-b", Some(&p), &PortRef::Name("dns".into()))
        .expect("dns port");
    assert_eq!(
        (
            r.ip.to_string().as_str(),
            r.node.as_str(),
            r.port,
            r.protocol
        ),
        ("10.244.2.7", "node-b", 53, Protocol::UDP)
    );
    let e = pod_target_from("default", "echo-b", Some(&p), &PortRef::Name("grpc".into()))
        .expect_err("no grpc");
    assert_eq!(e.reason(), "UnknownContainerPort");
}

#[test]
fn a_service_with_several_endpoints_plans_the_source_run_and_waits_for_dnat_to_pick() {
    let spec = valid("{source: {pod: curl1}, target: {service: {name: echo, port: http}}}");
    let r = resolved_service(&spec, "default", "echo", Some(PortRef::Name("http".into())));
    let plans = plan::initial_plans(&spec, &r, None);
    assert_eq!(plans.len(), 1);
    let src = &plans[0];
    assert_eq!((src.node.as_str(), src.role), ("node-a", PlanRole::Source));
    assert!(src.plan.target_is_service);
    assert_eq!(
        src.plan.target.as_ref().map(|t| t.to_string()).as_deref(),
        Some("10.96.0.50:80/tcp")
    );
    assert_eq!(src.plan.expected_endpoints.len(), 2);
    assert_eq!(
        src.plan.dns_name.as_deref(),
        Some("echo.default.svc.cluster.local")
    );
    assert_eq!(src.plan.dns_servers[0].address.to_string(), "10.96.0.10:53");
    assert!(plan::needs_endpoint_step(&r));

    // Cross-node: DNAT picked the endpoint on node-b.
    let step = plan::endpoint_step(&spec, &r, &reports()[0]).expect("endpoint run");
    assert_eq!(
        (step.node.as_str(), step.role),
        ("node-b", PlanRole::Endpoint)
    );
    let ep = step.plan.endpoint.as_ref().expect("endpoint");
    assert_eq!((ep.ip.to_string().as_str(), ep.port), ("10.244.2.7", 5678));

    // Same node: DNAT picked the endpoint next to the source.
    let mut same = reports()[0].clone();
    same.chosen_endpoint = Some(netdiag_model::Endpoint {
        ip: [10, 244, 1, 5].into(),
        port: 5678,
    });
    assert_eq!(
        plan::endpoint_step(&spec, &r, &same)
            .expect("same node")
            .node,
        "node-a"
    );

    let mut none = reports()[0].clone();
    none.chosen_endpoint = None;
    assert_eq!(
        plan::endpoint_step(&spec, &r, &none),
        Err(NoEndpointRun::NoChosenEndpoint)
    );
}

#[test]
fn a_service_with_one_ready_endpoint_plans_both_runs_at_once() {
    let spec = valid("{source: {pod: curl1}, target: {service: {name: single}}}");
    let r = resolved_service(&spec, "default", "single", None);
    let plans = plan::initial_plans(&spec, &r, None);
    let roles: Vec<_> = plans.iter().map(|p| (p.node.as_str(), p.role)).collect();
    assert_eq!(
        roles,
        [("node-a", PlanRole::Source), ("node-b", PlanRole::Endpoint)]
    );
    assert!(!plan::needs_endpoint_step(&r));
    assert_eq!(
        plan::endpoint_step(&spec, &r, &reports()[0]),
        Err(NoEndpointRun::AlreadyPlanned)
    );

    // In a run, the endpoint run on node-b watches for the probe with the source's port,
    // the same port on every reconcile of that run, another in the next run.
    let run = |n| netdiag_controller::agents::pod::ProbeRef {
        namespace: "default".into(),
        name: "p".into(),
        uid: "uid-1".into(),
        generation: 1,
        run: n,
    };
    let watched = plan::initial_plans(&spec, &r, Some(&run(1)));
    let port = watched[0]
        .plan
        .source_port
        .expect("the source binds a planned port");
    assert_eq!(watched[1].plan.source_port, Some(port));
    assert!(!watched[0].watches() && watched[1].watches());
    assert_eq!(plan::initial_plans(&spec, &r, Some(&run(1))), watched);
    let next = plan::initial_plans(&spec, &r, Some(&run(2)));
    assert_ne!(next[0].plan.source_port, Some(port));
}

#[test]
fn a_cross_namespace_target_plans_only_that_services_own_endpoints() {
    let spec = valid(
        "{source: {pod: curl1}, target: {service: {name: cart, namespace: shop, port: web}}}",
    );
    let r = resolved_service(&spec, "shop", "cart", Some(PortRef::Name("web".into())));
    let plans = plan::initial_plans(&spec, &r, None);
    let src = &plans[0].plan;
    let eps: Vec<String> = src
        .expected_endpoints
        .iter()
        .map(|e| e.to_string())
        .collect();
    assert_eq!(
        eps,
        ["10.244.1.9:8080"],
        "nothing of default/echo leaks into a shop/cart probe"
    );
    assert_eq!(src.dns_name.as_deref(), Some("cart.shop.svc.cluster.local"));
    // One endpoint, on the source's node: both runs on node-a.
    assert_eq!(
        plans.iter().map(|p| p.node.as_str()).collect::<Vec<_>>(),
        ["node-a", "node-a"]
    );
}

#[test]
fn a_pod_target_checks_the_pod_on_its_own_node() {
    let spec = valid("{source: {pod: curl1}, target: {pod: {name: echo-b, port: 5678}}}");
    let r = Resolved {
        source: source_from_pod("default", "curl1", Some(&pod("default", "curl1")))
            .expect("source"),
        target: ResolvedTarget::Pod(
            pod_target_from(
                "default",
                "echo-b",
                Some(&pod("default", "echo-b")),
                &PortRef::Number(5678),
            )
            .expect("pod"),
        ),
        dns_name: None,
        dns_servers: vec![],
        nodes: Vec::new(),
    };
    let plans = plan::initial_plans(&spec, &r, None);
    assert_eq!(plans.len(), 2);
    assert!(!plans[0].plan.target_is_service);
    assert_eq!(plans[1].node, "node-b");
    assert_eq!(
        plans[1]
            .plan
            .endpoint
            .as_ref()
            .map(|e| e.to_string())
            .as_deref(),
        Some("10.244.2.7:5678")
    );
}

#[test]
fn an_address_target_is_walked_through_kube_proxy_with_nothing_expected() {
    let spec = valid(
        "{source: {pod: curl1}, target: {address: {ip: 10.96.45.10, port: 80, protocol: TCP}}}",
    );
    let r = Resolved {
        source: source_from_pod("default", "curl1", Some(&pod("default", "curl1")))
            .expect("source"),
        target: ResolvedTarget::Address {
            ip: [10, 96, 45, 10].into(),
            port: 80,
            protocol: Protocol::TCP,
        },
        dns_name: None,
        dns_servers: vec![],
        nodes: Vec::new(),
    };
    let plans = plan::initial_plans(&spec, &r, None);
    assert_eq!(plans.len(), 1, "no endpoint node is known for an address");
    let src = &plans[0].plan;
    assert!(src.target_is_service);
    assert!(src.expected_endpoints.is_empty());
    assert_eq!(
        src.target.as_ref().map(ToString::to_string).as_deref(),
        Some("10.96.45.10:80/tcp")
    );
    assert!(!plan::needs_endpoint_step(&r));
}

#[test]
fn step_timeouts_fit_in_the_probe_timeout() {
    assert_eq!(
        plan::step_timeout_ms(&valid(
            "{source: {pod: a}, target: {dns: {name: x}}, timeoutSeconds: 2}"
        )),
        500
    );
    assert_eq!(
        plan::step_timeout_ms(&valid("{source: {pod: a}, target: {dns: {name: x}}}")),
        2000
    );
}
